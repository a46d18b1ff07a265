// `ember-bench lengths`: training on variable-length batches. MNIST test images as sequences of 28
// rows of 28 pixels, each image cut to a seeded random length of 14 to 28 rows (the rows past it
// zeroed), batch 64, a recurrent layer, Linear(hidden → 10) on each sequence's last state,
// cross-entropy, Adam. Ember with `lengths:` against the same batches padded (all 28 steps, no
// lengths), and PyTorch in the same run on the same data: padded, and through pack_padded_sequence.
// The ideal is the padded rate scaled by 28 / the mean length: what skipping every padded step
// exactly would give.
import Ember
import Foundation

/// The workload's data: `batches` batches of 64 images [64, 28, 28] with their rows past each
/// image's length zeroed, the lengths and the labels.
struct LengthsData {
    var images: [Tensor<Float>] = []
    var lengths: [[Int]] = []
    var labels: [[Int]] = []
    var meanLength: Double { Double(lengths.joined().reduce(0, +)) / Double(lengths.joined().count) }

    init(dataDir: String, batches: Int, seed: UInt64 = 7) throws {
        let test = try MNIST(directory: URL(fileURLWithPath: dataDir), train: false)
        var rng = SeededGenerator(seed: seed)
        for k in 0..<batches {
            let indices = (0..<64).map { (k * 64 + $0) % test.count }
            let batch = test.batch(indices)
            let lengths = (0..<64).map { _ in 14 + Int(rng.next() % 15) }
            var pixels = batch.images.scalars
            for (b, length) in lengths.enumerated() {
                for i in (b * 784 + length * 28)..<((b + 1) * 784) { pixels[i] = 0 }
            }
            images.append(Tensor(shape: [64, 28, 28], scalars: pixels))
            self.lengths.append(lengths)
            labels.append(batch.labels)
        }
    }

    /// Writes the images (float32), lengths and labels (int32) for the PyTorch script: `base`.x, .len, .y.
    func write(to base: String) throws {
        let x = images.flatMap(\.scalars)
        try x.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: base + ".x"))
        let l = lengths.joined().map { Int32($0) }, y = labels.joined().map { Int32($0) }
        try l.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: base + ".len"))
        try y.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: base + ".y"))
    }
}

/// Samples/s training on every batch of `data` (after 3 untimed steps), median of `runs` passes:
/// with `lengths:` (each sequence's final state is its last step's) or padded (the state after step 28).
func emberLengthsTraining(cell: String, hidden: Int, threads: Int, data: LengthsData, withLengths: Bool, runs: Int) -> Double {
    emberThreadCount = threads
    defer { emberThreadCount = 1 }
    manualSeed(0)
    let layer = RecurrentLayer<Float>.make(cell == "lstm" ? .lstm : (cell == "gru" ? .gru : .rnnTanh), inputSize: 28,
                                           hiddenSize: hidden, batchFirst: true)
    let fc = Linear<Float>(inFeatures: hidden, outFeatures: 10)
    let optimizer = Adam(layer.parameters() + fc.parameters(), lr: 0.001)
    let criterion = CrossEntropyLoss()
    func step(_ k: Int) {
        let (_, state) = layer(Variable(data.images[k]), state: nil, lengths: withLengths ? data.lengths[k] : nil)
        let loss = criterion(fc(state.h.select(axis: 0, index: 0)), data.labels[k])
        optimizer.zeroGrad()
        loss.backward()
        optimizer.step()
    }
    for k in 0..<3 { step(k % data.images.count) }
    var rates: [Double] = []
    for _ in 0..<runs {
        let start = now()
        for k in data.images.indices { step(k) }
        rates.append(Double(64 * data.images.count) / (Double(now() - start) / 1e9))
    }
    return median(rates)
}

/// The PyTorch side: the same model, data and steps; `packed` runs pack_padded_sequence
/// (enforce_sorted=False, as a batch comes), else the padded batch. Prints `samples_per_s N`.
let torchLengthsScript = """
    import sys, time
    import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
    from torch.nn.utils.rnn import pack_padded_sequence
    base, cell, H, threads, mode, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
    torch.set_num_threads(threads); torch.manual_seed(0)
    x = torch.from_numpy(np.fromfile(base + '.x', dtype=np.float32).reshape(-1, 28, 28))
    L = torch.from_numpy(np.fromfile(base + '.len', dtype=np.int32).astype(np.int64))
    y = torch.from_numpy(np.fromfile(base + '.y', dtype=np.int32).astype(np.int64))
    n = len(x) // 64
    rnn = {'rnn': nn.RNN, 'lstm': nn.LSTM, 'gru': nn.GRU}[cell](28, H, batch_first=True); fc = nn.Linear(H, 10)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(fc.parameters()), lr=1e-3)
    def step(k):
        xb, lb, yb = x[k * 64:(k + 1) * 64], L[k * 64:(k + 1) * 64], y[k * 64:(k + 1) * 64]
        inp = pack_padded_sequence(xb, lb, batch_first=True, enforce_sorted=False) if mode == 'packed' else xb
        _, h = rnn(inp)
        h = h[0] if cell == 'lstm' else h
        loss = F.cross_entropy(fc(h[-1]), yb)
        opt.zero_grad(); loss.backward(); opt.step()
    for k in range(3): step(k % n)
    rates = []
    for _ in range(runs):
        t = time.perf_counter()
        for k in range(n): step(k)
        rates.append(64 * n / (time.perf_counter() - t))
    rates.sort(); print(f'samples_per_s {rates[len(rates) // 2]:.1f}')
    """

