import Foundation
import Synchronization
import Testing
@testable import Ember

/// The recurrent engine's blocks of rows follow the thread count (more blocks, blocks cut into
/// parts, products cut into pieces) while the sums over the batch stay fixed by the batch size:
/// training and evaluation give the same bits on 1, 2, 3, 5 and 8 threads (more threads than this
/// machine's cores is fine: only the split matters).
@Suite(.serialized) struct ThreadScalingTests {
    static let threadCounts = [1, 2, 3, 5, 8]

    /// The splits the tests below rely on: a batch of 64 gets more forward blocks and backward parts
    /// with more threads, the backward blocks (and so the sums) stay two.
    @Test func blocksFollowTheThreads() {
        #expect(RecurrentEngine.recurrenceBlocks(64, threads: 1).count == 2)
        #expect(RecurrentEngine.recurrenceBlocks(64, threads: 2).count == 2)
        #expect(RecurrentEngine.recurrenceBlocks(64, threads: 3).count == 3)
        #expect(RecurrentEngine.recurrenceBlocks(64, threads: 8).count == 4)
        #expect(RecurrentEngine.recurrenceBlocks(256, threads: 2).count == 8)
        #expect(RecurrentEngine.recurrenceBlocks(256, threads: 16).map(\.count) == Array(repeating: 16, count: 16))
        #expect(RecurrentEngine.recurrenceBlocks(48, threads: 2).count == 2)
        #expect(RecurrentEngine.recurrenceBlocks(20, threads: 8).count == 1)
        let blocks = RecurrentEngine.backwardBlocks(64)
        #expect(blocks.count == 2)
        #expect(RecurrentEngine.backwardSubBlocks(blocks, threads: 2) == 1)
        #expect(RecurrentEngine.backwardSubBlocks(blocks, threads: 3) == 2)
        #expect(RecurrentEngine.backwardSubBlocks(blocks, threads: 8) == 2)
        #expect(RecurrentEngine.backwardSubBlocks(RecurrentEngine.backwardBlocks(48), threads: 5) == 3)
        #expect(RecurrentEngine.inferenceBlocks(64, threads: 1).map(\.count) == [64])
        #expect(RecurrentEngine.inferenceBlocks(64, threads: 5).map(\.count) == [16, 16, 16, 16])
        #expect(RecurrentEngine.inferenceBlocks(300, threads: 2).map(\.count) == [128, 128, 44])
        let pieces = GEMMPieces(m: 69, n: 128, parts: 4)
        #expect(!pieces.byRows && pieces.count == 4 && pieces.per == 32)
    }

    /// Every chunk of every region runs exactly once with up to 8 threads (more workers than cores:
    /// each worker has its own wake-up, so none can take another's and leave a region waiting).
    @Test func everyChunkRunsOnceOnManyThreads() {
        let counters = Counters(64)
        var expected = [Int](repeating: 0, count: 64)
        var rng = SeededGenerator(seed: 4)
        for round in 0..<2_000 {
            let chunks = 1 + rng.nextInt(below: 64)
            for i in 0..<chunks { expected[i] += 1 }
            WorkerPool.shared.run(chunks: chunks, threads: 2 + round % 7) { i in counters.counts.withLock { $0[i] += 1 } }
        }
        #expect(counters.counts.withLock { $0 } == expected)
    }

