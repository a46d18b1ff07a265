// sequence-classifier: the building blocks for variable-length sequences at work. Each MNIST image
// becomes a sequence of its top 14-28 pixel rows (a random length per image); batches come from
// BucketBatchSampler (sequences of similar length together) and are padded with padSequence; a Conv1d
// over time with LayerNorm makes features of each row and its neighbours, a GRU reads them up to each
// sequence's own length, and a Linear layer classifies its final state.
//
//   swift run -c release sequence-classifier [--data-dir DIR] [--limit 12000] [--epochs 3] [--hidden 64]
import Ember
import EmberCLI
import Foundation

let usage = """
    usage: sequence-classifier [options]

    Classifies MNIST digits from a variable number of their pixel rows (the top 14 to 28 rows, chosen at
    random per image): Conv1d(28 -> hidden, kernel 3) over time, ReLU, LayerNorm, then GRU(hidden ->
    hidden) over each sequence up to its own length and Linear(-> 10) on its final state;
    CrossEntropyLoss, Adam. Shows randomSplit (train/validation), TensorDataset,
    BucketBatchSampler with DataLoader, padSequence and the GRU's lengths, print(model) and a StepLR
    schedule; reports the padding saved by bucketing, the validation accuracy per epoch and the test
    accuracy.

    options:
      --data-dir DIR         MNIST directory (default: $MNIST_DIR, then ./data/mnist, then the copy in the
                             checkout, Examples/data/mnist; train-rnn downloads it)
      --limit N              use the first N training images, split 90/10 into train and validation
                             (default 12000)
      --test-limit N         evaluate on the first N test images only (default: all)
      --epochs N             epochs (default 3)
      --hidden N             GRU hidden units (default 64)
      --batch-size N         sequences per batch (default 64)
      --lr X                 Adam learning rate (default 0.003), halved after every epoch
      --seed N               seed for the lengths, initialisation, the split and the batches (default 0)
      --help                 this text

    environment: MNIST_DIR (data directory)

    exit codes: 0 ok, 64 bad flags, 65 bad data, 66 missing data, 74 I/O failure
    """

/// Conv1d over time (each row with its neighbours), LayerNorm, a GRU, then Linear on each sequence's
/// final state (taken at its own last row).
final class SequenceClassifier: Module {
    let conv: Conv1d<Float>
    let norm: LayerNorm<Float>
    let gru: GRU<Float>
    let fc: Linear<Float>

    init(hiddenSize: Int) {
        conv = Conv1d(inChannels: 28, outChannels: hiddenSize, kernelSize: 3, padding: 1)
        norm = LayerNorm(normalizedShape: [hiddenSize])
        gru = GRU(inputSize: hiddenSize, hiddenSize: hiddenSize, batchFirst: true)
        fc = Linear(inFeatures: hiddenSize, outFeatures: 10)
    }

    /// `padded` [B, T, 28] with each sequence's length → logits [B, 10]. The padding is zeros, as the
    /// convolution's own padding is, so a sequence's features do not depend on how far it was padded.
    func callAsFunction(_ padded: Variable<Float>, lengths: [Int]) -> Variable<Float> {
        let features = conv(padded.transposed(1, 2)).relu().transposed(1, 2)   // [B, 28, T] -> [B, T, H]
        let (_, h) = gru(norm(features), lengths: lengths)   // h [1, B, H]: state at each sequence's last row
        return fc(h.select(axis: 0, index: 0))
    }
}

/// Each image as a sequence of its top `length` rows ([length, 28]), lengths drawn from 14...28.
func sequences(of data: MNIST, generator g: inout SeededGenerator) -> (rows: [Tensor<Float>], labels: [Int]) {
    let (images, labels) = data.batch(Array(0..<data.count))      // [N, 28, 28]
    let rows = (0..<data.count).map { i in
        images.select(axis: 0, index: i).narrow(axis: 0, start: 0, length: 14 + g.nextInt(below: 15))
    }
    return (rows, labels)
}

/// Padded steps as a share of all steps in `batches` of sequences with `lengths`.
func paddingShare(_ batches: [[Int]], _ lengths: [Int]) -> Double {
    var padded = 0, total = 0
    for b in batches {
        let longest = b.map { lengths[$0] }.max() ?? 0
        total += longest * b.count
        padded += b.map { longest - lengths[$0] }.reduce(0, +)
    }
    return Double(padded) / Double(max(total, 1))
}

