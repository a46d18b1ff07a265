import Foundation
import Synchronization
import Testing
@testable import Ember

final class Counters: Sendable {
    let counts: Mutex<[Int]>
    init(_ n: Int) { counts = Mutex([Int](repeating: 0, count: n)) }
}

@Suite(.serialized) struct ParallelTests {
    /// Every chunk of every region runs exactly once, across many short regions back to back
    /// (the case where a slow worker could otherwise still be claiming chunks of an old region).
    @Test func everyChunkRunsOnce() {
        let counters = Counters(64)
        var expected = [Int](repeating: 0, count: 64)
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<20_000 {
            let chunks = 1 + rng.nextInt(below: 64)
            for i in 0..<chunks { expected[i] += 1 }
            WorkerPool.shared.run(chunks: chunks, threads: 2) { i in counters.counts.withLock { $0[i] += 1 } }
        }
        #expect(counters.counts.withLock { $0 } == expected)
    }

    /// Chunk 0 of every region runs on the calling thread (so that a recurrent layer's first block
    /// of rows stays on one core from the forward pass to the backward pass), however the other
    /// chunks are shared out.
    @Test func theCallerRunsChunkZero() {
        let caller = pthread_self()
        let ranOnCaller = Mutex<[Bool]>([])
        for chunks in [2, 3, 8] {
            for _ in 0..<200 {
                WorkerPool.shared.run(chunks: chunks, threads: 2) { i in
                    let here = pthread_equal(pthread_self(), caller) != 0
                    if i == 0 { ranOnCaller.withLock { $0.append(here) } }
                }
            }
        }
        let runs = ranOnCaller.withLock { $0 }
        #expect(runs.count == 600 && runs.allSatisfy { $0 })
    }

    /// Large filled tensors, filled in shares on several threads, hold the value in every element,
    /// for element counts that do not split evenly, with more threads than cores, in every type.
    @Test func filledTensorsAreFilledEverywhere() {
        defer { emberThreadCount = 1 }
        for threads in [1, 2, 3, 7] {
            emberThreadCount = threads
            for count in [(1 << 16) - 1, 1 << 16, 229_377] {
                let zeros = Tensor<Float>(zeros: [count])
                #expect(zeros.scalars.allSatisfy { $0.bitPattern == 0 }, "\(threads) threads, \(count)")
                let filled = Tensor<Double>(repeating: -2.5, shape: [count, 1])
                #expect(filled.scalars.allSatisfy { $0 == -2.5 }, "\(threads) threads, \(count)")
                let flags = Tensor<Bool>(repeating: true, shape: [1, count])
                #expect(flags.scalars.allSatisfy { $0 }, "\(threads) threads, \(count)")
            }
        }
    }

    /// Split products, accumulating ones included (beta = 1, where running a block twice would
    /// double it), equal the single-thread result bit for bit.
    @Test func splitProductsAreBitIdentical() {
        defer { emberThreadCount = 1 }
        for (m, k, n) in [(64, 128, 512), (512, 300, 64), (97, 1000, 33)] {
            var results: [[Float]] = []
            for threads in [1, 2] {
                emberThreadCount = threads
                var g = SeededGenerator(seed: 1)
                let a = Tensor<Float>(randomNormal: [m, k], generator: &g), b = Tensor<Float>(randomNormal: [k, n], generator: &g)
                var c = Tensor<Float>(randomNormal: [m, n], generator: &g)
                for _ in 0..<3 {
                    a.withBase { pa in b.withBase { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            GEMM.run(transA: false, transB: false, m: m, n: n, k: k, a: pa, lda: k, b: pb, ldb: n,
                                     beta: 1, c: pc.baseAddress!, ldc: n)
                        }
                    } }
                }
                results.append(c.scalars)
            }
            #expect(results[0] == results[1], "\(m)x\(k)x\(n)")
        }
    }
}

