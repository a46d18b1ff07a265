import Foundation
import Testing
@testable import Ember

/// One seed, one result on every FMA kernel path: whole training runs (RNN, LSTM, GRU; bidirectional;
/// variable lengths) give byte-identical weights at every level this CPU has but the portable one
/// (x86-64's baseline has no FMA), and their hash is the one committed here, which the AVX2 and
/// AVX-512 paths both produced. (The C kernels' own results are checked on arm64 under qemu by
/// Tests/KernelHashes.) Each run is a child process of its own (an exit test), so setting the kernel
/// level cannot disturb tests running in parallel.
@Suite struct CrossPathDeterminismTests {
    /// FNV-1a 64 of the trained weights' bytes (in `namedParameters()` order), per run.
    /// (Runs 0 and 1 changed when softmax, log-softmax and the seeded normal draws moved to Ember's own
    /// exp, log and cos, CEmberKernels' emath.c; run 2 happened to round to the same weights.)
    static let golden: [Int: String] = [0: "68f50994f0b9c624", 1: "4a27a6622eed30f5", 2: "a32b5ed613d5f410"]

    @Test(arguments: [0, 1, 2])
    func trainingRunIsTheSameOnEveryFMAPath(_ run: Int) async {
        var hashes: [String: String] = [:]
        for level in KernelLevel.allCases where level != .portable && level.rawValue <= KernelLevel.best.rawValue {
            let levelNumber = level.rawValue
            let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) { [run = run as Int, levelNumber = levelNumber as Int] in
                KernelLevel.current = KernelLevel(rawValue: levelNumber)!
                FileHandle.standardError.write(Data("hash \(CrossPathDeterminismTests.train(run))\n".utf8))
            }
            let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
            hashes[level.description] = text.split(separator: "\n").first { $0.hasPrefix("hash ") }.map { String($0.dropFirst(5)) }
        }
        #expect(!hashes.isEmpty, "this CPU has no FMA kernel path (AVX2 or AVX-512)")
        for (level, hash) in hashes {
            #expect(hash == Self.golden[run], "run \(run) on \(level): weights hash \(hash), golden \(Self.golden[run] ?? "")")
        }
    }

    /// Trains run 0 (tanh RNN), 1 (bidirectional 2-layer LSTM) or 2 (GRU over sequences of 5 to 12
    /// steps): 48 synthetic sequences of 12 steps × 7 features (576 rows, so the weight-gradient
    /// products cross every path's blocks of K), a Linear head on the last output, cross-entropy,
    /// Adam, 30 steps; returns the weights' hash.
    static func train(_ run: Int) -> String {
        let (B, T, I, H, classes) = (48, 12, 7, 20, 5)
        var rng = SeededGenerator(seed: UInt64(17 + run))
        manualSeed(UInt64(run))
        let mode: RecurrentMode = [.rnnTanh, .lstm, .gru][run]
        let bidirectional = run == 1
        let rnn = RecurrentLayer<Float>.make(mode, inputSize: I, hiddenSize: H, numLayers: run == 1 ? 2 : 1,
                                             batchFirst: true, bidirectional: bidirectional)
        let head = Linear<Float>(inFeatures: (bidirectional ? 2 : 1) * H, outFeatures: classes)
        let parameters = rnn.parameters() + head.parameters()
        let optimizer = Adam(parameters, lr: 0.01)
        let x = Tensor<Float>(randomNormal: [B, T, I], generator: &rng)
        let targets = (0..<B).map { $0 % classes }
        let lengths = run == 2 ? (0..<B).map { 5 + $0 % 8 } : nil
        for _ in 0..<30 {
            optimizer.zeroGrad()
            let (output, _) = rnn(Variable(x), state: nil, lengths: lengths)
            let last = output.select(axis: 1, index: -1)
            let loss = CrossEntropyLoss()(head(last), targets)
            loss.backward()
            optimizer.step()
        }
        var hash: UInt64 = 1_469_598_103_934_665_603
        for p in parameters {
            for value in p.data.scalars {
                var bits = value.bitPattern
                for _ in 0..<4 {
                    hash = (hash ^ UInt64(bits & 0xff)) &* 1_099_511_628_211
                    bits >>= 8
                }
            }
        }
        return String(hash, radix: 16)
    }
}
