import Foundation
import Testing

/// What a user gets from a release build of their own package: Ember's check messages survive `-O`,
/// and the documentation's Swift blocks compile as printed and print what their comments say.
@Suite(.serialized, .timeLimit(.minutes(15))) struct ReleaseBuildTests {
    @Test(arguments: ConsumerPackage.checks.map(\.name)) func checkMessagesSurviveReleaseBuilds(_ check: String) throws {
        let products = try ConsumerPackage.build.get()
        let message = ConsumerPackage.checks.first { $0.name == check }!.message
        let r = try ConsumerPackage.run(products.appendingPathComponent("messages"), [check])
        #expect(r.signalled || r.status != 0, "the check did not stop the program")
        #expect(r.err.contains("Fatal error: \(message)"), "stderr was: \(r.err)")
        #expect(!r.err.contains("precondition failure"))
    }

    @Test(arguments: ConsumerPackage.blocks.indices) func documentedBlockCompilesAndPrintsItsComments(_ index: Int) throws {
        let block = ConsumerPackage.blocks[index]
        let products = try ConsumerPackage.build.get()
        let r = try ConsumerPackage.run(products.appendingPathComponent(block.target))
        #expect(r.status == 0 && !r.signalled, "\(block.file):\(block.line) exited with \(r.status): \(r.err)")
        let printed = r.out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        let promised = ConsumerPackage.expectedOutput(of: block.code)
        #expect(printed.count == promised.count, "\(block.file):\(block.line) printed \(printed) for \(promised)")
        for (line, pattern) in zip(printed, promised) {
            #expect(ConsumerPackage.matches(line, pattern), "\(block.file):\(block.line): printed '\(line)', its comment says '\(pattern)'")
        }
    }

    @Test func documentsHaveBlocksAndStayInsideTheCheckout() throws {
        #expect(ConsumerPackage.blocks.filter { $0.file == "README.md" }.count >= 4)
        #expect(ConsumerPackage.blocks.count > ConsumerPackage.blocks.filter { $0.file == "README.md" }.count, "the DocC tour has no Swift blocks")
        for url in ConsumerPackage.documents {
            let text = try String(contentsOf: url, encoding: .utf8)
            #expect(!text.contains("../"), "\(url.lastPathComponent) points outside the checkout")
        }
    }

    /// Every option train-rnn's --help lists is in the README's flags list.
    @Test func readmeListsEveryTrainRNNFlag() throws {
        let help = try runExample("train-rnn", ["--help"]).out
        let readme = try String(contentsOf: ConsumerPackage.projectRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let flags = Set(help.split(separator: "\n").compactMap { line -> String? in
            let word = line.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? ""
            return word.hasPrefix("--") ? word : nil
        })
        #expect(flags.contains("--hidden") && flags.contains("--lr"))
        let words = Set(readme.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "`" }).map(String.init))
        for flag in flags { #expect(words.contains(flag), "README does not list \(flag)") }
    }

    @Test func wildcardMatching() {
        #expect(ConsumerPackage.matches("[1, 2, 3]", "[1, 2, 3]"))
        #expect(!ConsumerPackage.matches("[1, 2, 3]", "[1, 2]"))
        #expect(ConsumerPackage.matches(#"["a", "b", "c", "d"]"#, #"["a", ..., "d"]"#))
        #expect(!ConsumerPackage.matches(#"["a", "b", "c", "e"]"#, #"["a", ..., "d"]"#))
        #expect(ConsumerPackage.matches("x = 1 and y = 2", "x = ... y = ..."))
        #expect(!ConsumerPackage.matches("ab", "ab...ab"))
        #expect(ConsumerPackage.expectedOutput(of: "let a = 1 // one\nprint(a) // 1\nprint(b)\n") == ["1", "..."])
    }
}
