import Foundation

// MARK: - safetensors

/// A safetensors file: an 8-byte little-endian header length, a JSON header naming each tensor's
/// dtype, shape and byte range, then the raw little-endian data.
///
/// Reading validates everything before anything is used, by the reference implementation's rules
/// (see `init(data:path:)`): the header length is within the limit and the file, the header is a
/// UTF-8 JSON object, every dtype is known, every shape × dtype size equals its byte range, and the
/// ranges tile the data section exactly, with no gap, overlap or trailing bytes (zero-size tensors
/// are valid). Each failure is a thrown `SafeTensorsError` with a message naming the entry; nothing
/// is allocated beyond the file's own size.
///
/// ```swift
/// let file = try SafeTensorsFile(contentsOf: url)
/// let w = try file.tensor("fc.weight", as: Float.self)
/// try SafeTensorsFile.write(["fc.weight": w], metadata: ["epoch": "3"], to: url)
/// ```
public struct SafeTensorsFile: Sendable {
    /// Element types of the format.
    public enum DType: String, Sendable, CaseIterable {
        case F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, U16, U32, U64

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .F64, .I64, .U64: 8
            case .F32, .I32, .U32: 4
            case .F16, .BF16, .I16, .U16: 2
            case .I8, .U8, .BOOL: 1
            }
        }
    }

    /// One tensor's header entry.
    public struct Info: Sendable, Equatable {
        /// The stored element type.
        public var dtype: DType
        /// The tensor's shape (`[]` for a scalar).
        public var shape: [Int]
        /// Byte range within the data section.
        public var range: Range<Int>
    }

    /// The `__metadata__` strings.
    public private(set) var metadata: [String: String]
    /// Header entries by name.
    public private(set) var entries: [String: Info]
    private let bytes: Data
    private let dataStart: Int

    /// Tensor names, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Reads and validates a file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw SafeTensorsError(path: url.path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        try self.init(data: data, path: url.path)
    }

    /// The largest header the format allows, in bytes: the reference implementation's limit
    /// (`MAX_HEADER_SIZE` in huggingface/safetensors), checked before the header is read.
    public static let maximumHeaderBytes = 100_000_000

    /// Parses and validates the bytes of a file; `path` only labels error messages.
    ///
    /// The rules are the reference implementation's (huggingface/safetensors, `read_metadata` and
    /// `Metadata::validate`): the header length is at most `maximumHeaderBytes` and fits in the
    /// file; the header is a UTF-8 JSON object; `__metadata__`, if present, is `null` or an object
    /// of strings, and appears once; every other key is a tensor with a known `dtype`, a `shape` of
    /// non-negative integers and `data_offsets` `[begin, end]` of non-negative integers (integer
    /// literals: `2.0` is not a dimension), each field once. A name that appears twice counts once,
    /// with its last entry. The byte ranges, sorted by offsets, tile the data section exactly: the
    /// first begins at 0, each begins where the previous ends, and the last ends at the end of the
    /// file, so zero-size tensors may share an offset with each other and with a neighbour's edge,
    /// but not sit inside another tensor's bytes. Each range's length is the shape's element count
    /// times the dtype's size, computed left to right without overflowing 64 bits. Every failure
    /// is a `SafeTensorsError` naming the entry where there is one.
    public init(data: Data, path: String = "<memory>") throws {
        func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(path: path, reason: reason) }
        guard data.count >= 8 else { throw fail("file is \(data.count) bytes, shorter than the 8-byte header length") }
        let headerLength = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> UInt64 in
            var value: UInt64 = 0
            for i in 0..<8 { value |= UInt64(raw[i]) << (8 * UInt64(i)) }
            return value
        }
        guard headerLength <= UInt64(Self.maximumHeaderBytes) else {
            throw fail("header length \(headerLength) exceeds the limit of \(Self.maximumHeaderBytes) bytes")
        }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail("header length \(headerLength) exceeds the \(data.count - 8) bytes after it")
        }
        let start = data.startIndex
        let headerBytes = [UInt8](data[(start + 8)..<(start + 8 + Int(headerLength))])
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw fail("header is not valid UTF-8") }
        let json: HeaderJSON
        do { json = try HeaderJSON.parse(headerBytes) } catch {
            throw fail("header is not valid JSON (\(error.reason) at byte \(error.offset) of the header)")
        }
        guard case .object(let members) = json else { throw fail("header is not a JSON object") }
        let dataLength = UInt64(data.count) - 8 - headerLength

        // Each entry as written; a repeated tensor name keeps its last entry, as serde's map does.
        var parsed: [String: Parsed] = [:]
        var spelling: [String: String] = [:]           // each name's first spelling, by Swift equality
        var repeated: [String] = []
        var metadata: [String: String] = [:]
        var sawMetadata = false
        for (name, value) in members {
            if name == "__metadata__" {
                guard !sawMetadata else { throw fail("'__metadata__' appears more than once in the header") }
                sawMetadata = true
                switch value {
                case .null: break
                case .object(let pairs):
                    for (k, v) in pairs {
                        guard case .string(let s) = v else { throw fail("__metadata__ value for '\(k)' is not a string: \(v.summary)") }
                        metadata[k] = s
                    }
                default: throw fail("__metadata__ is not an object of strings")
                }
                continue
            }
            let entry = try Self.parseEntry(name, value, fail)
            if let first = spelling[name] {
                // Swift's String equality is canonical equivalence; the format compares bytes.
                guard first.utf8.elementsEqual(name.utf8) else {
                    throw fail("tensor names '\(first)' and '\(name)' differ only in Unicode normalization, which Ember's names (Swift strings) treat as one name")
                }
                if !repeated.contains(name) { repeated.append(name) }
            } else {
                spelling[name] = name
            }
            parsed[name] = entry
        }

        // The ranges, sorted by (begin, end), must tile the data section exactly.
        func note() -> String {
            repeated.isEmpty ? "" : " (the header names \(repeated.map { "'\($0)'" }.joined(separator: ", ")) more than once, and only the last counts)"
        }
        let sorted = parsed.sorted { ($0.value.begin, $0.value.end, $0.key) < ($1.value.begin, $1.value.end, $1.key) }
        var end: UInt64 = 0
        var previous: (name: String, begin: UInt64, end: UInt64)? = nil
        for (name, entry) in sorted {
            let (b, e) = (entry.begin, entry.end)
            guard e >= b else { throw fail("entry '\(name)' has data_offsets [\(b), \(e)], which end before they begin") }
            if b > end {
                throw fail("entry '\(name)' begins at byte \(b) of the data, but no tensor covers bytes \(end)..<\(b)"
                           + (previous.map { " (after '\($0.name)')" } ?? "") + note())
            }
            if b < end, let previous {
                throw fail("entries '\(previous.name)' and '\(name)' have overlapping data ranges: '\(name)' has data_offsets [\(b), \(e)], "
                           + "which begin inside '\(previous.name)''s [\(previous.begin), \(previous.end)]" + note())
            }
            var count: UInt64 = 1
            var overflow = false
            for d in entry.shape where !overflow { (count, overflow) = count.multipliedReportingOverflow(by: UInt64(d)) }
            let (bytes, sizeOverflow) = count.multipliedReportingOverflow(by: UInt64(entry.dtype.size))
            guard !overflow, !sizeOverflow else {
                throw fail("entry '\(name)': the byte size of shape \(describe(entry.shape)) of \(entry.dtype.rawValue) overflows 64 bits")
            }
            guard e - b == bytes else {
                throw fail("entry '\(name)': shape \(describe(entry.shape)) of \(entry.dtype.rawValue) needs \(bytes) bytes, data_offsets give \(e - b)")
            }
            end = e
            previous = (name, b, e)
        }
        if end != dataLength {
            guard let previous else { throw fail("the header lists no tensors, but \(dataLength) data bytes follow it") }
            throw fail(end < dataLength
                ? "\(dataLength - end) data bytes after '\(previous.name)' (the last tensor, ending at byte \(end) of \(dataLength)) belong to no tensor" + note()
                : "entry '\(previous.name)' has data_offsets [\(previous.begin), \(previous.end)], beyond the \(dataLength) data bytes (truncated file?)")
        }
        // Every offset is now at most the data length, so it is an Int.
        self.entries = parsed.mapValues { Info(dtype: $0.dtype, shape: $0.shape, range: Int($0.begin)..<Int($0.end)) }
        self.metadata = metadata
        self.bytes = data
        self.dataStart = 8 + Int(headerLength)
    }

    /// A header entry as written, its offsets not yet checked against the file.
    private typealias Parsed = (dtype: DType, shape: [Int], begin: UInt64, end: UInt64)

    /// One tensor's entry: an object with `dtype`, `shape` and `data_offsets`, each once (other
    /// fields are ignored, as the reference ignores them).
    private static func parseEntry(_ name: String, _ value: HeaderJSON, _ fail: (String) -> SafeTensorsError) throws -> Parsed {
        guard case .object(let fields) = value else { throw fail("entry '\(name)' is not an object") }
        var seen: Set<String> = []
        var dtypeValue: HeaderJSON?, shapeValue: HeaderJSON?, offsetsValue: HeaderJSON?
        for (key, field) in fields {
            guard ["dtype", "shape", "data_offsets"].contains(key) else { continue }
            guard seen.insert(key).inserted else { throw fail("entry '\(name)' has more than one '\(key)'") }
            switch key {
            case "dtype": dtypeValue = field
            case "shape": shapeValue = field
            default: offsetsValue = field
            }
        }
        guard let dtypeValue else { throw fail("entry '\(name)' has no dtype") }
        guard case .string(let dtypeName) = dtypeValue else { throw fail("entry '\(name)' has a dtype that is not a string: \(dtypeValue.summary)") }
        guard let dtype = DType(rawValue: dtypeName) else { throw fail("entry '\(name)' has unknown dtype '\(dtypeName)'") }
        guard case .array(let dims)? = shapeValue else { throw fail("entry '\(name)' has no shape list") }
        var shape: [Int] = []
        for d in dims {
            guard case .unsigned(let n) = d else {
                throw fail("entry '\(name)' has a shape entry that is not a non-negative integer: \(d.summary)")
            }
            guard let dim = Int(exactly: n) else { throw fail("entry '\(name)' has a dimension \(n) larger than Ember can index") }
            shape.append(dim)
        }
        guard case .array(let offsets)? = offsetsValue, offsets.count == 2,
              case .unsigned(let b) = offsets[0], case .unsigned(let e) = offsets[1] else {
            throw fail("entry '\(name)' needs data_offsets [begin, end] of non-negative integers")
        }
        return (dtype, shape, b, e)
    }

    /// The tensor `name` converted to `Scalar` (F32, F64, F16, BF16 and I64 can be read as a float type).
    public func tensor<Scalar: TensorScalar>(_ name: String, as type: Scalar.Type = Scalar.self) throws -> Tensor<Scalar> {
        guard let info = entries[name] else {
            throw SafeTensorsError(path: "", reason: "no tensor named '\(name)' (has: \(names.joined(separator: ", ")))")
        }
        let count = try elementCount(name, info)
        let values: [Scalar] = try withRawBytes(info) { raw in
            switch info.dtype {
            case .F32: return (0..<count).map { Scalar(Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian)) }
            case .F64: return (0..<count).map { Scalar(Double(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self).littleEndian)) }
            case .F16: return (0..<count).map { Scalar(halfToFloat(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self).littleEndian)) }
            case .BF16: return (0..<count).map { Scalar(Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self).littleEndian) << 16)) }
            case .I64: return (0..<count).map { Scalar(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
            default: throw SafeTensorsError(path: "", reason: "tensor '\(name)' has dtype \(info.dtype.rawValue), which cannot be read as floating point")
            }
        }
        return Tensor(shape: info.shape, scalars: values)
    }

    /// The I64 (or I32) tensor `name` as integers, row-major.
    public func integers(_ name: String) throws -> [Int] {
        guard let info = entries[name] else {
            throw SafeTensorsError(path: "", reason: "no tensor named '\(name)' (has: \(names.joined(separator: ", ")))")
        }
        let count = try elementCount(name, info)
        return try withRawBytes(info) { raw in
            switch info.dtype {
            case .I64: return (0..<count).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
            case .I32: return (0..<count).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
            default: throw SafeTensorsError(path: "", reason: "tensor '\(name)' has dtype \(info.dtype.rawValue), not an integer type")
            }
        }
    }

    /// The number of elements of `info`'s shape. The format allows a zero-size shape whose other
    /// dimensions multiply past `Int.max` (its byte size is 0); Ember cannot index a tensor of
    /// that shape, so reading one throws.
    private func elementCount(_ name: String, _ info: Info) throws -> Int {
        var product = 1
        for d in info.shape where d != 0 {
            let (next, overflow) = product.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw SafeTensorsError(path: "", reason: "tensor '\(name)' has shape \(describe(info.shape)), whose non-zero dimensions multiply to more than \(Int.max): Ember cannot index it")
            }
            product = next
        }
        return info.shape.contains(0) ? 0 : product
    }

    private func withRawBytes<R>(_ info: Info, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let lower = bytes.startIndex + dataStart + info.range.lowerBound
        return try bytes[lower..<(lower + info.range.count)].withUnsafeBytes { try body($0) }
    }

    // MARK: Writing

    /// A tensor to write, with its stored type.
    public enum Entry: Sendable {
        case float(Tensor<Float>)
        case double(Tensor<Double>)
        case int64(shape: [Int], values: [Int])
    }

    /// Writes float tensors of one type (F32 for Float, F64 for Double) atomically.
    public static func write<Scalar: TensorScalar>(_ tensors: [String: Tensor<Scalar>], metadata: [String: String] = [:], to url: URL) throws {
        try write(entries: tensors.mapValues { t in
            if let f = t as? Tensor<Float> { return .float(f) }
            return .double(Tensor<Double>(t))
        }, metadata: metadata, to: url)
    }

    /// Writes tensors of mixed types atomically (temporary file, then rename).
    public static func write(entries: [String: Entry], metadata: [String: String] = [:], to url: URL) throws {
        try writeAtomically(encode(entries: entries, metadata: metadata), to: url)
    }

    /// The bytes of a safetensors file: names sorted, data contiguous (zero-size tensors take no
    /// bytes and share the offset of what follows), header padded to 8 bytes. The reader accepts
    /// every file this writes.
    ///
    /// Throws `SafeTensorsError` (with an empty path) for a tensor named `__metadata__` (the format
    /// reserves that key for `metadata`), for an `.int64` entry whose shape has a negative
    /// dimension or does not match its number of values, and for a header longer than
    /// `maximumHeaderBytes`.
    public static func encode(entries: [String: Entry], metadata: [String: String] = [:]) throws -> Data {
        // The names and metadata alone, before JSON adds quotes and escapes, bound the header from below.
        let textBytes = entries.keys.reduce(0) { $0 + $1.utf8.count } + metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        guard textBytes <= maximumHeaderBytes else {
            throw SafeTensorsError(path: "", reason: "the header would be at least \(textBytes) bytes, more than the format's limit of \(maximumHeaderBytes) (names and metadata too long)")
        }
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var body = Data()
        for name in entries.keys.sorted() {
            guard name != "__metadata__" else {
                throw SafeTensorsError(path: "", reason: "the name '__metadata__' is reserved for the file's metadata; rename the tensor")
            }
            let begin = body.count
            let dtype: DType, shape: [Int]
            switch entries[name]! {
            case .float(let t):
                dtype = .F32; shape = t.shape
                for v in t.scalars { withUnsafeBytes(of: v.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
            case .double(let t):
                dtype = .F64; shape = t.shape
                for v in t.scalars { withUnsafeBytes(of: v.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
            case .int64(let s, let values):
                guard s.allSatisfy({ $0 >= 0 }), s.reduce(1, *) == values.count else {
                    throw SafeTensorsError(path: "", reason: "'\(name)' has \(values.count) values for shape \(describe(s))")
                }
                dtype = .I64; shape = s
                for v in values { withUnsafeBytes(of: Int64(v).littleEndian) { body.append(contentsOf: $0) } }
            }
            header[name] = ["dtype": dtype.rawValue, "shape": shape, "data_offsets": [begin, body.count]] as [String: Any]
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        guard json.count <= maximumHeaderBytes else {
            throw SafeTensorsError(path: "", reason: "the header would be \(json.count) bytes, more than the format's limit of \(maximumHeaderBytes) (names and metadata too long)")
        }
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(body)
        return file
    }
}

/// A safetensors file is malformed or lacks what was asked for.
public struct SafeTensorsError: Error, CustomStringConvertible, Sendable {
    /// The file concerned; empty when the error is not about reading a file (a name not found, a dtype
    /// that cannot be read as floating point, encoding).
    public var path: String
    /// What is wrong, naming the entry and the bytes where that applies.
    public var reason: String
    /// `PATH: invalid safetensors file: REASON`, or `safetensors: REASON` without a path.
    public var description: String { path.isEmpty ? "safetensors: \(reason)" : "\(path): invalid safetensors file: \(reason)" }
}

/// IEEE half to single precision.
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exponent = Int((h >> 10) & 0x1f), mantissa = UInt32(h & 0x3ff)
    if exponent == 0 {
        let value = Float(mantissa) * 0x1p-24
        return sign == 0 ? value : -value
    }
    if exponent == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
    return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
}
