// First outputs of xoshiro256** seeded by SplitMix64(42), from an independent Python implementation.
enum SeededGeneratorReference {
    static let seed42: [UInt64] = [1546998764402558742, 6990951692964543102, 12544586762248559009]
}
