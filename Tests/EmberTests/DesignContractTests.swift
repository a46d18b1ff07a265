import Foundation
import Testing
import Ember

/// The public API contract (Sources/Ember/Ember.docc/Architecture.md), spelled as it is there.
@Suite struct DesignContractTests {
    @Test func tensorsVariablesAndTape() {
        var rng = SeededGenerator(seed: 0)
        let t = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        _ = (t.shape, t.scalars, Tensor<Float>(zeros: [2, 3]), Tensor<Float>(ones: [3]))
        _ = Tensor<Float>(randomNormal: [2, 3], generator: &rng)
        let x = Variable(t, requiresGrad: true)
        let w = Variable(Tensor<Float>(randomNormal: [3, 2], generator: &rng), requiresGrad: true)
        let b = Variable(Tensor<Float>(zeros: [2]), requiresGrad: true)
        let y = (x.matmul(w) + b).tanh()
        let loss = y.sum()
        _ = (1 - x, x * 2, y.sum(axis: 0, keepDims: true), y.mean(), y.mean(axis: 1, keepDims: false))
        _ = (x.sigmoid(), x.relu(), x.exp(), x.log(), x.sqrt(), x.squared(), x.pow(2), x.clamped(min: 0, max: 1), -x)
        _ = (y.softmax(axis: 1), y.logSoftmax(axis: 1), y.max(axis: 1, keepDims: false))
        let indices: [Int] = y.argmax(axis: 1)
        #expect(indices.count == 2)
        loss.backward(retainGraph: true)
        let g: Tensor<Float>? = x.grad
        #expect(g?.shape == [2, 3])
        x.grad = nil
        let value: Int = withNoGrad { 3 }
        #expect(value == 3 && !x.detach().requiresGrad)
        _ = (x.reshaped(to: [3, 2]), x.transposed(0, 1), x.expandingShape(at: 0).permuted([1, 0, 2]), x.select(axis: 1, index: -1))
        _ = (x.narrow(axis: 1, start: 1, length: 2), concat([x, x], axis: 1), stack([x, x], axis: 0), x.unstacked(axis: 1))
        y.sum().backward(gradient: Tensor(1), retainGraph: false)
    }

    @Test func gradcheckSpelling() {
        let p = randomTensor([2, 3], seed: 1), q = randomTensor([3, 2], seed: 2)
        let result = gradcheck(inputs: [p, q]) { v in (v[0].matmul(v[1])).tanh().sum() }
        #expect(result.passed && result.maxAbsoluteError < 1e-6 && !result.description.isEmpty)
        #expect(gradcheck(inputs: [p], eps: 1e-6, atol: 1e-5, rtol: 1e-3) { v in v[0].sum() }.passed)
    }

    @Test func modulesLossesOptimizers() throws {
        let input = Variable(Tensor<Float>(zeros: [2, 28, 28]))
        let rnn = RNN<Float>(inputSize: 28, hiddenSize: 32, numLayers: 1, nonlinearity: .tanh,
                             bias: true, batchFirst: true, dropout: 0, bidirectional: false)
        let (output, hN) = rnn(input)
        let h0 = Variable(Tensor<Float>(zeros: [1, 2, 32]))
        _ = rnn(input, h0)
        #expect(output.shape == [2, 28, 32] && hN.shape == [1, 2, 32])
        let lstm = LSTM<Float>(inputSize: 28, hiddenSize: 128, batchFirst: true)
        let (out, (h, c)) = lstm(input)
        let c0 = Variable(Tensor<Float>(zeros: [1, 2, 128]))
        _ = lstm(input, (c0, c0))
        #expect(out.shape == [2, 28, 128] && h.shape == [1, 2, 128] && c.shape == [1, 2, 128])
        let gru = GRU<Float>(inputSize: 28, hiddenSize: 64)
        #expect(gru(input).output.shape == [2, 28, 64])
        let fc = Linear<Float>(inFeatures: 32, outFeatures: 10, bias: true)
        let named: [(name: String, parameter: Variable<Float>)] = fc.namedParameters()
        #expect(named.map(\.name) == ["weight", "bias"])
        fc.train(); fc.eval()
        let dict: [String: Tensor<Float>] = rnn.stateDict()
        try rnn.loadStateDict(dict, strict: true)

        let criterion = CrossEntropyLoss(reduction: .mean)
        let logits = fc(hN.squeezingShape(at: 0))
        let l = criterion(logits, [1, 2])
        let params = fc.parameters() + rnn.parameters()
        let opt = Adam(params, lr: 0.001)
        opt.zeroGrad(); l.backward(); opt.step()
        _ = SGD(params, lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0)
        _ = (Adagrad(params, lr: 0.01), RMSprop(params), AdamW(params), Adam(params, lr: 0.001, betas: (0.9, 0.999), eps: 1e-8, weightDecay: 0))
        clipGradNorm(params, maxNorm: 1)
        clipGradValue(params, clipValue: 1)
    }

    @Test func safetensorsSpelling() throws {
        let url = temporaryDirectory().appendingPathComponent("t.safetensors")
        let tensor = Tensor<Float>([1, 2])
        try SafeTensorsFile.write(["name": tensor], metadata: [:], to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        _ = (file.metadata, file.names)
        #expect(try file.tensor("name", as: Double.self).scalars == [1, 2])
        let ce = try Fixtures.pytorch("cross_entropy")
        #expect(try ce.integers("target").count == 8)
    }
}
