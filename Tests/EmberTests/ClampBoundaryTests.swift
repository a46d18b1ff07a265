import Testing
@testable import Ember

/// `clamped(min:max:)`'s gradient at its bounds follows PyTorch 2.15 (the minimum-norm subgradient,
/// pytorch/pytorch#184572, #191142): a bound is not inside the range, so the gradient is 1 only where
/// `min < x < max`. Ember gave 1 at the bounds (the rule of pytorch/pytorch#7049).
@Suite struct ClampBoundaryTests {
    func gradient<S: TensorScalar>(_ values: [S], _ f: (Variable<S>) -> Variable<S>) -> [S] {
        let x = Variable(Tensor<S>(values), requiresGrad: true)
        f(x).sum().backward()
        return x.grad!.scalars
    }

    @Test func boundsGetNoGradient() {
        #expect(gradient([0.0, 0.5, 1]) { $0.clamped(min: 0, max: 1) } == [0, 1, 0])
        #expect(gradient([Float(0), 0.5, 1]) { $0.clamped(min: 0, max: 1) } == [0, 1, 0])
        #expect(gradient([-2.0, -1, 0, 1, 2]) { $0.clamped(min: -1, max: 1) } == [0, 0, 1, 0, 0])
    }

    /// min == max: no point is inside, so the gradient is 0 everywhere; the values are the bound.
    @Test func emptyRangeGivesNoGradient() {
        #expect(gradient([0.0, 1, 2, 3]) { $0.clamped(min: 1, max: 1) } == [0, 0, 0, 0])
        #expect(Variable(Tensor<Double>([0, 1, 2, 3])).clamped(min: 1, max: 1).data.scalars == [1, 1, 1, 1])
    }

    /// One bound (clamp_min / clamp_max): `self > min`, `self < max`. An omitted bound is no bound, so
    /// an infinite input inside the other bound still gets the gradient, as with PyTorch's None.
    @Test func oneBound() {
        #expect(gradient([-1.0, 0, 1, .infinity]) { $0.clamped(min: 0) } == [0, 0, 1, 1])
        #expect(gradient([-.infinity, -1.0, 0, 1]) { $0.clamped(max: 0) } == [1, 1, 0, 0])
        #expect(gradient([-Float.infinity, 0, .infinity]) { $0.clamped() } == [1, 1, 1])
    }

    /// relu's gradient at exactly 0 is 0 (threshold_backward), as it was.
    @Test func reluAtZero() {
        #expect(gradient([-1.0, 0, 1]) { $0.relu() } == [0, 0, 1])
        #expect(gradient([-Float(0), 0]) { $0.relu() } == [0, 0])
    }
}
