import Foundation

// MARK: - MNIST

/// The MNIST digits from the four standard IDX files (gzip-compressed or raw) in a directory:
/// `train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`,
/// `t10k-labels-idx1-ubyte[.gz]`. Pixels stay as bytes; a batch is converted to Float in [0, 1]
/// when asked for: `(images: [B, rows, columns], labels: [B])`.
public struct MNIST: Dataset, Sendable {
    /// The standard file names (without `.gz`) for one split.
    public static func fileNames(train: Bool) -> (images: String, labels: String) {
        train ? ("train-images-idx3-ubyte", "train-labels-idx1-ubyte") : ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    }
    /// All four file names, gzip-compressed, as distributed.
    public static let allFiles = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                  "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]

    /// Pixel rows per image (28 for the standard files).
    public let rows: Int
    /// Pixel columns per image (28 for the standard files).
    public let columns: Int
    let pixels: [UInt8]
    /// The digit of each image, in `0...9`, in file order.
    public let labels: [Int]
    /// The number of images (after `limit`).
    public var count: Int { labels.count }

    /// Loads and validates one split (`train: false` is the 10,000-image test set). Throws
    /// `DataError.missing` if a file is absent, `.corrupt` naming the file and the problem otherwise.
    /// `limit` keeps only the first samples (for quick runs and tests); it must not be negative.
    public init(directory: URL, train: Bool, limit: Int? = nil) throws {
        require((limit ?? 0) >= 0, "MNIST(directory:train:limit:): limit must not be negative, got \(limit ?? 0)")
        let names = MNIST.fileNames(train: train)
        func locate(_ name: String) throws -> URL {
            for candidate in [name + ".gz", name] {
                let url = directory.appendingPathComponent(candidate)
                if FileManager.default.fileExists(atPath: url.path) { return url }
            }
            throw DataError.missing(paths: [directory.appendingPathComponent(name + ".gz").path],
                                    hint: "Put the four MNIST files (\(MNIST.allFiles.joined(separator: ", "))) there.")
        }
        let imageURL = try locate(names.images), labelURL = try locate(names.labels)
        // The real files decompress to 47 MB and 60 KB; allow generous headroom but not unbounded.
        let images = try IDXArray(contentsOf: imageURL, expectedRank: 3, maximumBytes: 256 << 20)
        let labelArray = try IDXArray(contentsOf: labelURL, expectedRank: 1, maximumBytes: 16 << 20)
        guard images.shape[0] == labelArray.shape[0] else {
            throw DataError.corrupt(path: labelURL.path, reason: "\(labelArray.shape[0]) labels for \(images.shape[0]) images in \(imageURL.lastPathComponent)")
        }
        guard images.shape[1] > 0, images.shape[2] > 0 else {
            throw DataError.corrupt(path: imageURL.path, reason: "images of size \(images.shape[1])x\(images.shape[2])")
        }
        if let bad = labelArray.bytes.firstIndex(where: { $0 > 9 }) {
            throw DataError.corrupt(path: labelURL.path, reason: "label \(labelArray.bytes[bad]) at index \(bad) is not a digit 0-9")
        }
        let n = min(images.shape[0], limit ?? Int.max)
        rows = images.shape[1]
        columns = images.shape[2]
        pixels = n == images.shape[0] ? images.bytes : Array(images.bytes.prefix(n * rows * columns))
        labels = labelArray.bytes.prefix(n).map(Int.init)
    }

    /// Images `[indices.count, rows, columns]` scaled to [0, 1] and their labels.
    public func batch(_ indices: [Int]) -> (images: Tensor<Float>, labels: [Int]) {
        let size = rows * columns
        let images = Tensor<Float>(shape: [indices.count, rows, columns]) { out in
            pixels.withUnsafeBufferPointer { px in
                for (row, i) in indices.enumerated() {
                    let src = px.baseAddress! + i * size, dst = out.baseAddress! + row * size
                    for j in 0..<size { dst[j] = Float(src[j]) / 255 }
                }
            }
        }
        return (images, indices.map { labels[$0] })
    }
}