/// The blocked, multi-core path recurrent layers take when nothing is recorded gives what the
/// recording path gives, for every cell type and layout, with several blocks (the last partial), and
/// the same bits on one thread and on two.
@Suite(.serialized) struct RecurrentInferenceTests {
    @Test(arguments: [RecurrentMode.rnnTanh, .rnnRelu, .lstm, .gru])
    func inferenceEqualsRecordingPath(_ mode: RecurrentMode) {
        defer { emberThreadCount = 1 }
        let batch = 2 * RecurrentEngine.inferenceBlockRows + 37, steps = 4
        for (batchFirst, layers, bidirectional, ragged) in [(true, 1, false, false), (false, 2, true, true)] {
            let c = RecurrentCase(mode: mode, layers: layers, bidirectional: bidirectional, batchFirst: batchFirst)
            let layer = makeLayer(c)
            layer.eval()
            var g = SeededGenerator(seed: 11)
            let x = Variable(Tensor<Double>(randomNormal: batchFirst ? [batch, steps, I] : [steps, batch, I], generator: &g))
            let stateShape = [layers * (bidirectional ? 2 : 1), batch, H]
            let h0 = Variable(Tensor<Double>(randomNormal: stateShape, generator: &g))
            let c0 = mode == .lstm ? Variable(Tensor<Double>(randomNormal: stateShape, generator: &g)) : nil
            let lengths = ragged ? (0..<batch).map { 1 + ($0 * 7) % steps } : nil
            // Recording: the weights require gradients.
            let recorded = layer.run(x, h0: h0, c0: c0, lengths: lengths, name: "test")
            #expect(recorded.0.requiresGrad)
            var runs: [[[Double]]] = []
            for threads in [1, 2] {
                emberThreadCount = threads
                let r = withNoGrad { layer.run(x, h0: h0, c0: c0, lengths: lengths, name: "test") }
                #expect(!r.0.requiresGrad)
                #expect(r.0.shape == recorded.0.shape && r.1.shape == recorded.1.shape)
                runs.append([r.0.data.scalars, r.1.data.scalars, r.2?.data.scalars ?? []])
            }
            let sameBits = runs[0] == runs[1]
            #expect(sameBits, "\(c): one thread and two differ")
            let expected = [recorded.0.data.scalars, recorded.1.data.scalars, recorded.2?.data.scalars ?? []]
            for (got, want) in zip(runs[0], expected) {
                let worst = zip(got, want).map { abs($0 - $1) }.max() ?? 0
                #expect(got.count == want.count && worst <= 1e-13, "\(c): differs by \(worst)")
            }
        }
    }
}

/// A one-layer, one-direction tanh or ReLU RNN evaluates straight in the output buffer
/// (`RecurrentEngine.rnnBlock`). In Float that gives the recording path's bits, in either layout,
/// with and without h0 and biases, with a partial last block, on one thread and on two. (Its step
/// kernel is checked on every level in CellKernelTests; the level is process-wide, so it is not
/// changed here while other tests run.)
@Suite(.serialized) struct RNNInPlaceEvaluationTests {
    /// Float runs the fused sequence kernel, Double the products and in-place steps (`rnnBlock`).
    /// Batch 149 over 5 steps is two blocks of rows, the second partial; batch 129 in one step
    /// leaves the recording path's input projection a last block of one row, a product small
    /// enough for the GEMM's unpacked (tiny) loop.
    @Test(arguments: [RNNNonlinearity.tanh, .relu])
    func sameBitsAsTheRecordingPath(_ nonlinearity: RNNNonlinearity) {
        check(Float.self, nonlinearity)
        check(Double.self, nonlinearity)
    }

    /// Whether two values are the same bits (sign, exponent and significand).
    func sameBits<Scalar: TensorScalar>(_ a: Scalar, _ b: Scalar) -> Bool {
        a.sign == b.sign && a.exponentBitPattern == b.exponentBitPattern && a.significandBitPattern == b.significandBitPattern
    }

