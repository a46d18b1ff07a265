import Foundation

// MARK: - IDX files

/// An IDX array of unsigned bytes (the MNIST format): big-endian magic `0x0000 08 rank`, `rank`
/// big-endian 32-bit dimensions, then the bytes in row-major order.
public struct IDXArray: Sendable {
    /// The dimensions.
    public var shape: [Int]
    /// The values, row-major.
    public var bytes: [UInt8]

    /// Parses raw (not compressed) IDX bytes, checking the magic number, the rank, and that the data
    /// present is exactly what the dimensions claim. Dimensions are checked against the bytes
    /// present before anything is allocated. A zero dimension anywhere makes an empty array (no
    /// data bytes), as in NumPy and PyTorch, provided the other dimensions' product does not
    /// overflow `Int`. Errors name `path`.
    public init(data: Data, path: String, expectedRank: Int? = nil) throws {
        func fail(_ reason: String) -> DataError { .corrupt(path: path, reason: reason) }
        guard data.count >= 4 else { throw fail("file is \(data.count) bytes, too short for an IDX header") }
        let b = [UInt8](data.prefix(4))
        guard b[0] == 0, b[1] == 0 else { throw fail("not an IDX file (magic \(String(format: "%02x%02x%02x%02x", b[0], b[1], b[2], b[3])))") }
        guard b[2] == 0x08 else { throw fail("IDX element type 0x\(String(b[2], radix: 16)) is not unsigned bytes (0x08)") }
        let rank = Int(b[3])
        guard rank >= 1 else { throw fail("IDX rank is 0") }
        if let expectedRank, rank != expectedRank { throw fail("expected an IDX array of rank \(expectedRank), found rank \(rank)") }
        let headerBytes = 4 + 4 * rank
        guard data.count >= headerBytes else { throw fail("header ends early: \(rank) dimensions need \(headerBytes) bytes, file has \(data.count)") }
        let shape = (0..<rank).map { i in
            let o = data.startIndex + 4 + 4 * i
            return Int(data[o]) << 24 | Int(data[o + 1]) << 16 | Int(data[o + 2]) << 8 | Int(data[o + 3])
        }
        let available = data.count - headerBytes
        let empty = shape.contains(0)
        // The product of the non-zero dimensions: the element count unless a dimension is zero.
        var product = 1
        for d in shape where d != 0 {
            let (next, overflow) = product.multipliedReportingOverflow(by: d)
            if !empty, overflow || next > available {
                throw fail("dimensions \(shape) claim more data than the \(available) bytes present (truncated file?)")
            }
            guard !overflow else { throw fail("dimensions \(shape) overflow: the non-zero ones multiply to more than \(Int.max)") }
            product = next
        }
        let count = empty ? 0 : product
        guard count == available else {
            throw fail(count > available ? "truncated: dimensions \(shape) need \(count) bytes of data, file has \(available)"
                                         : "dimensions \(shape) need \(count) bytes of data, file has \(available) (trailing bytes)")
        }
        self.shape = shape
        self.bytes = [UInt8](data.suffix(from: data.startIndex + headerBytes))
    }

    /// Reads an IDX file, raw or gzip-compressed (detected from its first bytes).
    /// `maximumBytes` caps the decompressed size.
    public init(contentsOf url: URL, expectedRank: Int? = nil, maximumBytes: Int = 1 << 30) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            if !FileManager.default.fileExists(atPath: url.path) {
                throw DataError.missing(paths: [url.path], hint: "")
            }
            throw DataError.io(path: url.path, reason: "cannot read (\(error.localizedDescription))")
        }
        try self.init(fileData: data, path: url.path, expectedRank: expectedRank, maximumBytes: maximumBytes)
    }

    /// Parses the bytes of an IDX file, raw or gzip-compressed (detected from the first bytes; the
    /// gzip CRC is checked), decompressing at most `maximumBytes`.
    public init(fileData data: Data, path: String, expectedRank: Int? = nil, maximumBytes: Int = 1 << 30) throws {
        let raw = isGzip(data) ? try gunzip(data, path: path, maximumBytes: maximumBytes) : data
        try self.init(data: raw, path: path, expectedRank: expectedRank)
    }

    /// The bytes of an IDX file of unsigned bytes (for writing test data and downloads).
    public static func encode(shape: [Int], bytes: [UInt8]) -> Data {
        require(shape.count <= 255 && shape.allSatisfy { $0 >= 0 && $0 <= Int(UInt32.max) } && shape.reduce(1, *) == bytes.count,
                "IDXArray.encode: \(bytes.count) bytes for shape \(shape) (dimensions 0...2^32-1, at most 255 of them)")
        var data = Data([0, 0, 0x08, UInt8(shape.count)])
        for d in shape { data.append(contentsOf: [UInt8(d >> 24 & 0xff), UInt8(d >> 16 & 0xff), UInt8(d >> 8 & 0xff), UInt8(d & 0xff)]) }
        data.append(contentsOf: bytes)
        return data
    }
}
