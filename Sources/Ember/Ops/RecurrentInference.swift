import CEmberKernels

// The recurrent stack when nothing will be differentiated: the batch is cut into blocks of rows
// that run the whole stack over the whole sequence independently (rows never interact), so each
// block's buffers stay in cache, blocks run on all cores without a synchronisation per step, and
// the input and output are read and written in the caller's layout (no transposed copies).

extension RecurrentEngine {
    /// Rows per block: enough that each step's matrix product is not all overhead, few enough that a
    /// block's projections and states stay in the level-2 cache (BENCHMARKS.md).
    static let inferenceBlockRows = 128

    /// The blocks of rows evaluation cuts a batch of `B` into on `threads` threads: blocks of
    /// `inferenceBlockRows`, the last partial; when there are more threads than that, as many
    /// blocks of equal size as threads as long as each keeps `minimumBlockRows` rows. Rows never
    /// interact, so the split changes no result.
    static func inferenceBlocks(_ B: Int, threads: Int = emberThreadCount) -> [(start: Int, count: Int)] {
        let fixed = (B + inferenceBlockRows - 1) / inferenceBlockRows
        if threads > fixed && B / minimumBlockRows > fixed {
            return evenSplit(B, into: Swift.min(threads, B / minimumBlockRows))
        }
        return (0..<fixed).map { k in (k * inferenceBlockRows, Swift.min(inferenceBlockRows, B - k * inferenceBlockRows)) }
    }

    /// Runs the layer stack forward without keeping anything for a backward pass (no dropout masks).
    /// `input` is `[B, T, I]` when `batchFirst`, else `[T, B, I]`; `h0`/`c0` are `[L·D, B, H]` or nil.
    /// Returns the output in the input's layout (`[B, T, D·H]` or `[T, B, D·H]`), h_n and c_n.
    /// Each row's results do not depend on the thread count: the blocks follow it, but a row is computed alike in any block.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func inference<Scalar: TensorScalar>(
        _ config: RecurrentConfig, input: Tensor<Scalar>, batchFirst: Bool, h0: Tensor<Scalar>?, c0: Tensor<Scalar>?,
        weights: [Tensor<Scalar>], lengths: [Int]
    ) -> (output: Tensor<Scalar>, hN: Tensor<Scalar>, cN: Tensor<Scalar>?) {
        let (T, B) = batchFirst ? (input.shape[1], input.shape[0]) : (input.shape[0], input.shape[1])
        let I = config.inputSize, H = config.hiddenSize, DH = config.directions * H
        let LD = config.numLayers * config.directions
        let isLSTM = config.mode == .lstm
        let threads = emberThreadCount
        let blocks = inferenceBlocks(B, threads: threads)
        // A large output reuses the storage of an earlier one its owner has let go (see StorageCache).
        var output: [Scalar] = StorageCache.take(T * B * DH)
        var hN: [Scalar] = uninitializedScalars(LD * B * H)
        var cN: [Scalar] = isLSTM ? uninitializedScalars(LD * B * H) : []
        // One layer, one direction of a tanh/ReLU RNN over full-length sequences: every step runs
        // straight in the output (see `rnnBlock`), with both weight matrices packed once for all blocks.
        let runsInOutput = (config.mode == .rnnTanh || config.mode == .rnnRelu) && config.numLayers == 1
            && config.directions == 1 && lengths.allSatisfy { $0 == T }
        // In Float, the whole sequence runs in one fused kernel where its shapes allow (I and H within
        // one block of the GEMM's K); otherwise the steps run as products and in-place steps.
        let level = ember_kernel_level_in_use()
        let fused = runsInOutput && Scalar.self == Float.self && I <= ember_sgemm_k_block(level) && H <= ember_sgemm_k_block(level)
        let packed = runsInOutput && !fused ? (weights[0].withBase { PackedMatrix(transB: true, k: I, n: H, b: $0, ldb: I) },
                               weights[1].withBase { PackedMatrix(transB: true, k: H, n: H, b: $0, ldb: H) }) : nil
        input.withBase { px in
        output.withUnsafeMutableBufferPointer { po in
        hN.withUnsafeMutableBufferPointer { phn in
        cN.withUnsafeMutableBufferPointer { pcn in
            let shared = InferencePointers(x: px, output: po.baseAddress!, hN: phn.baseAddress!, cN: pcn.baseAddress)
            WorkerPool.shared.run(chunks: blocks.count, threads: threads) { block in
                let (b0, rows) = blocks[block]
                if fused {
                    rnnSequence(config.mode, level: level, T: T, B: B, I: I, H: H, b0: b0, rows: rows, batchFirst: batchFirst,
                                weights: weights, bias: config.bias, h0: h0, shared: shared)
                    return
                }
                if let (wihT, whhT) = packed {
                    rnnBlock(config.mode, T: T, B: B, I: I, H: H, b0: b0, rows: rows, batchFirst: batchFirst, wihT: wihT, whhT: whhT,
                             biases: config.bias ? (weights[2], weights[3]) : nil, h0: h0, shared: shared)
                    return
                }
                inferenceBlock(config, T: T, B: B, b0: b0, rows: rows, batchFirst: batchFirst, h0: h0, c0: c0,
                               weights: weights, lengths: lengths, shared: shared)
            }
        } } } }
        StorageCache.remember(output)
        let stateShape = [LD, B, H]
        return (Tensor(shape: batchFirst ? [B, T, DH] : [T, B, DH], scalars: output),
                Tensor(shape: stateShape, scalars: hN), isLSTM ? Tensor(shape: stateShape, scalars: cN) : nil)
    }
}

