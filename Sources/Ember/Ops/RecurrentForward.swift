// The recurrent stack's forward pass: layer by layer, direction by direction. Per layer and direction
// the input projection of all time steps is one matrix product (or, when it would not stay in
// cache, one per step and block of rows); each step then does one [B, H] x [H, G·H] product and
// elementwise gate math into preallocated buffers (nothing is allocated per step). Time-major
// internally: X is [T, B, I], except that a batch-first caller's input to the first layer is read
// where it lies ([B, T, I], `RecurrentInputRows`).

extension RecurrentEngine {
    /// The training entry. Runs the layer stack: `x` is time-major [T, B, I] ([B, T, I] when
    /// `batchFirstInput`: read in place, not transposed first); `h0`/`c0` are
    /// [L·D, B, H] or nil for zeros; `weights` are in PyTorch's order (per layer, per direction:
    /// w_ih, w_hh[, b_ih, b_hh]); `masks` are the dropout masks applied to the outputs of layers
    /// 0..<L-1 (empty for none); `keepCaches` false keeps one step's gates rather than every
    /// step's (no backward pass will run). Returns the output [T, B, D·H] ([B, T, D·H] when
    /// `batchFirstOutput`), h_n and c_n [L·D, B, H], each layer's input and the caches.
    static func forward<Scalar: TensorScalar>(
        _ config: RecurrentConfig, x: Tensor<Scalar>, h0: Tensor<Scalar>?, c0: Tensor<Scalar>?,
        weights: [Tensor<Scalar>], lengths: [Int], masks: [Tensor<Scalar>], keepCaches: Bool = true,
        batchFirstInput: Bool = false, batchFirstOutput: Bool = false
    ) -> (output: Tensor<Scalar>, hN: Tensor<Scalar>, cN: Tensor<Scalar>?, inputs: [Tensor<Scalar>], caches: [DirectionCache<Scalar>]) {
        runStack(config, x: x, h0: h0, c0: c0, weights: weights, lengths: lengths, masks: masks,
                 keepCaches: keepCaches, splitRows: true, layout: batchFirstOutput ? .batchFirst : .timeMajor,
                 batchFirstInput: batchFirstInput)
    }

