import Foundation
import Testing
import Ember
@testable import custom_module

@Suite struct ForwardPassExampleTests {
    @Test func printsTheSeedWalkThrough() throws {
        let r = try runExample("forward-pass", [])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("state              h = tanh(a)       = [0.537, 0.462]"))
        #expect(r.out.contains("state              h = tanh(a)       = [0.860, 0.884]"))
        #expect(r.out.contains("output             y = h·w_out + b   = 1.561"))
        #expect(r.out.contains("output             y = h·w_out + b   = 2.727"))
        #expect(r.out.contains("d/db_out = [2.000]"))
        #expect(r.out.contains("gradcheck passed"))
    }
}

@Suite struct CustomModuleExampleTests {
    @Test func attentionClassifierPassesGradcheck() {
        manualSeed(4)
        let model = AttentionClassifier<Double>(inputSize: 3, hiddenSize: 4, classes: 5)
        #expect(model.namedParameters().map(\.name) == ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                                                        "score.weight", "score.bias", "fc.weight", "fc.bias"])
        var g = SeededGenerator(seed: 1)
        let x = Tensor<Double>(randomUniform: [2, 6, 3], lowerBound: -1, upperBound: 1, generator: &g)
        // Gradients with respect to the input and every parameter of the module.
        let result = gradcheck(model, inputs: [x]) { v in model(v[0]) }
        #expect(result.passed, "\(result)")
        #expect(result.entriesChecked == 5 * 2 * (x.count + model.parameterCount))
    }

    @Test func trainsOnASmallSubset() throws {
        let r = try runExample("custom-module", ["--data-dir", mnistDirectory.path, "--limit", "640", "--test-limit", "200", "--hidden", "16"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("Accuracy of the attention-pooling model on the 200 test images: "))
        #expect(r.out.contains("score.weight"))
    }
}

@Suite struct CharRNNExampleTests {
    func smallText() throws -> URL {
        let url = scratch().appendingPathComponent("text.txt")
        let sentence = "the quick brown fox jumps over the lazy dog. a small cat sat on the mat and the dog ran. "
        try String(repeating: sentence, count: 20).write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func lossFallsSamplesAndReloads() throws {
        let text = try smallText()
        let model = text.deletingLastPathComponent().appendingPathComponent("char.safetensors")
        let r = try runExample("char-rnn", ["--text", text.path, "--iterations", "600", "--print-every", "100", "--sample-every", "300",
                                           "--sample-length", "40", "--save", model.path])
        #expect(r.status == 0, "\(r.err)")
        let losses = r.out.split(separator: "\n").filter { $0.hasPrefix("iter ") }.map { Double($0.split(separator: " ").last!)! }
        #expect(losses.count >= 6)
        // Starts at -log(1/vocab) * seq-length: 28 distinct characters (a pangram, space and period).
        #expect(abs(losses[0] - (-Foundation.log(1.0 / 28) * 25)) < 0.1, "\(losses)")
        #expect(losses.last! < losses[0], "\(losses)")
        #expect(r.out.components(separatedBy: "----\n").count >= 3)          // samples were printed
        let sampled = try runExample("char-rnn", ["--load", model.path, "--sample-length", "30", "--prime", "the "])
        #expect(sampled.status == 0, "\(sampled.err)")
        #expect(sampled.out.hasPrefix("the ") && sampled.out.count >= 34)
        #expect(Set(sampled.out.replacingOccurrences(of: "\n", with: "")).isSubset(of: Set("the quick brown fox jumps over the lazy dog. a small cat sat on the mat and the dog ran.")))
    }

    @Test func badInputs() throws {
        let dir = scratch()
        let empty = dir.appendingPathComponent("empty.txt"), binary = dir.appendingPathComponent("bin.dat")
        try Data().write(to: empty)
        try Data([0, 159, 146, 150, 0, 1]).write(to: binary)
        for (args, code) in [(["--iterations", "5"], Int32(64)), (["--text", dir.appendingPathComponent("nope.txt").path], 66),
                             (["--text", empty.path], 65), (["--text", binary.path], 65), (["--text", empty.path, "--hidden", "0"], 64),
                             (["--text", empty.path, "--optimizer", "sgd"], 64), (["--load", binary.path], 65),
                             (["--text", empty.path, "--lr", "x"], 64)] {
            let r = try runExample("char-rnn", args)
            #expect(r.status == code, "\(args): \(r.err)")
            #expect(r.err.hasPrefix("char-rnn: ") && !r.err.contains("Fatal"), "\(args): \(r.err)")
        }
    }
}
