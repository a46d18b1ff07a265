import Testing
@testable import Ember

struct RecurrentCase: CustomStringConvertible, Sendable {
    var mode: RecurrentMode
    var layers = 1
    var bidirectional = false
    var batchFirst = false
    var lengths: [Int]? = nil
    var withState = true
    var bias = true
    var dropout = 0.0
    var description: String {
        "\(mode) layers \(layers)\(bidirectional ? " bidirectional" : "")\(batchFirst ? " batchFirst" : "")\(lengths.map { " lengths \($0)" } ?? "")\(withState ? "" : " no h0")\(bias ? "" : " no bias")\(dropout > 0 ? " dropout \(dropout)" : "")"
    }

    static let all: [RecurrentCase] = [RecurrentMode.rnnTanh, .rnnRelu, .lstm, .gru].flatMap { m in [
        RecurrentCase(mode: m),
        RecurrentCase(mode: m, layers: 2, bidirectional: true, lengths: [5, 2, 1]),
        RecurrentCase(mode: m, batchFirst: true, lengths: [3, 5, 4], withState: false),
        RecurrentCase(mode: m, layers: 2, bias: false, dropout: 0.5),
        RecurrentCase(mode: m, layers: 2, bidirectional: true, batchFirst: true, lengths: [4, 5, 2]),
    ] }
}

let (T, B, I, H) = (5, 3, 4, 3)

func makeLayer(_ c: RecurrentCase) -> RecurrentLayer<Double> {
    .make(c.mode, inputSize: I, hiddenSize: H, numLayers: c.layers, bias: c.bias, batchFirst: c.batchFirst,
          dropout: c.dropout, bidirectional: c.bidirectional)
}

/// The same network composed step by step from the cells (primitive ops), sharing the layer's weights
/// through copies; returns output, h_n, c_n and, per (layer, direction), the cell used.
func composedReference(_ c: RecurrentCase, layer: RecurrentLayer<Double>, x: Variable<Double>, h0: Variable<Double>?,
                       c0: Variable<Double>?, masks: [Tensor<Double>])
    -> (Variable<Double>, Variable<Double>, Variable<Double>?, [RecurrentCell<Double>]) {
    let D = c.bidirectional ? 2 : 1
    let lengths = c.lengths ?? Array(repeating: T, count: B)
    let state = layer.stateDict()
    var cells: [RecurrentCell<Double>] = []
    var input = c.batchFirst ? x.transposed(0, 1) : x       // [T, B, F]
    var hFinal: [Variable<Double>] = [], cFinal: [Variable<Double>] = []
    for l in 0..<c.layers {
        var directionOutputs: [Variable<Double>] = []
        for d in 0..<D {
            let inSize = l == 0 ? I : H * D
            let cell: RecurrentCell<Double>
            switch c.mode {
            case .rnnTanh, .rnnRelu: cell = RNNCell<Double>(inputSize: inSize, hiddenSize: H, bias: c.bias, nonlinearity: c.mode == .rnnTanh ? .tanh : .relu)
            case .lstm: cell = LSTMCell<Double>(inputSize: inSize, hiddenSize: H, bias: c.bias)
            case .gru: cell = GRUCell<Double>(inputSize: inSize, hiddenSize: H, bias: c.bias)
            }
            let suffix = "_l\(l)" + (d == 1 ? "_reverse" : "")
            var dict: [String: Tensor<Double>] = ["weight_ih": state["weight_ih" + suffix]!, "weight_hh": state["weight_hh" + suffix]!]
            if c.bias { dict["bias_ih"] = state["bias_ih" + suffix]!; dict["bias_hh"] = state["bias_hh" + suffix]! }
            try! cell.loadStateDict(dict)
            cells.append(cell)
            let index = l * D + d
            var h = h0?.select(axis: 0, index: index) ?? Variable(Tensor(zeros: [B, H]))
            var cs = c0?.select(axis: 0, index: index) ?? Variable(Tensor(zeros: [B, H]))
            var outputs = [Variable<Double>?](repeating: nil, count: T)
            for s in 0..<T {
                let t = d == 1 ? T - 1 - s : s
                let m = Tensor<Double>(shape: [B, 1], scalars: lengths.map { t < $0 ? 1 : 0 })
                let xt = input.select(axis: 0, index: t)
                let newH: Variable<Double>
                switch cell {
                case let rc as RNNCell<Double>: newH = rc(xt, h)
                case let gc as GRUCell<Double>: newH = gc(xt, h)
                case let lc as LSTMCell<Double>:
                    let (nh, nc) = lc(xt, (h, cs))
                    newH = nh
                    cs = nc * m + cs * (1 - m)
                default: fatalError()
                }
                h = newH * m + h * (1 - m)
                outputs[t] = h * m
            }
            directionOutputs.append(stack(outputs.map { $0! }, axis: 0))
            hFinal.append(h)
            cFinal.append(cs)
        }
        let out = D == 1 ? directionOutputs[0] : concat(directionOutputs, axis: 2)
        input = l < c.layers - 1 && !masks.isEmpty ? out * masks[l] : out
    }
    let output = c.batchFirst ? input.transposed(0, 1) : input
    return (output, stack(hFinal, axis: 0), c.mode == .lstm ? stack(cFinal, axis: 0) : nil, cells)
}

