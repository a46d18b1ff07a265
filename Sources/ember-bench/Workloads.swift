// Training and evaluation workloads of the speed issue, and the side-by-side comparison with the
// PyTorch anchor (Examples/pytorch/torch_rnn_mnist.py).
import Ember
import EmberCLI
import Foundation

// MARK: - Running child processes

struct ChildResult {
    var status: Int32
    var output: String
    /// Peak resident memory of the child, in bytes.
    var maxRSS: Int
}

/// Runs `path` with `arguments`, capturing standard output; returns its status, output and peak RSS.
/// The child gets this process's environment with `environment`'s variables added or replaced.
func runChild(_ path: String, _ arguments: [String], environment: [String: String] = [:]) -> ChildResult {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { return ChildResult(status: -1, output: "", maxRSS: 0) }
    #if canImport(Darwin)
    var actions: posix_spawn_file_actions_t? = nil   // an opaque pointer on Darwin, a struct on Linux
    #else
    var actions = posix_spawn_file_actions_t()
    #endif
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_addclose(&actions, fds[0])
    var pid: pid_t = 0
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    // The environment from Foundation: `environ` is not imported on every platform.
    let envp = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    let spawned = posix_spawn(&pid, path, &actions, nil, argv, envp)
    posix_spawn_file_actions_destroy(&actions)
    close(fds[1])
    guard spawned == 0 else { close(fds[0]); return ChildResult(status: -1, output: "cannot start \(path)", maxRSS: 0) }
    var output = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fds[0], &buffer, buffer.count)
        if n <= 0 { break }
        output.append(contentsOf: buffer[0..<n])
    }
    close(fds[0])
    var status: Int32 = 0
    var usage = rusage()
    wait4(pid, &status, 0, &usage)
    #if canImport(Darwin)
    let maxRSS = usage.ru_maxrss          // bytes on Darwin
    #else
    let maxRSS = usage.ru_maxrss * 1024   // KiB on Linux
    #endif
    return ChildResult(status: status, output: String(decoding: output, as: UTF8.self), maxRSS: maxRSS)
}

/// The directory holding ember-bench (and train-rnn, built beside it).
let productsDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()

// MARK: - Ember's side

/// One epoch of train-rnn (a child process); samples/s from its epoch line, and its peak RSS.
func emberTraining(cell: String, hidden: Int, threads: Int, dataDir: String) -> (samplesPerSecond: Double, maxRSS: Int)? {
    let r = runChild(productsDirectory.appendingPathComponent("train-rnn").path,
                     ["--data-dir", dataDir, "--cell", cell, "--hidden", "\(hidden)", "--epochs", "1",
                      "--threads", "\(threads)", "--no-progress"])
    // "Epoch 1/1: train loss …, test accuracy … %, 16.4 s, 3,661 samples/s"
    guard r.status == 0, let line = r.output.split(separator: "\n").first(where: { $0.hasPrefix("Epoch 1/1:") }),
          let field = line.components(separatedBy: " s, ").last,
          let rate = Double(field.replacingOccurrences(of: " samples/s", with: "").replacingOccurrences(of: ",", with: "")) else {
        return nil
    }
    return (rate, r.maxRSS)
}

/// The benchmarks' recurrent layer over 28 features of each image row, batch-first: `rnn`, `lstm` or
/// `gru`, `hidden` units. Returns the layer (for its parameters) and its output `[B, 28, hidden]`
/// for images `[B, 28, 28]`.
func recurrentLayer(cell: String, hidden: Int) -> (RecurrentLayer<Float>, (Variable<Float>) -> Variable<Float>) {
    let layer = RecurrentLayer<Float>.make(cell == "lstm" ? .lstm : (cell == "gru" ? .gru : .rnnTanh), inputSize: 28,
                                           hiddenSize: hidden, batchFirst: true)
    return (layer, { layer($0, state: nil).output })
}

