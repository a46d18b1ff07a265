import Synchronization

// MARK: - Tape nodes

/// Increasing sequence numbers: a node is always numbered after the nodes of its inputs, so walking
/// nodes in decreasing sequence order is a topological order of the graph.
let nodeSequence = Atomic<Int>(0)
/// Nodes alive right now (for leak tests).
let liveNodeCounter = Atomic<Int>(0)

/// One recorded operation: its input edges and the backward rule with the values it saved.
///
/// A node has one output or several (a recurrent layer's output, h_n and c_n); each result variable
/// knows its node and its output index. Ownership runs one way: an output variable holds its node,
/// the node holds its inputs and its saved tensors, and nothing holds outputs. The backward rule
/// receives the outputs' gradients as arguments; it never captures an output variable.
final class Node<Scalar: TensorScalar> {
    /// The backward rule of a one-output node: output gradient in, one gradient per input out (`nil`
    /// where an input needs none).
    typealias BackwardRule = (Tensor<Scalar>) -> [Tensor<Scalar>?]
    /// The backward rule of a node with several outputs: every output's gradient at once (`nil` for an
    /// output the loss did not use, meaning zero; at least one is given), one gradient per input out.
    typealias MultiOutputRule = ([Tensor<Scalar>?]) -> [Tensor<Scalar>?]

    enum Rule {
        case single(BackwardRule)
        case multiple(MultiOutputRule)
    }

    let sequence: Int
    let name: StaticString
    private(set) var inputs: [Variable<Scalar>]
    /// Set to `nil` when the graph is released after `backward()`.
    var rule: Rule?
    let outputCount: Int
    /// The operation's arguments that its inputs' and outputs' shapes do not determine, for code that
    /// reads the tape as a graph (`exportONNX`); `.none` for most operations.
    let attributes: NodeAttributes

    // Backward-pass bookkeeping: the gradients summed so far for output 0 and for the others.
    var pending: Tensor<Scalar>?
    var pendingOthers: [Tensor<Scalar>?]
    var visitMark = 0

    init(name: StaticString, inputs: [Variable<Scalar>], attributes: NodeAttributes = .none, rule: @escaping BackwardRule) {
        self.sequence = nodeSequence.wrappingAdd(1, ordering: .relaxed).newValue
        self.name = name
        self.inputs = inputs
        self.attributes = attributes
        self.rule = .single(rule)
        self.outputCount = 1
        self.pendingOthers = []
        liveNodeCounter.wrappingAdd(1, ordering: .relaxed)
    }

    init(name: StaticString, inputs: [Variable<Scalar>], outputCount: Int, attributes: NodeAttributes = .none,
         rule: @escaping MultiOutputRule) {
        self.sequence = nodeSequence.wrappingAdd(1, ordering: .relaxed).newValue
        self.name = name
        self.inputs = inputs
        self.attributes = attributes
        self.rule = .multiple(rule)
        self.outputCount = outputCount
        self.pendingOthers = Array(repeating: nil, count: outputCount - 1)
        liveNodeCounter.wrappingAdd(1, ordering: .relaxed)
    }

    /// Adds `gradient` to what output `index` has received in this backward pass.
    func accumulate(_ gradient: Tensor<Scalar>, output index: Int) {
        if index == 0 {
            if pending == nil { pending = gradient } else { pending! += gradient }
        } else {
            if pendingOthers[index - 1] == nil { pendingOthers[index - 1] = gradient } else { pendingOthers[index - 1]! += gradient }
        }
    }

    /// Takes the gradients received (`nil` when none was), leaving none.
    func takePending() -> [Tensor<Scalar>?]? {
        defer { pending = nil; for i in pendingOthers.indices { pendingOthers[i] = nil } }
        guard pending != nil || pendingOthers.contains(where: { $0 != nil }) else { return nil }
        return [pending] + pendingOthers
    }

    /// Releases the saved values and the input edges (used when the whole graph is torn down).
    func releaseInputs() -> [Variable<Scalar>] {
        defer { inputs = [] }
        return inputs
    }

    deinit {
        liveNodeCounter.wrappingSubtract(1, ordering: .relaxed)
        Node.tearDown(self)
    }

    /// Tears long chains down iteratively: freeing node by node through nested deinits would recurse
    /// once per operation and overflow the stack on long unrolled graphs. (A specialised static
    /// function, because a generic class's deinit runs unspecialised.)
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func tearDown(_ node: Node) {
        guard !node.inputs.isEmpty else { return }
        var stack = node.inputs
        node.inputs = []
        while var variable = stack.popLast() {
            guard isKnownUniquelyReferenced(&variable), var inner = variable.node else { continue }
            variable.node = nil
            if isKnownUniquelyReferenced(&inner) { stack.append(contentsOf: inner.releaseInputs()) }
        }
    }
}

/// The number of tape nodes alive in the process: graphs that are still referenced by some variable.
/// A training loop that keeps this flat does not leak graphs.
public var liveGraphNodeCount: Int { liveNodeCounter.load(ordering: .relaxed) }
