import Foundation

/// A package of a user's, outside Ember's targets, that depends on Ember by path and is built in
/// release, as `swift run -c release` builds it: one executable per Swift block of the README and the
/// DocC articles (each compiled exactly as printed, imports included) and `messages`, which trips the
/// checks named on its command line.
///
/// It lives in `.build/ember-consumer` of the checkout, so a second test run rebuilds only what
/// changed. The first build compiles Ember with optimisation (about a minute on 2 cores).
enum ConsumerPackage {
    static let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let folder = projectRoot.appendingPathComponent(".build/ember-consumer")

    /// A fenced Swift block of a Markdown file, and where it starts.
    struct Block {
        var file: String
        var line: Int
        var code: String
        var target: String
    }

    /// The Markdown files whose Swift blocks must compile and print what their comments say.
    static let documents: [URL] = {
        let catalog = projectRoot.appendingPathComponent("Sources/Ember/Ember.docc")
        let articles = ((try? FileManager.default.contentsOfDirectory(atPath: catalog.path)) ?? [])
            .filter { $0.hasSuffix(".md") }.sorted().map { catalog.appendingPathComponent($0) }
        return [projectRoot.appendingPathComponent("README.md")] + articles
    }()

    /// Every ```swift block of `documents`, in order.
    static let blocks: [Block] = {
        var result: [Block] = []
        for url in documents {
            let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
            var current: [Substring]? = nil, start = 0
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                if current == nil, line == "```swift" { current = []; start = number + 2; continue }
                if current != nil, line.hasPrefix("```") {
                    let relative = url.path.replacingOccurrences(of: projectRoot.path + "/", with: "")
                    result.append(Block(file: relative, line: start, code: current!.joined(separator: "\n") + "\n",
                                        target: "doc\(result.count + 1)"))
                    current = nil
                    continue
                }
                current?.append(line)
            }
        }
        return result
    }()

    /// The three checks `messages` trips (its first argument), each with the message it must print.
    static let checks: [(name: String, message: String)] = [
        ("matmul", "matmul: expected [.., 3] x [3, ..], got [2, 3] x [4, 5]"),
        ("axis", "sum: axis 2 is out of range for shape [2, 3]"),
        ("dropout", "Dropout: expected a probability in [0, 1], got 1.5"),
    ]

    static let messagesSource = """
        import Ember

        // Trips one of Ember's argument checks; the test reads the message on stderr.
        switch CommandLine.arguments.dropFirst().first ?? "" {
        case "matmul": _ = Tensor<Float>(zeros: [2, 3]).matmul(Tensor<Float>(zeros: [4, 5]))
        case "axis": _ = Tensor<Float>(zeros: [2, 3]).sum(axis: 2)
        case "dropout": _ = Dropout<Float>(p: 1.5)
        default: print("no such check")
        }

        """

    /// Writes the package (only files whose contents changed) and builds it in release; returns the
    /// folder of the built executables, or the build's output on failure.
    static let build: Result<URL, BuildFailure> = {
        do {
            let identity = projectRoot.lastPathComponent
            var targets = [("messages", messagesSource)]
            for block in blocks { targets.append((block.target, block.code)) }
            let manifest = """
                // swift-tools-version: 6.0
                // Written by Tests/ExamplesTests/ConsumerPackage.swift: a user's package that depends on Ember.
                import PackageDescription

                let package = Package(
                    name: "EmberConsumer",
                    dependencies: [.package(path: "\(projectRoot.path)")],
                    targets: [
                \(targets.map { "        .executableTarget(name: \"\($0.0)\", dependencies: [.product(name: \"Ember\", package: \"\(identity)\")])," }.joined(separator: "\n"))
                    ]
                )

                """
            let sources = folder.appendingPathComponent("Sources")
            // Targets of blocks that no longer exist would fail to build without a manifest entry.
            for old in (try? FileManager.default.contentsOfDirectory(atPath: sources.path)) ?? [] where !targets.contains(where: { $0.0 == old }) {
                try FileManager.default.removeItem(at: sources.appendingPathComponent(old))
            }
            try writeIfChanged(manifest, to: folder.appendingPathComponent("Package.swift"))
            for (name, code) in targets { try writeIfChanged(code, to: sources.appendingPathComponent("\(name)/main.swift")) }

            // SwiftPM keeps its build plan of a path dependency when only the dependency's files moved,
            // and then fails with "missing inputs": a failed build is retried once from scratch.
            var output = try swiftBuild()
            if output.status != 0 {
                try? FileManager.default.removeItem(at: folder.appendingPathComponent(".build"))
                output = try swiftBuild()
            }
            guard output.status == 0 else { return .failure(BuildFailure(output: output.log)) }
            return .success(folder.appendingPathComponent(".build/release"))
        } catch {
            return .failure(BuildFailure(output: "\(error)"))
        }
    }()

    /// `swift build -c release` of the package; its exit status and output.
    static func swiftBuild() throws -> (status: Int32, log: String) {
        let log = folder.appendingPathComponent("build.log")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "build", "-c", "release", "--package-path", folder.path]
        process.standardOutput = try FileHandle(forWritingTo: create(log))
        process.standardError = process.standardOutput
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    struct BuildFailure: Error, CustomStringConvertible {
        var output: String
        var description: String { "the consumer package did not build:\n\(output)" }
    }

    static func writeIfChanged(_ text: String, to url: URL) throws {
        if (try? String(contentsOf: url, encoding: .utf8)) == text { return }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    static func create(_ url: URL) throws -> URL {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: url.path, contents: Data())
        return url
    }

    /// Runs a built executable; returns its exit status (or signal), whether it ended by a signal,
    /// stdout and stderr.
    static func run(_ executable: URL, _ arguments: [String] = []) throws -> (status: Int32, signalled: Bool, out: String, err: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = FileManager.default.temporaryDirectory
        let out = try create(folder.appendingPathComponent("run-\(UUID().uuidString).out"))
        let err = try create(folder.appendingPathComponent("run-\(UUID().uuidString).err"))
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal,
                try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }

    /// The output a block's comments promise: for each line with `print(`, the text after its `// `
    /// (or any line when it has none). `...` in a comment stands for any text.
    static func expectedOutput(of code: String) -> [String] {
        code.split(separator: "\n").filter { $0.contains("print(") }.map { line in
            guard let comment = line.range(of: "// ") else { return "..." }
            return line[comment.upperBound...].trimmingCharacters(in: .whitespaces)
        }
    }

    /// Whether `line` matches `pattern`, where each `...` of the pattern stands for any text.
    static func matches(_ line: String, _ pattern: String) -> Bool {
        let pieces = pattern.components(separatedBy: "...")
        guard pieces.count > 1 else { return line == pattern }
        guard line.hasPrefix(pieces.first!), line.hasSuffix(pieces.last!),
              line.count >= pieces.first!.count + pieces.last!.count else { return false }
        var rest = line.dropFirst(pieces.first!.count).dropLast(pieces.last!.count)
        for piece in pieces.dropFirst().dropLast() where !piece.isEmpty {
            guard let r = rest.range(of: piece) else { return false }
            rest = rest[r.upperBound...]
        }
        return true
    }
}
