import Testing
@testable import Ember

/// Backward rules at points where a factor is 0 and another infinite, against PyTorch's rules
/// (tools/autograd/derivatives.yaml, torch/csrc/autograd/FunctionsManual.cpp).
@Suite struct ZeroExponentTests {
    func gradient<S: TensorScalar>(_ values: [S], seed: [S]? = nil, _ f: (Variable<S>) -> Variable<S>) -> [S] {
        let x = Variable(Tensor<S>(values), requiresGrad: true)
        let y = f(x)
        if let seed { y.backward(gradient: Tensor(seed)) } else { y.sum().backward() }
        return x.grad!.scalars
    }

    /// pow_backward: `exponent == 0 ? zeros_like(self) : grad * exponent * self.pow(exponent - 1)`.
    /// x⁰ summed over [0, 2] gave [NaN, 0] (0 · 0⁻¹ = 0 · inf); PyTorch gives [0, 0].
    @Test func derivativeOfTheZerothPowerIsZero() {
        #expect(gradient([0.0, 2]) { $0.pow(0) } == [0, 0])
        #expect(gradient([Float(0), 2]) { $0.pow(0) } == [0, 0])
        // zeros_like(self) whatever the point and whatever the incoming gradient.
        #expect(gradient([0.0, .infinity, -.infinity, .nan, -3], seed: [.nan, .infinity, 1, 1, -.infinity]) { $0.pow(0) } == [0, 0, 0, 0, 0])
        // The forward value is 1 everywhere, NaN included (torch.pow(nan, 0) = 1).
        #expect(Variable(Tensor<Double>([0, .nan, .infinity])).pow(0).data.scalars == [1, 1, 1])
    }

    /// The other exponents at 0 were already PyTorch's: 0.5 → inf, 1 → 1, 2 → 0, 3 → 0, -1 → -inf.
    @Test func otherExponentsAtZero() {
        for (exponent, expected) in [(0.5, Double.infinity), (1, 1), (2, 0), (3, 0), (-1, -.infinity)] {
            #expect(gradient([0.0]) { $0.pow(exponent) } == [expected], "exponent \(exponent)")
            #expect(gradient([Float(0)]) { $0.pow(Float(exponent)) } == [Float(expected)], "exponent \(exponent)")
        }
    }

    /// The sibling rules already agree with PyTorch at their singular points, including 0 · inf = NaN
    /// where PyTorch's formula forms the same product: sqrt (grad / (2 * result)), log (grad / self),
    /// c / x (reciprocal's -grad * result²), exp (grad * result), tanh (grad * (1 - y²)).
    @Test func siblingRulesMatchPyTorchAtSingularPoints() {
        #expect(gradient([0.0]) { $0.sqrt() } == [.infinity])
        #expect(gradient([0.0], seed: [0]) { $0.sqrt() }[0].isNaN)
        #expect(gradient([0.0]) { $0.log() } == [.infinity])
        #expect(gradient([0.0]) { 1 / $0 } == [-.infinity])
        #expect(gradient([1000.0], seed: [0]) { $0.exp() }[0].isNaN)
        #expect(gradient([30.0]) { $0.tanh() } == [0])
        #expect(gradient([40.0], seed: [.infinity]) { $0.tanh() }[0].isNaN)
    }
}
