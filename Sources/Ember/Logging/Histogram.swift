import Foundation

// MARK: - Histograms in TensorBoard's default buckets

/// The statistics and buckets of a `HistogramProto` (TensorBoard's `histogram.proto`), computed the
/// way TensorFlow's `tsl/lib/histogram/histogram.cc` computes them for TensorBoard's histograms:
/// bucket edges at 0 and ±1e-12·1.1^k up to 1e20, then ±DBL_MAX, and value v counted in the bucket
/// whose right edge is the first edge greater than v (`[edge[b-1], edge[b])`).
///
/// Encoded as TensorFlow encodes it with `preserve_zero_buckets = false`, except that empty buckets
/// before the first value and after the last are left out instead of merged into one bucket each:
/// a run of empty buckets between values is one bucket (the run's right edge, count 0). TensorBoard
/// reads bucket i as `[limit(i-1), limit(i)]` with the first left edge `min` and the last right
/// edge `max`, so the leading and trailing empty runs would only add zero-width or inverted
/// buckets. NaN and infinite values are left out of the statistics and the buckets.
struct HistogramSummary: Equatable {
    var min = 0.0, max = 0.0, num = 0.0, sum = 0.0, sumSquares = 0.0
    /// Right edges of the buckets written, increasing; same length as `bucketCounts`.
    var bucketLimits: [Double] = []
    var bucketCounts: [Double] = []

    /// TensorFlow's default bucket edges: -DBL_MAX, the negative edges, 0, the positive edges, DBL_MAX
    /// (1,551 edges).
    static let defaultBucketLimits: [Double] = {
        var positive: [Double] = []
        var v = 1.0e-12
        while v < 1.0e20 {
            positive.append(v)
            v *= 1.1
        }
        positive.append(Double.greatestFiniteMagnitude)
        return positive.reversed().map { -$0 } + [0] + positive
    }()

    /// The histogram of the finite values in `values`.
    init<Values: Sequence>(_ values: Values) where Values.Element == Double {
        let limits = Self.defaultBucketLimits
        var counts = [Double](repeating: 0, count: limits.count)
        min = .infinity
        max = -.infinity
        for v in values where v.isFinite {
            min = Swift.min(min, v)
            max = Swift.max(max, v)
            num += 1
            sum += v
            sumSquares += v * v
            counts[Self.upperBound(limits, v)] += 1
        }
        guard num > 0 else {
            // TensorFlow's encoding of an empty histogram: one empty bucket.
            (min, max) = (0, 0)
            (bucketLimits, bucketCounts) = ([Double.greatestFiniteMagnitude], [0])
            return
        }
        let first = counts.firstIndex { $0 > 0 }!, last = counts.lastIndex { $0 > 0 }!
        var i = first
        while i <= last {
            var end = i
            if counts[i] == 0 { while counts[end + 1] == 0 { end += 1 } }   // an inner run of empty buckets
            bucketLimits.append(limits[end])
            bucketCounts.append(counts[end])
            i = end + 1
        }
    }

    /// The index of the first edge greater than `value` (C++'s `std::upper_bound`).
    private static func upperBound(_ limits: [Double], _ value: Double) -> Int {
        var low = 0, high = limits.count
        while low < high {
            let mid = (low + high) / 2
            if limits[mid] > value { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// The encoded `HistogramProto`: min 1, max 2, num 3, sum 4, sum_squares 5 (doubles),
    /// bucket_limit 6 and bucket 7 (packed doubles).
    var encoded: [UInt8] {
        ProtobufWriter { p in
            for (field, value) in [(1, min), (2, max), (3, num), (4, sum), (5, sumSquares)] where value != 0 {
                p.double(field, value)
            }
            p.packedDoubles(6, bucketLimits)
            p.packedDoubles(7, bucketCounts)
        }.bytes
    }
}