/// The dropout masks the layer will draw next (same generator, same algorithm). A layer that has
/// not drawn a mask yet is given its generator here instead of seeding it from the default one.
func upcomingMasks(_ c: RecurrentCase, _ layer: RecurrentLayer<Double>) -> [Tensor<Double>] {
    guard c.dropout > 0, c.layers > 1 else { return [] }
    if layer.generator == nil { layer.generator = SeededGenerator(seed: 99) }
    var g: SeededGenerator = layer.generator!
    let D = c.bidirectional ? 2 : 1
    return (0..<(c.layers - 1)).map { _ in
        let scalars: [Double] = (0..<(T * B * H * D)).map { _ in g.nextUnitDouble() >= c.dropout ? 1 / (1 - c.dropout) : 0 }
        return Tensor(shape: [T, B, H * D], scalars: scalars)
    }
}

@Suite struct FusedRecurrentTests {
    /// The fused node equals the step-by-step composition of primitive ops, forward and backward,
    /// to 1e-10 in Double.
    @Test(arguments: RecurrentCase.all)
    func fusedEqualsComposed(_ c: RecurrentCase) {
        manualSeed(7)
        let layer = makeLayer(c)
        let D = c.bidirectional ? 2 : 1
        let xShape = c.batchFirst ? [B, T, I] : [T, B, I]
        let x = Variable(randomTensor(xShape, seed: 1), requiresGrad: true)
        let h0 = c.withState ? Variable(randomTensor([c.layers * D, B, H], seed: 2), requiresGrad: true) : nil
        let c0 = c.withState && c.mode == .lstm ? Variable(randomTensor([c.layers * D, B, H], seed: 3), requiresGrad: true) : nil
        let gy = randomTensor(c.batchFirst ? [B, T, H * D] : [T, B, H * D], seed: 4)
        let gh = randomTensor([c.layers * D, B, H], seed: 5), gc = randomTensor([c.layers * D, B, H], seed: 6)

        let masks = upcomingMasks(c, layer)
        let (out, hN, cN) = layer.run(x, h0: h0, c0: c0, lengths: c.lengths, name: "test")
        let xr = Variable(x.data, requiresGrad: true)
        let h0r = h0.map { Variable($0.data, requiresGrad: true) }, c0r = c0.map { Variable($0.data, requiresGrad: true) }
        let (outR, hNR, cNR, cells) = composedReference(c, layer: layer, x: xr, h0: h0r, c0: c0r, masks: masks)

        #expect(out.data.maxAbsoluteDifference(outR.data) <= 1e-10, "output \(c)")
        #expect(hN.data.maxAbsoluteDifference(hNR.data) <= 1e-10, "h_n \(c)")
        if let cN, let cNR { #expect(cN.data.maxAbsoluteDifference(cNR.data) <= 1e-10, "c_n \(c)") }

        var loss = (out * gy).sum() + (hN * gh).sum()
        if let cN { loss = loss + (cN * gc).sum() }
        loss.backward()
        var lossR = (outR * gy).sum() + (hNR * gh).sum()
        if let cNR { lossR = lossR + (cNR * gc).sum() }
        lossR.backward()

        #expect(x.grad!.maxAbsoluteDifference(xr.grad!) <= 1e-10, "grad x \(c)")
        if let h0, let h0r { #expect(h0.grad!.maxAbsoluteDifference(h0r.grad!) <= 1e-10, "grad h0 \(c)") }
        if let c0, let c0r { #expect(c0.grad!.maxAbsoluteDifference(c0r.grad!) <= 1e-10, "grad c0 \(c)") }
        let per = c.bias ? 4 : 2
        for (i, cell) in cells.enumerated() {
            let cellParams = cell.parameters()
            for k in 0..<per {
                let fused = layer.weights[i * per + k].grad!
                #expect(fused.maxAbsoluteDifference(cellParams[k].grad!) <= 1e-10, "grad weight \(i * per + k) \(c)")
            }
        }
    }

    /// A loss that uses only some of output, h_n and c_n (the rest get no gradient at all) gives the
    /// composed network's gradients; a retained graph run backward twice gives them twice.
    @Test(arguments: [RecurrentCase(mode: .lstm, layers: 2, bidirectional: true, lengths: [5, 2, 1]),
                      RecurrentCase(mode: .gru, batchFirst: true, withState: false)])
    func resultsUsedAloneGetTheirGradients(_ c: RecurrentCase) {
        let D = c.bidirectional ? 2 : 1
        let gy = randomTensor(c.batchFirst ? [B, T, H * D] : [T, B, H * D], seed: 4)
        let gh = randomTensor([c.layers * D, B, H], seed: 5), gc = randomTensor([c.layers * D, B, H], seed: 6)
        let uses: [(out: Bool, h: Bool, c: Bool)] = [(true, false, false), (false, true, false), (false, false, true), (true, false, true)]
        for use in uses where !use.c || c.mode == .lstm {
            for twice in [false, true] {
                manualSeed(7)
                let layer = makeLayer(c)
                let x = Variable(randomTensor(c.batchFirst ? [B, T, I] : [T, B, I], seed: 1), requiresGrad: true)
                let h0 = c.withState ? Variable(randomTensor([c.layers * D, B, H], seed: 2), requiresGrad: true) : nil
                let c0 = c.withState && c.mode == .lstm ? Variable(randomTensor([c.layers * D, B, H], seed: 3), requiresGrad: true) : nil
                let (out, hN, cN) = layer.run(x, h0: h0, c0: c0, lengths: c.lengths, name: "test")
                let xr = Variable(x.data, requiresGrad: true)
                let (outR, hNR, cNR, cells) = composedReference(c, layer: layer, x: xr, h0: h0.map { Variable($0.data) },
                                                                c0: c0.map { Variable($0.data) }, masks: [])
                func loss(_ o: Variable<Double>, _ h: Variable<Double>, _ cell: Variable<Double>?) -> Variable<Double> {
                    var terms: [Variable<Double>] = []
                    if use.out { terms.append((o * gy).sum()) }
                    if use.h { terms.append((h * gh).sum()) }
                    if use.c, let cell { terms.append((cell * gc).sum()) }
                    return terms.dropFirst().reduce(terms[0], +)
                }
                let fusedLoss = loss(out, hN, cN)
                fusedLoss.backward(retainGraph: twice)
                if twice { fusedLoss.backward() }
                loss(outR, hNR, cNR).backward()
                let times: Double = twice ? 2 : 1
                let what = "\(c) using output \(use.out) h_n \(use.h) c_n \(use.c)\(twice ? " twice" : "")"
                #expect(x.grad!.maxAbsoluteDifference(xr.grad! * times) <= 1e-10, "grad x \(what)")
                let per = c.bias ? 4 : 2
                for (i, cell) in cells.enumerated() {
                    for (k, p) in cell.parameters().prefix(per).enumerated() {
                        #expect(layer.weights[i * per + k].grad!.maxAbsoluteDifference(p.grad! * times) <= 1e-10,
                                "grad weight \(i * per + k) \(what)")
                    }
                }
            }
        }
    }

    /// gradcheck through the fused node for every configuration (inputs, states and weights).
    @Test(arguments: RecurrentCase.all)
    func gradcheckFused(_ c: RecurrentCase) {
        manualSeed(8)
        let layer = makeLayer(c)
        let D = c.bidirectional ? 2 : 1
        let xShape = c.batchFirst ? [B, T, I] : [T, B, I]
        var inputs = [randomTensor(xShape, seed: 1)]
        if c.withState { inputs.append(randomTensor([c.layers * D, B, H], seed: 2)) }
        if c.withState && c.mode == .lstm { inputs.append(randomTensor([c.layers * D, B, H], seed: 3)) }
        let first = inputs.count
        inputs += layer.weights.map(\.data)
        let gy = randomTensor(c.batchFirst ? [B, T, H * D] : [T, B, H * D], seed: 4)
        let gh = randomTensor([c.layers * D, B, H], seed: 5)
        // Dropout masks must be the same in every evaluation: fix the generator state.
        let generator = SeededGenerator(seed: 12)
        let result = gradcheck(inputs: inputs) { v in
            layer.generator = generator
            let h0 = c.withState ? v[1] : nil
            let c0 = c.withState && c.mode == .lstm ? v[2] : nil
            let (out, hN, cN) = layer.run(v[0], h0: h0, c0: c0, lengths: c.lengths, name: "test", weights: Array(v[first...]))
            var loss = (out * gy).sum() + (hN * gh).sum()
            if let cN { loss = loss + cN.sum() }
            return loss
        }
        #expect(result.passed, "\(c): \(result)")
    }

    /// Sizes of one: an input or a hidden state of one feature gave weight gradients of shape [G·H]
    /// instead of [G·H, 1] (taken for a bias's). Every weight's gradient has its weight's shape, and
    /// gradcheck passes, in Float (the fused kernels) and Double.
    @Test(arguments: [RecurrentMode.rnnTanh, .lstm, .gru], [(1, 3), (3, 1), (1, 1)])
    func sizesOfOne(_ mode: RecurrentMode, _ sizes: (input: Int, hidden: Int)) {
        func layer<S: TensorScalar>(_: S.Type) -> RecurrentLayer<S> {
            .make(mode, inputSize: sizes.input, hiddenSize: sizes.hidden, numLayers: 2, bidirectional: true)
        }
        manualSeed(3)
        let float = layer(Float.self)
        let x = Variable(Tensor<Float>(randomTensor([4, 2, sizes.input], seed: 6)), requiresGrad: true)
        let (out, h, _) = float.run(x, h0: nil, c0: nil, lengths: nil, name: "test")
        (out.sum() + h.sum()).backward()
        for w in float.weights { #expect(w.grad?.shape == w.shape, "\(mode) \(sizes)") }
        #expect(x.grad?.shape == x.shape)

        let double = layer(Double.self)
        let result = gradcheck(inputs: [randomTensor([4, 2, sizes.input], seed: 6)] + double.weights.map(\.data)) { v in
            let (out, h, _) = double.run(v[0], h0: nil, c0: nil, lengths: [4, 2], name: "test", weights: Array(v[1...]))
            return (out * out).sum() + h.sum()
        }
        #expect(result.passed, "\(mode) \(sizes): \(result)")
    }

    /// Inputs past a sequence's end are padding: NaN there changes no output and no gradient (the
    /// same bits as zero padding), as with PyTorch's packed sequences.
    @Test(arguments: [RecurrentCase(mode: .rnnTanh, lengths: [5, 2, 1]),
                      RecurrentCase(mode: .lstm, layers: 2, bidirectional: true, lengths: [5, 2, 1]),
                      RecurrentCase(mode: .gru, bidirectional: true, batchFirst: true, lengths: [3, 5, 1])])
    func paddingNeverReachesGradients(_ c: RecurrentCase) {
        let D = c.bidirectional ? 2 : 1
        let lengths = c.lengths!
        let gy = randomTensor(c.batchFirst ? [B, T, H * D] : [T, B, H * D], seed: 4)
        let layer = makeLayer(c)
        let clean = randomTensor(c.batchFirst ? [B, T, I] : [T, B, I], seed: 1).scalars
        var padded = [Bool](repeating: false, count: clean.count)
        for t in 0..<T {
            for b in 0..<B where t >= lengths[b] {
                let row = c.batchFirst ? b * T + t : t * B + b
                for i in 0..<I { padded[row * I + i] = true }
            }
        }
        func run(padding: Double) -> [[Double]] {
            layer.zeroGrad()
            let scalars = zip(clean, padded).map { $1 ? padding : $0 }
            let x = Variable(Tensor(shape: c.batchFirst ? [B, T, I] : [T, B, I], scalars: scalars), requiresGrad: true)
            let (out, hN, _) = layer.run(x, h0: nil, c0: nil, lengths: lengths, name: "test")
            ((out * gy).sum() + hN.sum()).backward()
            // The input's gradient where it is not padding, and that it is zero where it is.
            let gx = x.grad!.scalars
            #expect(zip(gx, padded).allSatisfy { !$1 || $0 == 0 }, "\(c): padding got a gradient")
            return [out.data.scalars, hN.data.scalars, zip(gx, padded).filter { !$1 }.map(\.0)] + layer.weights.map { $0.grad!.scalars }
        }
        let zeros = run(padding: 0), nans = run(padding: .nan)
        for (i, (z, n)) in zip(zeros, nans).enumerated() {
            #expect(z == n, "\(c): result \(i) differs with NaN padding")
        }
    }

    /// The backward pass goes back through the sequence a chunk of steps at a time and adds each
    /// chunk's weight gradients as it goes. One step per chunk gives every gradient of one chunk for
    /// the whole sequence (the composed network's, by the test above), up to rounding in Double.
    @Test(arguments: RecurrentCase.all)
    func chunkedBackwardEqualsOneChunk(_ c: RecurrentCase) {
        manualSeed(9)
        let layer = makeLayer(c)
        let D = c.bidirectional ? 2 : 1
        let x = randomTensor([T, B, I], seed: 1)
        let h0 = c.withState ? randomTensor([c.layers * D, B, H], seed: 2) : nil
        let c0 = c.withState && c.mode == .lstm ? randomTensor([c.layers * D, B, H], seed: 3) : nil
        let weights = layer.weights.map(\.data)
        let lengths = c.lengths ?? Array(repeating: T, count: B)
        let forward = RecurrentEngine.forward(layer.config, x: x, h0: h0, c0: c0, weights: weights, lengths: lengths, masks: [])
        let gOut = randomTensor([T, B, D * H], seed: 4), ghN = randomTensor([c.layers * D, B, H], seed: 5)
        let gcN = c.mode == .lstm ? randomTensor([c.layers * D, B, H], seed: 6) : nil
        func backward(chunkRows: Int) -> [Tensor<Double>] {
            let g = RecurrentEngine.backward(layer.config, gOut: gOut, ghN: ghN, gcN: gcN, h0: h0, c0: c0, weights: weights,
                                             lengths: lengths, masks: [], inputs: forward.inputs, caches: forward.caches,
                                             chunkRows: chunkRows)
            return [g.gx, g.gh0] + (g.gc0.map { [$0] } ?? []) + g.gWeights
        }
        let whole = backward(chunkRows: T * B), stepwise = backward(chunkRows: 1), pairs = backward(chunkRows: 2 * B)
        #expect(whole.count == stepwise.count && whole.count == pairs.count)
        for (i, (w, (s, p))) in zip(whole, zip(stepwise, pairs)).enumerated() {
            #expect(w.shape == s.shape && w.shape == p.shape, "\(c): gradient \(i) shape")
            #expect(w.maxAbsoluteDifference(s) <= 1e-12, "\(c): gradient \(i), one step per chunk")
            #expect(w.maxAbsoluteDifference(p) <= 1e-12, "\(c): gradient \(i), two steps per chunk (the last chunk one)")
        }
    }

    /// The common call and the factory: the same layer type and configuration as each type's
    /// initialiser, and the same bits as each type's own call, for every mode, with and without a state; a state of the wrong kind stops.
    @Test(arguments: RecurrentMode.allCases) func commonCallAndFactory(_ mode: RecurrentMode) throws {
        manualSeed(4)
        let made = RecurrentLayer<Float>.make(mode, inputSize: 3, hiddenSize: 5, numLayers: 2, batchFirst: true)
        manualSeed(4)
        let direct: RecurrentLayer<Float> = switch mode {
        case .lstm: LSTM(inputSize: 3, hiddenSize: 5, numLayers: 2, batchFirst: true)
        case .gru: GRU(inputSize: 3, hiddenSize: 5, numLayers: 2, batchFirst: true)
        default: RNN(inputSize: 3, hiddenSize: 5, numLayers: 2, nonlinearity: mode == .rnnTanh ? .tanh : .relu, batchFirst: true)
        }
        #expect(made.mode == mode && type(of: made) == type(of: direct))
        #expect(made.numLayers == 2 && made.hiddenSize == 5 && made.inputSize == 3 && made.batchFirst)
        // Same weights (the default generator is shared with tests running in parallel, so they are
        // copied rather than drawn twice from one seed).
        try direct.loadStateDict(made.stateDict())
        let x = Variable(Tensor<Float>(randomTensor([4, 6, 3], seed: 9)))
        let h0 = Variable(Tensor<Float>(randomTensor([2, 4, 5], seed: 10))), c0 = Variable(Tensor<Float>(randomTensor([2, 4, 5], seed: 11)))
        let common = made(x, state: RecurrentState(h: h0, c: mode == .lstm ? c0 : nil), lengths: [6, 2, 5, 1])
        let (out, h, c): (Variable<Float>, Variable<Float>, Variable<Float>?) = switch direct {
        case let l as LSTM<Float>: { let r = l(x, (h0, c0), lengths: [6, 2, 5, 1]); return (r.output, r.state.h, r.state.c) }()
        case let g as GRU<Float>: { let r = g(x, h0, lengths: [6, 2, 5, 1]); return (r.output, r.hidden, nil) }()
        case let r as RNN<Float>: { let r = r(x, h0, lengths: [6, 2, 5, 1]); return (r.output, r.hidden, nil) }()
        default: (x, x, nil)
        }
        #expect(common.output.data == out.data && common.state.h.data == h.data && common.state.c?.data == c?.data)
        let fresh = made(x, state: nil)
        #expect(fresh.output.shape == [4, 6, 5] && fresh.state.h.shape == [2, 4, 5] && (fresh.state.c != nil) == (mode == .lstm))
    }

    @Test func stateOfTheWrongKindStops() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let lstm = RecurrentLayer<Float>.make(.lstm, inputSize: 2, hiddenSize: 2)
            _ = lstm(Variable(Tensor<Float>(zeros: [3, 1, 2])), state: RecurrentState(h: Variable(Tensor<Float>(zeros: [1, 1, 2]))))
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("LSTM: an LSTM's state needs c"), "\(stderr)")
    }

    @Test func shapesFollowPyTorch() {
        let rnn = RNN<Float>(inputSize: 28, hiddenSize: 32, numLayers: 2, batchFirst: true, bidirectional: true)
        let (out, h) = rnn(Variable(Tensor(zeros: [7, 28, 28])))
        #expect(out.shape == [7, 28, 64])
        #expect(h.shape == [4, 7, 32])       // never batch-first
        let lstm = LSTM<Float>(inputSize: 5, hiddenSize: 6)
        let (o2, s) = lstm(Variable(Tensor(zeros: [9, 2, 5])))
        #expect(o2.shape == [9, 2, 6] && s.h.shape == [1, 2, 6] && s.c.shape == [1, 2, 6])
        #expect(lstm.weights[0].shape == [24, 5] && lstm.weights[1].shape == [24, 6])
        let names = rnn.namedParameters().map(\.name)
        #expect(names == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                          "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
                          "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
                          "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"])
        #expect(rnn.weights[8].shape == [32, 64])    // layer 1 sees both directions
        // Initialisation: U(-1/sqrt(H), 1/sqrt(H)).
        let bound = 1 / Float(32).squareRoot()
        #expect(rnn.parameters().allSatisfy { $0.data.scalars.allSatisfy { abs($0) <= bound } })
        #expect(GRU<Float>(inputSize: 3, hiddenSize: 4).weights[0].shape == [12, 3])
    }

    @Test func lengthsGiveEachSequenceItsOwnLastStep() {
        let rnn = RNN<Double>(inputSize: 2, hiddenSize: 3, batchFirst: true)
        let x = Variable(randomTensor([2, 4, 2], seed: 3))
        let (out, h) = rnn(x, lengths: [4, 2])
        // Sequence 1 ends after step 2: its state is the output at step 1, later outputs are zero.
        #expect(h.data.select(axis: 0, index: 0).select(axis: 0, index: 1) == out.data.select(axis: 0, index: 1).select(axis: 0, index: 1))
        #expect(out.data.select(axis: 0, index: 1).narrow(axis: 0, start: 2, length: 2).scalars.allSatisfy { $0 == 0 })
        // Running the short sequence alone gives the same state.
        let (_, hAlone) = rnn(Variable(x.data.narrow(axis: 0, start: 1, length: 1).narrow(axis: 1, start: 0, length: 2)))
        #expect(hAlone.data.reshaped(to: [3]).maxAbsoluteDifference(h.data.select(axis: 1, index: 1).reshaped(to: [3])) < 1e-15)
    }

    @Test func dropoutOnlyInTraining() {
        manualSeed(1)
        let rnn = RNN<Double>(inputSize: 2, hiddenSize: 3, numLayers: 2, dropout: 0.5)
        let x = Variable(randomTensor([4, 2, 2], seed: 9))
        rnn.eval()
        let a = rnn(x).output.data, b = rnn(x).output.data
        #expect(a == b)
        rnn.train()
        let c = rnn(x).output.data
        #expect(c != a)
    }
}
