// The fused recurrent layers: a whole multi-layer, possibly bidirectional RNN/LSTM/GRU over a whole
// sequence as one tape node, with a hand-written backpropagation through time.
//
// Per layer and direction the input projection of all time steps is one matrix product; each step
// then does one [B, H] x [H, G·H] product and elementwise gate math into preallocated buffers
// (nothing is allocated per step). Time-major internally: X is [T, B, I].

import CEmberKernels
#if os(Linux)
import Glibc
#endif

/// The cell type of a recurrent layer, as PyTorch's `RNNBase.mode`; `RecurrentLayer.make(_:...)` builds one.
public enum RecurrentMode: String, Sendable, CaseIterable {
    /// `RNN` with tanh (PyTorch's `RNN_TANH`).
    case rnnTanh
    /// `RNN` with relu (PyTorch's `RNN_RELU`).
    case rnnRelu
    /// `LSTM`.
    case lstm
    /// `GRU`.
    case gru

    /// Gates per hidden unit: 1, 4 (i, f, g, o) or 3 (r, z, n).
    var gates: Int {
        switch self {
        case .rnnTanh, .rnnRelu: 1
        case .lstm: 4
        case .gru: 3
        }
    }
}

/// Everything the backward pass needs from one layer and direction.
struct DirectionCache<Scalar: TensorScalar> {
    /// h after each step, [T, B, H] (rows past a sequence's end hold the carried state).
    var hs: [Scalar]
    /// LSTM: c after each step, [T, B, H].
    var cs: [Scalar]
    /// LSTM: i, f, g, o after activation; GRU: r, z, n after activation. [T, B, G·H]
    var gates: [Scalar]
    /// GRU: W_hn·h + b_hn, [T, B, H]; empty otherwise (LSTM's backward recomputes tanh(c) from `cs`
    /// rather than reading a stored copy: less memory traffic where the step is memory-bound).
    var extra: [Scalar]
}

struct RecurrentConfig: Sendable {
    var mode: RecurrentMode
    var inputSize: Int
    var hiddenSize: Int
    var numLayers: Int
    var bias: Bool
    var bidirectional: Bool
    var directions: Int { bidirectional ? 2 : 1 }
    var parametersPerDirection: Int { bias ? 4 : 2 }
    func layerInputSize(_ layer: Int) -> Int { layer == 0 ? inputSize : hiddenSize * directions }
}

/// Layer-direction `index`'s `[B, H]` slice of a `[L·D, B, H]` state (zeros when there is none).
func stateSlice<Scalar: TensorScalar>(_ state: Tensor<Scalar>?, _ index: Int, _ size: Int) -> [Scalar] {
    state.map { Array($0.scalars[(index * size)..<((index + 1) * size)]) } ?? [Scalar](repeating: 0, count: size)
}

enum RecurrentEngine {
    /// The blocks of rows (start, count) the recurrence of a batch of `B` is split into: one block
    /// below 64 rows, else blocks of about 32. Fixed by `B` alone, so results do not depend on the
    /// thread count.
    static func recurrenceBlocks(_ B: Int) -> [(start: Int, count: Int)] {
        let count = B < 64 ? 1 : B / 32
        return (0..<count).map { k in (k * B / count, (k + 1) * B / count - k * B / count) }
    }

    /// The blocks of rows the backward pass of a batch of `B` runs in: `recurrenceBlocks(B)`, at most
    /// 8 of them (blocks of `B / 8` rows above 256), since each keeps its own weight-gradient products.
    /// Fixed by `B` alone.
    static func backwardBlocks(_ B: Int) -> [(start: Int, count: Int)] {
        let count = B < 64 ? 1 : Swift.min(8, B / 32)
        return (0..<count).map { k in (k * B / count, (k + 1) * B / count - k * B / count) }
    }

    /// About how many of its rows (steps × the block's rows) a block of the backward pass takes back
    /// through the sequence before adding their weight gradients: their gate gradients (256 × G·H
    /// values, 512 KiB for LSTM-128) are still in its core's cache then. Training steps at batch 64
    /// (blocks of 32 rows, so chunks of 8 steps), alternating builds: LSTM-128 on two threads took
    /// 1.7 % longer with 128 rows and 1.0 % longer with 512, GRU-128 2.7 % longer with 512. Before
    /// the blocks had chunks of their own, all 1,792 rows at once were about 17 % slower in the
    /// weight-gradient products.
    static let chunkRows = 256

    /// `chunkRows`, or every row at once when all steps' gate gradients ([T·B, G·H]) are below 2¹⁸
    /// values and stay in cache anyway (RNN-32 at batch 64 trained 11 % slower in chunks of 4 steps,
    /// when each chunk cost a pair of parallel regions).
    static func defaultChunkRows(T: Int, B: Int, GH: Int) -> Int {
        T * B * GH < 1 << 18 ? T * B : chunkRows
    }

