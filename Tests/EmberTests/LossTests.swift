import Foundation
import Testing
import Ember

@Suite struct LossTests {
    @Test func crossEntropyIsStableForHugeLogits() {
        let logits = Variable(Tensor<Float>(shape: [3, 3], scalars: [1000, -1000, 0, -1000, 1000, 1000, 0, 0, -1000]), requiresGrad: true)
        let loss = CrossEntropyLoss()(logits, [0, 0, 2])
        #expect(loss.scalar.isFinite)
        // Row 0: correct class dominates → 0; row 1: target far below → 2000 + log 2; row 2: 1000 + log 2.
        #expect(abs(loss.scalar - Float((0 + 2000 + Foundation.log(2.0) + 1000 + Foundation.log(2.0)) / 3)) < 1e-2)
        loss.backward()
        #expect(logits.grad!.scalars.allSatisfy { $0.isFinite })
    }

    @Test func reductionsAndIgnoreIndex() {
        let x = randomTensor([4, 5], seed: 3)
        let targets = [1, -100, 4, 0]
        let none = CrossEntropyLoss(reduction: .none)(Variable(x), targets)
        #expect(none.shape == [4] && none.scalars[1] == 0)
        let sum = CrossEntropyLoss(reduction: .sum)(Variable(x), targets).scalar
        let mean = CrossEntropyLoss()(Variable(x), targets).scalar
        #expect(abs(sum - none.scalars.reduce(0, +)) < 1e-12)
        #expect(abs(mean - sum / 3) < 1e-12)               // mean over the three counted targets
        let logp = x.logSoftmax(axis: 1)
        #expect(abs(none.scalars[0] + logp[0, 1]) < 1e-12)
        // NLL on log-probabilities equals cross-entropy on logits.
        let nll = NLLLoss(reduction: .none)(Variable(logp), targets)
        #expect(nll.data.maxAbsoluteDifference(none.data) < 1e-12)
    }

    @Test func gradients() {
        for reduction in [Reduction.mean, .sum, .none] {
            let ce = gradcheck(inputs: [randomTensor([4, 5], seed: 1, low: -3, high: 3)]) { v in
                CrossEntropyLoss(reduction: reduction)(v[0], [1, -100, 4, 0])
            }
            #expect(ce.passed, "\(reduction): \(ce)")
            let nll = gradcheck(inputs: [randomTensor([3, 4], seed: 2)]) { v in NLLLoss(reduction: reduction)(v[0], [3, 0, 1]) }
            #expect(nll.passed, "\(reduction): \(nll)")
            let mse = gradcheck(inputs: [randomTensor([2, 3], seed: 3), randomTensor([2, 3], seed: 4)]) { v in
                MSELoss(reduction: reduction)(v[0], v[1])
            }
            #expect(mse.passed, "\(reduction): \(mse)")
        }
        #expect(MSELoss()(Variable(Tensor<Double>([1, 2])), Tensor<Double>([0, 4])).scalar == 2.5)
    }
}
