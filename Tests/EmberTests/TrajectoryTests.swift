import Foundation
import Testing
import Ember

/// PyTorch's float32 training trajectory: same initial weights, same five batches, Adam(lr 0.001).
@Suite struct MNISTTrajectoryTests {
    @Test func fiveAdamStepsMatchPyTorch() throws {
        let f = try Fixtures.pytorch("mnist_rnn32_adam")
        let model = Classifier()          // the API contract's model: RNN(28, 32) and Linear(32, 10) on the last step
        var initial: [String: Tensor<Float>] = [:]
        for name in f.names where name.hasPrefix("init.") { initial[String(name.dropFirst(5))] = try f.tensor(name) }
        try model.loadStateDict(initial)
        let opt = Adam(model.parameters(), lr: Double(f.metadata["lr"] ?? "") ?? .nan)
        let criterion = CrossEntropyLoss()
        var worstLoss: Float = 0, worstWeight: Float = 0
        defer { print("parity mnist_rnn32_adam worst loss relative error \(worstLoss), worst final weight absolute error \(worstWeight)") }
        for step in 0..<5 {
            let images = Variable(try f.tensor("step\(step).images", as: Float.self))
            let labels = try f.integers("step\(step).labels")
            let loss = criterion(model(images), labels)
            let expected = try f.tensor("step\(step).loss", as: Float.self).scalars[0]
            #expect(abs(loss.scalar - expected) <= 1e-5 * abs(expected), "step \(step): loss \(loss.scalar), PyTorch \(expected)")
            worstLoss = max(worstLoss, abs(loss.scalar - expected) / abs(expected))
            opt.zeroGrad()
            loss.backward()
            opt.step()
        }
        for (name, value) in model.stateDict() {
            let expected = try f.tensor("final.\(name)", as: Float.self)
            #expect(value.maxAbsoluteDifference(expected) <= 1e-5, "final \(name): max difference \(value.maxAbsoluteDifference(expected))")
            worstWeight = max(worstWeight, value.maxAbsoluteDifference(expected))
        }
    }
}

@Suite struct MNISTLoaderParityTests {
    /// The fixture's batches are the first training images in order, as pixel/255 with PyTorch:
    /// Ember's MNIST reader gives the same tensors and labels.
    @Test func batchesEqualPyTorchsTensors() throws {
        let f = try Fixtures.pytorch("mnist_rnn32_adam")
        let train = try MNIST(directory: Fixtures.mnist, train: true, limit: 320)
        for step in 0..<5 {
            let (images, labels) = train.batch(Array((step * 64)..<((step + 1) * 64)))
            #expect(images == (try f.tensor("step\(step).images", as: Float.self)))
            #expect(labels == (try f.integers("step\(step).labels")))
        }
    }
}
