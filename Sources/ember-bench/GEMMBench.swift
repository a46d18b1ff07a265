// `ember-bench gemm`: Ember's single-thread SGEMM next to the measured FMA peak and, given a Python
// with numpy, next to NumPy's OpenBLAS on the same shapes in the same run.
import CEmberKernels
import Ember
import Foundation

/// One product `op(A)[m, k] · op(B)[k, n]` of the benchmark.
struct GEMMShape {
    let name: String, m: Int, k: Int, n: Int, transA: Bool, transB: Bool
}

let squareShapes: [GEMMShape] = [(64, 28, 32), (64, 32, 32), (64, 128, 512), (256, 256, 256), (1024, 1024, 1024)].map {
    GEMMShape(name: "\($0.0)x\($0.1) · \($0.1)x\($0.2)", m: $0.0, k: $0.1, n: $0.2, transA: false, transB: false)
}

/// The products of LSTM-128 training on MNIST rows (batch 64, 28 steps), both backward forms.
let recurrentShapes: [GEMMShape] = [
    GEMMShape(name: "h·W_hhᵀ: 64x128 · (512x128)ᵀ", m: 64, k: 128, n: 512, transA: false, transB: true),
    GEMMShape(name: "dG·W_hh: 64x512 · 512x128", m: 64, k: 512, n: 128, transA: false, transB: false),
    GEMMShape(name: "dW_hh = dGᵀ·H: (1792x512)ᵀ · 1792x128", m: 512, k: 1792, n: 128, transA: true, transB: false),
    GEMMShape(name: "dW_ih = dGᵀ·X: (1792x512)ᵀ · 1792x28", m: 512, k: 1792, n: 28, transA: true, transB: false),
    GEMMShape(name: "X·W_ihᵀ: 1792x28 · (512x28)ᵀ", m: 1792, k: 28, n: 512, transA: false, transB: true),
]

/// Nanoseconds of this thread's CPU time: a single-thread product is charged only the time it ran,
/// not the time other processes of a busy host had the core (on a quiet host the two agree).
func threadCPUTime() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Nanoseconds per call of `body`: the fastest of `samples` samples of about `sampleSeconds` each
/// (the fastest, not the median: other processes only ever add time), by `clock` (wall time
/// unless told).
func fastestNanosecondsPerCall(samples: Int, sampleSeconds: Double, clock: () -> UInt64 = now, _ body: () -> Void) -> Double {
    let now = clock
    let batch = callsPerSample(sampleSeconds: sampleSeconds, clock: clock, body)
    var best = Double.infinity
    for _ in 0..<samples {
        let start = now()
        for _ in 0..<batch { body() }
        best = min(best, Double(now() - start) / Double(batch))
    }
    return best
}

/// GFLOP/s of one shape in Float through the matmul entry Ember's ops use (fastest of 15 samples):
/// by this thread's CPU time with one thread, by wall time with more.
func gemmGFLOPs(_ s: GEMMShape) -> Double {
    var rng = SeededGenerator(seed: 1)
    let a = Tensor<Float>(randomNormal: s.transA ? [s.k, s.m] : [s.m, s.k], generator: &rng)
    let b = Tensor<Float>(randomNormal: s.transB ? [s.n, s.k] : [s.k, s.n], generator: &rng)
    let clock = emberThreadCount == 1 ? threadCPUTime : now
    let ns = fastestNanosecondsPerCall(samples: 15, sampleSeconds: s.m * s.n * s.k >= 1 << 28 ? 0.2 : 0.05, clock: clock) {
        _ = Tensor.matmul(a, transposed: s.transA, b, transposed: s.transB)
    }
    return 2 * Double(s.m) * Double(s.n) * Double(s.k) / ns
}

/// The NumPy side: each argument is "m k n ta tb"; prints one GFLOP/s per shape, in
/// order, then the OpenBLAS core's name when the library says it (float32, the fastest of 15, by the
/// thread's CPU time as Ember's single-thread figures).
let numpyGEMMScript = """
import sys, time, glob, os, ctypes
import numpy as np
def core():
    try:
        d = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
        for path in glob.glob(os.path.join(d, "*openblas*.so*")):
            lib = ctypes.CDLL(path)
            for name in ("scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename"):
                if hasattr(lib, name):
                    f = getattr(lib, name); f.restype = ctypes.c_char_p
                    return f().decode()
    except Exception:
        pass
    return "unknown"
rng = np.random.default_rng(1)
for spec in sys.argv[1:]:
    m, k, n, ta, tb = (int(v) for v in spec.split())
    a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
    a = a.T if ta else a
    b = b.T if tb else b
    c = np.empty((m, n), dtype=np.float32)
    target = 0.2 if m * n * k >= 1 << 28 else 0.05
    batch = 1
    while True:
        t = time.thread_time()
        for _ in range(batch): np.matmul(a, b, out=c)
        e = time.thread_time() - t
        if e > target / 4 or batch > 1 << 24:
            batch = max(1, int(batch * target / max(e, 1e-9))); break
        batch *= 4
    best = float("inf")
    for _ in range(15):
        t = time.thread_time()
        for _ in range(batch): np.matmul(a, b, out=c)
        best = min(best, (time.thread_time() - t) / batch)
    print(2.0 * m * n * k / best / 1e9, flush=True)
print(core())
"""

