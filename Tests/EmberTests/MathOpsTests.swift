import Foundation
import Testing
@testable import Ember

/// abs, maximum/minimum, min, logSumExp, cumsum, gelu, leakyRelu, softplus, variance and norm:
/// gradients against finite differences (Double), PyTorch's values at the special points, and the
/// Tensor forms agreeing with the Variable forms.
@Suite struct MathOpsTests {
    func check(_ shapes: [[Int]], low: Double = -1, high: Double = 1, _ f: @escaping ([Variable<Double>]) -> Variable<Double>,
               sourceLocation: SourceLocation = #_sourceLocation) {
        let inputs = shapes.enumerated().map { randomTensor($0.element, seed: UInt64(40 + $0.offset), low: low, high: high) }
        let result = gradcheck(inputs: inputs, f)
        #expect(result.passed, "\(result)", sourceLocation: sourceLocation)
        #expect(result.entriesChecked > 0, sourceLocation: sourceLocation)
    }

    /// The gradient of `f(x)` for the upstream gradient `gy` (ones by default).
    func gradient(_ x: Tensor<Double>, gy: Tensor<Double>? = nil, _ f: (Variable<Double>) -> Variable<Double>) -> Tensor<Double> {
        let v = Variable(x, requiresGrad: true)
        let y = f(v)
        y.backward(gradient: gy ?? Tensor(ones: y.shape))
        return v.grad!
    }

    @Test func gradchecks() {
        check([[3, 4]]) { $0[0].abs() }
        check([[3, 4], [3, 4]]) { maximum($0[0], $0[1]) }
        check([[3, 4], [4]]) { maximum($0[0], $0[1]) }
        check([[2, 1, 3], [4, 1]]) { minimum($0[0], $0[1]) }
        check([[3, 5]]) { $0[0].min(axis: 1) }
        check([[3, 5, 2]]) { $0[0].min(axis: -2, keepDims: true) }
        check([[4, 6]], low: -5, high: 5) { $0[0].logSumExp(axis: 1) }
        check([[4, 6]]) { $0[0].logSumExp(axis: 0, keepDims: true) }
        check([[2, 3, 4]]) { $0[0].logSumExp() }
        check([[3, 5]]) { $0[0].cumsum(axis: 1) }
        check([[3, 4, 2]]) { $0[0].cumsum(axis: 0) }
        check([[3, 4]], low: -3, high: 3) { $0[0].gelu() }
        check([[3, 4]], low: -3, high: 3) { $0[0].gelu(approximate: .tanh) }
        check([[3, 4]]) { $0[0].leakyRelu(negativeSlope: 0.1) }
        check([[3, 4]], low: -5, high: 5) { $0[0].softplus() }
        check([[3, 4]], low: -5, high: 5) { $0[0].softplus(beta: 2, threshold: 3) }
        check([[3, 6]]) { $0[0].variance(axis: 1) }
        check([[3, 6]]) { $0[0].variance(axis: 0, unbiased: false, keepDims: true) }
        check([[2, 3]]) { $0[0].variance() }
        check([[3, 4]]) { $0[0].norm() }
        check([[3, 4]]) { $0[0].norm(axis: 1) }
        check([[3, 4]]) { $0[0].norm(axis: 0, keepDims: true) }
    }

    @Test func absGradientIsZeroAtZero() {
        let g = gradient(Tensor([-2, 0, 3, -0.0])) { $0.abs() }
        #expect(g.scalars == [-1, 0, 1, 0])
    }

    @Test func maximumAndMinimumSplitTiesEqually() {
        let a = Variable(Tensor<Double>([1, 2, 3]), requiresGrad: true)
        let b = Variable(Tensor<Double>([1, 5, 0]), requiresGrad: true)
        let y = maximum(a, b)
        #expect(y.scalars == [1, 5, 3])
        y.backward(gradient: Tensor([4, 4, 4]))
        #expect(a.grad!.scalars == [2, 0, 4])
        #expect(b.grad!.scalars == [2, 4, 0])
        let c = Variable(Tensor<Double>([1, 2, 3]), requiresGrad: true)
        let d = Variable(Tensor<Double>(2), requiresGrad: true)
        let z = minimum(c, d)
        #expect(z.scalars == [1, 2, 2])
        z.sum().backward()
        #expect(c.grad!.scalars == [1, 0.5, 0])
        #expect(d.grad!.scalars == [1.5])   // summed over the broadcast: 0 + 0.5 + 1
    }

    @Test func maximumPropagatesNaN() {
        let y = maximum(Tensor<Double>([.nan, 1]), Tensor<Double>([1, .nan]))
        #expect(y.scalars.allSatisfy { $0.isNaN })
        #expect(minimum(Tensor<Double>([.nan]), Tensor<Double>([0])).scalar.isNaN)
    }

    @Test func minAlongAxisPicksTheFirstMinimum() {
        let x = Tensor<Double>(shape: [2, 3], scalars: [3, 1, 1, -2, 5, -2])
        #expect(x.min(axis: 1).scalars == [1, -2])
        #expect(x.argmin(axis: 1) == [1, 0])
        #expect(x.min(axis: 0, keepDims: true).shape == [1, 3])
        let g = gradient(x) { $0.min(axis: 1) }
        #expect(g.scalars == [0, 1, 0, 1, 0, 0])
    }

