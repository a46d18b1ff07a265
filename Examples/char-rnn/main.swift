// char-rnn: a character-level language model on any UTF-8 text, after the classic minimal numpy
// char-rnn: a vanilla RNN (or LSTM/GRU) with 100 hidden units reads the text in sequences of 25
// characters, carrying its hidden state from one sequence to the next (truncated backpropagation
// through time: the state is detached at each boundary and reset at the end of the text), trained
// with Adagrad (lr 0.1) and every gradient element clipped to ±5. Every so often it writes a sample.
//
//   swift run -c release char-rnn --text input.txt
import Ember
import EmberCLI
import Foundation

let usage = """
    usage: char-rnn --text FILE [options]      train (and sample as it goes)
           char-rnn --load FILE [options]      sample from a saved model

    options:
      --text FILE            UTF-8 text to learn from
      --cell rnn|lstm|gru    recurrent cell (default rnn)
      --hidden N             hidden units (default 100)
      --seq-length N         characters per training sequence (default 25)
      --lr X                 learning rate (default 0.1)
      --optimizer adagrad|adam   (default adagrad)
      --clip X               clip every gradient element to [-X, X]; 0 turns it off (default 5)
      --iterations N         training iterations (default 10000)
      --print-every N        print the smoothed loss every N iterations (default 100)
      --sample-every N       print a sample every N iterations (default 1000; 0 never)
      --sample-length N      characters per sample (default 200)
      --temperature X        divide the logits by X before sampling (default 1)
      --seed N               seed for initialisation and sampling (default 0)
      --save FILE            save the model and its vocabulary at the end (safetensors)
      --load FILE            start from a saved model (with --text: keep training; without: sample)
      --prime TEXT           when only sampling: characters to feed first (default: the saved text's first)
      --export FILE.onnx     write the model as ONNX (opset 17) at the end (or, with --load alone, before
                             sampling): inputs one-hot characters [T, 1, V] and h0 [1, 1, hidden] (and c0 for
                             an LSTM), outputs logits [T, V], h_n (and c_n), to be fed back as the next state
      --help                 this text

    exit codes: 0 ok, 64 bad flags, 65 bad text or model file, 66 missing file, 74 I/O failure
    """

// MARK: - Model

final class CharModel: Module {
    let rnn: RecurrentLayer<Float>
    let fc: Linear<Float>
    let cell: String

    init(cell: String, vocabulary: Int, hidden: Int) {
        self.cell = cell
        rnn = .make(cell == "lstm" ? .lstm : (cell == "gru" ? .gru : .rnnTanh), inputSize: vocabulary, hiddenSize: hidden)
        fc = Linear<Float>(inFeatures: hidden, outFeatures: vocabulary)
    }

    /// The recurrent state: h, and c for an LSTM.
    typealias State = RecurrentState<Float>

    func zeroState() -> State {
        let z = Variable(Tensor<Float>(zeros: [1, 1, rnn.hiddenSize]))
        return State(h: z, c: rnn.mode == .lstm ? z : nil)
    }

    /// One-hot inputs `[T, 1, V]` → logits `[T, V]` and the final state.
    func callAsFunction(_ x: Variable<Float>, _ state: State) -> (Variable<Float>, State) {
        let (out, next) = rnn(x, state: state)
        return (fc(out.squeezingShape(at: 1)), next)
    }
}

func oneHot(_ indices: [Int], _ vocabulary: Int) -> Variable<Float> {
    var scalars = [Float](repeating: 0, count: indices.count * vocabulary)
    for (t, i) in indices.enumerated() { scalars[t * vocabulary + i] = 1 }
    return Variable(Tensor(shape: [indices.count, 1, vocabulary], scalars: scalars))
}

/// `length` characters drawn from the model, starting from `state` with the character `first`.
func sample(_ model: CharModel, vocabulary: [String], state: CharModel.State, first: Int, length: Int,
            temperature: Double, generator: inout SeededGenerator) -> String {
    var state = state, current = first, text = ""
    withNoGrad {
        for _ in 0..<length {
            let (logits, next) = model(oneHot([current], vocabulary.count), state)
            state = next
            let p = (logits * Float(1 / temperature)).softmax(axis: 1).scalars
            var u = Float(generator.nextUnitDouble()), choice = p.count - 1
            for (i, pi) in p.enumerated() {
                u -= pi
                if u < 0 { choice = i; break }
            }
            text += vocabulary[choice]
            current = choice
        }
    }
    return text
}

// MARK: - Saving

func save(_ model: CharModel, vocabulary: [String], prime: String, to path: String) throws {
    let json = String(decoding: try JSONEncoder().encode(vocabulary), as: UTF8.self)
    let url = URL(fileURLWithPath: path)
    do {
        try model.save(to: url, metadata: ["format": "ember-char-rnn", "cell": model.cell,
                                           "hidden": "\(model.rnn.hiddenSize)", "vocabulary": json,
                                           "prime": prime])
    } catch { throw CommandError("char-rnn: cannot write \(url.path): \(reason(of: error, about: url.path))", code: .ioError) }
}

