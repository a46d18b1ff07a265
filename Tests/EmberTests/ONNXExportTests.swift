import Foundation
import Testing
@testable import Ember

/// The exporter without ONNX Runtime: the graph it derives from a traced pass (operators, names,
/// dynamic dimensions, converted recurrent weights) and the errors it stops with. ONNX Runtime's
/// own verdict is ExamplesTests' ONNXRuntimeTests, run by .ci/run.
@Suite struct ONNXExportTests {
    final class Classifier: Module {
        let rnn = LSTM<Float>(inputSize: 4, hiddenSize: 3, batchFirst: true)
        let fc = Linear<Float>(inFeatures: 3, outFeatures: 2)
        func callAsFunction(_ x: Variable<Float>) -> Variable<Float> {
            fc(rnn(x).output.select(axis: 1, index: -1)).logSoftmax(axis: 1)
        }
    }

    func trace(_ model: Classifier) throws -> ONNXModel {
        try traceONNXModel(model, inputs: [.tensor("input", Tensor(zeros: [2, 5, 4]))], outputNames: ["logp"]) { [model($0[0])] }
    }

    @Test func classifierBecomesOperatorsInitializersAndDynamicAxes() throws {
        let model = Classifier()
        model.train()
        let graph = try trace(model).graph
        #expect(graph.nodes.map(\.opType) == ["Transpose", "LSTM", "Transpose", "Reshape", "Transpose", "Gather", "Gemm", "LogSoftmax"])
        #expect(Set(graph.initializers.map(\.name)).isSuperset(of: ["rnn.W_l0", "rnn.R_l0", "rnn.B_l0", "fc.weight", "fc.bias"]))
        #expect(!graph.initializers.contains { $0.name == "rnn.weight_ih_l0" })
        #expect(graph.inputs == [ONNXValueInfo(name: "input", elementType: .float, shape: [.param("batch"), .param("sequence"), .value(4)])])
        #expect(graph.outputs == [ONNXValueInfo(name: "logp", elementType: .float, shape: [.param("batch"), .value(2)])])
        #expect(model.isInTrainingMode)                     // traced in evaluation mode, mode restored
        let lstm = graph.nodes[1]
        #expect(lstm.attributes.contains(ONNXAttribute("hidden_size", .int(3))))
        #expect(lstm.attributes.contains(ONNXAttribute("direction", .string("forward"))))
        #expect(graph.nodes[5].inputs[1].hasPrefix("index"))  // select(-1): Gather of index -1, any length
        #expect(graph.initializers.first { $0.name == graph.nodes[5].inputs[1] }?.rawData == [UInt8](repeating: 0xFF, count: 8))
    }

    @Test func lstmGatesAndBiasesTakeONNXsOrder() throws {
        let model = Classifier()
        let graph = try trace(model).graph
        func floats(_ name: String) -> [Float] {
            let raw = graph.initializers.first { $0.name == name }!.rawData
            return raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        let H = 3, I = 4
        let w = model.rnn.weights[0].data.scalars, bih = model.rnn.weights[2].data.scalars, bhh = model.rnn.weights[3].data.scalars
        // PyTorch's blocks i, f, g, o; ONNX's i, o, f, c (c is PyTorch's g).
        func blocks(_ v: [Float], _ size: Int) -> [Float] { [0, 3, 1, 2].flatMap { v[($0 * size)..<(($0 + 1) * size)] } }
        #expect(floats("rnn.W_l0") == blocks(w, H * I))
        #expect(floats("rnn.B_l0") == blocks(bih, H) + blocks(bhh, H))
        #expect(graph.initializers.first { $0.name == "rnn.W_l0" }?.dims == [1, 4 * H, I])
    }

    @Test func anOperationWithoutMappingStopsTheExportNamingIt() {
        let mystery = CustomFunction<Float>("mystery") { inputs in ([inputs[0]], { grads in [grads[0]] }) }
        let model = Classifier()
        #expect {
            try traceONNXModel(model, inputs: [.tensor("input", Tensor(zeros: [2, 5, 4]))], outputNames: ["y"]) { v in
                [mystery([model(v[0])])[0]]
            }
        } throws: { error in
            "\(error)".contains("'mystery' has no ONNX mapping")
        }
        #expect {
            try traceONNXModel(model, inputs: [.tensor("input", Tensor(zeros: [2, 5, 4]))], outputNames: ["y"]) { _ in
                [Variable(Tensor<Float>(ones: [2]))]
            }
        } throws: { error in
            "\(error)".contains("output 'y' does not depend on any input")
        }
    }

    @Test func arithmeticShapesAndReductionsMapToTheirOperators() throws {
        let w = Variable(Tensor<Float>(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6]), requiresGrad: true)
        final class Holder: Module { let w: Variable<Float>; init(_ w: Variable<Float>) { self.w = w } }
        let model = Holder(w)
        let onnx = try traceONNXModel(model, inputs: [.tensor("x", Tensor(zeros: [4, 3]))], outputNames: ["y", "z"]) { v in
            let a = (v[0].matmul(w) * 2 + 1).tanh()                       // [4, 2]
            let b = concat([a, (1 - a).sqrt()], axis: 1).reshaped(to: [4, 2, 2]).permuted([0, 2, 1])
            return [b.narrow(axis: 2, start: 1, length: 1).sum(axis: 2).softmax(axis: 1), a.mean()]
        }
        #expect(onnx.graph.nodes.map(\.opType) == ["MatMul", "Mul", "Add", "Tanh", "Sub", "Sqrt", "Concat", "Reshape", "Transpose",
                                                    "Slice", "ReduceSum", "Softmax", "ReduceMean"])
        #expect(onnx.graph.initializers.first?.name == "w")
        // The reshape keeps the dynamic batch: target [0, 2, 2].
        let reshape = onnx.graph.nodes[7]
        let target = onnx.graph.initializers.first { $0.name == reshape.inputs[1] }!
        #expect(target.rawData == [0, 2, 2].flatMap { littleEndianBytes(UInt64($0)) })
        #expect(onnx.graph.outputs.map(\.shape) == [[.param("batch"), .value(2)], []])
    }
}
