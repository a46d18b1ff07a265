import Testing
import Ember

/// gather, indexSelect, select(where:) (torch.where) and maskedFill: values, gradients against finite
/// differences, PyTorch 2.15's numbers (`ops.safetensors`), and the stop messages.
@Suite struct IndexOpsTests {
    /// An int64 entry of a fixture as a `Tensor<Int>` of its stored shape.
    func integers(_ file: SafeTensorsFile, _ name: String) throws -> Tensor<Int> {
        Tensor<Int>(shape: try #require(file.entries[name]).shape, scalars: try file.integers(name))
    }

    // MARK: PyTorch parity

    @Test func gatherMatchesPyTorch() throws {
        let f = try Fixtures.pytorch("ops")
        #expect(f.metadata["gather"] == "x.gather(1, index)")
        let x = Variable(try f.tensor("gather.input", as: Double.self), requiresGrad: true)
        let y = x.gather(axis: 1, indices: try integers(f, "gather.other"))
        #expect(worstRelativeError(y.data, try f.tensor("gather.out")) < 1e-9)
        y.backward(gradient: try f.tensor("gather.gy"))
        #expect(worstRelativeError(x.grad!, try f.tensor("gather.grad.input")) < 1e-9)
    }

    @Test func indexSelectMatchesPyTorch() throws {
        let f = try Fixtures.pytorch("ops")
        #expect(f.metadata["index_select"] == "x.index_select(0, index)")
        let x = Variable(try f.tensor("index_select.input", as: Double.self), requiresGrad: true)
        let y = x.indexSelect(axis: 0, indices: try integers(f, "index_select.other"))
        #expect(worstRelativeError(y.data, try f.tensor("index_select.out")) < 1e-9)
        y.backward(gradient: try f.tensor("index_select.gy"))
        #expect(worstRelativeError(x.grad!, try f.tensor("index_select.grad.input")) < 1e-9)
    }

    @Test func whereMatchesPyTorch() throws {
        let f = try Fixtures.pytorch("ops")
        #expect(f.metadata["where"] == "torch.where(mask.bool(), x, other)")
        let mask = Tensor<Bool>(try integers(f, "where.input"))
        let a = Variable(try f.tensor("where.other", as: Double.self), requiresGrad: true)
        let b = Variable(try f.tensor("where.third", as: Double.self), requiresGrad: true)
        let y = select(where: mask, a, b)
        #expect(worstRelativeError(y.data, try f.tensor("where.out")) < 1e-9)
        y.backward(gradient: try f.tensor("where.gy"))
        #expect(worstRelativeError(a.grad!, try f.tensor("where.grad.other")) < 1e-9)
        #expect(worstRelativeError(b.grad!, try f.tensor("where.grad.third")) < 1e-9)
    }

    @Test func maskedFillMatchesPyTorch() throws {
        let f = try Fixtures.pytorch("ops")
        #expect(f.metadata["masked_fill"]?.hasPrefix("x.masked_fill(mask.bool(), -1e9)") == true)
        let mask = Tensor<Bool>(try integers(f, "masked_fill.other"))
        #expect(mask.shape == [2, 1, 3])
        let x = Variable(try f.tensor("masked_fill.input", as: Double.self), requiresGrad: true)
        let y = x.maskedFill(mask, value: -1e9)
        #expect(worstRelativeError(y.data, try f.tensor("masked_fill.out")) < 1e-9)
        y.backward(gradient: try f.tensor("masked_fill.gy"))
        #expect(worstRelativeError(x.grad!, try f.tensor("masked_fill.grad.input")) < 1e-9)
    }

    // MARK: Values

    @Test func gatherAlongEachAxis() {
        let x = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let rows = x.gather(axis: 1, indices: Tensor<Int>(shape: [2, 2], scalars: [2, 0, 1, 1]))
        #expect(rows == Tensor<Float>(shape: [2, 2], scalars: [3, 1, 5, 5]))
        let columns = x.gather(axis: 0, indices: Tensor<Int>(shape: [1, 3], scalars: [1, 0, 1]))
        #expect(columns == Tensor<Float>(shape: [1, 3], scalars: [4, 2, 6]))
        // Index smaller than the input along a non-gathered axis, as PyTorch allows; negative axis.
        let y = x.gather(axis: -1, indices: Tensor<Int>(shape: [1, 1], scalars: [2]))
        #expect(y == Tensor<Float>(shape: [1, 1], scalars: [3]))
        // Picking each row's target, as cross-entropy does: x.gather(1, target.unsqueeze(1)).
        let picked = x.gather(axis: 1, indices: Tensor<Int>([2, 0]).expandingShape(at: 1))
        #expect(picked.scalars == [3, 4])
        // Index tensors gather too.
        let ids = Tensor<Int>(shape: [2, 2], scalars: [10, 11, 12, 13])
        #expect(ids.gather(axis: 1, indices: Tensor<Int>(shape: [2, 1], scalars: [1, 0])).scalars == [11, 12])
    }

    @Test func indexSelectAlongEachAxis() {
        let x = Tensor<Double>(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
        #expect(x.indexSelect(axis: 0, indices: Tensor<Int>([2, 0, 2])).scalars == [5, 6, 1, 2, 5, 6])
        #expect(x.indexSelect(axis: 1, indices: Tensor<Int>([1])) == Tensor<Double>(shape: [3, 1], scalars: [2, 4, 6]))
        #expect(x.indexSelect(axis: -2, indices: Tensor<Int>(1)).shape == [1, 2])
        #expect(x.indexSelect(axis: 0, indices: Tensor<Int>(shape: [0], scalars: [])).shape == [0, 2])
        let mask = Tensor<Bool>([true, false, true])
        #expect(mask.indexSelect(axis: 0, indices: Tensor<Int>([1, 2])).scalars == [false, true])
    }

    @Test func selectBroadcastsConditionAndBranches() {
        let condition = Tensor<Bool>(shape: [2, 1], scalars: [true, false])
        let a = Tensor<Float>([1, 2, 3]), b = Tensor<Float>(shape: [2, 3], scalars: [-1, -2, -3, -4, -5, -6])
        #expect(select(where: condition, a, b) == Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, -4, -5, -6]))
        #expect(select(where: condition, a, 0).scalars == [1, 2, 3, 0, 0, 0])
        #expect(select(where: condition, 9, b).scalars == [9, 9, 9, -4, -5, -6])
        let x = Tensor<Double>([-2, 3, -1])
        #expect(select(where: x .> 0, x, 0).scalars == [0, 3, 0])   // relu, as a PyTorch user writes it
        #expect(select(where: Tensor<Bool>([true, false]), Tensor<Int>([1, 2]), Tensor<Int>([7, 8])).scalars == [1, 8])
    }

    @Test func maskedFillBroadcastsTheMask() {
        let scores = Tensor<Float>(shape: [2, 2], scalars: [1, 2, 3, 4])
        let padding = Tensor<Bool>([false, true])
        let masked = scores.maskedFill(padding, value: -.infinity)
        #expect(masked.scalars == [1, -.infinity, 3, -.infinity])
        #expect(masked.softmax(axis: 1).scalars == [1, 0, 1, 0])
        #expect(Tensor<Int>([1, 2, 3]).maskedFill(Tensor<Bool>([true, false, true]), value: 0).scalars == [0, 2, 0])
    }

    // MARK: Gradients

    func check(_ shapes: [[Int]], _ f: @escaping ([Variable<Double>]) -> Variable<Double>,
               sourceLocation: SourceLocation = #_sourceLocation) {
        let inputs = shapes.enumerated().map { randomTensor($0.element, seed: UInt64(30 + $0.offset)) }
        let result = gradcheck(inputs: inputs, f)
        #expect(result.passed, "\(result)", sourceLocation: sourceLocation)
        #expect(result.entriesChecked > 0, sourceLocation: sourceLocation)
    }

    @Test func gradcheckGather() {
        // Repeated indices: the gradient adds up.
        let idx = Tensor<Int>(shape: [3, 2], scalars: [0, 4, 2, 2, 1, 0])
        check([[3, 5]]) { ($0[0].gather(axis: 1, indices: idx) * $0[0].gather(axis: 1, indices: idx)).sum() }
        let idx0 = Tensor<Int>(shape: [2, 2, 3], scalars: [1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1])
        check([[2, 3, 4]]) { $0[0].gather(axis: 0, indices: idx0).tanh().sum() }
    }

    @Test func gradcheckIndexSelect() {
        check([[4, 3]]) { $0[0].indexSelect(axis: 0, indices: Tensor<Int>([3, 0, 3])).squared().sum() }
        check([[2, 4, 3]]) { $0[0].indexSelect(axis: 1, indices: Tensor<Int>([1, 1, 2, 0, 3])).tanh().sum() }
    }

    @Test func gradcheckSelectWhere() {
        let condition = Tensor<Bool>(shape: [2, 3], scalars: [true, false, true, false, false, true])
        check([[2, 3], [2, 3]]) { (select(where: condition, $0[0], $0[1]) * $0[0]).sum() }
        // Both branches broadcast: gradients summed back to [3] and [2, 1].
        check([[3], [2, 1]]) { select(where: condition, $0[0], $0[1]).squared().sum() }
        check([[2, 3]]) { select(where: condition, $0[0], 0.5).tanh().sum() }
        check([[2, 1]]) { select(where: condition, -0.5, $0[0]).tanh().sum() }
    }

    @Test func gradcheckMaskedFill() {
        let mask = Tensor<Bool>(shape: [2, 1, 3], scalars: [false, true, true, false, false, true])
        check([[2, 4, 3]]) { $0[0].maskedFill(mask, value: -2).softmax(axis: -1).squared().sum() }
    }

    @Test func noGradientToTheOtherBranchOrUnselectedElements() {
        let a = Variable(Tensor<Double>([1, 2, 3]), requiresGrad: true)
        let b = Variable(Tensor<Double>([4, 5, 6]))
        let y = select(where: Tensor<Bool>([true, false, false]), a, b)
        y.sum().backward()
        #expect(a.grad!.scalars == [1, 0, 0] && b.grad == nil)
        let x = Variable(Tensor<Double>(shape: [2, 2], scalars: [1, 2, 3, 4]), requiresGrad: true)
        x.maskedFill(Tensor<Bool>([true, false]), value: 0).sum().backward()
        #expect(x.grad!.scalars == [0, 1, 0, 1])
        let z = withNoGrad { x.gather(axis: 0, indices: Tensor<Int>(shape: [1, 2], scalars: [1, 1])) }
        #expect(!z.requiresGrad && z.scalars == [3, 4])
    }

    // MARK: Errors

    func stderr(of result: ExitTest.Result?) -> String {
        String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    }

    @Test func gatherIndexOutOfRangeStops() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Float>(zeros: [2, 3]).gather(axis: 1, indices: Tensor<Int>(shape: [2, 1], scalars: [0, 3]))
        }
        #expect(stderr(of: result).contains("gather: index 3 is out of range for axis 1 of size 3 (shape [2, 3])"))
    }

