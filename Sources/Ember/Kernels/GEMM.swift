import CEmberKernels
import Dispatch

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
        if m * n * k <= tinyProduct && alpha == 1 && beta == 0 {
            tiny(fused: ember_kernel_level_in_use() != EMBER_KERNEL_PORTABLE, transA: transA, transB: transB,
                 m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
            return
        }
        let threads = emberThreadCount
        if threads > 1 && m * n * k >= parallelThreshold && Swift.max(m, n) >= 64 && !WorkerPool.isInsideRegion {
            // Split C into blocks of rows (when M is the larger side) or of columns, so the larger
            // operand is packed once overall rather than once per thread.
            let byRows = m >= n
            let extent = byRows ? m : n
            let chunks = Swift.min(threads, extent / 32)
            let per = ((extent + chunks - 1) / chunks + 15) / 16 * 16
            let p = SendablePointers(a: a, b: b, c: c)
            WorkerPool.shared.run(chunks: chunks, threads: threads) { i in
                let start = i * per, size = Swift.min(per, extent - start)
                guard size > 0 else { return }
                if byRows {
                    Scalar._gemm(transA: transA, transB: transB, m: size, n: n, k: k, alpha: alpha,
                                 a: transA ? p.a + start : p.a + start * lda, lda: lda, b: p.b, ldb: ldb,
                                 beta: beta, c: p.c + start * ldc, ldc: ldc)
                } else {
                    Scalar._gemm(transA: transA, transB: transB, m: m, n: size, k: k, alpha: alpha,
                                 a: p.a, lda: lda, b: transB ? p.b + start * ldb : p.b + start, ldb: ldb,
                                 beta: beta, c: p.c + start, ldc: ldc)
                }
            }
            return
        }
        Scalar._gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                     a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// Products of at most this many multiply-adds (`m·n·k`) are too small to pack: the C kernels
    /// form them with plain loops (gemm.c's cut-off, the same number).
    static let tinyProduct = 512

    /// `c = op(a) · op(b)` for a tiny product, in Swift: each element is one chain over `k` in order
    /// from 0, fused (`fused`: any level but the portable one) or not, exactly as `ember_sgemm`'s
    /// tiny loop forms it, so the bits are the C kernels'. Through `ember_sgemm` a 1 x 1 x 1 product
    /// cost about 190 instructions of calls, level clamps, stack arguments and prologue; inlined
    /// here, a matmul's forward and backward at [1, 1] (three products) went from 4,525 to 4,129
    /// instructions (callgrind, `ember-bench ops`, BENCHMARKS.md). Unlike `ember_sgemm` it leaves
    /// prefetches queued by `ember_prefetch_during_next_product` for the next product the C kernels run.
    @inline(__always)
    static func tiny<Scalar: TensorScalar>(
        fused: Bool, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Scalar>, lda: Int, b: UnsafePointer<Scalar>, ldb: Int,
        c: UnsafeMutablePointer<Scalar>, ldc: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var acc: Scalar = 0
                for p in 0..<k {
                    let x = transA ? a[p * lda + i] : a[i * lda + p]
                    let y = transB ? b[j * ldb + p] : b[p * ldb + j]
                    acc = fused ? acc.addingProduct(x, y) : acc + x * y
                }
                c[i * ldc + j] = acc
            }
        }
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
    /// (`portable`, `avx2`, `avx512`); setting it is clamped to what the CPU supports. An
    /// `EMBER_KERNEL` the CPU cannot follow, or an unknown value, is noted once on stderr with the
    /// level used instead.
    public static var current: KernelLevel {
        get { KernelLevel(rawValue: Int(ember_kernel_level_in_use().rawValue)) ?? .portable }
        set { _ = ember_kernel_set_level(ember_kernel_level(rawValue: UInt32(newValue.rawValue))) }
    }

    /// `portable`, `avx2` or `avx512`, as `EMBER_KERNEL` spells it.
    public var description: String {
        switch self {
        case .portable: "portable"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }
}

// MARK: - A right-hand operand packed once

/// `op(b)` `[k, n]` packed once for the GEMM kernel in use, for products that reuse it many times
/// (a recurrence multiplies by the same weights at every time step). Products from it equal
/// `GEMM.run` with `op(b)` bit for bit. Read-only once made, so threads may share it.
final class PackedMatrix<Scalar: TensorScalar>: @unchecked Sendable {
    let k: Int, n: Int
    private let level: KernelLevel
    private let storage: UnsafeMutablePointer<Scalar>

    /// Operands of at least this many elements are packed on all of `emberThreadCount`'s threads,
    /// each packing a share of the panels. A training step packs its recurrent weights between
    /// parallel regions, on one thread while the others wait: packing W_hh of LSTM-128 (64 K values)
    /// for both passes took about 155 µs of a 6.7 ms two-thread step on one core (BENCHMARKS.md).
    static var parallelThreshold: Int { 1 << 14 }

    /// Packs `op(b)`: `b` is `[k, n]` with row stride `ldb`, or `[n, k]` when `transB`.
    init(transB: Bool, k: Int, n: Int, b: UnsafePointer<Scalar>, ldb: Int) {
        require(k > 0 && n > 0, "PackedMatrix: empty operand [\(k), \(n)]")
        self.k = k
        self.n = n
        let level = KernelLevel.current
        self.level = level
        let count = Scalar._packedBSize(level: level, k: k, n: n)
        let storage = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Scalar>.stride, alignment: 64)
            .bindMemory(to: Scalar.self, capacity: count)
        self.storage = storage
        let parts = k * n >= PackedMatrix.parallelThreshold ? emberThreadCount : 1
        WorkerPool.shared.run(chunks: parts, threads: parts) { part in
            Scalar._packB(level: level, transB: transB, k: k, n: n, b: b, ldb: ldb, packed: storage, part: part, parts: parts)
        }
    }

    deinit { UnsafeMutableRawPointer(storage).deallocate() }

    /// `c = alpha * op(a) * self + beta * c` on the calling thread, where `op(a)` is `[m, k]` (or the
    /// transpose of a stored `[k, m]` when `transA`). When `beta == 0`, `c` is not read.
    @inline(__always)
    func multiply(transA: Bool = false, m: Int, alpha: Scalar = 1, a: UnsafePointer<Scalar>, lda: Int,
                  beta: Scalar = 0, c: UnsafeMutablePointer<Scalar>, ldc: Int) {
        Scalar._gemm(level: level, transA: transA, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                     packedB: storage, beta: beta, c: c, ldc: ldc)
    }
}
