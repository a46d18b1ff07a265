import CEmberKernels
import Testing
@testable import Ember

@Suite struct GEMMKernelTests {
    static let levels: [KernelLevel] = KernelLevel.allCases.filter { $0.rawValue <= KernelLevel.best.rawValue }

    /// Every instruction-set path, every transpose form, sizes around the tile edges, with alpha and
    /// beta, against a naive product in Double. Alpha 1 without transposing A reads A in place
    /// (for K >= 64 or N <= 64), so both alphas run.
    @Test(arguments: levels)
    func everyPathMatchesNaive(level: KernelLevel) {
        let cLevel = ember_kernel_level(rawValue: UInt32(level.rawValue))
        // (13, 40, 1024): rows of A 4 KiB apart, which the kernel packs instead of reading in place,
        // across two blocks of K.
        let sizes = [(1, 1, 1), (5, 7, 3), (13, 33, 17), (64, 32, 28), (25, 49, 300), (130, 70, 5), (37, 100, 70),
                     (13, 40, 1024)]
        for (m, n, k) in sizes {
            for alpha in [0.5, 1] {
            for transA in [false, true] {
                for transB in [false, true] {
                    let a = randomTensor([m, k], seed: UInt64(m * 31 + k)).scalars
                    let b = randomTensor([k, n], seed: UInt64(n * 17 + k)).scalars
                    let c0 = randomTensor([m, n], seed: 5).scalars
                    let expected = zip(naiveMatmul(a, b, m: m, k: k, n: n), c0).map { alpha * $0 + 2 * $1 }
                    // Store A or B transposed when asked, so the kernel reads the transposed layout.
                    let storedA = transA ? Tensor(shape: [m, k], scalars: a).transposed(0, 1).scalars : a
                    let storedB = transB ? Tensor(shape: [k, n], scalars: b).transposed(0, 1).scalars : b
                    var cd = c0
                    ember_dgemm_at_level(cLevel, transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, storedA,
                                         transA ? m : k, storedB, transB ? k : n, 2, &cd, n)
                    #expect(maxDifference(cd, expected) < 1e-12, "double \(level) \(m)x\(n)x\(k) tA=\(transA) tB=\(transB)")
                    var cf = c0.map(Float.init)
                    ember_sgemm_at_level(cLevel, transA ? 1 : 0, transB ? 1 : 0, m, n, k, Float(alpha), storedA.map(Float.init),
                                         transA ? m : k, storedB.map(Float.init), transB ? k : n, 2, &cf, n)
                    #expect(maxDifference(cf.map(Double.init), expected) < 1e-4 * Double(k), "float \(level) \(m)x\(n)x\(k)")
                }
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

        // Above the tiny cutoff the first block of K stores without reading C; every element of
        // C must still be written, across blocks of K (512 for float, 256 for double) and partial tiles.
        let (m, n, k) = (37, 45, 600)
        let a2 = randomTensor([m * k], seed: 11).scalars, b2 = randomTensor([k * n], seed: 12).scalars
        let expected2 = naiveMatmul(a2, b2, m: m, k: k, n: n)
        var c2 = [Double](repeating: .nan, count: m * n)
        ember_dgemm_at_level(cLevel, 0, 0, m, n, k, 1, a2, k, b2, n, 0, &c2, n)
        #expect(maxDifference(c2, expected2) < 1e-12, "double \(level)")
        var c2f = [Float](repeating: .nan, count: m * n)
        ember_sgemm_at_level(cLevel, 0, 0, m, n, k, 1, a2.map(Float.init), k, b2.map(Float.init), n, 0, &c2f, n)
        #expect(maxDifference(c2f.map(Double.init), expected2) < 1e-3, "float \(level)")
        var packedResult = [Double](repeating: .nan, count: m * n)
        let packed = PackedMatrix<Double>(transB: false, k: k, n: n, b: b2, ldb: n)
        packed.multiply(m: m, a: a2, lda: k, c: &packedResult, ldc: n)
        #expect(maxDifference(packedResult, expected2) < 1e-12, "packed")
    }

    /// A right-hand operand packed once gives bit for bit the products of the plain entry point, on
    /// every path, across several blocks of K and of N (float packs 2048 columns per block, 1024 on
    /// AVX2, whose blocks of K are 1024 deep; double 1024), with partial panels, transposed A and B,
    /// alpha and beta.
    @Test(arguments: levels)
    func packedOperandMatchesUnpackedBitForBit(level: KernelLevel) {
        let cLevel = ember_kernel_level(rawValue: UInt32(level.rawValue))
        for (m, n, k) in [(3, 2100, 300), (37, 45, 29), (12, 32, 600), (64, 512, 128), (7, 40, 1100)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    let a = randomTensor([m * k], seed: UInt64(m + k)).scalars
                    let b = randomTensor([k * n], seed: UInt64(n + k)).scalars
                    let c0 = randomTensor([m * n], seed: 3).scalars
                    let (lda, ldb) = (transA ? m : k, transB ? k : n)
                    var plain = c0, packedResult = c0
                    ember_dgemm_at_level(cLevel, transA ? 1 : 0, transB ? 1 : 0, m, n, k, 0.5, a, lda, b, ldb, 2, &plain, n)
                    var packed = [Double](repeating: .nan, count: ember_dgemm_packed_b_size(cLevel, k, n) + 8)
                    packed.withUnsafeMutableBufferPointer { p in
                        // The kernels load packed panels with aligned vector loads.
                        let raw = UnsafeMutableRawPointer(p.baseAddress!)
                        let aligned = raw.alignedUp(toMultipleOf: 64).assumingMemoryBound(to: Double.self)
                        ember_dgemm_pack_b(cLevel, transB ? 1 : 0, k, n, b, ldb, aligned)
                        ember_dgemm_with_packed_b(cLevel, transA ? 1 : 0, m, n, k, 0.5, a, lda, aligned, 2, &packedResult, n)
                    }
                    #expect(zip(plain, packedResult).allSatisfy { $0 == $1 }, "double \(level) \(m)x\(n)x\(k) tA=\(transA) tB=\(transB)")

                    let (af, bf) = (a.map(Float.init), b.map(Float.init))
                    var plainF = c0.map(Float.init), packedF = plainF
                    ember_sgemm_at_level(cLevel, transA ? 1 : 0, transB ? 1 : 0, m, n, k, 0.5, af, lda, bf, ldb, 2, &plainF, n)
                    var packedBuffer = [Float](repeating: .nan, count: ember_sgemm_packed_b_size(cLevel, k, n) + 16)
                    packedBuffer.withUnsafeMutableBufferPointer { p in
                        let aligned = UnsafeMutableRawPointer(p.baseAddress!).alignedUp(toMultipleOf: 64)
                            .assumingMemoryBound(to: Float.self)
                        ember_sgemm_pack_b(cLevel, transB ? 1 : 0, k, n, bf, ldb, aligned)
                        ember_sgemm_with_packed_b(cLevel, transA ? 1 : 0, m, n, k, 0.5, af, lda, aligned, 2, &packedF, n)
                    }
                    #expect(zip(plainF, packedF).allSatisfy { $0 == $1 }, "float \(level) \(m)x\(n)x\(k) tA=\(transA) tB=\(transB)")
                }
            }
        }
    }

    /// Packing in parts (as threads do) writes the packed operand of one call, element for element,
    /// padding included, for every number of parts from 1 to more than there are panels; and each
    /// part writes elements no other part writes, so threads never write the same value.
    @Test(arguments: levels)
    func packingInPartsMakesTheWhole(level: KernelLevel) {
        let cLevel = ember_kernel_level(rawValue: UInt32(level.rawValue))
        for (n, k) in [(2100, 300), (45, 29), (512, 128), (40, 1100), (7, 5)] {
            for transB in [false, true] {
                let b = randomTensor([k * n], seed: UInt64(n + k)).scalars.map(Float.init)
                let ldb = transB ? k : n
                let size = ember_sgemm_packed_b_size(cLevel, k, n)
                var wholeBuffer = [Float](repeating: .nan, count: size + 16)
                let whole = wholeBuffer.withUnsafeMutableBufferPointer { p in
                    let aligned = UnsafeMutableRawPointer(p.baseAddress!).alignedUp(toMultipleOf: 64).assumingMemoryBound(to: Float.self)
                    ember_sgemm_pack_b(cLevel, transB ? 1 : 0, k, n, b, ldb, aligned)
                    return Array(UnsafeBufferPointer(start: aligned, count: size))
                }
                // More parts than panels (some parts empty) on the small operands only: debug builds are slow.
                for parts in [1, 2, 3, 5] + (size < 50_000 ? [200] : []) {
                    // Each part into a buffer of its own, poisoned with a value packing never
                    // writes (padding is zero): what a part wrote is what differs from it.
                    let poison = Float(bitPattern: 0x7FC0_1234)
                    var joined = [Float](repeating: poison, count: size), writers = [Int](repeating: 0, count: size)
                    for part in 0..<parts {
                        var buffer = [Float](repeating: poison, count: size + 16)
                        buffer.withUnsafeMutableBufferPointer { p in
                            let aligned = UnsafeMutableRawPointer(p.baseAddress!).alignedUp(toMultipleOf: 64).assumingMemoryBound(to: Float.self)
                            for i in 0..<size { aligned[i] = poison }
                            ember_sgemm_pack_b_part(cLevel, transB ? 1 : 0, k, n, b, ldb, aligned, part, parts)
                            for i in 0..<size where aligned[i].bitPattern != poison.bitPattern {
                                joined[i] = aligned[i]
                                writers[i] += 1
                            }
                        }
                    }
                    #expect(zip(whole, joined).allSatisfy { $0.bitPattern == $1.bitPattern },
                            "\(level) \(k)x\(n) transB=\(transB) in \(parts) parts")
                    #expect(writers.allSatisfy { $0 == 1 }, "\(level) \(k)x\(n) transB=\(transB) in \(parts) parts: an element written twice or never")
                }
            }
        }
    }

