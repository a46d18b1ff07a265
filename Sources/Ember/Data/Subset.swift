import Foundation

// MARK: - Subsets and random splits

/// The samples of a dataset at some indices, as PyTorch's `torch.utils.data.Subset(dataset, indices)`:
/// sample `i` of the subset is sample `indices[i]` of `dataset`.
///
/// ```swift
/// let firstHundred = Subset(train, indices: Array(0..<100))
/// ```
public struct Subset<Base: Dataset>: Dataset {
    /// The dataset the samples come from.
    public let dataset: Base
    /// The indices into `dataset`, in the subset's order.
    public let indices: [Int]

    /// The samples of `dataset` at `indices` (repeats allowed). Stops with a message for an index
    /// outside `0..<dataset.count`.
    public init(_ dataset: Base, indices: [Int]) {
        for i in indices {
            require(i >= 0 && i < dataset.count, "Subset: index \(i) is out of range for a dataset of \(dataset.count) samples")
        }
        self.dataset = dataset
        self.indices = indices
    }

    /// The number of samples (`indices.count`).
    public var count: Int { indices.count }

    /// The base dataset's batch at the mapped indices.
    public func batch(_ indices: [Int]) -> Base.Batch {
        dataset.batch(indices.map { self.indices[$0] })
    }
}

/// Splits a dataset at random into non-overlapping subsets of the given sizes, as PyTorch's
/// `torch.utils.data.random_split(dataset, lengths, generator)`: the indices are one
/// `randperm(dataset.count)`, cut into consecutive pieces of `lengths`.
///
/// With a seed the split is PyTorch's with `generator=torch.Generator().manual_seed(seed)`, the same
/// on every run; without one, the permutation is drawn from the default generator (see `manualSeed`),
/// as PyTorch's default.
///
/// ```swift
/// let parts = randomSplit(train, lengths: [50000, 10000], seed: 0)   // train, validation
/// ```
///
/// Stops with a message when a length is negative or the lengths do not sum to `dataset.count`.
public func randomSplit<D: Dataset>(_ dataset: D, lengths: [Int], seed: UInt64? = nil) -> [Subset<D>] {
    for (i, length) in lengths.enumerated() {
        require(length >= 0, "randomSplit: expected non-negative lengths, got \(length) at index \(i)")
    }
    let total = lengths.reduce(0, +)
    require(total == dataset.count,
            "randomSplit: the lengths \(lengths) sum to \(total), but the dataset has \(dataset.count) samples")
    let permutation: [Int]
    if let seed {
        var g = TorchGenerator(seed: seed)
        permutation = g.randperm(total)
    } else {
        permutation = withDefaultGenerator { $0.randperm(total) }
    }
    var start = 0
    return lengths.map { length in
        defer { start += length }
        return Subset(dataset, indices: Array(permutation[start..<(start + length)]))
    }
}

/// `randomSplit` by fractions of the dataset, as PyTorch's `random_split` given fractions summing to 1:
/// split `i` gets `floor(count * fractions[i])` samples, then the samples left over go one each to
/// splits 0, 1, 2, ... in turn.
///
/// ```swift
/// let parts = randomSplit(train, fractions: [0.9, 0.1], seed: 0)
/// ```
///
/// Stops with a message unless every fraction is in [0, 1] and they sum to 1 (within 1e-9).
public func randomSplit<D: Dataset>(_ dataset: D, fractions: [Double], seed: UInt64? = nil) -> [Subset<D>] {
    require(!fractions.isEmpty, "randomSplit: expected at least one fraction")
    for (i, f) in fractions.enumerated() {
        require(f >= 0 && f <= 1, "randomSplit: fraction at index \(i) is not between 0 and 1, got \(f)")
    }
    let sum = fractions.reduce(0, +)
    require(abs(sum - 1) <= 1e-9, "randomSplit: expected fractions summing to 1, got \(fractions) (sum \(sum))")
    var lengths = fractions.map { Int((Double(dataset.count) * $0).rounded(.down)) }
    let remainder = dataset.count - lengths.reduce(0, +)
    for i in 0..<max(remainder, 0) { lengths[i % lengths.count] += 1 }
    return randomSplit(dataset, lengths: lengths, seed: seed)
}