    @Test func gatherIndexShapeStops() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Variable(Tensor<Float>(zeros: [2, 3])).gather(axis: 1, indices: Tensor<Int>(shape: [3, 1], scalars: [0, 0, 0]))
        }
        #expect(stderr(of: result).contains("gather: expected indices of rank 2 no larger than [2, 3] except along axis 1, got [3, 1]"))
    }

    @Test func indexSelectErrorsStop() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Float>(zeros: [2, 3]).indexSelect(axis: 0, indices: Tensor<Int>([0, -1]))
        }
        #expect(stderr(of: result).contains("indexSelect: index -1 is out of range for axis 0 of size 2 (shape [2, 3])"))
        let rank = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Float>(zeros: [2, 3]).indexSelect(axis: 0, indices: Tensor<Int>(zeros: [1, 1]))
        }
        #expect(stderr(of: rank).contains("indexSelect: expected indices of rank 1, got shape [1, 1]"))
    }

    @Test func maskThatDoesNotBroadcastToTheInputStops() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Variable(Tensor<Float>(zeros: [2, 3])).maskedFill(Tensor<Bool>(repeating: true, shape: [2, 2, 3]), value: 0)
        }
        #expect(stderr(of: result).contains("maskedFill: mask of shape [2, 2, 3] does not broadcast to [2, 3]"))
        let shapes = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = select(where: Tensor<Bool>(repeating: true, shape: [2]), Tensor<Float>(zeros: [3]), Tensor<Float>(zeros: [3]))
        }
        #expect(stderr(of: shapes).contains("select(where:): shapes [2] and [3] cannot be broadcast together"))
    }
}