    /// `forward` for both entries (this one's and `inference`'s blocks). `splitRows` runs the
    /// recurrence in `recurrenceBlocks(B)` on all cores (callers that already run blocks in
    /// parallel pass false). With a `.destination` layout the returned output is empty. The first
    /// layer's input is [B, T, I] when `batchFirstInput` (and stays so in the returned inputs); the
    /// other layers' are time-major.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func runStack<Scalar: TensorScalar>(
        _ config: RecurrentConfig, x: Tensor<Scalar>, h0: Tensor<Scalar>?, c0: Tensor<Scalar>?,
        weights: [Tensor<Scalar>], lengths: [Int], masks: [Tensor<Scalar>], keepCaches: Bool, splitRows: Bool,
        layout: OutputLayout<Scalar>, batchFirstInput: Bool = false
    ) -> (output: Tensor<Scalar>, hN: Tensor<Scalar>, cN: Tensor<Scalar>?, inputs: [Tensor<Scalar>], caches: [DirectionCache<Scalar>]) {
        let B = x.shape[batchFirstInput ? 0 : 1]
        let H = config.hiddenSize, D = config.directions
        var layerInput = x
        var layerInputs: [Tensor<Scalar>] = []
        var caches: [DirectionCache<Scalar>] = []
        var hN = [Scalar](repeating: 0, count: config.numLayers * D * B * H)
        var cN = config.mode == .lstm ? [Scalar](repeating: 0, count: config.numLayers * D * B * H) : []
        var output = Tensor<Scalar>(zeros: [0])   // the last layer's output replaces it
        for layer in 0..<config.numLayers {
            layerInputs.append(layerInput)
            let last = layer == config.numLayers - 1
            let (layerOutput, layerCaches) = forwardLayer(config, layer: layer, x: layerInput, h0: h0, c0: c0, weights: weights,
                                                          lengths: lengths, keepCaches: keepCaches, splitRows: splitRows,
                                                          layout: last ? layout : .timeMajor, batchFirstInput: batchFirstInput && layer == 0)
            for (direction, cache) in layerCaches.enumerated() {
                let index = layer * D + direction
                copyFinalState(cache.hs, initial: h0, reverse: direction == 1, lengths: lengths, H: H, into: &hN, at: index)
                if let cs = cache.cs {
                    copyFinalState(cs.base, initial: c0, reverse: direction == 1, lengths: lengths, H: H, into: &cN, at: index)
                }
            }
            caches += layerCaches
            if !last {
                layerInput = masks.isEmpty ? layerOutput : layerOutput * masks[layer]
            } else {
                output = layerOutput
            }
        }
        let stateShape = [config.numLayers * D, B, H]
        return (output, Tensor(shape: stateShape, scalars: hN),
                config.mode == .lstm ? Tensor(shape: stateShape, scalars: cN) : nil, layerInputs, caches)
    }

    /// Each row's state after its direction's last step, from `states` [T, B, H]: step lengths[b] - 1
    /// (step 0 going in reverse), or slice `index` of `initial` (zeros when nil) for a row of length
    /// 0; into slice `index` of `finalStates` [L·D, B, H]. (Rows past their end are not carried to
    /// step T - 1 when the steps skip them.)
    static func copyFinalState<Scalar>(_ states: UnsafePointer<Scalar>, initial: Tensor<Scalar>?, reverse: Bool,
                                       lengths: [Int], H: Int, into finalStates: inout [Scalar], at index: Int) {
        let B = lengths.count
        finalStates.withUnsafeMutableBufferPointer { p in
            let target = p.baseAddress! + index * B * H
            for b in 0..<B {
                let length = lengths[b]
                if length > 0 {
                    (target + b * H).update(from: states + ((reverse ? 0 : length - 1) * B + b) * H, count: H)
                } else if let initial {
                    initial.withBase { (target + b * H).update(from: $0 + (index * B + b) * H, count: H) }
                }
            }
        }
    }

    /// One layer, both directions: its output (empty when it goes to a destination) and each
    /// direction's cache. `x` is [T, B, I], or [B, T, I] when `batchFirstInput`.
    static func forwardLayer<Scalar: TensorScalar>(
        _ config: RecurrentConfig, layer: Int, x: Tensor<Scalar>, h0: Tensor<Scalar>?, c0: Tensor<Scalar>?,
        weights: [Tensor<Scalar>], lengths: [Int], keepCaches: Bool, splitRows: Bool, layout: OutputLayout<Scalar>,
        batchFirstInput: Bool
    ) -> (output: Tensor<Scalar>, caches: [DirectionCache<Scalar>]) {
        let (T, B) = batchFirstInput ? (x.shape[1], x.shape[0]) : (x.shape[0], x.shape[1])
        let H = config.hiddenSize, D = config.directions
        // Outputs past a sequence's end are zeroed as the steps pass them; without lengths every
        // element is written. (Zeroing the rows past the end, a quarter of them for lengths 14-28,
        // rather than the whole output first.)
        let ragged = lengths.contains { $0 < T }
        var destination: OutputDestination<Scalar>? = nil, batchFirst = false
        switch layout {
        case .timeMajor: break
        case .batchFirst: batchFirst = true
        case .destination(let d): destination = d
        }
        // One direction over full-length sequences: the output is the hidden states themselves (shared, not copied).
        let shareHidden = D == 1 && !ragged && !batchFirst && destination == nil
        var out: [Scalar] = shareHidden || destination != nil ? []
            : uninitializedScalars(T * B * D * H)
        // Where row (t, b) of this layer's output goes, in rows of D·H.
        let (strideT, strideB) = destination.map { ($0.rowStrideT, $0.rowStrideB) } ?? (batchFirst ? (1, T) : (B, 1))
        var caches: [DirectionCache<Scalar>] = []
        for direction in 0..<D {
            let index = layer * D + direction
            let P = config.parametersPerDirection
            var cache = DirectionCache<Scalar>(config.mode, T: T, B: B, H: H, gateSteps: keepCaches ? T : 1)
            out.withUnsafeMutableBufferPointer { pout in
                // Each block puts its rows of the output in place as it goes, on its own core while
                // they are in cache (zeros past a sequence's end): into the caller's destination or
                // this layer's own output, unless the output is the hidden states themselves.
                let placement = (destination?.base ?? (shareHidden ? nil : pout.baseAddress)).map {
                    OutputPlacement(base: $0, strideT: strideT, strideB: strideB, rowLength: D * H, column: direction * H,
                                    zeroPadding: destination != nil || ragged)
                }
                forwardDirection(config, x: x, h0: h0, c0: c0, index: index, weights: Array(weights[(index * P)...].prefix(P)),
                                 lengths: lengths, reverse: direction == 1, keepCaches: keepCaches, splitRows: splitRows,
                                 batchFirstInput: batchFirstInput, cache: &cache, placement: placement)
            }
            if shareHidden { out = cache.hs }
            caches.append(cache)
        }
        let output = destination != nil ? Tensor<Scalar>(zeros: [0])
            : Tensor(shape: batchFirst ? [B, T, D * H] : [T, B, D * H], scalars: out)
        return (output, caches)
    }

    /// One layer and direction (`index` = layer·D + direction) over the whole sequence: fills `cache`
    /// and places the output rows. `x` is [T, B, I], or [B, T, I] when `batchFirstInput`.
    static func forwardDirection<Scalar: TensorScalar>(
        _ config: RecurrentConfig, x: Tensor<Scalar>, h0: Tensor<Scalar>?, c0: Tensor<Scalar>?, index: Int,
        weights w: [Tensor<Scalar>], lengths: [Int], reverse: Bool, keepCaches: Bool, splitRows: Bool,
        batchFirstInput: Bool, cache: inout DirectionCache<Scalar>, placement: OutputPlacement<Scalar>?
    ) {
        let (T, B, I) = batchFirstInput ? (x.shape[1], x.shape[0], x.shape[2]) : (x.shape[0], x.shape[1], x.shape[2])
        let H = config.hiddenSize, GH = config.mode.gates * H
        // Input projections, x_t W_ihᵀ (+ b_ih). When all steps' projections would not stay in
        // cache ([T·B, G·H] of 2¹⁸ elements or more, 1 MiB of floats), each block projects its rows one step at a time
        // into a buffer of one step ([B, G·H]) that stays in cache, rather than writing them all
        // to memory first and reading them back step by step (the same products and sums, so
        // the same bits). Otherwise every step is projected at once: [T·B, I] x W_ihᵀ.
        // With each block's rows in descending order of length (RecurrentRowOrder), the steps run
        // on the rows still inside their sequence only, and only their inputs are projected: by each
        // block as it goes, since its rows of a step are one product either way (the rows of all
        // steps at once would be a product per step and block, each packing W_ih again, in a
        // parallel region of its own).
        let skipEnded = RecurrentRowOrder.skipsEndedRows(lengths, T: T)
        let projectInBlocks = skipEnded || T * B * GH >= 1 << 18
        let inputProjections = ScalarBuffer<Scalar>(uninitialized: (projectInBlocks ? 1 : T) * B * GH)
        if !projectInBlocks {
            // All steps as one [T·B, I] product, which needs the steps' rows time-major.
            let segments = [(start: 0, count: T * B)]
            let x = batchFirstInput ? x.transposed(0, 1) : x
            x.withBase { px in w[0].withBase { pw in
                if config.bias {
                    w[2].withBase { pb in projectInputs(segments, I: I, GH: GH, x: px, w: pw, bias: pb, into: inputProjections.base) }
                } else {
                    projectInputs(segments, I: I, GH: GH, x: px, w: pw, bias: nil, into: inputProjections.base)
                }
            } }
        }
        let biases = config.bias ? (ih: ScalarBuffer(slice: 0, of: w[2], size: GH), hh: ScalarBuffer(slice: 0, of: w[3], size: GH)) : nil
        let initialH = ScalarBuffer(slice: index, of: h0, size: B * H), initialC = ScalarBuffer(slice: index, of: c0, size: B * H)
        let hiddenProjections = ScalarBuffer<Scalar>(uninitialized: B * GH)
        // Raw pointers only, so that the blocks on their cores never touch a reference count.
        let step = ForwardDirection(
            mode: config.mode, T: T, B: B, I: I, H: H, reverse: reverse, lengths: lengths, skipEnded: skipEnded, keepCaches: keepCaches,
            inputRows: RecurrentInputRows(T: T, B: B, I: I, batchFirst: batchFirstInput),
            h0: initialH.base, c0: initialC.base,
            hasH0: h0 != nil,
            // W_hhᵀ [H, G·H] packed once per call for every step's product.
            hiddenWeights: w[1].withBase { PackedMatrix(transB: true, k: H, n: GH, b: $0, ldb: H) },
            inputWeights: projectInBlocks ? w[0].withBase { PackedMatrix(transB: true, k: I, n: GH, b: $0, ldb: I) } : nil,
            biases: biases.map { (ih: UnsafePointer($0.ih.base), hh: UnsafePointer($0.hh.base)) },
            // The fused cell kernels for Float LSTM and GRU read the biases as they go.
            fuseBiases: Scalar.self == Float.self && (config.mode == .lstm || config.mode == .gru),
            inputProjections: inputProjections.base, hiddenProjections: hiddenProjections.base,
            cs: cache.cs?.base, gates: cache.gates?.base, newGateHidden: cache.newGateHidden?.base, placement: placement)
        // Rows never interact: blocks of rows run the whole sequence on their own, on all cores, and
        // a thread left without a block takes over half of another's rows for its remaining steps.
        let blocks = splitRows ? recurrenceBlocks(B) : [(start: 0, count: B)]
        let threads = Swift.min(emberThreadCount, blocks.count)
        let sharing = RecurrentRowSharing(T: T, blocks: blocks)
        withExtendedLifetime((initialH, initialC, biases, inputProjections, hiddenProjections)) {
            x.withBase { px in
                cache.hs.withUnsafeMutableBufferPointer { phs in
                    WorkerPool.shared.run(chunks: threads, threads: threads) { _ in
                        while let block = sharing.claim() {
                            step.run(b0: blocks[block].start, rows: blocks[block].count, x: px, hs: phs.baseAddress!,
                                     sharing: threads > 1 ? (sharing, block) : nil)
                        }
                        while threads > 1, let rows = sharing.take() {
                            step.run(b0: rows.start, rows: rows.count, from: rows.from, x: px, hs: phs.baseAddress!)
                        }
                    }
                }
            }
        }
    }
}

