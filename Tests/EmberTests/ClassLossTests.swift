import Foundation
import Testing
import Ember

/// CrossEntropyLoss and NLLLoss with class weights, label smoothing and K-dimensional inputs:
/// PyTorch's values, gradients that match finite differences, and messages for bad arguments.
@Suite struct ClassLossTests {
    // MARK: PyTorch parity

    @Test func weightAndLabelSmoothingParity() throws {
        let f = try Fixtures.pytorch("cross_entropy_weight_smoothing")
        #expect(f.metadata["reduction"] == "mean" && f.metadata["ignore_index"] == "-100")
        #expect(f.metadata["label_smoothing"] == "0.1" && f.metadata["weight"] == "[1.0, 0.5, 2.0, 1.0, 0.25]")
        let criterion = CrossEntropyLoss(reduction: .mean, ignoreIndex: -100, weight: Tensor<Double>([1, 0.5, 2, 1, 0.25]),
                                         labelSmoothing: 0.1)
        let input = Variable(try f.tensor("input", as: Double.self), requiresGrad: true)
        let targets = try f.integers("target")
        #expect(targets.contains(-100))
        let loss = criterion(input, targets)
        loss.backward(gradient: try f.tensor("gy").reshaped(to: []))
        let worst = try max(worstRelativeError(loss.data.reshaped(to: [1]), f.tensor("loss")),
                            worstRelativeError(input.grad!, f.tensor("grad.input")))
        print("parity cross_entropy_weight_smoothing worst relative error \(worst)")
        #expect(worst < 1e-9)
    }

    @Test func sequenceParity() throws {
        let f = try Fixtures.pytorch("cross_entropy_sequence")
        #expect(f.metadata["reduction"] == "mean" && f.metadata["note"] == "input [N, C, d], target [N, d]")
        let input = Variable(try f.tensor("input", as: Double.self), requiresGrad: true)
        let shape = try #require(f.entries["target"]?.shape)
        #expect(input.shape == [3, 4, 6] && shape == [3, 6])
        let targets = Tensor<Int>(shape: shape, scalars: try f.integers("target"))
        let loss = CrossEntropyLoss(reduction: .mean)(input, targets)
        loss.backward(gradient: try f.tensor("gy").reshaped(to: []))
        let worst = try max(worstRelativeError(loss.data.reshaped(to: [1]), f.tensor("loss")),
                            worstRelativeError(input.grad!, f.tensor("grad.input")))
        print("parity cross_entropy_sequence worst relative error \(worst)")
        #expect(worst < 1e-9)
    }

    /// The fixture's targets as a Tensor<Int> [N] give what the [Int] call gives.
    @Test func integerTensorTargetsEqualArrayTargets() throws {
        let f = try Fixtures.pytorch("cross_entropy_weight_smoothing")
        let input = try f.tensor("input", as: Double.self), targets = try f.integers("target")
        let criterion = CrossEntropyLoss(weight: Tensor<Double>([1, 0.5, 2, 1, 0.25]), labelSmoothing: 0.1)
        #expect(criterion(Variable(input), Tensor<Int>(targets)).scalar == criterion(Variable(input), targets).scalar)
        let plain = CrossEntropyLoss(reduction: .none)
        #expect(plain(Variable(input), Tensor<Int>(targets)).data == plain(Variable(input), targets).data)
    }

    // MARK: K dimensions