func load(_ path: String) throws -> (CharModel, [String], String) {
    guard FileManager.default.fileExists(atPath: path) else { throw CommandError("char-rnn: --load: no such file \(path)", code: .noInput) }
    let url = URL(fileURLWithPath: path)
    do {
        let file = try SafeTensorsFile(contentsOf: url)
        guard file.metadata["format"] == "ember-char-rnn", let cell = file.metadata["cell"], ["rnn", "lstm", "gru"].contains(cell),
              let hidden = Int(file.metadata["hidden"] ?? ""), hidden > 0,
              let vocabulary = try? JSONDecoder().decode([String].self, from: Data((file.metadata["vocabulary"] ?? "").utf8)),
              !vocabulary.isEmpty else {
            throw CommandError("char-rnn: \(path) is not a char-rnn model", code: .dataError)
        }
        let model = CharModel(cell: cell, vocabulary: vocabulary.count, hidden: hidden)
        try model.load(from: url)
        return (model, vocabulary, file.metadata["prime"] ?? "")
    } catch let error as CommandError { throw error } catch {
        throw CommandError("char-rnn: cannot load \(url.path): \(reason(of: error, about: url.path))", code: .dataError)
    }
}

/// Writes `model` as ONNX: one-hot characters and the state in, logits and the state out.
func export(_ model: CharModel, vocabulary: Int, to path: String) throws {
    let lstm = model.rnn.mode == .lstm, zero = model.zeroState().h.data
    var inputs: [ONNXInput<Float>] = [.tensor("input", oneHot([0, 0, 0], vocabulary).data, dynamicAxes: [0: "sequence"]),
                                      .tensor("h0", zero, dynamicAxes: [:])]
    if lstm { inputs.append(.tensor("c0", zero, dynamicAxes: [:])) }
    let url = URL(fileURLWithPath: path)
    do {
        try exportONNX(model, inputs: inputs, outputNames: ["logits", "h_n"] + (lstm ? ["c_n"] : []), to: url) { v in
            let (logits, next) = model(v[0], CharModel.State(h: v[1], c: lstm ? v[2] : nil))
            return [logits, next.h] + (next.c.map { [$0] } ?? [])
        }
    } catch { throw CommandError("char-rnn: cannot export \(url.path): \(reason(of: error, about: url.path))", code: .ioError) }
    print("Exported the model to \(url.path) (ONNX, opset 17)")
}

// MARK: - Main

