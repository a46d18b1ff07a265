// MARK: - GELU, leaky ReLU, softplus (forward and backward together)
//
// The backward rules are PyTorch's CPU kernels (aten/src/ATen/native/cpu/Activation.cpp:
// GeluBackwardKernelImpl, leaky_relu_backward, softplus_backward), so gradients agree with PyTorch's
// to rounding.

extension Variable {
    /// The Gaussian error linear unit, as `torch.nn.functional.gelu(x, approximate=...)` (see
    /// `Tensor.gelu(approximate:)`); same shape. Backward: exact, `g * (Φ(x) + x φ(x))` with
    /// `Φ(x) = 0.5 (1 + erf(x/√2))` and `φ(x) = exp(-x²/2) / √(2π)`; tanh, with
    /// `t = tanh(√(2/π) (x + 0.044715 x³))`,
    /// `g * (0.5 (1 + t) + 0.5 x (1 - t²) √(2/π) (1 + 3 · 0.044715 x²))`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func gelu(approximate: GELUApproximation = .none) -> Variable {
        let x = data
        return Variable.record("gelu", x.gelu(approximate: approximate), self, attributes: .gelu(tanh: approximate == .tanh)) { g in
            switch approximate {
            case .none:
                let c = Scalar(GELUConstants.sqrt1_2), k = Scalar(GELUConstants.pdfScale)
                return g.zipScalars(x) { g, x in
                    let cdf = 0.5 * (1 + erfScalar(x * c))
                    let pdf = Scalar._exp(-0.5 * x * x) * k
                    return g * (cdf + x * pdf)
                }
            case .tanh:
                let beta = Scalar(GELUConstants.beta), kappa = Scalar(GELUConstants.kappa)
                return g.zipScalars(x) { g, x in
                    let x2 = x * x
                    let t = Scalar._tanh(beta * (x + kappa * x2 * x))
                    let left = 0.5 * x, right = 1 + t
                    let dInner = beta * (1 + 3 * kappa * x2)
                    return g * (0.5 * right + left * (1 - t * t) * dInner)
                }
            }
        }
    }

    /// `x` where `x > 0`, else `negativeSlope * x` (default 0.01), as
    /// `torch.nn.functional.leaky_relu`; same shape. Backward: `g` where `x > 0`, else
    /// `negativeSlope * g` (at 0 too), as PyTorch's `leaky_relu_backward`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func leakyRelu(negativeSlope: Double = 0.01) -> Variable {
        let x = data, slope = Scalar(negativeSlope)
        return Variable.record("leakyRelu", x.leakyRelu(negativeSlope: negativeSlope), self, attributes: .scalar(negativeSlope)) { g in
            g.zipScalars(x) { g, x in x > 0 ? g : g * slope }
        }
    }

    /// `log(1 + exp(beta x)) / beta`, linear (`x`) where `beta x > threshold`, as
    /// `torch.nn.functional.softplus(x, beta=1, threshold=20)`; same shape. Backward: with
    /// `z = exp(beta x)`, `g * z / (z + 1)` (the logistic sigmoid of `beta x`), and `g` where
    /// `beta x > threshold`, as PyTorch's `softplus_backward`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func softplus(beta: Double = 1, threshold: Double = 20) -> Variable {
        let x = data, b = Scalar(beta), limit = Scalar(threshold)
        return Variable.record("softplus", x.softplus(beta: beta, threshold: threshold), self,
                               attributes: .softplus(beta: beta, threshold: threshold)) { g in
            g.zipScalars(x) { g, x in
                if x * b > limit { return g }
                let z = Scalar._exp(x * b)
                return g * z / (z + 1)
            }
        }
    }
}
