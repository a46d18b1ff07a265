import Foundation
import Testing
@testable import Ember

/// The building blocks' mappings without ONNX Runtime: the operators each op becomes, their
/// attributes and constants, masks and comparisons as graph values, dynamic reshapes, and the
/// operations that deliberately stop the export. ONNX Runtime's verdict on the same mappings is
/// ExamplesTests' ONNXRuntimeTests (encoder block and building-block models).
@Suite struct ONNXBuildingBlockExportTests {
    final class Holder: Module {
        let w = Variable(Tensor<Float>(shape: [4], scalars: [0.5, -1, 2, 0]), requiresGrad: true)
    }

    func trace(_ inputs: [ONNXInput<Float>], _ outputs: Int = 1, model: Holder = Holder(),
               _ forward: ([Variable<Float>]) -> [Variable<Float>]) throws -> ONNXGraph {
        try traceONNXModel(model, inputs: inputs, outputNames: (0..<outputs).map { "y\($0)" }, forward).graph
    }

    func ints(_ graph: ONNXGraph, _ name: String) -> [Int]? {
        graph.initializers.first { $0.name == name }.map { t in
            stride(from: 0, to: t.rawData.count, by: 8).map { i in
                Int(Int64(bitPattern: t.rawData[i..<(i + 8)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }))
            }
        }
    }

    func attribute(_ node: ONNXNode, _ name: String) -> ONNXAttribute.Value? {
        node.attributes.first { $0.name == name }?.value
    }

    @Test func mathOperationsMapToOperators() throws {
        let model = Holder()
        let graph = try trace([.tensor("x", Tensor(zeros: [2, 5, 4]))], 8, model: model) { v in
            let x = v[0]
            return [x.abs(), maximum(x, model.w), minimum(x, model.w), x.min(axis: 1, keepDims: true), x.cumsum(axis: -1),
                    x.norm(axis: 2), x.norm(), x.leakyRelu(negativeSlope: 0.2)]
        }
        #expect(graph.nodes.map(\.opType) == ["Abs", "Max", "Min", "ReduceMin", "CumSum", "ReduceL2", "ReduceL2", "LeakyRelu"])
        #expect(attribute(graph.nodes[3], "axes") == .ints([1]) && attribute(graph.nodes[3], "keepdims") == .int(1))
        #expect(attribute(graph.nodes[7], "alpha") == .float(0.2))
        #expect(graph.initializers.first { $0.name == graph.nodes[4].inputs[1] }?.dims == [])   // CumSum's axis, a scalar
        #expect(ints(graph, graph.nodes[4].inputs[1]) == [2])
        #expect(graph.outputs[3].shape == [.param("batch"), .value(1), .value(4)])
        #expect(graph.outputs[5].shape == [.param("batch"), .param("sequence")])
        #expect(graph.outputs[6].shape == [])
    }

    @Test func composedMathFollowsEmbersFormulas() throws {
        let graph = try trace([.tensor("x", Tensor(zeros: [2, 5, 4]))], 5) { v in
            let x = v[0]
            return [x.gelu(), x.gelu(approximate: .tanh), x.softplus(beta: 2, threshold: 3), x.logSumExp(axis: 1), x.variance(axis: 1)]
        }
        let ops = graph.nodes.map(\.opType)
        // gelu exact: x·(1/√2) → Erf → +1, times 0.5·x (opset 17 has no Gelu).
        #expect(Array(ops[0..<5]) == ["Mul", "Erf", "Mul", "Add", "Mul"])
        #expect(ops.contains("Tanh") && ops.contains("Softplus") && ops.contains("IsInf"))
        // variance over the dynamic sequence axis divides by (its size read from the shape) - 1.
        #expect(Array(ops.suffix(9)) == ["ReduceMean", "Sub", "Mul", "ReduceSum", "Shape", "Gather", "Cast", "Sub", "Div"])
        #expect(graph.outputs[4].shape == [.param("batch"), .value(4)])
        let fixed = try trace([.tensor("x", Tensor(zeros: [2, 5, 4]))]) { v in [v[0].variance(axis: 2, unbiased: false)] }
        #expect(!fixed.nodes.map(\.opType).contains("Shape"))            // a fixed axis divides by a constant
    }

