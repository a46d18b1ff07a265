import CEmberKernels
import Foundation

// MARK: - GELU, leaky ReLU, softplus (PyTorch's CPU formulas)

/// How `gelu` computes the Gaussian CDF, as the `approximate` argument of `torch.nn.functional.gelu`:
/// `.none` (the default) uses `erf` exactly; `.tanh` uses the tanh approximation of Hendrycks and
/// Gimpel, "Gaussian Error Linear Units (GELUs)", 2016.
public enum GELUApproximation: String, Sendable, CaseIterable {
    /// `x * Φ(x) = 0.5 x (1 + erf(x / √2))`.
    case none
    /// `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
    case tanh
}

/// Constants of PyTorch's GELU kernels (aten/src/ATen/native/cpu/Activation.cpp).
enum GELUConstants {
    /// `M_SQRT1_2`, 1/√2.
    static let sqrt1_2 = 0.707106781186547524400844362104849039
    /// `M_SQRT2 * M_2_SQRTPI * 0.5` = √(2/π).
    static let beta = 1.41421356237309504880168872420969808 * 1.12837916709551257389615890312154517 * 0.5
    /// The cubic coefficient of the tanh approximation.
    static let kappa = 0.044715
    /// `M_2_SQRTPI * M_SQRT1_2 * 0.5` = 1/√(2π), the normal density's factor.
    static let pdfScale = 1.12837916709551257389615890312154517 * 0.707106781186547524400844362104849039 * 0.5
}

/// `erf` of one scalar, computed in Double (exact for Double, correctly rounded back for Float).
@inline(__always)
func erfScalar<T: TensorScalar>(_ x: T) -> T { T(Foundation.erf(Double(x))) }

/// `log1p` of one scalar: Ember's own for Float (`ember_log1pf`, the same bits with any C library),
/// the C library's in Double.
@inline(__always)
func log1pScalar<T: TensorScalar>(_ x: T) -> T {
    if T.self == Float.self { return T(ember_log1pf(Float(x))) }
    return T(Foundation.log1p(Double(x)))
}

extension Tensor where Scalar: TensorScalar {
    /// The Gaussian error linear unit elementwise, as `torch.nn.functional.gelu(x, approximate=...)`:
    /// `0.5 x (1 + erf(x / √2))` (`.none`, the default) or
    /// `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))` (`.tanh`). Same shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func gelu(approximate: GELUApproximation = .none) -> Tensor {
        switch approximate {
        case .none:
            let c = Scalar(GELUConstants.sqrt1_2)
            return mapScalars { x in x * 0.5 * (1 + erfScalar(x * c)) }
        case .tanh:
            let beta = Scalar(GELUConstants.beta), kappa = Scalar(GELUConstants.kappa)
            return mapScalars { x in 0.5 * x * (1 + Scalar._tanh(beta * (x + kappa * x * x * x))) }
        }
    }

    /// `x` where `x > 0`, else `negativeSlope * x`, elementwise, as
    /// `torch.nn.functional.leaky_relu(x, negative_slope)` (default 0.01). NaN stays NaN. Same shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func leakyRelu(negativeSlope: Double = 0.01) -> Tensor {
        let slope = Scalar(negativeSlope)
        return mapScalars { x in x > 0 ? x : x * slope }
    }

    /// `log(1 + exp(beta x)) / beta` elementwise, and `x` itself where `beta x > threshold` (for
    /// numerical stability), as `torch.nn.functional.softplus(x, beta=1, threshold=20)`. Same shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func softplus(beta: Double = 1, threshold: Double = 20) -> Tensor {
        let b = Scalar(beta), limit = Scalar(threshold)
        return mapScalars { x in x * b > limit ? x : log1pScalar(Scalar._exp(x * b)) / b }
    }
}
