// The order the recurrent engine runs a ragged batch's rows in: within each of the backward pass's
// blocks of rows, by descending length (stably), as PyTorch's pack_padded_sequence sorts a batch.
// Then at step t the rows still inside their sequence are the first rows of each block, so each
// step's products run on those rows alone and rows that have ended cost nothing. Rows never interact
// in the recurrence, and each matrix product's element is one chain of multiply-adds over K whatever
// the rows around it, so every row's results keep their bits. The weight gradients, sums over the
// rows of a block, keep theirs too: the backward pass adds the rows in the caller's order (see
// `BackwardDirection.runBlock`). The caller's tensors are permuted into this order on the way in and
// back on the way out (`Variable+Recurrent.swift`).

struct RecurrentRowOrder: Sendable {
    /// Row p of the engine's order is the caller's row `rows[p]`.
    let rows: [Int]

    /// The order for `lengths` of a batch of `lengths.count` rows and `T` steps, or nil when the
    /// caller's order is that order already (every block's lengths non-increasing, or none ragged).
    init?(lengths: [Int], T: Int) {
        guard Self.needsOrdering(lengths: lengths) else { return nil }
        var rows: [Int] = []
        rows.reserveCapacity(lengths.count)
        let countingSort = lengths.allSatisfy { (0...T).contains($0) }
        for block in RecurrentEngine.backwardBlocks(lengths.count) {
            let range = block.start..<(block.start + block.count)
            // Stable: ties keep the caller's order.
            rows += countingSort ? Self.byDescendingLength(range, lengths: lengths, T: T)
                : range.sorted { lengths[$0] != lengths[$1] ? lengths[$0] > lengths[$1] : $0 < $1 }
        }
        self.rows = rows
    }

    /// The rows of `range` by descending length, ties in their order: a counting sort over the
    /// lengths 0...T (a comparison sort with its closure cost more than the rest of the ordering).
    static func byDescendingLength(_ range: Range<Int>, lengths: [Int], T: Int) -> [Int] {
        var next = [Int](repeating: 0, count: T + 2)   // where rows of length T - k go, at index k + 1
        for b in range { next[T - lengths[b] + 1] += 1 }
        for k in 1...(T + 1) { next[k] += next[k - 1] }
        var sorted = [Int](repeating: 0, count: range.count)
        for b in range {
            sorted[next[T - lengths[b]]] = b
            next[T - lengths[b]] += 1
        }
        return sorted
    }

    /// Whether some block of `backwardBlocks` has a row longer than the one before it.
    static func needsOrdering(lengths: [Int]) -> Bool {
        !isDescendingWithinBlocks(lengths)
    }

    /// Whether the passes skip the rows past their end at each step of a `T`-step batch: it is
    /// ragged and every block's rows are in descending order of length, so the rows still inside
    /// their sequence are each block's first. The forward and backward passes both ask this.
    static func skipsEndedRows(_ lengths: [Int], T: Int) -> Bool {
        lengths.contains { $0 < T } && isDescendingWithinBlocks(lengths)
    }

    /// Whether every block of `backwardBlocks(lengths.count)` has non-increasing lengths: then the
    /// rows inside their sequence at any step are the first of each block.
    static func isDescendingWithinBlocks(_ lengths: [Int]) -> Bool {
        for block in RecurrentEngine.backwardBlocks(lengths.count) where block.count > 1 {
            for b in (block.start + 1)..<(block.start + block.count) where lengths[b] > lengths[b - 1] { return false }
        }
        return true
    }

    /// `values` in the engine's order.
    func toEngine(_ values: [Int]) -> [Int] { rows.map { values[$0] } }

    /// `tensor` with its rows along `axis` (of the batch's size) in the engine's order: row p is the caller's row `rows[p]`.
    func toEngine<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>, axis: Int) -> Tensor<Scalar> {
        permuted(tensor, axis: axis, toEngine: true)
    }

    /// `tensor` with its rows along `axis` back in the caller's order: the caller's row `rows[p]` is row p.
    func toCaller<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>, axis: Int) -> Tensor<Scalar> {
        permuted(tensor, axis: axis, toEngine: false)
    }

    /// Rows moved as raw bytes (a memcpy each), not through `update(from:count:)`, which this
    /// generic function calls unspecialized, element by element through the runtime.
    private func permuted<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>, axis: Int, toEngine: Bool) -> Tensor<Scalar> {
        let shape = tensor.shape
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *), count = shape[axis]
        let stride = MemoryLayout<Scalar>.stride, rowBytes = inner * stride
        var result: [Scalar] = uninitializedScalars(outer * count * inner)
        tensor.withBase { source in
            result.withUnsafeMutableBufferPointer { target in
                let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(target.baseAddress!)
                for o in 0..<outer {
                    let base = o * count * rowBytes
                    for p in 0..<count {
                        let (s, d) = toEngine ? (rows[p], p) : (p, rows[p])
                        (to + base + d * rowBytes).copyMemory(from: from + base + s * rowBytes, byteCount: rowBytes)
                    }
                }
            }
        }
        return Tensor(shape: shape, scalars: result)
    }
}
