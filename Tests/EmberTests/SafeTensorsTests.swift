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
        rejects(raw(#"{"x":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]}}"#), "outside the 16 data bytes")
        rejects(raw(#"{"x":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,16]}}"#), "not a non-negative integer")
        rejects(raw(#"{"x":{"dtype":"F32","shape":[4294967295,4294967295],"data_offsets":[0,16]}}"#), "larger than the 16 data bytes")
        rejects(raw(#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#), "overlapping")
        rejects(raw(#"{"x":{"dtype":"F32","shape":[2,2]}}"#), "data_offsets")
        rejects(raw(#"{"__metadata__":{"a":1}}"#), "not a string")
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
