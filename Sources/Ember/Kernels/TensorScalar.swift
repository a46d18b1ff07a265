import CEmberKernels
import Foundation

// MARK: - Kernel operation codes

/// Elementwise operations of one input (`y = f(x)`), with up to two scalar parameters `p`, `q`.
/// Used by `TensorScalar`'s kernels; not needed to use Ember.
@_spi(Kernels) public enum UnaryKernel: Sendable {
    case negate, exp, log, tanh, sigmoid, relu, sqrt, square, abs
    /// `q * x^p`
    case scaledPow
    /// `min(max(x, p), q)`
    case clamp
    /// `x + p`
    case addScalar
    /// `x * p`
    case multiplyScalar
    /// `p - x`
    case subtractFromScalar
    /// `p / x`
    case divideScalar
}

/// Elementwise operations of two inputs (`y = f(a, b)`), with up to two scalar parameters `p`, `q`.
@_spi(Kernels) public enum BinaryKernel: Sendable {
    case add, subtract, multiply, divide
    /// `a * (1 - b * b)`: tanh's backward with `a` the output gradient and `b` the output.
    case tanhBackward
    /// `a * b * (1 - b)`: sigmoid's backward with `b` the output.
    case sigmoidBackward
    /// `b <= 0 ? 0 : a`: relu's backward with `b` the input (PyTorch's `threshold_backward(grad,
    /// result, 0)`: the gradient passes where `b` is NaN).
    case reluBackward
    /// `p < b && b < q ? a : 0`, a bound of `-inf` (`p`) or `+inf` (`q`) being no bound: clamp's
    /// backward with `b` the input.
    case clampBackward
    /// `a / (2 * b)`: sqrt's backward with `b` the output.
    case sqrtBackward
}

/// Reductions along one axis.
@_spi(Kernels) public enum ReductionKernel: Sendable {
    case sum, max
}

// MARK: - TensorScalar