/// One layer and direction of the forward pass, as its blocks of rows see it: the shapes, the
/// weights, and the buffers (shared by the blocks, each of which reads and writes its own rows).
struct ForwardDirection<Scalar: TensorScalar>: @unchecked Sendable {
    let mode: RecurrentMode
    let T: Int, B: Int, I: Int, H: Int
    let reverse: Bool
    let lengths: [Int]
    /// Whether each step runs on the rows still inside their sequence only (one product per run
    /// of them), rather than on every row of the block.
    let skipEnded: Bool
    /// Whether `gates` and `newGateHidden` hold every step (else one step, reused).
    let keepCaches: Bool
    /// Where the layer input's rows are (time-major or batch-first).
    let inputRows: RecurrentInputRows
    /// The initial state's slices [B, H] (zeros when there is none); `hasH0` false: h_{-1} = 0.
    let h0: UnsafePointer<Scalar>, c0: UnsafePointer<Scalar>
    let hasH0: Bool
    /// W_hhᵀ, packed; W_ihᵀ packed when each block projects its inputs step by step, else nil.
    let hiddenWeights: PackedMatrix<Scalar>
    let inputWeights: PackedMatrix<Scalar>?
    /// b_ih and b_hh [G·H], or nil without biases.
    let biases: (ih: UnsafePointer<Scalar>, hh: UnsafePointer<Scalar>)?
    /// Whether the step kernel adds the biases (Float LSTM and GRU) rather than a pass of its own.
    let fuseBiases: Bool
    /// x_t W_ihᵀ (+ b_ih): every step's [T, B, G·H], or one step's [B, G·H] when `inputWeights`.
    let inputProjections: UnsafeMutablePointer<Scalar>
    /// h_{t-1} W_hhᵀ (+ b_hh), one step's [B, G·H].
    let hiddenProjections: UnsafeMutablePointer<Scalar>
    let cs: UnsafeMutablePointer<Scalar>?, gates: UnsafeMutablePointer<Scalar>?, newGateHidden: UnsafeMutablePointer<Scalar>?
    let placement: OutputPlacement<Scalar>?