    /// Three Adam steps of a bidirectional 2-layer layer with ragged lengths and a Linear head, then
    /// an evaluation without a graph: weights, loss and evaluated output have the same bits on every
    /// thread count, for batches of 64 (two backward blocks cut into parts, products in pieces) and 48
    /// (one backward block cut into parts).
    @Test(arguments: [RecurrentMode.rnnTanh, .lstm, .gru])
    func trainingIsTheSameOnEveryThreadCount(_ mode: RecurrentMode) throws {
        defer { emberThreadCount = 1 }
        let (T, I, H) = (6, 5, 32)
        for batch in [64, 48] {
            let rnn = RecurrentLayer<Float>.make(mode, inputSize: I, hiddenSize: H, numLayers: 2, batchFirst: true,
                                                 bidirectional: true)
            let head = Linear<Float>(inFeatures: 2 * H, outFeatures: 4)
            let (rnnStart, headStart) = (rnn.stateDict(), head.stateDict())
            var g = SeededGenerator(seed: 31)
            let x = Tensor<Float>(randomNormal: [batch, T, I], generator: &g)
            let targets = (0..<batch).map { $0 % 4 }
            let lengths = (0..<batch).map { 1 + ($0 * 5) % T }
            var runs: [[[UInt32]]] = []
            for threads in Self.threadCounts {
                emberThreadCount = threads
                try rnn.loadStateDict(rnnStart)
                try head.loadStateDict(headStart)
                let optimizer = Adam(rnn.parameters() + head.parameters(), lr: 0.01)
                var losses: [Float] = []
                for _ in 0..<3 {
                    optimizer.zeroGrad()
                    let (output, _) = rnn(Variable(x), state: nil, lengths: lengths)
                    let loss = CrossEntropyLoss()(head(output.select(axis: 1, index: -1)), targets)
                    loss.backward()
                    optimizer.step()
                    losses.append(loss.data.scalars[0])
                }
                let evaluated = withNoGrad { rnn(Variable(x), state: nil, lengths: lengths).output.data.scalars }
                runs.append([losses, evaluated].map { $0.map(\.bitPattern) }
                            + (rnn.parameters() + head.parameters()).map { $0.data.scalars.map(\.bitPattern) })
            }
            for (threads, run) in zip(Self.threadCounts, runs).dropFirst() {
                #expect(run == runs[0], "\(mode), batch \(batch): \(threads) threads differ from one")
            }
        }
    }

    /// The backward pass in several chunks of steps (the parts of each block meet after every chunk
    /// to add its weight gradients): every gradient has the same bits on every thread count.
    @Test(arguments: [RecurrentMode.rnnTanh, .lstm, .gru])
    func chunkedBackwardIsTheSameOnEveryThreadCount(_ mode: RecurrentMode) {
        defer { emberThreadCount = 1 }
        let (T, B, I, H) = (7, 64, 5, 32)
        let layer = RecurrentLayer<Float>.make(mode, inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true)
        var g = SeededGenerator(seed: 32)
        let x = Tensor<Float>(randomNormal: [T, B, I], generator: &g)
        let h0 = Tensor<Float>(randomNormal: [4, B, H], generator: &g)
        let c0 = mode == .lstm ? Tensor<Float>(randomNormal: [4, B, H], generator: &g) : nil
        let lengths = (0..<B).map { 1 + ($0 * 3) % T }
        let weights = layer.weights.map(\.data)
        emberThreadCount = 1
        let forward = RecurrentEngine.forward(layer.config, x: x, h0: h0, c0: c0, weights: weights, lengths: lengths, masks: [])
        let gOut = Tensor<Float>(randomNormal: [T, B, 2 * H], generator: &g)
        let ghN = Tensor<Float>(randomNormal: [4, B, H], generator: &g)
        let gcN = mode == .lstm ? Tensor<Float>(randomNormal: [4, B, H], generator: &g) : nil
        var runs: [[[UInt32]]] = []
        for threads in Self.threadCounts {
            emberThreadCount = threads
            // Chunks of 2 steps of the blocks' 32 rows.
            let r = RecurrentEngine.backward(layer.config, gOut: gOut, ghN: ghN, gcN: gcN, h0: h0, c0: c0, weights: weights,
                                             lengths: lengths, masks: [], inputs: forward.inputs, caches: forward.caches,
                                             chunkRows: 64)
            runs.append(([r.gx, r.gh0] + (r.gc0.map { [$0] } ?? []) + r.gWeights).map { $0.scalars.map(\.bitPattern) })
        }
        for (threads, run) in zip(Self.threadCounts, runs).dropFirst() {
            #expect(run == runs[0], "\(mode): \(threads) threads differ from one")
        }
    }

