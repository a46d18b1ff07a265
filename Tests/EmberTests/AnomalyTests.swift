import Testing
@testable import Ember

@Suite struct AnomalyTests {
    @Test func namesTheForwardOperation() {
        let x = Variable(Tensor<Double>([0, 1]), requiresGrad: true)
        do {
            _ = try withAnomalyDetection { (x.exp() * 2).log().sum() + x.log().sum() }
            Issue.record("no anomaly reported")
        } catch let error as AnomalyError {
            #expect(error.operation == "log" && error.phase == .forward && error.value == "infinity", "\(error)")
        } catch { Issue.record("\(error)") }
    }

    @Test func namesTheBackwardRule() {
        let x = Variable(Tensor<Double>([0, 4]), requiresGrad: true)
        do {
            try withAnomalyDetection { x.sqrt().sum().backward() }
            Issue.record("no anomaly reported")
        } catch let error as AnomalyError {
            #expect(error.operation == "sqrt" && error.phase == .backward, "\(error)")
            #expect(error.description.contains("backward rule of 'sqrt' produced infinity"))
        } catch { Issue.record("\(error)") }
    }

    @Test func downstreamOperationsAreNotBlamedAndCleanRunsReturn() throws {
        let x = Variable(Tensor<Double>([-1, 4]), requiresGrad: true)
        do {
            _ = try withAnomalyDetection { (x.sqrt() * 3 + 1).tanh().sum() }
            Issue.record("no anomaly reported")
        } catch let error as AnomalyError {
            #expect(error.operation == "sqrt" && error.value == "NaN")
        }
        let y = try withAnomalyDetection { (x * 2).sum().scalar }
        #expect(y == 6)
        #expect(!isAnomalyDetectionEnabled)
    }

    @Test func fusedNodesAreChecked() {
        // Step 1: x·W_ih overflows to +inf and tanh saturates to 1 (finite); step 2 adds W_hh·h = -inf
        // to +inf: NaN, which the fused node's output carries.
        let rnn = RNN<Float>(inputSize: 2, hiddenSize: 3)
        rnn.weights[0].data = Tensor(repeating: .greatestFiniteMagnitude, shape: [3, 2])
        rnn.weights[1].data = Tensor(repeating: -.greatestFiniteMagnitude, shape: [3, 3])
        let x = Variable(Tensor<Float>(ones: [2, 1, 2]))
        do {
            _ = try withAnomalyDetection { rnn(x).output.sum() }
            Issue.record("no anomaly reported")
        } catch let error as AnomalyError {
            #expect(error.operation == "RNN" && error.phase == .forward, "\(error)")
        } catch { Issue.record("\(error)") }
    }
}
