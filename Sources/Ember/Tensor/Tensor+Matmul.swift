// MARK: - Matrix products

extension Tensor where Scalar: TensorScalar {
    /// Matrix product, 2-D or batched 3-D:
    /// `[M, K] x [K, N] -> [M, N]`, `[B, M, K] x [B, K, N] -> [B, M, N]`, and a 2-D operand broadcast
    /// over the other's batch: `[B, M, K] x [K, N]` or `[M, K] x [B, K, N] -> [B, M, N]`.
    /// Stops with a message for other ranks, unequal inner dimensions or unequal batch sizes.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func matmul(_ other: Tensor) -> Tensor {
        Tensor.matmul(self, transposed: false, other, transposed: false)
    }

    /// `op(a) x op(b)` where `op` transposes the last two axes when asked, without materialising the
    /// transpose. Shapes as in `matmul(_:)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func matmul(_ a: Tensor, transposed transA: Bool, _ b: Tensor, transposed transB: Bool) -> Tensor {
        matmul(a, transposed: transA, b, transposed: transB, shapeLike: nil)
    }

    /// `matmul(_:transposed:_:transposed:)`, whose 2-D result takes its shape array from `hint`, `a`
    /// or `b` when one of them holds the result's sizes: a copy of an array shares its storage, so
    /// the result allocates only its elements. A gradient's shape is its input's: at [1, 1] this took
    /// three of nine allocations and 15 % of the instructions off a matmul's forward and backward
    /// (`ember-bench ops`, BENCHMARKS.md).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func matmul(_ a: Tensor, transposed transA: Bool, _ b: Tensor, transposed transB: Bool, shapeLike hint: [Int]?) -> Tensor {
        func fail() -> Never {
            let ta = transA ? "ᵀ" : "", tb = transB ? "ᵀ" : ""
            let k = a.rank >= 2 ? (transA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]) : 0
            requireFailure("matmul: expected [.., \(k)]\(ta) x [\(k), ..]\(tb), got \(describe(a.shape))\(ta) x \(describe(b.shape))\(tb)")
        }
        guard (2...3).contains(a.rank), (2...3).contains(b.rank) else {
            requireFailure("matmul: expected 2-D or 3-D operands, got \(describe(a.shape)) x \(describe(b.shape))")
        }
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transA ? (ac, ar) : (ar, ac)
        let (kb, n) = transB ? (bc, br) : (br, bc)
        if k != kb { fail() }
        let batchA = a.rank == 3 ? a.shape[0] : nil, batchB = b.rank == 3 ? b.shape[0] : nil
        if let x = batchA, let y = batchB, x != y {
            requireFailure("matmul: batch sizes differ, got \(describe(a.shape)) x \(describe(b.shape))")
        }
        let batch = batchA ?? batchB
        // [B, M, K] x [K, N] with A not transposed is one GEMM over B*M rows.
        if let bsz = batchA, batchB == nil, !transA {
            return Tensor(computing: [bsz, m, n]) { c, _ in
                a.withBase { pa in b.withBase { pb in
                    GEMM.run(transA: false, transB: transB, m: bsz * m, n: n, k: k,
                             a: pa, lda: ac, b: pb, ldb: bc, c: c, ldc: n)
                } }
            }
        }
        let outShape = batch.map { [$0, m, n] } ?? existingShape(m, n, hint, a.shape, b.shape)
        let strideA = batchA == nil ? 0 : ar * ac, strideB = batchB == nil ? 0 : br * bc
        return Tensor(computing: outShape) { c, _ in
            a.withBase { pa in b.withBase { pb in
                for i in 0..<(batch ?? 1) {
                    GEMM.run(transA: transA, transB: transB, m: m, n: n, k: k,
                             a: pa + i * strideA, lda: ac, b: pb + i * strideB, ldb: bc,
                             c: c + i * m * n, ldc: n)
                }
            } }
        }
    }

    /// `[m, n]`: the first of the candidates that holds exactly these sizes (no allocation), else a
    /// new array.
    @inline(__always)
    static func existingShape(_ m: Int, _ n: Int, _ first: [Int]?, _ second: [Int], _ third: [Int]) -> [Int] {
        func holds(_ s: [Int]) -> Bool { s.count == 2 && s[0] == m && s[1] == n }
        if let first, holds(first) { return first }
        return holds(second) ? second : holds(third) ? third : [m, n]
    }
}
