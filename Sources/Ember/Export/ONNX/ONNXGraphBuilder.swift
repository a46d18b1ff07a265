// MARK: - Building an ONNX graph from the tape

/// The tape value a variable holds: a leaf (by identity) or output `index` of a node.
enum TapeValue: Hashable {
    case leaf(ObjectIdentifier)
    case output(ObjectIdentifier, Int)
}

extension Variable {
    var tapeValue: TapeValue {
        node.map { .output(ObjectIdentifier($0), outputIndex) } ?? .leaf(ObjectIdentifier(self))
    }
}

typealias ONNXDim = ONNXValueInfo.Dimension

extension ONNXDim {
    /// A dimension that can change at run time (named or not).
    var isDynamic: Bool { if case .value = self { false } else { true } }
}

/// Turns the nodes reachable from a traced pass's outputs into an ONNX graph: names every value, adds
/// parameters and constants as initializers, and maps each node (ONNXOperators.swift,
/// ONNXRecurrent.swift). Alongside it keeps each value's dimensions with the symbols of the inputs'
/// dynamic axes, so shapes written into the graph (reshape targets, expansions) stay dynamic where
/// they can.
final class ONNXGraphBuilder<Scalar: TensorScalar> {
    var graph = ONNXGraph(name: "ember")
    let elementType: ONNXDataType = Scalar.self == Double.self ? .double : .float
    /// ONNX names of tape values already named.
    var names: [TapeValue: String] = [:]
    /// Dimensions of named values (symbolic where they derive from an input's dynamic axis).
    var dims: [String: [ONNXDim]] = [:]
    let parameterNames: [ObjectIdentifier: String]
    var inputNames: [ObjectIdentifier: String] = [:]
    /// The `.lengths` input, if any.
    var lengthsInput: String?
    /// `.indices` inputs: name and example values.
    var indicesInputs: [(name: String, values: [Int])] = []
    /// `.indices` inputs of a `Tensor<Int>` and `.mask` inputs: name and example.
    var indexTensorInputs: [(name: String, example: Tensor<Int>)] = []
    var maskInputs: [(name: String, example: Tensor<Bool>)] = []
    /// The comparisons noted during the trace (masks computed from variables).
    var comparisons = ComparisonTrace()
    /// Names already given to masks and index tensors (by storage identity and shape).
    var maskNames: [MaskKey: String] = [:]
    /// Per attention mask (by trace identity): the boolean mask `[B, Hm, Lm, S]` after fully masked
    /// rows are unmasked, and the rows' keep factor (1, or 0 for a fully masked row).
    var attentionMasks: [ObjectIdentifier: (masked: String, keep: String?)] = [:]
    private var counter = 0
    private var int64Constants: [[Int]: String] = [:]

    init(parameters: [(name: String, parameter: Variable<Scalar>)], inputs: [ONNXInput<Scalar>], variables: [Variable<Scalar>]) {
        parameterNames = Dictionary(parameters.map { (ObjectIdentifier($0.parameter), $0.name) }, uniquingKeysWith: { a, _ in a })
        var next = variables.makeIterator()
        for input in inputs {
            let symbols = input.dynamicAxes
            func shape(_ s: [Int]) -> [ONNXDim] { s.indices.map { symbols[$0].map(ONNXDim.param) ?? .value(s[$0]) } }
            switch input.kind {
            case .tensor(let t):
                inputNames[ObjectIdentifier(next.next()!)] = input.name
                declareInput(input.name, elementType, shape(t.shape))
            case .lengths(let l):
                lengthsInput = input.name
                declareInput(input.name, .int32, shape([l.count]))
            case .indices(let i):
                indicesInputs.append((input.name, i))
                declareInput(input.name, .int64, shape([i.count]))
            case .indexTensor(let t):
                indexTensorInputs.append((input.name, t))
                declareInput(input.name, .int64, shape(t.shape))
            case .mask(let m):
                maskInputs.append((input.name, m))
                declareInput(input.name, .bool, shape(m.shape))
            }
        }
    }

    private func declareInput(_ name: String, _ type: ONNXDataType, _ shape: [ONNXDim]) {
        graph.inputs.append(ONNXValueInfo(name: name, elementType: type, shape: shape))
        dims[name] = shape
    }

    // MARK: Names, constants and nodes

    /// A new value name.
    func fresh(_ base: String) -> String {
        counter += 1
        return "\(base)_\(counter)"
    }

