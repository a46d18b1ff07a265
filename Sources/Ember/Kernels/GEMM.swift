import CEmberKernels

// MARK: - Matrix product kernel

/// Row-major GEMM on raw buffers: `c = alpha * op(a) * op(b) + beta * c`, where `op(a)` is
/// `[m, k]` (or the transpose of a stored `[k, m]` when `transA`), `op(b)` is `[k, n]` (or the
/// transpose of a stored `[n, k]` when `transB`). Leading dimensions are the stored row lengths.
/// When `beta == 0`, `c` is not read.
@usableFromInline
enum GEMM {
    @inline(__always)
    static func run<Scalar: TensorScalar>(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Scalar = 1,
        a: UnsafePointer<Scalar>, lda: Int, b: UnsafePointer<Scalar>, ldb: Int,
        beta: Scalar = 0, c: UnsafeMutablePointer<Scalar>, ldc: Int
    ) {
        Scalar._gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                     a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}

/// Which vector instruction set the kernels use.
public enum KernelLevel: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// Plain code for the baseline target of the platform.
    case portable = 0
    /// AVX2 with FMA (x86-64).
    case avx2 = 1
    /// AVX-512F (x86-64).
    case avx512 = 2

    /// The best level this CPU supports.
    public static var best: KernelLevel {
        KernelLevel(rawValue: Int(ember_kernel_best_level().rawValue)) ?? .portable
    }

    /// The level in use. Defaults to `best`, or to the `EMBER_KERNEL` environment variable
    /// (`portable`, `avx2`, `avx512`); setting it is clamped to what the CPU supports.
    public static var current: KernelLevel {
        get { KernelLevel(rawValue: Int(ember_kernel_level_in_use().rawValue)) ?? .portable }
        set { _ = ember_kernel_set_level(ember_kernel_level(rawValue: UInt32(newValue.rawValue))) }
    }

    public var description: String {
        switch self {
        case .portable: "portable"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }
}
