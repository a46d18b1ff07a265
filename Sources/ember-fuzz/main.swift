// ember-fuzz: feeds mutated IDX (raw and gzip) and safetensors files to Ember's parsers.
//
//   swift run -c release ember-fuzz [--cases N] [--seed S] [--corpus DIR]
//
// Every case must either parse or throw; a crash ends the process (and the run fails). The address
// space is capped (RLIMIT_AS), so an allocation sized by an unchecked header would crash too. With
// --corpus, one example of each rejected mutation kind is written there (the regression corpus
// that the tests run).
import Ember
import Foundation

var arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}
let cases = Int(option("--cases") ?? "") ?? 100_000
var rng = SeededGenerator(seed: UInt64(option("--seed") ?? "") ?? 1)
let corpus = option("--corpus").map { URL(fileURLWithPath: $0) }
let capBytes = 1 << 27   // 128 MB in all: the runtime, the fuzzer and the parsers

// Cap the address space: an unchecked "4 GB of pixels" header would now crash the fuzzer.
var limit = rlimit(rlim_cur: rlim_t(capBytes), rlim_max: rlim_t(capBytes))
#if os(Linux)
let addressSpace = Int32(RLIMIT_AS.rawValue)   // an enum in Glibc
#else
let addressSpace = RLIMIT_AS                   // a plain Int32 elsewhere
#endif
if setrlimit(addressSpace, &limit) != 0 { print("warning: could not cap the address space") }

/// This process's peak resident memory in MB (`ru_maxrss` is in KiB on Linux, bytes on Darwin).
func peakResidentMegabytes() -> Int {
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss / 1024
    #else
    getrusage(RUSAGE_SELF, &usage)
    return usage.ru_maxrss >> 20
    #endif
}

// MARK: - Seeds

@MainActor func idxSeed(rank: Int) -> Data {
    let shape = rank == 3 ? [3, 4, 5] : [7]
    return IDXArray.encode(shape: shape, bytes: (0..<shape.reduce(1, *)).map { UInt8($0 % 10) })
}
let safetensorsSeed = try! SafeTensorsFile.encode(entries: [
    "a": .float(Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])),
    "b": .double(Tensor<Double>([0.5, -1])),
    "c": .int64(shape: [3], values: [1, 2, 3]),
    "d": .float(Tensor<Float>(shape: [0, 3], scalars: [])),         // zero-size, at the end of the data
], metadata: ["k": "v"])

// MARK: - Mutations

let specialValues: [UInt32] = [0, 1, 2, 1 << 31, UInt32.max, 0x7FFF_FFFF, 28, 60000]

