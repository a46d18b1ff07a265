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