extension RecurrentEngine {
    /// One block of `rows` rows from `b0` through the whole stack, any cell and shape: its input
    /// gathered time-major, the training forward's stack run on it without caches (on this core),
    /// the last layer writing its rows straight into the output, then its final states into place.
    static func inferenceBlock<Scalar: TensorScalar>(
        _ config: RecurrentConfig, T: Int, B: Int, b0: Int, rows: Int, batchFirst: Bool, h0: Tensor<Scalar>?,
        c0: Tensor<Scalar>?, weights: [Tensor<Scalar>], lengths: [Int], shared: InferencePointers<Scalar>
    ) {
        let I = config.inputSize, H = config.hiddenSize, DH = config.directions * H
        let LD = config.numLayers * config.directions
        // This block's input, time-major [T, rows, I].
        var x: [Scalar] = uninitializedScalars(T * rows * I)
        x.withUnsafeMutableBufferPointer { pxb in
            for t in 0..<T {
                for r in 0..<rows {
                    let source = batchFirst ? ((b0 + r) * T + t) * I : (t * B + b0 + r) * I
                    (pxb.baseAddress! + (t * rows + r) * I).update(from: shared.x + source, count: I)
                }
            }
        }
        func rowsOf(_ state: Tensor<Scalar>?) -> Tensor<Scalar>? {
            state.map { s in
                var part: [Scalar] = uninitializedScalars(LD * rows * H)
                s.withBase { ps in
                    part.withUnsafeMutableBufferPointer { pp in
                        for i in 0..<LD {
                            (pp.baseAddress! + i * rows * H).update(from: ps + (i * B + b0) * H, count: rows * H)
                        }
                    }
                }
                return Tensor(shape: [LD, rows, H], scalars: part)
            }
        }
        // The last layer writes this block's rows straight into the output.
        let destination = OutputDestination(base: shared.output + (batchFirst ? b0 * T : b0) * DH,
                                            rowStrideT: batchFirst ? 1 : B, rowStrideB: batchFirst ? T : 1)
        let result = runStack(config, x: Tensor(shape: [T, rows, I], scalars: x), h0: rowsOf(h0), c0: rowsOf(c0),
                              weights: weights, lengths: Array(lengths[b0..<(b0 + rows)]), masks: [],
                              keepCaches: false, splitRows: false, layout: .destination(destination))
        // The block's final states into place.
        func place(_ states: Tensor<Scalar>, into target: UnsafeMutablePointer<Scalar>) {
            states.withBase { pr in
                for i in 0..<LD { (target + (i * B + b0) * H).update(from: pr + i * rows * H, count: rows * H) }
            }
        }
        place(result.hN, into: shared.hN)
        if let cNBlock = result.cN, let pcn = shared.cN { place(cNBlock, into: pcn) }
    }

