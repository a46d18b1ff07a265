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
///
/// Cost per recorded operation matters at small shapes (`ember-bench ops`), so the first two inputs
/// are stored inline (no array per node), one- and two-input rules return their gradients without an
/// array, and the mutable fields skip the runtime's exclusivity bookkeeping: they are only touched by
/// the thread that records or runs backward through the graph, never through overlapping accesses.
final class Node<Scalar: TensorScalar> {
    /// The backward rule of a one-output node: output gradient in, one gradient per input out (`nil`
    /// where an input needs none).
    typealias BackwardRule = (Tensor<Scalar>) -> [Tensor<Scalar>?]
    /// The backward rule of a node with several outputs: every output's gradient at once (`nil` for an
    /// output the loss did not use, meaning zero; at least one is given), one gradient per input out.
    typealias MultiOutputRule = ([Tensor<Scalar>?]) -> [Tensor<Scalar>?]
    /// The backward rule of a one-input, one-output node: the input's gradient.
    typealias UnaryRule = (Tensor<Scalar>) -> Tensor<Scalar>
    /// The backward rule of a two-input, one-output node: both inputs' gradients (`nil` where none).
    typealias BinaryRule = (Tensor<Scalar>) -> (Tensor<Scalar>?, Tensor<Scalar>?)
    /// A one-input rule that captures nothing: the output gradient and the tensor the node saved in,
    /// the input's gradient out. The node keeps the saved tensor itself (PyTorch's saved variables),
    /// so recording allocates no closure context: one allocation of six less for `mul` at [1, 1]
    /// (BENCHMARKS.md, "The tape").
    typealias SavedUnaryRule = (Tensor<Scalar>, Tensor<Scalar>) -> Tensor<Scalar>
    /// A two-input rule that captures nothing: the output gradient, the two tensors the node saved,
    /// and whether each input needs a gradient; both inputs' gradients out (`nil` where none).
    typealias SavedBinaryRule = (Tensor<Scalar>, Tensor<Scalar>, Tensor<Scalar>, Bool, Bool) -> (Tensor<Scalar>?, Tensor<Scalar>?)

    enum Rule {
        case unary(UnaryRule)
        case binary(BinaryRule)
        /// The saved tensor is `savedFirst`.
        case savedUnary(SavedUnaryRule)
        /// The saved tensors are `savedFirst` and `savedSecond`; `needsFirst` and `needsSecond` say
        /// which inputs need gradients.
        case savedBinary(SavedBinaryRule)
        case single(BackwardRule)
        case multiple(MultiOutputRule)
    }

    let sequence: Int
    let name: StaticString
    /// Inputs 0 and 1 (`nil` past the input count, and once the graph is released).
    @exclusivity(unchecked) private(set) var first: Variable<Scalar>?
    @exclusivity(unchecked) private(set) var second: Variable<Scalar>?
    /// Inputs 2 and later.
    @exclusivity(unchecked) private(set) var rest: [Variable<Scalar>]
    /// Set to `nil` when the graph is released after `backward()`.
    @exclusivity(unchecked) var rule: Rule?
    /// The tensors a `.savedUnary` or `.savedBinary` rule reads (`nil` for other rules, and once the
    /// graph is released). Kept beside the rule rather than in its payload: a larger payload made
    /// every node's enum copies and destroys dearer (add at [1, 1]: 150 instructions more).
    @exclusivity(unchecked) var savedFirst: Tensor<Scalar>?
    @exclusivity(unchecked) var savedSecond: Tensor<Scalar>?
    /// Whether inputs 0 and 1 needed gradients when a `.savedBinary` node was recorded.
    private(set) var needsFirst = false, needsSecond = false
    let outputCount: Int
    /// The operation's arguments that its inputs' and outputs' shapes do not determine, for code that
    /// reads the tape as a graph (`exportONNX`); `.none` for most operations.
    private let storedAttributes: StoredAttributes
    var attributes: NodeAttributes { storedAttributes.value }

