// The fused recurrent layers' engine: a whole multi-layer, possibly bidirectional RNN/LSTM/GRU over a
// whole sequence, with a hand-written backpropagation through time. This file holds the cell kinds,
// the configuration and how the batch is split into blocks of rows; the passes are in
// RecurrentForward.swift (training), RecurrentInference.swift (no graph), RecurrentBackward.swift,
// their buffers in RecurrentWorkspace.swift and one cell step in RecurrentCells.swift.

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

enum RecurrentEngine {
    /// The fewest rows a block of rows gets when blocks are added for more cores: more than one
    /// register tile of the GEMM micro-kernel (6 rows on AVX2, 12 on AVX-512), so that each step's
    /// products are not mostly edge handling.
    static let minimumBlockRows = 16

    /// The blocks of rows (start, count) the recurrence of a batch of `B` is split into on `threads`
    /// threads: one block below 64 rows, else blocks of about 32, and, when there are more threads
    /// than that, as many blocks as threads as long as each keeps `minimumBlockRows` rows. Rows never
    /// interact and each row is computed alike in any block, so the split follows the thread count
    /// without changing any result.
    static func recurrenceBlocks(_ B: Int, threads: Int = emberThreadCount) -> [(start: Int, count: Int)] {
        let fixed = B < 64 ? 1 : B / 32
        let count = threads > fixed ? Swift.max(fixed, Swift.min(threads, B / minimumBlockRows)) : fixed
        return evenSplit(B, into: count)
    }

    /// The blocks of rows the backward pass of a batch of `B` runs in: `recurrenceBlocks(B)` on one
    /// thread, at most 8 of them (blocks of `B / 8` rows above 256), since each keeps its own
    /// weight-gradient products. Fixed by `B` alone, since the products are summed block by block:
    /// more threads split each block further (`backwardSubBlocks`), which changes no sum.
    static func backwardBlocks(_ B: Int) -> [(start: Int, count: Int)] {
        let count = B < 64 ? 1 : Swift.min(8, B / 32)
        return evenSplit(B, into: count)
    }

    /// How many parts each of `blocks` is cut into for its steps back through the sequence on
    /// `threads` threads: 1 (each block on one core) unless there are more threads than blocks, then
    /// enough parts for every thread as long as each keeps `minimumBlockRows` rows.
    static func backwardSubBlocks(_ blocks: [(start: Int, count: Int)], threads: Int) -> Int {
        guard threads > blocks.count else { return 1 }
        let smallest = blocks.map(\.count).min() ?? 0
        let wanted = (threads + blocks.count - 1) / blocks.count
        return Swift.max(1, Swift.min(wanted, smallest / minimumBlockRows))
    }

    /// `n` rows as `count` consecutive ranges whose sizes differ by at most one.
    static func evenSplit(_ n: Int, into count: Int, from start: Int = 0) -> [(start: Int, count: Int)] {
        (0..<count).map { k in (start + k * n / count, (k + 1) * n / count - k * n / count) }
    }

    /// About how many of its rows (steps × the block's rows) a block of the backward pass takes back
    /// through the sequence before adding their weight gradients: their gate gradients (256 × G·H
    /// values, 512 KiB for LSTM-128) are still in its core's cache then (BENCHMARKS.md).
    static let chunkRows = 256

    /// `chunkRows`, or every row at once when all steps' gate gradients ([T·B, G·H]) are below 2¹⁸
    /// values and stay in cache anyway, saving each chunk's pair of parallel regions (BENCHMARKS.md).
    static func defaultChunkRows(T: Int, B: Int, GH: Int) -> Int {
        T * B * GH < 1 << 18 ? T * B : chunkRows
    }
}
