import Foundation
import Testing
import Ember

@Suite struct SafeTensorsTests {
    @Test func roundTripsMixedTypesAndMetadata() throws {
        let dir = temporaryDirectory()
        let url = dir.appendingPathComponent("model.safetensors")
        let f = Tensor<Float>(shape: [2, 3], scalars: [1, -2, 3.5, 4, 5, 6])
        let d = Tensor<Double>(shape: [3], scalars: [0.1, .pi, -1e300])
        try SafeTensorsFile.write(entries: ["a": .float(f), "b": .double(d), "labels": .int64(shape: [2, 2], values: [1, -2, 3, 1 << 40])],
                                  metadata: ["epoch": "3"], to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.names == ["a", "b", "labels"])
        #expect(file.metadata == ["epoch": "3"])
        #expect(try file.tensor("a", as: Float.self) == f)
        #expect(try file.tensor("b", as: Double.self) == d)
        #expect(try file.tensor("a", as: Double.self) == Tensor<Double>(f))      // F32 read as Double
        #expect(try file.integers("labels") == [1, -2, 3, 1 << 40])
        #expect(file.entries["a"]?.dtype == .F32 && file.entries["b"]?.dtype == .F64)
        // Written atomically: nothing but the file is left in the directory.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["model.safetensors"])
        // The header is padded to 8 bytes, as the reference implementation does.
        let bytes = try Data(contentsOf: url)
        #expect(Int(bytes[0]) % 8 == 0)
    }

    @Test func readsPyTorchFiles() throws {
        let file = try Fixtures.pytorch("linear")
        #expect(file.metadata["module"] == "Linear")
        #expect(try file.tensor("param.weight", as: Double.self).shape == [3, 5])
        let ce = try Fixtures.pytorch("cross_entropy")
        #expect(try ce.integers("target").allSatisfy { (0..<10).contains($0) })
    }

