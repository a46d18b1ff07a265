// The fused recurrent-cell kernels alone: one step of LSTM and GRU, forward and backward, on a block
// of rows whose operands stay in cache. The step's products are left out, so a change to the
// kernels' instruction schedule shows here at full size rather than as a few percent of a
// training step that moves 20-30 % with this host's load.
import CEmberKernels
import Ember
import Foundation

/// `ember-bench cells`: median ns per call of each cell kernel at the kernel level in use, for
/// `--rows` rows (default 32, a block of a batch of 64) of `--hidden` units (default 128).
func benchCells(_ arguments: [String]) {
    let rows = max(1, Int(option("--rows", in: arguments) ?? "") ?? 32)
    let hidden = max(1, Int(option("--hidden", in: arguments) ?? "") ?? 128)
    let level = ember_kernel_level_in_use()
    print("## Cell kernels alone, \(rows) rows x \(hidden) units, operands in cache (\(KernelLevel.current) kernels)")
    print("")
    print("| kernel | ns per call | ns per unit |")
    print("|---|---:|---:|")
    var rng = SeededGenerator(seed: 5)
    func values(_ count: Int, _ scale: Float) -> [Float] {
        Tensor<Float>(randomUniform: [count], lowerBound: -scale, upperBound: scale, generator: &rng).scalars
    }
    let (n, H) = (rows, hidden)
    // Pre-activations spread over the gates' working range (and past it, where exp and tanh clamp).
    let xw = values(n * 4 * H, 6), gh = values(n * 4 * H, 4), bih = values(4 * H, 1), bhh = values(4 * H, 1)
    let state = values(n * H, 2), dh = values(n * H, 1), out = values(n * H, 1)
    var gates = [Float](repeating: 0, count: n * 4 * H), c = [Float](repeating: 0, count: n * H)
    var h = [Float](repeating: 0, count: n * H), dc = [Float](repeating: 0, count: n * H)
    var dz = [Float](repeating: 0, count: n * 4 * H), dz2 = [Float](repeating: 0, count: n * 4 * H)
    func report(_ name: String, _ body: () -> Void) {
        let ns = nanosecondsPerCall(body)
        print("| \(name) | \(Int(ns.rounded())) | \(String(format: "%.2f", ns / Double(n * H))) |")
    }
    report("LSTM forward") { ember_lstm_forward_f(level, n, H, xw, bih, gh, bhh, state, &gates, &c, &h, 0) }
    report("LSTM backward") {
        dc.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: dh, count: n * H) }   // the same dc each call
        ember_lstm_backward_f(level, n, H, dh, out, H, gates, c, state, &dc, &dz)
    }
    let gruGates = Array(gates[..<(n * 3 * H)])
    report("GRU forward") { ember_gru_forward_f(level, n, H, xw, bih, gh, bhh, state, &gates, &c, &h, 0) }
    report("GRU backward") { ember_gru_backward_f(level, n, H, dh, out, H, gruGates, c, state, &dz, &dz2, &h) }
    print("")
}
