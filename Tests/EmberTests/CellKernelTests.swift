import CEmberKernels
import Testing
@testable import Ember

/// The fused C step kernels against the plain step code: bit for bit at the kernel level in use
/// (what training runs), and within Float rounding of the plain code in Double on every level.
@Suite struct CellKernelTests {
    static let levels: [KernelLevel] = KernelLevel.allCases.filter { $0.rawValue <= KernelLevel.best.rawValue }
    static let modes: [RecurrentMode] = [.rnnTanh, .rnnRelu, .lstm, .gru]

    /// One step's inputs for `n` rows of `H` units (H = 37 leaves a partial vector at every width),
    /// with the output gradient rows `outStride` apart as in a bidirectional layer.
    struct Step {
        let mode: RecurrentMode
        let n = 3, H: Int
        var GH: Int { mode.gates * H }
        var outStride: Int { 2 * H + 5 }
        var xw, gh, hPrev, cPrev, dh, out, h, gates, extra, dc: [Double]

        init(_ mode: RecurrentMode, H: Int = 37) {
            self.mode = mode
            self.H = H
            let (n, GH) = (3, mode.gates * H)
            xw = randomTensor([n * GH], seed: 1, low: -3, high: 3).scalars
            gh = randomTensor([n * GH], seed: 2, low: -3, high: 3).scalars
            hPrev = randomTensor([n * H], seed: 3).scalars
            cPrev = randomTensor([n * H], seed: 4, low: -2, high: 2).scalars
            dh = randomTensor([n * H], seed: 5).scalars
            out = randomTensor([n * (2 * H + 5)], seed: 6).scalars
            h = randomTensor([n * H], seed: 7).scalars
            gates = randomTensor([n * GH], seed: 8, low: 0, high: 1).scalars   // activated gates
            extra = randomTensor([n * H], seed: 9).scalars
            dc = randomTensor([n * H], seed: 10).scalars
        }

        /// Forward outputs (h, c, gates, extra) in scalar type `S`, through the fused dispatcher or the plain code.
        func forward<S: TensorScalar>(_: S.Type, plain: Bool) -> [Double] {
            let cast: ([Double]) -> [S] = { $0.map { S($0) } }
            let (x, g, hp, cp) = (cast(xw), cast(gh), cast(hPrev), cast(cPrev))
            var hOut = [S](repeating: 0, count: n * H), c = hOut, e = hOut
            var gOut = [S](repeating: 0, count: n * GH)
            c.withUnsafeMutableBufferPointer { pc in gOut.withUnsafeMutableBufferPointer { pg in
                e.withUnsafeMutableBufferPointer { pe in hOut.withUnsafeMutableBufferPointer { ph in
                    if plain {
                        RecurrentEngine.stepForwardPlain(mode, B: n, H: H, xw: x, gh: g, hPrev: hp, cPrev: cp, h: ph.baseAddress!,
                                                         c: pc.baseAddress!, gates: pg.baseAddress!, newGateHidden: pe.baseAddress!)
                    } else {
                        RecurrentEngine.stepForward(mode, B: n, H: H, xw: x, gh: g, hPrev: hp, cPrev: cp, h: ph.baseAddress!,
                                                    c: pc.baseAddress!, gates: pg.baseAddress!, newGateHidden: pe.baseAddress!)
                    }
                } }
            } }
            return (hOut + c + gOut + e).map { Double($0) }
        }

