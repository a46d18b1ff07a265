import Foundation
import Testing
@testable import Ember

// The expected bytes below were produced by TensorBoard 2's own Python classes (event_pb2,
// summary_pb2, the hparams plugin's protos, `SerializeToString(deterministic=True)`, and
// `tensorboard.summary.writer.record_writer.RecordWriter` for the framing), not by Ember.

@Suite("CRC-32C and protobuf encoding")
struct EncodingTests {
    @Test func crc32cCheckValues() {
        #expect(crc32c(Array("123456789".utf8)) == 0xE306_9283)       // the standard check value
        #expect(crc32c([UInt8]()) == 0)
        // RFC 3720, appendix B.4.
        #expect(crc32c([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(crc32c([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(crc32c((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(crc32c((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
    }

    @Test func varintsAndNegativeIntegers() {
        #expect(ProtobufWriter { $0.varint(300) }.bytes == [0xAC, 0x02])
        #expect(ProtobufWriter { $0.varint(0) }.bytes == [0])
        #expect(ProtobufWriter { $0.int(2, -3) }.bytes == hexBytes("10 fdffffffffffffffff01"))
        #expect(ProtobufWriter { $0.varint(UInt64.max) }.bytes.count == 10)
    }

    @Test func eventsMatchTensorBoardsBytes() {
        #expect(EventEncoding.event(wallTime: 1.5, step: 0, .fileVersion("brain.Event:2"))
                == hexBytes("09000000000000f83f1a0d627261696e2e4576656e743a32"))
        let scalar = EventEncoding.scalarValue(tag: "train/loss", 0.25)
        #expect(EventEncoding.event(wallTime: 1_700_000_000.25, step: 7, .summary(values: [scalar]))
                == hexBytes("0900001040fc54d94110072a130a110a0a747261696e2f6c6f7373150000803e"))
        // A zero value is written (simple_value is a oneof member); a negative step is ten bytes.
        #expect(EventEncoding.event(wallTime: 2, step: -3, .summary(values: [EventEncoding.scalarValue(tag: "z", 0)]))
                == hexBytes("09000000000000004010fdffffffffffffffff012a0a0a080a017a1500000000"))
    }

    @Test func recordFramingMatchesTensorBoardsWriter() {
        let event = hexBytes("09000000000000f83f1a0d627261696e2e4576656e743a32")
        #expect(tfRecord(event) == hexBytes("1800000000000000a37f4b22" + "09000000000000f83f1a0d627261696e2e4576656e743a32" + "2a28646c"))
    }

    @Test func textMatchesTensorBoardsBytes() {
        #expect(EventEncoding.textValue(tag: "notes", "héllo")
                == hexBytes("0a056e6f74657342100807120412020801420668c3a96c6c6f4a0a0a060a04746578742002"))
    }

    @Test func hparamsMatchPyTorchsSummaries() {
        let values = HParamsEncoding.summaryValues(["lr": 0.001, "cell": "lstm", "bi": false], metrics: ["hparam/accuracy"])
        #expect(values.count == 3)
        #expect(values[0] == hexBytes("""
            0a145f68706172616d735f2f6578706572696d656e744a3e0a3c0a0768706172616d731231122f22060a026269200222080a0463656c6c2001
            22060a026c7220032a130a11120f68706172616d2f6163637572616379
            """))
        #expect(values[1] == hexBytes("""
            0a1c5f68706172616d735f2f73657373696f6e5f73746172745f696e666f4a3a0a380a0768706172616d73122d1a2b0a080a02626912022000
            0a0e0a0463656c6c12061a046c73746d0a0f0a026c72120911fca9f1d24d62503f
            """))
        #expect(values[2] == hexBytes("0a1a5f68706172616d735f2f73657373696f6e5f656e645f696e666f4a110a0f0a0768706172616d73120422020801"))
    }
}

@Suite("Histograms in TensorBoard's buckets")
struct HistogramTests {
    @Test func bucketsAndStatisticsMatchTensorBoardsBytes() {
        let histogram = HistogramSummary([-1, 0, 0.5, 2, 2, 1e-13])
        #expect(HistogramSummary.defaultBucketLimits.count == 1551)
        #expect(histogram.bucketCounts == [1, 0, 2, 0, 1, 0, 2])
        #expect(EventEncoding.histogramValue(tag: "w", histogram) == hexBytes("""
            0a01772aa10109000000000000f0bf11000000000000004019000000000000184021e100000000000c40290000000000802240323808996919
            155aedbf000000000000000011ea2d819997713dfae55a25d31fde3fb03125ee8091e03fdc94cd2e8d75ff3fe011f10c744d01403a38000000
            000000f03f000000000000000000000000000000400000000000000000000000000000f03f00000000000000000000000000000040
            """))
    }

    @Test func countsAddUpAndNonFiniteValuesAreLeftOut() {
        let values = randomTensor([1000], seed: 3, low: -5, high: 5).scalars + [.nan, .infinity, -.infinity]
        let histogram = HistogramSummary(values)
        #expect(histogram.num == 1000)
        #expect(histogram.bucketCounts.reduce(0, +) == 1000)
        #expect(histogram.min >= -5 && histogram.max < 5)
        #expect(zip(histogram.bucketLimits, histogram.bucketLimits.dropFirst()).allSatisfy { $0 < $1 })
        #expect(histogram.bucketLimits.last! > histogram.max)
    }

    @Test func emptyHistogramHasOneEmptyBucket() {
        let histogram = HistogramSummary([Double.nan])
        #expect(histogram.num == 0 && histogram.min == 0 && histogram.max == 0)
        #expect(histogram.bucketLimits == [.greatestFiniteMagnitude] && histogram.bucketCounts == [0])
    }
}

@Suite("SummaryWriter")
struct SummaryWriterTests {
    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("ember-tb-\(UUID().uuidString)")
    }

    /// The decoded events of a file: (step, fields of the event).
    func events(_ url: URL) throws -> (events: [[ProtoField]], tornTail: Bool) {
        let (records, torn) = readTFRecords(Array(try Data(contentsOf: url)))
        return (records.map(decodeProto), torn)
    }

    @Test func writesEveryKindOfSummaryAndReadsBack() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = try SummaryWriter(logDirectory: dir.appendingPathComponent("run"))
        #expect(writer.fileURL.lastPathComponent.hasPrefix("events.out.tfevents."))
        for step in 1...25 { try writer.addScalar("train/loss", 1 / Double(step), step: step) }
        try writer.addHistogram("weights/w", Tensor<Float>(shape: [2, 2], scalars: [-1, 0.5, 2, 2]), step: 25)
        try writer.addText("config", "hidden **32**", step: 0)
        try writer.close()
        try writer.close()   // a second close does nothing

        let (read, torn) = try events(writer.fileURL)
        #expect(!torn)
        #expect(read.count == 28)
        #expect(read[0][field: 3]?.string == "brain.Event:2")
        for step in 1...25 {
            let event = read[step]
            #expect(event[field: 2]?.integer == UInt64(step))
            let value = event[field: 5]!.fields[field: 1]!.fields
            #expect(value[field: 1]?.string == "train/loss")
            #expect(value[field: 2]?.float == Float(1 / Double(step)))
        }
        let histo = read[26][field: 5]!.fields[field: 1]!.fields[field: 5]!.fields
        #expect(histo[field: 3]?.double == 4 && histo[field: 1]?.double == -1 && histo[field: 2]?.double == 2)
        #expect(histo[field: 7]?.packedDoubles.reduce(0, +) == 4)
        let text = read[27][field: 5]!.fields[field: 1]!.fields[field: 8]!.fields
        #expect(text[field: 8]?.string == "hidden **32**")
    }

    @Test func hparamsGoToTheirOwnRun() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = try SummaryWriter(logDirectory: dir)
        try writer.addHParams(["lr": 0.01, "cell": "gru"], metrics: ["hparam/accuracy": 91.5], runName: "hparams")
        try writer.close()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("hparams").path)
        #expect(files.count == 1)
        let (read, torn) = try events(dir.appendingPathComponent("hparams").appendingPathComponent(files[0]))
        #expect(!torn)
        let tags = read.dropFirst().map { $0[field: 5]!.fields[field: 1]!.fields[field: 1]!.string }
        #expect(tags == ["_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info", "hparam/accuracy"])
        #expect(read.last![field: 5]!.fields[field: 1]!.fields[field: 2]?.float == 91.5)
    }

    /// A file cut at any byte holds every record that ended before the cut, and the reader sees the rest as torn.
    @Test func truncatedFileKeepsEveryWholeRecord() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = try SummaryWriter(logDirectory: dir)
        for step in 1...6 { try writer.addScalar("loss", Double(step), step: step) }
        try writer.addHistogram("w", randomTensor([50], seed: 5), step: 6)
        try writer.close()
        let whole = Array(try Data(contentsOf: writer.fileURL))
        let (records, _) = readTFRecords(whole)
        var ends: [Int] = [], offset = 0
        for r in records { offset += r.count + 16; ends.append(offset) }
        #expect(ends.last == whole.count && records.count == 8)
        for cut in 0..<whole.count {
            let (kept, torn) = readTFRecords(Array(whole[0..<cut]))
            #expect(kept.count == ends.filter { $0 <= cut }.count)
            #expect(torn == (cut != 0 && !ends.contains(cut)))
        }
        // A flipped byte in the fourth record's data hides it and what follows, never misreads it.
        var corrupt = whole
        corrupt[ends[2] + 14] ^= 0x40
        #expect(readTFRecords(corrupt).records.count == 3)
    }

    /// What a crash leaves: the records written so far are in the file, whole, before close().
    @Test func recordsReachTheFileWhenQueueIsFull() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = try SummaryWriter(logDirectory: dir, maxQueue: 3)
        #expect(try events(writer.fileURL).events.count == 1)   // file_version, written at once
        try writer.addScalar("a", 1, step: 1)
        try writer.addScalar("a", 2, step: 2)
        #expect(try events(writer.fileURL).events.count == 1)   // two queued
        try writer.addScalar("a", 3, step: 3)
        #expect(try events(writer.fileURL).events.count == 4)   // the third wrote all three
        try writer.addScalar("a", 4, step: 4)
        try writer.flush()
        let (read, torn) = try events(writer.fileURL)
        #expect(read.count == 5 && !torn)
    }

    @Test func twoWritersInOneDirectoryGetTwoFiles() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try SummaryWriter(logDirectory: dir), b = try SummaryWriter(logDirectory: dir, filenameSuffix: ".eval")
        #expect(a.fileURL != b.fileURL && b.fileURL.lastPathComponent.hasSuffix(".eval"))
        let c = try SummaryWriter(logDirectory: dir)
        #expect(c.fileURL != a.fileURL)
    }

    @Test func unwritableDirectoryThrows() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ember-tb-file-\(UUID().uuidString)")
        try Data("x".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(throws: EmberIOError.self) { try SummaryWriter(logDirectory: file.appendingPathComponent("run")) }
    }
}
