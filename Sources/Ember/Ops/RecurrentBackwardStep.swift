// One block of the backward pass back through the sequence, step by step: the step's rows still
// inside their sequence only (rows that have ended cost nothing: no gate gradients, no products, no
// rows of the weight-gradient products), and the chunk buffers holding those rows in the caller's
// order, step by step, so that each weight gradient is the chain of multiply-adds over (t, b) it
// was before, without the terms of rows past their end (exact zeros, 0·0 added to a sum that
// started at +0, which cannot change it).

import CEmberKernels

/// One block's slices of the chunk buffers and products, and the rows of it to compute: all of
/// them, or one part (`first..<first + count`) when the block is split over more threads
/// (RecurrentBackwardParts.swift).
struct BackwardBlock<Scalar> {
    let b0: Int, rows: Int
    var first: Int, count: Int
    let dGx: UnsafeMutablePointer<Scalar>, dGh: UnsafeMutablePointer<Scalar>
    let stepDGx: UnsafeMutablePointer<Scalar>, stepDGh: UnsafeMutablePointer<Scalar>
    let joint: UnsafeMutablePointer<Scalar>, inputJoint: UnsafeMutablePointer<Scalar>
    let product: UnsafeMutablePointer<Scalar>, inputProduct: UnsafeMutablePointer<Scalar>
}

/// Which of a block's rows a step has: `slot[b - b0]`, for a row inside its sequence at the step,
/// is its place among those rows in the caller's order (its row in the step's part of the chunk
/// buffers); `count` how many there are; `inPlace` whether each one's slot is its own place in the
/// block (then the gate gradients go straight to the chunk buffers).
struct StepRows {
    var slot: [Int]
    var count = 0
    var inPlace = true
    /// Whether `slot`, `count` and `inPlace` describe some step already (then, in a block sorted by
    /// length, a step with as many rows has the same ones).
    var known = false
}

extension BackwardDirection {
    /// Block `index`'s rows back through the sequence, a chunk of steps at a time, each chunk's
    /// weight gradients added to the block's products (the first chunk with a row writes them; a
    /// block with none gets zeros).
    ///
    /// With `sharing`, the block's owner answers offers before each step, and hands the second half
    /// of its rows over to a thread that has finished its own blocks (once); that thread runs this
    /// with `handed` (the rows, and the step it starts at, counted from the first step back). From
    /// then on the two meet after each chunk: each has written its rows of the chunk buffers, each
    /// adds half the columns of the chunk's products (`GEMMPieces`: every element the same chain of
    /// multiply-adds over the same rows, so the bits of one thread), and neither writes the next
    /// chunk's rows before both have read this one's.
    func runBlock(_ index: Int, _ memory: BackwardMemory<Scalar>, sharing: RecurrentRowSharing? = nil,
                  handed: (block: Int, start: Int, count: Int, from: Int)? = nil) {
        var block = makeBlock(index)
        if let handed { (block.first, block.count) = (handed.start, handed.count) }
        let from = handed?.from ?? 0, isTaker = handed != nil
        var shared = isTaker
        let active = activeRows(block)
        var rows = StepRows(slot: Array(0..<block.rows))
        var written = false
        var done = 0   // steps of the earlier chunks
        for (chunk, sHi) in stride(from: T - 1, through: 0, by: -chunkSteps).enumerated() {
            let sLo = Swift.max(0, sHi - chunkSteps + 1)
            let tFirst = reverse ? T - 1 - sHi : sLo
            // Step t's rows start in the chunk buffers after those of the chunk's earlier steps.
            var starts = [0]
            for t in tFirst...(tFirst + sHi - sLo) { starts.append(starts.last! + active[t]) }
            let chunkRows = starts.last!
            defer {
                done += sHi - sLo + 1
                written = written || chunkRows > 0
            }
            if done + sHi - sLo < from { continue }   // a taker's chunks before it joined
            for s in stride(from: sHi, through: sLo, by: -1) where done + sHi - s >= from {
                if !isTaker, let sharing, let kept = sharing.answer(index, at: done + sHi - s, rows: block.count) {
                    block.count = kept
                    shared = true
                }
                let t = reverse ? T - 1 - s : s
                stepBack(s, local: starts[t - tFirst], block, &rows, memory)
            }
            if !isTaker, !shared, let sharing, sharing.answerBeforeProduct(index, lastStep: done + sHi - sLo) { shared = true }
            if !isTaker && sLo == 0 { sharing?.finish(index) }   // nothing left to share
            if shared {
                addSharedChunk(block, index: index, chunk: chunk, rows: chunkRows, first: !written, asTaker: isTaker, sharing!)
            } else if chunkRows > 0 {
                // (With one block this runs outside a parallel region, and the products use every core.)
                accumulateWeightGradients(block, rows: chunkRows, first: !written)
            }
        }
        if !written && !isTaker {
            block.product.update(repeating: 0, count: jointWidth * GH)
            if separateInput { block.inputProduct.update(repeating: 0, count: inputJointWidth * GH) }
        }
    }

