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

        // Collect the nodes reachable from the root (iteratively), then order them.
        let mark = visitEpoch.wrappingAdd(1, ordering: .relaxed).newValue
        var nodes: [Node<Scalar>] = []
        var stack: [Node<Scalar>] = [root]
        root.visitMark = mark
        while let current = stack.popLast() {
            nodes.append(current)
            for input in current.inputs {
                if let n = input.node, n.visitMark != mark {
                    n.visitMark = mark
                    stack.append(n)
                }
            }
        }
        nodes.sort { $0.sequence > $1.sequence }

        root.accumulate(seed, output: outputIndex)
        for current in nodes {
            let grads: [Tensor<Scalar>?]
            switch current.rule {
            case .single(let rule)?:
                // The common case, without the arrays of the general one.
                guard let g = current.pending else { continue }
                current.pending = nil
                grads = rule(g)
                if let anomaly = AnomalyState.current, g.isAllFinite {
                    for case let grad? in grads { anomaly.check(grad, operation: current.name, phase: .backward) }
                }
            case .multiple(let rule)?:
                guard let outputGrads = current.takePending() else { continue }
                grads = rule(outputGrads)
                require(grads.count == current.inputs.count,
                        "backward: '\(current.name)' returned \(grads.count) gradients for \(current.inputs.count) inputs")
                if let anomaly = AnomalyState.current, outputGrads.allSatisfy({ $0?.isAllFinite ?? true }) {
                    for case let grad? in grads { anomaly.check(grad, operation: current.name, phase: .backward) }
                }
            case nil:
                guard current.takePending() != nil else { continue }
                requireFailure("backward: trying to backward through the graph a second time (the values saved by '\(current.name)' were released after the first backward); pass retainGraph: true to the first backward() to keep them")
            }
            if !retainGraph { current.rule = nil }
            for (input, inputGrad) in zip(current.inputs, grads) {
                guard let inputGrad, input.requiresGrad else { continue }
                require(inputGrad.shape == input.data.shape,
                             "backward: '\(current.name)' produced a gradient of shape \(describe(inputGrad.shape)) for an input of shape \(describe(input.data.shape))")
                if let n = input.node {
                    n.accumulate(inputGrad, output: input.outputIndex)
                } else {
                    input.accumulateIntoLeaf(inputGrad)
                }
            }
        }
        if !retainGraph {
            for current in nodes { current.rule = nil; _ = current.takePending() }
        }
    }

    func accumulateIntoLeaf(_ g: Tensor<Scalar>) {
        guard requiresGrad else { return }
        if grad == nil { grad = g } else { grad! += g }
    }
}
