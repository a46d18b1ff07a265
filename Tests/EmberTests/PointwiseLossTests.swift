import Foundation
import Testing
import Ember

/// L1Loss, SmoothL1Loss, HuberLoss, BCELoss and BCEWithLogitsLoss: PyTorch's values, gradients that
/// match finite differences, stability at extreme logits, and their messages for bad arguments.
@Suite struct PointwiseLossTests {
    // MARK: PyTorch parity

    /// Runs `loss` on the fixture's input and target, backpropagates its `gy`, and returns the worst
    /// relative error of the loss and the input gradient.
    func parity(_ name: String, _ loss: (Variable<Double>, Tensor<Double>) -> Variable<Double>) throws -> Double {
        let f = try Fixtures.pytorch(name)
        let input = Variable(try f.tensor("input", as: Double.self), requiresGrad: true)
        let value = loss(input, try f.tensor("target"))
        value.backward(gradient: try f.tensor("gy").reshaped(to: []))
        let worst = try max(worstRelativeError(value.data.reshaped(to: [1]), f.tensor("loss")),
                            worstRelativeError(input.grad!, f.tensor("grad.input")))
        print("parity \(name) worst relative error \(worst)")
        return worst
    }

    @Test func l1Parity() throws {
        let f = try Fixtures.pytorch("l1_loss")
        #expect(f.metadata["reduction"] == "mean")
        #expect(try parity("l1_loss") { L1Loss(reduction: .mean)($0, $1) } < 1e-9)
    }

    @Test func smoothL1Parity() throws {
        let f = try Fixtures.pytorch("smooth_l1_loss")
        let beta = try #require(Double(f.metadata["beta"] ?? ""))
        #expect(f.metadata["reduction"] == "mean" && beta == 0.5)
        #expect(try parity("smooth_l1_loss") { SmoothL1Loss(reduction: .mean, beta: beta)($0, $1) } < 1e-9)
    }

    @Test func huberParity() throws {
        let f = try Fixtures.pytorch("huber_loss")
        let delta = try #require(Double(f.metadata["delta"] ?? ""))
        #expect(f.metadata["reduction"] == "sum" && delta == 1.5)
        #expect(try parity("huber_loss") { HuberLoss(reduction: .sum, delta: delta)($0, $1) } < 1e-9)
    }

    @Test func bceWithLogitsParity() throws {
        let f = try Fixtures.pytorch("bce_with_logits")
        #expect(f.metadata["reduction"] == "mean" && f.metadata["pos_weight"] == "[1.0, 2.0, 0.5]")
        let posWeight = Tensor<Double>([1, 2, 0.5])
        #expect(try parity("bce_with_logits") { BCEWithLogitsLoss(reduction: .mean, posWeight: posWeight)($0, $1) } < 1e-9)
    }

    // MARK: Values PyTorch's formulas give

    @Test func valuesOfSmallCases() {
        let x = Variable(Tensor<Double>([0.5, -2, 3])), y = Tensor<Double>([1, 1, 1])
        // d = [-0.5, -3, 2]
        #expect(L1Loss(reduction: .none)(x, y).scalars == [0.5, 3, 2])
        #expect(SmoothL1Loss(reduction: .none)(x, y).scalars == [0.125, 2.5, 1.5])
        #expect(SmoothL1Loss(reduction: .sum, beta: 0)(x, y).scalar == 5.5)          // beta 0 is L1
        #expect(HuberLoss(reduction: .none, delta: 2)(x, y).scalars == [0.125, 4, 2])
        #expect(abs(HuberLoss(reduction: .mean)(x, y).scalar - (0.125 + 2.5 + 1.5) / 3) < 1e-15)
        // BCE: -log(0.25) for y = 1 at x = 0.25; log clamped at -100 where x is 0 or 1.
        let p = Variable(Tensor<Double>([0.25, 0, 1, 0.5]))
        let bce = BCELoss(reduction: .none)(p, Tensor<Double>([1, 1, 1, 0.3])).scalars
        #expect(abs(bce[0] + Foundation.log(0.25)) < 1e-15 && bce[1] == 100 && bce[2] == 0)
        #expect(abs(bce[3] - Foundation.log(2.0)) < 1e-15)
    }

    /// BCEWithLogitsLoss equals BCELoss after a sigmoid where both are finite, and weights positives
    /// by `posWeight` along the last axis.
    @Test func bceWithLogitsMatchesSigmoidThenBCE() {
        let x = randomTensor([3, 4], seed: 7, low: -4, high: 4)
        let y = randomTensor([3, 4], seed: 8, low: 0, high: 1)
        let fused = BCEWithLogitsLoss(reduction: .none)(Variable(x), y)
        let composed = BCELoss(reduction: .none)(Variable(x).sigmoid(), y)
        #expect(fused.data.maxAbsoluteDifference(composed.data) < 1e-12)
        let w = Tensor<Double>([1, 2, 0.5, 3])
        let weighted = BCEWithLogitsLoss(reduction: .none, posWeight: w)(Variable(x), y)
        for i in 0..<3 {
            for j in 0..<4 {
                let s = 1 / (1 + Foundation.exp(-x[i, j]))
                let expected = -(w[j] * y[i, j] * Foundation.log(s) + (1 - y[i, j]) * Foundation.log(1 - s))
                #expect(abs(weighted.data[i, j] - expected) < 1e-12)
            }
        }
    }

