// train-rnn: trains a recurrent network on MNIST, reading each 28x28 image as 28 steps of 28
// pixels, and reports the test accuracy — PyTorch's classic RNN example as a command.
//
//   swift run -c release train-rnn --hidden 32 --lr 0.001
import Ember
import EmberCLI
import Foundation

let usage = """
    usage: train-rnn [options]

    Trains RNN/LSTM/GRU(28 -> hidden) over the 28 rows of each MNIST image, then Linear(-> 10) on the
    last step, with CrossEntropyLoss and Adam, and evaluates on the test set after every epoch.

    options:
      --hidden N             hidden units (default 32)
      --lr X                 Adam learning rate (default 0.001)
      --epochs N             epochs (default 10)
      --batch-size N         batch size (default 64)
      --layers N             stacked recurrent layers (default 1)
      --cell rnn|lstm|gru    recurrent cell (default rnn)
      --bidirectional        run a second direction backwards over the rows
      --seed N               seed for initialisation and shuffling (default 0)
      --data-dir DIR         MNIST directory (default: $MNIST_DIR, then ./data/mnist, then the copy in the
                             checkout, Examples/data/mnist; a named directory is downloaded into if empty)
      --save FILE            keep the best model and optimizer state in FILE (safetensors, written atomically)
      --resume FILE          continue from a file written by --save
      --target-accuracy P    stop once the test accuracy reaches P percent (saving first, with --save)
      --metrics FILE.csv     write one CSV row per epoch
      --plot FILE.svg        draw train loss and test accuracy per epoch
      --threads N            cores to use (default: all; results do not depend on it)
      --limit N              train on the first N images only (quick runs and tests)
      --test-limit N         evaluate on the first N test images only
      --no-progress          plain log lines even on a terminal
      --detect-anomaly       check every operation for NaN/infinity and name the first that made one (slower)
      --help                 this text

    environment: MNIST_DIR (data directory), EMBER_MNIST_MIRRORS (comma-separated download URLs)

    exit codes: 0 ok, 64 bad flags, 65 bad data or checkpoint, 66 missing data, 74 I/O failure
    """

// MARK: - Options

struct Options {
    var hidden = 32, epochs = 10, batchSize = 64, layers = 1, threads = 1
    var lr = 0.001
    var cell = "rnn"
    var bidirectional = false
    var seed: UInt64 = 0
    var dataDir: String?
    var save: String?, resume: String?, metrics: String?, plot: String?
    var targetAccuracy: Double?
    var limit: Int?, testLimit: Int?
    var progress = true
    var detectAnomaly = false

    init(_ arguments: [String]) throws {
        let a = try Arguments(arguments, command: "train-rnn",
                              valued: ["hidden", "lr", "epochs", "batch-size", "layers", "cell", "seed", "data-dir", "save",
                                       "resume", "target-accuracy", "metrics", "plot", "threads", "limit", "test-limit"],
                              boolean: ["bidirectional", "no-progress", "detect-anomaly", "help"])
        if a.flag("help") { print(usage); exit(0) }
        hidden = try a.int("hidden", default: 32, in: 1...4096)
        lr = try a.positiveDouble("lr", default: 0.001, upTo: 1e38)
        epochs = try a.int("epochs", default: 10, in: 1...100_000)
        batchSize = try a.int("batch-size", default: 64, in: 1...60_000)
        layers = try a.int("layers", default: 1, in: 1...64)
        cell = try a.choice("cell", default: "rnn", ["rnn", "lstm", "gru"])
        bidirectional = a.flag("bidirectional")
        seed = UInt64(try a.int("seed", default: 0, in: 0...Int.max))
        threads = try a.int("threads", default: ProcessInfo.processInfo.activeProcessorCount, in: 1...256)
        dataDir = a.string("data-dir")
        save = a.string("save")
        resume = a.string("resume")
        metrics = a.string("metrics")
        plot = a.string("plot")
        targetAccuracy = try a.double("target-accuracy", default: nil, in: 0...100)
        limit = a.string("limit") == nil ? nil : try a.int("limit", default: 0, in: 1...Int.max)
        testLimit = a.string("test-limit") == nil ? nil : try a.int("test-limit", default: 0, in: 1...Int.max)
        progress = !a.flag("no-progress") && standardOutputIsTerminal
        detectAnomaly = a.flag("detect-anomaly")
        for (flag, value) in [("data-dir", dataDir), ("save", save), ("resume", resume), ("metrics", metrics), ("plot", plot)] {
            if let value, value.isEmpty { throw CommandError("train-rnn: --\(flag) needs a non-empty path", code: .usage) }
        }
    }
}

// MARK: - Model

final class Model: Module {
    let rnn: RecurrentLayer<Float>
    let fc: Linear<Float>

