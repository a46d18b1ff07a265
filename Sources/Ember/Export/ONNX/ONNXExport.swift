import Foundation

// MARK: - Exporting a model to ONNX

/// Why `exportONNX` could not write a model: an operation without an ONNX mapping (named), an output
/// that is not computed from the inputs, inputs or outputs that do not fit, or the file.
public struct ONNXExportError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, naming the operation, input or output concerned.
    public var description: String

    /// An error with `description`.
    public init(_ description: String) { self.description = description }
}

/// One input of an exported graph, with the example value the model is traced on.
///
/// Five kinds: a tensor of the model's scalar type (`tensor`), the lengths of the sequences of a
/// ragged batch (`lengths`: int32 `[batch]`, ONNX's `sequence_lens`, passed to every recurrent layer),
/// row indices for an embedding lookup (`indices`: int64 `[N]`), an index tensor for `gather` or
/// `indexSelect` (`indices` with a `Tensor<Int>`: int64 of its shape), and a boolean mask
/// (`mask`: a key-padding or attention mask, the condition of `select(where:)` or `maskedFill`).
/// Axes named in `dynamicAxes` become symbolic dimensions (`dim_param`) that may take any size at
/// run time.
public struct ONNXInput<Scalar: TensorScalar> {
    enum Kind {
        case tensor(Tensor<Scalar>), lengths([Int]), indices([Int]), indexTensor(Tensor<Int>), mask(Tensor<Bool>)
    }
    /// The graph input's name.
    public let name: String
    let kind: Kind
    let dynamicAxes: [Int: String]

    /// A tensor input. `dynamicAxes` defaults to `[0: "batch"]`, plus `1: "sequence"` for a tensor of
    /// rank 3 or more (a batch-first sequence; name `[0: "sequence", 1: "batch"]` for a
    /// sequence-first one).
    public static func tensor(_ name: String, _ example: Tensor<Scalar>, dynamicAxes: [Int: String]? = nil) -> ONNXInput {
        ONNXInput(name: name, kind: .tensor(example), dynamicAxes: dynamicAxes ?? defaultAxes(rank: example.rank))
    }

    /// The sequence lengths of a ragged batch (each in `1...T`): an int32 input `[batch]` given to
    /// every recurrent layer of the graph as `sequence_lens`. The forward closure passes the same
    /// `example` array as `lengths:` to the layers.
    public static func lengths(_ name: String, _ example: [Int], dynamicAxis: String = "batch") -> ONNXInput {
        ONNXInput(name: name, kind: .lengths(example), dynamicAxes: [0: dynamicAxis])
    }

    /// Row indices for an embedding lookup: an int64 input `[N]`. Every lookup whose indices equal
    /// `example` reads this input; the forward closure passes `example` to the embedding.
    public static func indices(_ name: String, _ example: [Int], dynamicAxis: String = "tokens") -> ONNXInput {
        ONNXInput(name: name, kind: .indices(example), dynamicAxes: [0: dynamicAxis])
    }

    /// An index tensor for `gather(axis:indices:)` or `indexSelect(axis:indices:)`: an int64 input
    /// of `example`'s shape. A node whose indices are `example` (the same tensor, or failing that
    /// equal values and shape) reads this input; the forward closure passes `example` to the op.
    /// `dynamicAxes` defaults as for `tensor`.
    public static func indices(_ name: String, _ example: Tensor<Int>, dynamicAxes: [Int: String]? = nil) -> ONNXInput {
        ONNXInput(name: name, kind: .indexTensor(example), dynamicAxes: dynamicAxes ?? defaultAxes(rank: example.rank))
    }

    /// A boolean mask input of `example`'s shape: a `MultiheadAttention` key-padding mask `[B, S]`
    /// or attention mask, or the condition of `select(where:)` / `maskedFill`. Every use of
    /// `example` (the same tensor, or failing that equal values and shape) reads this input; the
    /// forward closure passes `example`. `dynamicAxes` defaults to `[0: "batch", 1: "sequence"]`
    /// for rank 2 or more (a key-padding mask), `[0: "batch"]` for rank 1; name an attention
    /// mask's `[0: "sequence", 1: "sequence"]` yourself.
    public static func mask(_ name: String, _ example: Tensor<Bool>, dynamicAxes: [Int: String]? = nil) -> ONNXInput {
        let axes = dynamicAxes ?? (example.rank >= 2 ? [0: "batch", 1: "sequence"] : (example.rank == 1 ? [0: "batch"] : [:]))
        return ONNXInput(name: name, kind: .mask(example), dynamicAxes: axes)
    }

    static func defaultAxes(rank: Int) -> [Int: String] {
        rank >= 3 ? [0: "batch", 1: "sequence"] : (rank >= 1 ? [0: "batch"] : [:])
    }
}

/// The ONNX operator set the exporter writes (ONNX 1.12 and later read it) and its IR version.
let onnxOpsetVersion = 17, onnxIRVersion = 8

