import Foundation
import Testing
import Ember

/// Starts a built example without waiting for it.
func startExample(_ name: String, _ arguments: [String]) throws -> Process {
    let process = Process()
    process.executableURL = productsDirectory.appendingPathComponent(name)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
}

/// The model tensors of a train-rnn checkpoint (what "the weights" are).
func checkpointTensors(_ url: URL) throws -> [String: [Float]] {
    let file = try SafeTensorsFile(contentsOf: url)
    return Dictionary(uniqueKeysWithValues: try file.names.map { ($0, try file.tensor($0, as: Float.self).scalars) })
}

@Suite(.serialized) struct FaultTests {
    let common = ["--data-dir", mnistDirectory.path, "--hidden", "8", "--limit", "3000", "--test-limit", "300", "--no-progress"]

    @Test func nonFiniteTrainingStopsAndKeepsTheGoodCheckpoint() throws {
        let dir = scratch()
        let ckpt = dir.appendingPathComponent("best.safetensors")
        let good = try runExample("train-rnn", common + ["--epochs", "1", "--save", ckpt.path])
        #expect(good.status == 0, "\(good.err)")
        let before = try Data(contentsOf: ckpt)
        let bad = try runExample("train-rnn", common + ["--epochs", "1", "--lr", "1e38", "--save", ckpt.path])
        #expect(bad.status == 65)
        #expect(bad.err.contains("epoch 1, step 1"), "\(bad.err)")
        #expect(try Data(contentsOf: ckpt) == before)
        let anomaly = try runExample("train-rnn", common + ["--epochs", "1", "--lr", "1e38", "--detect-anomaly"])
        #expect(anomaly.status == 65 && anomaly.err.contains("epoch 1, step 1"), "\(anomaly.err)")
    }

    @Test func sigkillNeverLeavesABrokenCheckpoint() throws {
        let dir = scratch()
        let ckpt = dir.appendingPathComponent("best.safetensors")
        // Kill at a spread of moments, most of them while epochs end and checkpoints are written.
        for attempt in 0..<6 {
            let process = try startExample("train-rnn", common + ["--epochs", "50", "--limit", "640", "--test-limit", "100", "--save", ckpt.path])
            let deadline = Date().addingTimeInterval(30)
            while !FileManager.default.fileExists(atPath: ckpt.path) && Date() < deadline { usleep(2_000) }
            usleep(UInt32(20_000 + attempt * 37_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            let file = try SafeTensorsFile(contentsOf: ckpt)          // whole and valid
            #expect(file.metadata["format"] == "ember-train-rnn" && file.names.contains("rnn.weight_ih_l0"))
        }
    }

    @Test func resumeAfterAKillEndsWhereAnUninterruptedRunEnds() throws {
        let dir = scratch()
        let a = dir.appendingPathComponent("a.safetensors"), b = dir.appendingPathComponent("b.safetensors")
        let args = common + ["--epochs", "4", "--seed", "3", "--threads", "1"]
        let straight = try runExample("train-rnn", args + ["--save", a.path])
        #expect(straight.status == 0, "\(straight.err)")
        // The same run, killed once its first checkpoint exists, then resumed.
        let process = try startExample("train-rnn", args + ["--save", b.path])
        while !FileManager.default.fileExists(atPath: b.path) { usleep(1_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let resumed = try runExample("train-rnn", args + ["--save", b.path, "--resume", b.path])
        #expect(resumed.status == 0, "\(resumed.err)")
        #expect(try checkpointTensors(a) == checkpointTensors(b))
        #expect(straight.out.split(separator: "\n").last == resumed.out.split(separator: "\n").last)
    }

    @Test func sameSeedSameBitsWhateverTheThreadCount() throws {
        let dir = scratch()
        var files: [URL] = []
        for (i, threads) in ["1", "1", "2"].enumerated() {
            let url = dir.appendingPathComponent("\(i).safetensors")
            let r = try runExample("train-rnn", common + ["--epochs", "1", "--cell", "lstm", "--hidden", "64", "--seed", "5", "--threads", threads, "--save", url.path])
            #expect(r.status == 0, "\(r.err)")
            files.append(url)
        }
        #expect(try Data(contentsOf: files[0]) == Data(contentsOf: files[1]))
        #expect(try Data(contentsOf: files[0]) == Data(contentsOf: files[2]))
    }

    @Test func ctrlCStopsCleanly() throws {
        let dir = scratch()
        let ckpt = dir.appendingPathComponent("best.safetensors")
        let process = try startExample("train-rnn", common + ["--epochs", "50", "--limit", "640", "--test-limit", "100", "--save", ckpt.path])
        while !FileManager.default.fileExists(atPath: ckpt.path) { usleep(1_000) }
        usleep(30_000)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(try SafeTensorsFile(contentsOf: ckpt).metadata["format"] == "ember-train-rnn")
        // Nothing half-written: only the checkpoint is in the directory.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["best.safetensors"])
    }

    @Test func unusableCheckpointsAndFiles() throws {
        let dir = scratch()
        let image = dir.appendingPathComponent("photo.png")
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 7, count: 100)).write(to: image)
        let asCheckpoint = try runExample("train-rnn", common + ["--resume", image.path])
        #expect(asCheckpoint.status == 65 && asCheckpoint.err.contains("photo.png"), "\(asCheckpoint.err)")
        let directory = try runExample("train-rnn", common + ["--resume", dir.path])
        #expect(directory.status == 65 || directory.status == 74, "\(directory.err)")
        let missing = try runExample("train-rnn", common + ["--resume", dir.appendingPathComponent("none.safetensors").path])
        #expect(missing.status == 66)
        let textDirectory = try runExample("char-rnn", ["--text", dir.path])
        #expect(textDirectory.status == 74 || textDirectory.status == 65, "\(textDirectory.err)")
        let charImage = try runExample("char-rnn", ["--load", image.path])
        #expect(charImage.status == 65 && !charImage.err.contains("Fatal"), "\(charImage.err)")
        for r in [asCheckpoint, directory, missing, charImage, textDirectory] {
            #expect(r.err.split(separator: "\n").count <= 2, "\(r.err)")
        }
    }
}
