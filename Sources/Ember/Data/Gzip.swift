import CZlib
import Foundation

// MARK: - gzip

/// Decompresses gzip data with the system zlib, which checks the CRC-32 and length trailer.
/// Output grows as needed up to `maximumBytes`, so a file cannot make it allocate more than that.
/// Throws `DataError.corrupt` naming `path` for anything that is not a whole, valid gzip stream.
func gunzip(_ data: Data, path: String, maximumBytes: Int) throws -> Data {
    var stream = z_stream()
    guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw DataError.io(path: path, reason: "zlib could not be initialised")
    }
    defer { inflateEnd(&stream) }
    var output = Data()
    let chunk = 1 << 20
    var buffer = [UInt8](repeating: 0, count: chunk)
    var status: Int32 = Z_OK
    try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
        stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
        stream.avail_in = uInt(input.count)
        repeat {
            try buffer.withUnsafeMutableBufferPointer { out in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(chunk)
                status = inflate(&stream, Z_NO_FLUSH)
                guard status == Z_OK || status == Z_STREAM_END else {
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw DataError.corrupt(path: path, reason: status == Z_BUF_ERROR ? "gzip data ends early (truncated file)" : "gzip data is corrupt (\(message))")
                }
                let produced = chunk - Int(stream.avail_out)
                guard output.count + produced <= maximumBytes else {
                    throw DataError.corrupt(path: path, reason: "decompresses to more than \(maximumBytes) bytes")
                }
                output.append(out.baseAddress!, count: produced)
            }
        } while status != Z_STREAM_END && (stream.avail_in > 0 || stream.avail_out == 0)
    }
    guard status == Z_STREAM_END else {
        throw DataError.corrupt(path: path, reason: "gzip data ends early (truncated file)")
    }
    return output
}

/// Compresses `data` into a gzip stream (level 6) with the system zlib.
public func gzipCompress(_ data: Data) -> Data {
    var stream = z_stream()
    require(deflateInit2_(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                               Int32(MemoryLayout<z_stream>.size)) == Z_OK, "gzipCompress: zlib could not be initialised")
    defer { deflateEnd(&stream) }
    var output = Data()
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
        stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
        stream.avail_in = uInt(input.count)
        var status: Int32 = Z_OK
        repeat {
            buffer.withUnsafeMutableBufferPointer { out in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                status = deflate(&stream, Z_FINISH)
                output.append(out.baseAddress!, count: out.count - Int(stream.avail_out))
            }
        } while status == Z_OK
    }
    return output
}

/// Whether data starts with the gzip magic bytes.
func isGzip(_ data: Data) -> Bool { data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b }

// MARK: - Errors

/// Problems with data files, each naming the file. The commands map them to exit codes:
/// missing → 66, corrupt → 65, io → 74.
public enum DataError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Files that are not there (and could not be downloaded); `hint` says what to do. The
    /// description names the directory of files that share one before the hint, so a hint can say
    /// "there" rather than name it again.
    case missing(paths: [String], hint: String)
    /// A file that is present but malformed.
    case corrupt(path: String, reason: String)
    /// Reading, writing or the network failed.
    case io(path: String, reason: String)

    /// One line: the file (or, for files in one directory, the directory and the file names) and
    /// what is wrong, each path named once.
    public var description: String {
        switch self {
        case .missing(let paths, let hint):
            // Files in one directory: the directory once, then the names.
            let directories = Set(paths.map { ($0 as NSString).deletingLastPathComponent })
            let list = directories.count == 1 && !directories.first!.isEmpty
                ? "missing data file(s) in \(directories.first!): \(paths.map { ($0 as NSString).lastPathComponent }.joined(separator: ", "))."
                : "missing data file(s): \(paths.joined(separator: ", "))."
            return hint.isEmpty ? list : "\(list) \(hint)"
        case .corrupt(let path, let reason): return "\(path): \(reason)"
        case .io(let path, let reason): return "\(path): \(reason)"
        }
    }
}