    @Test func comparisonsFeedingWhereAndMaskedFillBecomeComparisons() throws {
        let drop = Tensor<Bool>(shape: [2, 3], scalars: [true, false, false, false, true, false])
        let constant = Tensor<Bool>(shape: [3], scalars: [false, true, false])
        let graph = try trace([.tensor("x", Tensor(zeros: [2, 3])), .mask("drop", drop)], 4) { v in
            let x = v[0], y = x * 2
            return [select(where: x .> 0, x, y), y.maskedFill(x .!= y, value: -1), x.maskedFill(drop, value: 0),
                    x.maskedFill(constant, value: .infinity)]
        }
        let ops = graph.nodes.map(\.opType)
        #expect(ops == ["Mul", "Greater", "Where", "Equal", "Not", "Where", "Where", "Where"])
        #expect(graph.nodes[1].inputs[0] == "x")
        #expect(graph.nodes[6].inputs[0] == "drop")
        #expect(graph.inputs.last == ONNXValueInfo(name: "drop", elementType: .bool, shape: [.param("batch"), .param("sequence")]))
        let mask = graph.initializers.first { $0.name == graph.nodes[7].inputs[0] }
        #expect(mask?.dataType == .bool && mask?.rawData == [0, 1, 0])
        #expect(ComparisonTrace.current == nil)                            // nothing is noted outside a trace
    }

    @Test func masksCombinedWithLogicalOperatorsStayComputed() throws {
        let drop = Tensor<Bool>(shape: [2, 3], scalars: [true, false, false, false, true, false])
        let graph = try trace([.tensor("x", Tensor(zeros: [2, 3])), .mask("drop", drop)], 2) { v in
            let x = v[0], y = x * 2
            let band = (x .> -1) .& .!(y .>= 1)
            return [select(where: band, x, y), y.maskedFill(drop .| (x .< 0) .^ band, value: 0)]
        }
        #expect(graph.nodes.map(\.opType) == ["Mul", "Greater", "GreaterOrEqual", "Not", "And", "Where", "Less", "Or", "Xor", "Where"])
        #expect(graph.nodes[7].inputs[0] == "drop" && graph.nodes[8].inputs[1] == graph.nodes[4].outputs[0])
        #expect(!graph.initializers.contains { $0.dataType == .bool })
        // A mask operation outside a trace notes nothing.
        _ = drop .& drop
        #expect(ComparisonTrace.current == nil)
    }

    @Test func gatherAndIndexSelectReadIndexInputsOrConstants() throws {
        let index = Tensor<Int>(shape: [2, 3, 1], scalars: [0, 3, 1, 2, 2, 0])
        let graph = try trace([.tensor("x", Tensor(zeros: [2, 3, 4])), .indices("index", index)], 2) { v in
            [v[0].gather(axis: -1, indices: index), v[0].indexSelect(axis: 2, indices: Tensor<Int>([3, 1]))]
        }
        #expect(graph.nodes.map(\.opType) == ["GatherElements", "Gather"])
        #expect(graph.nodes[0].inputs == ["x", "index"] && attribute(graph.nodes[0], "axis") == .int(2))
        #expect(ints(graph, graph.nodes[1].inputs[1]) == [3, 1])
        #expect(graph.outputs[0].shape == [.param("batch"), .param("sequence"), .value(1)])   // the index input's axes
        #expect(graph.outputs[1].shape == [.param("batch"), .param("sequence"), .value(2)])
    }