    /// The backward pass's hand-over: the owner of the second block, held back, hands half its rows
    /// to the thread that has finished the first (held before a step), or only a share of the
    /// products (held before the first chunk's products), and the two meet after every chunk of 2
    /// steps to add its weight gradients, half the columns each. Every gradient keeps the bits of
    /// one thread, for both directions, full-length and ragged (sorted and not), for every cell.
    @Test(arguments: [RecurrentMode.rnnTanh, .lstm, .gru], [false, true])
    func backwardHandOverKeepsTheBits(_ mode: RecurrentMode, productsOnly: Bool) {
        defer {
            emberThreadCount = 1
            RecurrentRowSharing.ownerStepHook = nil
            RecurrentRowSharing.ownerProductHook = nil
        }
        let (T, B, I, H) = (12, 64, 5, 32)
        let layer = RecurrentLayer<Float>.make(mode, inputSize: I, hiddenSize: H, bidirectional: true)
        var g = SeededGenerator(seed: 34)
        let x = Tensor<Float>(randomNormal: [T, B, I], generator: &g)
        let h0 = Tensor<Float>(randomNormal: [2, B, H], generator: &g)
        let c0 = mode == .lstm ? Tensor<Float>(randomNormal: [2, B, H], generator: &g) : nil
        let gOut = Tensor<Float>(randomNormal: [T, B, 2 * H], generator: &g)
        let ghN = Tensor<Float>(randomNormal: [2, B, H], generator: &g)
        let gcN = mode == .lstm ? Tensor<Float>(randomNormal: [2, B, H], generator: &g) : nil
        let weights = layer.weights.map(\.data)
        let descending = (0..<B).map { T - $0 * T / B }
        for lengths in [[Int](repeating: T, count: B), (0..<B).map { 1 + ($0 * 7) % T }, descending] {
            emberThreadCount = 1
            let forward = RecurrentEngine.forward(layer.config, x: x, h0: h0, c0: c0, weights: weights, lengths: lengths, masks: [])
            func backward() -> [[UInt32]] {
                // Chunks of 2 steps of the blocks' 32 rows.
                let r = RecurrentEngine.backward(layer.config, gOut: gOut, ghN: ghN, gcN: gcN, h0: h0, c0: c0, weights: weights,
                                                 lengths: lengths, masks: [], inputs: forward.inputs, caches: forward.caches,
                                                 chunkRows: 64)
                return ([r.gx, r.gh0] + (r.gc0.map { [$0] } ?? []) + r.gWeights).map { $0.scalars.map(\.bitPattern) }
            }
            let alone = backward()
            emberThreadCount = 2
            // The second block's owner waits, until it has shared, for an offer (at most 2 s a wait).
            let hold: (RecurrentRowSharing.Block, Int) -> Void = { block, index in
                guard index == 1 else { return }
                let start = DispatchTime.now().uptimeNanoseconds
                while block.open.load(ordering: .relaxed) && block.offer.load(ordering: .acquiring) == 0
                        && DispatchTime.now().uptimeNanoseconds - start < 2_000_000_000 {
                    usleep(50)
                }
            }
            if productsOnly { RecurrentRowSharing.ownerProductHook = hold } else { RecurrentRowSharing.ownerStepHook = hold }
            let before = RecurrentRowSharing.onceHandOvers.load(ordering: .relaxed)
            let shared = backward()
            (RecurrentRowSharing.ownerStepHook, RecurrentRowSharing.ownerProductHook) = (nil, nil)
            // One hand-over per direction (at least: the count is the process's, and other suites'
            // passes may run beside this one).
            #expect(RecurrentRowSharing.onceHandOvers.load(ordering: .relaxed) - before >= 2, "\(mode): no rows were handed over")
            let same = shared == alone   // (compared apart, so that a failure does not print every value)
            #expect(same, "\(mode) lengths \(lengths.prefix(4)), products only \(productsOnly): sharing changes the bits")
        }
    }

    /// A taker that reads a block's step, and offers only after the owner has finished (so that the
    /// owner never sees the offer), withdraws it rather than waiting for an answer forever: the pass
    /// returns, with the bits of one thread. (Without the withdrawal the taker waits forever, and
    /// this test with it.)
    @Test
    func anOfferToAFinishedOwnerIsWithdrawn() {
        defer {
            emberThreadCount = 1
            (RecurrentRowSharing.ownerStepHook, RecurrentRowSharing.takerOfferHook) = (nil, nil)
        }
        let (T, B, I, H) = (6, 64, 5, 16)
        let layer = RecurrentLayer<Float>.make(.lstm, inputSize: I, hiddenSize: H)
        var g = SeededGenerator(seed: 35)
        let x = Tensor<Float>(randomNormal: [T, B, I], generator: &g)
        let gOut = Tensor<Float>(randomNormal: [T, B, H], generator: &g)
        let ghN = Tensor<Float>(randomNormal: [1, B, H], generator: &g)
        let weights = layer.weights.map(\.data)
        let lengths = [Int](repeating: T, count: B)
        emberThreadCount = 1
        let forward = RecurrentEngine.forward(layer.config, x: x, h0: nil, c0: nil, weights: weights, lengths: lengths, masks: [])
        func backward() -> [[UInt32]] {
            let r = RecurrentEngine.backward(layer.config, gOut: gOut, ghN: ghN, gcN: nil, h0: nil, c0: nil, weights: weights,
                                             lengths: lengths, masks: [], inputs: forward.inputs, caches: forward.caches)
            return ([r.gx] + r.gWeights).map { $0.scalars.map(\.bitPattern) }
        }
        let alone = backward()
        emberThreadCount = 2
        // Each thread owns a block (the first owner waits for the second to start); the second
        // owner waits at its first step for the first, done, to choose its block; that taker offers
        // only once the second owner has finished. Every wait gives up after 2 s.
        let flags = HandOverFlags()
        RecurrentRowSharing.ownerStepHook = { block, index in
            if index == 0 {
                flags.wait { flags.secondStarted.load(ordering: .acquiring) }
            } else if !flags.secondStarted.exchange(true, ordering: .acquiringAndReleasing) {
                flags.wait { flags.takerChose.load(ordering: .acquiring) }
            }
        }
        RecurrentRowSharing.takerOfferHook = { block in
            flags.takerChose.store(true, ordering: .releasing)
            flags.wait { block.step.load(ordering: .acquiring) == T }
        }
        let shared = backward()
        (RecurrentRowSharing.ownerStepHook, RecurrentRowSharing.takerOfferHook) = (nil, nil)
        let offered = flags.takerChose.load(ordering: .relaxed)
        #expect(offered, "no thread offered to take rows")
        let same = shared == alone
        #expect(same, "a withdrawn offer changed the bits")
    }