/// Images per second evaluating the 10,000 test images in one batch (no graph, eval mode), median of 5.
func emberEvaluation(cell: String = "rnn", hidden: Int, threads: Int, images: Tensor<Float>) -> Double {
    emberThreadCount = threads
    defer { emberThreadCount = 1 }
    let count = images.shape[0]
    let (_, layer) = recurrentLayer(cell: cell, hidden: hidden)
    let fc = Linear<Float>(inFeatures: hidden, outFeatures: 10)
    var times: [Double] = []
    for _ in 0..<5 {
        let start = now()
        let predictions = withNoGrad { fc(layer(Variable(images)).select(axis: 1, index: -1)).argmax(axis: 1) }
        times.append(Double(now() - start) / 1e9)
        precondition(predictions.count == count)
    }
    return Double(count) / median(times)
}

/// The 10,000 test images as one [10000, 28, 28] batch.
func testImages(_ dataDir: String) throws -> Tensor<Float> {
    let test = try MNIST(directory: URL(fileURLWithPath: dataDir), train: false)
    return test.batch(Array(0..<test.count)).images
}

/// `ember-bench eval`: evaluation throughput of each cell type.
func benchEvaluation(_ arguments: [String]) throws {
    let dataDir = option("--data-dir", in: arguments) ?? defaultDataDir()
    let threads = Int(option("--threads", in: arguments) ?? "") ?? 2
    let images = try testImages(dataDir)
    print("## Evaluating the 10,000 test images in one batch (\(threads) threads; median of 5)")
    print("")
    print("| model | images/s |")
    print("|---|---:|")
    let only = option("--cell", in: arguments)
    for (cell, hidden) in [("rnn", 32), ("lstm", 128), ("gru", 128)] where only == nil || only == cell {
        let rate = emberEvaluation(cell: cell, hidden: hidden, threads: threads, images: images)
        print("| \(cell.uppercased()) \(hidden) | \(Int(rate)) |")
    }
}

// MARK: - PyTorch's side

/// Times PyTorch evaluating the 10,000 test images in one batch, median of 5 (written to a temporary file).
let torchEvaluationScript = """
    import gzip, struct, sys, time
    import numpy as np, torch, torch.nn as nn
    def idx(path):
        b = gzip.open(path).read(); nd = struct.unpack('>I', b[:4])[0] & 0xff
        dims = struct.unpack('>' + 'I' * nd, b[4:4 + 4 * nd])
        return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)
    d, H, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    x = torch.tensor(idx(f'{d}/t10k-images-idx3-ubyte.gz'), dtype=torch.float32) / 255
    rnn, fc = nn.RNN(28, H, 1, batch_first=True), nn.Linear(H, 10)
    times = []
    with torch.no_grad():
        for _ in range(5):
            t = time.perf_counter(); out, _ = rnn(x); p = fc(out[:, -1, :]).argmax(1); times.append(time.perf_counter() - t)
    times.sort(); print(f'images_per_s {len(x) / times[2]:.0f}')
    """

func torchTraining(python: String, anchor: String, cell: String, hidden: Int, threads: Int, dataDir: String,
                   environment: [String: String] = [:]) -> (samplesPerSecond: Double, maxRSS: Int)? {
    let r = runChild(python, [anchor, dataDir, "1", "\(hidden)", cell, "\(threads)"], environment: environment)
    guard r.status == 0, let field = r.output.split(separator: " ").firstIndex(of: "samples_per_s") else { return nil }
    let parts = r.output.split(separator: " ")
    return (Double(parts[field + 1]) ?? 0, r.maxRSS)
}

func torchEvaluation(python: String, hidden: Int, threads: Int, dataDir: String, environment: [String: String] = [:]) -> Double? {
    let script = FileManager.default.temporaryDirectory.appendingPathComponent("ember-torch-eval-\(getpid()).py")
    try? torchEvaluationScript.write(to: script, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: script) }
    let r = runChild(python, [script.path, dataDir, "\(hidden)", "\(threads)"], environment: environment)
    guard r.status == 0, let value = r.output.split(separator: " ").last else { return nil }
    return Double(value.trimmingCharacters(in: .whitespacesAndNewlines))
}

