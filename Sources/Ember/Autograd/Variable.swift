// MARK: - Variable

/// A tensor that takes part in automatic differentiation.
///
/// A leaf variable is one you create; set `requiresGrad` on it to have `backward()` accumulate
/// gradients into its `grad`. Every operation on variables that need gradients (while grad mode is
/// on, see `withNoGrad`) records one node on the tape; the result holds that node.
///
/// ```swift
/// let w = Variable(Tensor<Float>(shape: [2, 2], scalars: [1, 2, 3, 4]), requiresGrad: true)
/// let loss = (w * w).sum()
/// loss.backward()
/// w.grad   // 2 * w
/// ```
public final class Variable<Scalar: TensorScalar> {
    /// The value. Optimizers update it in place; changing it does not affect recorded graphs,
    /// which saved what they needed when they were built.
    @exclusivity(unchecked) public var data: Tensor<Scalar>
    /// The accumulated gradient of a leaf (same shape as `data`), or `nil` before any `backward()`.
    /// Gradients add up across `backward()` calls until set to `nil` (see `zeroGrad()`).
    public var grad: Tensor<Scalar>? {
        get { _grad }
        set {
            if let g = newValue {
                require(g.shape == data.shape,
                             "Variable.grad: expected a gradient of shape \(describe(data.shape)), got \(describe(g.shape))")
            }
            _grad = newValue
        }
    }
    // The stored fields skip the runtime's exclusivity bookkeeping (a thread-local access set on
    // every read and write, a seventh of a small op's instructions): Ember never accesses them
    // through overlapping inout accesses, and a variable is used by one thread at a time.
    /// `grad`'s storage; backward writes it directly (its shape was checked against the input's).
    @exclusivity(unchecked) var _grad: Tensor<Scalar>?
    /// The node that produced this variable, `nil` for leaves.
    @exclusivity(unchecked) var node: Node<Scalar>?
    /// Which of `node`'s outputs this variable is (0 for a one-output node).
    let outputIndex: Int
    @exclusivity(unchecked) private var _requiresGrad: Bool

    /// Whether gradients flow to this variable. Settable on leaves only (results of operations
    /// require gradients exactly when one of their inputs did).
    public var requiresGrad: Bool {
        get { _requiresGrad }
        set {
            require(node == nil, "Variable.requiresGrad: can only be changed on leaf variables; use detach() to make a leaf")
            _requiresGrad = newValue
        }
    }