    /// One block of `rows` rows from `b0` of a one-layer, one-direction tanh/ReLU RNN over full-length
    /// sequences, computed in the output buffer itself: each step's input projection is written
    /// into the step's output rows and the step turns them into h_t in place, and the next step's
    /// product reads them from there. The input is read where it lies (rows `ldx` apart), so nothing
    /// is gathered or copied. The operations are the recording path's, in its order: the same bits.
    static func rnnBlock<Scalar: TensorScalar>(
        _ mode: RecurrentMode, T: Int, B: Int, I: Int, H: Int, b0: Int, rows: Int, batchFirst: Bool,
        wihT: PackedMatrix<Scalar>, whhT: PackedMatrix<Scalar>, biases: (Tensor<Scalar>, Tensor<Scalar>)?,
        h0: Tensor<Scalar>?, shared: InferencePointers<Scalar>
    ) {
        // Row (t, b) of the input and of the output, and the distance between rows b and b + 1.
        func row(_ t: Int, _ b: Int) -> Int { batchFirst ? b * T + t : t * B + b }
        let ldx = (batchFirst ? T : 1) * I, ldy = (batchFirst ? T : 1) * H
        var gh: [Scalar] = uninitializedScalars(rows * H)
        (biases?.0 ?? Tensor(zeros: [0])).withBase { pbih in
        (biases?.1 ?? Tensor(zeros: [0])).withBase { pbhh in
        (h0 ?? Tensor(zeros: [0])).withBase { ph0 in
        gh.withUnsafeMutableBufferPointer { pgh in
            // Batch-first, the block's input and output rows are contiguous: one product projects
            // every step at once (the same sums as one product per step).
            if batchFirst {
                wihT.multiply(m: rows * T, a: shared.x + row(0, b0) * I, lda: I, c: shared.output + row(0, b0) * H, ldc: H)
            }
            for t in 0..<T {
                let yt = shared.output + row(t, b0) * H
                if !batchFirst {
                    wihT.multiply(m: rows, a: shared.x + row(t, b0) * I, lda: ldx, c: yt, ldc: ldy)
                }
                if t == 0 && h0 == nil {
                    pgh.baseAddress!.update(repeating: 0, count: rows * H)   // h_{-1} = 0
                } else {
                    let (hPrev, lda) = t == 0 ? (ph0 + b0 * H, H) : (UnsafePointer(shared.output + row(t - 1, b0) * H), ldy)
                    whhT.multiply(m: rows, a: hPrev, lda: lda, c: pgh.baseAddress!, ldc: H)
                }
                rnnStepInPlace(mode, rows: rows, H: H, y: yt, ldy: ldy, gh: UnsafePointer(pgh.baseAddress!),
                               bih: biases == nil ? nil : pbih, bhh: biases == nil ? nil : pbhh)
            }
            let last = shared.output + row(T - 1, b0) * H
            for r in 0..<rows { (shared.hN + (b0 + r) * H).update(from: last + r * ldy, count: H) }
        } } } }
    }

