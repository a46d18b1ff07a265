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
/// Shuffling draws exactly what PyTorch's draws, so the same seed visits the samples in the same order:
/// - without a seed (as `DataLoader(ds, shuffle=True)`), each pass draws its order from the default
///   generator when it starts (see `manualSeed`);
/// - with a seed (as `DataLoader(ds, shuffle=True, generator=torch.Generator().manual_seed(seed))`),
///   epoch `e`'s order depends only on `(seed, e)`: it is the order PyTorch gives its epoch `e` when
///   the earlier epochs were iterated to their end.
///
/// Every new pass (`for batch in loader`) is the next epoch, so each epoch is shuffled differently.
/// ```swift
/// let loader = DataLoader(train, batchSize: 64, shuffle: true, seed: 0)
/// for (images, labels) in loader { ... }   // images [B, 28, 28]
/// ```
///
/// Given a `BatchSampler` instead (as PyTorch's `batch_sampler=`), the loader serves the batches the
/// sampler makes for each epoch, e.g. `BucketBatchSampler`'s batches of similar lengths.
public final class DataLoader<D: Dataset>: Sequence {
    /// The dataset batches are drawn from.
    public let dataset: D
    /// Samples per batch (positive); the last batch may be smaller unless `dropLast`.
    public let batchSize: Int
    /// Whether each epoch visits the samples in a new random order (default false: in index order).
    public let shuffle: Bool
    /// The shuffling seed, or nil when each pass draws its order from the default generator.
    public let seed: UInt64?
    /// Whether a last batch smaller than `batchSize` is left out (default false).
    public let dropLast: Bool
    /// The sampler that makes each epoch's batches, or nil when the loader batches `order(epoch:)` itself.
    public let batchSampler: (any BatchSampler)?
    /// The epoch the next pass will be (starts at 0). With a seed, set it to resume at that epoch's
    /// order; without one, use `skipEpoch()`, which also makes the default generator's draws.
    public var epoch: Int = 0
    /// A seeded loader's generator as it stands at the start of epoch `cached.epoch` (saves replaying
    /// the draws of earlier epochs).
    private var cached: (epoch: Int, generator: TorchGenerator)?

    /// `DataLoader(dataset, batch_size, shuffle=False, drop_last=False)`, with `seed` standing for
    /// `generator=torch.Generator().manual_seed(seed)` (nil: the default generator). Stops with a message
    /// unless `batchSize` is positive.
    public init(_ dataset: D, batchSize: Int, shuffle: Bool = false, seed: UInt64? = nil, dropLast: Bool = false) {
        require(batchSize > 0, "DataLoader: expected a positive batchSize, got \(batchSize)")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
        self.batchSampler = nil
    }

    /// `DataLoader(dataset, batch_sampler=sampler)`: epoch `e` serves `sampler.batches(epoch: e)`, in
    /// that order (`batchSize` is the sampler's; `shuffle` and `dropLast` are the sampler's business).
    /// Stops with a message when a sampled index is outside the dataset (checked per batch).
    public init(_ dataset: D, batchSampler: some BatchSampler) {
        self.dataset = dataset
        self.batchSize = batchSampler.batchSize
        self.shuffle = false
        self.seed = nil
        self.dropLast = false
        self.batchSampler = batchSampler
    }

    /// Batches per epoch.
    public var count: Int {
        if let batchSampler { return batchSampler.count }
        return dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// 32-bit draws one epoch takes from a seeded loader's generator: a 64-bit base seed (PyTorch's
    /// per-worker seed), the permutation, and the permutation PyTorch's sampler starts (and drops)
    /// when the epoch ends.
    private var drawsPerEpoch: Int { 2 + 2 * Swift.max(dataset.count - 1, 0) }

    /// The sample order of `epoch` for a loader with a seed (or without shuffling); with a batch
    /// sampler, its batches of `epoch` one after another.
    public func order(epoch: Int) -> [Int] {
        if let batchSampler { return batchSampler.batches(epoch: epoch).flatMap { $0 } }
        guard shuffle else { return Array(0..<dataset.count) }
        guard let seed else {
            requireFailure("DataLoader.order(epoch:): this loader has no seed, so each pass draws its order from the default generator when it starts; create it with a seed to ask for an epoch's order")
        }
        require(epoch >= 0, "DataLoader.order(epoch:): expected a non-negative epoch, got \(epoch)")
        var g: TorchGenerator
        if let cached, cached.epoch <= epoch {
            g = cached.generator
            g.discard((epoch - cached.epoch) * drawsPerEpoch)
        } else {
            g = TorchGenerator(seed: seed)
            g.discard(epoch * drawsPerEpoch)
        }
        var next = g
        next.discard(drawsPerEpoch)
        cached = (epoch + 1, next)
        _ = g.random64()
        return g.randperm(dataset.count)
    }

    /// The order of the pass that starts now: `order(epoch:)`, or, without a seed, a permutation
    /// drawn as PyTorch's RandomSampler draws it (the base seed, then the sampler's own seed, both
    /// from the default generator).
    private func startEpoch() -> [Int] {
        guard shuffle, seed == nil else { return order(epoch: epoch) }
        let samplerSeed = withDefaultGenerator { g in
            _ = g.random64()
            return g.random64()
        }
        var g = TorchGenerator(seed: samplerSeed)
        return g.randperm(dataset.count)
    }

    /// Moves on one epoch without iterating it, making the same draws a pass would (how a resumed
    /// run reaches the order its next epoch would have had).
    public func skipEpoch() {
        if let batchSampler { _ = batchSampler.batches(epoch: epoch) } else { _ = startEpoch() }
        epoch += 1
    }

    /// One epoch's batches, in the order drawn when the pass started.
    public struct Iterator: IteratorProtocol {
        let dataset: D
        let order: [Int]
        let batchSize: Int
        let dropLast: Bool
        /// A batch sampler's batches, served instead of cutting `order` into `batchSize` pieces.
        var batches: [[Int]]? = nil
        var position = 0

        /// The next `batchSize` samples (fewer at the end unless `dropLast`), or nil after the last batch.
        public mutating func next() -> D.Batch? {
            if let batches {
                guard position < batches.count else { return nil }
                defer { position += 1 }
                for i in batches[position] {
                    require(i >= 0 && i < dataset.count, "DataLoader: the batch sampler gave index \(i), out of range for a dataset of \(dataset.count) samples")
                }
                return dataset.batch(batches[position])
            }
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
        if let batchSampler {
            return Iterator(dataset: dataset, order: [], batchSize: batchSize, dropLast: false, batches: batchSampler.batches(epoch: epoch))
        }
        return Iterator(dataset: dataset, order: startEpoch(), batchSize: batchSize, dropLast: dropLast)
    }
}