        /// Backward outputs (dzx, dzh, direct, dc) in `S`, through the fused dispatcher or the plain code.
        func backward<S: TensorScalar>(_: S.Type, plain: Bool) -> [Double] {
            let cast: ([Double]) -> [S] = { $0.map { S($0) } }
            var dcIO = cast(dc)
            var dzx = [S](repeating: 0, count: n * GH), dzh = dzx, direct = [S](repeating: 0, count: n * H)
            let (d, o, hh, g, e, cp, hp) = (cast(dh), cast(out), cast(h), cast(gates), cast(extra), cast(cPrev), cast(hPrev))
            dcIO.withUnsafeMutableBufferPointer { pdc in dzx.withUnsafeMutableBufferPointer { px in
                dzh.withUnsafeMutableBufferPointer { ph in direct.withUnsafeMutableBufferPointer { pd in
                    if plain {
                        RecurrentEngine.stepBackward(mode, plain: true, rows: n, H: H, dh: d, out: o, outStride: outStride, h: hh,
                                                          gates: g, c: e, newGateHidden: e, cPrev: cp, hPrev: hp, dc: pdc.baseAddress!,
                                                          dzx: px.baseAddress!, dzh: ph.baseAddress!, dhPrevThroughZ: pd.baseAddress!)
                    } else {
                        RecurrentEngine.stepBackward(mode, rows: n, H: H, dh: d, out: o, outStride: outStride, h: hh,
                                                     gates: g, c: e, newGateHidden: e, cPrev: cp, hPrev: hp, dc: pdc.baseAddress!,
                                                     dzx: px.baseAddress!, dzh: ph.baseAddress!, dhPrevThroughZ: pd.baseAddress!)
                    }
                } }
            } }
            return (dzx + dzh + direct + dcIO).map { Double($0) }
        }

        /// The C kernels at `level` (forward then backward outputs, laid out as above).
        func fused(at level: KernelLevel) -> (forward: [Double], backward: [Double]) {
            let cLevel = ember_kernel_level(rawValue: UInt32(level.rawValue))
            let f: ([Double]) -> [Float] = { $0.map { Float($0) } }
            var hOut = [Float](repeating: 0, count: n * H), c = hOut, e = hOut
            var gOut = [Float](repeating: 0, count: n * GH)
            switch mode {
            case .lstm: ember_lstm_forward_f(cLevel, n, H, f(xw), nil, f(gh), nil, f(cPrev), &gOut, &c, &hOut, 0)
            case .gru: ember_gru_forward_f(cLevel, n, H, f(xw), nil, f(gh), nil, f(hPrev), &gOut, &e, &hOut, 0)
            case .rnnTanh, .rnnRelu: break
            }
            var dcIO = f(dc)
            var dzx = [Float](repeating: 0, count: n * GH), dzh = dzx, direct = [Float](repeating: 0, count: n * H)
            switch mode {
            case .rnnTanh, .rnnRelu:
                ember_rnn_backward_f(cLevel, mode == .rnnRelu ? 1 : 0, n, H, f(dh), f(out), outStride, f(h), &dzx)
            case .lstm:
                ember_lstm_backward_f(cLevel, n, H, f(dh), f(out), outStride, f(gates), f(extra), f(cPrev), &dcIO, &dzx)
            case .gru:
                ember_gru_backward_f(cLevel, n, H, f(dh), f(out), outStride, f(gates), f(extra), f(hPrev), &dzx, &dzh, &direct)
            }
            return ((hOut + c + gOut + e).map { Double($0) }, (dzx + dzh + direct + dcIO).map { Double($0) })
        }

        /// This step with H + 1 units: every block of H values (a gate's, or a state's) gets a unit
        /// appended (0.25), and each output-gradient row keeps its first H values in front.
        func withOneMoreUnit() -> Step {
            var wider = Step(mode, H: H + 1)
            func widen(_ v: [Double]) -> [Double] {
                var result: [Double] = []
                for start in stride(from: 0, to: v.count, by: H) {
                    result += v[start..<(start + H)]
                    result.append(0.25)
                }
                return result
            }
            (wider.xw, wider.gh, wider.gates) = (widen(xw), widen(gh), widen(gates))
            (wider.hPrev, wider.cPrev, wider.dh, wider.h, wider.extra, wider.dc) = (widen(hPrev), widen(cPrev), widen(dh), widen(h), widen(extra), widen(dc))
            wider.out = []
            for b in 0..<n {
                wider.out += out[(b * outStride)..<(b * outStride + H)]
                wider.out += [0.25] + [Double](repeating: 0, count: H + 6)
            }
            return wider
        }

        /// `outputs` of a step of H + 1 units (`fused(at:)`'s parts, each made of blocks of H + 1
        /// values), without each block's last unit.
        static func dropLastUnit(_ outputs: [Double], H: Int) -> [Double] {
            var result: [Double] = []
            for start in stride(from: 0, to: outputs.count, by: H + 1) { result += outputs[start..<(start + H)] }
            return result
        }
    }

