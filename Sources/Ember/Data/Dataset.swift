// MARK: - Datasets and batching

/// A collection of samples that can serve a whole batch at once (so no per-sample tensors are built
/// in the hot path).
public protocol Dataset {
    /// What a batch is, e.g. `(images: Tensor<Float>, labels: [Int])`.
    associatedtype Batch
    /// Number of samples.
    var count: Int { get }
    /// The samples at `indices`, in that order, as one batch.
    func batch(_ indices: [Int]) -> Batch
}

/// Iterates a dataset in batches, as PyTorch's `DataLoader`: `batchSize` samples per batch,
/// optionally shuffled, with the last partial batch kept unless `dropLast`.
///
/// Shuffling is reproducible: epoch `e` uses a permutation determined by `(seed, e)`, and every new
/// pass (`for batch in loader`) is the next epoch, so each epoch is shuffled differently.
/// ```swift
/// let loader = DataLoader(train, batchSize: 64, shuffle: true, seed: 0)
/// for (images, labels) in loader { ... }   // images [B, 28, 28]
/// ```
public final class DataLoader<D: Dataset>: Sequence {
    public let dataset: D
    public let batchSize: Int
    public let shuffle: Bool
    public let seed: UInt64
    public let dropLast: Bool
    /// The epoch the next pass will be (starts at 0; set it to resume).
    public var epoch: Int = 0

    public init(_ dataset: D, batchSize: Int, shuffle: Bool = false, seed: UInt64 = 0, dropLast: Bool = false) {
        precondition(batchSize > 0, "DataLoader: expected a positive batchSize, got \(batchSize)")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
    }

    /// Batches per epoch.
    public var count: Int { dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize }

    /// The sample order of `epoch`.
    public func order(epoch: Int) -> [Int] {
        var indices = Array(0..<dataset.count)
        guard shuffle else { return indices }
        var g = SeededGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(truncatingIfNeeded: epoch) &+ 1)
        // Fisher–Yates with Ember's generator (the same on every platform).
        for i in stride(from: indices.count - 1, to: 0, by: -1) {
            indices.swapAt(i, g.nextInt(below: i + 1))
        }
        return indices
    }

    public struct Iterator: IteratorProtocol {
        let dataset: D
        let order: [Int]
        let batchSize: Int
        let dropLast: Bool
        var position = 0

        public mutating func next() -> D.Batch? {
            let remaining = order.count - position
            guard remaining > 0, !(dropLast && remaining < batchSize) else { return nil }
            let end = position + Swift.min(batchSize, remaining)
            defer { position = end }
            return dataset.batch(Array(order[position..<end]))
        }
    }

    /// Starts the next epoch.
    public func makeIterator() -> Iterator {
        defer { epoch += 1 }
        return Iterator(dataset: dataset, order: order(epoch: epoch), batchSize: batchSize, dropLast: dropLast)
    }
}
