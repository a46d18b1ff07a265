import Foundation
import Testing
import Ember

@Suite struct IDXTests {
    let valid = IDXArray.encode(shape: [2, 3, 2], bytes: Array(0..<12))

    func rejects(_ data: Data, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try IDXArray(data: data, path: "f.idx", expectedRank: 3)
            Issue.record("accepted a bad file (\(fragment))", sourceLocation: sourceLocation)
        } catch let error as DataError {
            #expect(error.description.contains("f.idx") && error.description.contains(fragment), "\(error)", sourceLocation: sourceLocation)
        } catch { Issue.record("\(error)", sourceLocation: sourceLocation) }
    }

    @Test func parsesAndValidates() throws {
        let a = try IDXArray(data: valid, path: "f.idx", expectedRank: 3)
        #expect(a.shape == [2, 3, 2] && a.bytes == Array(0..<12))
        rejects(Data([0, 0]), "too short")
        rejects(Data([1, 2, 8, 3] + [UInt8](repeating: 0, count: 20)), "not an IDX file")
        rejects(Data([0, 0, 0x0D, 3] + [UInt8](repeating: 0, count: 20)), "not unsigned bytes")
        rejects(IDXArray.encode(shape: [12], bytes: Array(0..<12)), "expected an IDX array of rank 3")
        rejects(valid.prefix(10), "header ends early")
        rejects(valid.prefix(valid.count - 1), "truncated")
        rejects(valid + Data([1]), "trailing bytes")
        // A header claiming 2^32-1 images must fail before allocating anything.
        rejects(Data([0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]), "claim more data")
    }

    /// Arrays with a zero dimension hold no bytes, wherever the zero is, as in NumPy and PyTorch;
    /// the other dimensions may be anything whose product does not overflow.
    @Test func zeroSizeDimensions() throws {
        for shape in [[0, 28, 28], [28, 0], [3, 0, 5], [4294967295, 0], [0], [60000, 28, 0], [1, 1, 0, 1]] {
            let file = IDXArray.encode(shape: shape, bytes: [])
            let a = try IDXArray(data: file, path: "f.idx")
            #expect(a.shape == shape && a.bytes.isEmpty, "\(shape)")
            #expect(try IDXArray(fileData: gzipCompress(file), path: "f.idx.gz").shape == shape)
        }
        func failure(_ data: Data) -> String {
            do { _ = try IDXArray(data: data, path: "f.idx"); return "accepted" } catch { return "\(error)" }
        }
        // Bytes after an empty array are trailing bytes, not data.
        #expect(failure(IDXArray.encode(shape: [5, 0], bytes: []) + Data([1, 2, 3])).contains("dimensions [5, 0] need 0 bytes of data, file has 3 (trailing bytes)"))
        // No elements, but the other dimensions' product (2^64 - 2^33 + 1) overflows: Ember could not
        // index such an array, so it is an error rather than a trap later.
        let huge = Data([0, 0, 8, 3, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(failure(huge).contains("f.idx: dimensions [0, 4294967295, 4294967295] overflow"), "\(failure(huge))")
        // Non-empty shapes still claim no more than the bytes present, before anything is allocated.
        #expect(failure(IDXArray.encode(shape: [3, 4, 4], bytes: Array(repeating: 0, count: 48)).prefix(32))
                    .contains("dimensions [3, 4, 4] claim more data than the 16 bytes present (truncated file?)"))
    }

    /// An MNIST split with no images loads as an empty dataset, and its empty batch has the image shape.
    @Test func mnistWithNoImages() throws {
        let dir = temporaryDirectory()
        for train in [true, false] {
            let names = MNIST.fileNames(train: train)
            try gzipCompress(IDXArray.encode(shape: [0, 28, 28], bytes: [])).write(to: dir.appendingPathComponent(names.images + ".gz"))
            try gzipCompress(IDXArray.encode(shape: [0], bytes: [])).write(to: dir.appendingPathComponent(names.labels + ".gz"))
        }
        let empty = try MNIST(directory: dir, train: true)
        #expect(empty.count == 0 && empty.rows == 28 && empty.columns == 28)
        let (images, labels) = empty.batch([])
        #expect(images.shape == [0, 28, 28] && labels.isEmpty)
        #expect(try MNIST(directory: dir, train: false, limit: 5).count == 0)
        // Images of no pixels are still an error for MNIST, named as such.
        try gzipCompress(IDXArray.encode(shape: [0, 28, 0], bytes: [])).write(to: dir.appendingPathComponent("train-images-idx3-ubyte.gz"))
        #expect { try MNIST(directory: dir, train: true) } throws: { "\($0)".contains("images of size 28x0") }
    }

    @Test func gzipTruncatedAndCorrupt() throws {
        let dir = temporaryDirectory()
        let gz = try gzipData(valid)
        let good = dir.appendingPathComponent("good.gz")
        try gz.write(to: good)
        #expect(try IDXArray(contentsOf: good).shape == [2, 3, 2])
        let truncated = dir.appendingPathComponent("truncated.gz")
        try gz.prefix(gz.count - 6).write(to: truncated)
        #expect(throws: DataError.self) { try IDXArray(contentsOf: truncated) }
        var flipped = gz
        flipped[flipped.count - 8] ^= 0xFF                         // CRC-32 trailer
        let corrupt = dir.appendingPathComponent("corrupt.gz")
        try flipped.write(to: corrupt)
        do { _ = try IDXArray(contentsOf: corrupt); Issue.record("accepted a bad CRC") } catch let e as DataError {
            #expect(e.description.contains("corrupt.gz") && e.description.contains("corrupt"))
        }
        // A decompression bomb is stopped at the cap.
        let bomb = try gzipData(IDXArray.encode(shape: [1 << 20], bytes: [UInt8](repeating: 0, count: 1 << 20)))
        let bombURL = dir.appendingPathComponent("bomb.gz")
        try bomb.write(to: bombURL)
        #expect(throws: DataError.self) { try IDXArray(contentsOf: bombURL, maximumBytes: 1 << 16) }
        #expect(throws: DataError.self) { try IDXArray(contentsOf: dir.appendingPathComponent("absent.gz")) }
    }

    @Test func mnistValidation() throws {
        let dir = temporaryDirectory()
        for (name, data) in try tinyMNISTFiles() { try data.write(to: dir.appendingPathComponent(name)) }
        let train = try MNIST(directory: dir, train: true)
        #expect(train.count == 20 && train.rows == 28)
        let (images, labels) = train.batch([3, 0])
        #expect(images.shape == [2, 28, 28] && labels == [3, 0])
        #expect(images.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(try MNIST(directory: dir, train: false, limit: 4).count == 4)
        // Label count disagreeing with the image count, and a label of 10.
        try gzipData(IDXArray.encode(shape: [19], bytes: [UInt8](repeating: 1, count: 19))).write(to: dir.appendingPathComponent("train-labels-idx1-ubyte.gz"))
        #expect { try MNIST(directory: dir, train: true) } throws: { ($0 as? DataError)?.description.contains("19 labels for 20 images") == true }
        try gzipData(IDXArray.encode(shape: [20], bytes: [UInt8](repeating: 10, count: 20))).write(to: dir.appendingPathComponent("train-labels-idx1-ubyte.gz"))
        #expect { try MNIST(directory: dir, train: true) } throws: { ($0 as? DataError)?.description.contains("not a digit") == true }
        #expect { try MNIST(directory: temporaryDirectory(), train: true) } throws: {
            if case .missing = $0 as? DataError { return true } else { return false }
        }
    }

    @Test func realMNISTLoads() throws {
        let test = try MNIST(directory: Fixtures.mnist, train: false)
        #expect(test.count == 10_000 && test.rows == 28 && test.columns == 28)
        #expect(Set(test.labels) == Set(0...9))
    }
}