    init(cell: String, hidden: Int, layers: Int, bidirectional: Bool) {
        rnn = .make(cell == "lstm" ? .lstm : (cell == "gru" ? .gru : .rnnTanh), inputSize: 28, hiddenSize: hidden,
                    numLayers: layers, batchFirst: true, bidirectional: bidirectional)
        fc = Linear<Float>(inFeatures: hidden * (bidirectional ? 2 : 1), outFeatures: 10)
    }

    /// `[B, 28, 28]` images → `[B, 10]` logits.
    func callAsFunction(_ x: Variable<Float>) -> Variable<Float> {
        fc(rnn(x, state: nil).output.select(axis: 1, index: -1))
    }
}

// MARK: - Checkpoints

/// Model parameters, optimizer state (prefixed `optimizer.`) and metadata in one safetensors file.
func saveCheckpoint(_ url: URL, model: Model, optimizer: Adam<Float>, options: Options, epoch: Int, accuracy: Double) throws {
    var entries: [String: SafeTensorsFile.Entry] = model.stateDict().mapValues { .float($0) }
    for (k, v) in optimizer.stateDict() { entries["optimizer." + k] = .float(v) }
    let metadata = ["format": "ember-train-rnn", "cell": options.cell, "hidden": "\(options.hidden)", "layers": "\(options.layers)",
                    "bidirectional": "\(options.bidirectional)", "epoch": "\(epoch)", "accuracy": "\(accuracy)", "seed": "\(options.seed)"]
    do { try SafeTensorsFile.write(entries: entries, metadata: metadata, to: url) } catch {
        throw CommandError("train-rnn: cannot write \(url.path): \(reason(of: error, about: url.path))", code: .ioError)
    }
}

/// Loads a checkpoint into the model and optimizer; returns the epochs completed and the best accuracy.
func loadCheckpoint(_ url: URL, model: Model, optimizer: Adam<Float>, options: Options) throws -> (epoch: Int, accuracy: Double) {
    guard FileManager.default.fileExists(atPath: url.path) else {
        throw CommandError("train-rnn: --resume: no such file \(url.path)", code: .noInput)
    }
    do {
        let file = try SafeTensorsFile(contentsOf: url)
        let m = file.metadata
        guard m["format"] == "ember-train-rnn" else { throw CommandError("train-rnn: \(url.path) is not a train-rnn checkpoint", code: .dataError) }
        let theirs = "cell \(m["cell"] ?? "?"), hidden \(m["hidden"] ?? "?"), layers \(m["layers"] ?? "?"), bidirectional \(m["bidirectional"] ?? "?")"
        let ours = "cell \(options.cell), hidden \(options.hidden), layers \(options.layers), bidirectional \(options.bidirectional)"
        guard theirs == ours else { throw CommandError("train-rnn: \(url.path) holds a model with \(theirs), but the flags ask for \(ours)", code: .dataError) }
        var modelState: [String: Tensor<Float>] = [:], optimizerState: [String: Tensor<Float>] = [:]
        for name in file.names {
            if name.hasPrefix("optimizer.") { optimizerState[String(name.dropFirst(10))] = try file.tensor(name) }
            else { modelState[name] = try file.tensor(name) }
        }
        try model.loadStateDict(modelState)
        try optimizer.loadStateDict(optimizerState)
        return (Int(m["epoch"] ?? "") ?? 0, Double(m["accuracy"] ?? "") ?? 0)
    } catch let error as CommandError {
        throw error
    } catch {
        throw CommandError("train-rnn: cannot resume from \(url.path): \(reason(of: error, about: url.path))", code: .dataError)
    }
}

// MARK: - Interruption

nonisolated(unsafe) var interrupted: sig_atomic_t = 0

// MARK: - Main