    /// [N, C, d1, d2] with targets [N, d1, d2] equals the [N·d1·d2, C] loss of the moved-apart input,
    /// with weights, smoothing and an ignored target, for every reduction; `.none` keeps the targets' shape.
    @Test func kDimensionalEqualsFlattenedRows() {
        let x = randomTensor([2, 3, 2, 2], seed: 21, low: -2, high: 2)
        let t = Tensor<Int>(shape: [2, 2, 2], scalars: [0, 2, 1, -100, 2, 2, 0, 1])
        let rows = x.permuted([0, 2, 3, 1]).reshaped(to: [8, 3])
        for reduction in [Reduction.mean, .sum, .none] {
            for criterion in [CrossEntropyLoss(reduction: reduction),
                              CrossEntropyLoss(reduction: reduction, weight: Tensor<Double>([0.5, 2, 1]), labelSmoothing: 0.2)] {
                let k = criterion(Variable(x), t)
                let flat = criterion(Variable(rows), t.scalars)
                #expect(k.shape == (reduction == .none ? [2, 2, 2] : []))
                #expect(k.data.reshaped(to: [k.data.count]).maxAbsoluteDifference(flat.data.reshaped(to: [flat.data.count])) < 1e-14)
            }
            let nll = NLLLoss(reduction: reduction, weight: Tensor<Double>([0.5, 2, 1]))
            let q = x.logSoftmax(axis: 1)
            let a = nll(Variable(q), t), b = nll(Variable(q.permuted([0, 2, 3, 1]).reshaped(to: [8, 3])), t.scalars)
            #expect(a.data.reshaped(to: [a.data.count]).maxAbsoluteDifference(b.data.reshaped(to: [b.data.count])) < 1e-14)
        }
    }

    @Test func kDimensionalGradients() {
        let t = Tensor<Int>(shape: [2, 3], scalars: [1, 0, -100, 2, 2, 0])
        for reduction in [Reduction.mean, .sum, .none] {
            let ce = gradcheck(inputs: [randomTensor([2, 3, 3], seed: 22, low: -2, high: 2)]) { v in
                CrossEntropyLoss(reduction: reduction, weight: Tensor<Double>([0.5, 2, 1]), labelSmoothing: 0.15)(v[0], t)
            }
            #expect(ce.passed, "CrossEntropyLoss \(reduction): \(ce)")
            let nll = gradcheck(inputs: [randomTensor([2, 3, 3], seed: 23)]) { v in NLLLoss(reduction: reduction)(v[0], t) }
            #expect(nll.passed, "NLLLoss \(reduction): \(nll)")
        }
    }

    /// One unbatched sample: input [C] and a scalar target, as PyTorch allows.
    @Test func unbatchedSample() {
        let x = Tensor<Double>([0.3, -1, 2])
        let one = CrossEntropyLoss(reduction: .none, labelSmoothing: 0.1)(Variable(x), Tensor<Int>(shape: [], scalars: [2]))
        let batch = CrossEntropyLoss(reduction: .none, labelSmoothing: 0.1)(Variable(x.reshaped(to: [1, 3])), [2])
        #expect(one.shape == [] && one.scalar == batch.scalars[0])
    }

    // MARK: Formulas

    /// Two classes, worked by hand: q = log-softmax, w = [2, 1], ε = 0.2, targets [0, 1].
    @Test func smallCaseByHand() {
        let x = Tensor<Double>(shape: [2, 2], scalars: [1, 0, 0.5, 2])
        let q = x.logSoftmax(axis: 1)
        let w = [2.0, 1.0], eps = 0.2
        let l0 = (1 - eps) * w[0] * -q[0, 0] + eps / 2 * (w[0] * -q[0, 0] + w[1] * -q[0, 1])
        let l1 = (1 - eps) * w[1] * -q[1, 1] + eps / 2 * (w[0] * -q[1, 0] + w[1] * -q[1, 1])
        let criterion = { (r: Reduction) in CrossEntropyLoss(reduction: r, weight: Tensor<Double>(w), labelSmoothing: eps) }
        let none = criterion(.none)(Variable(x), [0, 1]).scalars
        #expect(abs(none[0] - l0) < 1e-15 && abs(none[1] - l1) < 1e-15)
        #expect(abs(criterion(.sum)(Variable(x), [0, 1]).scalar - (l0 + l1)) < 1e-15)
        #expect(abs(criterion(.mean)(Variable(x), [0, 1]).scalar - (l0 + l1) / 3) < 1e-15)   // Σ w_t = 2 + 1
        // NLLLoss with weights: -w_t q_t, mean over Σ w_t; an ignored target counts for nothing.
        let nll = NLLLoss(weight: Tensor<Double>(w))(Variable(q), [0, 1])
        #expect(abs(nll.scalar - (2 * -q[0, 0] + 1 * -q[1, 1]) / 3) < 1e-15)
        let ignored = NLLLoss(reduction: .none, weight: Tensor<Double>(w))(Variable(q), [-100, 1]).scalars
        #expect(ignored == [0, -q[1, 1]])
    }

