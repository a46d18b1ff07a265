// MARK: - Datasets from tensors and arrays

/// Samples laid out along a first axis, so that a batch is the rows at some indices: a `Tensor`
/// (rows along axis 0) or an `Array` (its elements: `[Int]` labels, `[Tensor<Float>]` sequences of
/// different lengths, ...). What `TensorDataset` is built from.
public protocol DatasetColumn {
    /// The number of samples (rows along the first axis).
    var sampleCount: Int { get }
    /// The samples at `indices`, in that order (indices are in `0..<sampleCount`; repeats allowed).
    func samples(at indices: [Int]) -> Self
}

extension Tensor: DatasetColumn {
    /// The size of axis 0; stops with a message for a rank-0 tensor.
    public var sampleCount: Int {
        require(rank >= 1, "TensorDataset: expected tensors of shape [N, *], got a rank-0 tensor")
        return shape[0]
    }

    /// The rows at `indices` along axis 0: shape `[indices.count, *]`. Stops with a message for an
    /// index outside `0..<shape[0]`.
    public func samples(at indices: [Int]) -> Tensor {
        let n = sampleCount, row = n == 0 ? 0 : count / n
        for i in indices { require(i >= 0 && i < n, "TensorDataset: index \(i) is out of range for \(n) samples (shape \(describe(shape)))") }
        return withUnsafeBufferPointer { source in
            Tensor(shape: [indices.count] + shape.dropFirst(), unsafeUninitializedScalars: { out in
                for (k, i) in indices.enumerated() {
                    _ = UnsafeMutableBufferPointer(rebasing: out[(k * row)..<((k + 1) * row)])
                        .initialize(from: source[(i * row)..<((i + 1) * row)])
                }
            })
        }
    }
}

extension Array: DatasetColumn {
    /// The number of elements.
    public var sampleCount: Int { count }

    /// The elements at `indices`. Stops with a message for an index outside `0..<count`.
    public func samples(at indices: [Int]) -> [Element] {
        indices.map { i in
            require(i >= 0 && i < count, "TensorDataset: index \(i) is out of range for \(count) samples")
            return self[i]
        }
    }
}

/// A dataset whose samples are the rows of two columns indexed together, as PyTorch's
/// `torch.utils.data.TensorDataset(inputs, targets)`: sample `i` is `(inputs[i], targets[i])`, and
/// a batch is the rows at its indices, `(inputs: [B, *], targets: [B, *])`.
///
/// Columns are tensors (rows along axis 0) or arrays: `[Int]` class labels, or `[Tensor<Float>]`
/// sequences of different lengths to pad per batch with `padSequence`.
///
/// ```swift
/// let x = Tensor<Float>(shape: [4, 2], scalars: [0, 1, 2, 3, 4, 5, 6, 7])
/// let data = TensorDataset(x, [0, 1, 1, 0])
/// let (inputs, targets) = data.batch([3, 0])   // inputs [[6, 7], [0, 1]], targets [0, 0]
/// for (inputs, targets) in DataLoader(data, batchSize: 2, shuffle: true, seed: 0) { ... }
/// ```
public struct TensorDataset<Inputs: DatasetColumn, Targets: DatasetColumn>: Dataset {
    /// The inputs, one sample per row.
    public let inputs: Inputs
    /// The targets, one sample per row.
    public let targets: Targets

    /// Pairs `inputs` and `targets` row by row. Stops with a message unless both have the same number
    /// of samples (first dimension).
    public init(_ inputs: Inputs, _ targets: Targets) {
        require(inputs.sampleCount == targets.sampleCount,
                "TensorDataset: expected inputs and targets with the same number of samples, got \(inputs.sampleCount) and \(targets.sampleCount)")
        self.inputs = inputs
        self.targets = targets
    }

    /// The number of samples.
    public var count: Int { inputs.sampleCount }

    /// The rows at `indices` of both columns.
    public func batch(_ indices: [Int]) -> (inputs: Inputs, targets: Targets) {
        (inputs.samples(at: indices), targets.samples(at: indices))
    }
}
