import CEmberKernels
import Foundation
import Testing
@_spi(Kernels) @testable import Ember

/// Ember's own elementary functions (CEmberKernels' emath.c: `Float._exp`, `_log`, `_tanh`, `_pow`,
/// log1p, and the Double log/cos/sin/exp/powi behind seeded draws, Adam and the schedulers): the
/// same bits at every kernel level, within their stated error of a more precise reference, and
/// C99's results at the special values. (Tests/KernelHashes checks the same functions give the same
/// bits on arm64 under qemu.)
@Suite struct ElementaryFunctionTests {
    /// Every `stride`-th float bit pattern: every sign, exponent, subnormals, ±inf and NaNs.
    static func floats(stride: UInt64) -> [Float] {
        Swift.stride(from: UInt64(0), to: 1 << 32, by: Int(stride)).map { Float(bitPattern: UInt32($0)) }
    }

    /// FNV-1a 64 over the functions' results on a sweep, and over Float tensor ops built on them
    /// (log, logSoftmax, pow, softplus, tanh-approximated GELU) and a seeded normal draw.
    static func hashOfSweep() -> String {
        var hash: UInt64 = 1_469_598_103_934_665_603
        func mix(_ bits: UInt64, bytes: Int) {
            var b = bits
            for _ in 0..<bytes { hash = (hash ^ (b & 0xff)) &* 1_099_511_628_211; b >>= 8 }
        }
        let x = floats(stride: 65_521)
        for v in x {
            for r in [Float._exp(v), Float._log(v), Float._tanh(v), log1pScalar(v), Float._pow(v, 1.37), Float._pow(-v, 3)] {
                mix(UInt64(r.bitPattern), bytes: 4)
            }
        }
        for i in 0..<20_000 {
            let d = Double(i) * 0.065 - 650
            for r in [ember_exp(d), ember_log(d + 650.5), ember_cos(d), ember_sin(d), ember_powi(0.999, 5 * (i - 10_000))] {
                mix(r.bitPattern, bytes: 8)
            }
        }
        var rng = SeededGenerator(seed: 5)
        let t = Tensor<Float>(randomNormal: [64, 33], generator: &rng) * 9
        for result in [t.abs().log(), t.logSoftmax(axis: 1), t.softmax(axis: 0), t.abs().pow(0.7),
                       t.softplus(), t.gelu(approximate: .tanh)] {
            for v in result.scalars { mix(UInt64(v.bitPattern), bytes: 4) }
        }
        return String(hash, radix: 16)
    }