/// The environment PyTorch's runs get, and how to say it. When Ember's kernels are held to AVX2 on a
/// CPU with AVX-512 (`EMBER_KERNEL=avx2`, standing in for an AVX2-only machine such as a Zen 3),
/// PyTorch is held to AVX2 too, through the switches its libraries read: ATen's kernels
/// (`ATEN_CPU_CAPABILITY`), MKL (`MKL_ENABLE_INSTRUCTIONS`) and oneDNN (`ONEDNN_MAX_CPU_ISA`).
/// Otherwise, or with `--torch-native`, PyTorch chooses for itself.
func torchEnvironment(_ arguments: [String]) -> (variables: [String: String], description: String) {
    guard KernelLevel.current == .avx2 && KernelLevel.best == .avx512 && !arguments.contains("--torch-native") else {
        return ([:], "PyTorch with its own choice of instructions")
    }
    let variables = ["ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"]
    return (variables, "PyTorch held to AVX2 as well (" + variables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        .joined(separator: ", ") + ")")
}

/// The CPU's model name with its family and model numbers (which tell the generation when a virtual
/// machine's name does not: AMD family 25 model 17 is Zen 4), from /proc/cpuinfo where there is one.
func cpuModelName() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
    let lines = text.split(separator: "\n")
    func field(_ name: String) -> String? {
        for line in lines {
            guard let colon = line.firstIndex(of: ":"), line[..<colon].trimmingCharacters(in: .whitespaces) == name else { continue }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }
    guard let name = field("model name") else { return "unknown CPU" }
    guard let family = field("cpu family"), let model = field("model") else { return name }
    return "\(name) (family \(family), model \(model))"
}

// MARK: - Subcommands

func option(_ name: String, in arguments: [String]) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}

/// The PyTorch program `compare` runs: Examples/pytorch/torch_rnn_mnist.py of this checkout.
let defaultAnchor = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Examples/pytorch/torch_rnn_mnist.py").path

func defaultDataDir() -> String { MNISTLocation.resolve(dataDir: nil).directory.path }

/// `ember-bench train`: Ember's training and evaluation throughput and peak RSS, median of `runs`.
func benchTraining(_ arguments: [String]) throws {
    let dataDir = option("--data-dir", in: arguments) ?? defaultDataDir()
    let threads = Int(option("--threads", in: arguments) ?? "") ?? 2
    let runs = Int(option("--runs", in: arguments) ?? "") ?? 3
    print("## Training and evaluation (MNIST, batch 64, Adam; \(threads) threads; median of \(runs))")
    print("")
    print("| workload | samples/s | peak RSS |")
    print("|---|---:|---:|")
    for (cell, hidden) in [("rnn", 32), ("lstm", 128), ("gru", 128)] {
        let results = (0..<runs).compactMap { _ in emberTraining(cell: cell, hidden: hidden, threads: threads, dataDir: dataDir) }
        guard !results.isEmpty else { print("| \(cell.uppercased()) \(hidden) training | failed | |"); continue }
        print("| \(cell.uppercased()) \(hidden) training | \(Int(median(results.map(\.samplesPerSecond)))) | \(Int(median(results.map { Double($0.maxRSS) })) >> 20) MB |")
    }
    let evaluation = emberEvaluation(hidden: 32, threads: threads, images: try testImages(dataDir))
    print("| RNN 32 evaluating 10,000 test images | \(Int(evaluation)) | |")
}

