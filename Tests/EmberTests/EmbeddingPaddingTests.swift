import Foundation
import Testing
import Ember

/// Embedding's `paddingIdx` (a zero row that gets no gradient) and its index-tensor input.
@Suite struct EmbeddingPaddingTests {
    @Test func paddingParity() throws {
        let f = try Fixtures.pytorch("embedding_padding_idx")
        let meta = f.metadata
        #expect(meta["num_embeddings"] == "10" && meta["embedding_dim"] == "4" && meta["padding_idx"] == "0")
        let embedding = Embedding<Double>(numEmbeddings: 10, embeddingDim: 4, paddingIdx: 0)
        #expect(embedding.weight.data.select(axis: 0, index: 0).scalars == [0, 0, 0, 0])
        try embedding.loadStateDict(["weight": f.tensor("param.weight")])
        let flat = try f.integers("input")
        let rows = [Array(flat[0..<4]), Array(flat[4..<8])]
        #expect(rows.joined().contains(0))
        let out = embedding(rows)
        out.backward(gradient: try f.tensor("gy"))
        let worst = try max(worstRelativeError(out.data, f.tensor("out")),
                            worstRelativeError(embedding.weight.grad!, f.tensor("grad.weight")))
        print("parity embedding_padding_idx worst relative error \(worst)")
        #expect(worst < 1e-9)
        #expect(embedding.weight.grad!.select(axis: 0, index: 0).scalars == [0, 0, 0, 0])
    }

    /// The fixture's indices as a Tensor<Int> [2, 4] give [2, 4, 4], PyTorch's output and gradient.
    @Test func integerTensorIndicesParity() throws {
        let f = try Fixtures.pytorch("embedding_padding_idx")
        let embedding = Embedding<Double>(numEmbeddings: 10, embeddingDim: 4, paddingIdx: 0)
        try embedding.loadStateDict(["weight": f.tensor("param.weight")])
        let shape = try #require(f.entries["input"]?.shape)
        let out = embedding(Tensor<Int>(shape: shape, scalars: try f.integers("input")))
        #expect(out.shape == [2, 4, 4])
        out.backward(gradient: try f.tensor("gy"))
        #expect(try worstRelativeError(out.data, f.tensor("out")) < 1e-9)
        #expect(try worstRelativeError(embedding.weight.grad!, f.tensor("grad.weight")) < 1e-9)
        #expect("\(embedding)".contains("Embedding(10, 4, padding_idx=0)"))
    }

    @Test func indexTensorsOfAnyShape() {
        let embedding = Embedding<Double>(numEmbeddings: 6, embeddingDim: 2)
        let table = embedding.weight.data
        #expect(embedding(Tensor<Int>(shape: [], scalars: [4])).data == table.select(axis: 0, index: 4))
        let cube = embedding(Tensor<Int>(shape: [2, 1, 3], scalars: [5, 0, 1, 1, 2, 5]))
        #expect(cube.shape == [2, 1, 3, 2])
        #expect(cube.data.reshaped(to: [6, 2]) == embedding([5, 0, 1, 1, 2, 5]).data)
        #expect(embedding(Tensor<Int>(shape: [0, 3], scalars: [])).shape == [0, 3, 2])
        let result = gradcheck(inputs: [randomTensor([6, 2], seed: 3)]) { v in
            embeddingLookup(v[0], Tensor<Int>(shape: [2, 2], scalars: [1, 5, 1, 0])).tanh().sum()
        }
        #expect(result.passed, "\(result)")
    }

    @Test func negativePaddingIdxCountsFromTheEnd() {
        let embedding = Embedding<Double>(numEmbeddings: 5, embeddingDim: 3, paddingIdx: -2)
        #expect(embedding.paddingIdx == 3)
        #expect(embedding.weight.data.select(axis: 0, index: 3).scalars == [0, 0, 0])
        #expect(embedding.weight.data.select(axis: 0, index: 4).scalars.allSatisfy { $0 != 0 })
        let out = embedding([3, 1, 3])
        out.sum().backward()
        let grad = embedding.weight.grad!
        #expect(grad.select(axis: 0, index: 3).scalars == [0, 0, 0])
        #expect(grad.select(axis: 0, index: 1).scalars == [1, 1, 1])
        #expect(embedding.namedParameters().map(\.name) == ["weight"])
    }

    /// The padding row keeps any value it is given; it only receives no gradient.
    @Test func paddingRowIsFrozenNotForcedToZero() {
        let embedding = Embedding<Double>(numEmbeddings: 4, embeddingDim: 2, paddingIdx: 1)
        embedding.weight.data = Tensor(shape: [4, 2], scalars: [1, 2, 3, 4, 5, 6, 7, 8])
        let out = embedding([1, 2])
        #expect(out.scalars == [3, 4, 5, 6])
        // The gradient is the unpadded lookup's, with row 1 left out.
        let a = Variable(embedding.weight.data, requiresGrad: true), b = Variable(embedding.weight.data, requiresGrad: true)
        embeddingLookup(a, [1, 2, 2, 0], paddingIdx: 1).squared().sum().backward()
        embeddingLookup(b, [1, 2, 2, 0]).squared().sum().backward()
        #expect(a.grad!.scalars == [2, 4, 0, 0, 20, 24, 0, 0])
        #expect(b.grad!.scalars == [2, 4, 6, 8, 20, 24, 0, 0])
    }

    @Test func gradcheckWithoutPadding() {
        let result = gradcheck(inputs: [randomTensor([4, 3], seed: 9)]) { v in embeddingLookup(v[0], [3, 0, 3]).tanh().sum() }
        #expect(result.passed, "\(result)")
    }

    @Test func paddingIdxOutOfRangeIsNamed() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Embedding<Float>(numEmbeddings: 10, embeddingDim: 4, paddingIdx: 10)
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("Embedding: expected paddingIdx in -10..<10 (numEmbeddings 10), got 10"))
    }
}
