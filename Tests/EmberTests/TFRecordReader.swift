import Foundation
@testable import Ember

// MARK: - A small reader of TFRecord files and protobuf messages, for the tests

/// The whole records at the start of a TFRecord file, checking both CRCs, and whether bytes after
/// them were left over (a torn or corrupt record, where TensorBoard's reader stops too).
func readTFRecords(_ data: [UInt8]) -> (records: [[UInt8]], tornTail: Bool) {
    func uint32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(data[at + $1]) << (8 * $1) } }
    var records: [[UInt8]] = [], offset = 0
    while offset + 12 <= data.count {
        let lengthBytes = Array(data[offset..<offset + 8])
        guard maskedCRC32C(lengthBytes) == uint32(offset + 8) else { break }
        let length = lengthBytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard data.count - offset >= 16, length <= UInt64(data.count - offset - 16) else { break }
        let body = Array(data[offset + 12..<offset + 12 + Int(length)])
        guard maskedCRC32C(body) == uint32(offset + 12 + Int(length)) else { break }
        records.append(body)
        offset += 16 + Int(length)
    }
    return (records, offset != data.count)
}

/// One decoded protobuf field: its number and either a varint, a fixed 8 or 4 bytes as an integer,
/// or a length-delimited payload.
struct ProtoField {
    var number: Int
    var integer: UInt64 = 0
    var payload: [UInt8] = []

    var double: Double { Double(bitPattern: integer) }
    var float: Float { Float(bitPattern: UInt32(truncatingIfNeeded: integer)) }
    var string: String { String(decoding: payload, as: UTF8.self) }
    var fields: [ProtoField] { decodeProto(payload) }
    var packedDoubles: [Double] {
        stride(from: 0, to: payload.count, by: 8).map { i in
            Double(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(payload[i + $1]) << (8 * UInt64($1)) })
        }
    }
}

/// The fields of a message (varint, fixed64, length-delimited and fixed32 wire types).
func decodeProto(_ bytes: [UInt8]) -> [ProtoField] {
    var fields: [ProtoField] = [], i = 0
    func varint() -> UInt64 {
        var value: UInt64 = 0, shift: UInt64 = 0
        while true {
            let b = bytes[i]; i += 1
            value |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return value }
            shift += 7
        }
    }
    func fixed(_ n: Int) -> UInt64 {
        defer { i += n }
        return (0..<n).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << (8 * UInt64($1)) }
    }
    while i < bytes.count {
        let key = varint()
        var field = ProtoField(number: Int(key >> 3))
        switch key & 7 {
        case 0: field.integer = varint()
        case 1: field.integer = fixed(8)
        case 5: field.integer = fixed(4)
        default:
            let n = Int(varint())
            field.payload = Array(bytes[i..<i + n]); i += n
        }
        fields.append(field)
    }
    return fields
}

extension Array where Element == ProtoField {
    /// The first field numbered `n`.
    subscript(field n: Int) -> ProtoField? { first { $0.number == n } }
}

/// `[UInt8]` from a hex string (spaces ignored).
func hexBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}
