import Foundation
import Testing
import Ember

/// The flags that let train-rnn run every seed program (issue 24): `--optimizer`, `--momentum`,
/// `--steps`, `--eval-every`, `--log-every` and `--unrolled`. Small runs: 8 hidden units, a few
/// hundred training images (64 per batch, so `--limit 320` makes 5-step epochs).
@Suite struct TrainRNNSeedTests {
    let common = ["--data-dir", mnistDirectory.path, "--hidden", "8", "--test-limit", "100", "--no-progress"]

    /// stdout's lines that start with `prefix`.
    func lines(_ out: String, _ prefix: String) -> [String] {
        out.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }
    }

    /// The evaluation lines ("Epoch 2/3: train loss …", "Step 6/7 (epoch 2): train loss …") up to their colon.
    func evaluations(_ out: String) -> [String] {
        out.split(separator: "\n").filter { $0.contains(": train loss ") }.map { String($0.prefix { $0 != ":" }) }
    }

    /// The metrics CSV as rows of fields, header dropped.
    func rows(_ url: URL) throws -> [[String]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
    }

    @Test func badValuesOfTheNewFlagsAreUsageErrors() throws {
        let cases: [([String], String)] = [
            (["--optimizer", "nadam"], "--optimizer expects one of adam, sgd, adamw, adagrad, rmsprop, got 'nadam'"),
            (["--optimizer"], "--optimizer needs a value"),
            (["--optimizer", "sgd", "--momentum", "-0.5"], "--momentum expects a number in 0...1, got '-0.5'"),
            (["--optimizer", "sgd", "--momentum", "1.5"], "--momentum expects a number in 0...1, got '1.5'"),
            (["--optimizer", "sgd", "--momentum", "fast"], "--momentum expects a number in 0...1, got 'fast'"),
            (["--momentum", "0.9"], "--momentum applies to --optimizer sgd or rmsprop, not adam"),
            (["--optimizer", "adagrad", "--momentum", "0.9"], "--momentum applies to --optimizer sgd or rmsprop, not adagrad"),
            (["--steps", "0"], "--steps expects an integer in 1...1000000000, got '0'"),
            (["--steps", "many"], "--steps expects an integer in 1...1000000000, got 'many'"),
            (["--steps"], "--steps needs a value"),
            (["--steps", "5", "--epochs", "2"], "--steps and --epochs are both budgets; give one of them"),
            (["--eval-every", "0"], "--eval-every expects an integer in 1...1000000000, got '0'"),
            (["--eval-every", "-3"], "--eval-every expects an integer in 1...1000000000, got '-3'"),
            (["--log-every", "0"], "--log-every expects an integer in 1...1000000000, got '0'"),
            (["--log-every", "1.5"], "--log-every expects an integer in 1...1000000000, got '1.5'"),
            (["--unrolled", "--layers", "2"], "--unrolled builds one layer from cells; it cannot be combined with --layers 2"),
            (["--unrolled", "--bidirectional"], "--unrolled runs one direction; it cannot be combined with --bidirectional"),
            (["--unrolled=yes"], "--unrolled takes no value"),
        ]
        for (arguments, message) in cases {
            CommandLineTests().expectUsageError(try runExample("train-rnn", arguments), "train-rnn", mentioning: message)
        }
        let help = try runExample("train-rnn", ["--help"])
        for text in ["--optimizer NAME", "--momentum X", "--steps N", "give --steps or --epochs, not both", "--eval-every N",
                     "the run's last step is evaluated too", "--log-every N", "(default 100)", "--unrolled"] {
            #expect(help.out.contains(text), "\(text)")
        }
    }

    /// `--steps 7 --eval-every 3` over 5-step epochs: evaluations after steps 3 and 6 and, since the
    /// budget ends there, 7; minibatch lines after steps 2, 4 and 6 of the run.
    @Test func stepBudgetWithEvaluationsEveryNSteps() throws {
        let dir = scratch(), csv = dir.appendingPathComponent("m.csv")
        let r = try runExample("train-rnn", common + ["--limit", "320", "--steps", "7", "--eval-every", "3", "--log-every", "2",
                                                     "--metrics", csv.path])
        #expect(r.status == 0, "\(r.err)")
        #expect(evaluations(r.out) == ["Step 3/7 (epoch 1)", "Step 6/7 (epoch 2)", "Step 7/7 (epoch 2)"], "\(r.out)")
        #expect(lines(r.out, "Step [").map { String($0.prefix { $0 != "," }) } == ["Step [2/7] (epoch 1)", "Step [4/7] (epoch 1)", "Step [6/7] (epoch 2)"], "\(r.out)")
        for line in lines(r.out, "Step [") { #expect(line.contains("Loss: ") && line.contains(", Accuracy: ") && line.hasSuffix(" %"), "\(line)") }
        #expect(lines(r.out, "Trained ").first?.hasPrefix("Trained 7 steps (1.40 epochs of 5) in ") == true, "\(r.out)")
        let table = try rows(csv)
        #expect(table.map { $0[5] } == ["3", "6", "7"] && table.map { $0[0] } == ["1", "2", "2"], "\(table)")
        #expect(r.out.split(separator: "\n").last?.hasPrefix("Accuracy of the model on the 100 test images: ") == true)
    }

    /// Without --eval-every, a step budget evaluates at the end of every epoch and once more where it
    /// ends part-way through one; ending on an epoch's last step evaluates once there.
    @Test func stepBudgetWithEvaluationsPerEpoch() throws {
        let partWay = try runExample("train-rnn", common + ["--limit", "320", "--steps", "12", "--log-every", "1000"])
        #expect(partWay.status == 0, "\(partWay.err)")
        #expect(evaluations(partWay.out) == ["Epoch 1/3", "Epoch 2/3", "Step 12/12 (epoch 3)"], "\(partWay.out)")
        let whole = try runExample("train-rnn", common + ["--limit", "320", "--steps", "10"])
        #expect(evaluations(whole.out) == ["Epoch 1/2", "Epoch 2/2"], "\(whole.out)")
        // With --epochs, --log-every counts within the epoch (PyTorch's line) and --eval-every over the run.
        let epochs = try runExample("train-rnn", common + ["--limit", "320", "--epochs", "2", "--eval-every", "4", "--log-every", "3"])
        #expect(epochs.status == 0, "\(epochs.err)")
        #expect(lines(epochs.out, "Epoch [").map { String($0.prefix { $0 != "L" }) } == ["Epoch [1/2], Step [3/5], ", "Epoch [2/2], Step [3/5], "], "\(epochs.out)")
        #expect(evaluations(epochs.out) == ["Step 4/10 (epoch 1)", "Step 8/10 (epoch 2)", "Step 10/10 (epoch 2)"], "\(epochs.out)")
    }

    /// A target reached at an evaluation in the middle of an epoch: saved there once, and the run stops.
    /// Resuming from that checkpoint continues mid-epoch exactly as the uninterrupted run goes on.
    @Test func targetAccuracyReachedMidEpochSavesOnceAndStops() throws {
        let dir = scratch(), ckpt = dir.appendingPathComponent("best.safetensors")
        let args = common + ["--limit", "640", "--eval-every", "2", "--seed", "4"]
        let r = try runExample("train-rnn", args + ["--steps", "6", "--target-accuracy", "1", "--save", ckpt.path])
        #expect(r.status == 0, "\(r.err)")
        #expect(evaluations(r.out) == ["Step 2/6 (epoch 1)"], "\(r.out)")
        #expect(lines(r.out, "Reached the target accuracy of 1.00 % after step 2 (epoch 1)").count == 1, "\(r.out)")
        #expect(lines(r.out, "Trained 2 steps (0.20 epochs of 10) in ").count == 1, "\(r.out)")
        let file = try SafeTensorsFile(contentsOf: ckpt)
        #expect(file.metadata["step"] == "2" && file.metadata["epoch"] == "0" && file.metadata["steps_per_epoch"] == "10", "\(file.metadata)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["best.safetensors"])

        let straightCSV = dir.appendingPathComponent("s.csv"), resumedCSV = dir.appendingPathComponent("r.csv")
        let straight = try runExample("train-rnn", args + ["--steps", "6", "--metrics", straightCSV.path])
        let resumed = try runExample("train-rnn", args + ["--steps", "6", "--resume", ckpt.path, "--metrics", resumedCSV.path])
        #expect(straight.status == 0 && resumed.status == 0, "\(straight.err) \(resumed.err)")
        #expect(resumed.out.hasPrefix("Resumed from \(ckpt.path) after step 2 (2 of epoch 1's 10) (test accuracy "), "\(resumed.out)")
        // Epoch, train loss, test accuracy and step of the evaluations after step 2, bit for bit.
        let mine = try rows(resumedCSV).map { [$0[0], $0[1], $0[2], $0[5]] }, theirs = try rows(straightCSV).map { [$0[0], $0[1], $0[2], $0[5]] }
        #expect(mine.count == 2 && mine == Array(theirs.suffix(2)), "\(mine) \(theirs)")
        #expect(straight.out.split(separator: "\n").last == resumed.out.split(separator: "\n").last)
    }

    /// Every optimizer trains and saves its own state under its name; a checkpoint resumes only with
    /// the optimizer that wrote it.
    @Test(arguments: [("sgd", ["--momentum", "0.9"], "momentum_buffer"), ("adamw", [], "exp_avg"), ("adagrad", [], "sum"),
                      ("rmsprop", ["--momentum", "0.5"], "square_avg"), ("adam", [], "exp_avg_sq")])
    func optimizersSaveTheirStateAndResumeOnlyWithTheSame(_ name: String, _ extra: [String], _ buffer: String) throws {
        let dir = scratch(), ckpt = dir.appendingPathComponent("c.safetensors")
        let args = common + ["--limit", "320", "--optimizer", name] + extra
        let r = try runExample("train-rnn", args + ["--steps", "3", "--save", ckpt.path])
        #expect(r.status == 0, "\(r.err)")
        let file = try SafeTensorsFile(contentsOf: ckpt)
        #expect(file.metadata["optimizer"] == name)
        #expect(file.names.contains("optimizer.state.0.\(buffer)"), "\(file.names)")
        #expect(file.names.contains("optimizer.state.0.step"), "\(file.names)")
        let again = try runExample("train-rnn", args + ["--steps", "4", "--resume", ckpt.path])
        #expect(again.status == 0 && again.out.contains("Trained 1 step ("), "\(again.err)\(again.out)")
        let other = name == "adam" ? "sgd" : "adam"
        let wrong = try runExample("train-rnn", common + ["--limit", "320", "--optimizer", other, "--steps", "4", "--resume", ckpt.path])
        #expect(wrong.status == 65, "\(wrong.err)")
        #expect(wrong.err == "train-rnn: \(ckpt.path) holds the state of --optimizer \(name), but this run asks for \(other) (resume with --optimizer \(name))\n", "\(wrong.err)")
    }

    /// A checkpoint from before --optimizer and --steps (no optimizer name, no step) resumes as Adam's
    /// at the start of the epoch after the ones it records.
    @Test func checkpointsWithoutOptimizerOrStepResumeAsAdamAtAnEpoch() throws {
        let dir = scratch(), ckpt = dir.appendingPathComponent("c.safetensors"), old = dir.appendingPathComponent("old.safetensors")
        let args = common + ["--limit", "320"]
        #expect(try runExample("train-rnn", args + ["--epochs", "1", "--save", ckpt.path]).status == 0)
        let file = try SafeTensorsFile(contentsOf: ckpt)
        var metadata = file.metadata
        metadata["optimizer"] = nil
        metadata["step"] = nil
        metadata["steps_per_epoch"] = nil
        let entries = Dictionary(uniqueKeysWithValues: try file.names.map { ($0, SafeTensorsFile.Entry.float(try file.tensor($0, as: Float.self))) })
        try SafeTensorsFile.write(entries: entries, metadata: metadata, to: old)
        let fromNew = try runExample("train-rnn", args + ["--epochs", "2", "--resume", ckpt.path])
        let fromOld = try runExample("train-rnn", args + ["--epochs", "2", "--resume", old.path])
        #expect(fromOld.status == 0 && fromOld.out.hasPrefix("Resumed from \(old.path) after epoch 1 "), "\(fromOld.err)\(fromOld.out)")
        #expect(fromOld.out.split(separator: "\n").last == fromNew.out.split(separator: "\n").last)
    }

    /// `--unrolled` computes what the fused layer computes: the same initial weights under the same
    /// names, and over a few steps the same losses within 1e-5 relative (Float) and the same accuracy.
    @Test(arguments: ["rnn", "lstm", "gru"]) func unrolledMatchesFused(_ cell: String) throws {
        let dir = scratch()
        var tables: [[[String]]] = [], names: [[String]] = []
        for unrolled in [false, true] {
            let csv = dir.appendingPathComponent("\(unrolled).csv"), ckpt = dir.appendingPathComponent("\(unrolled).safetensors")
            let r = try runExample("train-rnn", common + ["--limit", "256", "--cell", cell, "--steps", "4", "--eval-every", "1",
                                                         "--seed", "2", "--metrics", csv.path, "--save", ckpt.path]
                                                         + (unrolled ? ["--unrolled"] : []))
            #expect(r.status == 0, "\(r.err)")
            tables.append(try rows(csv))
            names.append(try SafeTensorsFile(contentsOf: ckpt).names.sorted())
        }
        #expect(names[0] == names[1] && names[0].contains("rnn.weight_ih_l0"), "\(names)")
        #expect(tables[0].count == 4 && tables[1].count == 4)
        for (fused, unrolled) in zip(tables[0], tables[1]) {
            let a = Double(fused[1])!, b = Double(unrolled[1])!
            #expect(abs(a - b) <= 1e-5 * abs(a), "step \(fused[5]): fused loss \(a), unrolled \(b)")
            #expect(fused[2] == unrolled[2], "step \(fused[5]): accuracy \(fused[2]) and \(unrolled[2])")
        }
    }
}
