// MARK: - Gradient checking

/// The outcome of `gradcheck`: whether the analytical gradients (from `backward()`) match central
/// finite differences, and where they disagree most.
public struct GradcheckResult: CustomStringConvertible, Sendable {
    /// One compared entry of the Jacobian.
    public struct Entry: Sendable {
        /// Which input (position in `inputs`).
        public var input: Int
        /// Which element of that input, as a multi-dimensional index.
        public var element: [Int]
        /// Which element of the output (flat index).
        public var outputElement: Int
        /// d output / d input from `backward()`.
        public var analytical: Double
        /// The same from central differences.
        public var numerical: Double
        /// `|analytical - numerical|`.
        public var absoluteError: Double { Swift.abs(analytical - numerical) }
    }

    /// Whether every entry satisfies `|a - n| <= atol + rtol * |n|` and a zero output gradient
    /// gives zero input gradients.
    public var passed: Bool { (worstEntry == nil || worstExcess <= 0) && zeroGradientPassed }
    /// The largest `|analytical - numerical|` over all entries.
    public var maxAbsoluteError: Double
    /// The entry that exceeds the tolerance by the most (or comes closest to it when all pass).
    public var worstEntry: Entry?
    /// `|a - n| - (atol + rtol * |n|)` for `worstEntry`: positive means it failed.
    public var worstExcess: Double
    /// Whether backpropagating a zero output gradient gave zero gradients for every input.
    public var zeroGradientPassed: Bool
    /// Entries compared.
    public var entriesChecked: Int
    /// The finite-difference step and the tolerances the check used (`|a - n| <= atol + rtol·|n|`).
    public var eps: Double, atol: Double, rtol: Double

    /// One line: passed or FAILED, the entries checked, the tolerances, the largest error and the worst entry.
    public var description: String {
        var text = passed ? "gradcheck passed" : "gradcheck FAILED"
        text += " (\(entriesChecked) Jacobian entries, eps \(eps), atol \(atol), rtol \(rtol)); max |analytical - numerical| = \(maxAbsoluteError)"
        if let w = worstEntry {
            text += "; worst: input \(w.input) element \(w.element) (output element \(w.outputElement)): analytical \(w.analytical), numerical \(w.numerical), error \(w.absoluteError)"
            text += worstExcess > 0 ? ", over the tolerance by \(worstExcess)" : ""
        }
        if !zeroGradientPassed { text += "; a zero output gradient gave non-zero input gradients" }
        return text
    }
}

/// Compares the gradients that `backward()` computes for `f` with central finite differences, in
/// Double, entry by entry of the full Jacobian (every output element against every input element),
/// with PyTorch's defaults. Also checks that a zero output gradient gives zero input gradients.
///
/// ```swift
/// let result = gradcheck(inputs: [p, q]) { v in (v[0].matmul(v[1])).tanh().sum() }
/// #expect(result.passed, "\(result)")
/// ```
///
/// - Parameters:
///   - inputs: the point to check at; each becomes a variable that requires gradients.
///   - eps: the finite-difference step.
///   - atol, rtol: an entry passes when `|analytical - numerical| <= atol + rtol * |numerical|`.
///   - f: the function; it may return any shape.
public func gradcheck(inputs: [Tensor<Double>], eps: Double = 1e-6, atol: Double = 1e-5, rtol: Double = 1e-3,
                      _ f: ([Variable<Double>]) -> Variable<Double>) -> GradcheckResult {
    gradcheckCore(values: inputs, eps: eps, atol: atol, rtol: rtol,
                  evaluate: { values in withNoGrad { f(values.map { Variable($0) }).data } },
                  build: { values in
                      let leaves = values.map { Variable($0, requiresGrad: true) }
                      return (withGradEnabled { f(leaves) }, leaves)
                  })
}

/// `gradcheck` for a module: checks the gradients with respect to the inputs *and every parameter
/// of `module`* (in `parameters()` order, after the inputs in the result's input numbering).
/// Parameters are perturbed in place and restored afterwards.
///
/// ```swift
/// let result = gradcheck(model, inputs: [x]) { v in model(v[0]).sum() }
/// ```
public func gradcheck<M: Module>(_ module: M, inputs: [Tensor<Double>], eps: Double = 1e-6, atol: Double = 1e-5,
                                 rtol: Double = 1e-3, _ f: ([Variable<Double>]) -> Variable<Double>) -> GradcheckResult