    func check<Scalar: TensorScalar>(_: Scalar.Type, _ nonlinearity: RNNNonlinearity) {
        defer { emberThreadCount = 1 }
        let kernel = KernelLevel.current
        for (batch, steps) in [(RecurrentEngine.inferenceBlockRows + 21, 5), (RecurrentEngine.inferenceBlockRows + 1, 1)] {
            let inputs = 7, hidden = 19
            for batchFirst in [true, false] {
                for withH0 in [true, false] {
                    for bias in [true, false] {
                        let rnn = RNN<Scalar>(inputSize: inputs, hiddenSize: hidden, nonlinearity: nonlinearity, bias: bias,
                                              batchFirst: batchFirst)
                        var g = SeededGenerator(seed: 5)
                        let x = Variable(Tensor<Scalar>(randomNormal: batchFirst ? [batch, steps, inputs] : [steps, batch, inputs],
                                                        generator: &g))
                        let h0 = withH0 ? Variable(Tensor<Scalar>(randomNormal: [1, batch, hidden], generator: &g)) : nil
                        emberThreadCount = 1
                        let recorded = rnn(x, h0)
                        #expect(recorded.output.requiresGrad)
                        for threads in [1, 2] {
                            emberThreadCount = threads
                            let evaluated = withNoGrad { rnn(x, h0) }
                            let what = "\(Scalar.self) \(nonlinearity) \(kernel) batch \(batch) steps \(steps) batchFirst \(batchFirst) h0 \(withH0) bias \(bias) threads \(threads)"
                            #expect(!evaluated.output.requiresGrad)
                            #expect(evaluated.output.shape == recorded.output.shape, "\(what)")
                            let sameOutput = zip(evaluated.output.data.scalars, recorded.output.data.scalars).allSatisfy(sameBits)
                            let sameHidden = zip(evaluated.hidden.data.scalars, recorded.hidden.data.scalars).allSatisfy(sameBits)
                            #expect(sameOutput && sameHidden, "\(what): output \(sameOutput ? "same" : "differs"), h_n \(sameHidden ? "same" : "differs")")
                        }
                    }
                }
            }
        }
    }
}

/// Batches of 64 rows or more run their recurrence in blocks of rows on all cores. A blocked batch
/// gives each row what a small batch holding only that row's block gives (small batches run as one
/// block, and those are proven against the cells elsewhere), weight gradients are the sums over the
/// blocks, and one thread and two give the same bits.
@Suite(.serialized) struct RecurrentBlockTests {
    @Test(arguments: [RecurrentMode.rnnTanh, .rnnRelu, .lstm, .gru])
    func blockedBatchEqualsSeparateBlocks(_ mode: RecurrentMode) {
        defer { emberThreadCount = 1 }
        let batch = 70, steps = 4
        #expect(RecurrentEngine.recurrenceBlocks(batch).count == 2)
        let c = RecurrentCase(mode: mode, layers: 2, bidirectional: true)
        let layer = makeLayer(c)
        let D = 2, LD = 4
        var g = SeededGenerator(seed: 12)
        let x = Tensor<Double>(randomNormal: [steps, batch, I], generator: &g)
        let h0 = Tensor<Double>(randomNormal: [LD, batch, H], generator: &g)
        let c0 = Tensor<Double>(randomNormal: [LD, batch, H], generator: &g)
        let gy = Tensor<Double>(randomNormal: [steps, batch, D * H], generator: &g)
        let lengths = (0..<batch).map { 1 + ($0 * 5) % steps }
        /// Output, h_n and gradients of x, h0 and the weights for rows `rows`.
        func run(_ rows: Range<Int>) -> [[Double]] {
            layer.zeroGrad()
            let xs = Variable(x.narrow(axis: 1, start: rows.lowerBound, length: rows.count), requiresGrad: true)
            let hs = Variable(h0.narrow(axis: 1, start: rows.lowerBound, length: rows.count), requiresGrad: true)
            let cs = mode == .lstm ? Variable(c0.narrow(axis: 1, start: rows.lowerBound, length: rows.count), requiresGrad: true) : nil
            let (out, hN, _) = layer.run(xs, h0: hs, c0: cs, lengths: Array(lengths[rows]), name: "test")
            ((out * Variable(gy.narrow(axis: 1, start: rows.lowerBound, length: rows.count))).sum() + hN.sum()).backward()
            return [out.data.scalars, hN.data.scalars, xs.grad!.scalars, hs.grad!.scalars] + layer.weights.map { $0.grad!.scalars }
        }
        var whole: [[[Double]]] = []
        for threads in [1, 2] {
            emberThreadCount = threads
            whole.append(run(0..<batch))
        }
        let sameBits = whole[0] == whole[1]
        #expect(sameBits, "\(mode): one thread and two differ")
        let blocks = RecurrentEngine.recurrenceBlocks(batch).map { run($0.start..<($0.start + $0.count)) }
        /// Joins per-block tensors laid out [A, rows, C] back into [A, batch, C].
        func joined(_ parts: [[Double]], outer: Int) -> [Double] {
            var result: [Double] = []
            for o in 0..<outer {
                for part in parts {
                    let inner = part.count / outer
                    result += part[(o * inner)..<((o + 1) * inner)]
                }
            }
            return result
        }
        func worst(_ a: [Double], _ b: [Double]) -> Double {
            a.count == b.count ? zip(a, b).map { abs($0 - $1) }.max() ?? 0 : .infinity
        }
        for (i, outer) in [steps, LD, steps, LD].enumerated() {
            let expected = joined(blocks.map { $0[i] }, outer: outer)
            #expect(worst(whole[0][i], expected) <= 1e-12, "\(mode): tensor \(i) differs")
        }
        for w in 4..<whole[0].count {
            let summed = blocks.map { $0[w] }.reduce(into: [Double](repeating: 0, count: whole[0][w].count)) { acc, part in
                for k in acc.indices { acc[k] += part[k] }
            }
            #expect(worst(whole[0][w], summed) <= 1e-12, "\(mode): weight gradient \(w - 4) differs")
        }
    }
}

