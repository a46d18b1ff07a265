// MARK: - TFRecord framing

/// `data` framed as one TFRecord, the container of TensorBoard's event files (TensorFlow's
/// `core/lib/io/record_writer.cc`):
///
///     uint64  length          little-endian, the number of bytes of data
///     uint32  masked CRC-32C of those 8 length bytes
///     byte    data[length]
///     uint32  masked CRC-32C of the data
///
/// A reader checks both CRCs, so a file cut anywhere (a crash, a full disk) is read up to its last
/// whole record and the torn tail is recognised rather than misread.
func tfRecord(_ data: [UInt8]) -> [UInt8] {
    var record: [UInt8] = []
    record.reserveCapacity(data.count + 16)
    withUnsafeBytes(of: UInt64(data.count).littleEndian) { record.append(contentsOf: $0) }
    withUnsafeBytes(of: maskedCRC32C(record).littleEndian) { record.append(contentsOf: $0) }
    record.append(contentsOf: data)
    withUnsafeBytes(of: maskedCRC32C(data).littleEndian) { record.append(contentsOf: $0) }
    return record
}
