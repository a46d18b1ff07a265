import Foundation
import Testing

/// The variable-length sequence example on a small slice of MNIST.
@Suite struct SequenceClassifierExampleTests {
    @Test func learnsFromBucketedPaddedSequences() throws {
        let r = try runExample("sequence-classifier", ["--data-dir", mnistDirectory.path, "--limit", "1000", "--test-limit", "300",
                                                       "--epochs", "3", "--hidden", "24", "--batch-size", "32", "--lr", "0.01"])
        #expect(r.status == 0, "\(r.err)")
        let lines = r.out.split(separator: "\n").map(String.init)
        #expect(lines.contains("900 training, 100 validation, 300 test sequences of 14-28 rows"), "\(r.out)")
        #expect(r.out.contains("""
            SequenceClassifier(
              (conv): Conv1d(28, 24, kernel_size=(3,), stride=(1,), padding=(1,))
              (norm): LayerNorm((24,), eps=1e-05, elementwise_affine=True, bias=True)
              (gru): GRU(24, 24, batch_first=True)
              (fc): Linear(in_features=24, out_features=10, bias=True)
            )
            """), "\(r.out)")
        // Bucketing pads less than shuffled batches do.
        let padding = lines.first { $0.hasPrefix("padding: ") }.map { $0.split(separator: " ").compactMap { Double($0) } } ?? []
        #expect(padding.count == 2 && padding[0] < padding[1] / 2, "\(padding)")
        // The loss falls and the test accuracy is well above chance (10 %).
        let losses = lines.filter { $0.hasPrefix("Epoch ") }.compactMap { line in
            line.components(separatedBy: "train loss ").last?.split(separator: ",").first.flatMap { Double($0) }
        }
        #expect(losses.count == 3 && losses[2] < losses[0], "\(losses)")
        let accuracy = lines.last { $0.hasPrefix("Accuracy on the 300 test sequences: ") }
            .flatMap { Double($0.split(separator: " ")[6]) }
        #expect((accuracy ?? 0) > 30, "\(r.out)")
    }

    @Test func badFlags() throws {
        for args in [["--epochs", "0"], ["--limit", "x"], ["--bogus"]] {
            let r = try runExample("sequence-classifier", args)
            #expect(r.status == 64, "\(args): \(r.err)")
            #expect(r.err.hasPrefix("sequence-classifier: "), "\(args): \(r.err)")
        }
        let missing = try runExample("sequence-classifier", ["--data-dir", scratch().appendingPathComponent("none").path])
        #expect(missing.status == 66, "\(missing.err)")
    }
}
