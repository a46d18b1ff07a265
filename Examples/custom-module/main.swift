// custom-module: a module of your own in a few lines — an RNN classifier with attention pooling over
// all 28 steps (AttentionClassifier.swift) — trained for one epoch on MNIST.
//
//   swift run -c release custom-module [--data-dir DIR] [--hidden 64] [--epochs 1] [--limit N]
import Ember
import EmberCLI
import Foundation

let usage = """
    usage: custom-module [options]

    Trains AttentionClassifier (AttentionClassifier.swift: an RNN over the 28 rows of each MNIST image,
    its outputs pooled over all 28 steps with learned attention weights, then Linear(-> 10)) with
    CrossEntropyLoss and Adam, then reports the accuracy on the test set.

    options:
      --data-dir DIR         MNIST directory (default: $MNIST_DIR, then ./data/mnist, then the copy in the
                             checkout, Examples/data/mnist; train-rnn downloads it)
      --hidden N             hidden units (default 64)
      --epochs N             epochs (default 1)
      --lr X                 Adam learning rate (default 0.002)
      --limit N              train on the first N images only (default: all)
      --test-limit N         evaluate on the first N test images only (default: all)
      --seed N               seed for initialisation and shuffling (default 0)
      --help                 this text

    environment: MNIST_DIR (data directory)

    exit codes: 0 ok, 64 bad flags, 65 bad data, 66 missing data, 74 I/O failure
    """

do {
    let a = try Arguments(Array(CommandLine.arguments.dropFirst()), command: "custom-module",
                          valued: ["data-dir", "hidden", "epochs", "limit", "test-limit", "seed", "lr"], boolean: ["help"])
    if a.flag("help") { print(usage); exit(0) }
    let hidden = try a.int("hidden", default: 64, in: 1...4096)
    let epochs = try a.int("epochs", default: 1, in: 1...1000)
    let lr = try a.positiveDouble("lr", default: 0.002, upTo: 10)
    let seed = UInt64(try a.int("seed", default: 0, in: 0...Int.max))
    let limit = a.string("limit") == nil ? nil : try a.int("limit", default: 0, in: 1...Int.max)
    let testLimit = a.string("test-limit") == nil ? nil : try a.int("test-limit", default: 0, in: 1...Int.max)
    let directory = MNISTLocation.resolve(dataDir: a.string("data-dir")).directory
    let (train, test) = try MNISTLocation.loadLocal(directory, limit: limit, testLimit: testLimit, command: "custom-module")
    emberThreadCount = ProcessInfo.processInfo.activeProcessorCount
    manualSeed(seed)
    let model = AttentionClassifier<Float>(inputSize: 28, hiddenSize: hidden, classes: 10)
    print("AttentionClassifier: \(model.parameterCount) parameters: \(model.namedParameters().map(\.name).joined(separator: ", "))")
    let optimizer = Adam(model.parameters(), lr: lr)
    let criterion = CrossEntropyLoss()
    let loader = DataLoader(train, batchSize: 64, shuffle: true, seed: seed)
    for epoch in 1...epochs {
        let start = Date()
        var total = 0.0, seen = 0
        for (step, (images, labels)) in loader.enumerated() {
            let loss = criterion(model(Variable(images)), labels)
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
            total += Double(loss.scalar) * Double(labels.count)
            seen += labels.count
            if (step + 1) % 200 == 0 { print("Epoch [\(epoch)/\(epochs)], Step [\(step + 1)/\(loader.count)], Loss: \(String(format: "%.4f", loss.scalar))") }
        }
        print("Epoch \(epoch)/\(epochs): train loss \(String(format: "%.4f", total / Double(max(seen, 1)))), \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
    }
    var correct = 0
    withNoGrad {
        for (images, labels) in DataLoader(test, batchSize: 1000) {
            correct += zip(model(Variable(images)).argmax(axis: 1), labels).filter { $0 == $1 }.count
        }
    }
    print("Accuracy of the attention-pooling model on the \(test.count) test images: \(String(format: "%.2f", 100 * Double(correct) / Double(max(test.count, 1)))) %")
} catch let error as CommandError {
    printError(error.message)
    if error.code == .usage { printError("run 'custom-module --help' for the options") }
    exit(error.code.rawValue)
} catch {
    printError("custom-module: \(error)")
    exit(ExitCode.ioError.rawValue)
}