    @Test func subscriptsBecomeSliceWithStepsAndNegativeIndices() throws {
        let graph = try trace([.tensor("x", Tensor(zeros: [2, 6, 4]))], 3) { v in
            [v[0][.., -1], v[0][.., .stride(2), 1..<3], v[0][.., (-3)...]]
        }
        #expect(graph.nodes.map(\.opType) == ["Slice", "Squeeze", "Slice", "Slice"])
        let last = graph.nodes[0].inputs.dropFirst().map { ints(graph, $0)! }
        #expect(last == [[-1], [Int.max], [1], [1]])                      // starts, ends, axes, steps
        #expect(ints(graph, graph.nodes[1].inputs[1]) == [1])
        let strided = graph.nodes[2].inputs.dropFirst().map { ints(graph, $0)! }
        #expect(strided == [[0, 1], [Int.max, 3], [1, 2], [2, 1]])
        #expect(graph.outputs.map(\.shape) == [[.param("batch"), .value(4)], [.param("batch"), .unknown, .value(2)],
                                                [.param("batch"), .unknown, .value(4)]])
    }

    @Test func attentionMasksAreRebuiltFromMaskInputs() throws {
        let mha = MultiheadAttention<Float>(embedDim: 4, numHeads: 2, batchFirst: true)
        let padding = Tensor<Bool>(shape: [2, 3], scalars: [false, false, true, false, false, false])
        let perHead = Tensor<Bool>(repeating: false, shape: [4, 3, 3])
        let graph = try traceONNXModel(mha, inputs: [.tensor("x", Tensor(zeros: [2, 3, 4])), .mask("padding", padding),
                                                     .mask("heads", perHead, dynamicAxes: [0: "batch_heads", 1: "sequence", 2: "sequence"])],
                                       outputNames: ["out"]) { v in
            [mha(v[0], v[0], v[0], keyPaddingMask: padding, needWeights: false, attnMask: perHead).0]
        }.graph
        let ops = graph.nodes.map(\.opType)
        #expect(ops.contains("Or") && ops.contains("ReduceMin") && ops.contains("And") && ops.contains("Softmax"))
        let unsqueeze = graph.nodes.first { $0.opType == "Unsqueeze" && $0.inputs[0] == "padding" }
        #expect(unsqueeze.map { ints(graph, $0.inputs[1]) } == [1, 2])
        // [B·H, L, S] → [B, H, L, S] with B, L and S dynamic: the target is computed from the shape.
        let reshape = graph.nodes.first { $0.opType == "Reshape" && $0.inputs[0] == "heads" }
        #expect(reshape != nil && graph.nodes.contains { $0.opType == "Concat" && $0.outputs == [reshape!.inputs[1]] })
        #expect(ops.firstIndex(of: "Softmax")! < ops.lastIndex(of: "Mul")!)  // fully masked rows zeroed after the softmax
        #expect(!graph.initializers.contains { $0.dataType == .bool })    // both masks are inputs
    }

    @Test func meanOverAnAxisIsOneNodeReadingTheAxisAtRunTime() throws {
        let graph = try trace([.tensor("x", Tensor(zeros: [2, 5, 4]))]) { v in [v[0].mean(axis: 1)] }
        #expect(graph.nodes.map(\.opType) == ["ReduceMean"])
        #expect(attribute(graph.nodes[0], "axes") == .ints([1]) && attribute(graph.nodes[0], "keepdims") == .int(0))
        // Its gradient is the sum's spread gradient over n (checked numerically), values as before.
        var g = SeededGenerator(seed: 2)
        let x = Tensor<Double>(randomNormal: [3, 4, 2], generator: &g)
        for keep in [false, true] {
            let result = gradcheck(inputs: [x]) { v in (v[0].mean(axis: -2, keepDims: keep) * v[0].sum(axis: 1, keepDims: keep)).sum() }
            #expect(result.passed, "\(result)")
        }
        #expect(Variable(x).mean(axis: 1).data == x.sum(axis: 1) * 0.25)
    }

    @Test func anUnbatchedKeyPaddingMaskReadsTheMaskInput() throws {
        let mha = MultiheadAttention<Float>(embedDim: 4, numHeads: 2)
        let padding = Tensor<Bool>([false, false, true])
        let graph = try traceONNXModel(mha, inputs: [.tensor("x", Tensor(zeros: [3, 4]), dynamicAxes: [0: "sequence"]),
                                                     .mask("padding", padding, dynamicAxes: [0: "sequence"])],
                                       outputNames: ["out"]) { v in [mha(v[0], v[0], v[0], keyPaddingMask: padding).0] }.graph
        // [S] seen as [1, S]: the input reshaped to [1, -1], not a constant.
        let reshape = graph.nodes.first { $0.opType == "Reshape" && $0.inputs[0] == "padding" }
        #expect(reshape.map { ints(graph, $0.inputs[1]) } == [1, -1])
        #expect(!graph.initializers.contains { $0.dataType == .bool })
    }

    @Test func reshapesKeepSeveralDynamicAxes() throws {
        let graph = try trace([.tensor("x", Tensor(zeros: [2, 6, 4]))], 2) { v in
            [v[0].reshaped(to: [12, 4]), v[0].reshaped(to: [2, 6, 2, 2]).permuted([0, 2, 1, 3]).reshaped(to: [4, 6, 2])]
        }
        #expect(ints(graph, graph.nodes[0].inputs[1]) == [-1, 4])
        #expect(ints(graph, graph.nodes[1].inputs[1]) == [0, 0, 2, 2])
        let last = graph.nodes.last!
        #expect(last.opType == "Reshape" && graph.nodes.contains { $0.opType == "Concat" && $0.outputs == [last.inputs[1]] })
        #expect(graph.outputs[1].shape == [.unknown, .param("sequence"), .value(2)])
    }

    /// Every operation that records a node maps, or stops the export naming it: these do not map on
    /// purpose (training losses, padSequence's tensor gluing, user functions).
    @Test func operationsThatDeliberatelyDoNotMapStopNamingThemselves() {
        let target = Tensor<Float>(repeating: 0.5, shape: [2, 3])
        let unmapped: [(String, (Variable<Float>) -> Variable<Float>)] = [
            ("crossEntropy", { CrossEntropyLoss()($0, [0, 2]) }),
            ("nllLoss", { NLLLoss()($0.logSoftmax(axis: 1), [1, 0]) }),
            ("bceLoss", { BCELoss()($0.sigmoid(), target) }),
            ("bceWithLogitsLoss", { BCEWithLogitsLoss()($0, target) }),
            ("l1Loss", { L1Loss()($0, target) }),
            ("smoothL1Loss", { SmoothL1Loss()($0, target) }),
            ("huberLoss", { HuberLoss()($0, target) }),
            ("padSequence", { padSequence([$0, $0 * 2]).padded }),
            ("mystery", { CustomFunction<Float>("mystery") { inputs in ([inputs[0]], { grads in [grads[0]] }) }([$0])[0] }),
        ]
        for (name, op) in unmapped {
            #expect {
                try trace([.tensor("x", Tensor(zeros: [2, 3]))]) { v in [op(v[0])] }
            } throws: { error in
                "\(error)".contains("'\(name)' has no ONNX mapping")
            }
        }
    }

    @Test func boolTensorsAndAttributesStayCheap() {
        var w = ProtobufWriter()
        ONNXTensor(name: "m", Tensor<Bool>(shape: [3], scalars: [true, false, true])).encode(&w)
        // dims 3; data_type 9 (BOOL); name "m"; raw_data 01 00 01.
        #expect(w.bytes == [0x08, 0x03, 0x10, 0x09, 0x42, 0x01, 0x6D, 0x4A, 0x03, 0x01, 0x00, 0x01])
        // The new attribute cases fit in the payload the existing ones already had (an `Any`).
        #expect(MemoryLayout<NodeAttributes>.size <= MemoryLayout<Any>.size + 1)
    }
}