func run() throws {
    let options = try Options(Array(CommandLine.arguments.dropFirst()))
    // The files written after each epoch: an unwritable one is reported now, before the data is
    // loaded (or downloaded) and before any training, not once the first epoch's work is done.
    for (flag, path) in [("save", options.save), ("metrics", options.metrics), ("plot", options.plot)] {
        if let path { try checkWritable(path, flag: flag, command: "train-rnn") }
    }
    emberThreadCount = options.threads
    signal(SIGINT) { _ in interrupted = 1 }
    signal(SIGTERM) { _ in interrupted = 1 }
    // A parent may have started us with these signals blocked; Ctrl-C must still work.
    var signals = sigset_t()
    sigemptyset(&signals)
    sigaddset(&signals, SIGINT)
    sigaddset(&signals, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &signals, nil)

    // Data: --data-dir, $MNIST_DIR, ./data/mnist, then the copy in the checkout; downloaded if none is there.
    let directory = MNISTLocation.resolve(dataDir: options.dataDir).directory
    let train: MNIST, test: MNIST
    do {
        var bar: ProgressBar? = nil
        // EMBER_MNIST_MIRRORS="url1,url2" replaces the public mirrors (a local copy, a proxy, tests).
        let mirrors = ProcessInfo.processInfo.environment["EMBER_MNIST_MIRRORS"].map {
            $0.split(separator: ",").compactMap { URL(string: String($0).hasSuffix("/") ? String($0) : $0 + "/") }
        } ?? MNISTDownloader.defaultMirrors
        try MNISTDownloader.ensureFiles(in: directory, mirrors: mirrors) { name, received, expected in
            if bar == nil { printError("downloading MNIST into \(directory.path)") }
            bar = bar ?? ProgressBar(total: expected ?? 1)
            if let expected { bar!.update(received, "\(name) \(grouped(received / 1024)) KB of \(grouped(expected / 1024)) KB", force: received == expected) }
        }
        if bar != nil { ProgressBar(total: 1).finish() }
        train = try MNIST(directory: directory, train: true, limit: options.limit)
        test = try MNIST(directory: directory, train: false, limit: options.testLimit)
    } catch let error as DataError {
        switch error {
        case .missing: throw CommandError("train-rnn: \(error)", code: .noInput)
        case .corrupt: throw CommandError("train-rnn: \(error)", code: .dataError)
        case .io: throw CommandError("train-rnn: \(error)", code: .ioError)
        }
    }

    manualSeed(options.seed)
    let model = Model(cell: options.cell, hidden: options.hidden, layers: options.layers, bidirectional: options.bidirectional)
    let optimizer = Adam(model.parameters(), lr: options.lr)
    let criterion = CrossEntropyLoss()
    // No seed of its own: like PyTorch's DataLoader(shuffle=True), every epoch draws its order from
    // the default generator, so --seed S starts where torch.manual_seed(S) does, in weights and order.
    let loader = DataLoader(train, batchSize: options.batchSize, shuffle: true)
    var startEpoch = 0, best = -1.0
    if let resume = options.resume {
        (startEpoch, best) = try loadCheckpoint(URL(fileURLWithPath: resume), model: model, optimizer: optimizer, options: options)
        print("Resumed from \(resume) after epoch \(startEpoch) (test accuracy \(String(format: "%.2f", best)) %)")
    }
    for _ in 0..<startEpoch { loader.skipEpoch() }   // the draws the completed epochs made

    var history: [(loss: Double, accuracy: Double, seconds: Double, samplesPerSecond: Double)] = []
    var accuracy = best
    let steps = loader.count
    let namedParameters = model.namedParameters()   // the same variables throughout; looked up once
    for epoch in startEpoch..<options.epochs {
        model.train()
        let start = Date()
        var total = 0.0, seen = 0, step = 0
        var bar = ProgressBar(total: steps)
        for (images, labels) in loader {
            if interrupted != 0 { break }
            step += 1
            let loss: Variable<Float>
            do {
                loss = try withAnomalyDetectionIf(options.detectAnomaly) {
                    let loss = criterion(model(Variable(images)), labels)
                    optimizer.zeroGrad()
                    loss.backward()
                    return loss
                }
            } catch let anomaly as AnomalyError {
                throw CommandError("train-rnn: anomaly at epoch \(epoch + 1), step \(step): \(anomaly); stopping (nothing was saved from this epoch)", code: .dataError)
            }
            guard loss.scalar.isFinite else {
                throw CommandError("train-rnn: the loss became \(loss.scalar) at epoch \(epoch + 1), step \(step); stopping without saving (try a smaller --lr, or --detect-anomaly to find the operation)", code: .dataError)
            }
            if let bad = firstNonFinite(namedParameters.map { ($0.name, $0.parameter.grad) }) {
                throw CommandError("train-rnn: the gradient of \(bad) became NaN or infinite at epoch \(epoch + 1), step \(step); stopping without saving (try a smaller --lr, or --detect-anomaly)", code: .dataError)
            }
            optimizer.step()
            if let bad = firstNonFinite(namedParameters.map { ($0.name, $0.parameter.data) }) {
                throw CommandError("train-rnn: the Adam step made \(bad) NaN or infinite at epoch \(epoch + 1), step \(step) (learning rate \(options.lr)); stopping without saving", code: .dataError)
            }
            total += Double(loss.scalar) * Double(labels.count)
            seen += labels.count
            let rate = Double(seen) / max(Date().timeIntervalSince(start), 1e-9)
            if options.progress {
                bar.update(step, "Epoch \(epoch + 1)/\(options.epochs)  loss \(String(format: "%.4f", loss.scalar))  \(grouped(Int(rate))) samples/s", force: step == steps)
            } else if step % 100 == 0 {
                print("Epoch [\(epoch + 1)/\(options.epochs)], Step [\(step)/\(steps)], Loss: \(String(format: "%.4f", loss.scalar))")
            }
        }
        if options.progress { bar.finish() }
        if interrupted != 0 {
            printError("train-rnn: interrupted during epoch \(epoch + 1); files on disk are from completed epochs only")
            exit(ExitCode.interrupted.rawValue)
        }
        let seconds = Date().timeIntervalSince(start)
        accuracy = evaluate(model, test)
        let trainLoss = total / Double(max(seen, 1))
        history.append((trainLoss, accuracy, seconds, Double(seen) / seconds))
        print("Epoch \(epoch + 1)/\(options.epochs): train loss \(String(format: "%.4f", trainLoss)), test accuracy \(String(format: "%.2f", accuracy)) %, \(String(format: "%.1f", seconds)) s, \(grouped(Int(Double(seen) / seconds))) samples/s")
        if let path = options.save, accuracy > best {
            try saveCheckpoint(URL(fileURLWithPath: path), model: model, optimizer: optimizer, options: options, epoch: epoch + 1, accuracy: accuracy)
        }
        best = max(best, accuracy)
        try writeReports(options, history: history, firstEpoch: startEpoch)
        if let target = options.targetAccuracy, accuracy >= target {
            print("Reached the target accuracy of \(String(format: "%.2f", target)) % after epoch \(epoch + 1)")
            break
        }
    }
    if history.isEmpty { accuracy = evaluate(model, test) }
    print("Accuracy of the model on the \(test.count) test images: \(String(format: "%.2f", accuracy)) %")
}