    @Test(arguments: modes)
    func fusedStepsAreTheirPlainCodeBitForBit(mode: RecurrentMode) {
        let step = Step(mode)
        let forward = step.forward(Float.self, plain: false), forwardPlain = step.forward(Float.self, plain: true)
        let backward = step.backward(Float.self, plain: false), backwardPlain = step.backward(Float.self, plain: true)
        #expect(zip(forward, forwardPlain).allSatisfy { $0 == $1 }, "forward \(mode)")
        #expect(zip(backward, backwardPlain).allSatisfy { $0 == $1 }, "backward \(mode)")
        // And the plain Float code is the Double one up to Float rounding.
        #expect(maxDifference(forwardPlain, step.forward(Double.self, plain: true)) < 1e-5)
        #expect(maxDifference(backwardPlain, step.backward(Double.self, plain: true)) < 1e-5)
    }

    /// Rows of whole pairs of registers (H = 48: the `_pair` kernels of AVX2 and the portable build)
    /// give the bits of the single-register kernels, which run for H = 49: the same inputs in units
    /// 0..<48 of every gate and state of a 49-unit step give the same outputs there, on every level.
    @Test(arguments: levels)
    func pairedKernelsGiveTheSingleRegisterBits(level: KernelLevel) {
        for mode in Self.modes {
            let paired = Step(mode, H: 48), single = paired.withOneMoreUnit()
            let (forward, backward) = paired.fused(at: level), (forward49, backward49) = single.fused(at: level)
            for (name, single, paired) in [("forward", Step.dropLastUnit(forward49, H: 48), forward),
                                           ("backward", Step.dropLastUnit(backward49, H: 48), backward)] {
                let differing = zip(single, paired).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(single.count == paired.count && differing == 0, "\(name) \(mode) \(level): \(differing) values differ")
            }
        }
    }

    @Test(arguments: levels)
    func everyLevelMatchesThePlainCodeInDouble(level: KernelLevel) {
        for mode in Self.modes {
            let step = Step(mode)
            let (forward, backward) = step.fused(at: level)
            if mode == .lstm || mode == .gru {
                #expect(maxDifference(forward, step.forward(Double.self, plain: true)) < 1e-5, "forward \(mode) \(level)")
            }
            #expect(maxDifference(backward, step.backward(Double.self, plain: true)) < 1e-5, "backward \(mode) \(level)")
        }
    }

    /// The forward kernels' streamed stores (a training step's gate cache, stored past the caches)
    /// leave, on every level, the bits of plain stores: in 64-byte-aligned buffers, where every whole
    /// vector is streamed, and 4 values past such a start, where the kernels fall back to plain stores
    /// of the vectors that are not aligned; with whole rows of vectors (48 units) and partial ones (37).
    @Test(arguments: levels)
    func streamedGatesAreThePlainBits(level: KernelLevel) {
        let cLevel = ember_kernel_level(rawValue: UInt32(level.rawValue))
        for mode in [RecurrentMode.lstm, .gru] {
            for H in [48, 37] {
                let step = Step(mode, H: H)
                let (n, GH) = (step.n, step.GH)
                let f: ([Double]) -> [Float] = { $0.map { Float($0) } }
                let (xw, gh, cPrev, hPrev) = (f(step.xw), f(step.gh), f(step.cPrev), f(step.hPrev))
                func run(streamed: Bool, offset: Int) -> [UInt32] {
                    // One 64-byte-aligned allocation per output, read from `offset` values on.
                    let sizes = [n * GH, n * H, n * H]
                    let buffers = sizes.map { count in
                        UnsafeMutableRawPointer.allocate(byteCount: (count + offset) * 4, alignment: 64)
                            .bindMemory(to: Float.self, capacity: count + offset)
                    }
                    defer { buffers.forEach { $0.deallocate() } }
                    let (g, e, h) = (buffers[0] + offset, buffers[1] + offset, buffers[2] + offset)
                    if mode == .lstm {
                        ember_lstm_forward_f(cLevel, n, H, xw, nil, gh, nil, cPrev, g, e, h, streamed ? 1 : 0)
                    } else {
                        ember_gru_forward_f(cLevel, n, H, xw, nil, gh, nil, hPrev, g, e, h, streamed ? 1 : 0)
                    }
                    return zip(sizes, [g, e, h]).flatMap { count, p in (0..<count).map { p[$0].bitPattern } }
                }
                for offset in [0, 4] {
                    let plain = run(streamed: false, offset: offset), streamed = run(streamed: true, offset: offset)
                    let differing = zip(plain, streamed).filter { $0 != $1 }.count
                    #expect(differing == 0, "\(mode) \(level) H \(H) offset \(offset): \(differing) values differ")
                }
            }
        }
    }