where M.Scalar == Double {
    let parameters = module.parameters()
    let saved = parameters.map(\.data)
    let savedGrads = parameters.map(\.grad)
    defer {
        for (p, (d, g)) in zip(parameters, zip(saved, savedGrads)) { p.data = d; p.grad = g }
    }
    func install(_ values: [Tensor<Double>]) {
        for (p, v) in zip(parameters, values[inputs.count...]) { p.data = v }
    }
    return gradcheckCore(values: inputs + saved, eps: eps, atol: atol, rtol: rtol,
                         evaluate: { values in
                             install(values)
                             return withNoGrad { f(values[..<inputs.count].map { Variable($0) }).data }
                         },
                         build: { values in
                             install(values)
                             let leaves = values[..<inputs.count].map { Variable($0, requiresGrad: true) }
                             return (withGradEnabled { f(leaves) }, leaves + parameters)
                         })
}

/// The comparison shared by both forms: `evaluate` gives the output for given values without a
/// graph; `build` gives the output with a graph and the leaf variables holding each value.
func gradcheckCore(values inputs: [Tensor<Double>], eps: Double, atol: Double, rtol: Double,
                   evaluate: ([Tensor<Double>]) -> Tensor<Double>,
                   build: ([Tensor<Double>]) -> (Variable<Double>, [Variable<Double>])) -> GradcheckResult {
    // Numerical Jacobian: one column per input element.
    let baseOutput = evaluate(inputs)
    let outCount = baseOutput.count
    var numerical: [[[Double]]] = []        // [input][element][output element]
    for (k, input) in inputs.enumerated() {
        var columns: [[Double]] = []
        for e in 0..<input.count {
            var plus = inputs, minus = inputs
            plus[k].storage[e] += eps
            minus[k].storage[e] -= eps
            let yPlus = evaluate(plus).scalars
            let yMinus = evaluate(minus).scalars
            columns.append((0..<outCount).map { (yPlus[$0] - yMinus[$0]) / (2 * eps) })
        }
        numerical.append(columns)
    }

    // Analytical Jacobian: one backward per output element, with a one-hot output gradient.
    var result = GradcheckResult(maxAbsoluteError: 0, worstEntry: nil, worstExcess: -.infinity,
                                 zeroGradientPassed: true, entriesChecked: 0, eps: eps, atol: atol, rtol: rtol)
    let (output, variables) = build(inputs)
    for o in 0..<outCount {
        var seed = Tensor<Double>(zeros: output.shape)
        seed.storage[o] = 1
        for v in variables { v.grad = nil }
        if output.requiresGrad { output.backward(gradient: seed, retainGraph: true) }
        for (k, v) in variables.enumerated() {
            let grad = v.grad?.scalars
            for e in 0..<inputs[k].count {
                let a = grad?[e] ?? 0, n = numerical[k][e][o]
                let error = Swift.abs(a - n)
                let excess = a.isNaN || n.isNaN ? Double.infinity : error - (atol + rtol * Swift.abs(n))
                result.entriesChecked += 1
                result.maxAbsoluteError = Swift.max(result.maxAbsoluteError, a.isNaN || n.isNaN ? .infinity : error)
                if excess > result.worstExcess {
                    result.worstExcess = excess
                    result.worstEntry = .init(input: k, element: unflatten(e, shape: inputs[k].shape),
                                              outputElement: o, analytical: a, numerical: n)
                }
            }
        }
    }

    // A zero output gradient must give zero input gradients.
    if output.requiresGrad {
        for v in variables { v.grad = nil }
        output.backward(gradient: Tensor(zeros: output.shape), retainGraph: true)
        result.zeroGradientPassed = variables.allSatisfy { v in v.grad.map { $0.scalars.allSatisfy { $0 == 0 } } ?? true }
    }
    return result
}

func unflatten(_ index: Int, shape: [Int]) -> [Int] {
    var rest = index
    var result = [Int](repeating: 0, count: shape.count)
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        result[axis] = rest % Swift.max(shape[axis], 1)
        rest /= Swift.max(shape[axis], 1)
    }
    return result
}