extension RecurrentBlockTests {
    /// Each block of rows takes its own chunks back through the sequence and adds them to its own
    /// products: with two blocks (batch 70), ragged lengths and both directions, one step per chunk
    /// and two give every gradient of one chunk, up to rounding in Double, on one thread and two.
    @Test(arguments: [RecurrentMode.rnnTanh, .lstm, .gru])
    func blocksChunkTheirOwnRows(_ mode: RecurrentMode) {
        defer { emberThreadCount = 1 }
        let batch = 70, steps = 5
        let blockRows = RecurrentEngine.backwardBlocks(batch).map(\.count).max()!
        #expect(RecurrentEngine.backwardBlocks(batch).count == 2 && blockRows == 35)
        let c = RecurrentCase(mode: mode, layers: 2, bidirectional: true)
        let layer = makeLayer(c)
        var g = SeededGenerator(seed: 14)
        let x = Tensor<Double>(randomNormal: [steps, batch, I], generator: &g)
        let h0 = Tensor<Double>(randomNormal: [4, batch, H], generator: &g)
        let c0 = mode == .lstm ? Tensor<Double>(randomNormal: [4, batch, H], generator: &g) : nil
        let lengths = (0..<batch).map { 1 + ($0 * 3) % steps }
        let weights = layer.weights.map(\.data)
        let forward = RecurrentEngine.forward(layer.config, x: x, h0: h0, c0: c0, weights: weights, lengths: lengths, masks: [])
        let gOut = Tensor<Double>(randomNormal: [steps, batch, 2 * H], generator: &g)
        let ghN = Tensor<Double>(randomNormal: [4, batch, H], generator: &g)
        let gcN = mode == .lstm ? Tensor<Double>(randomNormal: [4, batch, H], generator: &g) : nil
        func backward(chunkRows: Int) -> [Tensor<Double>] {
            let r = RecurrentEngine.backward(layer.config, gOut: gOut, ghN: ghN, gcN: gcN, h0: h0, c0: c0, weights: weights,
                                             lengths: lengths, masks: [], inputs: forward.inputs, caches: forward.caches,
                                             chunkRows: chunkRows)
            return [r.gx, r.gh0] + (r.gc0.map { [$0] } ?? []) + r.gWeights
        }
        emberThreadCount = 1
        let whole = backward(chunkRows: steps * blockRows)
        for threads in [1, 2] {
            emberThreadCount = threads
            for rows in [1, 2 * blockRows] {
                let chunked = backward(chunkRows: rows)
                for (i, (w, p)) in zip(whole, chunked).enumerated() {
                    #expect(w.shape == p.shape && w.maxAbsoluteDifference(p) <= 1e-12,
                            "\(mode): gradient \(i), \(max(1, rows / blockRows)) steps per chunk, \(threads) threads")
                }
            }
        }
    }
}

/// When the input does not require a gradient, the backward pass skips its product; the weight
/// gradients are exactly those of a run where it does.
@Test(arguments: [RecurrentMode.rnnTanh, .lstm, .gru])
func inputGradientSkipKeepsWeightGradients(_ mode: RecurrentMode) {
    let layer = makeLayer(RecurrentCase(mode: mode, layers: 2, withState: false))
    var g = SeededGenerator(seed: 13)
    let x = Tensor<Double>(randomNormal: [T, 6, I], generator: &g)
    var gradients: [[[Double]]] = []
    for wanted in [true, false] {
        layer.zeroGrad()
        let input = Variable(x, requiresGrad: wanted)
        let (out, hN, _) = layer.run(input, h0: nil, c0: nil, lengths: nil, name: "test")
        ((out * out).sum() + hN.sum()).backward()
        #expect((input.grad != nil) == wanted)
        gradients.append(layer.weights.map { $0.grad!.scalars })
    }
    #expect(gradients[0] == gradients[1])
}