    /// The ONNX name of `v`: an input, a parameter or constant (added as an initializer the first time),
    /// or the output of a node already mapped.
    func name(of v: Variable<Scalar>) -> String {
        if let n = names[v.tapeValue] { return n }
        require(v.node == nil, "exportONNX: a node's output was used before the node was mapped")
        let id = ObjectIdentifier(v)
        let n: String
        if let input = inputNames[id] {
            n = input
        } else {
            n = parameterNames[id] ?? fresh("constant")
            graph.initializers.append(ONNXTensor(name: n, v.data))
            dims[n] = v.shape.map { .value($0) }
        }
        names[v.tapeValue] = n
        return n
    }

    /// The dimensions of `v` (symbolic where known).
    func dims(of v: Variable<Scalar>) -> [ONNXDim] {
        dims[name(of: v)] ?? v.shape.map { .value($0) }
    }

    /// A constant of the model's scalar type, shape `[]`.
    func scalarConstant(_ value: Double) -> String {
        let n = fresh("scalar")
        graph.initializers.append(ONNXTensor(name: n, Tensor<Scalar>(Scalar(value))))
        return n
    }

    /// An int64 constant `[values.count]` (shared between nodes that use the same values).
    func int64Constant(_ values: [Int]) -> String {
        if let n = int64Constants[values] { return n }
        let n = fresh("ints")
        graph.initializers.append(ONNXTensor(name: n, dims: [values.count], int64: values))
        int64Constants[values] = n
        return n
    }

    /// A constant initializer with `tensor`'s values under `name`.
    func initializer(_ name: String, _ tensor: Tensor<Scalar>) -> String {
        graph.initializers.append(ONNXTensor(name: name, tensor))
        return name
    }

    /// Appends a node; returns its output names (`outputs`, or new ones).
    @discardableResult
    func add(_ op: String, _ inputs: [String], outputs: [String]? = nil, count: Int = 1, _ attributes: [ONNXAttribute] = []) -> [String] {
        let outs = outputs ?? (0..<count).map { _ in fresh(op) }
        counter += 1
        graph.nodes.append(ONNXNode(opType: op, inputs: inputs, outputs: outs, name: "\(op)_\(counter)", attributes: attributes))
        return outs
    }

    /// Appends a one-output node; returns its output's name.
    func add1(_ op: String, _ inputs: [String], output: String? = nil, _ attributes: [ONNXAttribute] = []) -> String {
        add(op, inputs, outputs: output.map { [$0] }, attributes)[0]
    }

    // MARK: The walk

    /// Maps every node reachable from `outputs` in tape order and declares the graph's outputs.
    func build(outputs: [Variable<Scalar>], names outputNames: [String]) throws {
        var nodes: [ObjectIdentifier: Node<Scalar>] = [:]
        var used: [ObjectIdentifier: [Int: Variable<Scalar>]] = [:]
        var seen = Set<ObjectIdentifier>()
        var stack = outputs
        while let v = stack.popLast() {
            guard seen.insert(ObjectIdentifier(v)).inserted, let node = v.node else { continue }
            let id = ObjectIdentifier(node)
            used[id, default: [:]][v.outputIndex] = v
            if nodes[id] == nil {
                nodes[id] = node
                stack.append(contentsOf: node.inputs)
                stack.append(contentsOf: comparisonOperands(of: node))
            }
        }
        for (v, n) in zip(outputs, outputNames) where v.node != nil && names[v.tapeValue] == nil {
            names[v.tapeValue] = n
        }
        for node in nodes.values.sorted(by: { $0.sequence < $1.sequence }) {
            try emit(node, outputs: used[ObjectIdentifier(node)] ?? [:])
        }
        for (v, n) in zip(outputs, outputNames) {
            let source = name(of: v)
            if source != n {
                if v.node == nil && inputNames[ObjectIdentifier(v)] == nil {
                    throw ONNXExportError("exportONNX: output '\(n)' does not depend on any input (it is a constant)")
                }
                add("Identity", [source], outputs: [n])
                dims[n] = dims[source]
            }
            graph.outputs.append(ONNXValueInfo(name: n, elementType: elementType, shape: dims[n] ?? v.shape.map { .value($0) }))
        }
    }

    /// The name a node's output `index` gets: the graph output's name if it is one, else a new name.
    func outputName(_ node: Node<Scalar>, _ index: Int, _ op: String) -> String {
        let key = TapeValue.output(ObjectIdentifier(node), index)
        if let n = names[key] { return n }
        let n = fresh(op)
        names[key] = n
        return n
    }
}
