import Foundation
import Testing
@testable import Ember

/// Batches of zero samples go forward and backward through every layer, loss and op, with PyTorch's
/// shapes and values: empty outputs, empty input gradients, all-zero weight gradients; a mean over
/// nothing is NaN and a sum over nothing 0 (PyTorch 2.15 and NumPy).
@Suite struct EmptyBatchTests {
    /// The case: GRU(5, 6) on zeros [3, 0, 5].
    @Test func gruOnAnEmptyBatch() {
        let x = Variable(Tensor<Float>(zeros: [3, 0, 5]), requiresGrad: true)
        let gru = GRU<Float>(inputSize: 5, hiddenSize: 6)
        let (out, h) = gru(x)
        #expect(out.shape == [3, 0, 6] && h.shape == [1, 0, 6])
        (out.sum() + h.sum()).backward()
        #expect(x.grad?.shape == [3, 0, 5])
        for w in gru.weights { #expect(w.grad == Tensor(zeros: w.shape)) }
    }

    /// Every recurrent configuration (modes, layers, directions, layouts, lengths, states, dropout),
    /// recording and not, Float (the fused kernels and the inference path) and Double.
    @Test(arguments: RecurrentCase.all) func everyRecurrentConfiguration(_ c: RecurrentCase) {
        func run<S: TensorScalar>(_: S.Type, recording: Bool) {
            let D = c.bidirectional ? 2 : 1, L = c.layers
            let layer = RecurrentLayer<S>.make(c.mode, inputSize: 4, hiddenSize: 3, numLayers: L, bias: c.bias, batchFirst: c.batchFirst,
                                               dropout: c.dropout, bidirectional: c.bidirectional)
            let x = Variable(Tensor<S>(zeros: c.batchFirst ? [0, 5, 4] : [5, 0, 4]), requiresGrad: recording)
            let h0 = c.withState ? Variable(Tensor<S>(zeros: [L * D, 0, 3]), requiresGrad: recording) : nil
            let c0 = c.withState && c.mode == .lstm ? Variable(Tensor<S>(zeros: [L * D, 0, 3]), requiresGrad: recording) : nil
            let (out, h, cN) = recording
                ? layer.run(x, h0: h0, c0: c0, lengths: c.lengths.map { _ in [] }, name: "test")
                : withNoGrad { layer.run(x, h0: h0, c0: c0, lengths: c.lengths.map { _ in [] }, name: "test") }
            #expect(out.shape == (c.batchFirst ? [0, 5, D * 3] : [5, 0, D * 3]), "\(c)")
            #expect(h.shape == [L * D, 0, 3] && cN?.shape == (c.mode == .lstm ? [L * D, 0, 3] : nil), "\(c)")
            guard recording else { return }
            var loss = out.sum() + h.sum()
            if let cN { loss = loss + cN.sum() }
            loss.backward()
            #expect(x.grad?.shape == x.shape && h0?.grad?.shape == h0?.shape && c0?.grad?.shape == c0?.shape, "\(c)")
            for w in layer.weights { #expect(w.grad == Tensor(zeros: w.shape), "\(c)") }
        }
        for recording in [true, false] {
            run(Float.self, recording: recording)
            run(Double.self, recording: recording)
        }
    }

    @Test func cells() {
        let x = Variable(Tensor<Double>(zeros: [0, 4]), requiresGrad: true)
        let rnn = RNNCell<Double>(inputSize: 4, hiddenSize: 3), lstm = LSTMCell<Double>(inputSize: 4, hiddenSize: 3)
        let gru = GRUCell<Double>(inputSize: 4, hiddenSize: 3)
        let h = rnn(x), (hl, cl) = lstm(x), hg = gru(x)
        #expect(h.shape == [0, 3] && hl.shape == [0, 3] && cl.shape == [0, 3] && hg.shape == [0, 3])
        (h.sum() + hl.sum() + cl.sum() + hg.sum()).backward()
        #expect(x.grad?.shape == [0, 4])
        for w in rnn.parameters() + lstm.parameters() + gru.parameters() { #expect(w.grad == Tensor(zeros: w.shape)) }
    }

    @Test func linearAndEmbedding() {
        let fc = Linear<Double>(inFeatures: 4, outFeatures: 3)
        let x = Variable(Tensor<Double>(zeros: [0, 4]), requiresGrad: true)
        let y = fc(x)
        #expect(y.shape == [0, 3])
        y.sum().backward()
        #expect(x.grad?.shape == [0, 4] && fc.weight.grad == Tensor(zeros: [3, 4]) && fc.bias?.grad == Tensor(zeros: [3]))
        // A 3-D input with no rows.
        #expect(fc(Variable(Tensor<Double>(zeros: [2, 0, 4]))).shape == [2, 0, 3])

        let embedding = Embedding<Double>(numEmbeddings: 5, embeddingDim: 2)
        let rows = embedding([Int]())
        #expect(rows.shape == [0, 2])
        let sequences = embedding([[Int]]([[], []]))
        #expect(sequences.shape == [2, 0, 2])
        (rows.sum() + sequences.sum()).backward()
        #expect(embedding.weight.grad == Tensor(zeros: [5, 2]))
    }

    /// Mean over nothing is NaN (PyTorch, NumPy); sum is 0; no reduction gives an empty result. Each
    /// loss's gradient has its input's shape.
    @Test func losses() {
        let logits = Variable(Tensor<Double>(zeros: [0, 4]), requiresGrad: true)
        for (reduction, value) in [(Reduction.mean, Double.nan), (.sum, 0)] {
            let ce = CrossEntropyLoss(reduction: reduction)(logits, [])
            let nll = NLLLoss(reduction: reduction)(logits.logSoftmax(axis: 1), [])
            let mse = MSELoss(reduction: reduction)(logits, Tensor<Double>(zeros: [0, 4]))
            for loss in [ce, nll, mse] {
                #expect(loss.shape == [] && (loss.scalar == value || (value.isNaN && loss.scalar.isNaN)), "\(reduction): \(loss.scalar)")
            }
        }
        for loss in [CrossEntropyLoss(reduction: .none)(logits, []), NLLLoss(reduction: .none)(logits, [])] { #expect(loss.shape == [0]) }
        #expect(MSELoss(reduction: .none)(logits, Tensor<Double>(zeros: [0, 4])).shape == [0, 4])
        CrossEntropyLoss(reduction: .sum)(logits, []).backward()
        #expect(logits.grad?.shape == [0, 4])
        logits.zeroGrad()
        MSELoss()(logits, Tensor<Double>(zeros: [0, 4])).backward()
        #expect(logits.grad?.shape == [0, 4])
    }

    @Test func reductions() {
        let empty = Variable(Tensor<Double>(shape: [0], scalars: []), requiresGrad: true)
        #expect(empty.mean().scalar.isNaN)
        #expect(empty.sum().scalar == 0)
        #expect(Tensor<Double>(shape: [0], scalars: []).mean().scalar.isNaN)
        let rows = Tensor<Double>(zeros: [0, 3])
        #expect(rows.mean(axis: 0).shape == [3] && rows.mean(axis: 0).scalars.allSatisfy(\.isNaN))
        #expect(rows.sum(axis: 0) == Tensor(zeros: [3]))
        #expect(rows.mean(axis: 1).shape == [0] && rows.sum(axis: 1).shape == [0])
        #expect(rows.mean(axis: 0, keepDims: true).shape == [1, 3])
        #expect(rows.max(axis: 1).shape == [0] && rows.argmax(axis: 1) == [])
        let v = Variable(rows, requiresGrad: true)
        (v.mean(axis: 0).sum() + v.sum() + v.mean()).backward()
        #expect(v.grad?.shape == [0, 3])
    }

    @Test func ops() {
        let a = Variable(Tensor<Double>(zeros: [0, 3]), requiresGrad: true)
        let b = Variable(Tensor<Double>(ones: [3, 2]), requiresGrad: true)
        let product = a.matmul(b)
        #expect(product.shape == [0, 2])
        // An inner dimension of zero: a sum of nothing, zeros.
        let p = Variable(Tensor<Double>(zeros: [2, 0]), requiresGrad: true), q = Variable(Tensor<Double>(zeros: [0, 3]), requiresGrad: true)
        let inner = p.matmul(q)
        #expect(inner.data == Tensor(zeros: [2, 3]))
        let batched = Variable(Tensor<Double>(zeros: [0, 2, 3])).matmul(b)
        #expect(batched.shape == [0, 2, 2])
        let softmax = a.softmax(axis: 1), logSoftmax = a.logSoftmax(axis: 1)
        #expect(softmax.shape == [0, 3] && logSoftmax.shape == [0, 3])
        let elementwise = ((a * 2 + 1).tanh().sigmoid().relu().exp() - a.squared()).clamped(min: -1, max: 1)
        #expect(elementwise.shape == [0, 3])
        let joined = concat([a, Variable(Tensor<Double>(ones: [2, 3]))], axis: 0)
        #expect(joined.shape == [2, 3])
        let stacked = stack([a, a], axis: 0)
        #expect(stacked.shape == [2, 0, 3] && a.transposed(0, 1).shape == [3, 0] && a.reshaped(to: [3, 0]).shape == [3, 0])
        (product.sum() + inner.sum() + softmax.sum() + logSoftmax.sum() + elementwise.sum() + joined.sum() + stacked.sum()).backward()
        #expect(a.grad?.shape == [0, 3] && b.grad == Tensor(zeros: [3, 2]))
        #expect(p.grad?.shape == [2, 0] && q.grad?.shape == [0, 3])
    }

    struct Numbers: Dataset {
        let values: [Double]
        var count: Int { values.count }
        func batch(_ indices: [Int]) -> [Double] { indices.map { values[$0] } }
    }

    @Test func dataLoaderOverNothing() {
        for shuffle in [false, true] {
            let loader = DataLoader(Numbers(values: []), batchSize: 4, shuffle: shuffle, seed: 1)
            #expect(loader.count == 0 && Array(loader).isEmpty)
            let dropLast = DataLoader(Numbers(values: [1, 2, 3]), batchSize: 4, shuffle: shuffle, seed: 1, dropLast: true)
            #expect(dropLast.count == 0 && Array(dropLast).isEmpty)
        }
    }
}
