import Foundation
import Testing
import Ember

/// Runs a built example with arguments and environment; returns exit status, stdout and stderr.
func runExample(_ name: String, _ arguments: [String], environment: [String: String] = [:],
                currentDirectory: URL? = nil) throws -> (status: Int32, out: String, err: String) {
    let binary = productsDirectory.appendingPathComponent(name)
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    var env = ProcessInfo.processInfo.environment
    env["MNIST_DIR"] = nil
    for (k, v) in environment { env[k] = v }
    process.environment = env
    let outPipe = Pipe(), errPipe = Pipe()
    process.standardOutput = outPipe
    process.standardError = errPipe
    try process.run()
    let out = outPipe.fileHandleForReading.readDataToEndOfFile(), err = errPipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

/// The directory holding the built products (next to the test bundle).
let productsDirectory: URL = {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("train-rnn").path) && url.path != "/" {
        url = url.deletingLastPathComponent()
    }
    return url
}()

/// The MNIST copy committed with the project.
let mnistDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Examples/data/mnist")

func scratch() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ember-examples-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// train-rnn's model, for reading its checkpoints.
final class TrainRNNModel: Module {
    let rnn = RNN<Float>(inputSize: 28, hiddenSize: 16, batchFirst: true)
    let fc = Linear<Float>(inFeatures: 16, outFeatures: 10)
    func callAsFunction(_ x: Variable<Float>) -> Variable<Float> { fc(rnn(x).output.select(axis: 1, index: -1)) }
}

@Suite struct TrainRNNTests {
    @Test func smallRunLearnsSavesAndReloads() throws {
        let dir = scratch()
        let ckpt = dir.appendingPathComponent("best.safetensors"), csv = dir.appendingPathComponent("m.csv"), svg = dir.appendingPathComponent("p.svg")
        let r = try runExample("train-rnn", ["--data-dir", mnistDirectory.path, "--hidden", "16", "--lr", "0.01", "--epochs", "3",
                                            "--limit", "2000", "--test-limit", "500", "--save", ckpt.path, "--metrics", csv.path,
                                            "--plot", svg.path, "--no-progress"])
        #expect(r.status == 0, "\(r.err)")
        let lines = r.out.split(separator: "\n")
        #expect(lines.last?.hasPrefix("Accuracy of the model on the 500 test images: ") == true, "\(r.out)")
        #expect(lines.last?.hasSuffix(" %") == true)
        // One CSV row per epoch, and the training loss falls.
        let rows = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        #expect(rows.count == 3)
        let losses = rows.map { Double($0[1])! }
        #expect(losses[2] < losses[0], "\(losses)")
        #expect(try String(contentsOf: svg, encoding: .utf8).contains("test accuracy"))
        // The checkpoint reloads to the same predictions: the accuracy it recorded is recomputed exactly.
        let file = try SafeTensorsFile(contentsOf: ckpt)
        let saved = Double(file.metadata["accuracy"]!)!
        let model = TrainRNNModel()
        try model.loadStateDict(Dictionary(uniqueKeysWithValues: try file.names.filter { !$0.hasPrefix("optimizer.") }.map { ($0, try file.tensor($0, as: Float.self)) }))
        let test = try MNIST(directory: mnistDirectory, train: false, limit: 500)
        let (images, labels) = test.batch(Array(0..<500))
        let predicted = withNoGrad { model(Variable(images)).argmax(axis: 1) }
        let accuracy = 100 * Double(zip(predicted, labels).filter { $0 == $1 }.count) / 500
        #expect(accuracy == saved)
        #expect(rows.map { Double($0[2])! }.max() == saved)        // the best epoch was kept
        // Resuming at the saved epoch evaluates the same model.
        let epoch = file.metadata["epoch"]!
        let resumed = try runExample("train-rnn", ["--data-dir", mnistDirectory.path, "--hidden", "16", "--epochs", epoch, "--limit", "2000",
                                                  "--test-limit", "500", "--resume", ckpt.path, "--no-progress"])
        #expect(resumed.status == 0, "\(resumed.err)")
        #expect(resumed.out.contains(String(format: "Accuracy of the model on the 500 test images: %.2f %%", saved)), "\(resumed.out)")
    }

    @Test func exitCodes() throws {
        let dir = scratch()
        for args in [["--hidden", "abc"], ["--hidden"], ["--hidden", "-3"], ["--cell", "transformer"], ["--lr", "0"], ["--bogus"], ["--epochs", "0"]] {
            let r = try runExample("train-rnn", args)
            #expect(r.status == 64, "\(args): \(r.err)")
            #expect(r.err.hasPrefix("train-rnn: ") && !r.err.contains("Fatal error"), "\(args): \(r.err)")
        }
        // Missing data that cannot be downloaded: 66, naming the files and where they go.
        let empty = dir.appendingPathComponent("empty")
        let missing = try runExample("train-rnn", ["--data-dir", empty.path], environment: ["EMBER_MNIST_MIRRORS": "http://127.0.0.1:9/"])
        #expect(missing.status == 66, "\(missing.err)")
        #expect(missing.err.contains("train-images-idx3-ubyte.gz") && missing.err.contains(empty.path))
        // Present but corrupt: 65, never re-downloaded.
        let corrupt = dir.appendingPathComponent("corrupt")
        try FileManager.default.createDirectory(at: corrupt, withIntermediateDirectories: true)
        for name in MNIST.allFiles { try FileManager.default.copyItem(at: mnistDirectory.appendingPathComponent(name), to: corrupt.appendingPathComponent(name)) }
        try Data("garbage".utf8).write(to: corrupt.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
        let bad = try runExample("train-rnn", ["--data-dir", corrupt.path, "--limit", "64"])
        #expect(bad.status == 65, "\(bad.err)")
        #expect(bad.err.contains("t10k-labels-idx1-ubyte.gz"))
        // An unwritable metrics file: 74.
        let io = try runExample("train-rnn", ["--data-dir", mnistDirectory.path, "--epochs", "1", "--limit", "64", "--test-limit", "64",
                                             "--metrics", "/nonexistent-dir/m.csv", "--no-progress"])
        #expect(io.status == 74, "\(io.err)")
        // A checkpoint of another architecture: 65.
        let ckpt = dir.appendingPathComponent("c.safetensors")
        _ = try runExample("train-rnn", ["--data-dir", mnistDirectory.path, "--epochs", "1", "--hidden", "8", "--limit", "64", "--test-limit", "64", "--save", ckpt.path, "--no-progress"])
        let other = try runExample("train-rnn", ["--data-dir", mnistDirectory.path, "--hidden", "9", "--limit", "64", "--resume", ckpt.path, "--no-progress"])
        #expect(other.status == 65 && other.err.contains("hidden 8"), "\(other.err)")
        let help = try runExample("train-rnn", ["--help"])
        #expect(help.status == 0 && help.out.contains("--target-accuracy"))
    }
}