    /// A block whose owner is held back hands half its rows over to the thread that has finished its
    /// own: the hand-overs happen, and the output, final states and every gradient keep the bits of
    /// one thread, forwards and in reverse, with and without ragged lengths, for every cell.
    @Test(arguments: [RecurrentMode.rnnTanh, .lstm, .gru])
    func handedOverRowsKeepTheirBits(_ mode: RecurrentMode) {
        defer {
            emberThreadCount = 1
            RecurrentRowSharing.ownerStepHook = nil
        }
        let (T, B, I, H) = (12, 64, 5, 16)
        for lengths in [nil, (0..<B).map { 1 + ($0 * 7) % T }] {
            let layer = RecurrentLayer<Float>.make(mode, inputSize: I, hiddenSize: H, bidirectional: true)
            var g = SeededGenerator(seed: 33)
            let x = Tensor<Float>(randomNormal: [T, B, I], generator: &g)
            let gy = Tensor<Float>(randomNormal: [T, B, 2 * H], generator: &g)
            func run() -> [[UInt32]] {
                layer.zeroGrad()
                let input = Variable(x, requiresGrad: true)
                let (output, state) = layer(input, state: nil, lengths: lengths)
                ((output * Variable(gy)).sum() + state.h.sum()).backward()
                return ([output.data, state.h.data, input.grad!] + layer.parameters().map { $0.grad! }).map { $0.scalars.map(\.bitPattern) }
            }
            emberThreadCount = 1
            let alone = run()
            emberThreadCount = 2
            // The owner of the second block waits, while it has all its rows, until a thread offers
            // to take some (at most 2 s a step): then the hand-over happens however slow the machine.
            RecurrentRowSharing.ownerStepHook = { block, index in
                guard index == 1 else { return }
                let start = DispatchTime.now().uptimeNanoseconds
                while block.rows.load(ordering: .relaxed) == 32 && block.offer.load(ordering: .acquiring) == 0
                        && DispatchTime.now().uptimeNanoseconds - start < 2_000_000_000 {
                    usleep(50)
                }
            }
            let before = RecurrentRowSharing.handOvers.load(ordering: .relaxed)
            let shared = run()
            RecurrentRowSharing.ownerStepHook = nil
            #expect(RecurrentRowSharing.handOvers.load(ordering: .relaxed) > before, "\(mode): no rows were handed over")
            let same = shared == alone   // (compared apart, so that a failure does not print every value)
            #expect(same, "\(mode) lengths \(lengths != nil): handed-over rows differ from one thread")
        }
    }
}

/// The steps `anOfferToAFinishedOwnerIsWithdrawn` has reached, for its threads to wait on.
final class HandOverFlags: Sendable {
    let secondStarted = Atomic<Bool>(false), takerChose = Atomic<Bool>(false)

    /// Returns when `condition` holds, or after 2 s.
    func wait(until condition: () -> Bool) {
        let start = DispatchTime.now().uptimeNanoseconds
        while !condition() && DispatchTime.now().uptimeNanoseconds - start < 2_000_000_000 { usleep(50) }
    }
}
