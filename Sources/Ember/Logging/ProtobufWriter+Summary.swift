// MARK: - The protobuf fields TensorBoard's messages add to the ONNX subset

/// `ProtobufWriter` (Export/ONNX) writes what ONNX files need; TensorBoard's `Event`, `Summary` and
/// `HistogramProto` also have `double` fields (wire type 1, eight little-endian bytes), `bool`s and
/// packed repeated doubles (proto3's encoding of `repeated double`).
extension ProtobufWriter {
    /// A message built by `body`, e.g. `ProtobufWriter { $0.string(1, "tag") }.bytes`.
    init(_ body: (inout ProtobufWriter) -> Void) {
        self.init()
        body(&self)
    }

    /// A `double` field: key with wire type 1 (fixed64), then the bits, little-endian.
    mutating func double(_ field: Int, _ value: Double) {
        varint(UInt64(field) << 3 | 1)
        appendLittleEndian64(value.bitPattern)
    }

    /// A `bool` field.
    mutating func bool(_ field: Int, _ value: Bool) {
        int(field, value ? 1 : 0)
    }

    /// A packed `repeated double` field: one length-delimited run of eight-byte values (nothing at all
    /// when `values` is empty, as protobuf writes it).
    mutating func packedDoubles(_ field: Int, _ values: [Double]) {
        guard !values.isEmpty else { return }
        key(field, .lengthDelimited)
        varint(UInt64(values.count * 8))
        for v in values { appendLittleEndian64(v.bitPattern) }
    }

    private mutating func appendLittleEndian64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { appendRaw($0) }
    }
}
