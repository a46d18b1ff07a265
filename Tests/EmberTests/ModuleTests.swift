import Foundation
import Testing
import Ember

/// Arrays and optionals of modules, own parameters, buffers, a nested module, a shared parameter.
final class Composite: Module {
    let scale = Variable(Tensor<Float>([2]), requiresGrad: true)
    let heads = [Linear<Float>(inFeatures: 3, outFeatures: 2), Linear<Float>(inFeatures: 3, outFeatures: 1)]
    let extra: Linear<Float>? = Linear<Float>(inFeatures: 2, outFeatures: 2, bias: false)
    let missing: Linear<Float>? = nil
    let body = Sequential<Float>(Linear<Float>(inFeatures: 3, outFeatures: 3), ReLU<Float>(), Dropout<Float>(p: 0.5, seed: 1))
    let running = Tensor<Float>(zeros: [3])          // a buffer, not a parameter
    lazy var alias = scale                           // the same parameter again
}

final class DoubleModel: Module {
    typealias Scalar = Double
    let fc = Linear<Double>(inFeatures: 2, outFeatures: 1)
}

final class MixedModel: Module {
    let fc = Linear<Double>(inFeatures: 2, outFeatures: 1)   // Scalar defaults to Float: a mismatch
}

@Suite struct ModuleTests {
    @Test func classifierFromDesignCompilesAndRuns() {
        let model = Classifier()
        let logits = model(Variable(Tensor(zeros: [4, 28, 28])))
        #expect(logits.shape == [4, 10])
        #expect(model.namedParameters().map(\.name) == ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "fc.weight", "fc.bias"])
        #expect(model.parameterCount == 32 * 28 + 32 * 32 + 32 + 32 + 10 * 32 + 10)
        #expect(model.stateDict()["fc.weight"]?.shape == [10, 32])
    }