    /// The hash at every kernel level this CPU has (portable included: these functions use no
    /// fused multiply-add), each in a child process that forces the level; all equal the golden one.
    @Test func sameBitsAtEveryKernelLevel() async {
        let golden = "d7e8324201caf735"
        var hashes: [String: String] = [:]
        for level in KernelLevel.allCases where level.rawValue <= KernelLevel.best.rawValue {
            let levelNumber = level.rawValue
            let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) { [levelNumber = levelNumber as Int] in
                KernelLevel.current = KernelLevel(rawValue: levelNumber)!
                FileHandle.standardError.write(Data("hash \(ElementaryFunctionTests.hashOfSweep())\n".utf8))
            }
            let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
            hashes[level.description] = text.split(separator: "\n").first { $0.hasPrefix("hash ") }.map { String($0.dropFirst(5)) }
        }
        #expect(hashes.count == KernelLevel.best.rawValue + 1)
        for (level, hash) in hashes {
            #expect(hash == golden, "at \(level): hash \(hash), golden \(golden)")
        }
    }

    /// Error in units in the last place of the float nearest `reference`.
    /// (The spacing of floats in the binade of `reference`: 2^(e - 23) for |reference| in [2^e, 2^(e+1)).)
    static func floatULPs(_ y: Float, _ reference: Double) -> Double {
        let exponent = Swift.max(Int(reference.magnitude.exponent), -126)
        return Swift.abs(Double(y) - reference) / Double(sign: .plus, exponent: exponent - 23, significand: 1)
    }

    /// Within 0.5 ulp (plus the double rounding's 2^-20) of Double's libm over every 16381st float,
    /// where the result is finite; the same infinities and NaNs elsewhere.
    @Test func floatFunctionsWithinHalfAnULP() {
        let cases: [(String, (Float) -> Float, (Double) -> Double)] = [
            ("exp", Float._exp, Foundation.exp), ("log", Float._log, Foundation.log),
            ("tanh", Float._tanh, Foundation.tanh), ("log1p", log1pScalar, Foundation.log1p),
            ("pow(x, 1.37)", { Float._pow($0, 1.37) }, { Foundation.pow($0, Double(Float(1.37))) }),
            ("pow(x, -3)", { Float._pow($0, -3) }, { Foundation.pow($0, -3) }),
        ]
        for (name, f, reference) in cases {
            var worst = 0.0, at: Float = 0
            for x in Self.floats(stride: 16_381) {
                let y = f(x), r = reference(Double(x))
                if r.isNaN || y.isNaN { #expect(r.isNaN == y.isNaN, "\(name)(\(x)) = \(y), expected \(r)"); continue }
                if Swift.abs(r) > Double(Float.greatestFiniteMagnitude) || y.isInfinite {
                    #expect(Float(r) == y, "\(name)(\(x)) = \(y), expected \(Float(r))")
                    continue
                }
                let e = Self.floatULPs(y, r)
                if e > worst { worst = e; at = x }
            }
            #expect(worst <= 0.5001, "\(name): \(worst) ulp at x = \(at)")
        }
    }

    /// The Double functions against a more precise reference: x86-64's 80-bit long double libm
    /// (elsewhere Double's libm, with half an ulp more allowed for the reference's own error).
    @Test func doubleFunctionsWithinTheirBounds() {
        #if arch(x86_64)
        typealias Wide = Float80
        let slack = 0.0
        func wide(_ f: @escaping (Float80) -> Float80) -> (Double) -> Wide { { f(Float80($0)) } }
        let (expRef, logRef, cosRef, sinRef, log1pRef) = (wide(Foundation.exp), wide(Foundation.log), wide(Foundation.cos),
                                                          wide(Foundation.sin), wide(Foundation.log1p))
        #else
        typealias Wide = Double
        let slack = 0.5
        let (expRef, logRef, cosRef, sinRef, log1pRef): ((Double) -> Double, (Double) -> Double, (Double) -> Double,
                                                         (Double) -> Double, (Double) -> Double) =
            (Foundation.exp, Foundation.log, Foundation.cos, Foundation.sin, Foundation.log1p)
        #endif
        func worst(_ f: (Double) -> Double, _ reference: (Double) -> Wide, from low: Double, to high: Double) -> (Double, Double) {
            var rng = SeededGenerator(seed: 3)
            var worst = 0.0, at = 0.0
            for i in 0..<20_000 {
                let x = i % 2 == 0 ? low + (high - low) * Double(i) / 20_000 : low + (high - low) * rng.nextUnitDouble()
                let r = reference(x), y = f(x)
                let ulp = Double(r).magnitude < Double.leastNormalMagnitude ? Double.leastNonzeroMagnitude : Double(r).magnitude.ulp
                let e = Double((Wide(y) - r).magnitude / Wide(ulp))
                if e > worst { worst = e; at = x }
            }
            return (worst, at)
        }
        let cases: [(String, (Double) -> Double, (Double) -> Wide, Double, Double, Double)] = [
            ("exp", ember_exp, expRef, -745, 709.78, 0.9), ("exp", ember_exp, expRef, -1, 1, 0.9),
            ("log", ember_log, logRef, 0, 4, 0.85), ("log", ember_log, logRef, 0, 1e300, 0.85),
            ("log", ember_log, logRef, 0, 0x1p-1020, 0.85), ("log1p", ember_log1p, log1pRef, -0.999, 10, 1.25),
            ("cos", ember_cos, cosRef, 0, 2 * .pi, 0.8), ("cos", ember_cos, cosRef, -1e5, 1e5, 0.8),
            ("sin", ember_sin, sinRef, -1e5, 1e5, 0.8),
        ]
        for (name, f, reference, low, high, bound) in cases {
            let (e, at) = worst(f, reference, from: low, to: high)
            #expect(e <= bound + slack, "\(name) over [\(low), \(high)]: \(e) ulp at x = \(at)")
        }
    }

    /// Integer powers are correctly rounded: against the exact binary expansion computed with
    /// Float80 products (x86-64), or exactly Double's pow for small exponents elsewhere.
    @Test func integerPowers() {
        var rng = SeededGenerator(seed: 9)
        for _ in 0..<20_000 {
            let x = 0.5 + rng.nextUnitDouble(), n = rng.nextInt(below: 201) - 100
            #if arch(x86_64)
            let reference = Foundation.pow(Float80(x), Float80(n))
            let ulp = Float80(Double(reference).ulp)
            #expect((Float80(ember_powi(x, n)) - reference).magnitude <= ulp / 2 * 1.0001, "powi(\(x), \(n))")
            #else
            #expect((ember_powi(x, n) - Foundation.pow(x, Double(n))).magnitude <= Foundation.pow(x, Double(n)).ulp)
            #endif
        }
        #expect(ember_powi(0.9, 0) == 1 && ember_powi(.nan, 0) == 1 && ember_powi(-2, 3) == -8 && ember_powi(-2, -3) == -0.125)
        #expect(ember_powi(0, -1) == .infinity && ember_powi(-0.0, -1) == -.infinity && ember_powi(10, 400) == .infinity)
        #expect(ember_powi(0.5, 1074) == .leastNonzeroMagnitude && ember_powi(0.5, 1080) == 0)
    }

    /// Special values as the C library gives them: infinities, NaN, signed zeros, subnormals and the
    /// overflow and underflow thresholds.
    @Test func specialValuesAsTheCLibrary() {
        func same(_ a: Float, _ b: Float) -> Bool { a.isNaN ? b.isNaN : a == b && a.sign == b.sign }
        func sameD(_ a: Double, _ b: Double) -> Bool { a.isNaN ? b.isNaN : a == b && a.sign == b.sign }
        let specials: [Float] = [0, -0.0, .infinity, -.infinity, .nan, 1, -1, 2, -2, 0.5, -0.5, 3, -3,
                                 .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude,
                                 .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 88.72283, 88.72284, 89,
                                 -87.33654, -103.27893, -103.97207, -103.97208, -104, 1e-20, -1e-20, 0x1p-12, 20, -20]
        for x in specials {
            #expect(same(Float._exp(x), Foundation.exp(x)), "exp(\(x))")
            #expect(same(Float._log(x), Foundation.log(x)), "log(\(x))")
            #expect(same(Float._tanh(x), Foundation.tanh(x)), "tanh(\(x))")
            #expect(same(log1pScalar(x), Foundation.log1p(x)), "log1p(\(x))")
            for y in specials {
                #expect(same(Float._pow(x, y), Foundation.pow(x, y)), "pow(\(x), \(y)) = \(Float._pow(x, y)), C library \(Foundation.pow(x, y))")
            }
        }
        let doubles: [Double] = [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude,
                                 .leastNormalMagnitude, -.greatestFiniteMagnitude, 1e-300, -1e-300, 1e7]
        for x in doubles {
            #expect(sameD(ember_exp(x), Foundation.exp(x)), "exp(\(x))")
            #expect(sameD(ember_log(x), Foundation.log(x)), "log(\(x))")
            #expect(sameD(ember_log1p(x), Foundation.log1p(x)), "log1p(\(x))")
            #expect(sameD(ember_cos(x), Foundation.cos(x)), "cos(\(x))")
            #expect(sameD(ember_sin(x), Foundation.sin(x)), "sin(\(x))")
        }
        // Overflow and underflow thresholds: finite, infinite, subnormal or zero as the C library.
        for x in [709.782712893384, 709.7827128933841, -708.4, -745.1332191019411, -745.1332191019412, -800] {
            let (mine, theirs) = (ember_exp(x), Foundation.exp(x))
            #expect(mine.isFinite == theirs.isFinite && (mine == 0) == (theirs == 0) && mine.isNormal == theirs.isNormal, "exp(\(x))")
        }
        #expect(ember_log(1) == 0 && ember_log(-1).isNaN && ember_log1p(-1) == -.infinity && ember_cos(0) == 1)
        #expect(ember_exp(-745.1332191019411) == .leastNonzeroMagnitude && ember_log(.leastNonzeroMagnitude) == -744.4400719213812)
    }
}
