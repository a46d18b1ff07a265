import CEmberKernels
import Foundation
import Testing
@testable import Ember

/// Float's vectorised exp, tanh and sigmoid against the C library (evaluated in Double), on every
/// instruction-set path: relative error at most 1e-6 over the range where results are normal floats.
@Suite struct VectorMathTests {
    static let levels: [KernelLevel] = KernelLevel.allCases.filter { $0.rawValue <= KernelLevel.best.rawValue }

    /// A dense sweep plus random points; an odd count exercises the scalar tail.
    static func sweep(from low: Float, to high: Float) -> [Float] {
        var values = stride(from: low, through: high, by: (high - low) / 20_011).map { $0 }
        var rng = SeededGenerator(seed: 11)
        values += (0..<5_001).map { _ in low + (high - low) * Float(rng.nextUnitDouble()) }
        values += [0, -0, 1e-30, -1e-30, 1e-8, 0.5499999, 0.55, 0.5500001]
        return values.filter { $0 >= low && $0 <= high }
    }

    func worstRelativeError(_ f: (ember_kernel_level, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
                            level: KernelLevel, inputs: [Float], reference: (Double) -> Double) -> (Double, Float) {
        var out = [Float](repeating: .nan, count: inputs.count)
        inputs.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                f(ember_kernel_level(rawValue: UInt32(level.rawValue)), x.baseAddress!, y.baseAddress!, inputs.count)
            }
        }
        var worst = 0.0, at: Float = 0
        for (x, y) in zip(inputs, out) {
            let expected = Double(Float(reference(Double(x))))
            let error = expected == 0 ? abs(Double(y)) : abs(Double(y) - expected) / abs(expected)
            if !(error <= worst) { worst = error; at = x }
        }
        return (worst, at)
    }

    @Test(arguments: levels) func exp(level: KernelLevel) {
        let (error, at) = worstRelativeError({ ember_vexpf_at_level($0, $1, $2, $3) }, level: level,
                                             inputs: Self.sweep(from: -87, to: 88.7), reference: Foundation.exp)
        #expect(error <= 1e-6, "exp at \(level): relative error \(error) at x = \(at)")
    }

    @Test(arguments: levels) func tanh(level: KernelLevel) {
        let (error, at) = worstRelativeError({ ember_vtanhf_at_level($0, $1, $2, $3) }, level: level,
                                             inputs: Self.sweep(from: -20, to: 20), reference: Foundation.tanh)
        #expect(error <= 1e-6, "tanh at \(level): relative error \(error) at x = \(at)")
    }

    @Test(arguments: levels) func sigmoid(level: KernelLevel) {
        let (error, at) = worstRelativeError({ ember_vsigmoidf_at_level($0, $1, $2, $3) }, level: level,
                                             inputs: Self.sweep(from: -80, to: 40), reference: { 1 / (1 + Foundation.exp(-$0)) })
        #expect(error <= 1e-6, "sigmoid at \(level): relative error \(error) at x = \(at)")
    }

    @Test(arguments: levels) func specialValues(level: KernelLevel) {
        let l = ember_kernel_level(rawValue: UInt32(level.rawValue))
        let x: [Float] = [.infinity, -.infinity, .nan, 1000, -1000, 89, -88, 0]
        var y = [Float](repeating: 0, count: x.count)
        ember_vexpf_at_level(l, x, &y, x.count)
        #expect(y[0] == .infinity && y[1] == 0 && y[2].isNaN && y[3] == .infinity && y[4] == 0 && y[5] == .infinity && y[7] == 1)
        ember_vtanhf_at_level(l, x, &y, x.count)
        #expect(y[0] == 1 && y[1] == -1 && y[2].isNaN && y[3] == 1 && y[4] == -1 && y[7] == 0)
        ember_vsigmoidf_at_level(l, x, &y, x.count)
        #expect(y[0] == 1 && y[1] == 0 && y[2].isNaN && y[3] == 1 && y[4] == 0 && y[7] == 0.5)
        // -0 keeps its sign through tanh, as in the C library.
        var z: [Float] = [-0.0]
        ember_vtanhf_at_level(l, z, &z, 1)
        #expect(z[0] == 0 && z[0].sign == .minus)
    }

    /// AVX-512 scales e^r by 2^n in one instruction where AVX2 builds the power of two in integer
    /// bits; both round p·2^n once, so exp and sigmoid have the same bits on either path: every
    /// 4,099th float bit pattern (all signs, exponents, NaNs and infinities) and every float near
    /// the overflow and underflow thresholds.
    @Test func avx512ExpHasTheAVX2Bits() {
        guard KernelLevel.best == .avx512 else { return }
        var x = stride(from: UInt64(0), to: 1 << 32, by: 4_099).map { Float(bitPattern: UInt32($0)) }
        for edge: Float in [88.72283935546875, -87.33654022216797, -88.72283935546875, 87.33654022216797, 103.97, -103.97] {
            var v = edge
            for _ in 0..<300 { v = v.nextDown }
            for _ in 0..<600 { x.append(v); v = v.nextUp }
        }
        for (name, f) in [("exp", ember_vexpf_at_level), ("sigmoid", ember_vsigmoidf_at_level)] {
            var wide = [Float](repeating: 0, count: x.count), narrow = wide
            f(EMBER_KERNEL_AVX512, x, &wide, x.count)
            f(EMBER_KERNEL_AVX2, x, &narrow, x.count)
            let differing = zip(wide, narrow).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(name): \(differing) of \(x.count) values differ")
        }
    }

    @Test func tensorOpsUseTheVectorPath() {
        let x = Tensor<Float>((0..<37).map { Float($0) / 4 - 4 })
        let t = x.tanh().scalars, s = x.sigmoid().scalars, e = x.exp().scalars
        for (i, v) in x.scalars.enumerated() {
            #expect(abs(Double(t[i]) - Foundation.tanh(Double(v))) <= 1e-6 * max(1e-30, abs(Foundation.tanh(Double(v)))) + 1e-7)
            #expect(abs(Double(s[i]) - 1 / (1 + Foundation.exp(-Double(v)))) <= 1e-6)
            #expect(abs(Double(e[i]) - Foundation.exp(Double(v))) <= 1e-6 * Foundation.exp(Double(v)))
        }
    }
}