    /// Weights of 1 and ε = 0 through the general path give today's loss and gradient.
    @Test func unitWeightsEqualTheUnweightedLoss() {
        let x = randomTensor([5, 4], seed: 11, low: -3, high: 3)
        let targets = [3, -100, 0, 2, 2]
        for reduction in [Reduction.mean, .sum, .none] {
            let a = Variable(x, requiresGrad: true), b = Variable(x, requiresGrad: true)
            let plain = CrossEntropyLoss(reduction: reduction)(a, targets)
            let weighted = CrossEntropyLoss(reduction: reduction, weight: Tensor<Double>(ones: [4]))(b, targets)
            #expect(plain.data.maxAbsoluteDifference(weighted.data) < 1e-14)
            plain.sum().backward(); weighted.sum().backward()
            #expect(a.grad!.maxAbsoluteDifference(b.grad!) < 1e-14)
        }
    }

    // MARK: Gradients

    @Test func gradients() {
        let w = Tensor<Double>([0.5, 2, 1, 3])
        for reduction in [Reduction.mean, .sum, .none] {
            for (weight, eps) in [(w, 0.0), (w, 0.3), (nil, 0.3)] as [(Tensor<Double>?, Double)] {
                let ce = gradcheck(inputs: [randomTensor([4, 4], seed: 5, low: -2, high: 2)]) { v in
                    CrossEntropyLoss(reduction: reduction, weight: weight, labelSmoothing: eps)(v[0], [1, -100, 3, 0])
                }
                #expect(ce.passed, "CrossEntropyLoss \(reduction) weight \(weight != nil) ε \(eps): \(ce)")
            }
            let nll = gradcheck(inputs: [randomTensor([3, 4], seed: 6)]) { v in
                NLLLoss(reduction: reduction, weight: w)(v[0], [3, -100, 1])
            }
            #expect(nll.passed, "NLLLoss \(reduction): \(nll)")
        }
    }

    // MARK: Messages

    func stderr(of result: ExitTest.Result?) -> String {
        String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    }

    @Test func weightOfTheWrongShapeIsNamed() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = CrossEntropyLoss(weight: Tensor<Double>([1, 2]))(Variable(Tensor<Float>(zeros: [2, 3])), [0, 1])
        }
        #expect(stderr(of: result).contains("CrossEntropyLoss: expected a weight of shape [3] (one per class), got [2]"))
    }

    @Test func outOfRangeTargetIsNamedWithItsIndex() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NLLLoss(weight: Tensor<Double>([1, 2, 3]))(Variable(Tensor<Float>(zeros: [3, 3])), [0, 2, 3])
        }
        #expect(stderr(of: result).contains("NLLLoss: target 3 at index [2] is out of range for 3 classes"))
    }

    @Test func targetShapeMismatchIsNamed() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = CrossEntropyLoss()(Variable(Tensor<Float>(zeros: [3, 4, 6])), Tensor<Int>(zeros: [3, 5]))
        }
        #expect(stderr(of: result).contains("CrossEntropyLoss: expected a target of shape [3, 6] for input [3, 4, 6], got [3, 5]"))
    }

    @Test func outOfRangeKDimensionalTargetIsNamedWithItsIndex() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = CrossEntropyLoss()(Variable(Tensor<Float>(zeros: [2, 4, 3])), Tensor<Int>(shape: [2, 3], scalars: [0, 1, 2, 3, -1, 0]))
        }
        #expect(stderr(of: result).contains("CrossEntropyLoss: target -1 at index [1, 1] is out of range for 4 classes"))
    }

    @Test func labelSmoothingOutsideTheUnitIntervalIsNamed() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = CrossEntropyLoss(labelSmoothing: 1.5)
        }
        #expect(stderr(of: result).contains("CrossEntropyLoss: expected labelSmoothing in [0, 1], got 1.5"))
    }
}
