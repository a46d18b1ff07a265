// Training steps timed one by one in this process, for comparing two builds of Ember on a busy
// host: noise from other work only ever adds time, so the fastest steps and the lower quantiles
// move with the code and little else.
import CEmberKernels
import Ember
import Foundation

/// Each timed step's seconds (sorted), and the same steps' seconds in each phase (unsorted).
struct StepTimes {
    var steps: [Double] = []
    /// The recurrent layer's forward pass; the selection of the last step, the linear head and the
    /// loss; `zeroGrad` and `backward()`; the Adam step.
    var forward: [Double] = [], head: [Double] = [], backward: [Double] = [], optimizer: [Double] = []
    /// The floating-point operations of one step's matrix products, as the GEMM entry points
    /// counted them during the last warm-up step (`ember_gemm_count_flops`).
    var productFlops: Int64 = 0
}

/// Times `steps` training steps (forward, backward and an Adam step) of a recurrent layer
/// `[64, 28, 28] → hidden` and `Linear(hidden → 10)` with cross-entropy, on fixed random images and
/// labels, after 10 untimed warm-up steps; each step's phases too (four more clock reads a step).
func stepTimes(cell: String, hidden: Int, threads: Int, steps: Int, batch: Int = 64) -> StepTimes {
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
    var times = StepTimes()
    func seconds(_ from: UInt64, _ to: UInt64) -> Double { Double(to - from) / 1e9 }
    for step in 0..<(steps + 10) {
        // The last warm-up step counts its products' operations (untimed: counting adds an
        // atomic addition per product).
        if step == 9 { ember_gemm_count_flops(1) }
        defer {
            if step == 9 {
                times.productFlops = ember_gemm_flops_counted()
                ember_gemm_count_flops(0)
            }
        }
        let start = now()
        let states = output(Variable(images))
        let forwardEnd = now()
        let loss = criterion(fc(states.select(axis: 1, index: -1)), labels)
        let headEnd = now()
        optimizer.zeroGrad()
        loss.backward()
        let backwardEnd = now()
        optimizer.step()
        let end = now()
        if step >= 10 {
            times.steps.append(seconds(start, end))
            times.forward.append(seconds(start, forwardEnd))
            times.head.append(seconds(forwardEnd, headEnd))
            times.backward.append(seconds(headEnd, backwardEnd))
            times.optimizer.append(seconds(backwardEnd, end))
        }
    }
    times.steps.sort()
    return times
}

/// `ember-bench steps`: per-step times of RNN-32, LSTM-128 and GRU-128 training (or one `--cell`
/// with `--hidden`), as the fastest step, the 10th percentile and the median; with `--phases`, the
/// 10th percentile and median of each phase as well.
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
    let showPhases = arguments.contains("--phases"), showRoofline = arguments.contains("--roofline")
    var phaseRows: [String] = [], rooflineRows: [(model: String, flops: Int64, p10: Double, median: Double)] = []
    for (cell, hidden) in workloads {
        let times = stepTimes(cell: cell, hidden: hidden, threads: threads, steps: steps, batch: batch)
        let t = times.steps, model = "\(cell.uppercased()) \(hidden)"
        let p10 = t[t.count / 10], med = t[t.count / 2]
        print("| \(model) | \(String(format: "%.3f", t[0] * 1e3)) | \(String(format: "%.3f", p10 * 1e3)) | "
              + "\(String(format: "%.3f", med * 1e3)) | \(Int(Double(batch) / p10)) |")
        rooflineRows.append((model, times.productFlops, p10, med))
        let phases = [("recurrent layer forward", times.forward), ("last step, linear head and loss", times.head),
                      ("zeroGrad and backward()", times.backward), ("Adam step", times.optimizer)]
        for (name, values) in phases where showPhases {
            let sorted = values.sorted()
            phaseRows.append("| \(model) | \(name) | \(String(format: "%.3f", sorted[sorted.count / 10] * 1e3)) | "
                             + "\(String(format: "%.3f", sorted[sorted.count / 2] * 1e3)) |")
        }
    }
    print("")
    if showPhases {
        // Each phase's own quantiles: they need not add up to the step's.
        print("| model | phase | 10th percentile ms | median ms |")
        print("|---|---|---:|---:|")
        phaseRows.forEach { print($0) }
        print("")
    }
    if showRoofline { printRoofline(rooflineRows, threads: threads) }
}

/// The products' share of each model's step at the FMA roofline: the operations the GEMM entry
/// points counted in one step, the time they take at the measured single-core FMA peak (`fmaPeak`,
/// at the kernel level in use) on every thread, and that time as a share of the 10th-percentile and
/// the median step (the 10th percentile has less of the host's noise, which only ever adds time).
/// A share near 100 % leaves nothing but the products; what a step spends beyond them is the cell
/// kernels, packing, the tape, the optimizer and waiting.
func printRoofline(_ rows: [(model: String, flops: Int64, p10: Double, median: Double)], threads: Int) {
    let peak = fmaPeak()
    print("Single-core FMA peak measured here: \(String(format: "%.1f", peak)) GFLOP/s (\(KernelLevel.current) kernels), "
          + "\(String(format: "%.1f", peak * Double(threads))) on \(threads) threads.")
    print("")
    print("| model | products per step (counted) | at the FMA peak | share of the 10th-percentile step | share of the median step |")
    print("|---|---:|---:|---:|---:|")
    for row in rows {
        let floor = Double(row.flops) / (peak * 1e9 * Double(threads))
        func share(_ step: Double) -> String {
            "\(Int((100 * floor / step).rounded())) % of \(String(format: "%.3f", step * 1e3)) ms"
        }
        print("| \(row.model) | \(String(format: "%.1f", Double(row.flops) / 1e6)) MFLOP | \(String(format: "%.3f", floor * 1e3)) ms | "
              + "\(share(row.p10)) | \(share(row.median)) |")
    }
    print("")
}