    /// Chunk `chunk` of a block whose rows two threads share: when both have written their rows of
    /// the chunk buffers, the owner adds the first half of the products' columns and the taker
    /// (`asTaker`) the second; each returns when both have.
    func addSharedChunk(_ block: BackwardBlock<Scalar>, index: Int, chunk: Int, rows: Int, first: Bool, asTaker: Bool,
                        _ sharing: RecurrentRowSharing) {
        sharing.meet(index, asTaker: asTaker, phase: 2 * chunk + 1)
        if rows > 0 { accumulateWeightGradients(block, rows: rows, first: first, half: asTaker ? 1 : 0) }
        sharing.meet(index, asTaker: asTaker, phase: 2 * chunk + 2)
    }

    /// Block `index`'s slices of the chunk buffers and products, all its rows to compute.
    func makeBlock(_ index: Int) -> BackwardBlock<Scalar> {
        let (b0, n) = blocks[index]
        let chunk = index * chunkBlockRows, step = index * (chunkBlockRows / chunkSteps) * GH
        return BackwardBlock(
            b0: b0, rows: n, first: b0, count: n, dGx: dGx + chunk * GH, dGh: separateInput ? dGh + chunk * GH : dGx + chunk * GH,
            stepDGx: stepDGx + step, stepDGh: separateInput ? stepDGh + step : stepDGx + step,
            joint: joint + chunk * jointWidth,
            inputJoint: separateInput ? inputJoint + chunk * inputJointWidth : joint + chunk * jointWidth,
            product: product + index * jointWidth * GH,
            inputProduct: separateInput ? inputProduct + index * inputJointWidth * GH : product + index * jointWidth * GH)
    }

    var reverse: Bool { direction == 1 }

    /// The block's rows inside their sequence at each step t: how many rows are longer than t
    /// (a count of each length, summed from the longest down).
    func activeRows(_ block: BackwardBlock<Scalar>) -> [Int] {
        let (b0, n) = (block.b0, block.rows)
        guard ragged else { return [Int](repeating: n, count: T) }
        var active = [Int](repeating: 0, count: T + 1)
        for b in b0..<(b0 + n) { active[Swift.min(lengths[b], T)] += 1 }   // rows of length l, at index l
        for t in stride(from: T - 1, through: 0, by: -1) { active[t] += active[t + 1] }
        return Array(active[1...])   // rows longer than t: of length t + 1 or more
    }

    /// Which of the block's rows are inside their sequence at step t, and their slots.
    @inline(__always)
    func findRows(t: Int, b0: Int, rows n: Int, into rows: inout StepRows) {
        if !ragged {   // slots stay 0..<n
            rows.count = n
            return
        }
        if sorted {
            // The first `active` rows: the same rows and slots as the step before when as many.
            var active = 0
            while active < n && t < lengths[b0 + active] { active += 1 }
            if active == rows.count && rows.known { return }
            rows.known = true
        }
        rows.count = 0
        rows.inPlace = true
        for b in b0..<(b0 + n) {
            let p = callerOrder[b]   // the caller's b-th row of the block, in the engine's order
            guard t < lengths[p] else { continue }
            rows.slot[p - b0] = rows.count
            if p - b0 != rows.count { rows.inPlace = false }
            rows.count += 1
        }
    }