    var GH: Int { mode.gates * H }

    /// Rows `b0..<b0 + rows` through steps `from`..<T (their states before step `from` complete);
    /// `x` is the layer input (laid out as `inputRows` says), `hs` the cache's h [T, B, H]. With
    /// `sharing` (the block's index there), the rows are that block's, and from each step where
    /// another thread takes over the second half of the rows still run here, the first half only.
    func run(b0: Int, rows: Int, from: Int = 0, x: UnsafePointer<Scalar>, hs: UnsafeMutablePointer<Scalar>,
             sharing: (RecurrentRowSharing, block: Int)? = nil) {
        var n = rows
        defer { if let sharing { sharing.0.finish(sharing.block) } }
        for s in from..<T {
            if let sharing, let kept = sharing.0.answer(sharing.block, at: s, rows: n) { n = kept }
            let t = reverse ? T - 1 - s : s
            if skipEnded {
                if reverse && s > 0 { placeInitialState(t: t, b0: b0, rows: n, hs: hs) }
                // Each run of rows still inside their sequence (one per block of the backward pass at most).
                var start = b0
                while start < b0 + n {
                    guard t < lengths[start] else { start += 1; continue }
                    var end = start + 1
                    while end < b0 + n && t < lengths[end] { end += 1 }
                    step(s, b0: start, rows: end - start, x: x, hs: hs)
                    start = end
                }
            } else {
                step(s, b0: b0, rows: n, x: x, hs: hs)
            }
            // Every row computed (rows not sorted by length): sequences that have ended (or, in
            // reverse, not begun) carry their state over what the step computed for them. Rows
            // skipped carry nothing: their final state is read from their last step (`copyFinalState`).
            let prevT = reverse ? t + 1 : t - 1
            let ht = hs + t * B * H
            if !skipEnded {
                let hPrev = s == 0 ? h0 : UnsafePointer(hs + prevT * B * H)
                let cPrev = mode == .lstm ? (s == 0 ? c0 : UnsafePointer(cs! + prevT * B * H)) : hPrev
                for b in b0..<(b0 + n) where t >= lengths[b] {
                    (ht + b * H).update(from: hPrev + b * H, count: H)
                    if mode == .lstm { (cs! + t * B * H + b * H).update(from: cPrev + b * H, count: H) }
                }
            }
            placement?.place(t: t, b0: b0, rows: n, H: H, from: ht + b0 * H, lengths: lengths)
        }
    }

