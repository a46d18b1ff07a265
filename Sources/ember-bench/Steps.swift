// Training steps timed one by one in this process, for comparing two builds of Ember on a busy
// host: noise from other work only ever adds time, so the fastest steps and the lower quantiles
// move with the code and little else.
import Ember
import Foundation

/// Times `steps` training steps (forward, backward and an Adam step) of a recurrent layer
/// `[64, 28, 28] → hidden` and `Linear(hidden → 10)` with cross-entropy, on fixed random images and
/// labels, after 10 untimed warm-up steps. Returns each step's seconds, sorted.
func stepTimes(cell: String, hidden: Int, threads: Int, steps: Int, batch: Int = 64) -> [Double] {
    emberThreadCount = threads
    defer { emberThreadCount = 1 }
    manualSeed(0)
    let (layer, output) = recurrentLayer(cell: cell, hidden: hidden)
    let fc = Linear<Float>(inFeatures: hidden, outFeatures: 10)
    let optimizer = Adam(layer.parameters() + fc.parameters(), lr: 0.001)
    let criterion = CrossEntropyLoss()
    var rng = SeededGenerator(seed: 3)
    let images = Tensor<Float>(randomUniform: [batch, 28, 28], lowerBound: 0, upperBound: 1, generator: &rng)
    let labels = (0..<batch).map { $0 % 10 }
    var times: [Double] = []
    for step in 0..<(steps + 10) {
        let start = now()
        let loss = criterion(fc(output(Variable(images)).select(axis: 1, index: -1)), labels)
        optimizer.zeroGrad()
        loss.backward()
        optimizer.step()
        if step >= 10 { times.append(Double(now() - start) / 1e9) }
    }
    return times.sorted()
}

/// `ember-bench steps`: per-step times of RNN-32, LSTM-128 and GRU-128 training (or one `--cell`
/// with `--hidden`), as the fastest step, the 10th percentile and the median.
func benchSteps(_ arguments: [String]) {
    let threads = Int(option("--threads", in: arguments) ?? "") ?? 2
    let steps = max(1, Int(option("--steps", in: arguments) ?? "") ?? 300)
    let batch = max(1, Int(option("--batch", in: arguments) ?? "") ?? 64)
    let only = option("--cell", in: arguments)
    let workloads = only.map { [($0, Int(option("--hidden", in: arguments) ?? "") ?? ($0 == "rnn" ? 32 : 128))] }
        ?? [("rnn", 32), ("lstm", 128), ("gru", 128)]
    print("## Training steps, batch \(batch) of random 28 x 28 images (\(threads) threads, \(steps) steps)")
    print("")
    print("| model | fastest ms | 10th percentile ms | median ms | samples/s at the 10th percentile |")
    print("|---|---:|---:|---:|---:|")
    for (cell, hidden) in workloads {
        let t = stepTimes(cell: cell, hidden: hidden, threads: threads, steps: steps, batch: batch)
        let p10 = t[t.count / 10], med = t[t.count / 2]
        print("| \(cell.uppercased()) \(hidden) | \(String(format: "%.3f", t[0] * 1e3)) | \(String(format: "%.3f", p10 * 1e3)) | "
              + "\(String(format: "%.3f", med * 1e3)) | \(Int(Double(batch) / p10)) |")
    }
    print("")
}