/// The name of the first tensor holding a NaN or infinity.
func firstNonFinite(_ tensors: [(String, Tensor<Float>?)]) -> String? {
    tensors.first { $0.1.map { !allFinite($0) } ?? false }?.0
}

/// Whether every element is finite: x·0 is 0 for a finite x and NaN for an infinity or a NaN, so
/// the sum of x·0 over sixteen lanes at a time stays 0 exactly when all are finite (this runs twice
/// per training step over every parameter, so it is vectorised rather than a `contains` per element).
func allFinite(_ tensor: Tensor<Float>) -> Bool {
    tensor.scalars.withUnsafeBufferPointer { p in
        guard let base = p.baseAddress else { return true }
        var lanes = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= p.count {
            lanes += UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self) * 0
            i += 16
        }
        var rest: Float = 0
        while i < p.count { rest += p[i] * 0; i += 1 }
        return lanes.sum() + rest == 0
    }
}

/// `withAnomalyDetection` when asked, otherwise just the body.
func withAnomalyDetectionIf<R>(_ on: Bool, _ body: () throws -> R) throws -> R {
    on ? try withAnomalyDetection(body) : try body()
}

/// Percentage of test images classified correctly (evaluation mode, no graph).
func evaluate(_ model: Model, _ test: MNIST) -> Double {
    model.eval()
    defer { model.train() }
    var correct = 0
    withNoGrad {
        for (images, labels) in DataLoader(test, batchSize: 1000) {
            let predicted = model(Variable(images)).argmax(axis: 1)
            correct += zip(predicted, labels).filter { $0 == $1 }.count
        }
    }
    return 100 * Double(correct) / Double(max(test.count, 1))
}

/// The metrics CSV and the SVG chart, rewritten atomically after every epoch.
func writeReports(_ options: Options, history: [(loss: Double, accuracy: Double, seconds: Double, samplesPerSecond: Double)], firstEpoch: Int) throws {
    func write(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        do { try writeAtomically(Data(text.utf8), to: url) } catch {
            throw CommandError("train-rnn: cannot write \(url.path): \(reason(of: error, about: url.path))", code: .ioError)
        }
    }
    if let path = options.metrics {
        var csv = "epoch,train_loss,test_accuracy,seconds,samples_per_second\n"
        for (i, h) in history.enumerated() {
            csv += "\(firstEpoch + i + 1),\(String(format: "%.6f", h.loss)),\(String(format: "%.2f", h.accuracy)),\(String(format: "%.3f", h.seconds)),\(String(format: "%.0f", h.samplesPerSecond))\n"
        }
        try write(csv, to: path)
    }
    if let path = options.plot {
        let chart = LineChart(title: "train-rnn: \(options.cell.uppercased()) hidden \(options.hidden), lr \(options.lr)",
                              xLabel: "epoch",
                              left: .init(name: "train loss", values: history.map(\.loss), color: "#c0392b"),
                              right: .init(name: "test accuracy (%)", values: history.map(\.accuracy), color: "#2471a3"))
        try write(chart.svg(), to: path)
    }
}

do {
    try run()
} catch let error as CommandError {
    printError(error.message)
    if error.code == .usage { printError("run 'train-rnn --help' for the options") }
    exit(error.code.rawValue)
} catch {
    printError("train-rnn: \(error)")
    exit(ExitCode.ioError.rawValue)
}