    /// `rnnBlock` in Float as one call of the fused sequence kernel (`ember_rnn_sequence_f`), which
    /// forms the same products and steps in the same order, so gives the same bits; it runs each
    /// tile of rows through every step with the weights, inputs and states in the level-1 cache.
    /// The caller has checked that I and H fit one block of the GEMM's K at `level`.
    static func rnnSequence<Scalar: TensorScalar>(
        _ mode: RecurrentMode, level: ember_kernel_level, T: Int, B: Int, I: Int, H: Int, b0: Int, rows: Int,
        batchFirst: Bool, weights: [Tensor<Scalar>], bias: Bool, h0: Tensor<Scalar>?, shared: InferencePointers<Scalar>
    ) {
        // Distances between rows b and b + 1, and between steps t and t + 1, of the input and output.
        let (xb, xt) = batchFirst ? (T * I, I) : (I, B * I)
        let (yb, yt) = batchFirst ? (T * H, H) : (H, B * H)
        let first = batchFirst ? b0 * T : b0
        weights[0].withBase { wih in
        weights[1].withBase { whh in
        (bias ? weights[2] : Tensor(zeros: [0])).withBase { bih in
        (bias ? weights[3] : Tensor(zeros: [0])).withBase { bhh in
        (h0 ?? Tensor(zeros: [0])).withBase { ph0 in
            let done = ember_rnn_sequence_f(level, mode == .rnnRelu ? 1 : 0, rows, T, I, H, float(shared.x + first * I), xb, xt,
                                            float(wih), float(whh), bias ? float(bih) : nil, bias ? float(bhh) : nil,
                                            h0 == nil ? nil : float(ph0 + b0 * H), float(shared.output + first * H), yb, yt)
            require(done != 0, "rnnSequence: I = \(I) or H = \(H) exceeds the GEMM's K block")
        } } } } }
        let last = shared.output + (batchFirst ? (b0 * T + T - 1) : ((T - 1) * B + b0)) * H
        for r in 0..<rows { (shared.hN + (b0 + r) * H).update(from: last + r * yb, count: H) }
    }

    /// `y = act((y + bih) + (gh + bhh))` over `rows` rows `ldy` apart (a nil bias left out): the
    /// additions of the recording path's projections and step, then its activation. Float runs
    /// `ember_rnn_forward_f`, which computes these bits.
    static func rnnStepInPlace<Scalar: TensorScalar>(
        _ mode: RecurrentMode, rows: Int, H: Int, y: UnsafeMutablePointer<Scalar>, ldy: Int, gh: UnsafePointer<Scalar>,
        bih: UnsafePointer<Scalar>?, bhh: UnsafePointer<Scalar>?
    ) {
        if Scalar.self == Float.self {
            ember_rnn_forward_f(ember_kernel_level_in_use(), mode == .rnnRelu ? 1 : 0, rows, H, float(y), ldy,
                                float(gh), bih.map { float($0) }, bhh.map { float($0) })
            return
        }
        rnnStepInPlacePlain(mode, rows: rows, H: H, y: y, ldy: ldy, gh: gh, bih: bih, bhh: bhh)
    }

    /// `rnnStepInPlace` in plain code, for every scalar type.
    static func rnnStepInPlacePlain<Scalar: TensorScalar>(
        _ mode: RecurrentMode, rows: Int, H: Int, y: UnsafeMutablePointer<Scalar>, ldy: Int, gh: UnsafePointer<Scalar>,
        bih: UnsafePointer<Scalar>?, bhh: UnsafePointer<Scalar>?
    ) {
        for r in 0..<rows {
            let yr = y + r * ldy, g = gh + r * H
            for j in 0..<H {
                let x = bih.map { yr[j] + $0[j] } ?? yr[j]
                let hh = bhh.map { g[j] + $0[j] } ?? g[j]
                yr[j] = x + hh
            }
            Scalar._unary(mode == .rnnRelu ? .relu : .tanh, yr, yr, count: H, 0, 0)
        }
    }
}

/// Raw pointers shared by the blocks of `RecurrentEngine.inference` (each block writes its own rows).
struct InferencePointers<Scalar>: @unchecked Sendable {
    let x: UnsafePointer<Scalar>
    let output: UnsafeMutablePointer<Scalar>
    let hN: UnsafeMutablePointer<Scalar>
    let cN: UnsafeMutablePointer<Scalar>?
}
