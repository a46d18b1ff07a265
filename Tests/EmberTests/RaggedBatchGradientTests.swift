import Testing
@testable import Ember

/// Ragged batches with lengths in any order, which the engine runs in its own row order
/// (RecurrentRowOrder): gradcheck passes through every cell, and the weight gradients do not depend
/// on whether the input's gradient is wanted (the backward pass then skips dX and must still skip
/// exactly the rows it skips otherwise).
@Suite struct RaggedBatchGradientTests {
    static let cases: [RecurrentCase] = [RecurrentMode.rnnTanh, .rnnRelu, .lstm, .gru].flatMap { m in [
        RecurrentCase(mode: m, layers: 2, bidirectional: true, lengths: [2, 5, 1]),
        RecurrentCase(mode: m, batchFirst: true, lengths: [1, 5, 3], withState: false),
    ] }

    @Test(arguments: cases)
    func gradcheckUnsortedLengths(_ c: RecurrentCase) {
        let layer = RecurrentLayer<Double>.make(c.mode, inputSize: I, hiddenSize: H, numLayers: c.layers,
                                                batchFirst: c.batchFirst, bidirectional: c.bidirectional)
        let D = c.bidirectional ? 2 : 1
        var inputs = [randomTensor(c.batchFirst ? [B, T, I] : [T, B, I], seed: 11)]
        if c.withState { inputs.append(randomTensor([c.layers * D, B, H], seed: 12)) }
        if c.withState && c.mode == .lstm { inputs.append(randomTensor([c.layers * D, B, H], seed: 13)) }
        let first = inputs.count
        inputs += layer.weights.enumerated().map { randomTensor($1.shape, seed: 20 + UInt64($0)) }
        let gy = randomTensor(c.batchFirst ? [B, T, H * D] : [T, B, H * D], seed: 14)
        let gh = randomTensor([c.layers * D, B, H], seed: 15)
        let result = gradcheck(inputs: inputs) { v in
            let h0 = c.withState ? v[1] : nil
            let c0 = c.withState && c.mode == .lstm ? v[2] : nil
            let (out, hN, cN) = layer.run(v[0], h0: h0, c0: c0, lengths: c.lengths, name: "test", weights: Array(v[first...]))
            var loss = (out * gy).sum() + (hN * gh).sum()
            if let cN { loss = loss + (cN * cN).sum() }
            return loss
        }
        #expect(result.passed, "\(c): \(result)")
    }

    @Test(arguments: [RecurrentMode.rnnTanh, .lstm, .gru])
    func weightGradientsWithoutInputGradient(_ mode: RecurrentMode) {
        let (T, B, I, H) = (9, 70, 4, 5)
        var rng = SeededGenerator(seed: 3)
        let lengths = (0..<B).map { _ in 1 + Int(rng.next() % UInt64(T)) }
        let layer = RecurrentLayer<Float>.make(mode, inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true)
        let weights = layer.weights.map { Tensor<Float>(randomNormal: $0.shape, generator: &rng) }
        let x = Tensor<Float>(randomNormal: [T, B, I], generator: &rng)
        let gy = Tensor<Float>(randomNormal: [T, B, 2 * H], generator: &rng)
        func weightGradients(inputGradient: Bool) -> [[Float]] {
            let w = weights.map { Variable($0, requiresGrad: true) }
            let (out, _, _) = layer.run(Variable(x, requiresGrad: inputGradient), h0: nil, c0: nil, lengths: lengths,
                                        name: "test", weights: w)
            (out * Variable(gy)).sum().backward()
            return w.map { $0.grad!.scalars }
        }
        let with = weightGradients(inputGradient: true), without = weightGradients(inputGradient: false)
        for (a, b) in zip(with, without) {
            #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "\(mode): weight gradients differ")
        }
    }
}
