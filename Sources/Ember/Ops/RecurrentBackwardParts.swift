// The backward pass when there are more threads than blocks of rows. The blocks (`backwardBlocks(B)`)
// are fixed by the batch size, because each keeps its own weight-gradient products and those are
// summed in block order; more threads cannot mean more blocks without changing the sums. Instead
// each block is cut into parts of rows (`backwardSubBlocks`) that take a chunk of steps back at the
// same time, each writing its own rows of its block's chunk buffers (the layout `runBlock` uses);
// then every block adds the chunk to its products, the products cut into pieces of their result
// (`GEMMPieces`) over all threads. Each block's products get the same rows in the same order as in
// `runBlock`, and each element one chain of multiply-adds, so the results are its bits. The price
// is a pair of parallel regions per chunk, which is why fewer threads keep `runBlock`.

extension BackwardDirection {
    /// Every block back through the sequence in `parts` parts of rows each, chunk by chunk, on
    /// `threads` threads, then the blocks' products summed by `weightGradients`. A block's chunk with no row
    /// inside its sequence adds nothing; a block with none at all gets zeros (as in `runBlock`).
    func runInParts(_ parts: Int, threads: Int, _ memory: BackwardMemory<Scalar>) {
        let wholeBlocks = blocks.indices.map { makeBlock($0) }
        let partBlocks = wholeBlocks.flatMap { block in
            RecurrentEngine.evenSplit(block.rows, into: parts, from: block.b0).map { part in
                var view = block
                (view.first, view.count) = (part.start, part.count)
                return view
            }
        }
        let active = wholeBlocks.map { activeRows($0) }
        // Each part's own record of which of its block's rows each step has.
        var stepRows = partBlocks.map { StepRows(slot: Array(0..<$0.rows)) }
        var written = [Bool](repeating: false, count: blocks.count)
        let piecesPerBlock = Swift.max(1, threads / blocks.count)
        let pieces = GEMMPieces(m: jointWidth, n: GH, parts: piecesPerBlock)
        let inputPieces = GEMMPieces(m: inputJointWidth, n: GH, parts: piecesPerBlock)
        for sHi in stride(from: T - 1, through: 0, by: -chunkSteps) {
            let sLo = Swift.max(0, sHi - chunkSteps + 1)
            let tFirst = reverse ? T - 1 - sHi : sLo
            // Per block, step t's rows start in the chunk buffers after those of the chunk's earlier steps.
            let starts = active.map { active in
                (tFirst...(tFirst + sHi - sLo)).reduce(into: [0]) { $0.append($0.last! + active[$1]) }
            }
            stepRows.withUnsafeMutableBufferPointer { stepRows in
                let rowsOfPart = stepRows.baseAddress!
                WorkerPool.shared.run(chunks: partBlocks.count, threads: threads) { index in
                    let starts = starts[index / parts]
                    for s in stride(from: sHi, through: sLo, by: -1) {
                        let t = reverse ? T - 1 - s : s
                        stepBack(s, local: starts[t - tFirst], partBlocks[index], &rowsOfPart[index], memory)
                    }
                }
            }
            let rows = starts.map { $0.last! }
            addChunk(wholeBlocks, rows: rows, written: written, pieces: pieces, inputPieces: inputPieces, threads: threads)
            for block in blocks.indices where rows[block] > 0 { written[block] = true }
        }
        for (block, whole) in zip(written, wholeBlocks) where !block {
            whole.product.update(repeating: 0, count: jointWidth * GH)
            if separateInput { whole.inputProduct.update(repeating: 0, count: inputJointWidth * GH) }
        }
    }

    /// A chunk's weight gradients, `rows[b]` rows for block b (none: nothing added), into each
    /// block's products (written by its first chunk with rows, added by the rest): one block's
    /// products split over every core by themselves, several blocks' in pieces in one region.
    func addChunk(_ blocks: [BackwardBlock<Scalar>], rows: [Int], written: [Bool], pieces: GEMMPieces,
                  inputPieces: GEMMPieces, threads: Int) {
        if blocks.count == 1 {
            if rows[0] > 0 { accumulateWeightGradients(blocks[0], rows: rows[0], first: !written[0]) }
            return
        }
        let regionPieces = pieces.count + (separateInput ? inputPieces.count : 0)
        WorkerPool.shared.run(chunks: blocks.count * regionPieces, threads: threads) { index in
            let b = index / regionPieces, piece = index % regionPieces
            guard rows[b] > 0 else { return }
            let block = blocks[b], beta: Scalar = written[b] ? 1 : 0
            if piece < pieces.count {
                pieces.run(piece, transA: true, transB: false, m: jointWidth, n: GH, k: rows[b], a: block.joint,
                           lda: jointWidth, b: block.dGh, ldb: GH, beta: beta, c: block.product, ldc: GH)
            } else {
                inputPieces.run(piece - pieces.count, transA: true, transB: false, m: inputJointWidth, n: GH, k: rows[b],
                                a: block.inputJoint, lda: inputJointWidth, b: block.dGx, ldb: GH, beta: beta,
                                c: block.inputProduct, ldc: GH)
            }
        }
    }
}
