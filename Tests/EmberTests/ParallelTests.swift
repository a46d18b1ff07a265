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
            #expect(runs[0] == runs[1], "\(c): one thread and two differ")
            let expected = [recorded.0.data.scalars, recorded.1.data.scalars, recorded.2?.data.scalars ?? []]
            for (got, want) in zip(runs[0], expected) {
                let worst = zip(got, want).map { abs($0 - $1) }.max() ?? 0
                #expect(got.count == want.count && worst <= 1e-13, "\(c): differs by \(worst)")
            }
        }
    }
}