    /// Biases handed to the LSTM and GRU forward kernels give, on every level, the bits of adding
    /// each bias row to xw and gh in a pass of its own and then running the kernel without biases;
    /// one bias alone too. Signed zeros in xw and gh: a missing bias must leave -0 as it is.
    @Test(arguments: levels)
    func fusedBiasesAreSeparateAdditions(level: KernelLevel) {
        let cLevel = ember_kernel_level(rawValue: UInt32(level.rawValue))
        for mode in [RecurrentMode.lstm, .gru] {
            let step = Step(mode)
            let (n, H, GH) = (step.n, step.H, step.GH)
            let f: ([Double]) -> [Float] = { $0.map { Float($0) } }
            var xw = f(step.xw), gh = f(step.gh)
            xw[1] = -0.0; gh[2] = -0.0; gh[2 * H + 3] = -0.0
            let bih = f(randomTensor([GH], seed: 11).scalars), bhh = f(randomTensor([GH], seed: 12).scalars)
            func run(_ x: [Float], _ bi: [Float]?, _ g: [Float], _ bh: [Float]?) -> [UInt32] {
                var hOut = [Float](repeating: 0, count: n * H), c = hOut, e = hOut
                var gOut = [Float](repeating: 0, count: n * GH)
                if mode == .lstm {
                    ember_lstm_forward_f(cLevel, n, H, x, bi, g, bh, f(step.cPrev), &gOut, &c, &hOut, 0)
                } else {
                    ember_gru_forward_f(cLevel, n, H, x, bi, g, bh, f(step.hPrev), &gOut, &e, &hOut, 0)
                }
                return (hOut + c + gOut + e).map(\.bitPattern)
            }
            func added(_ v: [Float], _ bias: [Float]) -> [Float] { v.indices.map { v[$0] + bias[$0 % GH] } }
            for (useIH, useHH) in [(true, true), (true, false), (false, true), (false, false)] {
                let fused = run(xw, useIH ? bih : nil, gh, useHH ? bhh : nil)
                let separate = run(useIH ? added(xw, bih) : xw, nil, useHH ? added(gh, bhh) : gh, nil)
                #expect(fused == separate, "\(mode) \(level) bih \(useIH) bhh \(useHH)")
            }
        }
    }
}

/// The in-place RNN evaluation step (`ember_rnn_forward_f`): bit for bit its plain code at the level
/// in use, and within Float rounding of the plain code in Double on every level, over rows further
/// apart than they are long, with and without biases.
@Suite struct RNNStepKernelTests {
    static let rows = 5, H = 37, ldy = 50

    /// The step in `S` over `y` (rows `ldy` apart), through the dispatcher, the plain code, or the C kernel at a level.
    static func step<S: TensorScalar>(_: S.Type, relu: Bool, biases: Bool, how: String, level: KernelLevel = .current) -> [Double] {
        let cast: ([Double]) -> [S] = { $0.map { S($0) } }
        var y = cast(randomTensor([rows * ldy], seed: 21, low: -2, high: 2).scalars)
        let gh = cast(randomTensor([rows * H], seed: 22, low: -2, high: 2).scalars)
        let bih = cast(randomTensor([H], seed: 23).scalars), bhh = cast(randomTensor([H], seed: 24).scalars)
        let mode: RecurrentMode = relu ? .rnnRelu : .rnnTanh
        y.withUnsafeMutableBufferPointer { py in
            gh.withUnsafeBufferPointer { pg in bih.withUnsafeBufferPointer { pbi in bhh.withUnsafeBufferPointer { pbh in
                let (bi, bh) = biases ? (pbi.baseAddress, pbh.baseAddress) : (nil, nil)
                switch how {
                case "plain":
                    RecurrentEngine.rnnStepInPlacePlain(mode, rows: rows, H: H, y: py.baseAddress!, ldy: ldy, gh: pg.baseAddress!, bih: bi, bhh: bh)
                case "dispatch":
                    RecurrentEngine.rnnStepInPlace(mode, rows: rows, H: H, y: py.baseAddress!, ldy: ldy, gh: pg.baseAddress!, bih: bi, bhh: bh)
                default:
                    func f<P>(_ p: UnsafePointer<P>?) -> UnsafePointer<Float>? { p.map { UnsafeRawPointer($0).assumingMemoryBound(to: Float.self) } }
                    ember_rnn_forward_f(ember_kernel_level(rawValue: UInt32(level.rawValue)), relu ? 1 : 0, rows, H,
                                        UnsafeMutableRawPointer(py.baseAddress!).assumingMemoryBound(to: Float.self), ldy,
                                        f(pg.baseAddress), f(bi), f(bh))
                }
            } } }
        }
        return y.map { Double($0) }
    }

