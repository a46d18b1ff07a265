// MARK: - JSON, as the safetensors reference reads it

/// A JSON value read strictly (RFC 8259, as serde_json reads it), keeping what Foundation's
/// `JSONSerialization` loses and the safetensors rules need: an object's members in order with
/// repeated keys kept, and whether a number is an integer literal that fits in 64 bits.
enum HeaderJSON {
    case object([(key: String, value: HeaderJSON)])
    case array([HeaderJSON])
    case string(String)
    /// A literal without sign, fraction or exponent that fits in `UInt64`.
    case unsigned(UInt64)
    /// Any other number (negative, with a fraction or exponent, or too large), as written.
    case number(String)
    case bool(Bool)
    case null

    /// The deepest nesting of arrays and objects accepted, serde_json's default recursion limit.
    static let maximumDepth = 128

    /// A syntax error and the byte offset where it was found.
    struct SyntaxError: Error {
        var reason: String
        var offset: Int
    }

    /// Parses `bytes`, which must be valid UTF-8 and hold one JSON value with only whitespace
    /// around it.
    static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> HeaderJSON {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.at == bytes.count else { throw parser.error("text after the JSON value") }
        return value
    }

    /// A short text for messages: strings quoted, containers abbreviated.
    var summary: String {
        switch self {
        case .object: "an object"
        case .array: "a list"
        case .string(let s): "\"\(s)\""
        case .unsigned(let n): "\(n)"
        case .number(let text): text
        case .bool(let b): "\(b)"
        case .null: "null"
        }
    }
}

private struct Parser {
    let bytes: [UInt8]
    var at = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func error(_ reason: String) -> HeaderJSON.SyntaxError { .init(reason: reason, offset: at) }

    mutating func skipWhitespace() {
        while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(HeaderJSON.SyntaxError) {
        guard at < bytes.count, bytes[at] == byte else { throw error("expected \(what)") }
        at += 1
    }

    mutating func value(depth: Int) throws(HeaderJSON.SyntaxError) -> HeaderJSON {
        guard at < bytes.count else { throw error("the text ends where a value should be") }
        switch bytes[at] {
        case UInt8(ascii: "{"):
            guard depth < HeaderJSON.maximumDepth else { throw error("nested more than \(HeaderJSON.maximumDepth) levels") }
            at += 1
            var members: [(key: String, value: HeaderJSON)] = []
            skipWhitespace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try string()
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':' after a key")
                skipWhitespace()
                members.append((key, try value(depth: depth + 1)))
                skipWhitespace()
                guard at < bytes.count else { throw error("the text ends inside an object") }
                if bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
                try expect(UInt8(ascii: ","), "',' or '}' in an object")
            }
        case UInt8(ascii: "["):
            guard depth < HeaderJSON.maximumDepth else { throw error("nested more than \(HeaderJSON.maximumDepth) levels") }
            at += 1
            var elements: [HeaderJSON] = []
            skipWhitespace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(elements) }
            while true {
                skipWhitespace()
                elements.append(try value(depth: depth + 1))
                skipWhitespace()
                guard at < bytes.count else { throw error("the text ends inside a list") }
                if bytes[at] == UInt8(ascii: "]") { at += 1; return .array(elements) }
                try expect(UInt8(ascii: ","), "',' or ']' in a list")
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try number()
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default:
            throw error("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws(HeaderJSON.SyntaxError) {
        let count = word.utf8CodeUnitCount
        let matches = at + count <= bytes.count && word.withUTF8Buffer { w in (0..<count).allSatisfy { bytes[at + $0] == w[$0] } }
        guard matches else { throw error("unexpected character") }
        at += count
    }

    mutating func number() throws(HeaderJSON.SyntaxError) -> HeaderJSON {
        let start = at
        func digits(_ parser: inout Parser) -> Int {
            let first = parser.at
            while parser.at < parser.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.at]) { parser.at += 1 }
            return parser.at - first
        }
        let negative = bytes[at] == UInt8(ascii: "-")
        if negative { at += 1 }
        guard at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) else { throw error("a number needs digits") }
        if bytes[at] == UInt8(ascii: "0") {
            at += 1
            if at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) { throw error("a number may not have leading zeros") }
        } else {
            _ = digits(&self)
        }
        var integer = !negative
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
            at += 1
            guard digits(&self) > 0 else { throw error("a fraction needs digits") }
            integer = false
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
            at += 1
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard digits(&self) > 0 else { throw error("an exponent needs digits") }
            integer = false
        }
        let text = String(decoding: bytes[start..<at], as: UTF8.self)
        if integer, let value = UInt64(text) { return .unsigned(value) }
        return .number(text)
    }

    /// A string starting at the opening quote, escapes decoded; control characters and lone
    /// surrogates are errors.
    mutating func string() throws(HeaderJSON.SyntaxError) -> String {
        at += 1
        var result = ""
        var runStart = at
        func hex4(_ parser: inout Parser) throws(HeaderJSON.SyntaxError) -> UInt32 {
            guard parser.at + 4 <= parser.bytes.count else { throw parser.error("a \\u escape needs four hex digits") }
            var value: UInt32 = 0
            for i in 0..<4 {
                guard let digit = hexValue(parser.bytes[parser.at + i]) else { throw parser.error("a \\u escape needs four hex digits") }
                value = value << 4 | digit
            }
            parser.at += 4
            return value
        }
        while true {
            guard at < bytes.count else { throw error("the text ends inside a string") }
            let byte = bytes[at]
            if byte == UInt8(ascii: "\"") {
                result += String(decoding: bytes[runStart..<at], as: UTF8.self)
                at += 1
                return result
            }
            if byte < 0x20 { throw error("a control character inside a string must be escaped") }
            guard byte == UInt8(ascii: "\\") else { at += 1; continue }
            result += String(decoding: bytes[runStart..<at], as: UTF8.self)
            at += 1
            guard at < bytes.count else { throw error("the text ends inside a string") }
            let escape = bytes[at]
            at += 1
            switch escape {
            case UInt8(ascii: "\""): result += "\""
            case UInt8(ascii: "\\"): result += "\\"
            case UInt8(ascii: "/"): result += "/"
            case UInt8(ascii: "b"): result += "\u{8}"
            case UInt8(ascii: "f"): result += "\u{C}"
            case UInt8(ascii: "n"): result += "\n"
            case UInt8(ascii: "r"): result += "\r"
            case UInt8(ascii: "t"): result += "\t"
            case UInt8(ascii: "u"):
                let unit = try hex4(&self)
                var scalar = unit
                if (0xD800...0xDBFF).contains(unit) {
                    guard at + 2 <= bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") else {
                        throw error("a lone leading surrogate in a \\u escape")
                    }
                    at += 2
                    let low = try hex4(&self)
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("a lone leading surrogate in a \\u escape") }
                    scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(unit) {
                    throw error("a lone trailing surrogate in a \\u escape")
                }
                result.unicodeScalars.append(Unicode.Scalar(scalar)!)
            default:
                throw error("an invalid escape in a string")
            }
            runStart = at
        }
    }
}

private func hexValue(_ byte: UInt8) -> UInt32? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
    case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
    default: nil
    }
}
