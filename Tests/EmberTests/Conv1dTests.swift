import Foundation
import Testing
@testable import Ember

/// Conv1d: PyTorch's values (`conv1d` fixture), a direct loop as an independent reference over
/// stride/padding/dilation combinations, gradcheck of the im2col/col2im backward, shapes.
@Suite struct Conv1dTests {
    /// out[n, o, t] = b[o] + Σ w[o, c, j] x[n, c, t·s + j·d - p], written as the definition.
    func direct(_ x: Tensor<Double>, _ w: Tensor<Double>, _ b: Tensor<Double>?, s: Int, p: Int, d: Int) -> Tensor<Double> {
        let (n, c, l) = (x.shape[0], x.shape[1], x.shape[2]), (o, k) = (w.shape[0], w.shape[2])
        let lOut = (l + 2 * p - d * (k - 1) - 1) / s + 1
        var y = Tensor<Double>(zeros: [n, o, lOut])
        for i in 0..<n { for f in 0..<o { for t in 0..<lOut {
            var total = b?[f] ?? 0
            for ch in 0..<c { for j in 0..<k {
                let pos = t * s + j * d - p
                if pos >= 0 && pos < l { total += w[f, ch, j] * x[i, ch, pos] }
            } }
            y[i, f, t] = total
        } } }
        return y
    }

    @Test func matchesPyTorch() throws {
        let f = try Fixtures.pytorch("conv1d")
        let m = f.metadata
        #expect(m["stride"] == "1" && m["padding"] == "1" && m["dilation"] == "1" && m["kernel_size"] == "3")
        let conv = Conv1d<Double>(inChannels: 3, outChannels: 5, kernelSize: 3, stride: 1, padding: 1, dilation: 1, bias: true)
        try conv.loadStateDict(["weight": f.tensor("param.weight"), "bias": f.tensor("param.bias")])
        let x = Variable(try f.tensor("input", as: Double.self), requiresGrad: true)
        let y = conv(x)
        #expect(worstRelativeError(y.data, try f.tensor("out")) < 1e-9)
        y.backward(gradient: try f.tensor("gy"))
        #expect(worstRelativeError(x.grad!, try f.tensor("grad.input")) < 1e-9)
        #expect(worstRelativeError(conv.weight.grad!, try f.tensor("grad.weight")) < 1e-9)
        #expect(worstRelativeError(conv.bias!.grad!, try f.tensor("grad.bias")) < 1e-9)
    }

    @Test(arguments: [(1, 0, 1), (2, 1, 1), (3, 2, 2), (1, 3, 3), (2, 0, 2)])
    func agreesWithTheDefinition(_ config: (Int, Int, Int)) {
        let (s, p, d) = config
        let x = randomTensor([2, 3, 11], seed: 21), w = randomTensor([4, 3, 3], seed: 22), b = randomTensor([4], seed: 23)
        let y = conv1d(Variable(x), weight: Variable(w), bias: Variable(b), stride: s, padding: p, dilation: d)
        let reference = direct(x, w, b, s: s, p: p, d: d)
        #expect(y.shape == reference.shape)
        #expect(maxDifference(y.scalars, reference.scalars) < 1e-12)
    }

    @Test(arguments: [(1, 0, 1), (2, 1, 1), (3, 2, 2), (1, 2, 3), (2, 3, 1)])
    func gradcheckStridePaddingDilation(_ config: (Int, Int, Int)) {
        let (s, p, d) = config
        let inputs = [randomTensor([2, 2, 7], seed: 31), randomTensor([3, 2, 3], seed: 32), randomTensor([3], seed: 33)]
        let result = gradcheck(inputs: inputs) { v in
            conv1d(v[0], weight: v[1], bias: v[2], stride: s, padding: p, dilation: d)
        }
        #expect(result.passed, "stride \(s) padding \(p) dilation \(d): \(result)")
        let noBias = gradcheck(inputs: Array(inputs.prefix(2))) { v in
            conv1d(v[0], weight: v[1], stride: s, padding: p, dilation: d)
        }
        #expect(noBias.passed, "\(noBias)")
    }

    @Test func unbatchedInputAsPyTorch() {
        let x = randomTensor([3, 9], seed: 41), w = randomTensor([2, 3, 4], seed: 42)
        let y = conv1d(Variable(x), weight: Variable(w), stride: 2, padding: 1)
        let batched = conv1d(Variable(x.reshaped(to: [1, 3, 9])), weight: Variable(w), stride: 2, padding: 1)
        #expect(y.shape == [2, 4])
        #expect(y.data == batched.data.reshaped(to: [2, 4]))
        let result = gradcheck(inputs: [x, w]) { v in conv1d(v[0], weight: v[1], stride: 2, padding: 1) }
        #expect(result.passed, "\(result)")
    }

    @Test func moduleShapesParametersAndInitialisation() {
        let conv = Conv1d<Float>(inChannels: 4, outChannels: 6, kernelSize: 5, stride: 2, padding: 2, dilation: 1)
        #expect(conv.namedParameters().map(\.name) == ["weight", "bias"])
        #expect(conv.weight.shape == [6, 4, 5] && conv.bias!.shape == [6])
        #expect((conv.inChannels, conv.outChannels, conv.kernelSize) == (4, 6, 5))
        // PyTorch's bound 1/sqrt(fanIn), fanIn = inChannels · kernelSize.
        let bound = Float(1 / 20.0.squareRoot())
        #expect(conv.weight.scalars.allSatisfy { abs($0) <= bound } && conv.bias!.scalars.allSatisfy { abs($0) <= bound })
        #expect(conv(Variable(Tensor(zeros: [3, 4, 16]))).shape == [3, 6, 8])
        #expect(Conv1d<Float>(inChannels: 1, outChannels: 1, kernelSize: 1, bias: false).parameters().count == 1)
    }

    /// PyTorch's draws: after the same seed, Conv1d's weight and bias are the values
    /// `torch.manual_seed(0); nn.Conv1d(3, 2, 3)` gives (printed by PyTorch 2.15, 4 decimals).
    @Test func initialisationDrawsArePyTorchs() throws {
        var g = TorchGenerator(seed: 0)
        let (w, bias) = Conv1d<Float>.initialParameters(inChannels: 3, outChannels: 2, kernelSize: 3, bias: true, generator: &g)
        let b = try #require(bias)
        let torchW: [Float] = [-0.0025, 0.1788, -0.2743, -0.2453, -0.1284, 0.0894, -0.0066, 0.2643, -0.0296,
                               0.0882, -0.1007, -0.0655, -0.3184, -0.2208, -0.1374, 0.0123, 0.1318, 0.2000]
        #expect(maxDifference(w.scalars.map(Double.init), torchW.map(Double.init)) < 5.1e-5)
        #expect(maxDifference(b.scalars.map(Double.init), [-0.2260, -0.1452]) < 5.1e-5)
    }
}