    // Backward-pass bookkeeping: the gradients summed so far for output 0 and for the others.
    @exclusivity(unchecked) var pending: Tensor<Scalar>?
    @exclusivity(unchecked) var pendingOthers: [Tensor<Scalar>?]
    @exclusivity(unchecked) var visitMark = 0

    /// The inputs in order (an array built on each call: for exporters and tests, not hot paths).
    var inputs: [Variable<Scalar>] {
        guard let first else { return [] }
        guard let second else { return [first] }
        return [first, second] + rest
    }

    @inline(__always)
    private init(name: StaticString, first: Variable<Scalar>?, second: Variable<Scalar>?, rest: [Variable<Scalar>],
                 outputCount: Int, attributes: StoredAttributes, rule: Rule) {
        self.sequence = nodeSequence.wrappingAdd(1, ordering: .relaxed).newValue
        self.name = name
        self.first = first
        self.second = second
        self.rest = rest
        self.storedAttributes = attributes
        self.rule = rule
        self.outputCount = outputCount
        self.pendingOthers = outputCount > 1 ? Array(repeating: nil, count: outputCount - 1) : []
        liveNodeCounter.wrappingAdd(1, ordering: .relaxed)
    }

    convenience init(name: StaticString, inputs: [Variable<Scalar>], attributes: NodeAttributes = .none, rule: @escaping BackwardRule) {
        self.init(name: name, first: inputs.first, second: inputs.count > 1 ? inputs[1] : nil,
                  rest: inputs.count > 2 ? Array(inputs[2...]) : [], outputCount: 1, attributes: StoredAttributes(attributes),
                  rule: .single(rule))
    }

    convenience init(name: StaticString, inputs: [Variable<Scalar>], outputCount: Int, attributes: NodeAttributes = .none,
                     rule: @escaping MultiOutputRule) {
        self.init(name: name, first: inputs.first, second: inputs.count > 1 ? inputs[1] : nil,
                  rest: inputs.count > 2 ? Array(inputs[2...]) : [], outputCount: outputCount,
                  attributes: StoredAttributes(attributes),
                  rule: .multiple(rule))
    }

    /// A one-input node. (The attributes come converted, so that the conversion of a constant folds
    /// away where the operation is inlined, instead of copying a `NodeAttributes` into the node's
    /// initialiser.)
    @inline(__always)
    convenience init(name: StaticString, input: Variable<Scalar>, attributes: StoredAttributes, rule: @escaping UnaryRule) {
        self.init(name: name, first: input, second: nil, rest: [], outputCount: 1, attributes: attributes, rule: .unary(rule))
    }

    /// A two-input node.
    @inline(__always)
    convenience init(name: StaticString, _ a: Variable<Scalar>, _ b: Variable<Scalar>, attributes: StoredAttributes,
                     rule: @escaping BinaryRule) {
        self.init(name: name, first: a, second: b, rest: [], outputCount: 1, attributes: attributes, rule: .binary(rule))
    }

    /// A one-input node whose rule reads a saved tensor.
    @inline(__always)
    convenience init(name: StaticString, input: Variable<Scalar>, attributes: StoredAttributes, saving x: Tensor<Scalar>,
                     rule: @escaping SavedUnaryRule) {
        self.init(name: name, first: input, second: nil, rest: [], outputCount: 1, attributes: attributes,
                  rule: .savedUnary(rule))
        savedFirst = x
    }

    /// A two-input node whose rule reads two saved tensors.
    @inline(__always)
    convenience init(name: StaticString, _ a: Variable<Scalar>, _ b: Variable<Scalar>, attributes: StoredAttributes,
                     saving x: Tensor<Scalar>, _ y: Tensor<Scalar>, needs needA: Bool, _ needB: Bool,
                     rule: @escaping SavedBinaryRule) {
        self.init(name: name, first: a, second: b, rest: [], outputCount: 1, attributes: attributes,
                  rule: .savedBinary(rule))
        savedFirst = x
        savedSecond = y
        needsFirst = needA
        needsSecond = needB
    }