    /// Step s of the block's rows inside their sequence (rows `local` on in the chunk buffers), of
    /// those in `block.first..<block.first + block.count`: the joint rows, the gate gradients, the
    /// step's rows of dX, and dh_{t-1}.
    @inline(__always)
    func stepBack(_ s: Int, local: Int, _ block: BackwardBlock<Scalar>, _ rows: inout StepRows, _ memory: BackwardMemory<Scalar>) {
        let (b0, n) = (block.b0, block.rows)
        let (first, end) = (block.first, block.first + block.count)
        let t = reverse ? T - 1 - s : s
        let prevT = reverse ? t + 1 : t - 1
        let hPrev = s == 0 ? UnsafePointer(h0) : memory.hs + prevT * B * H
        let cPrev = mode == .lstm ? (s == 0 ? UnsafePointer(c0) : UnsafePointer(cs! + prevT * B * H)) : hPrev
        findRows(t: t, b0: b0, rows: n, into: &rows)
        // The rows to test against their length; none when sorted (the block's first rows.count).
        let activeEnd = sorted ? Swift.max(first, Swift.min(end, b0 + rows.count)) : end
        let test = ragged && !sorted
        // Rows past their end: dX is zero there (the second direction adds nothing).
        if ragged && direction == 0 && inputWeights != nil, let dX = memory.dX {   // (dX is wanted)
            for b in (sorted ? activeEnd : first)..<end where t >= lengths[b] {
                (dX + (t * B + b) * I).update(repeating: 0, count: I)
            }
        }
        if rows.count == 0 { return }
        gatherJointRows(t: t, local: local, hPrev: hPrev, block, rows, first..<activeEnd, test: test, x: memory.x, inputRows: memory.inputRows)
        // Row b of the batch at dgx + (b - b0)·G·H: in the chunk buffers when in place, else in the step's buffer.
        let dgx = (rows.inPlace ? block.dGx + local * GH : block.stepDGx) - b0 * GH
        let dgh = separateInput ? (rows.inPlace ? block.dGh + local * GH : block.stepDGh) - b0 * GH : dgx
        var start = first
        while start < activeEnd {
            guard !test || t < lengths[start] else { start += 1; continue }
            var stop = start + 1
            while stop < activeEnd && (!test || t < lengths[stop]) { stop += 1 }
            stepBackRows(s, t: t, b0: start, rows: stop - start, hPrev: hPrev, cPrev: cPrev, dgx: dgx, dgh: dgh, memory)
            start = stop
        }
        if rows.inPlace { return }
        // The step's gate gradients into the chunk buffers, in the caller's order.
        for b in first..<activeEnd where !test || t < lengths[b] {
            let target = local + rows.slot[b - b0]
            (block.dGx + target * GH).update(from: dgx + b * GH, count: GH)
            if separateInput { (block.dGh + target * GH).update(from: dgh + b * GH, count: GH) }
        }
    }

