import Foundation
import Testing
import Ember

/// gzip files as `gzip -d` and Python's `gzip` module read them: any number of members, one after
/// another, each with its own CRC-32 and length checked; zero bytes after the last member are
/// padding; anything else after it is an error.
@Suite struct GzipMemberTests {
    /// A `[3, 4, 4]` IDX file of unsigned bytes: 16 header bytes and 48 data bytes.
    let idx = IDXArray.encode(shape: [3, 4, 4], bytes: (0..<48).map { UInt8($0 * 5 % 256) })

    func parse(_ data: Data, maximumBytes: Int = 1 << 20) throws -> IDXArray {
        try IDXArray(fileData: data, path: "m.idx.gz", maximumBytes: maximumBytes)
    }

    /// The error message for `data`, or "accepted".
    func failure(_ data: Data, maximumBytes: Int = 1 << 20) -> String {
        do { _ = try parse(data, maximumBytes: maximumBytes); return "accepted" } catch { return "\(error)" }
    }

    /// What the system's gzip makes of `data`: its output, or nil if it reports an error.
    func systemGunzip(_ data: Data) throws -> Data? {
        let file = temporaryDirectory().appendingPathComponent("x.gz")
        try data.write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", file.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let bytes = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 1 ? nil : bytes     // 2 is gzip's "warning" status
    }

    /// The case: the first 32 bytes in one member, the other 32 in a second.
    @Test func twoMembersReadAsOneFile() throws {
        let file = gzipCompress(idx.prefix(32)) + gzipCompress(idx.dropFirst(32))
        #expect(try systemGunzip(file) == idx)                     // what gzip -d makes of it
        let a = try parse(file)
        #expect(a.shape == [3, 4, 4])
        #expect(a.bytes == [UInt8](idx.dropFirst(16)))
    }

    @Test func threeMembersAndAnEmptyOne() throws {
        let three = gzipCompress(idx.prefix(5)) + gzipCompress(idx[5..<40]) + gzipCompress(idx.dropFirst(40))
        #expect(try systemGunzip(three) == idx)
        #expect(try parse(three).bytes == [UInt8](idx.dropFirst(16)))
        // A member holding nothing, first, in the middle and last.
        let empty = gzipCompress(Data())
        for file in [empty + gzipCompress(idx), gzipCompress(idx.prefix(20)) + empty + gzipCompress(idx.dropFirst(20)),
                     gzipCompress(idx) + empty, empty + empty + gzipCompress(idx) + empty] {
            #expect(try systemGunzip(file) == idx)
            #expect(try parse(file).shape == [3, 4, 4])
        }
        // One member per byte.
        let perByte = idx.reduce(into: Data()) { $0 += gzipCompress(Data([$1])) }
        #expect(try parse(perByte).bytes == [UInt8](idx.dropFirst(16)))
    }

    @Test func trailingGarbageIsAnError() throws {
        let whole = gzipCompress(idx.prefix(32)) + gzipCompress(idx.dropFirst(32))
        for garbage in [Data("garbage".utf8), Data([0x1f]), Data([0x1f, 0x8c, 1, 2]), Data([0x50, 0x4b, 3, 4])] {
            let message = failure(whole + garbage)
            #expect(message.contains("m.idx.gz") && message.contains("\(garbage.count) byte") && message.contains("after gzip member 2")
                    && message.contains("not a gzip member"), "\(message)")
        }
        // Zero bytes after the last member are padding (Python reads such files; gzip -d says
        // "trailing zero bytes ignored"), but not when something else follows them.
        #expect(try parse(whole + Data(count: 100)).shape == [3, 4, 4])
        #expect(failure(whole + Data(count: 3) + Data("x".utf8)).contains("not a gzip member"))
        // ... and zeros followed by a member are a member, as in Python.
        #expect(try parse(gzipCompress(idx.prefix(32)) + Data(count: 7) + gzipCompress(idx.dropFirst(32))).shape == [3, 4, 4])
    }

    @Test func aTruncatedOrCorruptMemberIsAnError() throws {
        let first = gzipCompress(idx.prefix(32)), second = gzipCompress(idx.dropFirst(32))
        // The second member cut anywhere, down to its first two bytes.
        for keep in [second.count - 1, second.count - 4, second.count - 8, 10, 2] {
            let message = failure(first + second.prefix(keep))
            #expect(message.contains("m.idx.gz") && message.contains("ends early"), "\(keep): \(message)")
        }
        // The first member cut: what follows is not where the member's end should be.
        #expect(failure(first.prefix(first.count - 3) + second) != "accepted")
        // The second member's CRC-32 and length trailers are checked, as the first's are.
        var badCRC = first + second
        badCRC[badCRC.count - 8] ^= 1
        #expect(failure(badCRC).contains("corrupt"), "\(failure(badCRC))")
        var badLength = first + second
        badLength[badLength.count - 1] ^= 1
        #expect(failure(badLength).contains("corrupt"), "\(failure(badLength))")
    }

    /// `maximumBytes` caps the output of all members together.
    @Test func theSizeCapCountsEveryMember() throws {
        let big = IDXArray.encode(shape: [3 << 14], bytes: [UInt8](repeating: 7, count: 3 << 14))
        let members = gzipCompress(big.prefix(1 << 14)) + gzipCompress(big[(1 << 14)..<(2 << 14)]) + gzipCompress(big.dropFirst(2 << 14))
        #expect(try parse(members, maximumBytes: 1 << 16).shape == [3 << 14])
        #expect(failure(members, maximumBytes: 40_000).contains("decompresses to more than 40000 bytes"))
        // Many empty members cost time in proportion to the file, and produce nothing.
        let empties = (0..<2000).reduce(into: Data()) { d, _ in d += gzipCompress(Data()) }
        #expect(failure(empties + gzipCompress(idx)) == "accepted")
    }

    /// The MNIST downloader's check reads every member too, and MNIST loads such files.
    @Test func mnistFilesInSeveralMembers() throws {
        let dir = temporaryDirectory()
        for (name, data) in try tinyMNISTFiles() {
            let raw = try IDXArray(fileData: data, path: name)
            let plain = IDXArray.encode(shape: raw.shape, bytes: raw.bytes)
            let half = plain.count / 2
            try (gzipCompress(plain.prefix(half)) + gzipCompress(plain.dropFirst(half))).write(to: dir.appendingPathComponent(name))
        }
        #expect(try MNIST(directory: dir, train: true).count == 20)
        #expect(try MNIST(directory: dir, train: false).count == 10)
    }
}