    @Test func bceWithLogitsIsStableAtHugeLogits() {
        for type in ["Double", "Float"] {
            let logits: [Double] = [1000, -1000, 1000, -1000]
            let targets: [Double] = [1, 0, 0, 1]
            // Exact: 0, 0, 1000 and 1000 (log σ(±1000) = 0 or ∓1000); gradients σ(x) - y.
            let expectedLoss = 500.0, expectedGrad = [0.0, 0, 0.25, -0.25]
            if type == "Double" {
                let x = Variable(Tensor<Double>(logits), requiresGrad: true)
                let loss = BCEWithLogitsLoss(posWeight: Tensor<Double>([1, 1, 1, 1]))(x, Tensor<Double>(targets))
                loss.backward()
                #expect(loss.scalar == expectedLoss)
                #expect(x.grad!.scalars == expectedGrad)
            } else {
                let x = Variable(Tensor<Float>(logits.map(Float.init)), requiresGrad: true)
                let loss = BCEWithLogitsLoss()(x, Tensor<Float>(targets.map(Float.init)))
                loss.backward()
                #expect(loss.scalar == Float(expectedLoss))
                #expect(x.grad!.scalars == expectedGrad.map(Float.init))
            }
        }
    }

    // MARK: Gradients

    @Test func gradientsOfInputAndTarget() {
        let losses: [(String, (Variable<Double>, Variable<Double>, Reduction) -> Variable<Double>)] = [
            ("L1Loss", { L1Loss(reduction: $2)($0, $1) }),
            ("SmoothL1Loss", { SmoothL1Loss(reduction: $2, beta: 0.7)($0, $1) }),
            ("HuberLoss", { HuberLoss(reduction: $2, delta: 0.6)($0, $1) }),
            ("BCEWithLogitsLoss", { BCEWithLogitsLoss(reduction: $2)($0, $1) }),
            ("BCEWithLogitsLoss posWeight", {
                BCEWithLogitsLoss(reduction: $2, posWeight: Tensor<Double>(shape: [1, 3], scalars: [0.5, 2, 3]))($0, $1)
            }),
        ]
        // Inputs and targets differ by at least 0.05 and stay 0.05 away from the kinks at ±0.6, ±0.7.
        let x = Tensor<Double>(shape: [2, 3], scalars: [-2.0, 0.3, 1.1, -0.2, 2.5, 0.85])
        let y = Tensor<Double>(shape: [2, 3], scalars: [0.1, 0.9, 0.2, 0.15, 0.8, 0.4])
        for (name, loss) in losses {
            for reduction in [Reduction.mean, .sum, .none] {
                let result = gradcheck(inputs: [x, y]) { v in loss(v[0], v[1], reduction) }
                #expect(result.passed, "\(name) \(reduction): \(result)")
            }
        }
        for reduction in [Reduction.mean, .sum, .none] {
            let p = Tensor<Double>(shape: [2, 3], scalars: [0.1, 0.5, 0.9, 0.3, 0.75, 0.02])
            let result = gradcheck(inputs: [p, y]) { v in BCELoss(reduction: reduction)(v[0], v[1]) }
            #expect(result.passed, "BCELoss \(reduction): \(result)")
        }
    }

    /// With a constant target only the input gets a gradient; the target tensor is left alone.
    @Test func constantTargetGetsNoGradient() {
        let x = Variable(Tensor<Double>([0.2, -0.4]), requiresGrad: true)
        let y = Variable(Tensor<Double>([1, 0]))
        let loss = HuberLoss()(x, y)
        loss.backward()
        #expect(y.grad == nil)
        #expect(x.grad!.scalars == [-0.4, -0.2])
    }

    // MARK: Messages

    func stderr(of result: ExitTest.Result?) -> String {
        String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    }

    @Test func shapeMismatchIsNamed() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = L1Loss()(Variable(Tensor<Float>(zeros: [2, 3])), Tensor<Float>(zeros: [3, 2]))
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("L1Loss: expected the target's shape to equal the input's [2, 3], got [3, 2]"))
    }

    @Test func posWeightThatDoesNotBroadcastIsNamed() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = BCEWithLogitsLoss(posWeight: Tensor<Double>([1, 2]))(Variable(Tensor<Float>(zeros: [2, 3])), Tensor<Float>(zeros: [2, 3]))
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("BCEWithLogitsLoss: posWeight of shape [2] does not broadcast to the input's shape [2, 3]"))
    }

    @Test func bceInputOutsideUnitIntervalIsNamed() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = BCELoss()(Variable(Tensor<Float>([0.5, 1.5])), Tensor<Float>([1, 0]))
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("BCELoss: expected every input element in [0, 1], got 1.5 at flat index 1 of [2]"))
    }

    @Test func badHyperparametersAreNamed() async {
        let huber = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { _ = HuberLoss(delta: 0) }
        #expect(stderr(of: huber).contains("HuberLoss: expected delta > 0, got 0.0"))
        let smooth = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { _ = SmoothL1Loss(beta: -1) }
        #expect(stderr(of: smooth).contains("SmoothL1Loss: expected beta >= 0, got -1.0"))
    }
}