struct CountingDataset: Dataset {
    let count: Int
    func batch(_ indices: [Int]) -> [Int] { indices }
}

@Suite struct DataLoaderTests {
    @Test func coversEveryIndexOncePerEpochAndReshuffles() {
        let loader = DataLoader(CountingDataset(count: 103), batchSize: 10, shuffle: true, seed: 5)
        #expect(loader.count == 11)
        let first = Array(loader), second = Array(loader)
        #expect(first.count == 11 && first.last?.count == 3)
        #expect(first.flatMap { $0 }.sorted() == Array(0..<103))
        #expect(second.flatMap { $0 }.sorted() == Array(0..<103))
        #expect(first.flatMap { $0 } != second.flatMap { $0 })               // a new order each epoch
        #expect(first.flatMap { $0 } != Array(0..<103))
    }

    @Test func seedReproducibilityAndDropLast() {
        let a = DataLoader(CountingDataset(count: 50), batchSize: 8, shuffle: true, seed: 1)
        let b = DataLoader(CountingDataset(count: 50), batchSize: 8, shuffle: true, seed: 1)
        #expect(Array(a) == Array(b) && Array(a) == Array(b))
        let c = DataLoader(CountingDataset(count: 50), batchSize: 8, shuffle: true, seed: 2)
        #expect(Array(c).flatMap { $0 } != a.order(epoch: 0))
        let d = DataLoader(CountingDataset(count: 50), batchSize: 8, dropLast: true)
        #expect(d.count == 6 && Array(d).allSatisfy { $0.count == 8 })
        #expect(Array(DataLoader(CountingDataset(count: 5), batchSize: 2)) == [[0, 1], [2, 3], [4]])
        // Resuming at an epoch gives that epoch's order.
        let e = DataLoader(CountingDataset(count: 50), batchSize: 8, shuffle: true, seed: 1)
        e.epoch = 1
        #expect(Array(e) == Array(DataLoader(CountingDataset(count: 50), batchSize: 8, shuffle: true, seed: 1).dropFirstEpoch()))
    }
}