/// The floating-point element types, `Float` and `Double`: those a `Variable` holds and that
/// arithmetic, reductions and the rest of the numeric API need (`TensorElement` covers all elements).
///
/// The requirements prefixed with `_` are Ember's kernels: hot loops over raw buffers. They are
/// requirements (rather than generic functions) so that each scalar type gets compiled, vectorised
/// code even when called from generic code in another module, and they are SPI (`@_spi(Kernels)`),
/// not public API: a client sees them only with `@_spi(Kernels) import Ember`.
public protocol TensorScalar: TensorElement, BinaryFloatingPoint, LosslessStringConvertible
where RawSignificand: FixedWidthInteger {
    /// Kernel plumbing: e^x of one scalar (Ember's own for Float, the C library's for Double).
    @_spi(Kernels) static func _exp(_ x: Self) -> Self
    /// Kernel plumbing: the natural logarithm of one scalar (Ember's own for Float, the C library's for Double).
    @_spi(Kernels) static func _log(_ x: Self) -> Self
    /// Kernel plumbing: tanh of one scalar (Ember's own for Float, the C library's for Double).
    @_spi(Kernels) static func _tanh(_ x: Self) -> Self
    /// Kernel plumbing: x^y of one scalar (Ember's own for Float, the C library's for Double).
    @_spi(Kernels) static func _pow(_ x: Self, _ y: Self) -> Self

    /// `y[i] = op(x[i])` for `i < count`.
    @_spi(Kernels) static func _unary(_ op: UnaryKernel, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>,
                       count: Int, _ p: Self, _ q: Self)
    /// `y[r * count + i] = op(a[r * aRow + i * aStep], b[r * bRow + i * bStep])` for `r < rows`, `i < count`.
    @_spi(Kernels) static func _binary(_ op: BinaryKernel, _ a: UnsafePointer<Self>, aRow: Int, aStep: Int,
                        _ b: UnsafePointer<Self>, bRow: Int, bStep: Int,
                        _ y: UnsafeMutablePointer<Self>, rows: Int, count: Int, _ p: Self, _ q: Self)
    /// `y[o, i] = reduce over k of x[o, k, i]` for x viewed as `[outer, length, inner]`.
    @_spi(Kernels) static func _reduce(_ op: ReductionKernel, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>,
                        outer: Int, length: Int, inner: Int)
    /// Like `_reduce(.max, ...)`, also writing the index of the first maximum along the axis.
    @_spi(Kernels) static func _argmax(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>,
                        _ indices: UnsafeMutablePointer<Int>, outer: Int, length: Int, inner: Int)
    /// Softmax (or log-softmax) along the middle axis of `[outer, length, inner]`.
    @_spi(Kernels) static func _softmax(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>,
                         outer: Int, length: Int, inner: Int, log: Bool)
    /// Backward of `_softmax`: `gx` from the output gradient `gy` and the output `y`.
    @_spi(Kernels) static func _softmaxBackward(_ gy: UnsafePointer<Self>, _ y: UnsafePointer<Self>,
                                 _ gx: UnsafeMutablePointer<Self>, outer: Int, length: Int,
                                 inner: Int, log: Bool)
    /// `y[i] += x[i]`.
    @_spi(Kernels) static func _accumulate(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int)
    /// Row-major GEMM, see `ember_sgemm`.
    @_spi(Kernels) static func _gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                      a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                      beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// Elements `op(b)` `[k, n]` needs once packed for `level`, see `ember_sgemm_packed_b_size`.
    @_spi(Kernels) static func _packedBSize(level: KernelLevel, k: Int, n: Int) -> Int
    /// Packs part `part` of `parts` of `op(b)` `[k, n]` for `level` into a 64-byte-aligned buffer,
    /// see `ember_sgemm_pack_b_part` (all the parts together pack the whole).
    @_spi(Kernels) static func _packB(level: KernelLevel, transB: Bool, k: Int, n: Int, b: UnsafePointer<Self>, ldb: Int,
                       packed: UnsafeMutablePointer<Self>, part: Int, parts: Int)
    /// GEMM with `op(b)` packed by `_packB` at the same level, see `ember_sgemm_with_packed_b`.
    @_spi(Kernels) static func _gemm(level: KernelLevel, transA: Bool, m: Int, n: Int, k: Int, alpha: Self,
                      a: UnsafePointer<Self>, lda: Int, packedB: UnsafePointer<Self>,
                      beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
}

extension KernelLevel {
    var c: ember_kernel_level { ember_kernel_level(rawValue: UInt32(rawValue)) }
}

extension Float: TensorScalar {
    /// Kernel plumbing, not for use outside Ember: Ember's own e^x (`ember_expf`: fdlibm's algorithm
    /// in double, rounded once; within 0.5 ulp plus 2^-20 ulp), the same bits with any C library on
    /// any CPU, so that softmax, cross-entropy and the other float paths train alike everywhere.
    @_spi(Kernels) @inline(__always) public static func _exp(_ x: Float) -> Float { ember_expf(x) }
    /// Kernel plumbing: Ember's own natural logarithm (`ember_logf`, as `_exp`).
    @_spi(Kernels) @inline(__always) public static func _log(_ x: Float) -> Float { ember_logf(x) }
    /// Kernel plumbing: Ember's own tanh (`ember_tanhf`: `(e - 1)/(e + 1)`, `e = e^{2|x|}` in double).
    @_spi(Kernels) @inline(__always) public static func _tanh(_ x: Float) -> Float { ember_tanhf(x) }
    /// Kernel plumbing: Ember's own x^y (`ember_powf`: `e^{y·log|x|}` in double, C99's special cases).
    @_spi(Kernels) @inline(__always) public static func _pow(_ x: Float, _ y: Float) -> Float { ember_powf(x, y) }

    /// Float's exp, tanh and sigmoid run vectorised C code (relative error below 1e-6).
    @_spi(Kernels) public static func _unary(_ op: UnaryKernel, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                              count: Int, _ p: Float, _ q: Float) {
        switch op {
        case .exp: ember_vexpf(x, y, count)
        case .tanh: ember_vtanhf(x, y, count)
        case .sigmoid: ember_vsigmoidf(x, y, count)
        default: unaryLoops(op, x, y, count: count, p, q)
        }
    }

    /// Kernel plumbing: `ember_sgemm`, `C = alpha·op(A)·op(B) + beta·C`, row-major.
    @_spi(Kernels) public static func _gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        ember_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// Kernel plumbing: `ember_sgemm_packed_b_size`, in elements.
    @_spi(Kernels) public static func _packedBSize(level: KernelLevel, k: Int, n: Int) -> Int {
        ember_sgemm_packed_b_size(level.c, k, n)
    }

    /// Kernel plumbing: `ember_sgemm_pack_b_part`.
    @_spi(Kernels) public static func _packB(level: KernelLevel, transB: Bool, k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int,
                              packed: UnsafeMutablePointer<Float>, part: Int, parts: Int) {
        ember_sgemm_pack_b_part(level.c, transB ? 1 : 0, k, n, b, ldb, packed, part, parts)
    }

    /// Kernel plumbing: `ember_sgemm_with_packed_b`.
    @_spi(Kernels) public static func _gemm(level: KernelLevel, transA: Bool, m: Int, n: Int, k: Int, alpha: Float,
                             a: UnsafePointer<Float>, lda: Int, packedB: UnsafePointer<Float>,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        ember_sgemm_with_packed_b(level.c, transA ? 1 : 0, m, n, k, alpha, a, lda, packedB, beta, c, ldc)
    }
}

extension Double: TensorScalar {
    /// Kernel plumbing, not for use outside Ember: `Foundation.exp`. Double keeps the C library's
    /// functions (correctly rounded in nearly every case, which the PyTorch parity tests compare
    /// against); Ember trains in Float, whose functions are Ember's own (see Float's `_exp`).
    @_spi(Kernels) @inline(__always) public static func _exp(_ x: Double) -> Double { Foundation.exp(x) }
    /// Kernel plumbing: `Foundation.log`.
    @_spi(Kernels) @inline(__always) public static func _log(_ x: Double) -> Double { Foundation.log(x) }
    /// Kernel plumbing: `Foundation.tanh`.
    @_spi(Kernels) @inline(__always) public static func _tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    /// Kernel plumbing: `Foundation.pow`.
    @_spi(Kernels) @inline(__always) public static func _pow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }

    /// Kernel plumbing: `ember_dgemm`, `C = alpha·op(A)·op(B) + beta·C`, row-major.
    @_spi(Kernels) public static func _gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                             a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                             beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        ember_dgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// Kernel plumbing: `ember_dgemm_packed_b_size`, in elements.
    @_spi(Kernels) public static func _packedBSize(level: KernelLevel, k: Int, n: Int) -> Int {
        ember_dgemm_packed_b_size(level.c, k, n)
    }

    /// Kernel plumbing: `ember_dgemm_pack_b_part`.
    @_spi(Kernels) public static func _packB(level: KernelLevel, transB: Bool, k: Int, n: Int, b: UnsafePointer<Double>, ldb: Int,
                              packed: UnsafeMutablePointer<Double>, part: Int, parts: Int) {
        ember_dgemm_pack_b_part(level.c, transB ? 1 : 0, k, n, b, ldb, packed, part, parts)
    }

    /// Kernel plumbing: `ember_dgemm_with_packed_b`.
    @_spi(Kernels) public static func _gemm(level: KernelLevel, transA: Bool, m: Int, n: Int, k: Int, alpha: Double,
                             a: UnsafePointer<Double>, lda: Int, packedB: UnsafePointer<Double>,
                             beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        ember_dgemm_with_packed_b(level.c, transA ? 1 : 0, m, n, k, alpha, a, lda, packedB, beta, c, ldc)
    }
}