/// A mutation kind and the mutated bytes.
@MainActor func mutate(_ seed: Data, kind: Int, isSafetensors: Bool) -> (String, Data) {
    var d = seed
    switch kind {
    case 0:   // truncation, every length band
        let n = rng.nextInt(below: d.count)
        return ("truncate", d.prefix(n))
    case 1:   // bit flips
        for _ in 0..<(1 + rng.nextInt(below: 4)) { d[rng.nextInt(below: d.count)] ^= UInt8(1 << rng.nextInt(below: 8)) }
        return ("bitflip", d)
    case 2:   // a 32-bit field set to a special value (IDX dimensions; anywhere for safetensors)
        let offset = isSafetensors ? rng.nextInt(below: d.count - 3) : 4 + 4 * rng.nextInt(below: max(1, (min(d.count, 16) - 4) / 4))
        guard offset + 4 <= d.count else { return ("field", d) }
        let v = specialValues[rng.nextInt(below: specialValues.count)]
        for i in 0..<4 { d[offset + i] = UInt8(truncatingIfNeeded: v >> (24 - 8 * i)) }
        return ("field", d)
    case 3:   // safetensors header length too large / random, IDX rank byte
        if isSafetensors {
            let v: UInt64 = [UInt64(d.count), UInt64(d.count) + 1, UInt64.max, 1 << 40, UInt64(rng.next() % 1000)][rng.nextInt(below: 5)]
            for i in 0..<8 { d[i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
        } else {
            d[3] = UInt8(rng.nextInt(below: 256))
        }
        return ("header-length", d)
    case 4:   // JSON-level edits: numbers, offsets, dtypes, invalid UTF-8, broken syntax
        guard isSafetensors else { d.append(contentsOf: (0..<rng.nextInt(below: 8)).map { _ in UInt8(rng.nextInt(below: 256)) }); return ("trailing", d) }
        let headerLength = Int(d[0]) | Int(d[1]) << 8
        var header = [UInt8](d[8..<(8 + headerLength)])
        let text = String(decoding: header, as: UTF8.self)
        let edits: [(String, String)] = [("[0,24]", "[0,2147483648]"), ("[0,24]", "[16,40]"), ("[24,40]", "[0,16]"), ("\"F32\"", "\"F99\""),
                                         ("[2,3]", "[4294967295,4294967295]"), ("[2,3]", "[0,3]"), ("[2,3]", "[-1,3]"), ("[2,3]", "[2.5,3]"),
                                         ("{", "["), ("}", ""), (":", ","), ("\"k\"", "\"\\ud800\""), ("\"v\"", "1")]
        let (from, to) = edits[rng.nextInt(below: edits.count)]
        if rng.nextInt(below: 4) == 0 {
            header[rng.nextInt(below: header.count)] = 0xFF                                // invalid UTF-8
        } else if let r = text.range(of: from) {
            header = Array(text.replacingCharacters(in: r, with: to).utf8)
        }
        var out = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        out.append(d[(8 + headerLength)...])
        return ("json", out)
    default:  // random bytes of random length
        return ("random", Data((0..<rng.nextInt(below: 200)).map { _ in UInt8(rng.nextInt(below: 256)) }))
    }
}

// MARK: - Run

@MainActor func runParser(_ name: String, seeds: [Data], isSafetensors: Bool, parse: (Data) throws -> Void) {
    var accepted = 0, rejected = 0
    var kinds: [String: Int] = [:]
    var saved = Set<String>()
    let start = Date()
    for i in 0..<cases {
        var (kind, data) = mutate(seeds[i % seeds.count], kind: rng.nextInt(below: 6), isSafetensors: isSafetensors)
        if !isSafetensors && i % 3 == 0 {
            // Valid gzip of a broken IDX, every other time in two members (as `cat a.gz b.gz` makes).
            let split = i % 6 == 0 ? rng.nextInt(below: data.count + 1) : data.count
            data = gzipCompress(data.prefix(split)) + (split < data.count ? gzipCompress(data.dropFirst(split)) : Data())
            if i % 9 == 0 { (kind, data) = ("gzip-" + kind, mutate(data, kind: rng.nextInt(below: 2), isSafetensors: false).1) }
        }
        do {
            try parse(data)
            accepted += 1
        } catch {
            rejected += 1
            if let corpus, saved.insert(kind).inserted {
                try? data.write(to: corpus.appendingPathComponent("\(name)-\(kind).bin"))
            }
        }
        kinds[kind, default: 0] += 1
    }
    print("\(name): \(cases) cases in \(String(format: "%.1f", Date().timeIntervalSince(start))) s, \(rejected) rejected with an error, \(accepted) accepted, 0 crashes; peak RSS \(peakResidentMegabytes()) MB (address space capped at \(capBytes >> 20) MB)")
    print("  mutations: " + kinds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
}

if let corpus { try? FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true) }
runParser("idx", seeds: [idxSeed(rank: 3), idxSeed(rank: 1)], isSafetensors: false) { data in
    let array = try IDXArray(fileData: data, path: "fuzz", expectedRank: nil, maximumBytes: 16 << 20)
    precondition(array.bytes.count == array.shape.reduce(1, *))
}
runParser("safetensors", seeds: [safetensorsSeed], isSafetensors: true) { data in
    let file = try SafeTensorsFile(data: data, path: "fuzz")
    for name in file.names {
        if let t = try? file.tensor(name, as: Double.self) { precondition(t.count == file.entries[name]!.shape.reduce(1, *)) }
        _ = try? file.integers(name)
    }
}
