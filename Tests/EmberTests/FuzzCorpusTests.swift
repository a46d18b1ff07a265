import Foundation
import Testing
import Ember

/// The regression corpus written by `ember-fuzz --corpus`: one rejected case per mutation kind.
/// Each must be rejected with a thrown error by its own parser, and neither parser may crash on any.
@Suite struct FuzzCorpusTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FuzzCorpus")
    static let files: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()

    @Test func corpusIsPresent() {
        #expect(Self.files.filter { $0.hasPrefix("idx-") }.count >= 8)
        #expect(Self.files.filter { $0.hasPrefix("safetensors-") }.count >= 5)
    }

    @Test(arguments: files)
    func rejectedWithoutCrashing(_ name: String) throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent(name))
        let idx = Result { try IDXArray(fileData: data, path: name, maximumBytes: 64 << 20) }
        let safetensors = Result { try SafeTensorsFile(data: data, path: name) }
        if name.hasPrefix("idx-") {
            guard case .failure(let error) = idx else { Issue.record("\(name) was accepted"); return }
            #expect(error is DataError && "\(error)".contains(name))
        } else {
            guard case .failure(let error) = safetensors else { Issue.record("\(name) was accepted"); return }
            #expect(error is SafeTensorsError && "\(error)".contains(name))
        }
    }

    @Test func handWrittenNastyCases() {
        // Header length 2^64 - 1; header length exactly the file; dimensions of 2^32 - 1.
        var huge = Data([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        huge.append(Data("{}".utf8))
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(data: huge) }
        var exact = Data([2, 0, 0, 0, 0, 0, 0, 0])
        exact.append(Data("{}".utf8))
        #expect(throws: Never.self) { try SafeTensorsFile(data: exact) }
        let dims = Data([0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1])
        #expect(throws: DataError.self) { try IDXArray(fileData: dims, path: "dims") }
        #expect(throws: DataError.self) { try IDXArray(fileData: gzipCompress(dims), path: "dims.gz") }
    }
}
