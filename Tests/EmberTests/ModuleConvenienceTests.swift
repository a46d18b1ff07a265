import Foundation
import Testing
@testable import Ember

/// print(model), buffers in the state dict, and unbatched recurrent inputs.
@Suite struct ModuleDescriptionTests {
    final class Classifier: Module {
        let rnn = RNN<Float>(inputSize: 28, hiddenSize: 32, batchFirst: true)
        let fc = Linear<Float>(inFeatures: 32, outFeatures: 10)
    }

    final class Nested: Module {
        let seq = Sequential<Float>(Linear(inFeatures: 2, outFeatures: 3))
        let empty = Sequential<Float>()
    }

    /// Custom configuration text of a module of one's own.
    final class Scaled: Module {
        let factor = 2.5
        var extraRepr: String { "factor=\(factor)" }
    }

    @Test func showsTheTreeAsPyTorchDoes() {
        #expect(String(describing: Classifier()) == """
            Classifier(
              (rnn): RNN(28, 32, batch_first=True)
              (fc): Linear(in_features=32, out_features=10, bias=True)
            )
            """)
        // PyTorch 2.15's repr of the same nesting: children indented two spaces per level, an empty
        // Sequential as `Sequential()`.
        #expect("\(Nested())" == """
            Nested(
              (seq): Sequential(
                (0): Linear(in_features=2, out_features=3, bias=True)
              )
              (empty): Sequential()
            )
            """)
        #expect(Sequential<Float>(Linear(inFeatures: 2, outFeatures: 3, bias: false), ReLU(), Tanh(), Sigmoid(), Dropout(p: 0.25)).description == """
            Sequential(
              (0): Linear(in_features=2, out_features=3, bias=False)
              (1): ReLU()
              (2): Tanh()
              (3): Sigmoid()
              (4): Dropout(p=0.25, inplace=False)
            )
            """)
        #expect(Scaled().description == "Scaled(factor=2.5)")
    }

    /// Each built-in layer's configuration, word for word PyTorch 2.15's `repr`.
    @Test func layersDescribeTheirConfiguration() {
        #expect(RNN<Float>(inputSize: 2, hiddenSize: 3, numLayers: 2, nonlinearity: .relu, bias: false, dropout: 0.5,
                           bidirectional: true).description == "RNN(2, 3, num_layers=2, bias=False, dropout=0.5, bidirectional=True)")
        #expect(LSTM<Double>(inputSize: 2, hiddenSize: 3).description == "LSTM(2, 3)")
        #expect(GRU<Float>(inputSize: 2, hiddenSize: 3, batchFirst: true).description == "GRU(2, 3, batch_first=True)")
        #expect(RecurrentLayer<Float>.make(.gru, inputSize: 2, hiddenSize: 3).description == "GRU(2, 3)")
        #expect(RNNCell<Float>(inputSize: 2, hiddenSize: 3, nonlinearity: .relu).description == "RNNCell(2, 3, nonlinearity=relu)")
        #expect(LSTMCell<Float>(inputSize: 2, hiddenSize: 3, bias: false).description == "LSTMCell(2, 3, bias=False)")
        #expect(GRUCell<Float>(inputSize: 2, hiddenSize: 3).description == "GRUCell(2, 3)")
        #expect(Embedding<Float>(numEmbeddings: 10, embeddingDim: 4).description.hasPrefix("Embedding(10, 4"))
        #expect(Dropout<Float>().description == "Dropout(p=0.5, inplace=False)")
        #expect(LayerNorm<Float>(normalizedShape: [6]).description == "LayerNorm((6,), eps=1e-05, elementwise_affine=True, bias=True)")
        #expect(LayerNorm<Float>(normalizedShape: [2, 3], elementwiseAffine: false).description
                    == "LayerNorm((2, 3), eps=1e-05, elementwise_affine=False, bias=False)")
        #expect(LayerNorm<Float>(normalizedShape: [4], eps: 1e-6, bias: false).description
                    == "LayerNorm((4,), eps=1e-06, elementwise_affine=True, bias=False)")
        #expect(Conv1d<Float>(inChannels: 3, outChannels: 5, kernelSize: 3).description == "Conv1d(3, 5, kernel_size=(3,), stride=(1,))")
        #expect(Conv1d<Float>(inChannels: 3, outChannels: 5, kernelSize: 3, stride: 2, padding: 1, dilation: 2, bias: false).description
                    == "Conv1d(3, 5, kernel_size=(3,), stride=(2,), padding=(1,), dilation=(2,), bias=False)")
    }
}

@Suite struct BufferTests {
    final class Normalizer: Module {
        let fc = Linear<Float>(inFeatures: 3, outFeatures: 2)
        var runningMean = Tensor<Float>(zeros: [3])
        var mask = Tensor<Float>(ones: [2])
        let steps = 0
    }

    final class Outer: Module {
        let norm = Normalizer()
        var scale = Tensor<Float>([2])
    }

    @Test func savedUnderTheirNamesBesideTheParameters() {
        let model = Outer()
        model.norm.runningMean = Tensor([1, 2, 3])
        #expect(model.namedBuffers().map(\.name) == ["scale", "norm.runningMean", "norm.mask"])
        #expect(model.namedParameters().map(\.name) == ["norm.fc.weight", "norm.fc.bias"])
        let dict = model.stateDict()
        #expect(Set(dict.keys) == ["norm.fc.weight", "norm.fc.bias", "scale", "norm.runningMean", "norm.mask"])
        #expect(dict["norm.runningMean"] == Tensor([1, 2, 3]))
    }

    @Test func restoredByLoadStateDictAndFiles() throws {
        let source = Outer()
        source.norm.runningMean = Tensor([4, 5, 6])
        source.scale = Tensor([7])
        let target = Outer()
        try target.loadStateDict(source.stateDict())
        #expect(target.norm.runningMean == Tensor([4, 5, 6]) && target.scale == Tensor([7]))
        #expect(target.norm.fc.weight.data == source.norm.fc.weight.data)
        // Through a safetensors file too.
        let url = temporaryDirectory().appendingPathComponent("buffers.safetensors")
        source.norm.mask = Tensor([0, 1])
        try source.save(to: url)
        let fresh = Outer()
        try fresh.load(from: url)
        #expect(fresh.norm.mask == Tensor([0, 1]) && fresh.norm.runningMean == Tensor([4, 5, 6]))
    }

    @Test func checkedAsParametersAre() {
        let model = Outer()
        var dict = model.stateDict()
        dict["norm.runningMean"] = Tensor(zeros: [4])
        #expect(throws: StateDictError.self) { try model.loadStateDict(dict) }
        do { try model.loadStateDict(dict) } catch let error as StateDictError {
            #expect(error.mismatched == [.init(name: "norm.runningMean", expected: [3], got: [4])])
        } catch { Issue.record("\(error)") }
        #expect(model.norm.runningMean == Tensor(zeros: [3]), "nothing changes when loading fails")
        dict["norm.runningMean"] = nil
        do { try model.loadStateDict(dict) } catch let error as StateDictError {
            #expect(error.missing == ["norm.runningMean"])
        } catch { Issue.record("\(error)") }
        // Not strict: the missing buffer keeps its value.
        try? model.loadStateDict(dict, strict: false)
        #expect(model.norm.runningMean == Tensor(zeros: [3]))
    }
}

@Suite struct UnbatchedRecurrentTests {
    /// `[T, F]` runs as a batch of one: output `[T, D·H]`, state `[L·D, H]`, as PyTorch's unbatched input.
    @Test func unbatchedEqualsABatchOfOne() {
        manualSeed(11)
        var g = SeededGenerator(seed: 2)
        let x = Tensor<Double>(randomUniform: [5, 3], lowerBound: -1, upperBound: 1, generator: &g)
        for mode in [RecurrentMode.rnnTanh, .lstm, .gru] {
            for batchFirst in [false, true] {
                let layer = RecurrentLayer<Double>.make(mode, inputSize: 3, hiddenSize: 4, numLayers: 2, batchFirst: batchFirst,
                                                        bidirectional: true)
                let h0 = Tensor<Double>(randomUniform: [4, 4], lowerBound: -1, upperBound: 1, generator: &g)
                let state = RecurrentState(h: Variable(h0), c: mode == .lstm ? Variable(h0 * 0.5) : nil)
                let (out, final) = layer(Variable(x), state: state)
                #expect(out.shape == [5, 8] && final.h.shape == [4, 4] && final.c?.shape == (mode == .lstm ? [4, 4] : nil))
                let batchedState = RecurrentState(h: Variable(h0.expandingShape(at: 1)),
                                                  c: mode == .lstm ? Variable((h0 * 0.5).expandingShape(at: 1)) : nil)
                let (bOut, bFinal) = layer(Variable(x.expandingShape(at: batchFirst ? 0 : 1)), state: batchedState)
                #expect(out.data == bOut.data.squeezingShape(at: batchFirst ? 0 : 1))
                #expect(final.h.data == bFinal.h.data.squeezingShape(at: 1))
            }
        }
        let rnn = RNN<Double>(inputSize: 3, hiddenSize: 2)
        let (o, h) = rnn(Variable(x))
        #expect(o.shape == [5, 2] && h.shape == [1, 2])
        let (lo, (lh, lc)) = LSTM<Double>(inputSize: 3, hiddenSize: 2)(Variable(x))
        #expect(lo.shape == [5, 2] && lh.shape == [1, 2] && lc.shape == [1, 2])
    }

    @Test func unbatchedGradients() {
        manualSeed(12)
        let gru = GRU<Double>(inputSize: 3, hiddenSize: 2)
        var g = SeededGenerator(seed: 3)
        let x = Tensor<Double>(randomUniform: [4, 3], lowerBound: -1, upperBound: 1, generator: &g)
        let h0 = Tensor<Double>(randomUniform: [1, 2], lowerBound: -1, upperBound: 1, generator: &g)
        let result = gradcheck(gru, inputs: [x, h0]) { v in
            let (out, h) = gru(v[0], v[1])
            return out.tanh().sum() + (h * h).sum()
        }
        #expect(result.passed, "\(result)")
    }

    @Test func batchedStateForUnbatchedInput() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = GRU<Float>(inputSize: 3, hiddenSize: 2)(Variable(Tensor<Float>(zeros: [4, 3])), Variable(Tensor<Float>(zeros: [1, 1, 2])))
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("GRU: for an unbatched input [4, 3], expected a hidden state [1, 2], got [1, 1, 2]"), "\(stderr)")
    }
}
