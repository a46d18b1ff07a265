// MARK: - Embedding

/// A lookup table: index `i` gives row `i` of `weight` `[numEmbeddings, embeddingDim]`, initialised
/// N(0, 1) as in PyTorch. Indices `[n]` give `[n, embeddingDim]`; `[[Int]]` of `[B][T]` gives `[B, T, embeddingDim]`.
public final class Embedding<Scalar: TensorScalar>: Module {
    /// `[numEmbeddings, embeddingDim]`.
    public let weight: Variable<Scalar>

    /// PyTorch's `nn.Embedding(num_embeddings, embedding_dim)`: `weight` drawn N(0, 1) from the default
    /// generator (not PyTorch's normal draws). Stops with a message unless both sizes are positive.
    public init(numEmbeddings: Int, embeddingDim: Int) {
        require(numEmbeddings > 0 && embeddingDim > 0, "Embedding: expected positive sizes, got \(numEmbeddings), \(embeddingDim)")
        weight = Variable(withDefaultGenerator { Tensor<Scalar>(randomNormal: [numEmbeddings, embeddingDim], generator: &$0) }, requiresGrad: true)
    }

    /// Rows of `weight` for `indices`: `[indices.count, embeddingDim]`. Backward: rows added into the table's gradient.
    public func callAsFunction(_ indices: [Int]) -> Variable<Scalar> { embeddingLookup(weight, indices) }

    /// `[B][T]` indices → `[B, T, embeddingDim]`.
    public func callAsFunction(_ indices: [[Int]]) -> Variable<Scalar> {
        let t = indices.first?.count ?? 0
        require(indices.allSatisfy { $0.count == t }, "Embedding: expected rows of equal length")
        return embeddingLookup(weight, indices.flatMap { $0 }).reshaped(to: [indices.count, t, weight.shape[1]])
    }
}