/// NumPy's GFLOP/s for `shapes` (nil where it failed) and the OpenBLAS core, through `python` with
/// one OpenBLAS thread and OPENBLAS_CORETYPE unset (or set to `core`).
func numpyGFLOPs(python: String, core: String?, _ shapes: [GEMMShape]) -> (values: [Double?], core: String)? {
    let script = FileManager.default.temporaryDirectory.appendingPathComponent("ember-numpy-gemm-\(getpid()).py")
    guard (try? numpyGEMMScript.write(to: script, atomically: true, encoding: .utf8)) != nil else { return nil }
    defer { try? FileManager.default.removeItem(at: script) }
    let specs = shapes.map { "\($0.m) \($0.k) \($0.n) \($0.transA ? 1 : 0) \($0.transB ? 1 : 0)" }
    let environment = ["-u", "OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1"] +
        (core.map { ["OPENBLAS_CORETYPE=\($0)"] } ?? [])
    let r = runChild("/usr/bin/env", environment + [python, script.path] + specs)
    let lines = r.output.split(separator: "\n").map(String.init)
    guard r.status == 0, lines.count == shapes.count + 1 else { return nil }
    return (lines.prefix(shapes.count).map { Double($0) }, lines.last ?? "unknown")
}

/// The measured single-core FMA peak at the kernel level in use, GFLOP/s: the fastest of 15 probes,
/// by the thread's CPU time.
func fmaPeak() -> Double {
    var sink: Float = 0
    var best = 0.0
    for _ in 0..<15 {
        let start = threadCPUTime()
        let flops = ember_fma_peak_probe(5_000_000, &sink)
        best = max(best, flops / Double(threadCPUTime() - start))
    }
    if sink.isNaN { print("") }
    return best
}

func format(_ value: Double?, _ digits: Int = 1) -> String {
    value.map { String(format: "%.\(digits)f", $0) } ?? "–"
}

func benchGEMM(_ arguments: [String]) {
    let python = option("--python", in: arguments)
    let core = option("--openblas-core", in: arguments)
    let rounds = max(1, Int(option("--rounds", in: arguments) ?? "") ?? 1)
    let level = KernelLevel.current
    emberThreadCount = 1
    let all = squareShapes + recurrentShapes
    // Each round measures the peak, NumPy's shapes, then Ember's; every figure keeps its best round,
    // so that a slow phase of the host (BENCHMARKS.md) does not fall on one side only.
    var peak = 0.0, ember = [Double](repeating: 0, count: all.count)
    var numpy: (values: [Double?], core: String)? = nil
    for round in 0..<rounds {
        peak = max(peak, fmaPeak())
        // After a first round without NumPy, no more tries; a later round's failure keeps the figures.
        if let python, round == 0 || numpy != nil, let figures = numpyGFLOPs(python: python, core: core, all) {
            let best = numpy.map { zip($0.values, figures.values).map { [$0, $1].compactMap { $0 }.max() } }
            numpy = (best ?? figures.values, figures.core)
        }
        ember = zip(ember, all.map { gemmGFLOPs($0) }).map { max($0, $1) }
    }
    print("## GEMM, single thread, Float (kernel level: \(level))")
    print("")
    let rounding = rounds == 1 ? "" : ", in the best of \(rounds) rounds (each round the peak, then NumPy's shapes, then Ember's)"
    print("Single-core FMA peak measured here: \(String(format: "%.1f", peak)) GFLOP/s. Each figure is the fastest of 15 samples\(rounding), timed by the thread's CPU time.")
    if let python {
        if let numpy {
            print("NumPy's OpenBLAS (\(python), 1 thread, core \(numpy.core)) measured in the same run.")
        } else {
            print("NumPy's OpenBLAS: \(python) could not run the numpy script (is numpy installed?).")
        }
    }
    print("")
    func row(_ i: Int) -> String {
        var cells = ["\(all[i].name)", format(ember[i]), "\(format(100 * ember[i] / peak, 0)) %"]
        if let numpy {
            let theirs = numpy.values[i]
            cells += [format(theirs), theirs.map { "\(format(100 * $0 / peak, 0)) %" } ?? "–",
                      theirs.map { format(ember[i] / $0, 2) } ?? "–"]
        }
        return "| " + cells.joined(separator: " | ") + " |"
    }
    let header = numpy == nil ? "| product | GFLOP/s | % of peak |\n|---|---:|---:|"
        : "| product | Ember GFLOP/s | % of peak | OpenBLAS GFLOP/s | % of peak | Ember / OpenBLAS |\n|---|---:|---:|---:|---:|---:|"
    print(header)
    for i in squareShapes.indices { print(row(i)) }
    print("")
    print("Recurrent shapes (LSTM hidden 128, batch 64, 28 steps), both backward forms:")
    print("")
    print(header)
    for i in recurrentShapes.indices { print(row(squareShapes.count + i)) }
    print("")
    print("The same recurrent shapes with 2 threads (Ember, wall time):")
    print("")
    print("| product | 2 threads GFLOP/s |")
    print("|---|---:|")
    emberThreadCount = 2
    for s in recurrentShapes { print("| \(s.name) | \(format(gemmGFLOPs(s))) |") }
    emberThreadCount = 1
    print("")
}
