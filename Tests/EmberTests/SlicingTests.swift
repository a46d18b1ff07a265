import Testing
@testable import Ember

/// Subscript slicing on Tensor and Variable: indices (negative from the end), ranges of every kind,
/// `..`/`...`, strides; gradients; messages for out-of-range subscripts.
@Suite struct SlicingTests {
    func stderr(of result: ExitTest.Result?) -> String {
        String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    }

    /// [3, 4] with elements 0...11.
    let m = Tensor<Double>(shape: [3, 4], scalars: (0..<12).map(Double.init))

    @Test func indicesRemoveAxes() {
        #expect(m[.., -1] == Tensor([3, 7, 11]))
        #expect(m[..., 0] == Tensor([0, 4, 8]))
        #expect(m[1, ..] == Tensor([4, 5, 6, 7]))
        #expect(m[-1, ..] == Tensor([8, 9, 10, 11]))
    }

    @Test func rangesKeepAxes() {
        #expect(m[1..<3, ..].shape == [2, 4])
        #expect(m[1...2, 1..<2] == Tensor(shape: [2, 1], scalars: [5, 9]))
        #expect(m[.., 2...] == Tensor(shape: [3, 2], scalars: [2, 3, 6, 7, 10, 11]))
        #expect(m[..<1, ...1] == Tensor(shape: [1, 2], scalars: [0, 1]))
        #expect(m[(-2)..., (-3)...(-2)] == Tensor(shape: [2, 2], scalars: [5, 6, 9, 10]))
        #expect(m[1..<1, ..].shape == [0, 4])
    }

    @Test func stridesAndMissingTrailingAxes() {
        #expect(m[.., .stride(2)] == Tensor(shape: [3, 2], scalars: [0, 2, 4, 6, 8, 10]))
        #expect(m[.stride(2)] == Tensor(shape: [2, 4], scalars: [0, 1, 2, 3, 8, 9, 10, 11]))
        #expect(m[.all, .range(1..., step: 2)] == Tensor(shape: [3, 2], scalars: [1, 3, 5, 7, 9, 11]))
        #expect(m[.range(0...2, step: 3), .range(..<4, step: 3)] == Tensor(shape: [1, 2], scalars: [0, 3]))
        let row: Tensor<Double> = m[2]                // fewer positions: the rest are whole axes
        #expect(row == Tensor([8, 9, 10, 11]))
        #expect(m[1, 2] == 6.0)                       // all Int positions on a Tensor: one scalar
        #expect(m.sliced([AxisIndex.all, .stride(3)]).shape == [3, 2])
    }

    @Test func fourAxesAndDescriptions() {
        let t = Tensor<Double>(shape: [2, 3, 4, 5], scalars: (0..<120).map(Double.init))
        #expect(t[.., 1, .., -1].shape == [2, 4])
        #expect(t[1, .., 2..<4, ..].scalars.first == 70)
        #expect(t[.., .., .., ..] == t)
        #expect(AxisIndex.range(1..<6, step: 2).description == ".range(1..<6, step: 2)")
        #expect((-1).axisIndex.description == "-1" && AxisIndex.all.description == "..")
    }

    @Test func indexAndMaskTensorsSliceToo() {
        let ids = Tensor<Int>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(ids[.., -1] == Tensor<Int>(shape: [2], scalars: [3, 6]))
        let mask = Tensor<Bool>(shape: [2, 3], scalars: [true, false, true, false, false, true])
        #expect(mask[1, .stride(2)] == Tensor<Bool>(shape: [2], scalars: [false, true]))
    }

    @Test func variableSlicesAndGradients() {
        let x = Variable(m, requiresGrad: true)
        let y = x[1..<3, .stride(2)]
        #expect(y.data == Tensor(shape: [2, 2], scalars: [4, 6, 8, 10]))
        y.backward(gradient: Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))
        #expect(x.grad! == Tensor(shape: [3, 4], scalars: [0, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0]))
        // A value sliced twice gets both contributions.
        let z = Variable(m, requiresGrad: true)
        (z[.., -1].sum() + z[2, ..].sum()).backward()
        #expect(z.grad!.scalars == [0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 2])
    }

    @Test func gradchecks() {
        let inputs = [randomTensor([2, 5, 3], seed: 3)]
        for f: ([Variable<Double>]) -> Variable<Double> in [
            { $0[0][.., -1].tanh().sum() }, { ($0[0][1, 1...3, .stride(2)] * 3).squared().sum() },
            { $0[0][.., .range(0..., step: 2), 1...].sum(axis: 1) }, { $0[0][0] },
        ] {
            let result = gradcheck(inputs: inputs, f)
            #expect(result.passed, "\(result)")
        }
    }

    @Test func outOfRangeIndexNamesSubscriptAndShape() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Variable(Tensor<Float>(zeros: [2, 3]))[.., 3]
        }
        #expect(stderr(of: result).contains("subscript [.., 3] of shape [2, 3]: index 3 is out of range for axis 1 of size 3"))
    }

    @Test func outOfRangeRangeAndTooManyPositions() async {
        let range = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Float>(zeros: [2, 3])[0..<3, ..]
        }
        #expect(stderr(of: range).contains("subscript [0..<3, ..] of shape [2, 3]: range 0..<3 is out of range for axis 0 of size 2"))
        let rank = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Float>(zeros: [2])[.., 0]
        }
        #expect(stderr(of: rank).contains("subscript [.., 0] of shape [2]: 2 positions for a tensor of rank 1"))
    }
}