    /// In reverse with rows skipped: the rows whose sequence begins at step t (its last, t =
    /// lengths[b] - 1, after T - 1) find the initial state where their previous step's state would
    /// be (step t + 1 of `hs` and `cs`, which the backward pass reads too).
    @inline(__always)
    func placeInitialState(t: Int, b0: Int, rows n: Int, hs: UnsafeMutablePointer<Scalar>) {
        for b in b0..<(b0 + n) where lengths[b] == t + 1 {
            (hs + (t + 1) * B * H + b * H).update(from: h0 + b * H, count: H)
            if mode == .lstm { (cs! + (t + 1) * B * H + b * H).update(from: c0 + b * H, count: H) }
        }
    }

    /// Step s of rows `b0..<b0 + rows`.
    @inline(__always)
    func step(_ s: Int, b0: Int, rows n: Int, x: UnsafePointer<Scalar>, hs: UnsafeMutablePointer<Scalar>) {
        let t = reverse ? T - 1 - s : s
        let prevT = reverse ? t + 1 : t - 1
        let hPrev = (s == 0 ? h0 : UnsafePointer(hs + prevT * B * H)) + b0 * H
        let cPrev = mode == .lstm ? (s == 0 ? c0 : UnsafePointer(cs! + prevT * B * H)) + b0 * H : hPrev
        let gh = projectHidden(s: s, b0: b0, rows: n, hPrev: hPrev)
        let xw = projectInput(t: t, b0: b0, rows: n, x: x)
        let cacheT = keepCaches ? t : 0
        RecurrentEngine.stepForward(
            mode, B: n, H: H, xw: xw, bih: fuseBiases && inputWeights != nil ? biases?.ih : nil,
            gh: gh, bhh: fuseBiases ? biases?.hh : nil, hPrev: hPrev, cPrev: cPrev,
            h: hs + t * B * H + b0 * H, c: mode == .lstm ? cs! + t * B * H + b0 * H : nil,
            gates: gates.map { $0 + cacheT * B * GH + b0 * GH },
            newGateHidden: newGateHidden.map { $0 + cacheT * B * H + b0 * H },
            // Every step's gates are kept for the backward pass, which reads them long after.
            streamed: keepCaches)
    }

