import Ember
import Foundation

// MARK: - Where the commands find MNIST

/// The MNIST directory a command uses, and whether it came from the user.
public struct MNISTLocation: Sendable, Equatable {
    /// The directory that holds the four files, or where they are to be downloaded.
    public var directory: URL
    /// Where the choice came from: `"--data-dir"`, `"$MNIST_DIR"`, `"./data/mnist"` or `"bundled"`.
    public var source: String

    /// A location from its directory and where it came from (see `source`).
    public init(directory: URL, source: String) {
        self.directory = directory
        self.source = source
    }

    /// The directory to read MNIST from, in this order:
    /// 1. `dataDir` (`--data-dir`), then `$MNIST_DIR`: a directory the user named is used as it is,
    ///    and downloaded into if the files are absent, as PyTorch's `MNIST(root, download=True)` does;
    /// 2. `./data/mnist` if it holds all four files;
    /// 3. the copy committed with the project (`Examples/data/mnist`, see `bundledMNISTDirectory()`);
    /// 4. otherwise `./data/mnist`, where the files are downloaded.
    ///
    /// `environment` defaults to the process's; `currentDirectory` to the working directory.
    public static func resolve(dataDir: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                               currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) -> MNISTLocation {
        if let dataDir { return MNISTLocation(directory: URL(fileURLWithPath: dataDir), source: "--data-dir") }
        if let env = environment["MNIST_DIR"], !env.isEmpty { return MNISTLocation(directory: URL(fileURLWithPath: env), source: "$MNIST_DIR") }
        let local = currentDirectory.appendingPathComponent("data/mnist")
        if holdsMNIST(local) { return MNISTLocation(directory: local, source: "./data/mnist") }
        if let bundled = bundledMNISTDirectory(from: currentDirectory) { return MNISTLocation(directory: bundled, source: "bundled") }
        return MNISTLocation(directory: local, source: "./data/mnist")
    }
}

/// Whether `directory` holds the four MNIST files (gzip-compressed or not).
public func holdsMNIST(_ directory: URL) -> Bool {
    MNIST.allFiles.allSatisfy { name in
        [name, String(name.dropLast(3))].contains { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }
    }
}

/// The MNIST copy committed with Ember (`Examples/data/mnist` beside `Package.swift`), or nil.
///
/// The checkout is found from where the command runs, so that `swift run` from any folder of the
/// checkout and a built binary started from anywhere both find it: the folders above the running
/// executable (`.build/release/train-rnn` lies inside the checkout), the folders above
/// `currentDirectory`, and the checkout this file was compiled in (`#filePath`).
public func bundledMNISTDirectory(from currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) -> URL? {
    var starts: [URL] = []
    if let executable = Bundle.main.executableURL { starts.append(executable.resolvingSymlinksInPath().deletingLastPathComponent()) }
    starts.append(currentDirectory)
    starts.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent())
    for start in starts {
        var folder = start.standardizedFileURL
        while true {
            let candidate = folder.appendingPathComponent("Examples/data/mnist")
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path), holdsMNIST(candidate) {
                return candidate
            }
            let parent = folder.deletingLastPathComponent()
            if parent.path == folder.path { break }
            folder = parent
        }
    }
    return nil
}

extension MNISTLocation {
    /// The training and test sets from `directory` (the first `limit` / `testLimit` images when given),
    /// for the examples that do not download: missing files end the command with exit code 66 and a
    /// message pointing to `train-rnn`, which downloads them; corrupt files with 65. `command` names the
    /// program in the message.
    public static func loadLocal(_ directory: URL, limit: Int?, testLimit: Int?, command: String) throws -> (train: MNIST, test: MNIST) {
        do {
            return (try MNIST(directory: directory, train: true, limit: limit),
                    try MNIST(directory: directory, train: false, limit: testLimit))
        } catch let error as DataError {
            if case .missing = error { throw CommandError("\(command): \(error) (train-rnn downloads them)", code: .noInput) }
            throw CommandError("\(command): \(error)", code: .dataError)
        }
    }
}
