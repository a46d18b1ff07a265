import Foundation
import Testing

/// `train-rnn --tensorboard DIR` without Python: the event file's records tile it exactly and hold
/// the expected tags, once per step or per evaluation; the hparams go to a run of their own; an
/// unusable directory ends the run at once with exit 74. (.ci/tensorboard_check.py reads the same
/// logs with TensorBoard itself.)
@Suite struct TrainRNNTensorBoardTests {
    /// How often `needle` occurs in `haystack`.
    func occurrences(_ needle: String, in haystack: [UInt8]) -> Int {
        let n = Array(needle.utf8)
        guard haystack.count >= n.count else { return 0 }
        return (0...haystack.count - n.count).filter { i in haystack[i..<i + n.count].elementsEqual(n) }.count
    }

    /// The number of TFRecords, walking their length fields; nil unless they end exactly at the end.
    func recordCount(_ data: [UInt8]) -> Int? {
        var offset = 0, count = 0
        while offset + 8 <= data.count {
            let length = (0..<8).reduce(0) { $0 | Int(data[offset + $1]) << (8 * $1) }
            offset += 16 + length
            count += 1
        }
        return offset == data.count ? count : nil
    }

    func eventFile(in directory: URL) throws -> [UInt8] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("events.out.tfevents.") }
        #expect(names.count == 1, "\(names)")
        return Array(try Data(contentsOf: directory.appendingPathComponent(names[0])))
    }

    @Test func logsStepsEvaluationsAndHParams() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let logs = dir.appendingPathComponent("runs/gru")
        let r = try runExample("train-rnn", ["--data-dir", mnistDirectory.path, "--cell", "gru", "--hidden", "8", "--epochs", "2",
                                            "--limit", "256", "--test-limit", "100", "--tensorboard", logs.path, "--no-progress"])
        #expect(r.status == 0, "\(r.err)")
        let events = try eventFile(in: logs)
        // file_version, the config text, 8 step losses, 2 evaluations of 3 scalars and 2 x 6 histograms.
        #expect(recordCount(events) == 1 + 1 + 8 + 2 * (3 + 12))
        #expect(occurrences("brain.Event:2", in: events) == 1)
        #expect(occurrences("train/loss", in: events) == 8)
        for tag in ["test/accuracy", "train/mean_loss", "train/learning_rate", "weights/rnn.weight_hh_l0", "gradients/fc.bias"] {
            #expect(occurrences(tag, in: events) == 2, "\(tag)")
        }
        #expect(occurrences("--tensorboard", in: events) == 1)
        let sessions = try FileManager.default.contentsOfDirectory(atPath: logs.path).filter { !$0.hasPrefix("events.") }
        #expect(sessions.count == 1)
        let hparams = try eventFile(in: logs.appendingPathComponent(sessions[0]))
        #expect(recordCount(hparams) == 1 + 3 + 2)
        for tag in ["_hparams_/experiment", "_hparams_/session_start_info", "hparam/test_accuracy", "hparam/train_loss", "gru"] {
            #expect(occurrences(tag, in: hparams) >= 1, "\(tag)")
        }
    }

    @Test func unusableDirectoryEndsTheRunAtOnce() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("not-a-directory")
        try Data("x".utf8).write(to: file)
        let r = try runExample("train-rnn", ["--data-dir", mnistDirectory.path, "--epochs", "1", "--limit", "64", "--test-limit", "64",
                                            "--tensorboard", file.appendingPathComponent("runs").path, "--no-progress"])
        #expect(r.status == 74, "\(r.err)")
        #expect(r.err.hasPrefix("train-rnn: cannot write --tensorboard ") && !r.out.contains("Epoch"), "\(r.err)")
    }
}