/// `ember-bench compare --python PATH`: Ember and the PyTorch anchor alternately, `runs` times each.
func benchCompare(_ arguments: [String]) {
    guard let python = option("--python", in: arguments) else {
        FileHandle.standardError.write(Data("ember-bench compare: give --python PATH (a Python with torch)\n".utf8))
        exit(64)
    }
    let dataDir = option("--data-dir", in: arguments) ?? defaultDataDir()
    let anchor = option("--anchor", in: arguments) ?? defaultAnchor
    guard FileManager.default.isReadableFile(atPath: anchor) else {
        // Checked up front: otherwise every PyTorch run fails alike and the table comes out half empty.
        FileHandle.standardError.write(Data("ember-bench compare: no PyTorch anchor at \(anchor) (pass --anchor FILE)\n".utf8))
        exit(66)
    }
    // Checked up front too: a Python without torch or numpy would fail every PyTorch run alike.
    let probe = runChild(python, ["-c", "import numpy, torch"])
    guard probe.status == 0 else {
        FileHandle.standardError.write(Data("ember-bench compare: \(python) cannot import torch and numpy (install them: \(python) -m pip install torch numpy)\n".utf8))
        exit(69)
    }
    let threads = Int(option("--threads", in: arguments) ?? "") ?? 2
    let runs = max(1, Int(option("--runs", in: arguments) ?? "") ?? 5)
    let torchSetting = torchEnvironment(arguments)
    print("## Ember vs PyTorch (\(threads) threads each, MNIST batch 64, Adam; medians of \(runs) alternating runs)")
    print("")
    print("\(cpuModelName()), \(ProcessInfo.processInfo.activeProcessorCount) cores; Ember's \(KernelLevel.current) kernels; \(torchSetting.description).")
    print("")
    print("| workload | Ember | PyTorch | ratio |")
    print("|---|---:|---:|---:|")
    // Every run, listed after the table: the spread between runs says how far to trust a median.
    var runLines: [String] = []
    func row(_ name: String, _ unit: String, _ ember: [Double], _ torch: [Double], higherIsBetter: Bool = true) {
        guard !ember.isEmpty, !torch.isEmpty else {
            let cell = { (values: [Double]) in values.isEmpty ? "failed" : "\(Int(median(values))) \(unit)" }
            print("| \(name) | \(cell(ember)) | \(cell(torch)) | |")
            return
        }
        let e = median(ember), t = median(torch)
        let ratio = higherIsBetter ? e / t : t / e
        print("| \(name) | \(Int(e)) \(unit) | \(Int(t)) \(unit) | \(String(format: "%.2f", ratio))× |")
        let pairs = zip(ember, torch).map { pair in
            "\(Int(pair.0)) / \(Int(pair.1)) (\(String(format: "%.2f", higherIsBetter ? pair.0 / pair.1 : pair.1 / pair.0))×)"
        }
        runLines.append("- \(name), Ember / PyTorch in the order run: " + pairs.joined(separator: ", "))
    }
    defer {
        print("")
        print("Each run:")
        print("")
        runLines.forEach { print($0) }
    }
    var rss: (ember: [Double], torch: [Double]) = ([], [])
    for (cell, hidden) in [("rnn", 32), ("lstm", 128), ("gru", 128)] {
        var ember: [Double] = [], torch: [Double] = []
        for _ in 0..<runs {
            if let e = emberTraining(cell: cell, hidden: hidden, threads: threads, dataDir: dataDir) {
                ember.append(e.samplesPerSecond)
                if cell == "rnn" { rss.ember.append(Double(e.maxRSS >> 20)) }
            }
            if let t = torchTraining(python: python, anchor: anchor, cell: cell, hidden: hidden, threads: threads, dataDir: dataDir,
                                     environment: torchSetting.variables) {
                torch.append(t.samplesPerSecond)
                if cell == "rnn" { rss.torch.append(Double(t.maxRSS >> 20)) }
            }
        }
        row("\(cell.uppercased()) \(hidden) training", "samples/s", ember, torch)
    }
    var ember: [Double] = [], torch: [Double] = []
    let images = try? testImages(dataDir)
    for _ in 0..<runs {
        if let images { ember.append(emberEvaluation(hidden: 32, threads: threads, images: images)) }
        if let t = torchEvaluation(python: python, hidden: 32, threads: threads, dataDir: dataDir, environment: torchSetting.variables) {
            torch.append(t)
        }
    }
    row("RNN 32 evaluating 10,000 test images", "images/s", ember, torch)
    row("peak RSS, train-rnn --hidden 32 (1 epoch)", "MB", rss.ember, rss.torch, higherIsBetter: false)
}