    @Test func readsHalfAndBFloat16() throws {
        // 1.0, -2.0, 0.5 in half: 0x3C00, 0xC000, 0x3800; in bfloat16: 0x3F80, 0xC000, 0x3F00.
        func file(_ dtype: String, _ values: [UInt16]) -> Data {
            var header = Data("{\"x\":{\"dtype\":\"\(dtype)\",\"shape\":[3],\"data_offsets\":[0,6]}}".utf8)
            while header.count % 8 != 0 { header.append(0x20) }
            var data = Data()
            withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
            data.append(header)
            for v in values { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
            return data
        }
        #expect(try SafeTensorsFile(data: file("F16", [0x3C00, 0xC000, 0x3800])).tensor("x", as: Float.self).scalars == [1, -2, 0.5])
        #expect(try SafeTensorsFile(data: file("BF16", [0x3F80, 0xC000, 0x3F00])).tensor("x", as: Double.self).scalars == [1, -2, 0.5])
    }

    /// Builds a file from a header string and a data size.
    func raw(_ header: String, dataBytes: Int = 16, claimedLength: UInt64? = nil) -> Data {
        var data = Data()
        let h = Data(header.utf8)
        withUnsafeBytes(of: (claimedLength ?? UInt64(h.count)).littleEndian) { data.append(contentsOf: $0) }
        data.append(h)
        data.append(Data(count: dataBytes))
        return data
    }

    func rejects(_ data: Data, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try SafeTensorsFile(data: data, path: "bad.safetensors")
            Issue.record("accepted a bad file (expected: \(fragment))", sourceLocation: sourceLocation)
        } catch let error as SafeTensorsError {
            #expect(error.description.contains(fragment), "\(error)", sourceLocation: sourceLocation)
            #expect(error.description.contains("bad.safetensors"), sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func rejectsMalformedFiles() {
        let good = #"{"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#
        #expect(throws: Never.self) { try SafeTensorsFile(data: raw(good)) }
        rejects(Data([1, 2, 3]), "shorter than the 8-byte header length")
        rejects(raw(good, claimedLength: 1 << 62), "header length 4611686018427387904 exceeds")
        rejects(raw(good, claimedLength: UInt64.max), "exceeds")
        rejects(raw("not json"), "not valid JSON")
        rejects(raw("[1, 2]"), "not a JSON object")
        var invalidUTF8 = raw("{}  ")
        invalidUTF8[9] = 0xFF
        rejects(invalidUTF8, "not valid UTF-8")
        rejects(raw(#"{"x":{"dtype":"F99","shape":[2,2],"data_offsets":[0,16]}}"#), "unknown dtype 'F99'")
        rejects(raw(#"{"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}"#), "needs 24 bytes, data_offsets give 16")
        rejects(raw(#"{"x":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]}}"#), "entry 'x' begins at byte 8 of the data, but no tensor covers bytes 0..<8")
        rejects(raw(#"{"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#, dataBytes: 12), "entry 'x' has data_offsets [0, 16], beyond the 12 data bytes (truncated file?)")
        rejects(raw(#"{"x":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,16]}}"#), "not a non-negative integer")
        rejects(raw(#"{"x":{"dtype":"F32","shape":[4294967295,4294967295],"data_offsets":[0,16]}}"#), "entry 'x': the byte size of shape [4294967295, 4294967295] of F32 overflows 64 bits")
        rejects(raw(#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#),
                "entries 'x' and 'y' have overlapping data ranges: 'y' has data_offsets [4, 12], which begin inside 'x''s [0, 8]")
        rejects(raw(#"{"x":{"dtype":"F32","shape":[2,2]}}"#), "entry 'x' needs data_offsets [begin, end]")
        rejects(raw(#"{"__metadata__":{"a":1}}"#), "__metadata__ value for 'a' is not a string: 1")
    }

    /// The issue's case: a [4, 0] tensor (no bytes) in a file Ember itself wrote.
    @Test func zeroSizeTensorInEmbersOwnFile() throws {
        let url = temporaryDirectory().appendingPathComponent("z.safetensors")
        try SafeTensorsFile.write(["buffer": Tensor<Float>(shape: [4, 0], scalars: [])], to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.names == ["buffer"])
        #expect(file.entries["buffer"]?.shape == [4, 0] && file.entries["buffer"]?.range == 0..<0)
        #expect(try file.tensor("buffer", as: Float.self) == Tensor<Float>(shape: [4, 0], scalars: []))
    }

    /// Zero-size tensors may share an offset, with each other and with the start or end of another.
    @Test func zeroSizeTensorsShareOffsets() throws {
        let header = #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F64","shape":[2,0,3],"data_offsets":[0,0]},"#
            + #""x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"y":{"dtype":"I64","shape":[0],"data_offsets":[16,16]},"#
            + #""z":{"dtype":"F16","shape":[0,5],"data_offsets":[16,16]}}"#
        let file = try SafeTensorsFile(data: raw(header))
        #expect(file.names == ["a", "b", "x", "y", "z"])
        #expect(try file.tensor("b", as: Double.self).shape == [2, 0, 3])
        #expect(try file.integers("y") == [])
        #expect(try file.tensor("z", as: Float.self).shape == [0, 5])
        #expect(try file.tensor("x", as: Float.self).scalars == [0, 0, 0, 0])
        // Ember writes such sets too: empty tensors of every type between full ones.
        let written = try SafeTensorsFile(data: SafeTensorsFile.encode(entries: [
            "a": .double(Tensor(shape: [0, 2], scalars: [])), "b": .float(Tensor([1, 2])), "c": .int64(shape: [3, 0], values: []),
            "d": .float(Tensor(shape: [0], scalars: [])), "e": .int64(shape: [1], values: [7]), "f": .double(Tensor(shape: [1, 0, 1], scalars: [])),
        ]))
        #expect(written.names.map { written.entries[$0]!.range } == [0..<0, 0..<8, 8..<8, 8..<8, 8..<16, 16..<16])
    }

    /// The reference implementation's rules: the byte ranges, sorted, tile the data from 0 to its
    /// end; each is its shape's element count times the dtype's size (overflow checked); the header
    /// is at most 100,000,000 bytes; a repeated name counts once (the last), a repeated
    /// `__metadata__` or field is an error; numbers in shapes and offsets are integer literals.
    @Test func byteRangesTileTheDataAsTheReferenceRequires() throws {
        func entry(_ name: String, _ shape: String, _ b: Int, _ e: Int, dtype: String = "F32") -> String {
            #""\#(name)":{"dtype":"\#(dtype)","shape":[\#(shape)],"data_offsets":[\#(b),\#(e)]}"#
        }
        let good = "{" + entry("x", "2,2", 0, 16) + "}"
        // Data after the last tensor, and data with no tensor at all.
        rejects(raw(good, dataBytes: 24), "8 data bytes after 'x' (the last tensor, ending at byte 16 of 24) belong to no tensor")
        rejects(raw("{}", dataBytes: 16), "the header lists no tensors, but 16 data bytes follow it")
        #expect(throws: Never.self) { try SafeTensorsFile(data: raw("{}", dataBytes: 0)) }
        // Gaps: at the start and between two tensors.
        rejects(raw("{" + entry("x", "2,2", 8, 24) + "}", dataBytes: 24), "entry 'x' begins at byte 8 of the data, but no tensor covers bytes 0..<8")
        rejects(raw("{" + entry("x", "2", 0, 8) + "," + entry("y", "2", 12, 20) + "}", dataBytes: 20),
                "entry 'y' begins at byte 12 of the data, but no tensor covers bytes 8..<12 (after 'x')")
        // Overlaps: partial, identical, and an empty tensor inside another's bytes.
        rejects(raw("{" + entry("x", "4", 0, 16) + "," + entry("y", "4", 0, 16) + "}", dataBytes: 32), "entries 'x' and 'y' have overlapping data ranges")
        rejects(raw("{" + entry("x", "4", 0, 16) + "," + entry("z", "0", 8, 8) + "}"),
                "entries 'x' and 'z' have overlapping data ranges: 'z' has data_offsets [8, 8], which begin inside 'x''s [0, 16]")
        // Offsets that end before they begin; a range past the end of the file.
        rejects(raw("{" + entry("x", "4", 16, 0) + "}"), "entry 'x' has data_offsets [16, 0], which end before they begin")
        rejects(raw("{" + entry("x", "8", 0, 32) + "}"), "entry 'x' has data_offsets [0, 32], beyond the 16 data bytes (truncated file?)")
        // Element count × dtype size, overflow checked in 64 bits as the reference does (left to right).
        rejects(raw("{" + entry("x", "4294967296,4294967296,0", 0, 0) + "}", dataBytes: 0),
                "entry 'x': the byte size of shape [4294967296, 4294967296, 0] of F32 overflows 64 bits")
        rejects(raw("{" + entry("x", "4294967295,4294967295", 0, 16, dtype: "U8") + "}"),
                "entry 'x': shape [4294967295, 4294967295] of U8 needs 18446744065119617025 bytes, data_offsets give 16")
        // The header length limit, checked before anything else about the header.
        rejects(raw(good, claimedLength: 100_000_001), "header length 100000001 exceeds the limit of 100000000 bytes")
        rejects(raw(good, claimedLength: 100_000_000), "header length 100000000 exceeds the 73 bytes after it")
        #expect(SafeTensorsFile.maximumHeaderBytes == 100_000_000)
    }

    @Test func repeatedKeysAndNumbersAsTheReferenceReadsThem() throws {
        let x8 = #"{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#, x16 = #"{"dtype":"F32","shape":[4],"data_offsets":[0,16]}"#
        // A repeated tensor name: the last one counts; if that leaves bytes uncovered, the error says why.
        #expect(try SafeTensorsFile(data: raw(#"{"x":\#(x8),"x":\#(x16)}"#)).entries["x"]?.shape == [4])
        rejects(raw(#"{"x":\#(x16),"x":\#(x8)}"#), "the header names 'x' more than once, and only the last counts")
        // __metadata__: null is none; twice is an error; a key repeated inside it keeps its last value.
        #expect(try SafeTensorsFile(data: raw(#"{"__metadata__":null}"#, dataBytes: 0)).metadata == [:])
        rejects(raw(#"{"__metadata__":{"a":"1"},"__metadata__":{"b":"2"}}"#, dataBytes: 0), "'__metadata__' appears more than once")
        #expect(try SafeTensorsFile(data: raw(#"{"__metadata__":{"a":"1","a":"2"}}"#, dataBytes: 0)).metadata == ["a": "2"])
        // A field repeated inside an entry is an error; a field the format does not define is ignored.
        rejects(raw(#"{"x":{"dtype":"F32","dtype":"F64","shape":[4],"data_offsets":[0,16]}}"#), "entry 'x' has more than one 'dtype'")
        #expect(throws: Never.self) { try SafeTensorsFile(data: raw(#"{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"extra":{"a":[1,2.5,{}],"b":null}}}"#)) }
        // Shapes and offsets are integer literals: not 2.0, 2e0 or -0, and at most 2^64 - 1.
        for shape in ["4.0", "4e0", "-0,4", "18446744073709551616"] {
            rejects(raw(#"{"x":{"dtype":"F32","shape":[\#(shape)],"data_offsets":[0,16]}}"#), "entry 'x' has a shape entry that is not a non-negative integer")
        }
        for offsets in ["0,16.0", "0", "0,16,16", "\"0\",16", "0,18446744073709551616"] {
            rejects(raw(#"{"x":{"dtype":"F32","shape":[4],"data_offsets":[\#(offsets)]}}"#), "entry 'x' needs data_offsets [begin, end] of non-negative integers")
        }
        rejects(raw(#"{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,18446744073709551615]}}"#), "needs 16 bytes, data_offsets give 18446744073709551615")
        // A dimension beyond Int.max holds no elements only next to a zero, and Ember cannot index it.
        rejects(raw(#"{"x":{"dtype":"F32","shape":[0,9223372036854775808],"data_offsets":[0,0]}}"#, dataBytes: 0),
                "entry 'x' has a dimension 9223372036854775808 larger than Ember can index")
    }

    /// Names and strings are JSON strings with every escape; the JSON is strict (as serde_json is).
    @Test func headerJSONIsReadStrictly() throws {
        let names = try SafeTensorsFile(data: raw(#"{"a\"b\\c\/\u00e9\ud83d\ude00\n":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#))
        #expect(names.names == ["a\"b\\c/é😀\n"])
        #expect(throws: Never.self) { try SafeTensorsFile(data: raw(" \t\r\n{ } \n ", dataBytes: 0)) }
        for bad in ["{}\0", #"{"\ud800":{}}"#, "{\"a\u{1}\":{}}", #"{"x":{"dtype":"F32","shape":[04],"data_offsets":[0,16]}}"#,
                    "{,}", #"{"a":1,}"#, "{\"a\" 1}", "{} {}", #"{"a":tru}"#, #"{"a":"\x"}"#, "{'a':1}"] {
            rejects(raw(bad), "header is not valid JSON")
        }
        // Deep nesting is an error (serde_json stops at 128 levels), not a stack overflow.
        let deep = #"{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"deep":"# + String(repeating: "[", count: 200_000) + "}}"
        rejects(raw(deep), "header is not valid JSON (nested more than 128 levels")
        // Two names that differ only in Unicode normalization are one name to Swift: an error, not a merge.
        rejects(raw(#"{"\u00e9":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e\u0301":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#),
                "differ only in Unicode normalization")
    }

    /// A zero-size shape whose other dimensions multiply past Int.max is valid in the format, but
    /// Ember cannot make a tensor of it: reading it throws rather than trapping.
    @Test func zeroSizeTensorsEmberCannotIndexThrowOnRead() throws {
        let file = try SafeTensorsFile(data: raw(#"{"x":{"dtype":"I64","shape":[4294967295,4294967295,0],"data_offsets":[0,0]}}"#, dataBytes: 0))
        #expect(file.entries["x"]?.shape == [4294967295, 4294967295, 0])
        #expect { try file.tensor("x", as: Float.self) } throws: { "\($0)".contains("'x' has shape [4294967295, 4294967295, 0]") }
        #expect { try file.integers("x") } throws: { "\($0)".contains("'x' has shape [4294967295, 4294967295, 0]") }
    }

    /// The writer never makes a header the reader rejects as too large: names and metadata longer
    /// than the limit fail before any JSON is made, and a header that JSON's quotes, keys and
    /// offsets take past the limit fails once made.
    @Test func writerKeepsTheHeaderWithinTheLimit() throws {
        func text(_ count: Int) -> String { String(decoding: [UInt8](repeating: UInt8(ascii: "a"), count: count), as: UTF8.self) }
        #expect { try SafeTensorsFile.encode(entries: [:], metadata: ["m": text(SafeTensorsFile.maximumHeaderBytes)]) } throws: {
            "\($0)".contains("the header would be at least 100000001 bytes, more than the format's limit of 100000000")
        }
        #expect { try SafeTensorsFile.encode(entries: ["x": .float(Tensor([1]))], metadata: ["m": text(SafeTensorsFile.maximumHeaderBytes - 20)]) } throws: {
            "\($0)".contains("the header would be 100000064 bytes, more than the format's limit of 100000000")
        }
    }

    /// Random sets of tensors (names with any characters, ranks 0-4, zero-size dimensions, every type
    /// the writer writes) and metadata are read back exactly as written.
    @Test func randomFilesReadBackAsWritten() throws {
        let pieces = ["w", "bias", "layer.0.", "é", "e\u{301}", "日本語", "😀", "a\"b", "back\\slash", "sl/ash", "tab\t", "nul\u{0}",
                      "\u{7f}", "\u{2028}", " ", "Ω≈ç√", "𝔘𝔫𝔦", "👩‍👩‍👧", "", "__metadata", "{\"x\":1}", "\u{FEFF}", "\u{10FFFF}"]
        func text(_ g: inout SeededGenerator) -> String {
            (0..<g.nextInt(below: 4)).map { _ in pieces[g.nextInt(below: pieces.count)] }.joined()
        }
        for seed in 0..<500 {
            var g = SeededGenerator(seed: UInt64(seed))
            var entries: [String: SafeTensorsFile.Entry] = [:]
            for _ in 0..<g.nextInt(below: 7) {
                let name = text(&g)
                guard name != "__metadata__" else { continue }
                let shape = (0..<g.nextInt(below: 5)).map { _ in g.nextInt(below: 4) == 0 ? 0 : 1 + g.nextInt(below: 3) }
                let count = shape.reduce(1, *)
                switch g.nextInt(below: 3) {
                case 0: entries[name] = .float(Tensor(shape: shape, scalars: (0..<count).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: g.next())) }))
                case 1: entries[name] = .double(Tensor(shape: shape, scalars: (0..<count).map { _ in Double(bitPattern: g.next()) }))
                default: entries[name] = .int64(shape: shape, values: (0..<count).map { _ in Int(truncatingIfNeeded: g.next()) })
                }
            }
            var metadata: [String: String] = [:]
            for _ in 0..<g.nextInt(below: 3) { metadata[text(&g)] = text(&g) }
            let file = try SafeTensorsFile(data: SafeTensorsFile.encode(entries: entries, metadata: metadata), path: "seed \(seed)")
            #expect(file.names == entries.keys.sorted(), "seed \(seed)")
            #expect(file.metadata == metadata, "seed \(seed)")
            for (name, entry) in entries {
                switch entry {
                case .float(let t):
                    let back = try file.tensor(name, as: Float.self)
                    #expect(file.entries[name]?.dtype == .F32 && back.shape == t.shape && back.scalars.map(\.bitPattern) == t.scalars.map(\.bitPattern), "seed \(seed)")
                case .double(let t):
                    let back = try file.tensor(name, as: Double.self)
                    #expect(file.entries[name]?.dtype == .F64 && back.shape == t.shape && back.scalars.map(\.bitPattern) == t.scalars.map(\.bitPattern), "seed \(seed)")
                case .int64(let shape, let values):
                    let back = try file.integers(name)
                    #expect(file.entries[name]?.dtype == .I64 && file.entries[name]?.shape == shape && back == values, "seed \(seed)")
                }
            }
        }
    }

    @Test func missingTensorAndWrongTypeAreErrors() throws {
        let file = try SafeTensorsFile(data: SafeTensorsFile.encode(entries: ["x": .int64(shape: [1], values: [3])]))
        #expect(throws: SafeTensorsError.self) { try file.tensor("nope", as: Float.self) }
        #expect(throws: SafeTensorsError.self) { try file.integers("nope") }
        #expect(try file.tensor("x", as: Double.self).scalars == [3])
        let floats = try SafeTensorsFile(data: SafeTensorsFile.encode(entries: ["f": .float(Tensor([1]))]))
        #expect(throws: SafeTensorsError.self) { try floats.integers("f") }
    }

    /// Bad input to the writer throws (it never traps), and nothing is written.
    @Test func encodeRejectsReservedNamesAndBadShapes() throws {
        func reason(_ entries: [String: SafeTensorsFile.Entry]) -> String {
            do { _ = try SafeTensorsFile.encode(entries: entries); return "no error" } catch { return "\(error)" }
        }
        #expect(reason(["__metadata__": .float(Tensor([1]))]).contains("'__metadata__' is reserved"))
        #expect(reason(["i": .int64(shape: [2, 2], values: [1, 2, 3])]).contains("'i' has 3 values for shape [2, 2]"))
        #expect(reason(["i": .int64(shape: [-1, -2], values: [1, 2])]).contains("'i' has 2 values for shape [-1, -2]"))
        let url = temporaryDirectory().appendingPathComponent("m.safetensors")
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile.write(["__metadata__": Tensor<Float>([1])], to: url) }
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    @Test func staleTemporariesOfDeadWritersAreRemoved() throws {
        let dir = temporaryDirectory()
        let url = dir.appendingPathComponent("m.safetensors")
        // PID 4194304 is above Linux's pid_max, so no process has it; our own PID is alive.
        let stale = dir.appendingPathComponent(".m.safetensors.tmp-4194304-17")
        let live = dir.appendingPathComponent(".m.safetensors.tmp-1-17")         // init is alive
        let other = dir.appendingPathComponent(".other.safetensors.tmp-4194304-17")
        for f in [stale, live, other] { try Data("half".utf8).write(to: f) }
        try SafeTensorsFile.write(["x": Tensor<Float>([1])], to: url)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        #expect(names == ["m.safetensors", ".m.safetensors.tmp-1-17", ".other.safetensors.tmp-4194304-17"])
    }

    @Test func unwritableDestinationThrows() {
        let url = URL(fileURLWithPath: "/nonexistent-directory-\(UUID().uuidString)/m.safetensors")
        #expect(throws: EmberIOError.self) { try SafeTensorsFile.write(["x": Tensor<Float>([1])], to: url) }
    }
}
