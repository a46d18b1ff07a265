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
    /// values, 512 KiB for LSTM-128) are still in its core's cache then (BENCHMARKS.md).
    static let chunkRows = 256

    /// `chunkRows`, or every row at once when all steps' gate gradients ([T·B, G·H]) are below 2¹⁸
    /// values and stay in cache anyway, saving each chunk's pair of parallel regions (BENCHMARKS.md).
    static func defaultChunkRows(T: Int, B: Int, GH: Int) -> Int {
        T * B * GH < 1 << 18 ? T * B : chunkRows
    }
}