    /// Wraps `data` as a leaf variable.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(_ data: Tensor<Scalar>, requiresGrad: Bool = false) {
        self.data = data
        self._requiresGrad = requiresGrad
        self.outputIndex = 0
    }

    /// A leaf variable holding a single value, shape `[]`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public convenience init(_ scalar: Scalar, requiresGrad: Bool = false) {
        self.init(Tensor(scalar), requiresGrad: requiresGrad)
    }

    init(data: Tensor<Scalar>, node: Node<Scalar>, outputIndex: Int = 0) {
        self.data = data
        self.node = node
        self.outputIndex = outputIndex
        self._requiresGrad = true
    }

    /// `data.shape`.
    public var shape: [Int] { data.shape }
    /// `data.rank`.
    public var rank: Int { data.rank }
    /// `data.scalars`.
    public var scalars: [Scalar] { data.scalars }
    /// The single value of a one-element variable.
    public var scalar: Scalar { data.scalar }
    /// Whether this variable was created directly rather than by an operation.
    public var isLeaf: Bool { node == nil }
    /// The name of the operation that produced this variable (`nil` for leaves).
    public var operationName: String? { node.map { "\($0.name)" } }

    /// A new leaf sharing this variable's value, cut from the graph (`requiresGrad == false`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func detach() -> Variable {
        Variable(data, requiresGrad: false)
    }

    /// Clears the accumulated gradient (`grad = nil`, as PyTorch's `zero_grad(set_to_none=True)`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func zeroGrad() { grad = nil }

    // MARK: Recording

    /// Records the result of an operation: a node with `inputs` and `rule` when grad mode is on and
    /// some input requires gradients, otherwise a plain constant. `attributes` are kept on the node
    /// for exporters (see `NodeAttributes`).
    @inline(__always)
    static func record(_ name: StaticString, _ data: Tensor<Scalar>, _ inputs: [Variable], attributes: NodeAttributes = .none,
                       _ rule: @escaping Node<Scalar>.BackwardRule) -> Variable {
        if let anomaly = AnomalyState.current, inputs.allSatisfy({ $0.data.isAllFinite }) {
            anomaly.check(data, operation: name, phase: .forward)
        }
        guard GradMode.isEnabled, inputs.contains(where: { $0._requiresGrad }) else {
            return Variable(data)
        }
        return Variable(data: data, node: Node(name: name, inputs: inputs, attributes: attributes, rule: rule))
    }

    /// Records an operation with several results: one node whose `rule` gets every output's gradient
    /// at once (`nil` for one the loss did not use), when grad mode is on and some input requires
    /// gradients; otherwise plain constants.
    static func record(_ name: StaticString, outputs: [Tensor<Scalar>], _ inputs: [Variable], attributes: NodeAttributes = .none,
                       _ rule: @escaping Node<Scalar>.MultiOutputRule) -> [Variable] {
        if let anomaly = AnomalyState.current, inputs.allSatisfy({ $0.data.isAllFinite }) {
            for output in outputs { anomaly.check(output, operation: name, phase: .forward) }
        }
        guard GradMode.isEnabled, inputs.contains(where: { $0._requiresGrad }) else {
            return outputs.map { Variable($0) }
        }
        let node = Node(name: name, inputs: inputs, outputCount: outputs.count, attributes: attributes, rule: rule)
        return outputs.enumerated().map { Variable(data: $0.element, node: node, outputIndex: $0.offset) }
    }

    /// Like `record` for a single input.
    @inline(__always)
    static func record(_ name: StaticString, _ data: Tensor<Scalar>, _ input: Variable, attributes: NodeAttributes = .none,
                       _ rule: @escaping Node<Scalar>.UnaryRule) -> Variable {
        if let anomaly = AnomalyState.current, input.data.isAllFinite {
            anomaly.check(data, operation: name, phase: .forward)
        }
        guard input._requiresGrad, GradMode.isEnabled else { return Variable(data) }
        return Variable(data: data, node: Node(name: name, input: input, attributes: StoredAttributes(attributes), rule: rule))
    }

    /// Like `record` for two inputs, with a rule that returns both gradients (`nil` where an input
    /// needs none) without an array.
    @inline(__always)
    static func record(_ name: StaticString, _ data: Tensor<Scalar>, _ a: Variable, _ b: Variable,
                       attributes: NodeAttributes = .none, _ rule: @escaping Node<Scalar>.BinaryRule) -> Variable {
        if let anomaly = AnomalyState.current, a.data.isAllFinite, b.data.isAllFinite {
            anomaly.check(data, operation: name, phase: .forward)
        }
        guard a._requiresGrad || b._requiresGrad, GradMode.isEnabled else { return Variable(data) }
        return Variable(data: data, node: Node(name: name, a, b, attributes: StoredAttributes(attributes), rule: rule))
    }
}

// MARK: - Recording with saved tensors

extension Variable {
    /// Like the one-input `record`, with a rule that captures nothing and reads `x`, which the node
    /// saves.
    @inline(__always)
    static func record(_ name: StaticString, _ data: Tensor<Scalar>, _ input: Variable, saving x: Tensor<Scalar>,
                       _ rule: @escaping Node<Scalar>.SavedUnaryRule) -> Variable {
        if let anomaly = AnomalyState.current, input.data.isAllFinite {
            anomaly.check(data, operation: name, phase: .forward)
        }
        guard input._requiresGrad, GradMode.isEnabled else { return Variable(data) }
        return Variable(data: data, node: Node(name: name, input: input, attributes: StoredAttributes(.none), saving: x, rule: rule))
    }

    /// Like the two-input `record`, with a rule that captures nothing and reads `x` and `y`, which the
    /// node saves.
    @inline(__always)
    static func record(_ name: StaticString, _ data: Tensor<Scalar>, _ a: Variable, _ b: Variable,
                       saving x: Tensor<Scalar>, _ y: Tensor<Scalar>,
                       _ rule: @escaping Node<Scalar>.SavedBinaryRule) -> Variable {
        if let anomaly = AnomalyState.current, a.data.isAllFinite, b.data.isAllFinite {
            anomaly.check(data, operation: name, phase: .forward)
        }
        guard a._requiresGrad || b._requiresGrad, GradMode.isEnabled else { return Variable(data) }
        return Variable(data: data, node: Node(name: name, a, b, attributes: StoredAttributes(.none), saving: x, y,
                                               needs: a._requiresGrad, b._requiresGrad, rule: rule))
    }
}

extension Variable: CustomStringConvertible {
    /// `Variable(TENSOR)`, with the operation that produced it, or `requiresGrad: true` for such a leaf.
    public var description: String {
        var text = "Variable(\(data)"
        if let node { text += ", operation: \(node.name)" } else if _requiresGrad { text += ", requiresGrad: true" }
        return text + ")"
    }
}