    @Test func logSumExpWithInfiniteEntries() {
        let x = Tensor<Double>(shape: [3, 3], scalars: [-.infinity, -.infinity, -.infinity,
                                                        0, -.infinity, 0,
                                                        1000, 1000, -.infinity])
        let y = x.logSumExp(axis: 1)
        #expect(y.scalars[0] == -.infinity)
        #expect(abs(y.scalars[1] - log(2)) < 1e-15)
        #expect(abs(y.scalars[2] - (1000 + log(2))) < 1e-12)
        // PyTorch's exp(x - result): finite rows give finite gradients with 0 at -inf entries; an
        // all -inf row gives NaN (-inf - -inf), as PyTorch does.
        let g = gradient(x) { $0.logSumExp(axis: 1) }
        #expect(zip(g.scalars[3...], [0.5, 0, 0.5, 0.5, 0.5, 0]).allSatisfy { abs($0 - $1) < 1e-12 })   // 1000 + log 2 rounds at 1e-13
        #expect(g.scalars[..<3].allSatisfy { $0.isNaN })
        #expect(Tensor<Double>([.infinity, 0]).logSumExp().scalar == .infinity)
    }

    @Test func cumsumRunsAlongTheAxis() {
        let x = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(x.cumsum(axis: 1).scalars == [1, 3, 6, 4, 9, 15])
        #expect(x.cumsum(axis: 0).scalars == [1, 2, 3, 5, 7, 9])
        #expect(x.cumsum(axis: -1, reverse: true).scalars == [6, 5, 3, 15, 11, 6])
        #expect(gradient(x) { $0.cumsum(axis: 1) }.scalars == [3, 2, 1, 3, 2, 1])
    }

    @Test func activationsAtKnownPoints() {
        let x = Tensor<Double>([-1, 0, 2])
        let exact = x.gelu().scalars
        #expect(abs(exact[0] - (-0.15865525393145707)) < 1e-12 && exact[1] == 0 && abs(exact[2] - 1.9544997361036416) < 1e-12)
        #expect(Tensor<Double>([-2, 3]).leakyRelu().scalars == [-0.02, 3])
        // softplus is linear above the threshold (beta x > 20) and log1p(exp(x)) below.
        let s = Tensor<Double>([30, 0, -30]).softplus().scalars
        #expect(s[0] == 30 && abs(s[1] - log(2)) < 1e-15 && abs(s[2] - exp(-30)) < 1e-25)
        #expect(gradient(Tensor([0])) { $0.leakyRelu(negativeSlope: 0.2) }.scalars == [0.2])
        #expect(gradient(Tensor([25])) { $0.softplus() }.scalars == [1])
        // Float agrees with Double.
        let f = Tensor<Float>([-1, 0.5, 2]).gelu(approximate: .tanh).scalars
        let d = Tensor<Double>([-1, 0.5, 2]).gelu(approximate: .tanh).scalars
        #expect(zip(f, d).allSatisfy { abs(Double($0) - $1) < 1e-6 })
    }

    @Test func varianceAndNorm() {
        let x = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 2, 4, 9])
        #expect(x.variance(axis: 1).scalars == [1, 13])
        #expect(x.variance(axis: 1, unbiased: false).scalars.enumerated().allSatisfy { abs($0.element - [2.0 / 3, 26.0 / 3][$0.offset]) < 1e-14 })
        #expect(x.variance(axis: 0, keepDims: true).shape == [1, 3])
        #expect(Tensor<Double>([5]).variance().scalar.isNaN)       // n - 1 = 0, as PyTorch
        #expect(Tensor<Double>([3, 4]).norm().scalar == 5)
        #expect(x.norm(axis: 1).shape == [2])
        // The norm's gradient at 0 is 0 (PyTorch's masked_fill), not NaN.
        #expect(gradient(Tensor(zeros: [2, 2])) { $0.norm() }.scalars == [0, 0, 0, 0])
        let g = gradient(Tensor(shape: [2, 2], scalars: [0, 0, 3, 4])) { $0.norm(axis: 1) }
        #expect(g.maxAbsoluteDifference(Tensor(shape: [2, 2], scalars: [0, 0, 0.6, 0.8])) < 1e-15)
    }

    @Test func tensorFormsMatchVariableForms() {
        let x = randomTensor([3, 4], seed: 7, low: -3, high: 3)
        let v = Variable(x)
        #expect(v.abs().data == x.abs())
        #expect(v.gelu().data == x.gelu())
        #expect(v.softplus(beta: 2).data == x.softplus(beta: 2))
        #expect(v.variance(axis: 1).data == x.variance(axis: 1))
        #expect(v.logSumExp(axis: 0).data == x.logSumExp(axis: 0))
        #expect(v.min(axis: 1).data == x.min(axis: 1))
        #expect(v.cumsum(axis: 1).data == x.cumsum(axis: 1))
        #expect(v.norm().data == x.norm())
    }

    @Test func noGradRecordsNothing() {
        let x = Variable(Tensor<Double>([1, -2]), requiresGrad: true)
        let y = withNoGrad { maximum(x.abs(), x).gelu().softplus().cumsum(axis: 0).logSumExp(axis: 0) }
        #expect(y.isLeaf && !y.requiresGrad)
    }
}
