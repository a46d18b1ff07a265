import Foundation

// MARK: - safetensors

/// A safetensors file: an 8-byte little-endian header length, a JSON header naming each tensor's
/// dtype, shape and byte range, then the raw little-endian data.
///
/// Reading validates everything before anything is used: the header length fits in the file, the
/// header is a UTF-8 JSON object, every dtype is known, every shape × dtype size equals its byte
/// range, and ranges lie inside the data without overlapping. Each failure is a thrown
/// `SafeTensorsError` with a message; nothing is allocated beyond the file's own size.
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
        public var dtype: DType
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

    /// Parses and validates the bytes of a file; `path` only labels error messages.
    public init(data: Data, path: String = "<memory>") throws {
        func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(path: path, reason: reason) }
        guard data.count >= 8 else { throw fail("file is \(data.count) bytes, shorter than the 8-byte header length") }
        let headerLength = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> UInt64 in
            var value: UInt64 = 0
            for i in 0..<8 { value |= UInt64(raw[i]) << (8 * UInt64(i)) }
            return value
        }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail("header length \(headerLength) exceeds the \(data.count - 8) bytes after it")
        }
        let start = data.startIndex
        let headerBytes = data[(start + 8)..<(start + 8 + Int(headerLength))]
        guard String(data: headerBytes, encoding: .utf8) != nil else { throw fail("header is not valid UTF-8") }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: headerBytes, options: []) } catch {
            throw fail("header is not valid JSON")
        }
        guard let object = json as? [String: Any] else { throw fail("header is not a JSON object") }
        let dataLength = data.count - 8 - Int(headerLength)
        var entries: [String: Info] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else { throw fail("__metadata__ is not an object of strings") }
                for (k, v) in map {
                    guard let s = v as? String else { throw fail("__metadata__ value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any] else { throw fail("entry '\(name)' is not an object") }
            guard let dtypeName = entry["dtype"] as? String else { throw fail("entry '\(name)' has no dtype") }
            guard let dtype = DType(rawValue: dtypeName) else { throw fail("entry '\(name)' has unknown dtype '\(dtypeName)'") }
            guard let shapeValues = entry["shape"] as? [Any] else { throw fail("entry '\(name)' has no shape list") }
            var shape: [Int] = []
            var count = 1
            for d in shapeValues {
                guard let n = d as? NSNumber, let dim = Int(exactly: n.doubleValue), dim >= 0 else {
                    throw fail("entry '\(name)' has a shape entry that is not a non-negative integer: \(d)")
                }
                let (product, overflow) = count.multipliedReportingOverflow(by: dim)
                guard !overflow, product <= dataLength else {
                    throw fail("entry '\(name)' has shape \(shapeValues) larger than the \(dataLength) data bytes")
                }
                count = product
                shape.append(dim)
            }
            guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
                  let b = (offsets[0] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }),
                  let e = (offsets[1] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }) else {
                throw fail("entry '\(name)' needs data_offsets [begin, end] of integers")
            }
            guard b >= 0, b <= e, e <= dataLength else {
                throw fail("entry '\(name)' has data_offsets [\(b), \(e)] outside the \(dataLength) data bytes")
            }
            guard e - b == count * dtype.size else {
                throw fail("entry '\(name)': shape \(shape) of \(dtype.rawValue) needs \(count * dtype.size) bytes, data_offsets give \(e - b)")
            }
            entries[name] = Info(dtype: dtype, shape: shape, range: b..<e)
        }
        let sorted = entries.sorted { $0.value.range.lowerBound < $1.value.range.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.value.range.upperBound > b.value.range.lowerBound {
            throw fail("entries '\(a.key)' and '\(b.key)' have overlapping data ranges")
        }
        self.entries = entries
        self.metadata = metadata
        self.bytes = data
        self.dataStart = 8 + Int(headerLength)
    }

    /// The tensor `name` converted to `Scalar` (F32, F64, F16, BF16 and I64 can be read as a float type).
    public func tensor<Scalar: TensorScalar>(_ name: String, as type: Scalar.Type = Scalar.self) throws -> Tensor<Scalar> {
        guard let info = entries[name] else {
            throw SafeTensorsError(path: "", reason: "no tensor named '\(name)' (has: \(names.joined(separator: ", ")))")
        }
        let count = info.shape.reduce(1, *)
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
        let count = info.shape.reduce(1, *)
        return try withRawBytes(info) { raw in
            switch info.dtype {
            case .I64: return (0..<count).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
            case .I32: return (0..<count).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
            default: throw SafeTensorsError(path: "", reason: "tensor '\(name)' has dtype \(info.dtype.rawValue), not an integer type")
            }
        }
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

    /// The bytes of a safetensors file: names sorted, data contiguous, header padded to 8 bytes.
    ///
    /// Throws `SafeTensorsError` (with an empty path) for a tensor named `__metadata__` (the format
    /// reserves that key for `metadata`) and for an `.int64` entry whose shape has a negative
    /// dimension or does not match its number of values.
    public static func encode(entries: [String: Entry], metadata: [String: String] = [:]) throws -> Data {
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
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(body)
        return file
    }
}

/// A safetensors file is malformed or lacks what was asked for.
public struct SafeTensorsError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
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
