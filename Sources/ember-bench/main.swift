// ember-bench: release-mode measurements of Ember's small-op path and GEMM.
//
//   swift run -c release ember-bench            # everything
//   swift run -c release ember-bench ops        # forward + tape + backward per op
//   swift run -c release ember-bench gemm --python ~/torchenv/bin/python   # GEMM GFLOP/s, FMA peak, OpenBLAS
//   swift run -c release ember-bench train      # training/evaluation throughput and peak RSS
//   swift run -c release ember-bench eval       # RNN/LSTM/GRU evaluation of the 10,000 test images
//   swift run -c release ember-bench compare --python ~/torchenv/bin/python   # side by side with PyTorch
//   swift run -c release ember-bench scaling [--python ~/torchenv/bin/python]  # samples/s by thread count
//   swift run -c release ember-bench lengths --python ~/torchenv/bin/python   # variable-length batches
//   swift run -c release ember-bench cells      # the fused recurrent-cell kernels alone
//
// Every number is a median over several timed samples.
import CEmberKernels
import Ember
import Foundation

// MARK: - Timing

@inline(__always) func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// `ops --calls N`: every measurement makes exactly N calls in one sample, so that valgrind's
/// callgrind counts the same instructions on every run (timings are then one sample's).
nonisolated(unsafe) var fixedCalls: Int? = nil
/// `ops --only NAME`: measure that op alone, and only at [1, 1] (for callgrind's per-op counts).
nonisolated(unsafe) var onlyOp: String? = nil

/// How many calls of `body` take about `sampleSeconds` by `clock`: the count is multiplied by 4
/// until a run takes a quarter of that, then scaled to the whole.
func callsPerSample(sampleSeconds: Double, clock: () -> UInt64, _ body: () -> Void) -> Int {
    var batch = 1
    while true {
        let start = clock()
        for _ in 0..<batch { body() }
        let elapsed = Double(clock() - start) / 1e9
        if elapsed > sampleSeconds / 4 || batch > 1 << 24 {
            return max(1, Int(Double(batch) * sampleSeconds / max(elapsed, 1e-9)))
        }
        batch *= 4
    }
}

/// Median nanoseconds per call of `body`, over `samples` samples of about `sampleSeconds` each.
func nanosecondsPerCall(samples: Int = 9, sampleSeconds: Double = 0.05, _ body: () -> Void) -> Double {
    if let calls = fixedCalls {
        let start = now()
        for _ in 0..<calls { body() }
        return Double(now() - start) / Double(calls)
    }
    let batch = callsPerSample(sampleSeconds: sampleSeconds, clock: now, body)
    var results: [Double] = []
    for _ in 0..<samples {
        let start = now()
        for _ in 0..<batch { body() }
        results.append(Double(now() - start) / Double(batch))
    }
    return median(results)
}

// MARK: - Small ops through the tape

func benchOps() {
    print("## Small ops: forward + recorded on the tape + backward (Float, median ns per op)")
    print("")
    print("| op | shape | total ns | ns at [1, 1] (overhead) |")
    print("|---|---|---:|---:|")
    var rng = SeededGenerator(seed: 0)
    func measure(_ name: String, _ shapeText: String, _ make: ([Int]) -> (Variable<Float>, Variable<Float>, (Variable<Float>, Variable<Float>) -> Variable<Float>, [Int])) {
        func time(_ shape: [Int]) -> Double {
            let (x, y, op, outShape) = make(shape)
            let seed = Tensor<Float>(ones: outShape)
            return nanosecondsPerCall {
                x.grad = nil; y.grad = nil
                op(x, y).backward(gradient: seed)
            }
        }
        if let onlyOp {
            guard onlyOp == name else { return }
            print("| \(name) | [1, 1] | | \(String(format: "%.0f", time([1, 1]))) |")
            return
        }
        let big = time([64, 32]), tiny = time([1, 1])
        print("| \(name) | \(shapeText) | \(String(format: "%.0f", big)) | \(String(format: "%.0f", tiny)) |")
    }
    func pair(_ shape: [Int], _ other: [Int]? = nil) -> (Variable<Float>, Variable<Float>) {
        (Variable(Tensor<Float>(randomNormal: shape, generator: &rng), requiresGrad: true),
         Variable(Tensor<Float>(randomNormal: other ?? shape, generator: &rng), requiresGrad: true))
    }
    measure("add", "[64, 32] + [64, 32]") { s in let (x, y) = pair(s); return (x, y, { $0 + $1 }, s) }
    measure("mul", "[64, 32] * [64, 32]") { s in let (x, y) = pair(s); return (x, y, { $0 * $1 }, s) }
    measure("tanh", "[64, 32]") { s in let (x, y) = pair(s); return (x, y, { a, _ in a.tanh() }, s) }
    measure("matmul", "[64, 32] x [32, 32]") { s in
        let k = s[1] == 32 ? 32 : 1
        let (x, y) = pair(s, [k, k])
        return (x, y, { $0.matmul($1) }, [s[0], k])
    }
    print("")
}

// MARK: - Main

