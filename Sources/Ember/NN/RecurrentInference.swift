// The recurrent stack when nothing will be differentiated: the batch is cut into blocks of rows
// that run the whole stack over the whole sequence independently (rows never interact), so each
// block's buffers stay in cache, blocks run on all cores without a synchronisation per step, and
// the input and output are read and written in the caller's layout (no transposed copies).

extension RecurrentEngine {
    /// Rows per block: enough that each step's matrix product is not all overhead, few enough that a
    /// block's projections and states stay in the level-2 cache (128 measured best for H = 32..128).
    static let inferenceBlockRows = 128

    /// Runs the layer stack forward without keeping anything for a backward pass (no dropout masks).
    /// `input` is `[B, T, I]` when `batchFirst`, else `[T, B, I]`; `h0`/`c0` are `[L·D, B, H]` or nil.
    /// Returns the output in the input's layout (`[B, T, D·H]` or `[T, B, D·H]`), h_n and c_n.
    /// Each row's results do not depend on the thread count: the blocks are fixed by the shapes.
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
        let rowsPerBlock = inferenceBlockRows
        let blocks = (B + rowsPerBlock - 1) / rowsPerBlock
        var output: [Scalar] = uninitializedScalars(T * B * DH)
        var hN: [Scalar] = uninitializedScalars(LD * B * H)
        var cN: [Scalar] = isLSTM ? uninitializedScalars(LD * B * H) : []
        input.withBase { px in
        output.withUnsafeMutableBufferPointer { po in
        hN.withUnsafeMutableBufferPointer { phn in
        cN.withUnsafeMutableBufferPointer { pcn in
            let shared = InferencePointers(x: px, output: po.baseAddress!, hN: phn.baseAddress!, cN: pcn.baseAddress)
            WorkerPool.shared.run(chunks: blocks, threads: emberThreadCount) { block in
                let b0 = block * rowsPerBlock, rows = Swift.min(rowsPerBlock, B - b0)
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
                let result = forward(config, x: Tensor(shape: [T, rows, I], scalars: x), h0: rowsOf(h0), c0: rowsOf(c0),
                                     weights: weights, lengths: Array(lengths[b0..<(b0 + rows)]), masks: [],
                                     keepCaches: false, splitRows: false, outputDestination: destination)
                // The block's final states into place.
                result.hN.withBase { pr in
                    for i in 0..<LD { (shared.hN + (i * B + b0) * H).update(from: pr + i * rows * H, count: rows * H) }
                }
                if let cNBlock = result.cN, let pcn = shared.cN {
                    cNBlock.withBase { pr in
                        for i in 0..<LD { (pcn + (i * B + b0) * H).update(from: pr + i * rows * H, count: rows * H) }
                    }
                }
            }
        } } } }
        let stateShape = [LD, B, H]
        return (Tensor(shape: batchFirst ? [B, T, DH] : [T, B, DH], scalars: output),
                Tensor(shape: stateShape, scalars: hN), isLSTM ? Tensor(shape: stateShape, scalars: cN) : nil)
    }
}

/// Raw pointers shared by the blocks of `RecurrentEngine.inference` (each block writes its own rows).
struct InferencePointers<Scalar>: @unchecked Sendable {
    let x: UnsafePointer<Scalar>
    let output: UnsafeMutablePointer<Scalar>
    let hN: UnsafeMutablePointer<Scalar>
    let cN: UnsafeMutablePointer<Scalar>?
}