    @Test func discoveryFollowsPyTorchNames() {
        let m = Composite()
        _ = m.alias
        #expect(m.namedParameters().map(\.name) == ["scale", "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias",
                                                    "extra.weight", "body.0.weight", "body.0.bias"])
        #expect(m.namedChildren().map(\.name) == ["heads.0", "heads.1", "extra", "body"])
        #expect(m.namedModules().map(\.name).contains("body.2"))
        #expect(DoubleModel().parameters().count == 2)
    }

    @Test func scalarMismatchStopsWithAMessage() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = MixedModel().parameters()
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("submodule 'fc'") && text.contains("Scalar Double") && text.contains("Scalar Float"))
    }

    @Test func trainEvalReachesEverySubmodule() throws {
        let m = Composite()
        let dropout = try #require(m.body.layers[2] as? Dropout<Float>)
        #expect(dropout.isTraining && m.isInTrainingMode)
        m.eval()
        #expect(!dropout.isTraining && !m.isInTrainingMode)
        m.train()
        #expect(dropout.isTraining)
    }

    @Test func zeroGradClearsEveryParameter() {
        let m = Classifier()
        let loss = CrossEntropyLoss()(m(Variable(Tensor(ones: [2, 28, 28]))), [1, 2])
        loss.backward()
        #expect(m.parameters().allSatisfy { $0.grad != nil })
        m.zeroGrad()
        #expect(m.parameters().allSatisfy { $0.grad == nil })
    }

    @Test func loadStateDictReportsEveryProblemAndChangesNothing() throws {
        let m = Classifier()
        var dict = m.stateDict()
        let before = m.fc.weight.data
        dict["fc.weight"] = Tensor(zeros: [10, 64])
        dict["fc.extra"] = Tensor(zeros: [1])
        dict["rnn.bias_hh_l0"] = nil
        dict["fc.bias"] = Tensor(ones: [10])
        do {
            try m.loadStateDict(dict)
            Issue.record("accepted a bad state dict")
        } catch let error as StateDictError {
            #expect(error.missing == ["rnn.bias_hh_l0"])
            #expect(error.unexpected == ["fc.extra"])
            #expect(error.mismatched == [.init(name: "fc.weight", expected: [10, 32], got: [10, 64])])
            #expect(error.description.contains("size mismatch for fc.weight"))
        }
        #expect(m.fc.weight.data == before && m.fc.bias!.data != Tensor(ones: [10]))
        // Non-strict: missing and unexpected keys are tolerated, shapes still are not.
        dict["fc.weight"] = nil
        try m.loadStateDict(dict, strict: false)
        #expect(m.fc.bias!.data == Tensor(ones: [10]))
    }

    @Test func saveAndLoadRoundTrip() throws {
        let dir = temporaryDirectory()
        let url = dir.appendingPathComponent("model.safetensors")
        manualSeed(1)
        let a = Classifier()
        try a.save(to: url)
        manualSeed(2)
        let b = Classifier()
        let x = Variable(Tensor<Float>(randomNormal: [3, 28, 28], generator: &SeededGeneratorBox.shared))
        #expect(a(x).data != b(x).data)
        try b.load(from: url)
        #expect(a(x).data == b(x).data)
        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.names.contains("rnn.weight_ih_l0") && file.entries["fc.weight"]?.dtype == .F32)
        // Loading into another architecture is a thrown error.
        #expect(throws: StateDictError.self) { try DoubleModel().load(from: url) }
    }

    @Test func sequentialDropoutEmbedding() {
        manualSeed(3)
        let seq = Sequential<Double>(Linear<Double>(inFeatures: 2, outFeatures: 4), Tanh<Double>(), Linear<Double>(inFeatures: 4, outFeatures: 1), Sigmoid<Double>())
        #expect(seq.namedParameters().map(\.name) == ["0.weight", "0.bias", "2.weight", "2.bias"])
        #expect(seq(Variable(Tensor(zeros: [5, 2]))).shape == [5, 1])

        let drop = Dropout<Double>(p: 0.25, seed: 4)
        let ones = Variable(Tensor<Double>(ones: [10_000]))
        let kept = drop(ones).data.scalars
        #expect(kept.allSatisfy { $0 == 0 || abs($0 - 4.0 / 3) < 1e-12 })
        let fraction = Double(kept.filter { $0 == 0 }.count) / 10_000
        #expect(abs(fraction - 0.25) < 0.02)
        #expect(Dropout<Double>(p: 0.25, seed: 4)(ones).data.scalars == kept)   // seeded
        drop.eval()
        #expect(drop(ones).data == ones.data)

        let emb = Embedding<Double>(numEmbeddings: 5, embeddingDim: 3)
        let y = emb([[1, 4], [1, 0]])
        #expect(y.shape == [2, 2, 3])
        #expect(y.data.select(axis: 0, index: 1).select(axis: 0, index: 0) == emb.weight.data.select(axis: 0, index: 1))
        y.sum().backward()
        #expect(emb.weight.grad!.select(axis: 0, index: 1).scalars == [2, 2, 2])   // used twice
        #expect(emb.weight.grad!.select(axis: 0, index: 2).scalars == [0, 0, 0])
        let result = gradcheck(inputs: [randomTensor([5, 3], seed: 2)]) { v in embeddingLookup(v[0], [3, 3, 0]).tanh() }
        #expect(result.passed, "\(result)")
    }

    @Test func linearGradcheckAndInit() {
        manualSeed(5)
        let layer = Linear<Double>(inFeatures: 4, outFeatures: 3)
        let bound = 0.5
        #expect(layer.parameters().allSatisfy { $0.data.scalars.allSatisfy { abs($0) <= bound } })
        let result = gradcheck(inputs: [randomTensor([2, 5, 4], seed: 1), layer.weight.data, layer.bias!.data]) { v in
            linear(v[0], weight: v[1], bias: v[2]).tanh()
        }
        #expect(result.passed, "\(result)")
    }
}

enum SeededGeneratorBox { nonisolated(unsafe) static var shared = SeededGenerator(seed: 99) }
