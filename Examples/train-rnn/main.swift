// train-rnn: trains a recurrent network on MNIST, reading each 28x28 image as 28 steps of 28
// pixels, and reports the test accuracy — PyTorch's classic RNN example as a command, and with
// --optimizer, --steps, --eval-every and --unrolled the TensorFlow tutorials' programs too
// (README, "The seed programs").
//
//   swift run -c release train-rnn --hidden 32 --lr 0.001
import Ember
import EmberCLI
import Foundation

let usage = """
    usage: train-rnn [options]

    Trains RNN/LSTM/GRU(28 -> hidden) over the 28 rows of each MNIST image, then Linear(-> 10) on the
    last step's output (for one unidirectional layer, the final hidden state), with CrossEntropyLoss
    and Adam (or --optimizer), and evaluates on the test set after every epoch (or every --eval-every
    steps) and once more where the run ends if that is elsewhere.

    model:
      --hidden N             hidden units (default 32)
      --cell rnn|lstm|gru    recurrent cell (default rnn)
      --layers N             stacked recurrent layers (default 1)
      --bidirectional        run a second direction backwards over the rows
      --unrolled             build the recurrence step by step from RNNCell/LSTMCell/GRUCell on the tape
                             (a static graph, one cell per row) instead of the fused layer: same initial
                             weights, same numbers up to rounding; one layer, one direction only

    training:
      --optimizer NAME       adam, sgd, adamw, adagrad or rmsprop (default adam), with PyTorch's defaults
      --lr X                 learning rate (default 0.001; 0.01 for adagrad and rmsprop, as in PyTorch)
      --momentum X           momentum for sgd and rmsprop (default 0)
      --batch-size N         batch size (default 64)
      --epochs N             epochs (default 10)
      --steps N              a budget of N optimizer steps instead of epochs (the last epoch may stop
                             part-way); give --steps or --epochs, not both (exit 64)
      --eval-every N         evaluate on the test set after every N-th step of the run instead of after
                             every epoch (the run's last step is evaluated too)
      --target-accuracy P    stop at the first evaluation that reaches P percent (saving first, with --save)
      --seed N               seed for initialisation and shuffling (default 0)
      --threads N            cores to use (default: all; results do not depend on it)
      --detect-anomaly       check every operation for NaN/infinity and name the first that made one (slower)

    data and files:
      --data-dir DIR         MNIST directory (default: $MNIST_DIR, then ./data/mnist, then the copy in the
                             checkout, Examples/data/mnist; a named directory is downloaded into if empty)
      --limit N              train on the first N images only (quick runs and tests)
      --test-limit N         evaluate on the first N test images only
      --save FILE            keep the best model and optimizer state in FILE (safetensors, written atomically,
                             at an evaluation that beats the best so far)
      --resume FILE          continue from a file written by --save (with the same --optimizer)
      --metrics FILE.csv     write one CSV row per evaluation
      --plot FILE.svg        draw train loss and test accuracy per evaluation
      --tensorboard DIR      write TensorBoard event files into DIR (created if missing): the loss of every
                             step; test accuracy, mean loss, learning rate and histograms of the weights
                             and gradients at every evaluation; the hyperparameters at the end
                             (tensorboard --logdir DIR shows them, also while the run goes on)
      --export FILE.onnx     write the trained model (as the run ends) as ONNX, opset 17: input [batch, 28, 28]
                             images, output [batch, 10] logits; the recurrence as ONNX's RNN/LSTM/GRU operator

    output:
      --log-every N          print the minibatch loss and accuracy every N steps (default 100), counted
                             within the epoch with --epochs (PyTorch's line) and over the run with --steps;
                             shown when there is no progress bar, or always if given
      --no-progress          plain log lines even on a terminal
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
    var unrolled = false
    var optimizer = "adam"
    var momentum = 0.0
    /// The budget in optimizer steps (`--steps`); nil when it is `epochs` epochs.
    var steps: Int?
    var evalEvery: Int?
    var logEvery = 100
    /// Whether the minibatch lines are printed (always off a terminal or with --no-progress; on a
    /// terminal only when --log-every was given).
    var logLines = true
    var seed: UInt64 = 0
    var dataDir: String?
    var save: String?, resume: String?, metrics: String?, plot: String?, tensorboard: String?, export: String?
    var targetAccuracy: Double?
    var limit: Int?, testLimit: Int?
    var progress = true
    var detectAnomaly = false

    init(_ arguments: [String]) throws {
        let a = try Arguments(arguments, command: "train-rnn",
                              valued: ["hidden", "lr", "epochs", "batch-size", "layers", "cell", "seed", "data-dir", "save",
                                       "resume", "target-accuracy", "metrics", "plot", "threads", "limit", "test-limit",
                                       "optimizer", "momentum", "steps", "eval-every", "log-every", "tensorboard", "export"],
                              boolean: ["bidirectional", "unrolled", "no-progress", "detect-anomaly", "help"])
        if a.flag("help") { print(usage); exit(0) }
        hidden = try a.int("hidden", default: 32, in: 1...4096)
        optimizer = try a.choice("optimizer", default: "adam", ["adam", "sgd", "adamw", "adagrad", "rmsprop"])
        // PyTorch's default learning rates (torch.optim, and Ember's Optim): 1e-3 for Adam, AdamW and
        // SGD (PyTorch 2's SGD default), 1e-2 for Adagrad and RMSprop.
        lr = try a.positiveDouble("lr", default: ["adagrad", "rmsprop"].contains(optimizer) ? 0.01 : 0.001, upTo: 1e38)
        momentum = try a.double("momentum", default: 0, in: 0...1)!
        if a.string("momentum") != nil, !["sgd", "rmsprop"].contains(optimizer) {
            throw CommandError("train-rnn: --momentum applies to --optimizer sgd or rmsprop, not \(optimizer)", code: .usage)
        }
        epochs = try a.int("epochs", default: 10, in: 1...100_000)
        steps = a.string("steps") == nil ? nil : try a.int("steps", default: 0, in: 1...1_000_000_000)
        if steps != nil, a.string("epochs") != nil {
            throw CommandError("train-rnn: --steps and --epochs are both budgets; give one of them", code: .usage)
        }
        evalEvery = a.string("eval-every") == nil ? nil : try a.int("eval-every", default: 0, in: 1...1_000_000_000)
        logEvery = try a.int("log-every", default: 100, in: 1...1_000_000_000)
        batchSize = try a.int("batch-size", default: 64, in: 1...60_000)
        layers = try a.int("layers", default: 1, in: 1...64)
        cell = try a.choice("cell", default: "rnn", ["rnn", "lstm", "gru"])
        bidirectional = a.flag("bidirectional")
        unrolled = a.flag("unrolled")
        if unrolled, layers > 1 {
            throw CommandError("train-rnn: --unrolled builds one layer from cells; it cannot be combined with --layers \(layers)", code: .usage)
        }
        if unrolled, bidirectional {
            throw CommandError("train-rnn: --unrolled runs one direction; it cannot be combined with --bidirectional", code: .usage)
        }
        seed = UInt64(try a.int("seed", default: 0, in: 0...Int.max))
        threads = try a.int("threads", default: ProcessInfo.processInfo.activeProcessorCount, in: 1...256)
        dataDir = a.string("data-dir")
        save = a.string("save")
        resume = a.string("resume")
        metrics = a.string("metrics")
        plot = a.string("plot")
        tensorboard = a.string("tensorboard")
        export = a.string("export")
        targetAccuracy = try a.double("target-accuracy", default: nil, in: 0...100)
        limit = a.string("limit") == nil ? nil : try a.int("limit", default: 0, in: 1...Int.max)
        testLimit = a.string("test-limit") == nil ? nil : try a.int("test-limit", default: 0, in: 1...Int.max)
        progress = !a.flag("no-progress") && standardOutputIsTerminal
        logLines = !progress || a.string("log-every") != nil
        detectAnomaly = a.flag("detect-anomaly")
        for (flag, value) in [("data-dir", dataDir), ("save", save), ("resume", resume), ("metrics", metrics), ("plot", plot), ("tensorboard", tensorboard), ("export", export)] {
            if let value, value.isEmpty { throw CommandError("train-rnn: --\(flag) needs a non-empty path", code: .usage) }
        }
    }

    /// The flags that shape the model and its training, for TensorBoard's HParams dashboard.
    var hparams: [String: HParamValue] {
        ["cell": .string(cell), "hidden": .number(Double(hidden)), "layers": .number(Double(layers)),
         "bidirectional": .bool(bidirectional), "unrolled": .bool(unrolled), "optimizer": .string(optimizer), "lr": .number(lr),
         "momentum": .number(momentum), "batch_size": .number(Double(batchSize)), "seed": .number(Double(seed))]
    }

    /// The optimizer's name as PyTorch spells its class.
    var optimizerName: String {
        ["sgd": "SGD", "adamw": "AdamW", "adagrad": "Adagrad", "rmsprop": "RMSprop"][optimizer] ?? "Adam"
    }
}

// MARK: - Model

/// The classifier: a recurrence over the rows, then Linear(-> 10) on the last step's output. Its
/// parameters are named as PyTorch names them (`rnn.weight_ih_l0`, ..., `fc.weight`, `fc.bias`)
/// whichever recurrence runs, so fused and unrolled checkpoints are interchangeable.
final class Model: Layer {
    let rnn: RecurrentLayer<Float>
    let fc: Linear<Float>
    /// With `--unrolled`, the cell that replaces `rnn` (which then only supplied the initial weights).
    let unrolled: UnrolledRecurrence?

    init(cell: String, hidden: Int, layers: Int, bidirectional: Bool, unrolled: Bool) {
        rnn = .make(cell == "lstm" ? .lstm : (cell == "gru" ? .gru : .rnnTanh), inputSize: 28, hiddenSize: hidden,
                    numLayers: layers, batchFirst: true, bidirectional: bidirectional)
        fc = Linear<Float>(inFeatures: hidden * (bidirectional ? 2 : 1), outFeatures: 10)
        self.unrolled = unrolled ? UnrolledRecurrence(copying: rnn) : nil
    }

    func namedChildren() -> [(name: String, module: any Module)] {
        [("rnn", unrolled.map { $0 as any Module } ?? rnn), ("fc", fc)]
    }

    /// `[B, 28, 28]` images → `[B, 10]` logits.
    func callAsFunction(_ x: Variable<Float>) -> Variable<Float> {
        if let unrolled { return fc(unrolled(x)) }
        return fc(rnn(x, state: nil).output.select(axis: 1, index: -1))
    }
}

/// One unidirectional layer built from a cell, called once per row: every step's matrix products,
/// additions and activations are nodes of their own on the tape (the tutorials' "static" graph,
/// where the fused layer is one node for the whole sequence, their "dynamic" loop).
final class UnrolledRecurrence: Module {
    enum Cell {
        case rnn(RNNCell<Float>), lstm(LSTMCell<Float>), gru(GRUCell<Float>)
    }
    let cell: Cell

    /// A cell holding copies of `layer`'s weights (a single-layer, unidirectional layer with biases).
    /// Creating the cell would draw its own initial weights from the default generator; the
    /// generator is put back afterwards, so what is drawn next (the shuffling) is what the fused
    /// run draws.
    init(copying layer: RecurrentLayer<Float>) {
        precondition(layer.numLayers == 1 && !layer.bidirectional && layer.bias, "one unidirectional layer with biases")
        let generator = withDefaultGenerator { $0 }
        let (I, H) = (layer.inputSize, layer.hiddenSize)
        let base: RecurrentCell<Float>
        switch layer.mode {
        case .lstm: let c = LSTMCell<Float>(inputSize: I, hiddenSize: H); cell = .lstm(c); base = c
        case .gru: let c = GRUCell<Float>(inputSize: I, hiddenSize: H); cell = .gru(c); base = c
        case .rnnTanh, .rnnRelu:
            let c = RNNCell<Float>(inputSize: I, hiddenSize: H, nonlinearity: layer.mode == .rnnTanh ? .tanh : .relu)
            cell = .rnn(c); base = c
        }
        withDefaultGenerator { $0 = generator }
        for (mine, theirs) in zip([base.weight_ih, base.weight_hh, base.bias_ih!, base.bias_hh!], layer.weights) {
            mine.data = theirs.data
        }
    }

    /// The cell as its common superclass, for its weights.
    var base: RecurrentCell<Float> {
        switch cell {
        case .rnn(let c): c
        case .lstm(let c): c
        case .gru(let c): c
        }
    }

    /// The fused layer's names for the same tensors.
    func namedParameters() -> [(name: String, parameter: Variable<Float>)] {
        [("weight_ih_l0", base.weight_ih), ("weight_hh_l0", base.weight_hh), ("bias_ih_l0", base.bias_ih!), ("bias_hh_l0", base.bias_hh!)]
    }

    func namedChildren() -> [(name: String, module: any Module)] { [] }

    /// `[B, T, features]` → the hidden state after the last row, `[B, hidden]` (from zeros, as the
    /// fused layer starts).
    func callAsFunction(_ x: Variable<Float>) -> Variable<Float> {
        let rows = (0..<x.shape[1]).map { x.select(axis: 1, index: $0) }
        switch cell {
        case .rnn(let c): return rows.dropFirst().reduce(c(rows[0])) { h, row in c(row, h) }
        case .gru(let c): return rows.dropFirst().reduce(c(rows[0])) { h, row in c(row, h) }
        case .lstm(let c): return rows.dropFirst().reduce(c(rows[0])) { state, row in c(row, state) }.h
        }
    }
}

// MARK: - Optimizers

/// The optimizer `--optimizer` chose, behind one type: the five differ in their update rule and
/// state, and train-rnn needs only these four calls.
struct ChosenOptimizer {
    /// The `--optimizer` value, recorded in checkpoints.
    let name: String
    /// The optimizer's `step()`, `zeroGrad()`, `stateDict()` and `loadStateDict(_:)`.
    let step: () -> Void, zeroGrad: () -> Void
    /// The learning rate the next step uses.
    let learningRate: () -> Double
    let stateDict: () -> [String: Tensor<Float>]
    let loadStateDict: ([String: Tensor<Float>]) throws -> Void

    init<O: Optimizer>(_ name: String, _ optimizer: O) where O.Scalar == Float {
        self.name = name
        step = optimizer.step
        zeroGrad = optimizer.zeroGrad
        learningRate = { optimizer.learningRate }
        stateDict = optimizer.stateDict
        loadStateDict = optimizer.loadStateDict
    }

    /// `options.optimizer` over `parameters`, with `--lr` and `--momentum` and PyTorch's defaults for the rest.
    init(_ options: Options, parameters: [Variable<Float>]) {
        switch options.optimizer {
        case "sgd": self.init("sgd", SGD(parameters, lr: options.lr, momentum: options.momentum))
        case "adamw": self.init("adamw", AdamW(parameters, lr: options.lr))
        case "adagrad": self.init("adagrad", Adagrad(parameters, lr: options.lr))
        case "rmsprop": self.init("rmsprop", RMSprop(parameters, lr: options.lr, momentum: options.momentum))
        default: self.init("adam", Adam(parameters, lr: options.lr))
        }
    }
}

// MARK: - Checkpoints

/// Where a run stands: optimizer steps taken over the whole run, and the epoch length they count in.
struct Position {
    var step: Int
    let stepsPerEpoch: Int
    /// Epochs completed.
    var epochsDone: Int { step / stepsPerEpoch }
    /// Steps taken in the current epoch.
    var stepInEpoch: Int { step % stepsPerEpoch }
}

/// Model parameters, optimizer state (prefixed `optimizer.`) and metadata in one safetensors file.
func saveCheckpoint(_ url: URL, model: Model, optimizer: ChosenOptimizer, options: Options, at position: Position, accuracy: Double) throws {
    var entries: [String: SafeTensorsFile.Entry] = model.stateDict().mapValues { .float($0) }
    for (k, v) in optimizer.stateDict() { entries["optimizer." + k] = .float(v) }
    let metadata = ["format": "ember-train-rnn", "cell": options.cell, "hidden": "\(options.hidden)", "layers": "\(options.layers)",
                    "bidirectional": "\(options.bidirectional)", "optimizer": optimizer.name, "epoch": "\(position.epochsDone)",
                    "step": "\(position.step)", "steps_per_epoch": "\(position.stepsPerEpoch)", "accuracy": "\(accuracy)",
                    "seed": "\(options.seed)"]
    do { try SafeTensorsFile.write(entries: entries, metadata: metadata, to: url) } catch {
        throw CommandError("train-rnn: cannot write \(url.path): \(reason(of: error, about: url.path))", code: .ioError)
    }
}

/// Loads a checkpoint into the model and optimizer; returns the steps taken and the best accuracy.
/// The run continues at the saved step when the epoch length is the same; otherwise (another
/// --batch-size or --limit), or for a checkpoint that records epochs only, at the start of the epoch
/// after the completed ones. A checkpoint without an optimizer name was written by Adam.
func loadCheckpoint(_ url: URL, model: Model, optimizer: ChosenOptimizer, options: Options, stepsPerEpoch: Int) throws -> (position: Position, accuracy: Double) {
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
        let saved = m["optimizer"] ?? "adam"
        guard saved == options.optimizer else {
            throw CommandError("train-rnn: \(url.path) holds the state of --optimizer \(saved), but this run asks for \(options.optimizer) (resume with --optimizer \(saved))", code: .dataError)
        }
        var modelState: [String: Tensor<Float>] = [:], optimizerState: [String: Tensor<Float>] = [:]
        for name in file.names {
            if name.hasPrefix("optimizer.") { optimizerState[String(name.dropFirst(10))] = try file.tensor(name) }
            else { modelState[name] = try file.tensor(name) }
        }
        try model.loadStateDict(modelState)
        try optimizer.loadStateDict(optimizerState)
        let epochs = Int(m["epoch"] ?? "") ?? 0
        var step = epochs * stepsPerEpoch
        if let saved = Int(m["step"] ?? ""), Int(m["steps_per_epoch"] ?? "") == stepsPerEpoch { step = saved }
        return (Position(step: step, stepsPerEpoch: stepsPerEpoch), Double(m["accuracy"] ?? "") ?? 0)
    } catch let error as CommandError {
        throw error
    } catch {
        throw CommandError("train-rnn: cannot resume from \(url.path): \(reason(of: error, about: url.path))", code: .dataError)
    }
}

// MARK: - Interruption

nonisolated(unsafe) var interrupted: sig_atomic_t = 0

// MARK: - Main

/// One evaluation: where it happened, the mean minibatch loss and the training time since the
/// previous one, and the test accuracy.
struct Evaluation {
    var epoch: Int, step: Int
    var loss: Double, accuracy: Double, seconds: Double, samplesPerSecond: Double
}

// The whole program from top to bottom (options, data, model, optimizer, the training loop with its
// evaluations, checkpoints and logs, the summary), in the order the tutorials it reproduces are
// written, so that it reads as one script; its helpers above carry the parts that stand alone.
func run() throws {
    let options = try Options(Array(CommandLine.arguments.dropFirst()))
    // The files written at each evaluation: an unwritable one is reported now, before the data is
    // loaded (or downloaded) and before any training, not once the first epoch's work is done.
    for (flag, path) in [("save", options.save), ("metrics", options.metrics), ("plot", options.plot), ("export", options.export)] {
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
    let model = Model(cell: options.cell, hidden: options.hidden, layers: options.layers, bidirectional: options.bidirectional,
                      unrolled: options.unrolled)
    let optimizer = ChosenOptimizer(options, parameters: model.parameters())
    let criterion = CrossEntropyLoss()
    let tensorBoard = try options.tensorboard.map {
        try TensorBoardLog(directory: $0, command: CommandLine.arguments, parameterCount: model.parameters().reduce(0) { $0 + $1.data.count })
    }
    // No seed of its own: like PyTorch's DataLoader(shuffle=True), every epoch draws its order from
    // the default generator, so --seed S starts where torch.manual_seed(S) does, in weights and order.
    let loader = DataLoader(train, batchSize: options.batchSize, shuffle: true)
    let perEpoch = loader.count
    // The budget in optimizer steps over the whole run (resumed runs included).
    let budget = options.steps ?? options.epochs * perEpoch
    let epochsInBudget = (budget + perEpoch - 1) / perEpoch
    var position = Position(step: 0, stepsPerEpoch: perEpoch), best = -1.0
    if let resume = options.resume {
        (position, best) = try loadCheckpoint(URL(fileURLWithPath: resume), model: model, optimizer: optimizer, options: options,
                                              stepsPerEpoch: perEpoch)
        let at = position.stepInEpoch == 0 ? "after epoch \(position.epochsDone)"
            : "after step \(position.step) (\(position.stepInEpoch) of epoch \(position.epochsDone + 1)'s \(perEpoch))"
        print("Resumed from \(resume) \(at) (test accuracy \(String(format: "%.2f", best)) %)")
    }
    let firstStep = position.step
    for _ in 0..<position.epochsDone { loader.skipEpoch() }   // the draws the completed epochs made

    var history: [Evaluation] = []
    var accuracy = best
    let namedParameters = model.namedParameters()   // the same variables throughout; looked up once
    // Since the last evaluation: summed loss, samples, training time.
    var windowLoss = 0.0, windowSeen = 0, windowStart = Date()
    var trainingSeconds = 0.0, evaluationSeconds = 0.0

    /// Evaluates, reports, saves when better, and says whether the target was reached.
    func evaluateAndReport(endOfEpoch: Bool) throws -> Bool {
        let seconds = Date().timeIntervalSince(windowStart)
        trainingSeconds += seconds
        let evaluationStart = Date()
        accuracy = evaluate(model, test)
        evaluationSeconds += Date().timeIntervalSince(evaluationStart)
        let epoch = (position.step - 1) / perEpoch + 1
        let loss = windowLoss / Double(max(windowSeen, 1))
        let rate = Double(windowSeen) / max(seconds, 1e-9)
        history.append(Evaluation(epoch: epoch, step: position.step, loss: loss, accuracy: accuracy, seconds: seconds, samplesPerSecond: rate))
        try tensorBoard?.evaluation(step: position.step, meanLoss: loss, accuracy: accuracy, learningRate: optimizer.learningRate(),
                                    parameters: namedParameters)
        let figures = "train loss \(String(format: "%.4f", loss)), test accuracy \(String(format: "%.2f", accuracy)) %, \(String(format: "%.1f", seconds)) s, \(grouped(Int(rate))) samples/s"
        print(endOfEpoch ? "Epoch \(epoch)/\(epochsInBudget): \(figures)" : "Step \(position.step)/\(budget) (epoch \(epoch)): \(figures)")
        if let path = options.save, accuracy > best {
            try saveCheckpoint(URL(fileURLWithPath: path), model: model, optimizer: optimizer, options: options, at: position, accuracy: accuracy)
        }
        best = max(best, accuracy)
        try writeReports(options, history: history)
        windowLoss = 0
        windowSeen = 0
        windowStart = Date()
        if let target = options.targetAccuracy, accuracy >= target {
            print("Reached the target accuracy of \(String(format: "%.2f", target)) % after " + (endOfEpoch ? "epoch \(epoch)" : "step \(position.step) (epoch \(epoch))"))
            return true
        }
        return false
    }

    training: while position.step < budget {
        let epoch = position.epochsDone   // 0-based
        var batches = loader.makeIterator()
        for _ in 0..<position.stepInEpoch { _ = batches.next() }   // resuming part-way through an epoch
        let stepsThisEpoch = min(perEpoch, budget - epoch * perEpoch)
        var bar = ProgressBar(total: stepsThisEpoch)
        while position.step < budget, let (images, labels) = batches.next() {
            if interrupted != 0 { break }
            position.step += 1
            let step = position.stepInEpoch == 0 ? perEpoch : position.stepInEpoch   // within the epoch, from 1
            let loss: Variable<Float>, logits: Variable<Float>
            do {
                (loss, logits) = try withAnomalyDetectionIf(options.detectAnomaly) {
                    let logits = model(Variable(images))
                    let loss = criterion(logits, labels)
                    optimizer.zeroGrad()
                    loss.backward()
                    return (loss, logits)
                }
            } catch let anomaly as AnomalyError {
                throw CommandError("train-rnn: anomaly at epoch \(epoch + 1), step \(step): \(anomaly); stopping (nothing was saved since the last evaluation)", code: .dataError)
            }
            guard loss.scalar.isFinite else {
                throw CommandError("train-rnn: the loss became \(loss.scalar) at epoch \(epoch + 1), step \(step); stopping without saving (try a smaller --lr, or --detect-anomaly to find the operation)", code: .dataError)
            }
            if let bad = firstNonFinite(namedParameters.map { ($0.name, $0.parameter.grad) }) {
                throw CommandError("train-rnn: the gradient of \(bad) became NaN or infinite at epoch \(epoch + 1), step \(step); stopping without saving (try a smaller --lr, or --detect-anomaly)", code: .dataError)
            }
            optimizer.step()
            if let bad = firstNonFinite(namedParameters.map { ($0.name, $0.parameter.data) }) {
                throw CommandError("train-rnn: the \(options.optimizerName) step made \(bad) NaN or infinite at epoch \(epoch + 1), step \(step) (learning rate \(options.lr)); stopping without saving", code: .dataError)
            }
            windowLoss += Double(loss.scalar) * Double(labels.count)
            windowSeen += labels.count
            try tensorBoard?.step(position.step, loss: Double(loss.scalar))
            // The minibatch line counts steps as the budget does: within the epoch, or over the run.
            if options.logLines, (options.steps == nil ? step : position.step) % options.logEvery == 0 {
                let correct = zip(logits.argmax(axis: 1), labels).filter { $0 == $1 }.count
                let figures = "Loss: \(String(format: "%.4f", loss.scalar)), Accuracy: \(String(format: "%.2f", 100 * Double(correct) / Double(max(labels.count, 1)))) %"
                if options.progress { bar.finish() }
                print(options.steps == nil ? "Epoch [\(epoch + 1)/\(epochsInBudget)], Step [\(step)/\(perEpoch)], \(figures)"
                                           : "Step [\(position.step)/\(budget)] (epoch \(epoch + 1)), \(figures)")
            }
            if options.progress {
                let rate = Double(windowSeen) / max(Date().timeIntervalSince(windowStart), 1e-9)
                bar.update(step, "Epoch \(epoch + 1)/\(epochsInBudget)  loss \(String(format: "%.4f", loss.scalar))  \(grouped(Int(rate))) samples/s", force: step == stepsThisEpoch)
            }
            // Evaluations: after every --eval-every steps of the run, or at the end of every epoch;
            // and either way at the end of the budget.
            let endOfEpoch = position.stepInEpoch == 0
            let due = options.evalEvery.map { position.step % $0 == 0 } ?? endOfEpoch
            if due || position.step == budget {
                if options.progress { bar.finish() }
                if try evaluateAndReport(endOfEpoch: endOfEpoch && options.evalEvery == nil) {
                    break training
                }
            }
        }
        if options.progress { bar.finish() }
        if interrupted != 0 {
            printError("train-rnn: interrupted during epoch \(epoch + 1); files on disk are from the evaluations before it only")
            try? tensorBoard?.writer.close()   // the steps' losses logged so far
            exit(ExitCode.interrupted.rawValue)
        }
    }
    if history.isEmpty { accuracy = evaluate(model, test) }
    else {
        let taken = position.step - firstStep
        print("Trained \(taken) step\(taken == 1 ? "" : "s") (\(String(format: "%.2f", Double(taken) / Double(perEpoch))) epochs of \(perEpoch)) in \(String(format: "%.1f", trainingSeconds)) s, plus \(String(format: "%.1f", evaluationSeconds)) s for \(history.count) evaluation\(history.count == 1 ? "" : "s")")
    }
    try tensorBoard?.finish(hparams: options.hparams, accuracy: accuracy, meanLoss: history.last?.loss, step: position.step)
    if let path = options.export {
        // Traced on the first two test images; the graph takes any batch size.
        let url = URL(fileURLWithPath: path)
        do { try exportONNX(model, exampleInput: test.batch(Array(0..<min(2, test.count))).images, to: url) } catch {
            throw CommandError("train-rnn: cannot export \(url.path): \(reason(of: error, about: url.path))", code: .ioError)
        }
        print("Exported the model to \(url.path) (ONNX, opset 17)")
    }
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

/// The metrics CSV and the SVG chart, rewritten atomically after every evaluation. The CSV's
/// columns are those of the per-epoch file it was first (epoch, train loss, test accuracy, seconds,
/// samples/s), then the step of the run the row was taken at.
func writeReports(_ options: Options, history: [Evaluation]) throws {
    func write(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        do { try writeAtomically(Data(text.utf8), to: url) } catch {
            throw CommandError("train-rnn: cannot write \(url.path): \(reason(of: error, about: url.path))", code: .ioError)
        }
    }
    if let path = options.metrics {
        var csv = "epoch,train_loss,test_accuracy,seconds,samples_per_second,step\n"
        for h in history {
            csv += "\(h.epoch),\(String(format: "%.6f", h.loss)),\(String(format: "%.2f", h.accuracy)),\(String(format: "%.3f", h.seconds)),\(String(format: "%.0f", h.samplesPerSecond)),\(h.step)\n"
        }
        try write(csv, to: path)
    }
    if let path = options.plot {
        let chart = LineChart(title: "train-rnn: \(options.cell.uppercased()) hidden \(options.hidden), \(options.optimizerName) lr \(options.lr)",
                              xLabel: options.evalEvery.map { "evaluation (every \($0) steps)" } ?? "epoch",
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
