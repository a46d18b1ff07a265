// `ember-bench scaling`: training throughput against the thread count, Ember's (in this process) and
// PyTorch's (a child process per point), to see how far each grows past two cores.
import Ember
import Foundation

/// PyTorch's side of `scaling`: the same model and step as `stepTimes` (a recurrent layer over 28
/// features, batch-first, a Linear head on the last output, cross-entropy, Adam) on random images,
/// `steps` timed steps after 10 warm-up ones; prints the samples/s of the median step. Arguments:
/// cell, hidden, batch, threads, steps.
let torchScalingScript = """
    import sys, time
    import torch, torch.nn as nn
    cell, H, B, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads); torch.manual_seed(0)
    R = {'rnn': nn.RNN, 'lstm': nn.LSTM, 'gru': nn.GRU}[cell]
    rnn, fc = R(28, H, 1, batch_first=True), nn.Linear(H, 10)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(fc.parameters()), lr=1e-3); crit = nn.CrossEntropyLoss()
    x = torch.rand(B, 28, 28); y = torch.arange(B) % 10
    times = []
    for i in range(steps + 10):
        t = time.perf_counter()
        out, _ = rnn(x); loss = crit(fc(out[:, -1, :]), y); opt.zero_grad(); loss.backward(); opt.step()
        if i >= 10: times.append(time.perf_counter() - t)
    times.sort(); print(f'samples_per_s {B / times[len(times) // 2]:.0f}')
    """

/// PyTorch's samples/s for one point of the scaling table, or nil when the child failed.
func torchScaling(python: String, script: String, cell: String, hidden: Int, batch: Int, threads: Int, steps: Int) -> Double? {
    let r = runChild(python, [script, cell, "\(hidden)", "\(batch)", "\(threads)", "\(steps)"],
                     environment: torchEnvironment(CommandLine.arguments).variables)
    guard r.status == 0, let value = r.output.split(separator: " ").last else { return nil }
    return Double(value.trimmingCharacters(in: .whitespacesAndNewlines))
}

/// `ember-bench scaling [--max-threads N] [--steps 200] [--rounds 3] [--python PATH]`: samples/s of
/// RNN-32 and LSTM-128 training steps at batch 64 and 256 (random 28 x 28 images), for every thread
/// count from 1 to the machine's cores (or N), with the speed-up over one thread, and PyTorch's at
/// the same thread counts when a Python with torch is given. Each point is the best of `rounds`
/// rounds, each round measuring every thread count in turn (Ember, then PyTorch), so that a slow
/// phase of the host (0.3 to 2 s here, longer than RNN-32's 200 steps) cannot fall on one thread
/// count only: noise only ever adds time.
func benchScaling(_ arguments: [String]) {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    guard let maxThreads = Int(option("--max-threads", in: arguments) ?? "\(cores)"), maxThreads >= 1,
          // 200 steps by default: an RNN-32 step takes about 0.2 ms, and 40 steps (8-10 ms) were too
          // short on a busy host (README, "Threads").
          let steps = Int(option("--steps", in: arguments) ?? "200"), steps >= 1,
          let rounds = Int(option("--rounds", in: arguments) ?? "3"), rounds >= 1 else {
        FileHandle.standardError.write(Data("ember-bench scaling: --max-threads, --steps and --rounds expect positive integers\n".utf8))
        exit(64)
    }
    let python = option("--python", in: arguments)
    var script: URL? = nil
    if let python {
        // Checked up front: a Python without torch would fail every point alike.
        guard runChild(python, ["-c", "import torch"]).status == 0 else {
            FileHandle.standardError.write(Data("ember-bench scaling: \(python) cannot import torch (install it: \(python) -m pip install torch)\n".utf8))
            exit(69)
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ember-torch-scaling-\(getpid()).py")
        do { try torchScalingScript.write(to: file, atomically: true, encoding: .utf8) } catch {
            FileHandle.standardError.write(Data("ember-bench scaling: cannot write \(file.path): \(error)\n".utf8))
            exit(73)
        }
        script = file
    }
    defer { if let script { try? FileManager.default.removeItem(at: script) } }
    print("## Training throughput by thread count (\(cores) cores here; random 28 x 28 images, Adam; "
          + "samples/s of the median of \(steps) steps, the best of \(rounds) rounds)")
    print("")
    let torchColumns = script == nil ? "" : " PyTorch samples/s | PyTorch speed-up | Ember / PyTorch |"
    print("| model | batch | threads | Ember samples/s | Ember speed-up |" + torchColumns)
    print("|---|---:|---:|---:|---:|" + (script == nil ? "" : "---:|---:|---:|"))
    for (cell, hidden) in [("rnn", 32), ("lstm", 128)] {
        for batch in [64, 256] {
            // Index threads - 1; PyTorch's stays nil where every round's child failed.
            var ember = [Double](repeating: 0, count: maxThreads), torch = [Double?](repeating: nil, count: maxThreads)
            for _ in 0..<rounds {
                for threads in 1...maxThreads {
                    let times = stepTimes(cell: cell, hidden: hidden, threads: threads, steps: steps, batch: batch).steps
                    ember[threads - 1] = max(ember[threads - 1], Double(batch) / times[times.count / 2])
                    if let python, let script,
                       let value = torchScaling(python: python, script: script.path, cell: cell, hidden: hidden, batch: batch,
                                                threads: threads, steps: steps) {
                        torch[threads - 1] = max(torch[threads - 1] ?? 0, value)
                    }
                }
            }
            for threads in 1...maxThreads {
                let e = ember[threads - 1]
                var line = "| \(cell.uppercased()) \(hidden) | \(batch) | \(threads) | \(Int(e)) | "
                    + "\(String(format: "%.2f", e / ember[0]))× |"
                if script != nil {
                    if let t = torch[threads - 1] {
                        line += " \(Int(t)) | \(torch[0].map { String(format: "%.2f×", t / $0) } ?? "") | "
                            + "\(String(format: "%.2f", e / t))× |"
                    } else {
                        line += " failed | | |"
                    }
                }
                print(line)
            }
        }
    }
    print("")
}
