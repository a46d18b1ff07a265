// A matrix product cut into pieces of its result for several threads, when the caller runs the
// pieces inside a parallel region of its own (with other work beside them).

/// The result C `[m, n]` of a product cut into `count` pieces of rows (when `m >= n`) or of columns,
/// each a multiple of 16 wide and at least 32 (as `GEMM.run` cuts its products). Each element of C is
/// one chain of multiply-adds over all of K whatever piece holds it, so running the pieces on any
/// threads gives the bits of one call.
struct GEMMPieces {
    let byRows: Bool
    let extent: Int, per: Int, count: Int

    /// Up to `parts` pieces of C `[m, n]` (one when C is narrower than 64 on its longer side).
    init(m: Int, n: Int, parts: Int) {
        byRows = m >= n
        extent = byRows ? m : n
        let wanted = Swift.max(1, Swift.min(parts, extent / 32))
        per = ((extent + wanted - 1) / wanted + 15) / 16 * 16
        count = (extent + per - 1) / per
    }

    /// Piece `index` of `c = alpha · op(a) · op(b) + beta · c` (arguments as `GEMM.run`'s).
    @inline(__always)
    func run<Scalar: TensorScalar>(
        _ index: Int, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Scalar = 1,
        a: UnsafePointer<Scalar>, lda: Int, b: UnsafePointer<Scalar>, ldb: Int,
        beta: Scalar = 0, c: UnsafeMutablePointer<Scalar>, ldc: Int
    ) {
        let start = index * per, size = Swift.min(per, extent - start)
        guard size > 0 else { return }
        if byRows {
            Scalar._gemm(transA: transA, transB: transB, m: size, n: n, k: k, alpha: alpha,
                         a: transA ? a + start : a + start * lda, lda: lda, b: b, ldb: ldb,
                         beta: beta, c: c + start * ldc, ldc: ldc)
        } else {
            Scalar._gemm(transA: transA, transB: transB, m: m, n: size, k: k, alpha: alpha,
                         a: a, lda: lda, b: transB ? b + start * ldb : b + start, ldb: ldb,
                         beta: beta, c: c + start, ldc: ldc)
        }
    }
}