/// Writes `model` as an ONNX file (opset 17) by tracing one forward pass on the tape.
///
/// `forward` receives one variable per `.tensor` input (in order; lengths and indices inputs are
/// passed to the layers as the same example arrays) and returns the outputs, named `outputNames`.
/// It runs once, in evaluation mode (dropout off; the modules' modes are restored afterwards), with
/// recording on; each recorded operation becomes ONNX nodes: Linear as Gemm (or MatMul and Add),
/// the fused recurrent layers as ONNX's RNN, LSTM and GRU operators (gates and biases reordered from
/// PyTorch's layout, stacked layers as consecutive operators, `sequence_lens` from a `.lengths`
/// input), embedding lookups as Gather, Conv1d as Conv, LayerNorm as LayerNormalization,
/// MultiheadAttention as its projections, matmuls and softmax with its masks rebuilt from `.mask`
/// inputs, and the elementwise, shape, subscript, reduction, index and softmax operations as their
/// ONNX counterparts (gelu in its erf form; `select(where:)` and `maskedFill` with the comparisons
/// of variables, and the `.&`, `.|`, `.^`, `.!` of masks, that computed their masks, noted while
/// the pass is traced). Parameters become
/// initializers named by `namedParameters()` (a recurrent layer's, converted, as `PREFIX.W_l0`,
/// `.R_l0`, `.B_l0`); other tensors the pass used that do not depend on an input become constants
/// (a mask built from plain tensors).
///
/// Throws `ONNXExportError` naming the first operation that has no ONNX mapping (a `CustomFunction`,
/// a loss, `padSequence`, an operation added after the exporter) or an output that does not depend
/// on the inputs, and
/// `EmberIOError` if the file cannot be written (atomically: a failed export leaves no partial file).
///
/// ```swift
/// try exportONNX(model, inputs: [.tensor("input", x)], outputNames: ["logits"],
///                to: URL(fileURLWithPath: "model.onnx")) { v in [model(v[0])] }
/// ```
public func exportONNX<M: Module>(_ model: M, inputs: [ONNXInput<M.Scalar>], outputNames: [String], to url: URL,
                                  _ forward: ([Variable<M.Scalar>]) -> [Variable<M.Scalar>]) throws {
    let onnx = try traceONNXModel(model, inputs: inputs, outputNames: outputNames, forward)
    try writeAtomically(Data(onnx.serialized()), to: url)
}

/// Writes a one-input, one-output `model` as an ONNX file: graph input `"input"` (the example's
/// shape, axis 0 named `batch` and, for rank 3 or more, axis 1 `sequence`, unless `dynamicAxes` says
/// otherwise) and output `"output"`. See `exportONNX(_:inputs:outputNames:to:_:)`.
///
/// ```swift
/// try exportONNX(classifier, exampleInput: images, to: URL(fileURLWithPath: "classifier.onnx"))
/// ```
public func exportONNX<M: Layer>(_ model: M, exampleInput: Tensor<M.Scalar>, to url: URL,
                                 dynamicAxes: [Int: String]? = nil) throws {
    try exportONNX(model, inputs: [.tensor("input", exampleInput, dynamicAxes: dynamicAxes)],
                   outputNames: ["output"], to: url) { [model($0[0])] }
}

/// The traced model (`exportONNX` without the file).
func traceONNXModel<M: Module>(_ model: M, inputs: [ONNXInput<M.Scalar>], outputNames: [String],
                               _ forward: ([Variable<M.Scalar>]) -> [Variable<M.Scalar>]) throws -> ONNXModel {
    let allNames = inputs.map(\.name) + outputNames
    guard Set(allNames).count == allNames.count, !allNames.contains("") else {
        throw ONNXExportError("exportONNX: input and output names must be distinct and non-empty, got inputs \(inputs.map(\.name)) and outputs \(outputNames)")
    }
    let settable = model.namedModules().compactMap { $0.module as? TrainingModeSettable }
    let modes = settable.map(\.isTraining)
    model.eval()
    defer { for (m, mode) in zip(settable, modes) { m.isTraining = mode } }
    var variables: [Variable<M.Scalar>] = []
    for input in inputs {
        if case .tensor(let t) = input.kind { variables.append(Variable(t, requiresGrad: true)) }
    }
    let (outputs, comparisons) = ComparisonTrace.recording { withGradEnabled { forward(variables) } }
    guard outputs.count == outputNames.count else {
        throw ONNXExportError("exportONNX: the forward pass returned \(outputs.count) outputs for \(outputNames.count) output names")
    }
    let builder = ONNXGraphBuilder<M.Scalar>(parameters: model.namedParameters(), inputs: inputs, variables: variables)
    builder.comparisons = comparisons
    try builder.build(outputs: outputs, names: outputNames)
    return ONNXModel(irVersion: onnxIRVersion, opsetVersion: onnxOpsetVersion, producerName: "Ember",
                     producerVersion: "1", docString: "Exported by Ember's exportONNX from one traced forward pass",
                     graph: builder.graph)
}
