import Testing
@testable import Ember

/// Differentiable functions of a user's: one node, any number of inputs and outputs, a hand-written rule.
@Suite struct CustomFunctionTests {
    /// x · sigmoid(x) with its gradient σ(x) · (1 + x · (1 − σ(x))), the docs' example.
    static let silu = CustomFunction<Double>("silu") { inputs in
        let x = inputs[0], s = x.sigmoid()
        return ([x * s], { grads in [grads[0].map { $0 * s * (1 + x * (1 - s)) }] })
    }

    /// Two outputs of two inputs: (a · b, a + b).
    static let productAndSum = CustomFunction<Double>("productAndSum") { inputs in
        let a = inputs[0], b = inputs[1]
        return ([a * b, a + b], { grads in
            let (gp, gs) = (grads[0], grads[1])
            let ga = [gp.map { $0 * b }, gs].compactMap { $0 }.reduce(Tensor(zeros: a.shape), +)
            let gb = [gp.map { $0 * a }, gs].compactMap { $0 }.reduce(Tensor(zeros: b.shape), +)
            return [ga, gb]
        })
    }

    /// x where mask is 1, else 0: the mask is not differentiable, its gradient is nil.
    static let masked = CustomFunction<Double>("masked") { inputs in
        let x = inputs[0], mask = inputs[1]
        return ([x * mask], { grads in [grads[0].map { $0 * mask }, nil] })
    }

    @Test func oneOutputMatchesTheComposedOperationAndPassesGradcheck() {
        let x = Variable(randomTensor([3, 4], seed: 2), requiresGrad: true)
        let y = Self.silu(x)
        #expect(y.count == 1 && y[0].operationName == "silu")
        let reference = x.detach() * x.detach().sigmoid()
        #expect(y[0].data == reference.data)
        y[0].sum().backward()
        let s = x.data.sigmoid()
        #expect(x.grad == s * (1 + x.data * (1 - s)))
        let result = gradcheck(inputs: [randomTensor([2, 5], seed: 3)]) { v in (Self.silu(v[0])[0] * 3).tanh().sum() }
        #expect(result.passed, "\(result)")
    }

    @Test func twoOutputsEitherOrBothUsed() {
        let a = randomTensor([2, 3], seed: 4), b = randomTensor([2, 3], seed: 5)
        for use in [[true, false], [false, true], [true, true]] {
            let result = gradcheck(inputs: [a, b]) { v in
                let outputs = Self.productAndSum(v[0], v[1])
                var loss = (outputs[0] * 0).sum()
                if use[0] { loss = loss + outputs[0].squared().sum() }
                if use[1] { loss = loss + outputs[1].tanh().sum() }
                return loss
            }
            #expect(result.passed, "\(use): \(result)")
        }
        // Only the second output used: the rule gets nil for the first.
        let va = Variable(a, requiresGrad: true), vb = Variable(b, requiresGrad: true)
        Self.productAndSum(va, vb)[1].sum().backward()
        #expect(va.grad == Tensor(ones: [2, 3]) && vb.grad == Tensor(ones: [2, 3]))
    }

    @Test func nilGradientForANonDifferentiableInput() {
        let x = Variable(Tensor<Double>([1, 2, 3]), requiresGrad: true)
        let mask = Variable(Tensor<Double>([1, 0, 1]), requiresGrad: true)
        Self.masked(x, mask)[0].sum().backward()
        #expect(x.grad == Tensor([1, 0, 1]))
        #expect(mask.grad == nil)
        let result = gradcheck(inputs: [Tensor<Double>([0.5, -1, 2])]) { v in
            Self.masked(v[0], Variable(Tensor<Double>([1, 0, 1])))[0].squared().sum()
        }
        #expect(result.passed, "\(result)")
    }

    @Test func noGradAndRetainGraph() {
        let x = Variable(Tensor<Double>([0.5, -1]), requiresGrad: true)
        let frozen = withNoGrad { Self.silu(x)[0] }
        #expect(!frozen.requiresGrad && frozen.isLeaf)
        let y = Self.silu(x)[0].sum()
        y.backward(retainGraph: true)
        let once = x.grad!
        y.backward()
        #expect(x.grad == once * 2)
    }

    @Test func anomalyDetectionNamesTheFunction() {
        let broken = CustomFunction<Double>("broken") { inputs in
            ([inputs[0] * 2], { grads in [grads[0].map { $0 / Tensor(zeros: $0.shape) }] })
        }
        let x = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
        #expect(throws: AnomalyError.self) { try withAnomalyDetection { broken(x)[0].sum().backward() } }
        do { try withAnomalyDetection { broken(x)[0].sum().backward() } } catch {
            let message = String(describing: error)
            #expect(message.contains("broken"), "\(message)")
        }
    }

    @Test func wrongNumberOfGradientsStopsWithTheFunctionsName() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let bad = CustomFunction<Double>("tooFew") { inputs in ([inputs[0] + inputs[1]], { grads in [grads[0]] }) }
            let a = Variable(Tensor<Double>([1]), requiresGrad: true), b = Variable(Tensor<Double>([2]), requiresGrad: true)
            bad(a, b)[0].sum().backward()
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("backward: 'tooFew' returned 1 gradients for 2 inputs"), "\(stderr)")
    }

    /// Graphs through several-output nodes are freed with their last output. (In a child process of
    /// its own, as LeakTests: tests running beside it in this one make and free nodes too.)
    @Test func multiOutputGraphsAreReleased() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            let before = liveGraphNodeCount
            var whileKept = 0
            do {
                let a = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
                let outputs = CustomFunctionTests.productAndSum(a, a)
                whileKept = liveGraphNodeCount - before
                _ = outputs
            }
            report(["kept": whileKept, "dropped": liveGraphNodeCount - before])
        }
        let values = parseReport(result?.standardErrorContent)
        #expect(values["kept"] == 1 && values["dropped"] == 0, "\(values)")
    }
}
