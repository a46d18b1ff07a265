import Foundation
import Testing
import Ember

/// ONNX Runtime runs what Ember exports and computes what Ember computes. The models are written by
/// `train-rnn --export` (one per cell kind), `char-rnn --export` (an LSTM with its state in and out),
/// and `exportONNX` (a bidirectional two-layer LSTM over a ragged batch with initial states, the
/// operations, Conv1d and LayerNorm, a Transformer encoder block, the building blocks'
/// operations: ONNXRuntimeBlockModels.swift); each
/// is fed inputs of another batch size than it was traced with, and Ember's outputs for them are
/// written beside it as .npy files. `.ci/onnx_check.py` then runs `onnx.checker` on every model and
/// compares ONNX Runtime's outputs with Ember's (≤ 1e-5 relative, Float).
///
/// Needs Python with `onnx`, `onnxruntime` and `numpy`: `.ci/run` makes that virtual environment
/// outside the project and sets EMBER_ONNX_PYTHON to its interpreter. Without it, the test says it
/// was skipped and passes.
@Suite struct ONNXRuntimeTests {
    static let python = ProcessInfo.processInfo.environment["EMBER_ONNX_PYTHON"]

    @Test func onnxRuntimeAgreesWithEmber() throws {
        guard let python = Self.python, !python.isEmpty else {
            print("ONNXRuntimeTests: skipped — EMBER_ONNX_PYTHON is not set (.ci/run sets it to a Python with onnx and onnxruntime)")
            return
        }
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        var manifest: [[String: Any]] = []
        for cell in ["rnn", "lstm", "gru"] { manifest.append(try trainRNNModel(cell: cell, in: dir)) }
        manifest.append(try raggedBidirectionalLSTM(in: dir))
        manifest.append(try charRNNModel(in: dir))
        manifest.append(try embeddingClassifier(in: dir))
        manifest.append(try elementwiseShapeAndReductionOperations(in: dir))
        manifest.append(try convolutionAndLayerNorm(in: dir))
        manifest.append(try encoderBlock(in: dir))
        manifest.append(try buildingBlockOperations(in: dir))
        manifest.append(try attentionLayouts(in: dir))
        let data = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: dir.appendingPathComponent("manifest.json"))

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".ci/onnx_check.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script.path, dir.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        print(output)
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(output.contains("11 of 11 models agree with Ember"), "\(output)")
    }

    /// `train-rnn --export` after a short run, and the same classifier rebuilt here from `--save`'s
    /// checkpoint, run on five test images (the export traced two).
    func trainRNNModel(cell: String, in dir: URL) throws -> [String: Any] {
        let onnx = dir.appendingPathComponent("train-rnn-\(cell).onnx"), checkpoint = dir.appendingPathComponent("\(cell).safetensors")
        let r = try runExample("train-rnn", ["--data-dir", mnistDirectory.path, "--cell", cell, "--hidden", "12", "--epochs", "1",
                                             "--limit", "128", "--test-limit", "64", "--save", checkpoint.path,
                                             "--export", onnx.path, "--no-progress"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("Exported the model to \(onnx.path)"), "\(r.out)")
        let rnn = RecurrentLayer<Float>.make(cell == "lstm" ? .lstm : (cell == "gru" ? .gru : .rnnTanh), inputSize: 28,
                                             hiddenSize: 12, batchFirst: true)
        let fc = Linear<Float>(inFeatures: 12, outFeatures: 10)
        let file = try SafeTensorsFile(contentsOf: checkpoint)
        for (name, p) in rnn.namedParameters() { p.data = try file.tensor("rnn." + name, as: Float.self) }
        for (name, p) in fc.namedParameters() { p.data = try file.tensor("fc." + name, as: Float.self) }
        let images = try MNIST(directory: mnistDirectory, train: false, limit: 5).batch(Array(0..<5)).images
        let logits = withNoGrad { fc(rnn(Variable(images), state: nil).output.select(axis: 1, index: -1)) }
        let name = "train-rnn --cell \(cell)"
        return try entry(name, onnx, dir, inputs: ["input": .float(images)], outputs: ["output": .float(logits.data)])
    }

    /// A bidirectional two-layer LSTM (batch-first) with ragged lengths and initial states, exported
    /// with `exportONNX` on a batch of 3 and run on a batch of 4 of other lengths.
    func raggedBidirectionalLSTM(in dir: URL) throws -> [String: Any] {
        var g = SeededGenerator(seed: 23)
        let lstm = LSTM<Float>(inputSize: 3, hiddenSize: 5, numLayers: 2, batchFirst: true, bidirectional: true)
        for p in lstm.parameters() { p.data = Tensor(randomNormal: p.shape, standardDeviation: 0.5, generator: &g) }
        func inputs(_ B: Int) -> (Tensor<Float>, Tensor<Float>, Tensor<Float>) {
            (Tensor(randomNormal: [B, 6, 3], generator: &g), Tensor(randomNormal: [4, B, 5], generator: &g),
             Tensor(randomNormal: [4, B, 5], generator: &g))
        }
        let (x, h0, c0) = inputs(3), traceLengths = [6, 2, 4]
        let onnx = dir.appendingPathComponent("lstm-bidirectional-ragged.onnx")
        try exportONNX(lstm, inputs: [.tensor("input", x), .lengths("lengths", traceLengths),
                                      .tensor("h0", h0, dynamicAxes: [1: "batch"]), .tensor("c0", c0, dynamicAxes: [1: "batch"])],
                       outputNames: ["output", "h_n", "c_n"], to: onnx) { v in
            let (out, state) = lstm(v[0], (v[1], v[2]), lengths: traceLengths)
            return [out, state.h, state.c]
        }
        let (x4, h4, c4) = inputs(4), lengths = [3, 6, 1, 5]
        let (out, state) = withNoGrad { lstm(Variable(x4), (Variable(h4), Variable(c4)), lengths: lengths) }
        return try entry("LSTM, 2 layers, bidirectional, ragged lengths", onnx, dir,
                         inputs: ["input": .float(x4), "lengths": .int32(lengths), "h0": .float(h4), "c0": .float(c4)],
                         outputs: ["output": .float(out.data), "h_n": .float(state.h.data), "c_n": .float(state.c.data)])
    }

    /// `char-rnn --export` after a few iterations (LSTM): one-hot characters [T, 1, V] and the state
    /// in, logits [T, V] and the state out; run here on 7 characters from a nonzero state.
    func charRNNModel(in dir: URL) throws -> [String: Any] {
        let text = dir.appendingPathComponent("text.txt"), saved = dir.appendingPathComponent("char.safetensors")
        let onnx = dir.appendingPathComponent("char-rnn.onnx")
        try "hello onnx runtime, hello ember\n".write(to: text, atomically: true, encoding: .utf8)
        let r = try runExample("char-rnn", ["--text", text.path, "--cell", "lstm", "--hidden", "10", "--iterations", "5",
                                            "--sample-every", "0", "--save", saved.path, "--export", onnx.path])
        #expect(r.status == 0, "\(r.err)")
        let file = try SafeTensorsFile(contentsOf: saved)
        let vocabulary = try JSONDecoder().decode([String].self, from: Data(file.metadata["vocabulary"]!.utf8))
        let V = vocabulary.count
        let rnn = RecurrentLayer<Float>.make(.lstm, inputSize: V, hiddenSize: 10)
        let fc = Linear<Float>(inFeatures: 10, outFeatures: V)
        for (name, p) in rnn.namedParameters() { p.data = try file.tensor("rnn." + name, as: Float.self) }
        for (name, p) in fc.namedParameters() { p.data = try file.tensor("fc." + name, as: Float.self) }
        let indices = [1, 4, 0, V - 1, 2, 2, 3]
        var scalars = [Float](repeating: 0, count: indices.count * V)
        for (t, i) in indices.enumerated() { scalars[t * V + i] = 1 }
        let x = Tensor<Float>(shape: [indices.count, 1, V], scalars: scalars)
        var g = SeededGenerator(seed: 5)
        let h0 = Tensor<Float>(randomNormal: [1, 1, 10], generator: &g), c0 = Tensor<Float>(randomNormal: [1, 1, 10], generator: &g)
        let (out, state) = withNoGrad { rnn(Variable(x), state: RecurrentState(h: Variable(h0), c: Variable(c0))) }
        let logits = withNoGrad { fc(out.squeezingShape(at: 1)) }
        return try entry("char-rnn --cell lstm", onnx, dir, inputs: ["input": .float(x), "h0": .float(h0), "c0": .float(c0)],
                         outputs: ["logits": .float(logits.data), "h_n": .float(state.h.data), "c_n": .float(state.c!.data)])
    }

    final class Tokens: Module {
        let embedding = Embedding<Float>(numEmbeddings: 7, embeddingDim: 4)
        let fc = Linear<Float>(inFeatures: 4, outFeatures: 3)
    }

    /// Embedding (Gather on an int64 `.indices` input), Linear, log-softmax: traced on 3 tokens, run on 5.
    func embeddingClassifier(in dir: URL) throws -> [String: Any] {
        let model = Tokens(), traced = [1, 5, 2], tokens = [6, 0, 3, 3, 1]
        var g = SeededGenerator(seed: 3)
        for p in model.parameters() { p.data = Tensor(randomNormal: p.shape, generator: &g) }
        let onnx = dir.appendingPathComponent("embedding.onnx")
        try exportONNX(model, inputs: [.indices("tokens", traced)], outputNames: ["logp"], to: onnx) { _ in
            [model.fc(model.embedding(traced)).logSoftmax(axis: 1)]
        }
        let logp = withNoGrad { model.fc(model.embedding(tokens)).logSoftmax(axis: 1) }
        return try entry("Embedding, Linear, log-softmax", onnx, dir, inputs: ["tokens": .int64(tokens)], outputs: ["logp": .float(logp.data)])
    }

    final class Mixed: Module {
        let w: Variable<Float>
        let fc = Linear<Float>(inFeatures: 2, outFeatures: 2)
        init(_ g: inout SeededGenerator) { w = Variable(Tensor(randomNormal: [3, 2], generator: &g), requiresGrad: true) }

        func callAsFunction(_ x: Variable<Float>) -> [Variable<Float>] {
            let B = x.shape[0]
            let a = (x.matmul(w) * 2 + 1).tanh()                                                          // [B, 2]
            let b = concat([a, (1 - a).sqrt()], axis: 1).reshaped(to: [-1, 2, 2]).permuted([0, 2, 1])     // [B, 2, 2]
            let c = b.narrow(axis: 2, start: 1, length: 1).sum(axis: 2).softmax(axis: 1)                 // [B, 2]
            let d = stack([a.sigmoid(), a.relu(), (a.exp() + 0.5).log(), a.clamped(min: -0.2, max: 0.3), a.pow(3) / 2,
                           3 / (a + 2), -a, a.squared() - 1, a - c, a / (c + 1)], axis: 1)                 // [B, 10, 2]
            let e = fc(d).max(axis: 1) + d.select(axis: 1, index: -2) * c                                 // [B, 2]
            let f = e.expandingShape(at: 1).expanded(to: [B, 3, 2]).mean(axis: 1)                         // [B, 2]
            return [f.expandingShape(at: 1).squeezingShape(at: 1),
                    d.logSoftmax(axis: 2).sum(axis: 1, keepDims: true)]
        }
    }

    /// Matmul, scalar and elementwise arithmetic with broadcasting, the activations, concat, stack,
    /// reshape, permute, narrow, select, expand, the reductions, softmax and log-softmax, a Linear on
    /// a 3-D input: traced on a batch of 4, run on 6.
    func elementwiseShapeAndReductionOperations(in dir: URL) throws -> [String: Any] {
        var g = SeededGenerator(seed: 7)
        let model = Mixed(&g)
        let x4 = Tensor<Float>(randomNormal: [4, 3], generator: &g), x6 = Tensor<Float>(randomNormal: [6, 3], generator: &g)
        let onnx = dir.appendingPathComponent("operations.onnx")
        try exportONNX(model, inputs: [.tensor("input", x4)], outputNames: ["f", "l"], to: onnx) { v in model(v[0]) }
        let outs = withNoGrad { model(Variable(x6)) }
        return try entry("elementwise, shape and reduction operations", onnx, dir, inputs: ["input": .float(x6)],
                         outputs: ["f": .float(outs[0].data), "l": .float(outs[1].data)])
    }

    final class ConvNorm: Module {
        let conv = Conv1d<Float>(inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2, padding: 1, dilation: 2, bias: true)
        let norm = LayerNorm<Float>(normalizedShape: [4])
        func callAsFunction(_ x: Variable<Float>) -> Variable<Float> { norm(conv(x).relu().permuted([0, 2, 1])) }
    }

    /// Conv1d (stride 2, padding 1, dilation 2) as Conv, LayerNorm as LayerNormalization: traced on
    /// [2, 3, 9], run on [3, 3, 11] (batch and length dynamic).
    func convolutionAndLayerNorm(in dir: URL) throws -> [String: Any] {
        var g = SeededGenerator(seed: 11)
        let model = ConvNorm()
        for p in model.parameters() { p.data = Tensor(randomNormal: p.shape, generator: &g) }
        let onnx = dir.appendingPathComponent("conv-layernorm.onnx")
        try exportONNX(model, inputs: [.tensor("input", Tensor(randomNormal: [2, 3, 9], generator: &g), dynamicAxes: [0: "batch", 2: "length"])],
                       outputNames: ["output"], to: onnx) { v in [model(v[0])] }
        let x = Tensor<Float>(randomNormal: [3, 3, 11], generator: &g)
        let y = withNoGrad { model(Variable(x)) }
        return try entry("Conv1d, relu, permute, LayerNorm", onnx, dir, inputs: ["input": .float(x)], outputs: ["output": .float(y.data)])
    }

    /// A manifest entry with the arrays written as .npy files.
    func entry(_ name: String, _ model: URL, _ dir: URL, inputs: [String: NumpyArray], outputs: [String: NumpyArray]) throws -> [String: Any] {
        let stem = model.deletingPathExtension().lastPathComponent
        func files(_ arrays: [String: NumpyArray], _ kind: String) throws -> [String: String] {
            try Dictionary(uniqueKeysWithValues: arrays.map { key, array in
                let file = "\(stem).\(kind).\(key).npy"
                try array.write(to: dir.appendingPathComponent(file))
                return (key, file)
            })
        }
        return ["name": name, "model": model.lastPathComponent,
                "runs": [["inputs": try files(inputs, "in"), "outputs": try files(outputs, "out")]]]
    }
}