func torchLengthsTraining(python: String, script: String, base: String, cell: String, hidden: Int, threads: Int,
                          packed: Bool, runs: Int) -> Double? {
    let r = runChild(python, [script, base, cell, "\(hidden)", "\(threads)", packed ? "packed" : "padded", "\(runs)"],
                     environment: torchEnvironment(CommandLine.arguments).variables)
    guard r.status == 0, let value = r.output.split(separator: " ").last else { return nil }
    return Double(value.trimmingCharacters(in: .whitespacesAndNewlines))
}

/// `ember-bench lengths [--python PATH] [--threads 2] [--batches 80] [--runs 5] [--data-dir DIR] [--cell rnn|lstm]
/// [--only lengths|padded]`. `--cell` runs one model and `--only` one of Ember's two runs (the other column
/// and the ratios print as 0), so that an instruction count (callgrind) covers one configuration alone.
func benchLengths(_ arguments: [String]) throws {
    let dataDir = option("--data-dir", in: arguments) ?? defaultDataDir()
    let threads = Int(option("--threads", in: arguments) ?? "") ?? 2
    // 5 runs of 80 batches by default: RNN-32's 40 batches took about 10 ms, and three invocations
    // with the median of 3 such runs put RNN-32 at 0.61, 0.85 and 0.87 of the ideal on a busy host
    // (README, "Variable-length batches").
    let batches = max(1, Int(option("--batches", in: arguments) ?? "") ?? 80)
    let runs = max(1, Int(option("--runs", in: arguments) ?? "") ?? 5)
    let python = option("--python", in: arguments)
    let cells = option("--cell", in: arguments).map { [$0] } ?? ["rnn", "lstm"]
    let only = option("--only", in: arguments)
    guard cells.allSatisfy({ ["rnn", "lstm"].contains($0) }), only.map({ ["lengths", "padded"].contains($0) }) ?? true else {
        FileHandle.standardError.write(Data("ember-bench lengths: --cell takes rnn or lstm, --only lengths or padded\n".utf8))
        exit(64)
    }
    let data = try LengthsData(dataDir: dataDir, batches: batches)
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("ember-lengths-\(getpid())").path
    let script = base + ".py"
    if python != nil {
        try data.write(to: base)
        try torchLengthsScript.write(toFile: script, atomically: true, encoding: .utf8)
    }
    defer { for suffix in [".x", ".len", ".y", ".py"] { try? FileManager.default.removeItem(atPath: base + suffix) } }
    let mean = data.meanLength
    print("## Variable-length batches: training samples/s (MNIST rows, lengths 14-28 seeded, mean \(String(format: "%.2f", mean));"
          + " batch 64, \(batches) batches, Adam; \(threads) threads; median of \(runs))")
    print("")
    print("| model | Ember padded | Ember lengths | ideal (padded × 28 / \(String(format: "%.2f", mean))) | lengths / ideal |"
          + (python == nil ? "" : " PyTorch padded | PyTorch packed | Ember lengths / PyTorch packed |"))
    print("|---|---:|---:|---:|---:|" + (python == nil ? "" : "---:|---:|---:|"))
    func format(_ value: Double?) -> String { value.map { "\(Int($0))" } ?? "failed" }
    for (cell, hidden) in [("rnn", 32), ("lstm", 128)] where cells.contains(cell) {
        let padded = only == "lengths" ? 0
            : emberLengthsTraining(cell: cell, hidden: hidden, threads: threads, data: data, withLengths: false, runs: runs)
        let ragged = only == "padded" ? 0
            : emberLengthsTraining(cell: cell, hidden: hidden, threads: threads, data: data, withLengths: true, runs: runs)
        let ideal = padded * 28 / mean
        var line = "| \(cell.uppercased())-\(hidden) | \(Int(padded)) | \(Int(ragged)) | \(Int(ideal)) | \(String(format: "%.2f", ragged / ideal)) |"
        if let python {
            let torchPadded = torchLengthsTraining(python: python, script: script, base: base, cell: cell, hidden: hidden,
                                                   threads: threads, packed: false, runs: runs)
            let torchPacked = torchLengthsTraining(python: python, script: script, base: base, cell: cell, hidden: hidden,
                                                   threads: threads, packed: true, runs: runs)
            line += " \(format(torchPadded)) | \(format(torchPacked)) | \(torchPacked.map { String(format: "%.2f×", ragged / $0) } ?? "") |"
        }
        print(line)
    }
}
