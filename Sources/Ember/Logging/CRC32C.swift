// MARK: - CRC-32C (Castagnoli), the checksum of TFRecord files

/// The CRC-32C checksum of `bytes` (the Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78,
/// initial value and final XOR 0xFFFFFFFF; RFC 3720 appendix B.4), as TensorFlow's record files use
/// it. Its check value, CRC-32C("123456789"), is 0xE3069283.
///
/// Table-driven, one byte a step: event files are small (a scalar record is about 40 bytes), so a
/// slicing or SSE4.2 version would not show in a training run.
func crc32c<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc = crc32cTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
    }
    return crc ^ 0xFFFF_FFFF
}

/// The CRC stored in a TFRecord: rotated right by 15 bits and offset by 0xA282EAD8 (TensorFlow's
/// `crc32c::Mask`), because a CRC computed over data that itself holds CRCs is weak.
func maskedCRC32C<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
    let crc = crc32c(bytes)
    return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
}

/// The 256 remainders of one byte under the reflected polynomial.
private let crc32cTable: [UInt32] = (0..<256).map { (n: Int) -> UInt32 in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 == 1 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
    return c
}