/// An array written in NumPy's .npy format (version 1.0: magic, header length, a Python dict
/// literal padded to 64 bytes, little-endian data).
enum NumpyArray {
    case float(Tensor<Float>)
    case int32([Int])
    case int64([Int])
    case int64Tensor(Tensor<Int>)
    case bool(Tensor<Bool>)

    func write(to url: URL) throws {
        let (descr, shape, body): (String, [Int], Data)
        switch self {
        case .float(let t): (descr, shape, body) = ("<f4", t.shape, t.scalars.withUnsafeBytes { Data($0) })
        case .int32(let v): (descr, shape, body) = ("<i4", [v.count], v.map { Int32($0) }.withUnsafeBytes { Data($0) })
        case .int64(let v): (descr, shape, body) = ("<i8", [v.count], v.map { Int64($0) }.withUnsafeBytes { Data($0) })
        case .int64Tensor(let t): (descr, shape, body) = ("<i8", t.shape, t.scalars.map { Int64($0) }.withUnsafeBytes { Data($0) })
        case .bool(let t): (descr, shape, body) = ("|b1", t.shape, Data(t.scalars.map { $0 ? 1 : 0 }))
        }
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        data.append(contentsOf: [UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data.append(contentsOf: Array(header.utf8))
        data.append(body)
        try data.write(to: url)
    }
}