    /// A product small enough for the unpacked loop (M·N·K <= 512) gives its elements the bits the
    /// packed kernels give the same elements of a larger product, on every level, with alpha and
    /// beta and every transpose form: a recurrence's last block of a few rows must not round
    /// differently from the others.
    @Test(arguments: levels)
    func tinyProductsHaveTheKernelsBits(level: KernelLevel) {
        let cLevel = ember_kernel_level(rawValue: UInt32(level.rawValue))
        for (m, n, k) in [(1, 19, 7), (2, 5, 30), (3, 8, 20)] {
            let big = 64
            for (alpha, beta) in [(Float(1), Float(0)), (0.5, 2)] {
                for transA in [false, true] {
                    for transB in [false, true] {
                        let a = randomTensor([big * k], seed: 41).scalars.map(Float.init)
                        let b = randomTensor([k * n], seed: 42).scalars.map(Float.init)
                        let c0 = randomTensor([big * n], seed: 43).scalars.map(Float.init)
                        // A stored [k, big] when transposed: the tiny product reads its first m columns.
                        let (ldaBig, ldb) = (transA ? big : k, transB ? k : n)
                        var whole = c0, tiny = Array(c0[0..<(m * n)])
                        ember_sgemm_at_level(cLevel, transA ? 1 : 0, transB ? 1 : 0, big, n, k, alpha, a, ldaBig, b, ldb, beta, &whole, n)
                        ember_sgemm_at_level(cLevel, transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, ldaBig, b, ldb, beta, &tiny, n)
                        #expect(zip(tiny, whole[0..<(m * n)]).allSatisfy { $0.bitPattern == $1.bitPattern },
                                "\(level) \(m)x\(n)x\(k) alpha \(alpha) beta \(beta) tA=\(transA) tB=\(transB)")
                    }
                }
            }
        }
    }

    /// Swift's loop for tiny products (`GEMM.tiny`, which `Tensor.matmul` takes below M·N·K = 513
    /// with alpha 1 and beta 0) gives the bits of the C kernels' tiny loop at every level, fused on
    /// all but the portable one, in Float and Double, for every transpose form, with elements far
    /// apart in magnitude so that fusing shows; and just past the cut-off, where the C kernels pack,
    /// their bits are still the loop's, so a product gets the same bits on either side of it.
    @Test(arguments: levels)
    func swiftTinyProductsHaveTheCKernelsBits(level: KernelLevel) {
        let cLevel = ember_kernel_level(rawValue: UInt32(level.rawValue))
        let fused = level != .portable
        for (m, n, k) in [(1, 1, 1), (1, 19, 7), (2, 5, 30), (3, 8, 21), (8, 8, 8), (4, 1, 0)] {
            #expect(m * n * k <= GEMM.tinyProduct)
            for transA in [false, true] {
                for transB in [false, true] {
                    let (lda, ldb) = (transA ? m + 3 : k + 2, transB ? k + 1 : n + 4)
                    let ad = randomTensor([max(m, k) * lda + 1], seed: UInt64(41 + m)).scalars.map { $0 * 1e3 }
                    let bd = randomTensor([max(k, n) * ldb + 1], seed: UInt64(42 + n)).scalars.map { $0 * 1e-3 }
                    func check<T: TensorScalar>(_ a: [T], _ b: [T], _ gemm: (UnsafePointer<T>, UnsafePointer<T>, UnsafeMutablePointer<T>) -> Void) {
                        var viaC = [T](repeating: .nan, count: m * n), viaSwift = viaC
                        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                            gemm(pa.baseAddress!, pb.baseAddress!, &viaC)
                            GEMM.tiny(fused: fused, transA: transA, transB: transB, m: m, n: n, k: k,
                                      a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb, c: &viaSwift, ldc: n)
                        } }
                        #expect(zip(viaC, viaSwift).allSatisfy { $0 == $1 && $0.sign == $1.sign },
                                "\(T.self) \(level) \(m)x\(n)x\(k) tA=\(transA) tB=\(transB): \(viaC) against \(viaSwift)")
                    }
                    let (ta, tb) = (transA ? Int32(1) : 0, transB ? Int32(1) : 0)
                    check(ad.map(Float.init), bd.map(Float.init)) {
                        ember_sgemm_at_level(cLevel, ta, tb, m, n, k, 1, $0, lda, $1, ldb, 0, $2, n)
                    }
                    check(ad, bd) { ember_dgemm_at_level(cLevel, ta, tb, m, n, k, 1, $0, lda, $1, ldb, 0, $2, n) }
                }
            }
        }
        // Just above the cut-off the C kernels pack; their results still have the loop's bits.
        let (m, n, k) = (1, 1, GEMM.tinyProduct + 1)
        let a = randomTensor([k], seed: 5).scalars.map { Float($0) }, b = randomTensor([k], seed: 6).scalars.map { Float($0) }
        var packed: [Float] = [.nan], loop: [Float] = [.nan]
        ember_sgemm_at_level(cLevel, 0, 0, m, n, k, 1, a, k, b, n, 0, &packed, n)
        GEMM.tiny(fused: fused, transA: false, transB: false, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &loop, ldc: n)
        #expect(packed[0].bitPattern == loop[0].bitPattern, "\(level) 1x1x\(k): packed \(packed[0]), loop \(loop[0])")
    }

    /// `Tensor.matmul` on tiny products (Swift's loop) and on larger ones (the C kernels) agrees with
    /// `ember_sgemm` at the level in use, bit for bit, through every transpose form `Variable.matmul`'s
    /// backward uses.
    @Test func tensorMatmulOfTinyProductsIsTheKernels() {
        for (m, n, k) in [(1, 1, 1), (3, 4, 5), (8, 8, 9)] {
            let a = Tensor<Float>(randomTensor([m, k], seed: 7)), b = Tensor<Float>(randomTensor([k, n], seed: 8))
            let g = Tensor<Float>(randomTensor([m, n], seed: 9))
            func viaC(_ x: Tensor<Float>, _ tx: Bool, _ y: Tensor<Float>, _ ty: Bool, _ rows: Int, _ cols: Int, _ inner: Int) -> [Float] {
                var c = [Float](repeating: .nan, count: rows * cols)
                ember_sgemm(tx ? 1 : 0, ty ? 1 : 0, rows, cols, inner, 1, x.scalars, x.shape[1], y.scalars, y.shape[1], 0, &c, cols)
                return c
            }
            let pairs: [([Float], [Float])] = [
                (a.matmul(b).scalars, viaC(a, false, b, false, m, n, k)),
                (Tensor.matmul(g, transposed: false, b, transposed: true).scalars, viaC(g, false, b, true, m, k, n)),
                (Tensor.matmul(a, transposed: true, g, transposed: false).scalars, viaC(a, true, g, false, k, n, m)),
            ]
            for (swift, c) in pairs {
                #expect(swift.map(\.bitPattern) == c.map(\.bitPattern), "\(m)x\(n)x\(k): \(swift) against \(c)")
            }
        }
    }

    /// A small B of whole panels is read in place, rows `ldb` apart, rather than packed: bit for bit
    /// the product from the same B stored transposed (which is always packed), and never reading
    /// the NaN padding past N in each row. Shapes of the backward's weight gradients ([h | x | 1]ᵀ·dG
    /// with dG [rows, G·H]), across two blocks of K, with rows 4 KiB apart (packed) among them.
    @Test(arguments: levels)
    func smallRightOperandReadInPlaceMatchesPacked(level: KernelLevel) {
        let cLevel = ember_kernel_level(rawValue: UInt32(level.rawValue))
        for (m, n, k, pad) in [(157, 512, 256, 16), (61, 32, 1792, 0), (13, 64, 600, 5), (20, 1024, 24, 0), (9, 96, 40, 3)] {
            let ldb = n + pad
            let a = randomTensor([k * m], seed: UInt64(m + k)).scalars.map(Float.init)   // stored [k, m]: A transposed
            let b = randomTensor([k * n], seed: UInt64(n)).scalars.map(Float.init)
            var padded = [Float](repeating: .nan, count: k * ldb)
            for p in 0..<k { for j in 0..<n { padded[p * ldb + j] = b[p * n + j] } }
            let bT = Tensor(shape: [k, n], scalars: b).transposed(0, 1).scalars
            for beta in [Float(0), 1] {
                let c0 = randomTensor([m * n], seed: 7).scalars.map(Float.init)
                var inPlace = c0, packed = c0
                ember_sgemm_at_level(cLevel, 1, 0, m, n, k, 1, a, m, padded, ldb, beta, &inPlace, n)
                ember_sgemm_at_level(cLevel, 1, 1, m, n, k, 1, a, m, bT, k, beta, &packed, n)
                #expect(zip(inPlace, packed).allSatisfy { $0.bitPattern == $1.bitPattern },
                        "\(level) \(m)x\(n)x\(k) ldb \(ldb) beta \(beta)")
            }
        }
    }

    /// A transposed A with few columns of B (dW_ih = dGᵀ·X with 28 inputs), which the AVX2 path forms
    /// as Cᵀ = op(B)ᵀ·A with A's columns read in place from the first one on a cache line: bit for
    /// bit the same product with A stored untransposed (never formed so), on every level, for every
    /// alignment of A within a cache line, with beta 0, 1 and 0.5, transposed B, across blocks of K,
    /// and never reading the NaN padding past M in A's rows.
    @Test(arguments: levels)
    func transposedProductMatchesUntransposed(level: KernelLevel) {
        let cLevel = ember_kernel_level(rawValue: UInt32(level.rawValue))
        for (m, n, k, pad) in [(512, 28, 300, 0), (100, 20, 130, 12), (67, 17, 1100, 13)] {
            let lda = m + pad
            let a = randomTensor([k * m], seed: UInt64(m + k)).scalars.map(Float.init)   // Aᵀ [k, m]
            let b = randomTensor([k * n], seed: UInt64(n)).scalars.map(Float.init)
            let bT = Tensor(shape: [k, n], scalars: b).transposed(0, 1).scalars
            let aRows = Tensor(shape: [k, m], scalars: a).transposed(0, 1).scalars       // A [m, k]
            var stored = [Float](repeating: .nan, count: k * lda + 16)
            for (offset, beta) in [(0, Float(0)), (3, 1), (12, 0.5), (15, 0), (8, 1)] {
                for i in stored.indices { stored[i] = .nan }
                for p in 0..<k { for i in 0..<m { stored[offset + p * lda + i] = a[p * m + i] } }
                let c0 = randomTensor([m * n], seed: 5).scalars.map(Float.init)
                for transB in [false, true] {
                    var transposed = c0, plain = c0
                    stored.withUnsafeBufferPointer { s in
                        ember_sgemm_at_level(cLevel, 1, transB ? 1 : 0, m, n, k, 1, s.baseAddress! + offset, lda,
                                             transB ? bT : b, transB ? k : n, beta, &transposed, n)
                    }
                    ember_sgemm_at_level(cLevel, 0, transB ? 1 : 0, m, n, k, 1, aRows, k, transB ? bT : b, transB ? k : n,
                                         beta, &plain, n)
                    #expect(zip(transposed, plain).allSatisfy { $0.bitPattern == $1.bitPattern },
                            "\(level) \(m)x\(n)x\(k) offset \(offset) beta \(beta) transB \(transB)")
                }
            }
        }
    }

    /// A whose rows are a multiple of 4 KiB apart is copied into longer rows and read from there:
    /// bit for bit the product from the same A with rows 6 values further apart (read in place) and
    /// from A stored transposed (packed), on every level, in Float and Double, across blocks of K.
    @Test(arguments: levels)
    func aliasedRowsOfACopiedMatchInPlaceAndPacked(level: KernelLevel) {
        let cLevel = ember_kernel_level(rawValue: UInt32(level.rawValue))
        for (m, n, k) in [(13, 40, 1024), (30, 64, 300), (25, 33, 600)] {
            let a = randomTensor([m, k], seed: UInt64(m + k)).scalars, b = randomTensor([k, n], seed: 9).scalars
            let aT = Tensor(shape: [m, k], scalars: a).transposed(0, 1).scalars
            func stored(_ lda: Int) -> [Double] {
                var s = [Double](repeating: .nan, count: m * lda)
                for i in 0..<m { for p in 0..<k { s[i * lda + p] = a[i * k + p] } }
                return s
            }
            // 1024 doubles and 1024 floats are 8 and 4 KiB; 1030 of either is not a multiple of 4 KiB.
            let (aliased, inPlace) = (stored(1024), stored(1030))
            var results: [[UInt64]] = []
            for (data, lda, transA) in [(aliased, 1024, false), (inPlace, 1030, false), (aT, m, true)] {
                var c = [Double](repeating: .nan, count: m * n)
                ember_dgemm_at_level(cLevel, transA ? 1 : 0, 0, m, n, k, 1, data, lda, b, n, 0, &c, n)
                var cf = [Float](repeating: .nan, count: m * n)
                ember_sgemm_at_level(cLevel, transA ? 1 : 0, 0, m, n, k, 1, data.map(Float.init), lda, b.map(Float.init), n, 0, &cf, n)
                results.append(c.map(\.bitPattern) + cf.map { UInt64($0.bitPattern) })
            }
            #expect(results[0] == results[1], "\(level) \(m)x\(n)x\(k): copied A against A in place")
            #expect(results[0] == results[2], "\(level) \(m)x\(n)x\(k): copied A against packed A")
        }
    }

    /// `PackedMatrix` (the kernel level in use) against `GEMM.run`, with beta 0 over a NaN-filled C.
    @Test func packedMatrixMatchesGEMM() {
        let (m, n, k) = (70, 96, 40)
        let a = randomTensor([m, k], seed: 1).scalars.map(Float.init)
        let w = randomTensor([n, k], seed: 2).scalars.map(Float.init)   // stored [n, k], used transposed
        var expected = [Float](repeating: 0, count: m * n)
        var got = [Float](repeating: .nan, count: m * n)
        GEMM.run(transA: false, transB: true, m: m, n: n, k: k, a: a, lda: k, b: w, ldb: k, c: &expected, ldc: n)
        let packed = PackedMatrix(transB: true, k: k, n: n, b: w, ldb: k)
        packed.multiply(m: m, a: a, lda: k, c: &got, ldc: n)
        #expect(zip(got, expected).allSatisfy { $0 == $1 })
    }

    /// Prefetches queued for a product (`ember_prefetch_during_next_product`) change none of its
    /// bits, with the queued lines C's own (for writing), A's and B's, through the plain entry (a
    /// tiny product, one through the driver, one in the transposed form) and the packed one; each
    /// product issues every queued line, so none waits for a later one.
    @Test(arguments: levels)
    func queuedPrefetchesChangeNoBitsAndDrain(level: KernelLevel) {
        let cLevel = ember_kernel_level(rawValue: UInt32(level.rawValue))
        for (m, n, k, transA) in [(4, 4, 8, false), (37, 45, 290, false), (512, 28, 200, true), (64, 512, 128, false)] {
            let a = randomTensor([m * k], seed: UInt64(m + k)).scalars.map(Float.init)
            let b = randomTensor([k * n], seed: UInt64(n + k)).scalars.map(Float.init)
            let c0 = randomTensor([m * n], seed: 3).scalars.map(Float.init)
            let lda = transA ? m : k
            var plain = c0, queued = c0
            ember_sgemm_at_level(cLevel, transA ? 1 : 0, 0, m, n, k, 1, a, lda, b, n, 1, &plain, n)
            queued.withUnsafeMutableBufferPointer { c in
                ember_prefetch_during_next_product(c.baseAddress!, m * n * 4, 1)
                a.withUnsafeBufferPointer { ember_prefetch_during_next_product($0.baseAddress!, m * k * 4, 0) }
                b.withUnsafeBufferPointer { ember_prefetch_during_next_product($0.baseAddress!, k * n * 4, 0) }
                #expect(ember_prefetch_lines_queued() == lines(c.baseAddress!, m * n * 4) + lines(a, m * k * 4) + lines(b, k * n * 4))
                ember_sgemm_at_level(cLevel, transA ? 1 : 0, 0, m, n, k, 1, a, lda, b, n, 1, c.baseAddress!, n)
            }
            #expect(ember_prefetch_lines_queued() == 0, "\(level) \(m)x\(n)x\(k)")
            #expect(zip(plain, queued).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(level) \(m)x\(n)x\(k)")

            var packedResult = c0
            var buffer = [Float](repeating: .nan, count: ember_sgemm_packed_b_size(cLevel, k, n) + 16)
            buffer.withUnsafeMutableBufferPointer { p in
                let aligned = UnsafeMutableRawPointer(p.baseAddress!).alignedUp(toMultipleOf: 64).assumingMemoryBound(to: Float.self)
                ember_sgemm_pack_b(cLevel, 0, k, n, b, n, aligned)
                ember_prefetch_during_next_product(aligned, k * n * 4, 0)
                packedResult.withUnsafeMutableBufferPointer { c in
                    ember_prefetch_during_next_product(c.baseAddress!, m * n * 4, 1)
                    ember_sgemm_with_packed_b(cLevel, transA ? 1 : 0, m, n, k, 1, a, lda, aligned, 1, c.baseAddress!, n)
                }
            }
            #expect(ember_prefetch_lines_queued() == 0, "packed \(level) \(m)x\(n)x\(k)")
            #expect(zip(plain, packedResult).allSatisfy { $0.bitPattern == $1.bitPattern }, "packed \(level) \(m)x\(n)x\(k)")
        }
    }

    /// The cache lines `bytes` bytes from `p` touch.
    func lines(_ p: UnsafeRawPointer, _ bytes: Int) -> Int { (Int(bitPattern: p) & 63 + bytes + 63) / 64 }

    /// The queue holds eight regions; a ninth, and empty ones, queue nothing; a region of rows
    /// counts every line of every row (a row's 64 bytes from the middle of a line touch two); a
    /// product with nothing to multiply (K = 0) leaves the queue for the next.
    @Test func prefetchQueueLimits() {
        let buffer = [Float](repeating: 1, count: 4096)
        var c = [Float](repeating: 0, count: 4)
        ember_sgemm(0, 0, 2, 2, 1, 1, buffer, 1, buffer, 2, 0, &c, 2)   // whatever this thread left queued
        #expect(ember_prefetch_lines_queued() == 0)
        buffer.withUnsafeBufferPointer { p in
            let start = UnsafeRawPointer(p.baseAddress!).alignedUp(toMultipleOf: 64)
            for region in 0..<8 { ember_prefetch_during_next_product(start + 64 * region, 65, 0) }   // two lines each
            #expect(ember_prefetch_lines_queued() == 16)
            ember_prefetch_during_next_product(start, 64, 0)
            #expect(ember_prefetch_lines_queued() == 16)
            ember_sgemm(0, 0, 2, 2, 1, 1, buffer, 1, buffer, 2, 0, &c, 2)
            #expect(ember_prefetch_lines_queued() == 0)
            ember_prefetch_during_next_product(start, 0, 0)
            ember_prefetch_rows_during_next_product(start, 64, 0, 256, 0)
            ember_prefetch_rows_during_next_product(start + 32, 64, 5, 256, 1)   // 5 rows of two lines
            ember_prefetch_rows_during_next_product(start, 128, 3, 1024, 0)      // 3 rows of two lines
        }
        #expect(ember_prefetch_lines_queued() == 16)
        ember_sgemm(0, 0, 2, 2, 0, 1, buffer, 1, buffer, 2, 0, &c, 2)
        #expect(ember_prefetch_lines_queued() == 16)
        ember_sgemm(0, 0, 2, 2, 1, 1, buffer, 1, buffer, 2, 0, &c, 2)
        #expect(ember_prefetch_lines_queued() == 0)
        #expect(c == [1, 1, 1, 1])
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

    /// The gradients of `matmul` and `linear` take their inputs' shape arrays instead of allocating
    /// new ones (`ember-bench ops` counts every allocation of a small op), and keep their values.
    @Test func gradientsShareTheirInputsShapes() {
        func sameStorage(_ a: [Int], _ b: [Int]) -> Bool {
            a.withUnsafeBufferPointer { p in b.withUnsafeBufferPointer { q in p.baseAddress == q.baseAddress } }
        }
        let x = Variable(randomTensor([3, 5], seed: 5), requiresGrad: true)
        let w = Variable(randomTensor([5, 2], seed: 6), requiresGrad: true)
        x.matmul(w).sum().backward()
        let gx = x.grad!, gw = w.grad!
        #expect(gx.shape == [3, 5] && sameStorage(gx.shape, x.data.shape))
        #expect(gw.shape == [5, 2] && sameStorage(gw.shape, w.data.shape))
        // d/dx Σ x·w = 1·wᵀ, d/dw = xᵀ·1.
        #expect(maxDifference(gx.scalars, naiveMatmul([Double](repeating: 1, count: 6), w.data.transposed(0, 1).scalars, m: 3, k: 2, n: 5)) < 1e-12)
        #expect(maxDifference(gw.scalars, naiveMatmul(x.data.transposed(0, 1).scalars, [Double](repeating: 1, count: 6), m: 5, k: 3, n: 2)) < 1e-12)
        // A result whose sizes an operand's shape already holds shares it too.
        let square = randomTensor([4, 4], seed: 7)
        #expect(sameStorage(square.matmul(square).shape, square.shape))
        let weight = Variable(randomTensor([2, 5], seed: 8), requiresGrad: true)
        let input = Variable(randomTensor([3, 5], seed: 9), requiresGrad: true)
        linear(input, weight: weight, bias: nil).sum().backward()
        #expect(sameStorage(weight.grad!.shape, weight.data.shape) && sameStorage(input.grad!.shape, input.data.shape))
        #expect(maxDifference(input.grad!.scalars, naiveMatmul([Double](repeating: 1, count: 6), weight.data.scalars, m: 3, k: 2, n: 5)) < 1e-12)
    }
}
