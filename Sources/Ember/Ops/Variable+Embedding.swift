// MARK: - Embedding lookup

/// Gathers rows of `table` `[n, d]` → `[indices.count, d]`. Backward: scatter-add into the table,
/// skipping every position whose index is `paddingIdx` (PyTorch's `embedding_backward` with
/// `padding_idx`: that row gets no gradient). Stops with a message for a table that is not 2-D or an
/// index outside `0..<n`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func embeddingLookup<Scalar>(_ table: Variable<Scalar>, _ indices: [Int], paddingIdx: Int? = nil) -> Variable<Scalar> {
    embeddingLookup(table, indices, leadingShape: [indices.count], paddingIdx: paddingIdx)
}

/// Gathers rows of `table` `[n, d]` for `indices` of any shape `[...]` → `[..., d]`, as
/// `torch.nn.functional.embedding`. Backward as for `[Int]` indices.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func embeddingLookup<Scalar>(_ table: Variable<Scalar>, _ indices: Tensor<Int>, paddingIdx: Int? = nil) -> Variable<Scalar> {
    embeddingLookup(table, indices.scalars, leadingShape: indices.shape, paddingIdx: paddingIdx)
}

@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func embeddingLookup<Scalar>(_ table: Variable<Scalar>, _ indices: [Int], leadingShape: [Int], paddingIdx: Int?) -> Variable<Scalar> {
    let w = table.data
    require(w.rank == 2, "embeddingLookup: expected a [n, d] table, got \(describe(w.shape))")
    let (n, d) = (w.shape[0], w.shape[1])
    for i in indices { require(i >= 0 && i < n, "embeddingLookup: index \(i) is out of range for a table of \(n) rows") }
    let y = Tensor<Scalar>(computing: leadingShape + [d]) { out, _ in
        w.withBase { src in
            for (row, i) in indices.enumerated() { (out + row * d).update(from: src + i * d, count: d) }
        }
    }
    return Variable.record("embedding", y, table, attributes: .indices(indices)) { g in
        var grad = Tensor<Scalar>(zeros: [n, d])
        g.withBase { pg in
            grad.withUnsafeMutableBufferPointer { gw in
                for (row, i) in indices.enumerated() where i != paddingIdx {
                    Scalar._accumulate(pg + row * d, into: gw.baseAddress! + i * d, count: d)
                }
            }
        }
        return grad
    }
}