/// When all steps' input projections are large ([T·B, G·H] of 2¹⁸ elements or more), each block of
/// rows projects its inputs one step at a time; a block run as a batch of its own is below that
/// size and projects every step at once first. Each row must come out with the same bits either
/// way (outputs, final states, and the input and state gradients that use the forward's caches),
/// with ragged lengths, two bidirectional layers and initial states, on one thread and two.
@Suite(.serialized) struct StepwiseProjectionTests {
    @Test(arguments: [RecurrentMode.rnnTanh, .lstm, .gru])
    func sameBitsAsProjectingEveryStepAtOnce(_ mode: RecurrentMode) {
        defer { emberThreadCount = 1 }
        let (batch, inputs, hidden) = (70, 5, 32)
        let gates = mode == .lstm ? 4 : mode == .gru ? 3 : 1
        let steps = (1 << 18) / (batch * gates * hidden) + 1
        let blocks = RecurrentEngine.recurrenceBlocks(batch)
        #expect(blocks.count == 2 && steps * batch * gates * hidden >= 1 << 18)
        #expect(blocks.allSatisfy { steps * $0.count * gates * hidden < 1 << 18 })
        let layer = RecurrentLayer<Float>.make(mode, inputSize: inputs, hiddenSize: hidden, numLayers: 2, bidirectional: true)
        var g = SeededGenerator(seed: 21)
        let x = Tensor<Float>(randomNormal: [steps, batch, inputs], generator: &g)
        let h0 = Tensor<Float>(randomNormal: [4, batch, hidden], generator: &g)
        let c0 = Tensor<Float>(randomNormal: [4, batch, hidden], generator: &g)
        let lengths = (0..<batch).map { steps - ($0 * 7) % (steps / 2) }
        /// Per-row results for `rows`, each as [outer][rows][inner] flattened: output, h_n, x and h0 gradients.
        func run(_ rows: Range<Int>) -> [[Float]] {
            layer.zeroGrad()
            let xs = Variable(x.narrow(axis: 1, start: rows.lowerBound, length: rows.count), requiresGrad: true)
            let hs = Variable(h0.narrow(axis: 1, start: rows.lowerBound, length: rows.count), requiresGrad: true)
            let cs = mode == .lstm ? Variable(c0.narrow(axis: 1, start: rows.lowerBound, length: rows.count)) : nil
            let (out, hN, _) = layer.run(xs, h0: hs, c0: cs, lengths: Array(lengths[rows]), name: "test")
            (out.sum() + hN.sum()).backward()
            return [out.data.scalars, hN.data.scalars, xs.grad!.scalars, hs.grad!.scalars] + layer.weights.map { $0.grad!.scalars }
        }
        let parts = blocks.map { run($0.start..<($0.start + $0.count)) }
        var weightGradients: [[[Float]]] = []
        for threads in [1, 2] {
            emberThreadCount = threads
            let whole = run(0..<batch)
            weightGradients.append(Array(whole[4...]))
            for (i, outer) in [steps, 4, steps, 4].enumerated() {
                var joined: [Float] = []
                for o in 0..<outer {
                    for part in parts {
                        let inner = part[i].count / outer
                        joined += part[i][(o * inner)..<((o + 1) * inner)]
                    }
                }
                #expect(whole[i].count == joined.count && zip(whole[i], joined).allSatisfy { $0.bitPattern == $1.bitPattern },
                        "\(mode) threads \(threads): tensor \(i) differs")
            }
        }
        // The backward pass of the whole batch goes back in chunks of steps (its gate gradients are
        // above 2¹⁸ values), adding each chunk's weight gradients with products split over the
        // threads: one thread and two give the same bits.
        #expect(RecurrentEngine.defaultChunkRows(T: steps, B: batch, GH: gates * hidden) / batch < steps)
        #expect(zip(weightGradients[0], weightGradients[1]).allSatisfy { zip($0, $1).allSatisfy { $0.bitPattern == $1.bitPattern } },
                "\(mode): weight gradients differ between one thread and two")
    }
}
