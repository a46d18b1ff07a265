import CEmberKernels
import Testing
@testable import Ember

@Suite struct GEMMKernelTests {
    static let levels: [KernelLevel] = KernelLevel.allCases.filter { $0.rawValue <= KernelLevel.best.rawValue }

    /// Every instruction-set path, every transpose form, sizes around the tile edges, with alpha and
    /// beta, against a naive product in Double.
    @Test(arguments: levels)
    func everyPathMatchesNaive(level: KernelLevel) {
        let cLevel = ember_kernel_level(rawValue: UInt32(level.rawValue))
        let sizes = [(1, 1, 1), (5, 7, 3), (13, 33, 17), (64, 32, 28), (25, 49, 300), (130, 70, 5)]
        for (m, n, k) in sizes {
            for transA in [false, true] {
                for transB in [false, true] {
                    let a = randomTensor([m, k], seed: UInt64(m * 31 + k)).scalars
                    let b = randomTensor([k, n], seed: UInt64(n * 17 + k)).scalars
                    let c0 = randomTensor([m, n], seed: 5).scalars
                    let expected = zip(naiveMatmul(a, b, m: m, k: k, n: n), c0).map { 0.5 * $0 + 2 * $1 }
                    // Store A or B transposed when asked, so the kernel reads the transposed layout.
                    let storedA = transA ? Tensor(shape: [m, k], scalars: a).transposed(0, 1).scalars : a
                    let storedB = transB ? Tensor(shape: [k, n], scalars: b).transposed(0, 1).scalars : b
                    var cd = c0
                    ember_dgemm_at_level(cLevel, transA ? 1 : 0, transB ? 1 : 0, m, n, k, 0.5, storedA,
                                         transA ? m : k, storedB, transB ? k : n, 2, &cd, n)
                    #expect(maxDifference(cd, expected) < 1e-12, "double \(level) \(m)x\(n)x\(k) tA=\(transA) tB=\(transB)")
                    var cf = c0.map(Float.init)
                    ember_sgemm_at_level(cLevel, transA ? 1 : 0, transB ? 1 : 0, m, n, k, 0.5, storedA.map(Float.init),
                                         transA ? m : k, storedB.map(Float.init), transB ? k : n, 2, &cf, n)
                    #expect(maxDifference(cf.map(Double.init), expected) < 1e-4 * Double(k), "float \(level) \(m)x\(n)x\(k)")
                }
            }
        }
    }

    @Test(arguments: levels)
    func betaZeroIgnoresGarbageAndLeadingDimensionsWork(level: KernelLevel) {
        let cLevel = ember_kernel_level(rawValue: UInt32(level.rawValue))
        // A 3x4 block inside a 5x6 buffer (lda 6), C inside a buffer with ldc 9 holding NaNs.
        let big = randomTensor([5, 6], seed: 9).scalars
        let b = randomTensor([4, 2], seed: 10).scalars
        var c = [Double](repeating: .nan, count: 3 * 9)
        ember_dgemm_at_level(cLevel, 0, 0, 3, 2, 4, 1, big, 6, b, 2, 0, &c, 9)
        let a = (0..<3).flatMap { i in (0..<4).map { big[i * 6 + $0] } }
        let expected = naiveMatmul(a, b, m: 3, k: 4, n: 2)
        for i in 0..<3 { for j in 0..<2 { #expect(abs(c[i * 9 + j] - expected[i * 2 + j]) < 1e-12) } }
        #expect(c[2].isNaN)   // untouched past N
    }

    @Test func levelSelection() {
        #expect(KernelLevel.current.rawValue <= KernelLevel.best.rawValue)
    }
}

@Suite struct TensorMatmulTests {
    @Test func twoDimensional() {
        let a = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor<Double>(shape: [3, 2], scalars: [7, 8, 9, 10, 11, 12])
        #expect(a.matmul(b).scalars == [58, 64, 139, 154])
        #expect(Tensor.matmul(a, transposed: true, a, transposed: false).shape == [3, 3])
        #expect(Tensor.matmul(a, transposed: false, a, transposed: true).scalars == [14, 32, 32, 77])
    }

    @Test func batchedAndBroadcast() {
        let a = randomTensor([4, 3, 5], seed: 1), b = randomTensor([4, 5, 2], seed: 2), w = randomTensor([5, 2], seed: 3)
        let c = a.matmul(b)
        #expect(c.shape == [4, 3, 2])
        for i in 0..<4 {
            let expected = naiveMatmul(a.select(axis: 0, index: i).scalars, b.select(axis: 0, index: i).scalars, m: 3, k: 5, n: 2)
            #expect(maxDifference(c.select(axis: 0, index: i).scalars, expected) < 1e-12)
        }
        let d = a.matmul(w)
        #expect(d.shape == [4, 3, 2])
        #expect(maxDifference(d.select(axis: 0, index: 2).scalars,
                              naiveMatmul(a.select(axis: 0, index: 2).scalars, w.scalars, m: 3, k: 5, n: 2)) < 1e-12)
        let m = randomTensor([3, 5], seed: 4)
        let e = m.matmul(b)
        #expect(e.shape == [4, 3, 2])
        #expect(maxDifference(e.select(axis: 0, index: 1).scalars,
                              naiveMatmul(m.scalars, b.select(axis: 0, index: 1).scalars, m: 3, k: 5, n: 2)) < 1e-12)
    }
}
