import Testing
@testable import Ember

/// GELU, LeakyReLU, Softmax, LogSoftmax, Identity and Flatten as modules: each equals its op, has no
/// parameters, and composes in Sequential.
@Suite struct ActivationModuleTests {
    let x = Variable(randomTensor([2, 3, 4], seed: 5, low: -3, high: 3))

    @Test func modulesApplyTheirOps() {
        #expect(GELU<Double>()(x).data == x.data.gelu())
        #expect(GELU<Double>(approximate: .tanh)(x).data == x.data.gelu(approximate: .tanh))
        #expect(LeakyReLU<Double>()(x).data == x.data.leakyRelu(negativeSlope: 0.01))
        #expect(LeakyReLU<Double>(negativeSlope: 0.2)(x).data == x.data.leakyRelu(negativeSlope: 0.2))
        #expect(Softmax<Double>()(x).data == x.data.softmax(axis: -1))
        #expect(Softmax<Double>(axis: 1)(x).data == x.data.softmax(axis: 1))
        #expect(LogSoftmax<Double>(axis: -1)(x).data == x.data.logSoftmax(axis: 2))
        #expect(Identity<Double>()(x) === x)
        #expect(Flatten<Double>()(x).shape == [2, 12])
        #expect(Flatten<Double>(startAxis: 0, endAxis: 1)(x).shape == [6, 4])
        #expect(Flatten<Double>()(x).data.scalars == x.data.scalars)
        #expect(x.data.flattened().shape == [24] && Tensor<Double>(3).flattened().shape == [1])
        #expect(GELU<Float>().parameters().isEmpty && Flatten<Float>().parameters().isEmpty)
    }

    @Test func composeInSequential() {
        let fc = Linear<Double>(inFeatures: 12, outFeatures: 5)
        let model = Sequential<Double>(Flatten(), fc, GELU(), Identity(), LeakyReLU(negativeSlope: 0.1), LogSoftmax(axis: 1))
        let y = model(x)
        #expect(y.shape == [2, 5])
        let manual = fc(x.flattened(startAxis: 1)).gelu().leakyRelu(negativeSlope: 0.1).logSoftmax(axis: 1)
        #expect(y.data == manual.data)
        #expect(model.namedParameters().map(\.name) == ["1.weight", "1.bias"])
        let probabilities = Sequential<Double>(Softmax(axis: -1))(x).data.sum(axis: -1)
        #expect(probabilities.scalars.allSatisfy { abs($0 - 1) < 1e-12 })
    }

    @Test func printedAsPyTorch() {
        let model = Sequential<Float>(Flatten(), GELU(), GELU(approximate: .tanh), LeakyReLU(), LeakyReLU(negativeSlope: 0.2),
                                      Softmax(axis: 1), LogSoftmax(), Identity())
        // print(nn.Sequential(nn.Flatten(), nn.GELU(), nn.GELU(approximate='tanh'), nn.LeakyReLU(),
        //     nn.LeakyReLU(0.2), nn.Softmax(dim=1), nn.LogSoftmax(dim=-1), nn.Identity()))
        #expect(model.description == """
            Sequential(
              (0): Flatten(start_dim=1, end_dim=-1)
              (1): GELU(approximate='none')
              (2): GELU(approximate='tanh')
              (3): LeakyReLU(negative_slope=0.01)
              (4): LeakyReLU(negative_slope=0.2)
              (5): Softmax(dim=1)
              (6): LogSoftmax(dim=-1)
              (7): Identity()
            )
            """)
    }

    @Test func gradientsFlowThroughModules() {
        let model = Sequential<Double>(Flatten(startAxis: 1), GELU(approximate: .tanh), LeakyReLU(), Softmax(axis: 1))
        let result = gradcheck(inputs: [randomTensor([2, 2, 3], seed: 8)]) { v in
            (model(v[0]) * Variable(randomTensor([2, 6], seed: 9))).sum()
        }
        #expect(result.passed, "\(result)")
    }

    @Test func badFlattenAxesNameTheShape() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Flatten<Float>(startAxis: 2, endAxis: 1)(Variable(Tensor(zeros: [2, 3, 4])))
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("flattened: startAxis 2 must not come after endAxis 1 (shape [2, 3, 4])"))
    }
}
