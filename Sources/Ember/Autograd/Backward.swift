import Synchronization

// MARK: - The backward engine

let visitEpoch = Atomic<Int>(0)

extension Variable {
    /// Computes the gradient of this variable with respect to every leaf that requires gradients
    /// and adds it into the leaves' `grad`.
    ///
    /// - Parameters:
    ///   - gradient: the gradient of some scalar with respect to this variable, same shape as it.
    ///     May be omitted for a variable with one element (it is then 1).
    ///   - retainGraph: keep the saved values so that `backward` can run through this graph again.
    ///     By default they are released, and a second backward through the graph stops with a message.
    ///
    /// Nodes are visited in decreasing sequence number (a topological order), with an explicit
    /// stack, so arbitrarily long graphs do not overflow the call stack.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(gradient: Tensor<Scalar>? = nil, retainGraph: Bool = false) {
        require(requiresGrad,
                     "backward: this variable does not require gradients and has no graph (did any input have requiresGrad: true, and was grad mode on?)")
        let seed: Tensor<Scalar>
        if let gradient {
            require(gradient.shape == data.shape,
                         "backward: expected a gradient of shape \(describe(data.shape)), got \(describe(gradient.shape))")
            seed = gradient
        } else {
            require(data.count == 1,
                         "backward: a gradient must be given for a variable of shape \(describe(data.shape)); only one-element variables get the implicit gradient 1")
            seed = Tensor(repeating: 1, shape: data.shape)
        }
        guard let root = node else {
            accumulateIntoLeaf(seed)
            return
        }
        let anomaly = AnomalyState.current   // one thread-local read per pass, not per node
        root.accumulate(seed, output: outputIndex)
        if root.hasOnlyLeafInputs {
            // A one-node graph: nothing to collect or order.
            Variable.run(root, anomaly: anomaly, retainGraph: retainGraph)
            if !retainGraph { root.releaseRule(); root.clearPending() }
            return
        }
        let nodes = Variable.topologicalOrder(from: root)
        for current in nodes { Variable.run(current, anomaly: anomaly, retainGraph: retainGraph) }
        if !retainGraph {
            for current in nodes { current.releaseRule(); current.clearPending() }
        }
    }

    /// The nodes reachable from `root`, in decreasing sequence number (a topological order), found
    /// iteratively with one array that is both the work list and the result.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func topologicalOrder(from root: Node<Scalar>) -> [Node<Scalar>] {
        let mark = visitEpoch.wrappingAdd(1, ordering: .relaxed).newValue
        var nodes: [Node<Scalar>] = [root]
        root.visitMark = mark
        var next = 0
        while next < nodes.count {
            let current = nodes[next]
            next += 1
            for i in 0..<current.inputCount {
                if let n = current.input(i).node, n.visitMark != mark {
                    n.visitMark = mark
                    nodes.append(n)
                }
            }
        }
        nodes.sort { $0.sequence > $1.sequence }
        return nodes
    }

    /// Runs `current`'s rule on the gradients it received (if any) and hands the results to its inputs.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func run(_ current: Node<Scalar>, anomaly: AnomalyState?, retainGraph: Bool) {
        // Without retainGraph the rule is moved out (released once it has run), not copied.
        // The one- and two-input cases repeat their last lines on purpose: shared through a helper
        // or a merged case, they copied each gradient once more (add and mul at [1, 1], 100-170
        // instructions more, `ember-bench ops` under callgrind).
        switch current.rule {
        case .unary?:
            guard let g = current.pending.take() else { return }
            guard case .unary(let rule)? = retainGraph ? current.rule : current.rule.take() else { return }
            let grad = rule(g)
            if let anomaly, g.isAllFinite { anomaly.check(grad, operation: current.name, phase: .backward) }
            deliver(grad, to: current.input(0), from: current)
        case .binary?:
            guard let g = current.pending.take() else { return }
            guard case .binary(let rule)? = retainGraph ? current.rule : current.rule.take() else { return }
            let (gradA, gradB) = rule(g)
            if let anomaly, g.isAllFinite {
                if let gradA { anomaly.check(gradA, operation: current.name, phase: .backward) }
                if let gradB { anomaly.check(gradB, operation: current.name, phase: .backward) }
            }
            if let gradA { deliver(gradA, to: current.input(0), from: current) }
            if let gradB { deliver(gradB, to: current.input(1), from: current) }
        case .savedUnary?:
            guard let g = current.pending.take() else { return }
            guard case .savedUnary(let rule)? = retainGraph ? current.rule : current.rule.take(),
                  case (let x?, _) = current.takeSaved(keeping: retainGraph) else { return }
            let grad = rule(g, x)
            if let anomaly, g.isAllFinite { anomaly.check(grad, operation: current.name, phase: .backward) }
            deliver(grad, to: current.input(0), from: current)
        case .savedBinary?:
            guard let g = current.pending.take() else { return }
            guard case .savedBinary(let rule)? = retainGraph ? current.rule : current.rule.take(),
                  case (let x?, let y?) = current.takeSaved(keeping: retainGraph) else { return }
            let (gradA, gradB) = rule(g, x, y, current.needsFirst, current.needsSecond)
            if let anomaly, g.isAllFinite {
                if let gradA { anomaly.check(gradA, operation: current.name, phase: .backward) }
                if let gradB { anomaly.check(gradB, operation: current.name, phase: .backward) }
            }
            if let gradA { deliver(gradA, to: current.input(0), from: current) }
            if let gradB { deliver(gradB, to: current.input(1), from: current) }
        case .single(let rule)?:
            guard let g = current.pending else { return }
            current.pending = nil
            let grads = rule(g)
            if let anomaly, g.isAllFinite {
                for case let grad? in grads { anomaly.check(grad, operation: current.name, phase: .backward) }
            }
            if !retainGraph { current.rule = nil }
            deliver(grads, from: current)
        case .multiple(let rule)?:
            guard let outputGrads = current.takePending() else { return }
            let grads = rule(outputGrads)
            require(grads.count == current.inputCount,
                    "backward: '\(current.name)' returned \(grads.count) gradients for \(current.inputCount) inputs")
            if let anomaly, outputGrads.allSatisfy({ $0?.isAllFinite ?? true }) {
                for case let grad? in grads { anomaly.check(grad, operation: current.name, phase: .backward) }
            }
            if !retainGraph { current.rule = nil }
            deliver(grads, from: current)
        case nil:
            guard current.takePending() != nil else { return }
            requireFailure("backward: trying to backward through the graph a second time (the values saved by '\(current.name)' were released after the first backward); pass retainGraph: true to the first backward() to keep them")
        }
    }

    /// Hands one gradient per input (`nil` where none) to `current`'s inputs.
    static func deliver(_ grads: [Tensor<Scalar>?], from current: Node<Scalar>) {
        for i in 0..<Swift.min(grads.count, current.inputCount) {
            if let grad = grads[i] { deliver(grad, to: current.input(i), from: current) }
        }
    }

    /// Adds `grad` to what `input` has received: its node's pending gradient, or its `grad` for a leaf.
    @inline(__always)
    static func deliver(_ grad: consuming Tensor<Scalar>, to input: Variable, from current: Node<Scalar>) {
        guard input.requiresGrad else { return }
        require(grad.shape == input.data.shape,
                "backward: '\(current.name)' produced a gradient of shape \(describe(grad.shape)) for an input of shape \(describe(input.data.shape))")
        if let n = input.node {
            n.accumulate(grad, output: input.outputIndex)
        } else {
            input.accumulateIntoLeaf(grad)
        }
    }

    func accumulateIntoLeaf(_ g: consuming Tensor<Scalar>) {
        guard requiresGrad else { return }
        if _grad == nil { _grad = g } else { _grad! += g }
    }
}
