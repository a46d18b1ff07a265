// Backpropagation through time for the recurrent stack: layer by layer from the last, direction by
// direction. Within a layer and direction each block of rows (`backwardBlocks(B)`) runs back
// through the whole sequence on its own core, as in the forward pass, a chunk of steps at a time
// (about `chunkRows` of its rows). At each step it computes the gate gradients dG and adds its rows
// of dX = dG_x · W_ih (dG still in cache); after each chunk it adds the chunk's weight gradients to
// its own partial products:
//   [W_hh | W_ih | b]ᵀ += [h_{t-1} | x_t | 1]ᵀ · dG   (RNN, LSTM: one product), or
//   [W_hh | b_hh]ᵀ += [h_{t-1} | 1]ᵀ · dG_h and [W_ih | b_ih]ᵀ += [x_t | 1]ᵀ · dG_x (GRU),
// with dG, the large operand, read row by row as GEMM's right operand; the column of ones (with a
// bias) gives the bias sums. The blocks' products are summed in block order at the end, so no core
// waits for another before the end and the results depend on B alone, not on the thread count. A
// thread that has finished its blocks takes over half the rows of another (or a share of its
// products) for the rest of the pass (RecurrentRowSharing), which keeps every block's sums.

extension RecurrentEngine {
    /// Backpropagation through time. `gOut` is the gradient of the output [T, B, D·H] ([B, T, D·H]
    /// when `batchFirstGradient`), `ghN`/`gcN` of the final states; `inputs` are the layers' inputs
    /// `forward` returned, the first [B, T, I] when `batchFirstInput` (as it was given to `forward`).
    /// Returns gradients of x [T, B, I] (an empty tensor when `inputGradient` is
    /// false), h0, c0 and every weight (same order). Without h0, the h0 gradient is not computed.
    /// `chunkRows` sets how many rows (steps × a block's rows) each block of rows takes back through
    /// the sequence between additions to its weight gradients; by default `RecurrentEngine.chunkRows`,
    /// or all of them when the gate gradients of the whole sequence are small (tests vary it).
    /// `rowOrder` (nil: the identity) gives the caller's row of each of the engine's rows, permuted
    /// within each of `backwardBlocks(B)` (RecurrentRowOrder): every tensor here is in the engine's
    /// order, and the weight gradients add each block's rows in the caller's.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func backward<Scalar: TensorScalar>(
        _ config: RecurrentConfig, gOut: Tensor<Scalar>, ghN: Tensor<Scalar>, gcN: Tensor<Scalar>?,
        h0: Tensor<Scalar>?, c0: Tensor<Scalar>?, weights: [Tensor<Scalar>], lengths: [Int], masks: [Tensor<Scalar>],
        inputs: [Tensor<Scalar>], caches: [DirectionCache<Scalar>], inputGradient: Bool = true, batchFirstInput: Bool = false,
        batchFirstGradient: Bool = false, chunkRows: Int? = nil, rowOrder: [Int]? = nil
    ) -> (gx: Tensor<Scalar>, gh0: Tensor<Scalar>, gc0: Tensor<Scalar>?, gWeights: [Tensor<Scalar>]) {
        let (T, B) = batchFirstGradient ? (gOut.shape[1], gOut.shape[0]) : (gOut.shape[0], gOut.shape[1])
        let H = config.hiddenSize, D = config.directions, P = config.parametersPerDirection
        // Every one is assigned below, by the direction it belongs to.
        var gWeights = weights.map { _ in Tensor<Scalar>(zeros: [0]) }
        var gh0 = [Scalar](repeating: 0, count: config.numLayers * D * B * H)
        var gc0 = config.mode == .lstm ? [Scalar](repeating: 0, count: config.numLayers * D * B * H) : []
        var dOut = gOut    // gradient of the current layer's output [T, B, D·H]
        var gx = Tensor<Scalar>(zeros: [0])
        for layer in stride(from: config.numLayers - 1, through: 0, by: -1) {
            let I = config.layerInputSize(layer)
            // The input's gradient (an empty array when it is not wanted).
            // (Every element is written: the first direction's product does not read it.)
            let wantInput = layer > 0 || inputGradient
            var dX: [Scalar] = uninitializedScalars(wantInput ? T * B * I : 0)
            for direction in 0..<D {
                let index = layer * D + direction
                let pass = BackwardDirection(
                    config, T: T, B: B, I: I, index: index, direction: direction, weights: Array(weights[(index * P)...].prefix(P)),
                    cache: caches[index], h0: h0, c0: c0, ghN: ghN, gcN: gcN, lengths: lengths, rowOrder: rowOrder, wantInput: wantInput,
                    // Only the last layer's output gradient comes batch-first; the rest are time-major.
                    batchFirst: batchFirstGradient && layer == config.numLayers - 1,
                    chunkRows: chunkRows ?? defaultChunkRows(T: T, B: B, GH: config.mode.gates * H))
                withExtendedLifetime(pass) {   // its storage holds what its pointers point to
                    pass.run(x: inputs[layer], batchFirstInput: batchFirstInput && layer == 0, dOut: dOut, dX: &dX, hs: caches[index].hs)
                    gWeights.replaceSubrange((index * P)..<((index + 1) * P), with: pass.weightGradients())
                    copyState(pass.dh, count: B * H, into: &gh0, at: index)
                    if config.mode == .lstm { copyState(pass.dc, count: B * H, into: &gc0, at: index) }
                }
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

    /// `state` [B, H] (`count` = B·H values) into slice `index` of `states` [L·D, B, H].
    static func copyState<Scalar>(_ state: UnsafePointer<Scalar>, count: Int, into states: inout [Scalar], at index: Int) {
        states.withUnsafeMutableBufferPointer { p in
            (p.baseAddress! + index * count).update(from: state, count: count)
        }
    }
}

/// One layer and direction of the backward pass: its shapes, weights and buffers, shared by its
/// blocks of rows (each of which reads and writes its own rows and its own slices of the buffers).
/// The buffers are raw pointers, so that the blocks on their cores never touch a reference count;
/// `storage` owns them.
struct BackwardDirection<Scalar: TensorScalar>: @unchecked Sendable {
    typealias Pointer = UnsafeMutablePointer<Scalar>
    private let storage: [ScalarBuffer<Scalar>]
    let mode: RecurrentMode
    let T: Int, B: Int, I: Int, H: Int, GH: Int
    let D: Int, direction: Int
    let lengths: [Int]
    let ragged: Bool
    /// A ragged batch whose blocks' rows are in descending order of length (RecurrentRowOrder): the
    /// rows inside their sequence at a step are the first of each block, with no row to test.
    let sorted: Bool
    /// The engine's rows in the caller's order (rows `callerOrder[b]` for b in a block's range are
    /// that block's rows as the caller numbers them).
    let callerOrder: [Int]
    /// Whether the output gradient is [B, T, D·H] rather than [T, B, D·H].
    let batchFirst: Bool
    let hasH0: Bool
    let hasBias: Bool
    /// GRU: the input and hidden sides have gate gradients of their own (dG_x ≠ dG_h), so the
    /// input's weight gradients are a second product.
    let separateInput: Bool
    /// The cache's buffers (the forward pass's c, gates, W_hn·h + b_hn) and the initial states [B, H].
    let cs: Pointer?, gates: Pointer?, newGateHidden: Pointer?
    let h0: Pointer, c0: Pointer
    /// W_hh [G·H, H] and (when the input's gradient is wanted) W_ih [G·H, I], packed once for every step's products.
    let hiddenWeights: PackedMatrix<Scalar>
    let inputWeights: PackedMatrix<Scalar>?
    /// The gradients of the state: dh [B, H] (of h_{t} going back, h0's at the end) and LSTM's dc.
    let dh: Pointer, dc: Pointer
    /// GRU's two parts of dh_{t-1}, a step's [B, H] each: dG_h · W_hh and dh_t·z (LSTM and RNN
    /// write dG_h · W_hh into dh itself; empty for them).
    let dhPrevThroughWeights: Pointer, dhPrevThroughZ: Pointer
    let blocks: [(start: Int, count: Int)]
    /// Steps per chunk, and the rows of a block's chunk buffers (steps × the largest block's rows).
    let chunkSteps: Int, chunkBlockRows: Int
    /// The joint operands' row lengths: [h_{t-1} | x_t | 1] (RNN, LSTM) or [h_{t-1} | 1] (GRU), and
    /// GRU's [x_t | 1] (the 1 only with biases).
    let jointWidth: Int, inputJointWidth: Int
    /// Each block's chunk of gate gradients dG_x (and GRU's dG_h) [chunkBlockRows, G·H] and joint
    /// operands [chunkBlockRows, jointWidth] (and [_, inputJointWidth]); its products [jointWidth, G·H]
    /// (and [inputJointWidth, G·H]). Without `separateInput` the input's ones are the hidden side's.
    let dGx: Pointer, dGh: Pointer
    /// A ragged batch's step of gate gradients per block, [largest block's rows, G·H] (and GRU's
    /// dG_h), in the engine's order, before its rows move to the chunk buffers in the caller's.
    let stepDGx: Pointer, stepDGh: Pointer
    let joint: Pointer, inputJoint: Pointer
    let product: Pointer, inputProduct: Pointer

    init(_ config: RecurrentConfig, T: Int, B: Int, I: Int, index: Int, direction: Int, weights w: [Tensor<Scalar>],
         cache: DirectionCache<Scalar>, h0: Tensor<Scalar>?, c0: Tensor<Scalar>?, ghN: Tensor<Scalar>, gcN: Tensor<Scalar>?,
         lengths: [Int], rowOrder: [Int]?, wantInput: Bool, batchFirst: Bool, chunkRows: Int) {
        let H = config.hiddenSize, GH = config.mode.gates * H
        (mode, self.T, self.B, self.I, self.H, self.GH) = (config.mode, T, B, I, H, GH)
        (D, self.direction, self.lengths, self.batchFirst) = (config.directions, direction, lengths, batchFirst)
        ragged = lengths.contains { $0 < T }
        sorted = RecurrentRowOrder.skipsEndedRows(lengths, T: T)
        var callerOrder = Array(0..<B)
        if let rowOrder { for (p, b) in rowOrder.enumerated() { callerOrder[b] = p } }
        self.callerOrder = callerOrder
        (hasH0, hasBias, separateInput) = (h0 != nil, config.bias, config.mode == .gru)
        (cs, gates, newGateHidden) = (cache.cs?.base, cache.gates?.base, cache.newGateHidden?.base)
        var owned: [ScalarBuffer<Scalar>] = [cache.cs, cache.gates, cache.newGateHidden].compactMap { $0 }
        func own(_ buffer: ScalarBuffer<Scalar>) -> Pointer {
            owned.append(buffer)
            return buffer.base
        }
        self.h0 = own(ScalarBuffer(slice: index, of: h0, size: B * H))
        self.c0 = own(ScalarBuffer(slice: index, of: c0, size: B * H))
        hiddenWeights = w[1].withBase { PackedMatrix(transB: false, k: GH, n: H, b: $0, ldb: H) }
        inputWeights = wantInput ? w[0].withBase { PackedMatrix(transB: false, k: GH, n: I, b: $0, ldb: I) } : nil
        dh = own(ScalarBuffer(slice: index, of: ghN, size: B * H))
        dc = own(ScalarBuffer(slice: index, of: gcN, size: B * H))
        // Read only where written.
        dhPrevThroughWeights = own(ScalarBuffer(uninitialized: config.mode == .gru ? B * H : 0))
        dhPrevThroughZ = own(ScalarBuffer(uninitialized: config.mode == .gru ? B * H : 0))
        blocks = RecurrentEngine.backwardBlocks(B)
        let blockRows = blocks.map(\.count).max()!
        chunkSteps = Swift.min(T, Swift.max(1, chunkRows / blockRows))
        chunkBlockRows = chunkSteps * blockRows
        let biasColumn = config.bias ? 1 : 0
        jointWidth = separateInput ? H + biasColumn : H + I + biasColumn
        inputJointWidth = I + biasColumn
        let chunks = blocks.count * chunkBlockRows
        dGx = own(ScalarBuffer(uninitialized: chunks * GH))
        dGh = own(ScalarBuffer(uninitialized: separateInput ? chunks * GH : 0))
        stepDGx = own(ScalarBuffer(uninitialized: ragged ? blocks.count * blockRows * GH : 0))
        stepDGh = own(ScalarBuffer(uninitialized: ragged && separateInput ? blocks.count * blockRows * GH : 0))
        joint = own(ScalarBuffer(uninitialized: chunks * jointWidth))
        inputJoint = own(ScalarBuffer(uninitialized: separateInput ? chunks * inputJointWidth : 0))
        product = own(ScalarBuffer(uninitialized: blocks.count * jointWidth * GH))
        inputProduct = own(ScalarBuffer(uninitialized: separateInput ? blocks.count * inputJointWidth * GH : 0))
        storage = owned
    }

    /// Every block back through the sequence (`weightGradients` then sums their products in block
    /// order). `x` is the layer's input [T, B, I] ([B, T, I] when `batchFirstInput`), `dOut` its
    /// output's gradient, `dX` its input's [T, B, I] (added to by the second direction), `hs` the
    /// cache's h [T, B, H].
    func run(x: Tensor<Scalar>, batchFirstInput: Bool, dOut: Tensor<Scalar>, dX: inout [Scalar], hs: [Scalar]) {
        x.withBase { px in
        dOut.withBase { pdOut in
        hs.withUnsafeBufferPointer { phs in
        dX.withUnsafeMutableBufferPointer { pdX in
            let memory = BackwardMemory(x: px, inputRows: RecurrentInputRows(T: T, B: B, I: I, batchFirst: batchFirstInput),
                                        dOut: pdOut, hs: phs.baseAddress!, dX: pdX.baseAddress)
            let threads = emberThreadCount
            let parts = RecurrentEngine.backwardSubBlocks(blocks, threads: threads)
            if parts > 1 {
                runInParts(parts, threads: threads, memory)   // more threads than blocks
            } else if threads > 1 && blocks.count > 1 {
                // Threads claim blocks; one left without a block takes over half of another's rows
                // (RecurrentBackwardStep.swift).
                let workers = Swift.min(threads, blocks.count)
                let sharing = RecurrentRowSharing(T: T, blocks: blocks, handsOverOnce: true)
                WorkerPool.shared.run(chunks: workers, threads: workers) { _ in
                    while let block = sharing.claim() { runBlock(block, memory, sharing: sharing) }
                    while let rows = sharing.take() { runBlock(rows.block, memory, sharing: sharing, handed: rows) }
                }
            } else {
                WorkerPool.shared.run(chunks: blocks.count, threads: threads) { block in
                    runBlock(block, memory)
                }
            }
        } } } }
        // The blocks' products are summed as `weightGradients` transposes them.
    }
}

/// The arrays and tensors a backward pass reads and writes, as pointers for its blocks.
struct BackwardMemory<Scalar>: @unchecked Sendable {
    let x: UnsafePointer<Scalar>
    /// Where x's rows are.
    let inputRows: RecurrentInputRows
    let dOut: UnsafePointer<Scalar>, hs: UnsafePointer<Scalar>
    let dX: UnsafeMutablePointer<Scalar>?
}

extension BackwardDirection {
    /// A chunk's weight gradients, `rows` rows of joint operands by gate gradients, into the block's
    /// products: written by the first chunk (`first`), added by the rest. With `half` (0 or 1), only
    /// that half of the products' columns (`GEMMPieces`: with the other half, the bits of the whole).
    func accumulateWeightGradients(_ block: BackwardBlock<Scalar>, rows: Int, first: Bool, half: Int? = nil) {
        let beta: Scalar = first ? 0 : 1
        func add(m: Int, a: UnsafeMutablePointer<Scalar>, b: UnsafeMutablePointer<Scalar>, c: UnsafeMutablePointer<Scalar>) {
            if let half {
                GEMMPieces(m: m, n: GH, parts: 2).run(half, transA: true, transB: false, m: m, n: GH, k: rows, a: a, lda: m,
                                                      b: b, ldb: GH, beta: beta, c: c, ldc: GH)
            } else {
                GEMM.run(transA: true, transB: false, m: m, n: GH, k: rows, a: a, lda: m, b: b, ldb: GH, beta: beta, c: c, ldc: GH)
            }
        }
        add(m: jointWidth, a: block.joint, b: block.dGh, c: block.product)
        if separateInput { add(m: inputJointWidth, a: block.inputJoint, b: block.dGx, c: block.inputProduct) }
    }

    /// Columns `columns` of the blocks' [_, G·H] products (`each` values apart), summed in block
    /// order into the first block's: each row's piece front to back, block after block (the same
    /// additions, in the same order, as a pass over whole products; the other cores' products come
    /// from their caches, and read in tiles, line by line, they took several times as long).
    func sumBlocks(_ products: Pointer, each count: Int, columns: Range<Int>) {
        let rows = count / GH, width = columns.count, GH = GH
        for block in 1..<blocks.count {
            for row in 0..<rows {
                let sum = products + (row &* GH &+ columns.lowerBound), other = sum + block &* count
                for i in 0..<width { sum[i] = sum[i] + other[i] }
            }
        }
    }

    /// The weight gradients in PyTorch's order (w_ih, w_hh[, b_ih, b_hh]): the blocks' products
    /// summed in block order into the first block's, then its rows transposed, the columns of the
    /// products (rows of the results) split over the cores, each summing and transposing its own
    /// columns (so no core waits for another's sums), rather than both passes on one core while
    /// the others wait (BENCHMARKS.md).
    func weightGradients() -> [Tensor<Scalar>] {
        let GH = GH, separateInput = separateInput
        var wih: [Scalar] = uninitializedScalars(GH * I), whh: [Scalar] = uninitializedScalars(GH * H)
        // RNN and LSTM: the same gate gradients feed both biases, so one sum serves both.
        var bih: [Scalar] = uninitializedScalars(hasBias ? GH : 0)
        var bhh: [Scalar] = uninitializedScalars(hasBias && separateInput ? GH : 0)
        wih.withUnsafeMutableBufferPointer { wih in
        whh.withUnsafeMutableBufferPointer { whh in
        bih.withUnsafeMutableBufferPointer { bih in
        bhh.withUnsafeMutableBufferPointer { bhh in
            let hidden = (source: product, each: jointWidth * GH)
            // w_ih's rows: GRU's own products, else rows H..<H + I of the joint ones (then the bias row).
            let input = separateInput ? (source: inputProduct, each: inputJointWidth * GH, first: 0)
                : (source: product, each: jointWidth * GH, first: H)
            var jobs = [TransposedRows(source: input.source, first: input.first, columns: I, target: wih.baseAddress),
                        TransposedRows(source: hidden.source, first: 0, columns: H, target: whh.baseAddress)]
            if hasBias {
                jobs.append(TransposedRows(source: input.source, first: input.first + I, columns: 1, target: bih.baseAddress))
                if separateInput {
                    jobs.append(TransposedRows(source: hidden.source, first: H, columns: 1, target: bhh.baseAddress))
                }
            }
            // Pieces of at least 64 columns, so that a small layer stays on one core.
            let pieces = Swift.max(1, Swift.min(emberThreadCount, GH / 64))
            WorkerPool.shared.run(chunks: pieces, threads: pieces) { piece in
                let columns = (piece * GH / pieces)..<((piece + 1) * GH / pieces)
                sumBlocks(hidden.source, each: hidden.each, columns: columns)
                if separateInput { sumBlocks(input.source, each: input.each, columns: columns) }
                for job in jobs { job.transpose(rows: columns, GH: GH) }
            }
        } } } }
        var grads = [Tensor(shape: [GH, I], scalars: wih), Tensor(shape: [GH, H], scalars: whh)]
        if hasBias {
            let b = Tensor(shape: [GH], scalars: bih)
            grads += [b, separateInput ? Tensor(shape: [GH], scalars: bhh) : b]
        }
        return grads
    }
}

/// One weight gradient as `BackwardDirection.weightGradients` makes it: rows `first..<first + columns`
/// of the summed [_, G·H] products at `source`, transposed into `target` [G·H, columns].
struct TransposedRows<Scalar: TensorScalar>: @unchecked Sendable {
    let source: UnsafeMutablePointer<Scalar>
    let first: Int, columns: Int
    let target: UnsafeMutablePointer<Scalar>?

    /// Rows `rows` of the result (columns of the products): eight product rows at a time, read front
    /// to back together, each result row written eight values at a time rather than a value per
    /// cache line (BENCHMARKS.md).
    func transpose(rows: Range<Int>, GH: Int) {
        guard let target else { return }
        for c0 in stride(from: 0, to: columns, by: 8) {
            let width = Swift.min(8, columns - c0)
            let src = source + (first + c0) * GH
            for m in rows {
                let d = target + (m &* columns &+ c0)
                for k in 0..<width { d[k] = src[k &* GH &+ m] }
            }
        }
    }
}
