// MARK: - Seeded random numbers

/// Ember's random number generator: xoshiro256** seeded through SplitMix64.
///
/// The same seed gives the same sequence on every run and every machine; all of Ember's random
/// draws (initialisation, dropout, shuffling) take one of these explicitly.
///
/// ```swift
/// var rng = SeededGenerator(seed: 42)
/// let w = Tensor<Float>(randomNormal: [2, 3], generator: &rng)
/// ```
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64

    /// Creates a generator whose whole sequence is determined by `seed`.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }
}

extension SeededGenerator {
    /// A uniform `Double` in [0, 1) with 53 random bits.
    public mutating func nextUnitDouble() -> Double { unitDouble() }

    /// A uniform integer in `0..<bound` without modulo bias.
    public mutating func nextInt(below bound: Int) -> Int { uniformInt(below: bound) }

    /// A standard normal sample (Box–Muller, one draw per call).
    public mutating func nextNormal() -> Double { standardNormal() }
}

// The recipes behind those, for any generator (Tensor creation takes any `RandomNumberGenerator`).
// Internal, so Ember adds nothing to the standard library's protocol in its users' code.
extension RandomNumberGenerator {
    mutating func unitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    mutating func uniformInt(below bound: Int) -> Int {
        require(bound > 0, "nextInt(below:): expected a positive bound, got \(bound)")
        let range = UInt64(bound)
        let limit = UInt64.max - UInt64.max % range
        while true {
            let r = next()
            if r < limit { return Int(r % range) }
        }
    }

    mutating func standardNormal() -> Double {
        // u1 in (0, 1] so the logarithm is finite.
        let u1 = 1 - unitDouble()
        let u2 = unitDouble()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }
}

import CEmberKernels
// Ember's own log and cos (fdlibm's algorithms without fused multiply-adds, CEmberKernels' emath.c):
// the same normal draws, so the same initial weights, with any C library on any CPU.
@inline(__always) private func _log(_ x: Double) -> Double { ember_log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { ember_cos(x) }
