import EmberCLI
import Foundation
import Testing

/// The commands find MNIST with nothing beside the checkout: the copy in Examples/data/mnist.
@Suite struct DataLocationTests {
    @Test func lookupOrder() throws {
        let here = scratch()
        #expect(MNISTLocation.resolve(dataDir: "/x/y", environment: ["MNIST_DIR": "/e"], currentDirectory: here)
                == MNISTLocation(directory: URL(fileURLWithPath: "/x/y"), source: "--data-dir"))
        #expect(MNISTLocation.resolve(dataDir: nil, environment: ["MNIST_DIR": "/e"], currentDirectory: here).source == "$MNIST_DIR")
        // Nothing local: the checkout's copy, found from the running test binary even though the
        // working directory is outside the checkout.
        let bundled = MNISTLocation.resolve(dataDir: nil, environment: [:], currentDirectory: here)
        #expect(bundled.source == "bundled")
        #expect(bundled.directory.standardizedFileURL.path == mnistDirectory.standardizedFileURL.path)
        // ./data/mnist wins over the bundled copy once it holds all four files.
        let local = here.appendingPathComponent("data/mnist")
        try FileManager.default.createDirectory(at: local, withIntermediateDirectories: true)
        for name in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte"] {
            _ = FileManager.default.createFile(atPath: local.appendingPathComponent(name).path, contents: Data())
        }
        #expect(MNISTLocation.resolve(dataDir: nil, environment: [:], currentDirectory: here).source == "bundled")
        _ = FileManager.default.createFile(atPath: local.appendingPathComponent("t10k-labels-idx1-ubyte").path, contents: Data())
        let found = MNISTLocation.resolve(dataDir: nil, environment: [:], currentDirectory: here)
        #expect(found.source == "./data/mnist" && found.directory.standardizedFileURL.path == local.path)
    }

    /// train-rnn and custom-module with no --data-dir and no network, started from a folder of the
    /// checkout and from a folder outside it: both train on the bundled copy.
    @Test(arguments: ["inside", "outside"]) func commandsFindTheBundledCopy(_ where_: String) throws {
        let folder = where_ == "inside" ? mnistDirectory.deletingLastPathComponent().deletingLastPathComponent() : scratch()
        let offline = ["EMBER_MNIST_MIRRORS": "http://127.0.0.1:9/"]
        let train = try runExample("train-rnn", ["--epochs", "1", "--hidden", "4", "--limit", "64", "--test-limit", "64", "--no-progress"],
                                   environment: offline, currentDirectory: folder)
        #expect(train.status == 0, "\(train.err)")
        #expect(train.out.contains("Accuracy of the model on the 64 test images: "), "\(train.out)")
        let custom = try runExample("custom-module", ["--hidden", "4", "--limit", "64", "--test-limit", "64"],
                                    environment: offline, currentDirectory: folder)
        #expect(custom.status == 0, "\(custom.err)")
        #expect(custom.out.contains("on the 64 test images: "), "\(custom.out)")
    }
}