// The program from top to bottom (arguments, text, model, training, sampling), as the char-rnn
// tutorial it follows is written, so that it reads as one script.
func run() throws {
    let a = try Arguments(Array(CommandLine.arguments.dropFirst()), command: "char-rnn",
                          valued: ["text", "cell", "hidden", "seq-length", "lr", "optimizer", "clip", "iterations", "print-every",
                                   "sample-every", "sample-length", "temperature", "seed", "save", "load", "prime", "export"],
                          boolean: ["help"])
    if a.flag("help") { print(usage); return }
    let cell = try a.choice("cell", default: "rnn", ["rnn", "lstm", "gru"])
    let hidden = try a.int("hidden", default: 100, in: 1...4096)
    let seqLength = try a.int("seq-length", default: 25, in: 1...100_000)
    let lr = try a.positiveDouble("lr", default: 0.1, upTo: 100)
    let optimizerName = try a.choice("optimizer", default: "adagrad", ["adagrad", "adam"])
    let clip = try a.double("clip", default: 5, in: 0...1e9)!
    let iterations = try a.int("iterations", default: 10_000, in: 0...Int.max)
    let printEvery = try a.int("print-every", default: 100, in: 1...Int.max)
    let sampleEvery = try a.int("sample-every", default: 1000, in: 0...Int.max)
    let sampleLength = try a.int("sample-length", default: 200, in: 1...1_000_000)
    let temperature = try a.double("temperature", default: 1, in: 1e-6...1e6)!
    let seed = UInt64(try a.int("seed", default: 0, in: 0...Int.max))
    guard a.string("text") != nil || a.string("load") != nil else {
        throw CommandError("char-rnn: give --text FILE to train or --load FILE to sample", code: .usage)
    }
    manualSeed(seed)
    var generator = SeededGenerator(seed: seed &+ 1)

    var model: CharModel? = nil, vocabulary: [String] = [], savedPrime = ""
    if let path = a.string("load") { (model, vocabulary, savedPrime) = try load(path) }

    guard let textPath = a.string("text") else {
        // Sampling only: feed the prime characters, then sample after the last of them. (A start from a
        // rare character can lock a small model into drawing rare characters, hence the prime.)
        let m = model!
        let prime = (a.string("prime") ?? savedPrime).map(String.init)
        let index = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($0.element, $0.offset) })
        var primeIndices: [Int] = []
        for c in prime {
            guard let i = index[c] else { throw CommandError("char-rnn: --prime has the character \(c.debugDescription), which the model's vocabulary lacks", code: .usage) }
            primeIndices.append(i)
        }
        if primeIndices.isEmpty { primeIndices = [generator.nextInt(below: vocabulary.count)] }
        if let path = a.string("export") { try export(m, vocabulary: vocabulary.count, to: path) }
        var state = m.zeroState()
        if primeIndices.count > 1 {
            state = withNoGrad { m(oneHot(Array(primeIndices.dropLast()), vocabulary.count), state).1 }
        }
        print(prime.joined() + sample(m, vocabulary: vocabulary, state: state, first: primeIndices.last!,
                                      length: sampleLength, temperature: temperature, generator: &generator))
        return
    }
    guard FileManager.default.fileExists(atPath: textPath) else { throw CommandError("char-rnn: --text: no such file \(textPath)", code: .noInput) }
    let bytes: Data
    do { bytes = try Data(contentsOf: URL(fileURLWithPath: textPath)) } catch {
        throw CommandError("char-rnn: cannot read \(textPath): \(error.localizedDescription)", code: .ioError)
    }
    guard let text = String(data: bytes, encoding: .utf8), !bytes.contains(0) else {
        throw CommandError("char-rnn: \(textPath) is not UTF-8 text", code: .dataError)
    }
    let characters = text.map(String.init)
    guard characters.count >= 2 else { throw CommandError("char-rnn: \(textPath) needs at least 2 characters, has \(characters.count)", code: .dataError) }
    if model == nil {
        vocabulary = Array(Set(characters)).sorted()
        model = CharModel(cell: cell, vocabulary: vocabulary.count, hidden: hidden)
    }
    let m = model!
    let index = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($0.element, $0.offset) })
    var data: [Int] = []
    data.reserveCapacity(characters.count)
    for c in characters {
        guard let i = index[c] else { throw CommandError("char-rnn: \(textPath) has the character \(c.debugDescription), which the loaded model's vocabulary lacks", code: .dataError) }
        data.append(i)
    }
    let seq = min(seqLength, data.count - 1)
    print("text: \(characters.count) characters, \(vocabulary.count) distinct; model: \(m.cell.uppercased()) hidden \(m.rnn.hiddenSize), \(m.parameterCount) parameters")

    let optimizer: any Optimizer = optimizerName == "adam" ? Adam(m.parameters(), lr: lr) : Adagrad(m.parameters(), lr: lr)
    let criterion = CrossEntropyLoss(reduction: .sum)
    var smooth = -Foundation.log(1 / Double(vocabulary.count)) * Double(seq)
    var p = 0
    var state = m.zeroState()
    for iteration in 0..<iterations {
        if p + seq + 1 > data.count || iteration == 0 {
            state = m.zeroState()                          // reset at the end of the text
            p = 0
        }
        let inputs = Array(data[p..<(p + seq)]), targets = Array(data[(p + 1)...(p + seq)])
        if sampleEvery > 0 && iteration % sampleEvery == 0 {
            let text = sample(m, vocabulary: vocabulary, state: state, first: inputs[0], length: sampleLength,
                              temperature: temperature, generator: &generator)
            print("----\n\(text)\n----")
        }
        let (logits, next) = m(oneHot(inputs, vocabulary.count), state)
        let loss = criterion(logits, targets)
        guard loss.scalar.isFinite else {
            throw CommandError("char-rnn: the loss became \(loss.scalar) at iteration \(iteration); stopping without saving (try a smaller --lr)", code: .dataError)
        }
        optimizer.zeroGrad()
        loss.backward()
        if let bad = m.namedParameters().first(where: { $0.parameter.grad?.scalars.contains { !$0.isFinite } ?? false }) {
            throw CommandError("char-rnn: the gradient of \(bad.name) became NaN or infinite at iteration \(iteration); stopping without saving", code: .dataError)
        }
        if clip > 0 { clipGradValue(m.parameters(), clipValue: clip) }
        optimizer.step()
        state = CharModel.State(h: next.h.detach(), c: next.c?.detach())    // truncated BPTT
        smooth = 0.999 * smooth + 0.001 * Double(loss.scalar)
        if iteration % printEvery == 0 { print("iter \(iteration), loss \(String(format: "%.4f", smooth))") }
        p += seq
    }
    if iterations > 0 && (iterations - 1) % printEvery != 0 { print("iter \(iterations - 1), loss \(String(format: "%.4f", smooth))") }
    if let path = a.string("save") { try save(m, vocabulary: vocabulary, prime: characters[0], to: path) }
    if let path = a.string("export") { try export(m, vocabulary: vocabulary.count, to: path) }
}

do {
    try run()
} catch let error as CommandError {
    printError(error.message)
    if error.code == .usage { printError("run 'char-rnn --help' for the options") }
    exit(error.code.rawValue)
} catch {
    printError("char-rnn: \(error)")
    exit(ExitCode.ioError.rawValue)
}