let arguments = Array(CommandLine.arguments.dropFirst())
let usage = """
    usage: ember-bench [all | ops | gemm | train | eval | steps | compare | scaling | lengths | cells]
      all      ops and gemm (default)
      ops      [--calls N]: small ops through the tape, forward + backward, median ns per op; with
               --calls, exactly N calls per measurement (for counting instructions with callgrind);
               --only add|mul|tanh|matmul measures that op alone at [1, 1]
      gemm     [--python PATH] [--openblas-core NAME] [--rounds 1]: single-thread GEMM GFLOP/s next
               to the measured FMA peak; with --python (a Python with numpy), NumPy's OpenBLAS on the
               same shapes in the same run (1 thread, OPENBLAS_CORETYPE unset unless
               --openblas-core); with --rounds N, the best of N rounds for each figure and the peak
      train    [--threads 2] [--runs 3] [--data-dir DIR]: samples/s of RNN-32, LSTM-128 and GRU-128
               training (one epoch of train-rnn each), RNN-32 evaluation, and peak RSS
      eval     [--threads 2] [--cell rnn|lstm|gru] [--data-dir DIR]: images/s evaluating the 10,000 test images in one
               batch with RNN-32, LSTM-128 and GRU-128 (no graph), median of 5
      steps    [--threads 2] [--steps 300] [--batch 64] [--cell rnn|lstm|gru [--hidden N]] [--phases]
               [--roofline]: each training step (forward, backward, Adam) timed in this process;
               fastest, 10th percentile and median ms, to compare two builds on a busy host; with
               --phases, each phase's 10th percentile and median too; with --roofline, the
               floating-point operations of a step's matrix products (counted), the time they take
               at the measured FMA peak on every thread, and that time's share of the step
      compare  --python PATH [--anchor FILE] [--threads 2] [--runs 5] [--data-dir DIR] [--torch-native]:
               Ember and the PyTorch anchor alternately, medians and ratios per workload
      scaling  [--max-threads N] [--steps 200] [--rounds 3] [--python PATH]: samples/s of RNN-32 and
               LSTM-128 training steps at batch 64 and 256 for every thread count from 1 to the
               machine's cores (or N), and the speed-up over one thread; with --python, PyTorch's
               beside them; each point the best of the rounds, which take the thread counts in turn
      lengths  [--python PATH] [--threads 2] [--batches 80] [--runs 5] [--data-dir DIR]: training
               samples/s of RNN-32 and LSTM-128 on MNIST rows cut to seeded lengths 14-28, with
               lengths: against the same batches padded, the ideal (padded × 28 / mean length) and,
               with --python, PyTorch padded and with pack_padded_sequence; [--cell rnn|lstm]
               [--only lengths|padded] run one model / one Ember column (for callgrind)
      cells    [--rows 32] [--hidden 128]: the fused LSTM and GRU step kernels alone (forward and
               backward, operands in cache), median ns per call and per unit
    Set EMBER_KERNEL=portable|avx2|avx512 to measure a particular kernel path. With avx2 on a CPU that
    has AVX-512 (standing in for an AVX2-only machine), the PyTorch runs of compare, scaling and
    lengths are held to AVX2 too (ATEN_CPU_CAPABILITY, MKL_ENABLE_INSTRUCTIONS, ONEDNN_MAX_CPU_ISA)
    unless --torch-native is given.
    """
do {
    switch arguments.first ?? "all" {
    case "all":
        benchOps()
        benchGEMM([])
    case "ops":
        if let i = arguments.firstIndex(of: "--calls") {
            guard i + 1 < arguments.count, let n = Int(arguments[i + 1]), n > 0 else {
                FileHandle.standardError.write(Data("ember-bench ops: --calls expects a positive integer\n".utf8))
                exit(64)
            }
            fixedCalls = n
        }
        if let i = arguments.firstIndex(of: "--only") {
            guard i + 1 < arguments.count, ["add", "mul", "tanh", "matmul"].contains(arguments[i + 1]) else {
                FileHandle.standardError.write(Data("ember-bench ops: --only expects add, mul, tanh or matmul\n".utf8))
                exit(64)
            }
            onlyOp = arguments[i + 1]
        }
        benchOps()
    case "gemm": benchGEMM(Array(arguments.dropFirst()))
    case "train": try benchTraining(Array(arguments.dropFirst()))
    case "eval": try benchEvaluation(Array(arguments.dropFirst()))
    case "compare": benchCompare(Array(arguments.dropFirst()))
    case "steps": benchSteps(Array(arguments.dropFirst()))
    case "scaling": benchScaling(Array(arguments.dropFirst()))
    case "lengths": try benchLengths(Array(arguments.dropFirst()))
    case "cells": benchCells(Array(arguments.dropFirst()))
    case "-h", "--help", "help": print(usage)
    default:
        FileHandle.standardError.write(Data("ember-bench: unknown command '\(arguments[0])'\n\(usage)\n".utf8))
        exit(64)
    }
} catch {
    // Missing or unreadable MNIST files: one line, no backtrace.
    FileHandle.standardError.write(Data("ember-bench: \(error) (give --data-dir DIR or set MNIST_DIR)\n".utf8))
    exit(66)
}
