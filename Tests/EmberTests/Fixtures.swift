import Foundation
import Ember

/// ../shared beside the project, found from this file's path.
enum Shared {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
    static func fixture(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(contentsOf: root.appendingPathComponent("fixtures/pytorch/\(name).safetensors"))
    }
}

/// A fresh temporary directory for one test.
func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ember-tests-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