    @Test(arguments: [false, true], [false, true])
    func kernelIsItsPlainCode(relu: Bool, biases: Bool) {
        let fused = Self.step(Float.self, relu: relu, biases: biases, how: "dispatch")
        let plain = Self.step(Float.self, relu: relu, biases: biases, how: "plain")
        #expect(fused == plain)
        let double = Self.step(Double.self, relu: relu, biases: biases, how: "plain")
        for level in CellKernelTests.levels {
            let atLevel = Self.step(Float.self, relu: relu, biases: biases, how: "level", level: level)
            #expect(maxDifference(atLevel, double) < 1e-5, "\(level)")
            // Elements between the rows are left alone (the plain code does not touch them either).
            let gaps = (0..<(Self.rows - 1)).flatMap { r in (r * Self.ldy + Self.H)..<((r + 1) * Self.ldy) }
            #expect(gaps.allSatisfy { atLevel[$0] == plain[$0] }, "\(level)")
        }
    }
}

/// The fused RNN sequence kernel gives, on every level, the bits of what it replaces: the GEMM's
/// products at that level followed by `ember_rnn_forward_f` at that level, step by step. The shapes
/// cover partial vectors and tiles (H 19, 37), several column panels (H 70), products below the
/// GEMM's tiny cutoff (1 row), rows past one tile, both layouts, h0 or none, biases or none.
@Suite struct RNNSequenceKernelTests {
    @Test(arguments: CellKernelTests.levels)
    func sameBitsAsProductsAndSteps(level: KernelLevel) {
        let cl = ember_kernel_level(rawValue: UInt32(level.rawValue))
        for (n, T, I, H) in [(1, 3, 7, 19), (13, 4, 28, 32), (29, 3, 5, 37), (7, 2, 30, 70)] {
            let f: ([Double]) -> [Float] = { $0.map(Float.init) }
            let x = f(randomTensor([n * T * I], seed: 31).scalars), h0 = f(randomTensor([n * H], seed: 32).scalars)
            let wih = f(randomTensor([H * I], seed: 33, low: -0.5, high: 0.5).scalars)
            let whh = f(randomTensor([H * H], seed: 34, low: -0.5, high: 0.5).scalars)
            let bih = f(randomTensor([H], seed: 35).scalars), bhh = f(randomTensor([H], seed: 36).scalars)
            for batchFirst in [true, false] {
                for relu in [false, true] {
                    for withH0 in [true, false] {
                        for bias in [true, false] {
                            let (ldxb, ldxt) = batchFirst ? (T * I, I) : (I, n * I)
                            let (ldyb, ldyt) = batchFirst ? (T * H, H) : (H, n * H)
                            var expected = [Float](repeating: .nan, count: n * T * H), got = expected
                            var gh = [Float](repeating: 0, count: n * H)
                            x.withUnsafeBufferPointer { px in
                            expected.withUnsafeMutableBufferPointer { py in
                            gh.withUnsafeMutableBufferPointer { pg in
                                let (bi, bh) = bias ? (Optional(bih), Optional(bhh)) : (nil, nil)
                                for t in 0..<T {
                                    let yt = py.baseAddress! + t * ldyt
                                    ember_sgemm_at_level(cl, 0, 1, n, H, I, 1, px.baseAddress! + t * ldxt, ldxb, wih, I, 0, yt, ldyb)
                                    if t > 0 {
                                        ember_sgemm_at_level(cl, 0, 1, n, H, H, 1, yt - ldyt, ldyb, whh, H, 0, pg.baseAddress!, H)
                                    } else if withH0 {
                                        ember_sgemm_at_level(cl, 0, 1, n, H, H, 1, h0, H, whh, H, 0, pg.baseAddress!, H)
                                    }
                                    ember_rnn_forward_f(cl, relu ? 1 : 0, n, H, yt, ldyb, pg.baseAddress!, bi, bh)
                                }
                            } } }
                            let done = ember_rnn_sequence_f(cl, relu ? 1 : 0, n, T, I, H, x, ldxb, ldxt, wih, whh,
                                                            bias ? bih : nil, bias ? bhh : nil, withH0 ? h0 : nil, &got, ldyb, ldyt)
                            let what = "\(level) n \(n) T \(T) I \(I) H \(H) batchFirst \(batchFirst) relu \(relu) h0 \(withH0) bias \(bias)"
                            #expect(done == 1, "\(what)")
                            #expect(zip(got, expected).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(what)")
                        }
                    }
                }
            }
        }
    }

