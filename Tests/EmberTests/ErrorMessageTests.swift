import Testing
import Ember

/// Programmer errors stop with a message that names the operation and the shapes.
@Suite struct ErrorMessageTests {
    func stderr(of result: ExitTest.Result?) -> String {
        String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    }

    @Test func matmulShapeMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Float>(zeros: [2, 3]).matmul(Tensor<Float>(zeros: [4, 5]))
        }
        #expect(stderr(of: result).contains("matmul: expected [.., 3] x [3, ..], got [2, 3] x [4, 5]"))
    }

    @Test func variableMatmulShapeMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let a = Variable(Tensor<Double>(zeros: [2, 3, 4]), requiresGrad: true)
            _ = a.matmul(Variable(Tensor<Double>(zeros: [3, 5])))
        }
        #expect(stderr(of: result).contains("matmul: expected [.., 4] x [4, ..], got [2, 3, 4] x [3, 5]"))
    }

    @Test func broadcastMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Variable(Tensor<Float>(zeros: [2, 3])) + Variable(Tensor<Float>(zeros: [4]))
        }
        #expect(stderr(of: result).contains("add: shapes [2, 3] and [4] cannot be broadcast together"))
    }

    @Test func negativeMNISTLimit() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = try? MNIST(directory: Fixtures.mnist, train: false, limit: -1)
        }
        #expect(stderr(of: result).contains("MNIST(directory:train:limit:): limit must not be negative, got -1"))
    }

    @Test func badAxis() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Float>(zeros: [2, 3]).sum(axis: 2)
        }
        #expect(stderr(of: result).contains("sum: axis 2 is out of range for shape [2, 3]"))
    }

    @Test func badReshape() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Float>(zeros: [2, 3]).reshaped(to: [4, 2])
        }
        #expect(stderr(of: result).contains("reshaped: cannot reshape [2, 3] (6 scalars) to [4, 2]"))
    }

    @Test func badSelectIndex() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Float>(zeros: [2, 3]).select(axis: 1, index: 3)
        }
        #expect(stderr(of: result).contains("select: index 3 is out of range for axis 1 of size 3 (shape [2, 3])"))
    }

    @Test func nonScalarBackwardWithoutGradient() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Variable(Tensor<Float>(ones: [2]), requiresGrad: true)
            (x * 2).backward()
        }
        #expect(stderr(of: result).contains("backward: a gradient must be given for a variable of shape [2]"))
    }

    @Test func wrongScalarCount() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Float>(shape: [2, 2], scalars: [1, 2, 3])
        }
        #expect(stderr(of: result).contains("Tensor(shape:scalars:): expected 4 scalars for shape [2, 2], got 3"))
    }
}