/// Correct predictions over `data`, in batches of 500 padded sequences.
func accuracy<D: Dataset>(_ model: SequenceClassifier, _ data: D) -> Double where D.Batch == (inputs: [Tensor<Float>], targets: [Int]) {
    var correct = 0
    withNoGrad {
        for (rows, labels) in DataLoader(data, batchSize: 500) {
            let (padded, lengths) = padSequence(rows, batchFirst: true)
            correct += zip(model(Variable(padded), lengths: lengths).argmax(axis: 1), labels).filter { $0 == $1 }.count
        }
    }
    return 100 * Double(correct) / Double(max(data.count, 1))
}

func format(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }

do {
    let a = try Arguments(Array(CommandLine.arguments.dropFirst()), command: "sequence-classifier",
                          valued: ["data-dir", "limit", "test-limit", "epochs", "hidden", "batch-size", "lr", "seed"], boolean: ["help"])
    if a.flag("help") { print(usage); exit(0) }
    let limit = try a.int("limit", default: 12000, in: 10...60000)
    let testLimit = a.string("test-limit") == nil ? nil : try a.int("test-limit", default: 0, in: 1...Int.max)
    let epochs = try a.int("epochs", default: 3, in: 1...1000)
    let hidden = try a.int("hidden", default: 64, in: 1...4096)
    let batchSize = try a.int("batch-size", default: 64, in: 1...65536)
    let lr = try a.positiveDouble("lr", default: 0.003, upTo: 10)
    let seed = UInt64(try a.int("seed", default: 0, in: 0...Int.max))
    let directory = MNISTLocation.resolve(dataDir: a.string("data-dir")).directory
    let (train, test) = try MNISTLocation.loadLocal(directory, limit: limit, testLimit: testLimit, command: "sequence-classifier")
    emberThreadCount = ProcessInfo.processInfo.activeProcessorCount
    manualSeed(seed)

    var g = SeededGenerator(seed: seed)
    let (rows, labels) = sequences(of: train, generator: &g)
    let (testRows, testLabels) = sequences(of: test, generator: &g)
    let parts = randomSplit(TensorDataset(rows, labels), fractions: [0.9, 0.1], seed: seed)
    let (trainSet, validation) = (parts[0], parts[1])
    let testSet = TensorDataset(testRows, testLabels)
    let trainLengths = trainSet.indices.map { rows[$0].shape[0] }   // indexed like trainSet

    let sampler = BucketBatchSampler(lengths: trainLengths, batchSize: batchSize, batchesPerBucket: 50, seed: seed)
    let loader = DataLoader(trainSet, batchSampler: sampler)
    let shuffled = DataLoader(trainSet, batchSize: batchSize, shuffle: true, seed: seed).order(epoch: 0)
    let randomBatches = stride(from: 0, to: shuffled.count, by: batchSize).map { Array(shuffled[$0..<min($0 + batchSize, shuffled.count)]) }
    print("\(trainSet.count) training, \(validation.count) validation, \(testSet.count) test sequences of 14-28 rows")
    print("padding: \(format(100 * paddingShare(sampler.batches(epoch: 0), trainLengths), 1)) % of steps in bucketed batches, "
          + "\(format(100 * paddingShare(randomBatches, trainLengths), 1)) % in shuffled ones")

    let model = SequenceClassifier(hiddenSize: hidden)
    print(model)
    let optimizer = Adam(model.parameters(), lr: lr)
    let scheduler = StepLR(optimizer, stepSize: 1, gamma: 0.5)
    let criterion = CrossEntropyLoss()
    for epoch in 1...epochs {
        let start = Date()
        var total = 0.0, seen = 0
        for (batchRows, batchLabels) in loader {
            let (padded, lengths) = padSequence(batchRows, batchFirst: true)   // [B, T, 28], T = longest in batch
            let loss = criterion(model(Variable(padded), lengths: lengths), batchLabels)
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
            total += Double(loss.scalar) * Double(batchLabels.count)
            seen += batchLabels.count
        }
        scheduler.step()
        print("Epoch \(epoch)/\(epochs): train loss \(format(total / Double(max(seen, 1)), 4)), "
              + "validation accuracy \(format(accuracy(model, validation))) %, \(format(Date().timeIntervalSince(start), 1)) s")
    }
    print("Accuracy on the \(testSet.count) test sequences: \(format(accuracy(model, testSet))) %")
} catch let error as CommandError {
    printError(error.message)
    if error.code == .usage { printError("run 'sequence-classifier --help' for the options") }
    exit(error.code.rawValue)
} catch {
    printError("sequence-classifier: \(error)")
    exit(ExitCode.ioError.rawValue)
}
