import Synchronization

// MARK: - Tape nodes

/// Increasing sequence numbers: a node is always numbered after the nodes of its inputs, so walking
/// nodes in decreasing sequence order is a topological order of the graph.
let nodeSequence = Atomic<Int>(0)
/// Nodes alive right now (for leak tests).
let liveNodeCounter = Atomic<Int>(0)

/// One recorded operation: its input edges and the backward rule with the values it saved.
///
/// Ownership runs one way: an output variable holds its node, the node holds its inputs and its
/// saved tensors, and nothing holds outputs. The backward rule receives the output gradient as an
/// argument; it never captures the output variable.
final class Node<Scalar: TensorScalar> {
    /// The backward rule: output gradient in, one gradient per input out (`nil` where an input
    /// needs none). Set to `nil` when the graph is released after `backward()`.
    typealias BackwardRule = (Tensor<Scalar>) -> [Tensor<Scalar>?]

    let sequence: Int
    let name: StaticString
    private(set) var inputs: [Variable<Scalar>]
    var rule: BackwardRule?
    /// The output's shape, to check incoming gradients.
    let shape: [Int]

    // Backward-pass bookkeeping.
    var pending: Tensor<Scalar>?
    var visitMark = 0

    init(name: StaticString, inputs: [Variable<Scalar>], shape: [Int], rule: @escaping BackwardRule) {
        self.sequence = nodeSequence.wrappingAdd(1, ordering: .relaxed).newValue
        self.name = name
        self.inputs = inputs
        self.shape = shape
        self.rule = rule
        liveNodeCounter.wrappingAdd(1, ordering: .relaxed)
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
