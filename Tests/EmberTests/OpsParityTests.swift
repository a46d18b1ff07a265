import Testing
@testable import Ember

/// The ops fixture (Tests/EmberTests/Fixtures/pytorch/ops.safetensors, PyTorch 2.15, float64): for
/// op K, `K.input` (and `K.other`), `K.out`, the upstream gradient `K.gy` and `K.grad.input`
/// (`K.grad.other`); the metadata entry K gives PyTorch's call. Each is reproduced to 1e-9 relative,
/// by the Variable op (value and gradient) and by the Tensor op (value).
@Suite struct OpsParityTests {
    let file: SafeTensorsFile

    init() throws { file = try Fixtures.pytorch("ops") }

    func tensor(_ name: String) throws -> Tensor<Double> { try file.tensor(name, as: Double.self) }

    /// Checks op `key`: `variable` on `K.input` against `K.out`, its gradient for `K.gy` against
    /// `K.grad.input`, and `plain` (the Tensor form) against `K.out`.
    func unary(_ key: String, _ variable: (Variable<Double>) -> Variable<Double>,
               _ plain: (Tensor<Double>) -> Tensor<Double>, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let x = Variable(try tensor("\(key).input"), requiresGrad: true)
        let y = variable(x)
        #expect(worstRelativeError(y.data, try tensor("\(key).out")) < 1e-9, "\(key) out", sourceLocation: sourceLocation)
        #expect(worstRelativeError(plain(x.data), try tensor("\(key).out")) < 1e-9, "\(key) Tensor out", sourceLocation: sourceLocation)
        y.backward(gradient: try tensor("\(key).gy"))
        #expect(worstRelativeError(x.grad!, try tensor("\(key).grad.input")) < 1e-9, "\(key) grad", sourceLocation: sourceLocation)
    }

    @Test func metadataNamesTheCalls() {
        #expect(file.metadata["logsumexp"] == "x.logsumexp(dim=1)")
        #expect(file.metadata["var"] == "x.var(dim=1) (unbiased)")
        #expect(file.metadata["leaky_relu"] == "F.leaky_relu(x, 0.1)")
    }

    @Test func elementwise() throws {
        try unary("abs", { $0.abs() }, { $0.abs() })
        try unary("gelu", { $0.gelu() }, { $0.gelu() })
        try unary("gelu_tanh", { $0.gelu(approximate: .tanh) }, { $0.gelu(approximate: .tanh) })
        try unary("leaky_relu", { $0.leakyRelu(negativeSlope: 0.1) }, { $0.leakyRelu(negativeSlope: 0.1) })
        try unary("softplus", { $0.softplus() }, { $0.softplus() })
    }

    @Test func reductions() throws {
        try unary("min_axis", { $0.min(axis: 1) }, { $0.min(axis: 1) })
        try unary("logsumexp", { $0.logSumExp(axis: 1) }, { $0.logSumExp(axis: 1) })
        try unary("logsumexp_keepdim", { $0.logSumExp(axis: 0, keepDims: true) }, { $0.logSumExp(axis: 0, keepDims: true) })
        try unary("cumsum", { $0.cumsum(axis: 1) }, { $0.cumsum(axis: 1) })
        try unary("var", { $0.variance(axis: 1) }, { $0.variance(axis: 1) })
        try unary("norm", { $0.norm() }, { $0.norm() })
    }

    @Test func slicing() throws {
        try unary("slice_last", { $0[.., -1] }, { $0[.., -1] })
        try unary("slice_range", { $0[1..<3, .stride(2)] }, { $0[1..<3, .stride(2)] })
    }

    func binary(_ key: String, _ f: (Variable<Double>, Variable<Double>) -> Variable<Double>,
                _ plain: (Tensor<Double>, Tensor<Double>) -> Tensor<Double>) throws {
        let a = Variable(try tensor("\(key).input"), requiresGrad: true)
        let b = Variable(try tensor("\(key).other"), requiresGrad: true)
        let y = f(a, b)
        #expect(worstRelativeError(y.data, try tensor("\(key).out")) < 1e-9, "\(key) out")
        #expect(worstRelativeError(plain(a.data, b.data), try tensor("\(key).out")) < 1e-9, "\(key) Tensor out")
        y.backward(gradient: try tensor("\(key).gy"))
        #expect(worstRelativeError(a.grad!, try tensor("\(key).grad.input")) < 1e-9, "\(key) grad input")
        #expect(worstRelativeError(b.grad!, try tensor("\(key).grad.other")) < 1e-9, "\(key) grad other")
    }

    @Test func maximumAndMinimum() throws {
        try binary("maximum", { maximum($0, $1) }, { maximum($0, $1) })
        try binary("minimum", { minimum($0, $1) }, { minimum($0, $1) })
    }
}
