import CZlib
import Foundation

// MARK: - gzip

/// Decompresses gzip data with the system zlib, as `gzip -d` and Python's `gzip` module read it:
/// one member after another (a file may be several gzip streams concatenated, as `cat a.gz b.gz`
/// makes), each member's CRC-32 and length trailer checked by zlib. Zero bytes after a member are
/// padding and skipped (Python skips them; `gzip -d` warns "trailing zero bytes ignored"); any other
/// bytes after the last member are an error, as is a member cut short.
///
/// Output grows as needed up to `maximumBytes` for all members together, so a file cannot make it
/// allocate more than that. Throws `DataError.corrupt` naming `path` for anything that is not a
/// sequence of whole, valid gzip members.
func gunzip(_ data: Data, path: String, maximumBytes: Int) throws -> Data {
    func corrupt(_ reason: String) -> DataError { .corrupt(path: path, reason: reason) }
    var stream = z_stream()
    guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw DataError.io(path: path, reason: "zlib could not be initialised")
    }
    defer { inflateEnd(&stream) }
    var output = Data()
    let chunk = 1 << 20
    var buffer = [UInt8](repeating: 0, count: chunk)
    try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
        guard let base = input.bindMemory(to: Bytef.self).baseAddress else { throw corrupt("gzip data ends early (truncated file)") }
        // zlib counts input in 32 bits: it is given at most 1 GiB at a time.
        var fed = 0                                     // input bytes handed to zlib so far
        func feed(from offset: Int) {
            let n = min(input.count - offset, 1 << 30)
            stream.next_in = UnsafeMutablePointer(mutating: base + offset)
            stream.avail_in = uInt(n)
            fed = offset + n
        }
        /// The offset of the first input byte zlib has not consumed.
        func consumed() -> Int { fed - Int(stream.avail_in) }
        feed(from: 0)
        var member = 1
        while true {
            // One member, to its end.
            var status: Int32 = Z_OK
            repeat {
                if stream.avail_in == 0 && fed < input.count { feed(from: fed) }
                try buffer.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunk)
                    status = inflate(&stream, Z_NO_FLUSH)
                    let which = member == 1 ? "gzip data" : "gzip member \(member)"
                    guard status == Z_OK || status == Z_STREAM_END else {
                        // With a fresh output buffer, no progress means the input ran out.
                        if status == Z_BUF_ERROR { throw corrupt("\(which) ends early (truncated file)") }
                        let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                        throw corrupt("\(which) is corrupt (\(message))")
                    }
                    let produced = chunk - Int(stream.avail_out)
                    guard output.count + produced <= maximumBytes else {
                        throw corrupt("decompresses to more than \(maximumBytes) bytes")
                    }
                    output.append(out.baseAddress!, count: produced)
                }
            } while status != Z_STREAM_END
            // What follows the member: zero padding, another member, or nothing; else an error.
            let end = consumed()
            var next = end
            while next < input.count && input[next] == 0 { next += 1 }
            if next == input.count { return }
            guard input.count - next >= 2, input[next] == 0x1f, input[next + 1] == 0x8b else {
                let count = input.count - end
                let first = input[end..<min(end + 4, input.count)].map { String(format: "%02x", $0) }.joined(separator: " ")
                throw corrupt("the \(count) byte\(count == 1 ? " after gzip member \(member) (which ends at byte \(end)) is" : "s after gzip member \(member) (which ends at byte \(end)) are") "
                              + "not a gzip member (\(first)\(count > 4 ? " ..." : "")): trailing garbage, or a damaged file")
            }
            inflateReset(&stream)
            feed(from: next)
            member += 1
        }
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