    /// The number of inputs (0 once the graph is released).
    var inputCount: Int { first == nil ? 0 : second == nil ? 1 : 2 + rest.count }

    /// Adds `gradient` to what output `index` has received in this backward pass.
    @inline(__always)
    func accumulate(_ gradient: consuming Tensor<Scalar>, output index: Int) {
        if index == 0 {
            if pending == nil { pending = gradient } else { pending! += gradient }
        } else {
            if pendingOthers[index - 1] == nil { pendingOthers[index - 1] = gradient } else { pendingOthers[index - 1]! += gradient }
        }
    }

    /// Input `i` (`i < inputCount`).
    @inline(__always)
    func input(_ i: Int) -> Variable<Scalar> {
        i == 0 ? first.unsafelyUnwrapped : i == 1 ? second.unsafelyUnwrapped : rest[i - 2]
    }

    /// Whether no input was produced by a node (so backward from here visits this node only).
    var hasOnlyLeafInputs: Bool {
        first?.node == nil && second?.node == nil && rest.allSatisfy { $0.node == nil }
    }

    /// The saved tensors, left in place when `keeping` (the graph is retained), else taken out.
    @inline(__always)
    func takeSaved(keeping: Bool) -> (Tensor<Scalar>?, Tensor<Scalar>?) {
        keeping ? (savedFirst, savedSecond) : (savedFirst.take(), savedSecond.take())
    }

    /// Lets go of the rule and the tensors it saved (after a backward pass without `retainGraph`).
    @inline(__always)
    func releaseRule() {
        rule = nil
        savedFirst = nil
        savedSecond = nil
    }

    /// Forgets the gradients received in this pass.
    @inline(__always)
    func clearPending() {
        pending = nil
        if !pendingOthers.isEmpty { for i in pendingOthers.indices { pendingOthers[i] = nil } }
    }

    /// Takes the gradients received (`nil` when none was), leaving none.
    func takePending() -> [Tensor<Scalar>?]? {
        defer { clearPending() }
        guard pending != nil || pendingOthers.contains(where: { $0 != nil }) else { return nil }
        return [pending] + pendingOthers
    }

    /// Releases the saved values and the input edges (used when the whole graph is torn down).
    func releaseInputs() -> [Variable<Scalar>] {
        defer { first = nil; second = nil; rest = [] }
        return inputs
    }

    deinit {
        liveNodeCounter.wrappingSubtract(1, ordering: .relaxed)
        Node.tearDown(self)
    }

    /// Tears long chains down iteratively: freeing node by node through nested deinits would recurse
    /// once per operation and overflow the stack on long unrolled graphs. (A specialised static
    /// function, because a generic class's deinit runs unspecialised.) An input that something else
    /// still holds, or that is a leaf, is simply let go, without building a stack.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func tearDown(_ node: Node) {
        guard node.first != nil else { return }
        if node.rest.isEmpty && !hasReleasableNode(&node.first) && !hasReleasableNode(&node.second) {
            return   // the fields go with the node, and nothing nests deeper
        }
        var stack = node.releaseInputs()
        while var variable = stack.popLast() {
            guard isKnownUniquelyReferenced(&variable), var inner = variable.node else { continue }
            variable.node = nil
            if isKnownUniquelyReferenced(&inner) { stack.append(contentsOf: inner.releaseInputs()) }
        }
    }

    /// Whether letting go of `variable` would free its node as well (the only reference to both).
    @inline(__always)
    private static func hasReleasableNode(_ variable: inout Variable<Scalar>?) -> Bool {
        guard variable != nil, isKnownUniquelyReferenced(&variable!) else { return false }
        return variable!.node != nil
    }
}

/// The number of tape nodes alive in the process: graphs that are still referenced by some variable.
/// A training loop that keeps this flat does not leak graphs.
public var liveGraphNodeCount: Int { liveNodeCounter.load(ordering: .relaxed) }
