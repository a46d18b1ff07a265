import Foundation
import Testing
@testable import Ember

/// LayerNorm: PyTorch's values (`layer_norm` fixture), the fused backward against finite
/// differences, the statistics it produces, initialisation and the shape checks' conditions.
@Suite struct LayerNormTests {
    @Test func matchesPyTorch() throws {
        let f = try Fixtures.pytorch("layer_norm")
        #expect(f.metadata["normalized_shape"] == "[6]" && f.metadata["eps"] == "1e-05")
        let norm = LayerNorm<Double>(normalizedShape: [6], eps: 1e-5, elementwiseAffine: true)
        try norm.loadStateDict(["weight": f.tensor("param.weight"), "bias": f.tensor("param.bias")])
        let x = Variable(try f.tensor("input", as: Double.self), requiresGrad: true)
        let y = norm(x)
        #expect(worstRelativeError(y.data, try f.tensor("out")) < 1e-9)
        y.backward(gradient: try f.tensor("gy"))
        #expect(worstRelativeError(x.grad!, try f.tensor("grad.input")) < 1e-9)
        #expect(worstRelativeError(norm.weight!.grad!, try f.tensor("grad.weight")) < 1e-9)
        #expect(worstRelativeError(norm.bias!.grad!, try f.tensor("grad.bias")) < 1e-9)
    }

    @Test func gradcheckWithAndWithoutAffine() {
        let x = randomTensor([2, 3, 4], seed: 3), w = randomTensor([3, 4], seed: 4), b = randomTensor([3, 4], seed: 5)
        let affine = gradcheck(inputs: [x, w, b]) { v in
            layerNorm(v[0], normalizedShape: [3, 4], weight: v[1], bias: v[2], eps: 1e-5)
        }
        #expect(affine.passed, "\(affine)")
        let plain = gradcheck(inputs: [x]) { v in layerNorm(v[0], normalizedShape: [4], eps: 0.1) }
        #expect(plain.passed, "\(plain)")
        let weightOnly = gradcheck(inputs: [randomTensor([5, 3], seed: 6), randomTensor([3], seed: 7)]) { v in
            layerNorm(v[0], normalizedShape: [3], weight: v[1])
        }
        #expect(weightOnly.passed, "\(weightOnly)")
    }

    @Test func normalisesEachRowWithTheBiasedVariance() {
        let norm = LayerNorm<Double>(normalizedShape: [4], eps: 0)
        let y = norm(Variable(Tensor(shape: [2, 4], scalars: [1, 2, 3, 4, -10, 0, 10, 20])))
        for row in y.data.unstacked(axis: 0) {
            let mean = row.scalars.reduce(0, +) / 4
            let variance = row.scalars.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
            #expect(abs(mean) < 1e-12)
            #expect(abs(variance - 1) < 1e-12)
        }
        // [1, 2, 3, 4]: mean 2.5, biased variance 1.25.
        #expect(abs(y.data[0, 0] - (-1.5 / 1.25.squareRoot())) < 1e-12)
    }

    @Test func initialisationAndParameterNames() {
        let norm = LayerNorm<Float>(normalizedShape: [2, 3])
        #expect(norm.namedParameters().map(\.name) == ["weight", "bias"])
        #expect(norm.weight!.data == Tensor(ones: [2, 3]))
        #expect(norm.bias!.data == Tensor(zeros: [2, 3]))
        #expect(norm.elementwiseAffine && norm.eps == 1e-5)
        #expect(LayerNorm<Float>(normalizedShape: [3], elementwiseAffine: false).parameters().isEmpty)
        #expect(LayerNorm<Float>(normalizedShape: [3], bias: false).namedParameters().map(\.name) == ["weight"])
    }

    @Test func float32AgreesWithDouble() {
        let x = randomTensor([4, 8], seed: 9)
        let yd = layerNorm(Variable(x), normalizedShape: [8]).data
        let yf = layerNorm(Variable(Tensor<Float>(shape: x.shape, scalars: x.scalars.map(Float.init))), normalizedShape: [8]).data
        #expect(maxDifference(yd.scalars, yf.scalars.map(Double.init)) < 1e-5)
    }
}