    /// Runs the layer stack. `x` is time-major [T, B, I]; `h0`/`c0` are [L·D, B, H] or nil for zeros;
    /// `weights` are in PyTorch's order (per layer, per direction: w_ih, w_hh[, b_ih, b_hh]);
    /// `masks` are the dropout masks applied to the outputs of layers 0..<L-1 (empty for none).
    /// `splitRows` runs the recurrence in `recurrenceBlocks(B)` on all cores (callers that already
    /// run blocks in parallel pass false). Returns the output [T, B, D·H] ([B, T, D·H] when
    /// `batchFirstOutput`, written so directly rather than transposed afterwards), h_n and c_n
    /// [L·D, B, H], and the caches. With `outputDestination` the last layer's output is written
    /// there instead, row (t, b) at `base + (t·rowStrideT + b·rowStrideB)·D·H` (zeros past a
    /// sequence's end), and the returned output is empty: a caller that runs blocks of a larger
    /// batch puts each block's rows straight into place.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func forward<Scalar: TensorScalar>(
        _ config: RecurrentConfig, x: Tensor<Scalar>, h0: Tensor<Scalar>?, c0: Tensor<Scalar>?,
        weights: [Tensor<Scalar>], lengths: [Int], masks: [Tensor<Scalar>], keepCaches: Bool = true, splitRows: Bool = true,
        batchFirstOutput: Bool = false, outputDestination: OutputDestination<Scalar>? = nil
    ) -> (output: Tensor<Scalar>, hN: Tensor<Scalar>, cN: Tensor<Scalar>?, inputs: [Tensor<Scalar>], caches: [DirectionCache<Scalar>]) {
        let (T, B) = (x.shape[0], x.shape[1])
        let H = config.hiddenSize, D = config.directions, GH = config.mode.gates * H
        var layerInput = x
        var layerInputs: [Tensor<Scalar>] = []
        var caches: [DirectionCache<Scalar>] = []
        var hN = [Scalar](repeating: 0, count: config.numLayers * D * B * H)
        var cN = config.mode == .lstm ? [Scalar](repeating: 0, count: config.numLayers * D * B * H) : []
        var output = Tensor<Scalar>(zeros: [0])   // the last layer's output replaces it
        for layer in 0..<config.numLayers {
            layerInputs.append(layerInput)
            let I = config.layerInputSize(layer)
            // Outputs past a sequence's end stay zero; without lengths every element is written.
            let ragged = lengths.contains { $0 < T }
            // One direction over full-length sequences: the output is the hidden states themselves (shared, not copied).
            // Only the last layer's output may be batch-first; the layers feed each other time-major.
            let batchFirst = batchFirstOutput && layer == config.numLayers - 1
            let destination = layer == config.numLayers - 1 ? outputDestination : nil
            let shareHidden = D == 1 && !ragged && !batchFirst && destination == nil
            var out: [Scalar] = shareHidden || destination != nil ? []
                : ragged ? [Scalar](repeating: 0, count: T * B * D * H) : uninitializedScalars(T * B * D * H)
            // Where row (t, b) of this layer's output goes, in rows of D·H.
            let (strideT, strideB) = destination.map { ($0.rowStrideT, $0.rowStrideB) } ?? (batchFirst ? (1, T) : (B, 1))
            for direction in 0..<D {
                let index = layer * D + direction
                let w = Array(weights[(index * config.parametersPerDirection)...].prefix(config.parametersPerDirection))
                // Gates and extras are kept for every step only when a backward pass will need them;
                // otherwise one step's worth is reused.
                let steps = keepCaches ? T : 1
                var cache = DirectionCache<Scalar>(
                    hs: uninitializedScalars(T * B * H),
                    cs: config.mode == .lstm ? uninitializedScalars(T * B * H) : [],
                    gates: config.mode == .rnnTanh || config.mode == .rnnRelu ? [] : uninitializedScalars(steps * B * GH),
                    extra: config.mode == .gru ? uninitializedScalars(steps * B * H) : [])
                // Input projections, x_t W_ihᵀ (+ b_ih). When all steps' projections would not stay in
                // cache ([T·B, G·H] of 2¹⁸ elements or more, 1 MiB of floats), each block projects its rows one step at a time
                // into a buffer of one step ([B, G·H]) that stays in cache, rather than writing them all
                // to memory first and reading them back step by step (the same products and sums, so
                // the same bits). Otherwise every step is projected at once: [T·B, I] x W_ihᵀ.
                let projectInBlocks = T * B * GH >= 1 << 18
                var xw: [Scalar] = uninitializedScalars((projectInBlocks ? 1 : T) * B * GH)
                let initialH = stateSlice(h0, index, B * H)
                let initialC = stateSlice(c0, index, B * H)
                var gh: [Scalar] = uninitializedScalars(B * GH)
                let wihT = projectInBlocks ? w[0].withBase { PackedMatrix(transB: true, k: I, n: GH, b: $0, ldb: I) } : nil
                if !projectInBlocks {
                    layerInput.withBase { px in w[0].withBase { pw in
                        xw.withUnsafeMutableBufferPointer { pxw in
                            if config.bias {
                                w[2].withBase { pb in projectInputs(rows: T * B, I: I, GH: GH, x: px, w: pw, bias: pb, into: pxw.baseAddress!) }
                            } else {
                                projectInputs(rows: T * B, I: I, GH: GH, x: px, w: pw, bias: nil, into: pxw.baseAddress!)
                            }
                        }
                    } }
                }
                let reverse = direction == 1
                let biasIH = config.bias ? w[2].scalars : [], biasHH = config.bias ? w[3].scalars : []
                let fuseBiases = Scalar.self == Float.self && (config.mode == .lstm || config.mode == .gru)
                // W_hhᵀ [H, G·H] packed once per call for every step's product.
                let whhT = w[1].withBase { PackedMatrix(transB: true, k: H, n: GH, b: $0, ldb: H) }
                // Each block puts its rows of the output in place as it goes, on its own core while
                // they are in cache: into the caller's destination (zeros past a sequence's end) or
                // this layer's own output, unless the output is the hidden states themselves.
                let zeroPadding = destination != nil
                do {
                    out.withUnsafeMutableBufferPointer { pout in
                    let placeBase = destination?.base ?? (shareHidden ? nil : pout.baseAddress)
                    layerInput.withBase { px in
                    xw.withUnsafeMutableBufferPointer { pxw in
                    gh.withUnsafeMutableBufferPointer { pgh in
                    cache.hs.withUnsafeMutableBufferPointer { phs in
                    cache.cs.withUnsafeMutableBufferPointer { pcs in
                    cache.gates.withUnsafeMutableBufferPointer { pg in
                    cache.extra.withUnsafeMutableBufferPointer { pe in
                    initialH.withUnsafeBufferPointer { ph0 in
                    initialC.withUnsafeBufferPointer { pc0 in
                    biasIH.withUnsafeBufferPointer { pbi in
                    biasHH.withUnsafeBufferPointer { pbh in
                        // The biases of the input and hidden projections, added after each product (in
                        // the fused cell kernels for Float LSTM and GRU, which read them as they go).
                        let (pbih, pbhh) = config.bias ? (pbi.baseAddress, pbh.baseAddress) : (nil, nil)
                        // Rows never interact: blocks of rows run the whole sequence on their own, on all cores.
                        let blocks = splitRows ? recurrenceBlocks(B) : [(start: 0, count: B)]
                        WorkerPool.shared.run(chunks: blocks.count, threads: emberThreadCount) { block in
                            let (b0, n) = blocks[block]
                            for s in 0..<T {
                                let t = reverse ? T - 1 - s : s
                                let prevT = reverse ? t + 1 : t - 1
                                let hPrev = (s == 0 ? ph0.baseAddress! : UnsafePointer(phs.baseAddress! + prevT * B * H)) + b0 * H
                                let cPrev = config.mode == .lstm
                                    ? (s == 0 ? pc0.baseAddress! : UnsafePointer(pcs.baseAddress! + prevT * B * H)) + b0 * H : hPrev
                                let ghb = pgh.baseAddress! + b0 * GH
                                // Hidden projection: h_{t-1} x W_hhᵀ (+ b_hh).
                                if s == 0 && h0 == nil {
                                    ghb.update(repeating: 0, count: n * GH)    // h_{-1} = 0
                                } else {
                                    whhT.multiply(m: n, a: hPrev, lda: H, c: ghb, ldc: GH)
                                }
                                if let pbhh, !fuseBiases {
                                    Scalar._binary(.add, ghb, aRow: GH, aStep: 1, pbhh, bRow: 0, bStep: 1, ghb, rows: n, count: GH, 0, 0)
                                }
                                let xt: UnsafePointer<Scalar>
                                if let wihT {
                                    let xwb = pxw.baseAddress! + b0 * GH
                                    wihT.multiply(m: n, a: px + (t * B + b0) * I, lda: I, c: xwb, ldc: GH)
                                    if let pbih, !fuseBiases {
                                        Scalar._binary(.add, xwb, aRow: GH, aStep: 1, pbih, bRow: 0, bStep: 1, xwb, rows: n, count: GH, 0, 0)
                                    }
                                    xt = UnsafePointer(xwb)
                                } else {
                                    xt = UnsafePointer(pxw.baseAddress! + t * B * GH + b0 * GH)
                                }
                                let ht = phs.baseAddress! + t * B * H + b0 * H
                                let ct = config.mode == .lstm ? pcs.baseAddress! + t * B * H + b0 * H : nil
                                stepForward(config.mode, B: n, H: H, xw: xt, bih: fuseBiases && wihT != nil ? pbih : nil,
                                            gh: UnsafePointer(ghb), bhh: fuseBiases ? pbhh : nil, hPrev: hPrev, cPrev: cPrev,
                                            h: ht, c: ct,
                                            gates: pg.baseAddress.map { $0 + (keepCaches ? t : 0) * B * GH + b0 * GH },
                                            extra: config.mode == .gru ? pe.baseAddress! + (keepCaches ? t : 0) * B * H + b0 * H : nil)
                                // Sequences that have ended carry their state and output zeros.
                                for b in 0..<n where t >= lengths[b0 + b] {
                                    (ht + b * H).update(from: hPrev + b * H, count: H)
                                    if let ct { (ct + b * H).update(from: cPrev + b * H, count: H) }
                                }
                                // This step's output rows into place.
                                if let placeBase {
                                    for b in b0..<(b0 + n) {
                                        let target = placeBase + (t * strideT + b * strideB) * D * H + direction * H
                                        if t < lengths[b] {
                                            target.update(from: ht + (b - b0) * H, count: H)
                                        } else if zeroPadding {
                                            target.update(repeating: 0, count: H)
                                        }
                                    }
                                }
                            }
                        }
                    } } } } } } } } } } } }
                }
                // The final states (the output rows are in place).
                if shareHidden { out = cache.hs }
                cache.hs.withUnsafeBufferPointer { phs in
                    let lastT = reverse ? 0 : T - 1
                    hN.withUnsafeMutableBufferPointer { p in
                        (p.baseAddress! + index * B * H).update(from: phs.baseAddress! + lastT * B * H, count: B * H)
                    }
                    if config.mode == .lstm {
                        cache.cs.withUnsafeBufferPointer { pcs in
                            cN.withUnsafeMutableBufferPointer { p in
                                (p.baseAddress! + index * B * H).update(from: pcs.baseAddress! + lastT * B * H, count: B * H)
                            }
                        }
                    }
                }
                caches.append(cache)
            }
            let outTensor = destination != nil ? Tensor<Scalar>(zeros: [0])
                : Tensor(shape: batchFirst ? [B, T, D * H] : [T, B, D * H], scalars: out)
            if layer < config.numLayers - 1 {
                layerInput = masks.isEmpty ? outTensor : outTensor * masks[layer]
            } else {
                output = outTensor
            }
        }
        let stateShape = [config.numLayers * D, B, H]
        return (output, Tensor(shape: stateShape, scalars: hN),
                config.mode == .lstm ? Tensor(shape: stateShape, scalars: cN) : nil, layerInputs, caches)
    }

    /// One time step for all B rows: writes h (and c, gates, extra). Float LSTM and GRU steps run
    /// the fused C kernels, which compute bit for bit what `stepForwardPlain` computes. Those two
    /// alone also take the projections' biases `bih`, `bhh` ([G·H], added to each row of xw and gh
    /// as they are read, bit for bit a pass of its own would); every other caller passes nil.
    @inline(__always)
    static func stepForward<Scalar: TensorScalar>(
        _ mode: RecurrentMode, B: Int, H: Int, xw: UnsafePointer<Scalar>, bih: UnsafePointer<Scalar>? = nil,
        gh: UnsafePointer<Scalar>, bhh: UnsafePointer<Scalar>? = nil,
        hPrev: UnsafePointer<Scalar>, cPrev: UnsafePointer<Scalar>, h: UnsafeMutablePointer<Scalar>,
        c: UnsafeMutablePointer<Scalar>?, gates: UnsafeMutablePointer<Scalar>?, extra: UnsafeMutablePointer<Scalar>?
    ) {
        if Scalar.self == Float.self {
            let level = ember_kernel_level_in_use()
            switch mode {
            case .lstm:
                ember_lstm_forward_f(level, B, H, float(xw), bih.map(float), float(gh), bhh.map(float), float(cPrev), float(gates!),
                                     float(c!), float(h))
                return
            case .gru:
                ember_gru_forward_f(level, B, H, float(xw), bih.map(float), float(gh), bhh.map(float), float(hPrev), float(gates!),
                                    float(extra!), float(h))
                return
            case .rnnTanh, .rnnRelu:
                break   // two vector calls already
            }
        }
        require(bih == nil && bhh == nil, "stepForward: biases are fused for Float LSTM and GRU only")
        stepForwardPlain(mode, B: B, H: H, xw: xw, gh: gh, hPrev: hPrev, cPrev: cPrev, h: h, c: c, gates: gates, extra: extra)
    }

    /// The step of `stepForward` in plain code, for every scalar type (the reference the fused
    /// kernels are tested against).
    @inline(__always)
    static func stepForwardPlain<Scalar: TensorScalar>(
        _ mode: RecurrentMode, B: Int, H: Int, xw: UnsafePointer<Scalar>, gh: UnsafePointer<Scalar>,
        hPrev: UnsafePointer<Scalar>, cPrev: UnsafePointer<Scalar>, h: UnsafeMutablePointer<Scalar>,
        c: UnsafeMutablePointer<Scalar>?, gates: UnsafeMutablePointer<Scalar>?, extra: UnsafeMutablePointer<Scalar>?
    ) {
        switch mode {
        case .rnnTanh, .rnnRelu:
            Scalar._binary(.add, xw, aRow: 0, aStep: 1, gh, bRow: 0, bStep: 1, h, rows: 1, count: B * H, 0, 0)
            Scalar._unary(mode == .rnnTanh ? .tanh : .relu, h, h, count: B * H, 0, 0)
        case .lstm:
            let g = gates!, c = c!
            Scalar._binary(.add, xw, aRow: 0, aStep: 1, gh, bRow: 0, bStep: 1, g, rows: 1, count: B * 4 * H, 0, 0)
            for b in 0..<B {
                let row = g + b * 4 * H
                Scalar._unary(.sigmoid, row, row, count: 2 * H, 0, 0)          // i, f
                Scalar._unary(.tanh, row + 2 * H, row + 2 * H, count: H, 0, 0) // g
                Scalar._unary(.sigmoid, row + 3 * H, row + 3 * H, count: H, 0, 0) // o
                let cb = c + b * H, cp = cPrev + b * H
                for j in 0..<H { cb[j] = row[H + j] * cp[j] + row[j] * row[2 * H + j] }
            }
            Scalar._unary(.tanh, c, h, count: B * H, 0, 0)
            for b in 0..<B {
                let row = g + b * 4 * H, hb = h + b * H
                for j in 0..<H { hb[j] = row[3 * H + j] * hb[j] }   // o·tanh(c)
            }
        case .gru:
            let g = gates!, hn = extra!
            for b in 0..<B {
                let row = g + b * 3 * H, x = xw + b * 3 * H, hh = gh + b * 3 * H
                for j in 0..<(2 * H) { row[j] = x[j] + hh[j] }
                Scalar._unary(.sigmoid, row, row, count: 2 * H, 0, 0)          // r, z
                let hnb = hn + b * H
                for j in 0..<H {
                    hnb[j] = hh[2 * H + j]
                    row[2 * H + j] = x[2 * H + j] + row[j] * hh[2 * H + j]
                }
                Scalar._unary(.tanh, row + 2 * H, row + 2 * H, count: H, 0, 0) // n
                let hb = h + b * H, hp = hPrev + b * H
                for j in 0..<H {
                    let z = row[H + j], n = row[2 * H + j]
                    hb[j] = (1 - z) * n + z * hp[j]
                }
            }
        }
    }

    /// The gate gradients of one step for `rows` consecutive rows (see `ember_lstm_backward_f` and
    /// its siblings for the arguments; `extra` is the step's cell state for LSTM, the cached
    /// W_hn·h + b_hn for GRU, nil for RNN): writes dzx (and dzh for GRU, whose `direct` part of the
    /// previous state's gradient it also writes) and updates the LSTM cell gradient `dc` in place.
    /// Float runs the fused C kernels, which compute bit for bit what `stepBackwardPlain` computes.
    @inline(__always)
    static func stepBackward<Scalar: TensorScalar>(
        _ mode: RecurrentMode, rows: Int, H: Int, dh: UnsafePointer<Scalar>, out: UnsafePointer<Scalar>, outStride: Int,
        h: UnsafePointer<Scalar>, gates: UnsafePointer<Scalar>?, extra: UnsafePointer<Scalar>?,
        cPrev: UnsafePointer<Scalar>, hPrev: UnsafePointer<Scalar>, dc: UnsafeMutablePointer<Scalar>,
        dzx: UnsafeMutablePointer<Scalar>, dzh: UnsafeMutablePointer<Scalar>, direct: UnsafeMutablePointer<Scalar>
    ) {
        if Scalar.self == Float.self {
            let level = ember_kernel_level_in_use()
            switch mode {
            case .rnnTanh, .rnnRelu:
                ember_rnn_backward_f(level, mode == .rnnRelu ? 1 : 0, rows, H, float(dh), float(out), outStride, float(h), float(dzx))
            case .lstm:
                ember_lstm_backward_f(level, rows, H, float(dh), float(out), outStride, float(gates!), float(extra!),
                                      float(cPrev), float(dc), float(dzx))
            case .gru:
                ember_gru_backward_f(level, rows, H, float(dh), float(out), outStride, float(gates!), float(extra!),
                                     float(hPrev), float(dzx), float(dzh), float(direct))
            }
            return
        }
        stepBackwardPlain(mode, rows: rows, H: H, dh: dh, out: out, outStride: outStride, h: h, gates: gates, extra: extra,
                          cPrev: cPrev, hPrev: hPrev, dc: dc, dzx: dzx, dzh: dzh, direct: direct)
    }

    /// `stepBackward` in plain code, for every scalar type.
    @inline(__always)
    static func stepBackwardPlain<Scalar: TensorScalar>(
        _ mode: RecurrentMode, rows: Int, H: Int, dh: UnsafePointer<Scalar>, out: UnsafePointer<Scalar>, outStride: Int,
        h: UnsafePointer<Scalar>, gates: UnsafePointer<Scalar>?, extra: UnsafePointer<Scalar>?,
        cPrev: UnsafePointer<Scalar>, hPrev: UnsafePointer<Scalar>, dc: UnsafeMutablePointer<Scalar>,
        dzx: UnsafeMutablePointer<Scalar>, dzh: UnsafeMutablePointer<Scalar>, direct: UnsafeMutablePointer<Scalar>
    ) {
        let GH = mode.gates * H
        for b in 0..<rows {
            let dhb = dh + b * H, o = out + b * outStride, hb = h + b * H, zx = dzx + b * GH
            switch mode {
            case .rnnTanh:
                for j in 0..<H { zx[j] = (dhb[j] + o[j]) * (1 - hb[j] * hb[j]) }
            case .rnnRelu:
                for j in 0..<H { zx[j] = hb[j] <= 0 ? 0 : dhb[j] + o[j] }   // passes where h is NaN
            case .lstm:
                // tanh(c_t), recomputed, in the o gate's slot of dzx until that is written (at each j,
                // after its last read).
                let g = gates! + b * GH, tc = zx + 3 * H, dcb = dc + b * H, cp = cPrev + b * H
                Scalar._unary(.tanh, extra! + b * H, tc, count: H, 0, 0)
                for j in 0..<H {
                    let dht = dhb[j] + o[j]
                    let (i, f, gg, og) = (g[j], g[H + j], g[2 * H + j], g[3 * H + j])
                    let dct = dcb[j] + dht * og * (1 - tc[j] * tc[j])
                    zx[j] = dct * gg * i * (1 - i)
                    zx[H + j] = dct * cp[j] * f * (1 - f)
                    zx[2 * H + j] = dct * i * (1 - gg * gg)
                    zx[3 * H + j] = dht * tc[j] * og * (1 - og)
                    dcb[j] = dct * f
                }
            case .gru:
                let g = gates! + b * GH, hn = extra! + b * H
                let zh = dzh + b * GH, hp = hPrev + b * H, dir = direct + b * H
                for j in 0..<H {
                    let dht = dhb[j] + o[j]
                    let (r, z, n) = (g[j], g[H + j], g[2 * H + j])
                    let dnPre = dht * (1 - z) * (1 - n * n)
                    let dr = dnPre * hn[j] * r * (1 - r)
                    let dz = dht * (hp[j] - n) * z * (1 - z)
                    zx[j] = dr; zx[H + j] = dz; zx[2 * H + j] = dnPre
                    zh[j] = dr; zh[H + j] = dz; zh[2 * H + j] = dnPre * r
                    dir[j] = dht * z
                }
            }
        }
    }

    /// The input projection of every step at once, `xw = x · wᵀ + bias` for `rows` rows of `x`
    /// `[rows, I]` and `w` `[GH, I]`, in blocks of 128 rows spread over the cores. Each block's bias
    /// is added while its rows are still in cache. Every element is computed exactly as one
    /// product over all rows followed by the bias addition would compute it.
    static func projectInputs<Scalar: TensorScalar>(rows: Int, I: Int, GH: Int, x: UnsafePointer<Scalar>, w: UnsafePointer<Scalar>,
                                                    bias: UnsafePointer<Scalar>?, into xw: UnsafeMutablePointer<Scalar>) {
        let blockRows = 128
        let threads = rows * GH * I >= GEMM.parallelThreshold ? emberThreadCount : 1
        WorkerPool.shared.run(chunks: (rows + blockRows - 1) / blockRows, threads: threads) { block in
            let r0 = block * blockRows, n = Swift.min(blockRows, rows - r0)
            let c = xw + r0 * GH
            Scalar._gemm(transA: false, transB: true, m: n, n: GH, k: I, alpha: 1, a: x + r0 * I, lda: I, b: w, ldb: I,
                         beta: 0, c: c, ldc: GH)
            if let bias {
                Scalar._binary(.add, c, aRow: GH, aStep: 1, bias, bRow: 0, bStep: 1, c, rows: n, count: GH, 0, 0)
            }
        }
    }

    /// Backpropagation through time. `gOut` is the gradient of the output [T, B, D·H] ([B, T, D·H]
    /// when `batchFirstGradient`), `ghN`/`gcN` of the final states. Returns gradients of x [T, B, I] (an empty tensor when `inputGradient` is
    /// false), h0, c0 and every weight (same order). Without h0, the h0 gradient is not computed.
    /// `chunkRows` sets how many rows (steps × a block's rows) each block of rows takes back through
    /// the sequence between additions to its weight gradients; by default `RecurrentEngine.chunkRows`,
    /// or all of them when the gate gradients of the whole sequence are small (tests vary it).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func backward<Scalar: TensorScalar>(
        _ config: RecurrentConfig, gOut: Tensor<Scalar>, ghN: Tensor<Scalar>, gcN: Tensor<Scalar>?,
        h0: Tensor<Scalar>?, c0: Tensor<Scalar>?, weights: [Tensor<Scalar>], lengths: [Int], masks: [Tensor<Scalar>],
        inputs: [Tensor<Scalar>], caches: [DirectionCache<Scalar>], inputGradient: Bool = true, batchFirstGradient: Bool = false,
        chunkRows: Int? = nil
    ) -> (gx: Tensor<Scalar>, gh0: Tensor<Scalar>, gc0: Tensor<Scalar>?, gWeights: [Tensor<Scalar>]) {
        let (T, B) = batchFirstGradient ? (gOut.shape[1], gOut.shape[0]) : (gOut.shape[0], gOut.shape[1])
        let H = config.hiddenSize, D = config.directions, G = config.mode.gates, GH = G * H
        let P = config.parametersPerDirection
        // Every one is assigned below, by the direction it belongs to.
        var gWeights = weights.map { _ in Tensor<Scalar>(zeros: [0]) }
        var gh0 = [Scalar](repeating: 0, count: config.numLayers * D * B * H)
        var gc0 = config.mode == .lstm ? [Scalar](repeating: 0, count: config.numLayers * D * B * H) : []
        var dOut = gOut    // gradient of the current layer's output [T, B, D·H]
        let ragged = lengths.contains { $0 < T }
        var gx = Tensor<Scalar>(zeros: [0])
        for layer in stride(from: config.numLayers - 1, through: 0, by: -1) {
            // Only the last layer's output gradient comes batch-first; the rest are time-major.
            let batchFirst = batchFirstGradient && layer == config.numLayers - 1
            let I = config.layerInputSize(layer)
            let X = inputs[layer]
            // The input's gradient (an empty array when it is not wanted).
            // (Every element is written: the first direction's product does not read it.)
            let wantInput = layer > 0 || inputGradient
            var dX: [Scalar] = uninitializedScalars(wantInput ? T * B * I : 0)
            for direction in 0..<D {
                let index = layer * D + direction
                let reverse = direction == 1
                let cache = caches[index]
                let wBase = index * P
                let initialH = stateSlice(h0, index, B * H)
                let initialC = stateSlice(c0, index, B * H)
                var dh = stateSlice(ghN, index, B * H)
                var dc = stateSlice(gcN, index, B * H)
                // Each block of rows (`backwardBlocks(B)`) runs back through the whole sequence on its own
                // core, as in the forward pass, a chunk of steps at a time (about `chunkRows` of its rows).
                // At each step it also adds its rows of dX = dG_x · W_ih (dG still in cache); after each
                // chunk it adds the chunk's weight gradients to its own partial products:
                //   [W_hh | W_ih | b]ᵀ += [h_{t-1} | x_t | 1]ᵀ · dG   (RNN, LSTM: one product), or
                //   [W_hh | b_hh]ᵀ += [h_{t-1} | 1]ᵀ · dG_h and [W_ih | b_ih]ᵀ += [x_t | 1]ᵀ · dG_x (GRU),
                // with dG, the large operand, read row by row as GEMM's right operand; the column of
                // ones (with a bias) gives the bias sums. The blocks' products are summed in block order
                // at the end, so no core waits for another before the end and the results depend on B
                // alone, not on the thread count. Each block's buffers hold one chunk of its rows, row
                // (t, b) at ((t - first t of the chunk)·n + b - b0).
                let blocks = backwardBlocks(B)
                let blockRows = blocks.map(\.count).max()!
                let chunkSteps = Swift.min(T, Swift.max(1, (chunkRows ?? defaultChunkRows(T: T, B: B, GH: GH)) / blockRows))
                let one = config.bias ? 1 : 0
                let separateInput = config.mode == .gru
                let jw = separateInput ? H + one : H + I + one, xjw = I + one
                let chunkBlockRows = chunkSteps * blockRows
                var dGx: [Scalar] = uninitializedScalars(blocks.count * chunkBlockRows * GH)
                var dGh: [Scalar] = separateInput ? uninitializedScalars(blocks.count * chunkBlockRows * GH) : []
                var joint: [Scalar] = uninitializedScalars(blocks.count * chunkBlockRows * jw)
                var inputJoint: [Scalar] = separateInput ? uninitializedScalars(blocks.count * chunkBlockRows * xjw) : []
                // Each block's products [jw, G·H] and [xjw, G·H]; their sums, transposed, are the gradients.
                var product: [Scalar] = uninitializedScalars(blocks.count * jw * GH)
                var inputProduct: [Scalar] = separateInput ? uninitializedScalars(blocks.count * xjw * GH) : []
                // Read only where written.
                var dhNew: [Scalar] = uninitializedScalars(B * H)
                var direct: [Scalar] = uninitializedScalars(B * H)
                // W_hh [G·H, H] and W_ih [G·H, I] packed once for every step's products.
                let whh = weights[wBase + 1].withBase { PackedMatrix(transB: false, k: GH, n: H, b: $0, ldb: H) }
                let wih = wantInput ? weights[wBase].withBase { PackedMatrix(transB: false, k: GH, n: I, b: $0, ldb: I) } : nil
                dOut.withBase { pdo in
                cache.hs.withUnsafeBufferPointer { phs in
                cache.cs.withUnsafeBufferPointer { pcs in
                cache.gates.withUnsafeBufferPointer { pg in
                cache.extra.withUnsafeBufferPointer { pe in
                initialH.withUnsafeBufferPointer { ph0 in
                initialC.withUnsafeBufferPointer { pc0 in
                dGx.withUnsafeMutableBufferPointer { pdgx in
                dGh.withUnsafeMutableBufferPointer { pdgh in
                joint.withUnsafeMutableBufferPointer { pj in
                inputJoint.withUnsafeMutableBufferPointer { pxj in
                product.withUnsafeMutableBufferPointer { pprod in
                inputProduct.withUnsafeMutableBufferPointer { piprod in
                X.withBase { px in
                dX.withUnsafeMutableBufferPointer { pdx in
                dh.withUnsafeMutableBufferPointer { pdh in
                dc.withUnsafeMutableBufferPointer { pdc in
                dhNew.withUnsafeMutableBufferPointer { pdn in
                direct.withUnsafeMutableBufferPointer { pdir in
                    WorkerPool.shared.run(chunks: blocks.count, threads: emberThreadCount) { block in
                        let (b0, n) = blocks[block]
                        let dgxBlock = pdgx.baseAddress! + block * chunkBlockRows * GH
                        let dghBlock = separateInput ? pdgh.baseAddress! + block * chunkBlockRows * GH : dgxBlock
                        let jointBlock = pj.baseAddress! + block * chunkBlockRows * jw
                        let inputJointBlock = separateInput ? pxj.baseAddress! + block * chunkBlockRows * xjw : jointBlock
                        let productBlock = pprod.baseAddress! + block * jw * GH
                        let inputProductBlock = separateInput ? piprod.baseAddress! + block * xjw * GH : productBlock
                        for sHi in stride(from: T - 1, through: 0, by: -chunkSteps) {
                            let sLo = Swift.max(0, sHi - chunkSteps + 1)
                            let tFirst = reverse ? T - 1 - sHi : sLo
                            for s in stride(from: sHi, through: sLo, by: -1) {
                                let t = reverse ? T - 1 - s : s
                                let prevT = reverse ? t + 1 : t - 1
                                let local = (t - tFirst) * n   // the step's first row in the block's chunk buffers
                                let hPrev = s == 0 ? ph0.baseAddress! : phs.baseAddress! + prevT * B * H
                                let cPrev = config.mode == .lstm ? (s == 0 ? pc0.baseAddress! : pcs.baseAddress! + prevT * B * H) : hPrev
                                for b in b0..<(b0 + n) {
                                    let row = jointBlock + (local + b - b0) * jw
                                    let xrow = separateInput ? inputJointBlock + (local + b - b0) * xjw : row + H
                                    if t >= lengths[b] {
                                        // Past the sequence's end the gate gradients are zero; so is this
                                        // row, so that padding (even NaN) cannot reach the weights.
                                        row.update(repeating: 0, count: jw)
                                        if separateInput { xrow.update(repeating: 0, count: xjw) }
                                        continue
                                    }
                                    row.update(from: hPrev + b * H, count: H)
                                    xrow.update(from: px + (t * B + b) * I, count: I)
                                    if one == 1 {
                                        xrow[I] = 1
                                        if separateInput { row[H] = 1 }
                                    }
                                }
                                // Row b of the batch at dgx + (b - b0)·G·H.
                                let dgx = dgxBlock + local * GH - b0 * GH
                                let dgh = separateInput ? dghBlock + local * GH - b0 * GH : dgx
                                // Gate gradients of the rows still inside their sequence: all n at once, or
                                // one at a time when some have ended (whose gate gradients are zero).
                                func gateGradients(_ b: Int, _ rows: Int) {
                                    stepBackward(config.mode, rows: rows, H: H, dh: pdh.baseAddress! + b * H,
                                                 out: pdo + (batchFirst ? b * T + t : t * B + b) * D * H + direction * H,
                                                 outStride: (batchFirst ? T : 1) * D * H,
                                                 h: phs.baseAddress! + (t * B + b) * H,
                                                 gates: pg.baseAddress.map { $0 + (t * B + b) * GH },
                                                 extra: config.mode == .lstm ? pcs.baseAddress! + (t * B + b) * H
                                                     : config.mode == .gru ? pe.baseAddress! + (t * B + b) * H : nil,
                                                 cPrev: cPrev + b * H, hPrev: hPrev + b * H,
                                                 dc: pdc.baseAddress! + b * H, dzx: dgx + b * GH, dzh: dgh + b * GH,
                                                 direct: pdir.baseAddress! + b * H)
                                }
                                if ragged {
                                    for b in b0..<(b0 + n) {
                                        if t < lengths[b] {
                                            gateGradients(b, 1)
                                        } else {
                                            (dgx + b * GH).update(repeating: 0, count: GH)
                                            if separateInput { (dgh + b * GH).update(repeating: 0, count: GH) }
                                        }
                                    }
                                } else {
                                    gateGradients(b0, n)
                                }
                                // The step's rows of dX (the second direction adds to the first's).
                                wih?.multiply(m: n, a: UnsafePointer(dgx + b0 * GH), lda: GH, beta: direction == 0 ? 0 : 1,
                                              c: pdx.baseAddress! + (t * B + b0) * I, ldc: I)
                                // Without h0 the gradient of the zero initial state is not wanted.
                                if s == 0 && h0 == nil { continue }
                                // dh_{t-1} = dG_h · W_hh (+ z·dh for GRU); ended rows pass dh through.
                                whh.multiply(m: n, a: UnsafePointer(dgh + b0 * GH), lda: GH, c: pdn.baseAddress! + b0 * H, ldc: H)
                                for b in b0..<(b0 + n) {
                                    let dst = pdh.baseAddress! + b * H, src = pdn.baseAddress! + b * H
                                    if t >= lengths[b] { continue }
                                    if config.mode == .gru {
                                        let dir = pdir.baseAddress! + b * H
                                        for j in 0..<H { dst[j] = src[j] + dir[j] }
                                    } else {
                                        dst.update(from: src, count: H)
                                    }
                                }
                            }
                            // The chunk's weight gradients: the first chunk writes the block's products, the rest add.
                            // (With one block this runs outside a parallel region, and the product uses every core.)
                            let rows = (sHi - sLo + 1) * n
                            let beta: Scalar = sHi == T - 1 ? 0 : 1
                            GEMM.run(transA: true, transB: false, m: jw, n: GH, k: rows, a: jointBlock, lda: jw,
                                     b: dghBlock, ldb: GH, beta: beta, c: productBlock, ldc: GH)
                            if separateInput {
                                GEMM.run(transA: true, transB: false, m: xjw, n: GH, k: rows, a: inputJointBlock, lda: xjw,
                                         b: dgxBlock, ldb: GH, beta: beta, c: inputProductBlock, ldc: GH)
                            }
                        }
                    }
                } } } } } } } } } } } } } } } } } } }
                // The blocks' products, summed in block order into the first block's: a pass front to back
                // over each (the other cores' products come from their caches; read in tiles, line by
                // line, they took several times as long).
                func sumBlocks(_ products: inout [Scalar], each count: Int) {
                    products.withUnsafeMutableBufferPointer { p in
                        let sum = p.baseAddress!
                        for block in 1..<blocks.count {
                            Scalar._binary(.add, sum, aRow: 0, aStep: 1, sum + block * count, bRow: 0, bStep: 1, sum, rows: 1,
                                           count: count, 0, 0)
                        }
                    }
                }
                sumBlocks(&product, each: jw * GH)
                if separateInput { sumBlocks(&inputProduct, each: xjw * GH) }
                // Rows [first, first + columns) of a [_, G·H] product, transposed into [G·H, columns]:
                // eight source rows at a time, read front to back together, each output row written
                // eight values at a time (a value at a time, each write to another cache line, it took
                // about 2 % of an LSTM-128 step while the other core waited).
                func transposed(_ source: [Scalar], first: Int, columns: Int, vector: Bool = false) -> Tensor<Scalar> {
                    var result: [Scalar] = uninitializedScalars(GH * columns)
                    source.withUnsafeBufferPointer { ps in
                        result.withUnsafeMutableBufferPointer { pr in
                            let src = ps.baseAddress! + first * GH, dst = pr.baseAddress!
                            for c0 in stride(from: 0, to: columns, by: 8) {
                                let width = Swift.min(8, columns - c0)
                                let rows = src + c0 * GH
                                for m in 0..<GH {
                                    let d = dst + (m &* columns &+ c0)
                                    for k in 0..<width { d[k] = rows[k &* GH &+ m] }
                                }
                            }
                        }
                    }
                    return Tensor(shape: vector ? [GH] : [GH, columns], scalars: result)
                }
                gWeights[wBase + 1] = transposed(product, first: 0, columns: H)
                gWeights[wBase] = separateInput ? transposed(inputProduct, first: 0, columns: I)
                    : transposed(product, first: H, columns: I)
                if config.bias {
                    gWeights[wBase + 2] = separateInput ? transposed(inputProduct, first: I, columns: 1, vector: true)
                        : transposed(product, first: H + I, columns: 1, vector: true)
                    // RNN and LSTM: the same gate gradients feed both biases, so the same sums.
                    gWeights[wBase + 3] = separateInput ? transposed(product, first: H, columns: 1, vector: true) : gWeights[wBase + 2]
                }
                gh0.replaceSubrange((index * B * H)..<((index + 1) * B * H), with: dh)
                if config.mode == .lstm { gc0.replaceSubrange((index * B * H)..<((index + 1) * B * H), with: dc) }
            }
            let dXTensor = dX.isEmpty ? Tensor(zeros: [0]) : Tensor(shape: [T, B, I], scalars: dX)
            if layer > 0 {
                dOut = masks.isEmpty ? dXTensor : dXTensor * masks[layer - 1]
            } else {
                gx = dXTensor
            }
        }
        let stateShape = [config.numLayers * D, B, H]
        return (gx, Tensor(shape: stateShape, scalars: gh0),
                config.mode == .lstm ? Tensor(shape: stateShape, scalars: gc0) : nil, gWeights)
    }
}

/// Where `RecurrentEngine.forward` writes the last layer's output when the caller owns the buffer:
/// row (t, b) of the output, D·H values, starts at `base + (t·rowStrideT + b·rowStrideB)·D·H`.
struct OutputDestination<Scalar>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Scalar>
    let rowStrideT: Int
    let rowStrideB: Int
}
