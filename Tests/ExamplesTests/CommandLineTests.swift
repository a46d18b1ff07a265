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

    /// How many times `path` occurs in `text`.
    func occurrences(of path: String, in text: String) -> Int { text.components(separatedBy: path).count - 1 }

    /// I/O and download failures name each path once: the command's own words name the file, and
    /// the wrapped error's "PATH: reason" adds only the reason.
    @Test func ioErrorsNameEachPathOnce() throws {
        let dir = scratch()
        // Missing data that cannot be downloaded: the directory once, each mirror once.
        let empty = dir.appendingPathComponent("empty")
        let mirrors = ["http://127.0.0.1:9/", "http://127.0.0.1:7/"]
        let missing = try runExample("train-rnn", ["--data-dir", empty.path], environment: ["EMBER_MNIST_MIRRORS": mirrors.joined(separator: ",")])
        #expect(missing.status == 66, "\(missing.err)")
        #expect(missing.err.split(separator: "\n").count == 1, "\(missing.err)")
        #expect(occurrences(of: empty.path, in: missing.err) == 1, "\(missing.err)")
        for mirror in mirrors { #expect(occurrences(of: mirror, in: missing.err) == 1, "\(missing.err)") }
        for name in MNIST.allFiles { #expect(missing.err.contains(name), "\(missing.err)") }
        let none = dir.appendingPathComponent("none")
        let custom = try runExample("custom-module", ["--data-dir", none.path])
        #expect(custom.status == 66 && custom.err.split(separator: "\n").count == 1, "\(custom.err)")
        #expect(occurrences(of: none.path, in: custom.err) == 1 && custom.err.contains("train-images-idx3-ubyte.gz"), "\(custom.err)")
        // An unwritable --save, found up front by train-rnn and at the end by char-rnn.
        let unwritable = dir.appendingPathComponent("no-such-dir/model.safetensors").path
        let early = try runExample("train-rnn", ["--save", unwritable])
        #expect(early.status == 74 && occurrences(of: unwritable, in: early.err) == 1, "\(early.err)")
        let text = dir.appendingPathComponent("text.txt")
        try Data("hello world, hello again".utf8).write(to: text)
        let late = try runExample("char-rnn", ["--text", text.path, "--iterations", "2", "--save", unwritable])
        #expect(late.status == 74, "\(late.err)")
        #expect(late.err == "char-rnn: cannot write \(unwritable): cannot create a temporary file in its directory: No such file or directory\n", "\(late.err)")
        // A file that is not a model.
        let load = try runExample("char-rnn", ["--load", text.path])
        #expect(load.status == 65 && occurrences(of: text.path, in: load.err) == 1, "\(load.err)")
        #expect(load.err.hasPrefix("char-rnn: cannot load \(text.path): invalid safetensors file: "), "\(load.err)")
    }

    /// The same for train-rnn's failures after data loading: a --save whose temporary file cannot be
    /// made (a name too long for it, which the up-front check lets through) and a --resume that is not
    /// a checkpoint. Needs the MNIST files; 64 images keep it quick.
    @Test func trainRNNWriteAndResumeErrorsNameThePathOnce() throws {
        let dir = scratch()
        let common = ["--data-dir", mnistDirectory.path, "--hidden", "8", "--epochs", "1", "--limit", "64", "--test-limit", "64", "--no-progress"]
        let long = dir.appendingPathComponent(String(repeating: "a", count: 240) + ".safetensors").path   // 252 bytes; the temporary name is longer than 255
        let save = try runExample("train-rnn", common + ["--save", long])
        #expect(save.status == 74, "\(save.err)")
        #expect(save.err == "train-rnn: cannot write \(long): cannot create a temporary file in its directory: File name too long\n", "\(save.err)")
        let metrics = try runExample("train-rnn", common + ["--metrics", long])
        #expect(metrics.status == 74 && metrics.err.hasPrefix("train-rnn: cannot write \(long): ") && occurrences(of: long, in: metrics.err) == 1, "\(metrics.err)")
        let text = dir.appendingPathComponent("notes.txt")
        try Data("not a checkpoint at all".utf8).write(to: text)
        let resume = try runExample("train-rnn", common + ["--resume", text.path])
        #expect(resume.status == 65 && occurrences(of: text.path, in: resume.err) == 1, "\(resume.err)")
        #expect(resume.err.hasPrefix("train-rnn: cannot resume from \(text.path): invalid safetensors file: "), "\(resume.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["notes.txt"])   // nothing half-written
    }

    /// `EMBER_KERNEL` that cannot be followed is noted once on stderr, with the level used instead,
    /// and the command still works. (Which requests the CPU lacks depends on the machine; the rule
    /// itself is tested for every CPU level in EmberTests' KernelChoiceTests.)
    @Test func anUnusableKernelRequestIsNotedOnceAndTheCommandStillRuns() throws {
        let best = KernelLevel.best
        let unknown = try runExample("forward-pass", [], environment: ["EMBER_KERNEL": "foo"])
        #expect(unknown.status == 0, "\(unknown.err)")
        #expect(unknown.err == "ember: EMBER_KERNEL=foo is not one of portable, avx2, avx512; ignored, using \(best)\n", "\(unknown.err)")
        #expect(unknown.out.contains("gradcheck passed"))
        let avx512 = try runExample("forward-pass", [], environment: ["EMBER_KERNEL": "avx512"])
        #expect(avx512.status == 0)
        #expect(avx512.err == (best == .avx512 ? "" : "ember: EMBER_KERNEL=avx512 asks for AVX-512, which this CPU lacks; using \(best)\n"), "\(avx512.err)")
        let portable = try runExample("forward-pass", [], environment: ["EMBER_KERNEL": "portable"])
        #expect(portable.status == 0 && portable.err.isEmpty, "\(portable.err)")
    }
}