    /// The block's hidden projection h_{t-1} x W_hhᵀ (+ b_hh unless the step kernel adds it).
    @inline(__always)
    func projectHidden(s: Int, b0: Int, rows n: Int, hPrev: UnsafePointer<Scalar>) -> UnsafePointer<Scalar> {
        let gh = hiddenProjections + b0 * GH
        if s == 0 && !hasH0 {
            gh.update(repeating: 0, count: n * GH)    // h_{-1} = 0
        } else {
            hiddenWeights.multiply(m: n, a: hPrev, lda: H, c: gh, ldc: GH)
        }
        if let biases, !fuseBiases { addRowwise(biases.hh, to: gh, rows: n) }
        return UnsafePointer(gh)
    }

    /// The block's input projection of step t: projected here (one step at a time), or read from
    /// the projections of every step.
    @inline(__always)
    func projectInput(t: Int, b0: Int, rows n: Int, x: UnsafePointer<Scalar>) -> UnsafePointer<Scalar> {
        guard let inputWeights else { return UnsafePointer(inputProjections + t * B * GH + b0 * GH) }
        let xw = inputProjections + b0 * GH
        inputWeights.multiply(m: n, a: x + inputRows.offset(t: t, b: b0), lda: inputRows.strideB, c: xw, ldc: GH)
        if let biases, !fuseBiases { addRowwise(biases.ih, to: xw, rows: n) }
        return UnsafePointer(xw)
    }

    /// `bias` [G·H] added to each of `rows` rows of `c` [rows, G·H].
    @inline(__always)
    func addRowwise(_ bias: UnsafePointer<Scalar>, to c: UnsafeMutablePointer<Scalar>, rows: Int) {
        Scalar._binary(.add, c, aRow: GH, aStep: 1, bias, bRow: 0, bStep: 1, c, rows: rows, count: GH, 0, 0)
    }
}

/// Where row (t, b) of a recurrent layer's input [T, B, I] lies: time-major, or batch-first ([B, T,
/// I], the first layer's input as a batch-first caller gave it). Rows b, b + 1, ... of one step are
/// `strideB` apart either way, so a block's rows of a step are one product's operand.
struct RecurrentInputRows: Sendable {
    let strideT: Int, strideB: Int

    init(T: Int, B: Int, I: Int, batchFirst: Bool) {
        (strideT, strideB) = batchFirst ? (I, T * I) : (B * I, I)
    }

    @inline(__always) func offset(t: Int, b: Int) -> Int { t &* strideT &+ b &* strideB }
}