    /// Step s for rows `b0..<b0 + rows`, all inside their sequence: their gate gradients (row b at
    /// dgx + b·G·H), their rows of dX (the second direction adds to the first's) and dh_{t-1}.
    @inline(__always)
    func stepBackRows(_ s: Int, t: Int, b0: Int, rows n: Int, hPrev: UnsafePointer<Scalar>, cPrev: UnsafePointer<Scalar>,
                      dgx: UnsafeMutablePointer<Scalar>, dgh: UnsafeMutablePointer<Scalar>, _ memory: BackwardMemory<Scalar>) {
        let row = t * B + b0
        RecurrentEngine.stepBackward(
            mode, rows: n, H: H, dh: dh + b0 * H,
            out: memory.dOut + (batchFirst ? b0 * T + t : row) * D * H + direction * H,
            outStride: (batchFirst ? T : 1) * D * H, h: memory.hs + row * H,
            gates: gates.map { UnsafePointer($0 + row * GH) }, c: cs.map { UnsafePointer($0 + row * H) },
            newGateHidden: newGateHidden.map { UnsafePointer($0 + row * H) },
            cPrev: cPrev + b0 * H, hPrev: hPrev + b0 * H, dc: dc + b0 * H, dzx: dgx + b0 * GH, dzh: dgh + b0 * GH,
            dhPrevThroughZ: dhPrevThroughZ + b0 * H)
        prefetchNextStep(s, t: t, b0: b0, rows: n, memory)
        inputWeights?.multiply(m: n, a: UnsafePointer(dgx + b0 * GH), lda: GH, beta: direction == 0 ? 0 : 1,
                               c: memory.dX! + row * I, ldc: I)
        // Without h0 the gradient of the zero initial state is not wanted.
        if s == 0 && !hasH0 { return }
        // dh_{t-1} = dG_h · W_hh (+ dh_t·z for GRU); rows past their end keep dh. The step kernel
        // has read these rows of dh already, so the product writes them in place (GRU adds dh_t·z).
        let (first, last, dh, throughWeights, throughZ) = (b0 * H, (b0 + n) * H, dh, dhPrevThroughWeights, dhPrevThroughZ)
        guard mode == .gru else {
            hiddenWeights.multiply(m: n, a: UnsafePointer(dgh + b0 * GH), lda: GH, c: dh + first, ldc: H)
            return
        }
        hiddenWeights.multiply(m: n, a: UnsafePointer(dgh + b0 * GH), lda: GH, c: throughWeights + first, ldc: H)
        for i in first..<last { dh[i] = throughWeights[i] + throughZ[i] }
    }

    /// Queues these rows' gate cache and output gradient at the next step back (with GRU's W_hn·h),
    /// and their cell and hidden states the step after, to be prefetched during this step's products
    /// (`ember_prefetch_during_next_product`): the forward kernels stored the gate cache past the
    /// caches (non-temporal), and the cell kernel otherwise waits on memory for it. Changes no value.
    @inline(__always)
    func prefetchNextStep(_ s: Int, t: Int, b0: Int, rows n: Int, _ memory: BackwardMemory<Scalar>) {
        guard s >= 1 else { return }
        let size = MemoryLayout<Scalar>.stride
        let next = reverse ? t + 1 : t - 1
        if let gates { ember_prefetch_during_next_product(gates + (next * B + b0) * GH, n * GH * size, 0) }
        let out = memory.dOut + (batchFirst ? b0 * T + next : next * B + b0) * D * H + direction * H
        ember_prefetch_rows_during_next_product(out, H * size, n, (batchFirst ? T : 1) * D * H * size, 0)
        if let newGateHidden { ember_prefetch_during_next_product(newGateHidden + (next * B + b0) * H, n * H * size, 0) }
        guard s >= 2 else { return }
        let after = reverse ? t + 2 : t - 2
        if let cs { ember_prefetch_during_next_product(cs + (after * B + b0) * H, n * H * size, 0) }
        ember_prefetch_during_next_product(memory.hs + (after * B + b0) * H, n * H * size, 0)
    }

    /// Step t's rows inside their sequence of the block's joint operands, [h_{t-1} | x_t | 1] (or
    /// [h_{t-1} | 1] and [x_t | 1]), each at its slot after row `local` (padding, even NaN, never
    /// reaches the weights): the rows of `range`, those past their end skipped when `test`.
    @inline(__always)
    func gatherJointRows(t: Int, local: Int, hPrev: UnsafePointer<Scalar>, _ block: BackwardBlock<Scalar>, _ rows: StepRows,
                         _ range: Range<Int>, test: Bool, x: UnsafePointer<Scalar>, inputRows: RecurrentInputRows) {
        // Locals, so that the loop keeps them in registers rather than reloading them per row.
        let (H, I, jointWidth, inputJointWidth) = (H, I, jointWidth, inputJointWidth)
        let (separateInput, hasBias, lengths) = (separateInput, hasBias, lengths)
        for b in range {
            if test && t >= lengths[b] { continue }
            let place = local + rows.slot[b - block.b0]
            let row = block.joint + place * jointWidth
            let inputRow = separateInput ? block.inputJoint + place * inputJointWidth : row + H
            row.update(from: hPrev + b * H, count: H)
            inputRow.update(from: x + inputRows.offset(t: t, b: b), count: I)
            if hasBias {
                inputRow[I] = 1
                if separateInput { row[H] = 1 }
            }
        }
    }
}