    /// Shapes whose products the GEMM would split into blocks of K are refused, untouched.
    @Test func refusesProductsPastOneBlockOfK() {
        let cl = ember_kernel_level_in_use()
        let k = ember_sgemm_k_block(cl)
        #expect(k >= 64)
        var y = [Float](repeating: .nan, count: k + 1)
        let w = [Float](repeating: 0, count: k + 1)
        #expect(ember_rnn_sequence_f(cl, 0, 1, 1, k + 1, 1, w, k + 1, k + 1, w, w, nil, nil, nil, &y, 1, 1) == 0)
        #expect(y.allSatisfy { $0.isNaN })
    }
}

/// The C Adam kernel computes exactly what `AdamBase.updatePlain` computes, on every kernel level,
/// for both forms of lerp (β1 above and below 0.5), with and without amsgrad, and over lengths that
/// leave a partial vector at every width.
@Suite struct AdamKernelTests {
    @Test(arguments: [(0.9, false), (0.3, true), (0.6, false)])
    func kernelEqualsPlainOnEveryLevel(_ beta1: Double, _ amsgrad: Bool) {
        let n = 83
        let p0 = randomTensor([n], seed: 1).float(), g = randomTensor([n], seed: 2, low: -0.1, high: 0.1).float()
        let m0 = randomTensor([n], seed: 3, low: -0.05, high: 0.05).float(), v0 = randomTensor([n], seed: 4, low: 0, high: 1e-3).float()
        let vMax0 = randomTensor([n], seed: 5, low: 0, high: 1e-3).float()
        let w1 = Float(1 - beta1), beta2: Float = 0.999, w2 = Float(1 - 0.999), c2: Float = 0.0447, eps: Float = 1e-8, nss: Float = -0.0031
        var (p, m, v, vMax) = (p0, m0, v0, amsgrad ? vMax0 : Tensor<Float>(zeros: [0]))
        AdamBase<Float>.updatePlain(parameter: &p, gradient: g, m: &m, v: &v, vMax: &vMax, amsgrad: amsgrad, w1: w1, beta2: beta2,
                                    w2: w2, correction2: c2, eps: eps, negativeStepSize: nss)
        for level in CellKernelTests.levels {
            var (pk, mk, vk, vMaxk) = (p0.scalars, m0.scalars, v0.scalars, amsgrad ? vMax0.scalars : [Float](repeating: 0, count: n))
            ember_adam_f(ember_kernel_level(rawValue: UInt32(level.rawValue)), n, &pk, g.scalars, &mk, &vk, &vMaxk, amsgrad ? 1 : 0,
                         w1, beta2, w2, c2, eps, nss)
            #expect(pk.map(\.bitPattern) == p.scalars.map(\.bitPattern), "\(level)")
            #expect(mk.map(\.bitPattern) == m.scalars.map(\.bitPattern), "\(level)")
            #expect(vk.map(\.bitPattern) == v.scalars.map(\.bitPattern), "\(level)")
            if amsgrad { #expect(vMaxk.map(\.bitPattern) == vMax.scalars.map(\.bitPattern), "\(level)") }
        }
    }
}

private extension Tensor<Double> {
    func float() -> Tensor<Float> { Tensor<Float>(self) }
}
