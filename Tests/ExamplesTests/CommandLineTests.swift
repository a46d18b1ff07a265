import Foundation
import Testing
import Ember

/// The commands behave like commands: `--help` answers on stdout with exit 0, bad flags get exit 64
/// and say what is wrong on stderr. None of these runs needs the MNIST data.
@Suite struct CommandLineTests {
    /// A usage error: exit 64, and stderr starts with one line naming the command and the problem.
    func expectUsageError(_ r: (status: Int32, out: String, err: String), _ command: String, mentioning text: String,
                          sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = r.err.split(separator: "\n")
        #expect(r.status == 64, "\(r.err)", sourceLocation: sourceLocation)
        #expect(lines.first?.hasPrefix("\(command): ") == true && lines.first?.contains(text) == true, "\(r.err)", sourceLocation: sourceLocation)
        // The error line, then at most the pointer to --help; no backtrace.
        #expect(lines.count <= 2 && !r.err.contains("Fatal error"), "\(r.err)", sourceLocation: sourceLocation)
        #expect(r.out.isEmpty, "\(r.out)", sourceLocation: sourceLocation)
    }

    @Test func forwardPassAnswersHelpAndRejectsUnknownArguments() throws {
        let help = try runExample("forward-pass", ["--help"])
        #expect(help.status == 0 && help.err.isEmpty, "\(help.err)")
        #expect(help.out.hasPrefix("usage: forward-pass") && help.out.contains("--help"), "\(help.out)")
        #expect(!help.out.contains("step 1"))                      // usage only, no walk-through
        expectUsageError(try runExample("forward-pass", ["--bogus"]), "forward-pass", mentioning: "--bogus")
        expectUsageError(try runExample("forward-pass", ["extra"]), "forward-pass", mentioning: "'extra'")
        expectUsageError(try runExample("forward-pass", ["--help=yes"]), "forward-pass", mentioning: "--help")
    }

    @Test func customModuleHelpListsEveryOptionWithItsDefault() throws {
        let help = try runExample("custom-module", ["--help"])
        #expect(help.status == 0 && help.err.isEmpty, "\(help.err)")
        #expect(help.out.hasPrefix("usage: custom-module"), "\(help.out)")
        for (option, text) in [("--data-dir DIR", "default: $MNIST_DIR"), ("--hidden N", "(default 64)"), ("--epochs N", "(default 1)"),
                               ("--lr X", "(default 0.002)"), ("--limit N", "(default: all)"), ("--test-limit N", "(default: all)"),
                               ("--seed N", "(default 0)"), ("--help", "this text")] {
            let line = help.out.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(option) }
            #expect(line?.contains(text) == true, "\(option): \(help.out)")
        }
        expectUsageError(try runExample("custom-module", ["--bogus"]), "custom-module", mentioning: "--bogus")
        expectUsageError(try runExample("custom-module", ["stray"]), "custom-module", mentioning: "'stray'")
        expectUsageError(try runExample("custom-module", ["--hidden"]), "custom-module", mentioning: "--hidden")
    }

    /// Every rejected learning rate (zero, negative, too large, not a number) gets the same message,
    /// which states the range enforced.
    @Test func learningRateMessagesStateTheRange() throws {
        for (command, maximum) in [("train-rnn", "1e38"), ("custom-module", "10"), ("char-rnn", "100")] {
            for value in ["0", "-1", "1e39", "abc", "nan"] {
                let r = try runExample(command, ["--lr", value])
                expectUsageError(r, command, mentioning: "--lr expects a number greater than 0 (up to \(maximum)), got '\(value)'")
            }
        }
    }

    /// An output file that cannot be written is reported before anything else happens: exit 74, one
    /// line naming the flag and the path, and nothing created, not even the data directory (which
    /// would be made for a download), so the check comes before the data is loaded.
    @Test func unwritableOutputFilesAreFoundBeforeTheData() throws {
        let dir = scratch()
        let data = dir.appendingPathComponent("data")
        let aFile = dir.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: aFile)
        var cases = [dir.appendingPathComponent("no-such-dir/out").path: "its directory does not exist",
                     dir.path: "it is a directory",
                     aFile.appendingPathComponent("out").path: "its parent is not a directory"]
        if geteuid() != 0 {   // root may write anywhere, so access() calls a read-only directory writable
            let readOnly = dir.appendingPathComponent("read-only")
            try FileManager.default.createDirectory(at: readOnly, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o555])
            cases[readOnly.appendingPathComponent("out").path] = "its directory is not writable"
        }
        for flag in ["save", "metrics", "plot"] {
            for (path, reason) in cases {
                let r = try runExample("train-rnn", ["--data-dir", data.path, "--\(flag)", path, "--epochs", "1", "--no-progress"],
                                       environment: ["EMBER_MNIST_MIRRORS": "http://127.0.0.1:9/"])
                #expect(r.status == 74, "--\(flag) \(path): \(r.err)")
                #expect(r.err.hasPrefix("train-rnn: cannot write --\(flag) \(path): \(reason)"), "\(r.err)")
                #expect(r.err.split(separator: "\n").count == 1, "\(r.err)")
                #expect(r.out.isEmpty, "\(r.out)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: data.path))
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)) == Set(["a-file"] + (geteuid() != 0 ? ["read-only"] : [])))
    }
}
