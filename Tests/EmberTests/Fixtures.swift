import Foundation
import Ember

/// Reference data inside the checkout, found from this file's path: the PyTorch fixtures beside the
/// tests (`Fixtures/pytorch`, see its README) and the bundled MNIST files (`Examples/data/mnist`).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let mnist = projectRoot.appendingPathComponent("Examples/data/mnist")

    /// One of PyTorch's reference files, `Fixtures/pytorch/NAME.safetensors`.
    static func pytorch(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(contentsOf: directory.appendingPathComponent("pytorch/\(name).safetensors"))
    }
}

/// A fresh temporary directory for one test.
func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ember-tests-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