extension DataLoader {
    /// Skips one pass and returns the next.
    func dropFirstEpoch() -> [D.Batch] { _ = makeIterator(); return Array(self) }
}

@Suite(.serialized) struct DownloadTests {
    @Test func downloadsVerifiesAndPlacesFiles() throws {
        let files = try tinyMNISTFiles()
        let server = try TestHTTPServer(files: files)
        defer { server.stop() }
        let dir = temporaryDirectory().appendingPathComponent("data/mnist")
        var progressCalls = 0
        try MNISTDownloader.ensureFiles(in: dir, mirrors: [server.baseURL], timeout: 10) { _, received, expected in
            progressCalls += 1
            #expect(expected == nil || received <= expected!)
        }
        #expect(progressCalls >= 4)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)) == Set(MNIST.allFiles))
        #expect(try MNIST(directory: dir, train: true).count == 20)
        // Present files are not fetched again.
        let before = server.requests.count
        try MNISTDownloader.ensureFiles(in: dir, mirrors: [server.baseURL], timeout: 10)
        #expect(server.requests.count == before)
    }

    @Test func aDroppedConnectionFallsBackToTheNextMirror() throws {
        let files = try tinyMNISTFiles()
        let dropping = try TestHTTPServer(files: files, dropHalfway: true)
        let good = try TestHTTPServer(files: files)
        defer { dropping.stop(); good.stop() }
        let dir = temporaryDirectory()
        try MNISTDownloader.ensureFiles(in: dir, mirrors: [dropping.baseURL, good.baseURL], timeout: 10)
        #expect(dropping.requests.count == 4 && good.requests.count == 4)
        #expect(try MNIST(directory: dir, train: false).count == 10)
    }

    @Test func failureLeavesNothingAndSaysWhatToDo() throws {
        let dropping = try TestHTTPServer(files: try tinyMNISTFiles(), dropHalfway: true)
        let corruptServer = try TestHTTPServer(files: Dictionary(uniqueKeysWithValues: MNIST.allFiles.map { ($0, Data("not gzip".utf8)) }))
        defer { dropping.stop(); corruptServer.stop() }
        let dir = temporaryDirectory()
        do {
            try MNISTDownloader.ensureFiles(in: dir, mirrors: [dropping.baseURL, corruptServer.baseURL], timeout: 10)
            Issue.record("succeeded without data")
        } catch let error as DataError {
            guard case .missing(let paths, let hint) = error else { Issue.record("\(error)"); return }
            #expect(paths.count == 4 && hint.contains("train-images-idx3-ubyte.gz") && error.description.contains(dir.path))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
