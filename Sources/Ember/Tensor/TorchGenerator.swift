// MARK: - PyTorch's CPU generator

/// PyTorch's CPU random number generator: a 32-bit Mersenne Twister (MT19937) seeded the way
/// `torch.manual_seed(seed)` and `torch.Generator().manual_seed(seed)` seed it, with PyTorch's
/// recipes for turning its output into uniform numbers, 64-bit integers and permutations.
///
/// Ember's default generator (`manualSeed`, module initialisation, `DataLoader` shuffling) is one of
/// these, so a program seeded with `manualSeed(s)` starts from the same weights and visits the
/// samples in the same order as the PyTorch program seeded with `torch.manual_seed(s)`.
///
/// ```swift
/// var g = TorchGenerator(seed: 0)
/// g.uniform(from: Float(0), to: 1)   // 0.49625659, torch.manual_seed(0); torch.rand(1)
/// g.randperm(5)                      // torch.randperm(5) after that draw
/// ```
public struct TorchGenerator: RandomNumberGenerator, Sendable {
    private var state: [UInt32]
    private var index: Int

    /// Seeds like `torch.manual_seed(seed)`. PyTorch's engine keeps only the low 32 bits of the seed.
    public init(seed: UInt64) {
        var s = [UInt32](repeating: 0, count: 624)
        s[0] = UInt32(truncatingIfNeeded: seed)
        for i in 1..<624 {
            s[i] = 1_812_433_253 &* (s[i - 1] ^ (s[i - 1] >> 30)) &+ UInt32(i)
        }
        state = s
        index = 624
    }

    private mutating func twist() {
        state.withUnsafeMutableBufferPointer { s in
            for i in 0..<624 {
                let y = (s[i] & 0x8000_0000) | (s[(i + 1) % 624] & 0x7FFF_FFFF)
                s[i] = s[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : 0x9908_B0DF)
            }
        }
        index = 0
    }

    /// The next 32 random bits (PyTorch's `generator->random()`).
    public mutating func random() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// The next 64 random bits: two 32-bit draws, the first one high (PyTorch's `random64()`).
    public mutating func random64() -> UInt64 {
        let high = UInt64(random()), low = UInt64(random())
        return high << 32 | low
    }

    /// `RandomNumberGenerator`: the same bits as `random64()`.
    public mutating func next() -> UInt64 { random64() }

    /// Skips `count` 32-bit draws.
    public mutating func discard(_ count: Int) {
        for _ in 0..<count { _ = random() }
    }

    /// A uniform Float in `[from, to)` computed as PyTorch's `uniform_` computes it on x86-64: 24
    /// random bits from one 32-bit draw, then one fused multiply-add, `x · (to - from) + from`.
    public mutating func uniform(from: Float, to: Float) -> Float {
        let x = Float(random() & 0xFF_FFFF) * 0x1p-24
        return from.addingProduct(x, to - from)
    }

    /// A uniform Double in `[from, to)` as PyTorch's `uniform_` computes it: 53 random bits from one
    /// 64-bit draw, then one fused multiply-add.
    public mutating func uniform(from: Double, to: Double) -> Double {
        let x = Double(random64() & (1 << 53 - 1)) * 0x1p-53
        return from.addingProduct(x, to - from)
    }

    /// A non-negative 63-bit integer, as `torch.empty((), dtype=torch.int64).random_()`.
    public mutating func randomInt64() -> Int64 {
        Int64(random64() & (1 << 63 - 1))
    }

    /// A random permutation of `0..<n`, as `torch.randperm(n, generator=g)` on the CPU: draws
    /// `n - 1` times (the swap partner of position `i` is `i + random() % (n - i)`; from
    /// 2³²/20 elements on, PyTorch draws 64 bits, and so does this).
    public mutating func randperm(_ n: Int) -> [Int] {
        require(n >= 0, "TorchGenerator.randperm: expected a non-negative count, got \(n)")
        var result = Array(0..<n)
        guard n > 1 else { return result }
        let small = n < Int(UInt32.max / 20)
        result.withUnsafeMutableBufferPointer { r in
            for i in 0..<(n - 1) {
                let z = small ? Int(random()) % (n - i) : Int(random64() % UInt64(n - i))
                r.swapAt(i, i + z)
            }
        }
        return result
    }
}
