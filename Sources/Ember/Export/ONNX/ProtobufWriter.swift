// MARK: - Protocol Buffers wire format (the subset ONNX files use)

/// Writes Protocol Buffers' binary encoding (protobuf.dev, "Encoding"): each field is a key — the field
/// number shifted left by 3, or'ed with the wire type — then its value. Integers are base-128 varints
/// (seven bits per byte, least significant group first, the high bit set on every byte but the last;
/// a negative int64 is its two's complement, ten bytes); `float` is four little-endian bytes (wire
/// type 5); strings, bytes and nested messages are length-delimited (wire type 2: a varint byte
/// count, then the bytes); a repeated scalar is its field written once per value. That is all an
/// ONNX model needs.
struct ProtobufWriter {
    /// The encoded bytes so far.
    private(set) var bytes: [UInt8] = []

    /// The wire types used here.
    enum WireType: UInt64 {
        case varint = 0, lengthDelimited = 2, fixed32 = 5
    }

    /// A base-128 varint.
    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// A field's key.
    mutating func key(_ field: Int, _ type: WireType) {
        varint(UInt64(field) << 3 | type.rawValue)
    }

    /// An `int64`/`int32`/enum field (negative values as ten-byte two's complement, as protobuf does).
    mutating func int(_ field: Int, _ value: Int) {
        key(field, .varint)
        varint(UInt64(bitPattern: Int64(value)))
    }

    /// A `float` field.
    mutating func float(_ field: Int, _ value: Float) {
        key(field, .fixed32)
        appendLittleEndian(value.bitPattern)
    }

    /// A `bytes` field.
    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        key(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A `string` field (UTF-8).
    mutating func string(_ field: Int, _ value: String) {
        bytes(field, Array(value.utf8))
    }

    /// A nested message field: `body` writes the message, which is then length-prefixed.
    mutating func message(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        body(&inner)
        bytes(field, inner.bytes)
    }

    /// A `repeated int64` field, one key and varint per value (unpacked, as proto2 — which onnx.proto
    /// is — writes it; parsers accept both forms).
    mutating func repeatedInts(_ field: Int, _ values: [Int]) {
        for v in values { int(field, v) }
    }

    /// A `repeated float` field, one key and value per element (unpacked, as proto2 writes it).
    mutating func repeatedFloats(_ field: Int, _ values: [Float]) {
        for v in values { float(field, v) }
    }

    /// Bytes appended as they are: the fixed-width values of wire types this file does not write
    /// (TensorBoard's doubles, Logging/ProtobufWriter+Summary.swift).
    mutating func appendRaw<Bytes: Sequence>(_ raw: Bytes) where Bytes.Element == UInt8 {
        bytes.append(contentsOf: raw)
    }

    private mutating func appendLittleEndian(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }
}
