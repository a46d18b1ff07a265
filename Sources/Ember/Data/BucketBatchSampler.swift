// MARK: - Batch samplers

/// Decides which samples go together in each batch of an epoch, as a PyTorch `batch_sampler`:
/// `DataLoader(dataset, batchSampler: sampler)` asks it for epoch `e`'s batches when pass `e` starts.
public protocol BatchSampler {
    /// The most samples one batch holds.
    var batchSize: Int { get }
    /// Batches per epoch.
    var count: Int { get }
    /// The batches of `epoch` (starting at 0), each a list of dataset indices.
    func batches(epoch: Int) -> [[Int]]
}

/// Batches of sequences of similar length, so that padding a batch to its longest sequence wastes
/// little: each epoch shuffles the indices, cuts them into buckets of `batchesPerBucket · batchSize`
/// samples, sorts each bucket by length (longest first; ties keep the shuffled order), cuts the sorted
/// buckets into batches of `batchSize`, and shuffles the batches.
///
/// Every index appears exactly once per epoch (less the last partial batch when `dropLast`); only
/// the last bucket can end in a partial batch. With `shuffle: false` nothing is random: buckets are
/// consecutive indices and batches come in bucket order. Core PyTorch has no such sampler (it is the
/// "bucket iterator" of torchtext and fairseq); the sorting within random buckets is theirs.
///
/// With a seed, epoch `e`'s batches depend only on `(seed, e)` (reproducible, and a resumed run gets
/// the same epochs); without one, each call to `batches(epoch:)` draws its seed from the default
/// generator (see `manualSeed`).
///
/// ```swift
/// let sampler = BucketBatchSampler(lengths: sequences.map { $0.shape[0] }, batchSize: 32, seed: 0)
/// for (inputs, targets) in DataLoader(dataset, batchSampler: sampler) {
///     let (padded, lengths) = padSequence(inputs, batchFirst: true)   // little padding per batch
/// }
/// ```
public struct BucketBatchSampler: BatchSampler, Sendable {
    /// Each sample's length (what is sorted on), indexed like the dataset.
    public let lengths: [Int]
    /// Samples per batch (positive); the last batch of an epoch may be smaller unless `dropLast`.
    public let batchSize: Int
    /// Batches per bucket (positive, default 100): larger buckets pad less but mix less.
    public let batchesPerBucket: Int
    /// Whether buckets and batches are shuffled every epoch (default true).
    public let shuffle: Bool
    /// The seed of every epoch's shuffles, or nil to draw each epoch's from the default generator.
    public let seed: UInt64?
    /// Whether a last batch smaller than `batchSize` is left out (default false).
    public let dropLast: Bool

    /// A sampler over `lengths.count` samples. Stops with a message unless `batchSize` and
    /// `batchesPerBucket` are positive and no length is negative.
    public init(lengths: [Int], batchSize: Int, batchesPerBucket: Int = 100, shuffle: Bool = true, seed: UInt64? = nil,
                dropLast: Bool = false) {
        require(batchSize > 0, "BucketBatchSampler: expected a positive batchSize, got \(batchSize)")
        require(batchesPerBucket > 0, "BucketBatchSampler: expected a positive batchesPerBucket, got \(batchesPerBucket)")
        if let i = lengths.firstIndex(where: { $0 < 0 }) {
            requireFailure("BucketBatchSampler: expected non-negative lengths, got \(lengths[i]) at index \(i)")
        }
        self.lengths = lengths
        self.batchSize = batchSize
        self.batchesPerBucket = batchesPerBucket
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
    }

    /// Batches per epoch: `count / batchSize`, rounded up unless `dropLast`.
    public var count: Int { dropLast ? lengths.count / batchSize : (lengths.count + batchSize - 1) / batchSize }

    /// The batches of `epoch` (see the type's documentation). Stops with a message for a negative epoch.
    public func batches(epoch: Int) -> [[Int]] {
        require(epoch >= 0, "BucketBatchSampler.batches(epoch:): expected a non-negative epoch, got \(epoch)")
        var g = SeededGenerator(seed: epochSeed(epoch))
        var order = Array(lengths.indices)
        if shuffle { shuffleInPlace(&order, &g) }
        let bucketSize = batchesPerBucket * batchSize
        var result: [[Int]] = []
        result.reserveCapacity(count)
        for start in stride(from: 0, to: order.count, by: bucketSize) {
            // Longest first; equal lengths keep their (shuffled) order, so the sort is deterministic.
            let bucket = order[start..<min(start + bucketSize, order.count)].enumerated()
                .sorted { (lengths[$0.element], -$0.offset) > (lengths[$1.element], -$1.offset) }.map(\.element)
            for b in stride(from: 0, to: bucket.count, by: batchSize) where !(dropLast && b + batchSize > bucket.count) {
                result.append(Array(bucket[b..<min(b + batchSize, bucket.count)]))
            }
        }
        if shuffle { shuffleInPlace(&result, &g) }
        return result
    }

    /// Epoch `epoch`'s seed: the `epoch`-th draw of a generator seeded with `seed` (or a draw from the
    /// default generator without one).
    private func epochSeed(_ epoch: Int) -> UInt64 {
        guard let seed else { return withDefaultGenerator { $0.random64() } }
        var base = SeededGenerator(seed: seed)
        for _ in 0..<epoch { _ = base.next() }
        return base.next()
    }
}

/// Fisher–Yates with Ember's generator (the standard library's `shuffle` may change its draws between
/// Swift versions; this does not).
func shuffleInPlace<T>(_ items: inout [T], _ g: inout SeededGenerator) {
    guard items.count > 1 else { return }
    for i in stride(from: items.count - 1, to: 0, by: -1) {
        items.swapAt(i, g.nextInt(below: i + 1))
    }
}
