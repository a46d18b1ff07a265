// MARK: - Embedding

/// A lookup table: index `i` gives row `i` of `weight` `[numEmbeddings, embeddingDim]`, initialised
/// N(0, 1) as in PyTorch. A `Tensor<Int>` of indices of shape `[...]` gives `[..., embeddingDim]`;
/// `[Int]` of `n` gives `[n, embeddingDim]`, `[[Int]]` of `[B][T]` gives `[B, T, embeddingDim]`.
///
/// With `paddingIdx`, that row starts at zero and never receives a gradient, so it stays what it is
/// (zero unless set otherwise) through training, as PyTorch's `padding_idx`:
///
/// ```swift
/// let embedding = Embedding<Float>(numEmbeddings: 10, embeddingDim: 4, paddingIdx: 0)
/// let vectors = embedding(Tensor<Int>(shape: [2, 3], scalars: [5, 2, 0, 7, 0, 0]))   // [2, 3, 4]
/// ```
public final class Embedding<Scalar: TensorScalar>: Module {
    /// `[numEmbeddings, embeddingDim]`.
    public let weight: Variable<Scalar>
    /// The row that is zero at first and gets no gradient, in `0..<numEmbeddings` (a negative
    /// `paddingIdx` given to `init` is counted from the end, as PyTorch's); `nil` for none.
    public let paddingIdx: Int?

    /// PyTorch's `nn.Embedding(num_embeddings, embedding_dim, padding_idx=None)`: `weight` drawn
    /// N(0, 1) from the default generator (not PyTorch's normal draws), then row `paddingIdx` set to
    /// zero. Stops with a message unless both sizes are positive and `paddingIdx` is in
    /// `-numEmbeddings..<numEmbeddings`.
    public init(numEmbeddings: Int, embeddingDim: Int, paddingIdx: Int? = nil) {
        require(numEmbeddings > 0 && embeddingDim > 0, "Embedding: expected positive sizes, got \(numEmbeddings), \(embeddingDim)")
        if let p = paddingIdx {
            require(p >= -numEmbeddings && p < numEmbeddings,
                    "Embedding: expected paddingIdx in \(-numEmbeddings)..<\(numEmbeddings) (numEmbeddings \(numEmbeddings)), got \(p)")
        }
        let padding = paddingIdx.map { $0 < 0 ? $0 + numEmbeddings : $0 }
        var table = withDefaultGenerator { Tensor<Scalar>(randomNormal: [numEmbeddings, embeddingDim], generator: &$0) }
        if let padding {
            table.withUnsafeMutableBufferPointer { p in
                for j in 0..<embeddingDim { p[padding * embeddingDim + j] = 0 }
            }
        }
        weight = Variable(table, requiresGrad: true)
        self.paddingIdx = padding
    }

    /// Rows of `weight` for `indices`: `[indices.count, embeddingDim]`. Backward: rows added into the
    /// table's gradient (none into row `paddingIdx`). Stops with a message for an index outside
    /// `0..<numEmbeddings`.
    public func callAsFunction(_ indices: [Int]) -> Variable<Scalar> { embeddingLookup(weight, indices, paddingIdx: paddingIdx) }

    /// Indices of any shape `[...]` → `[..., embeddingDim]` (a scalar index gives `[embeddingDim]`),
    /// as PyTorch's `embedding(input)`. Backward as for `[Int]`.
    public func callAsFunction(_ indices: Tensor<Int>) -> Variable<Scalar> {
        embeddingLookup(weight, indices, paddingIdx: paddingIdx)
    }

    /// `[B][T]` indices → `[B, T, embeddingDim]`.
    public func callAsFunction(_ indices: [[Int]]) -> Variable<Scalar> {
        let t = indices.first?.count ?? 0
        require(indices.allSatisfy { $0.count == t }, "Embedding: expected rows of equal length")
        return embeddingLookup(weight, indices.flatMap { $0 }, paddingIdx: paddingIdx).reshaped(to: [indices.count, t, weight.shape[1]])
    }
}
