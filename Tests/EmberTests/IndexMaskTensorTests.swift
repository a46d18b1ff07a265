import Testing
import Ember

/// `Tensor<Int>` (indices, class targets) and `Tensor<Bool>` (masks): creation, shape operations,
/// subscripts, equality, comparisons of float tensors and variables, logical operations, conversions.
@Suite struct IndexMaskTensorTests {
    // MARK: Creation, subscripts, equality, description

    @Test func creatingIndexAndMaskTensors() {
        let idx = Tensor<Int>(shape: [2, 2], scalars: [0, 4, 2, 2])
        #expect(idx.shape == [2, 2] && idx.rank == 2 && idx.count == 4)
        #expect(idx.scalars == [0, 4, 2, 2])
        #expect(idx[0, 1] == 4 && idx[1, 0] == 2)
        let mask = Tensor<Bool>(shape: [2, 3], scalars: [true, false, true, false, false, true])
        #expect(mask[1, 2] && !mask[1, 1])
        #expect(Tensor<Int>([3, 0, 3]).shape == [3])
        #expect(Tensor<Int>(7).shape == [] && Tensor<Int>(7).scalar == 7)
        #expect(Tensor<Int>(zeros: [2, 2]).scalars == [0, 0, 0, 0])
        #expect(Tensor<Int>(ones: [3]).scalars == [1, 1, 1])
        #expect(Tensor<Int>(zerosLike: idx).shape == [2, 2])
        #expect(Tensor<Bool>(repeating: true, shape: [2]).scalars == [true, true])
        #expect(Tensor<Int>.arange(0, 5).scalars == [0, 1, 2, 3, 4])
        #expect(Tensor<Int>.arange(5, 0, step: -2).scalars == [5, 3, 1])
        #expect(Tensor<Int>.arange(3, 3).shape == [0])
    }

    @Test func subscriptsWriteAndCopyOnWrite() {
        let a = Tensor<Int>(shape: [2, 2], scalars: [1, 2, 3, 4])
        var b = a
        b[1, 1] = 40
        #expect(a.scalars == [1, 2, 3, 4] && b.scalars == [1, 2, 3, 40])
        var m = Tensor<Bool>(repeating: false, shape: [3])
        m[2] = true
        m.scalars = [true, true, false]
        #expect(m.scalars == [true, true, false])
    }

    @Test func equalityComparesShapesAndElements() {
        let a = Tensor<Int>(shape: [2, 2], scalars: [0, 4, 2, 2])
        #expect(a == Tensor<Int>(shape: [2, 2], scalars: [0, 4, 2, 2]))
        #expect(a != Tensor<Int>(shape: [4], scalars: [0, 4, 2, 2]))
        #expect(a != Tensor<Int>(shape: [2, 2], scalars: [0, 4, 2, 3]))
        let m = Tensor<Bool>([true, false])
        #expect(m == Tensor<Bool>([true, false]) && m != Tensor<Bool>([true, true]))
    }

    @Test func descriptionsNestLikeFloatTensors() {
        #expect(Tensor<Int>(shape: [2, 2], scalars: [0, 4, 2, 2]).description == "Tensor([[0, 4], [2, 2]])")
        #expect(Tensor<Bool>([true, false]).description == "Tensor([true, false])")
        #expect(Tensor<Int>(3).description == "Tensor(3)")
        #expect(Tensor<Float>([1, 2]).description == "Tensor([1.0, 2.0])")
    }

    // MARK: Shape operations: the same results as on Float tensors holding the same values

    /// `op` on a `Tensor<Int>`, a `Tensor<Bool>` (odd values true) and a `Tensor<Float>` holding the
    /// same values gives the same shapes and elements.
    func expectSameAsFloat(_ shape: [Int], _ name: String,
                           _ opInt: (Tensor<Int>) -> Tensor<Int>, _ opBool: (Tensor<Bool>) -> Tensor<Bool>,
                           _ opFloat: (Tensor<Float>) -> Tensor<Float>) {
        let n = shape.reduce(1, *)
        let ints = Tensor<Int>(shape: shape, scalars: (0..<n).map { $0 * 7 % 11 - 3 })
        let floats = Tensor<Float>(ints)
        let reference = opFloat(floats)
        let i = opInt(ints)
        #expect(i.shape == reference.shape, "\(name)")
        #expect(i.scalars.map(Float.init) == reference.scalars, "\(name)")
        let b = opBool(Tensor<Bool>(ints.scalars.map { $0 % 2 != 0 }).reshaped(to: shape))
        #expect(b.shape == reference.shape, "\(name)")
        #expect(b.scalars == reference.scalars.map { Int($0) % 2 != 0 }, "\(name)")
    }

    @Test func layoutOperationsMatchFloatTensors() {
        expectSameAsFloat([2, 3, 4], "reshaped", { $0.reshaped(to: [4, -1]) }, { $0.reshaped(to: [4, -1]) },
                          { $0.reshaped(to: [4, -1]) })
        expectSameAsFloat([2, 3, 4], "transposed", { $0.transposed(0, 2) }, { $0.transposed(0, 2) },
                          { $0.transposed(0, 2) })
        // [1, 0, 2] has its own copy loop per element size; [2, 0, 1] goes through the general walk.
        expectSameAsFloat([2, 3, 4], "permuted102", { $0.permuted([1, 0, 2]) }, { $0.permuted([1, 0, 2]) },
                          { $0.permuted([1, 0, 2]) })
        expectSameAsFloat([2, 3, 4], "permuted201", { $0.permuted([2, 0, 1]) }, { $0.permuted([2, 0, 1]) },
                          { $0.permuted([2, 0, 1]) })
        expectSameAsFloat([2, 3, 4], "select", { $0.select(axis: 1, index: -1) }, { $0.select(axis: 1, index: -1) },
                          { $0.select(axis: 1, index: -1) })
        expectSameAsFloat([2, 3, 4], "narrow", { $0.narrow(axis: 2, start: 1, length: 2) },
                          { $0.narrow(axis: 2, start: 1, length: 2) }, { $0.narrow(axis: 2, start: 1, length: 2) })
        expectSameAsFloat([2, 3], "expandingShape", { $0.expandingShape(at: -1) }, { $0.expandingShape(at: -1) },
                          { $0.expandingShape(at: -1) })
        expectSameAsFloat([2, 1, 3], "squeezingShape", { $0.squeezingShape(at: 1) }, { $0.squeezingShape(at: 1) },
                          { $0.squeezingShape(at: 1) })
        expectSameAsFloat([2, 1, 3], "expanded", { $0.expanded(to: [4, 2, 5, 3]) }, { $0.expanded(to: [4, 2, 5, 3]) },
                          { $0.expanded(to: [4, 2, 5, 3]) })
        expectSameAsFloat([2, 3], "concat", { concat([$0, $0.narrow(axis: 1, start: 1, length: 1)], axis: 1) },
                          { concat([$0, $0.narrow(axis: 1, start: 1, length: 1)], axis: 1) },
                          { concat([$0, $0.narrow(axis: 1, start: 1, length: 1)], axis: 1) })
        expectSameAsFloat([2, 3], "stack", { stack([$0, $0.transposed(0, 1).transposed(0, 1)], axis: 1) },
                          { stack([$0, $0], axis: 1) }, { stack([$0, $0], axis: 1) })
        expectSameAsFloat([2, 3], "unstacked", { $0.unstacked(axis: 1)[2] }, { $0.unstacked(axis: 1)[2] },
                          { $0.unstacked(axis: 1)[2] })
    }

    @Test func expandedCopiesForIndicesAndAddsToZerosForFloats() {
        let m = Tensor<Bool>(shape: [2, 1], scalars: [true, false]).expanded(to: [2, 3])
        #expect(m.scalars == [true, true, true, false, false, false])
        let i = Tensor<Int>([5, -6]).expanded(to: [2, 2])
        #expect(i.scalars == [5, -6, 5, -6])
        // Float's expanded(to:) is zeros + x, as before index tensors existed: -0 becomes +0.
        let f = Tensor<Float>([-0.0]).expanded(to: [2])
        #expect(f.scalars.allSatisfy { $0 == 0 && $0.sign == .plus })
    }

    // MARK: Comparisons

    @Test func comparingFloatTensorsWithScalars() {
        let x = Tensor<Float>(shape: [2, 3], scalars: [-1, 0, 2, .nan, 3, -0.5])
        #expect((x .> 0).scalars == [false, false, true, false, true, false])
        #expect((x .>= 0).scalars == [false, true, true, false, true, false])
        #expect((x .< 0).scalars == [true, false, false, false, false, true])
        #expect((x .<= 0).scalars == [true, true, false, false, false, true])
        #expect((x .== 2).scalars == [false, false, true, false, false, false])
        #expect((x .!= 2).scalars == [true, true, false, true, true, true])   // NaN differs from everything
        #expect((0 .< x) == (x .> 0))
        #expect((0 .<= x) == (x .>= 0))
        #expect((0 .> x) == (x .< 0))
        #expect((0 .>= x) == (x .<= 0))
        #expect((2 .== x) == (x .== 2) && (2 .!= x) == (x .!= 2))
        #expect((x .> 0).shape == [2, 3])
    }

    @Test func comparingTensorsBroadcasts() {
        let a = Tensor<Double>(shape: [2, 3], scalars: [1, 5, 3, 4, 2, 6])
        let row = Tensor<Double>([2, 2, 6])
        #expect((a .> row).scalars == [false, true, false, true, false, false])
        #expect((a .<= row).scalars == [true, false, true, false, true, true])
        let column = Tensor<Double>(shape: [2, 1], scalars: [3, 4])
        #expect((a .== column).scalars == [false, false, true, true, false, false])
        #expect((a .!= column).scalars == [true, true, false, false, true, true])
        #expect((a .< column).scalars == [true, false, false, false, true, false])
        #expect((a .>= column).scalars == [false, true, true, true, false, true])
        // [3, 1] against [2]: both broadcast to [3, 2].
        let outer = Tensor<Float>(shape: [3, 1], scalars: [0, 1, 2]) .< Tensor<Float>([1, 2])
        #expect(outer.shape == [3, 2] && outer.scalars == [true, true, false, true, false, false])
        #expect((Tensor<Float>(zeros: [0, 3]) .> Tensor<Float>(zeros: [3])).shape == [0, 3])
        #expect((Tensor<Float>(1) .> Tensor<Float>(0)).scalars == [true])
    }

    @Test func comparingIndexTensors() {
        let predicted = Tensor<Int>([2, 0, 1, 1]), target = Tensor<Int>([2, 1, 1, 0])
        #expect((predicted .== target).scalars == [true, false, true, false])
        #expect((predicted .> 0).scalars == [true, false, true, true])
        #expect((Tensor<Bool>([true, false]) .== Tensor<Bool>([true, true])).scalars == [true, false])
    }

    @Test func comparingVariables() {
        let x = Variable(Tensor<Float>(shape: [2, 2], scalars: [-1, 2, 0, 3]), requiresGrad: true)
        let y = Variable(Tensor<Float>([0, 2]))
        #expect((x.data .> 0) == Tensor<Bool>(shape: [2, 2], scalars: [false, true, false, true]))
        #expect((x .> 0) == (x.data .> 0))
        #expect((x .>= y).scalars == [false, true, true, true])
        #expect((x .< y).scalars == [true, false, false, false])
        #expect((x .<= y) == (x.data .<= y.data) && (x .> y) == (x.data .> y.data))
        #expect((x .== y) == (x.data .== y.data) && (x .!= y) == (x.data .!= y.data))
        #expect((x .< 0) == (x.data .< 0) && (x .<= 0) == (x.data .<= 0) && (x .>= 0) == (x.data .>= 0))
        #expect((x .== 2) == (x.data .== 2) && (x .!= 2) == (x.data .!= 2))
        #expect((1 .< x) == (1 .< x.data) && (1 .<= x) == (1 .<= x.data) && (1 .> x) == (1 .> x.data))
        #expect((1 .>= x) == (1 .>= x.data) && (2 .== x) == (2 .== x.data) && (2 .!= x) == (2 .!= x.data))
    }

    // MARK: Logical operations

    @Test func combiningMasks() {
        let a = Tensor<Bool>(shape: [2, 2], scalars: [true, true, false, false])
        let b = Tensor<Bool>([true, false])
        #expect((a .& b).scalars == [true, false, false, false])
        #expect((a .| b).scalars == [true, true, true, false])
        #expect((a .^ b).scalars == [false, true, true, false])
        #expect((.!a).scalars == [false, false, true, true])
        let x = Tensor<Float>([-2, -0.5, 0.5, 2])
        #expect(((x .> -1) .& (x .< 1)).scalars == [false, true, true, false])
        #expect(a.any() && !a.all() && a.nonzeroCount() == 2)
        #expect(!Tensor<Bool>(repeating: false, shape: [3]).any() && Tensor<Bool>(repeating: true, shape: [0]).all())
    }

    // MARK: Conversions

    @Test func convertingMasksAndIndices() {
        let mask = Tensor<Bool>(shape: [2, 2], scalars: [true, false, false, true])
        #expect(Tensor<Float>(mask) == Tensor<Float>(shape: [2, 2], scalars: [1, 0, 0, 1]))
        #expect(Tensor<Double>(mask).sum().scalar == 2)
        #expect(Tensor<Int>(mask).scalars == [1, 0, 0, 1])
        let idx = Tensor<Int>(shape: [3], scalars: [-3, 0, 1 << 40])
        #expect(Tensor<Double>(idx).scalars == [-3, 0, 1_099_511_627_776])
        #expect(Tensor<Bool>(idx).scalars == [true, false, true])
        let x = Tensor<Double>([-1.7, -0.2, 0, 2.9, .nan])
        #expect(Tensor<Bool>(x).scalars == [true, true, false, true, true])
        #expect(Tensor<Int>(x.narrow(axis: 0, start: 0, length: 4)).scalars == [-1, 0, 0, 2])
    }

    @Test func argmaxAsIndexTensor() {
        let x = Tensor<Float>(shape: [2, 3], scalars: [1, 5, 5, 7, 0, 2])
        #expect(x.argmax(axis: 1, keepDims: false) == Tensor<Int>([1, 0]))
        #expect(x.argmax(axis: -1, keepDims: true) == Tensor<Int>(shape: [2, 1], scalars: [1, 0]))
        #expect(x.argmax(axis: 0, keepDims: false).scalars == x.argmax(axis: 0))
        let v = Variable(x)
        #expect(v.argmax(axis: 1, keepDims: false).scalars == v.argmax(axis: 1))
        // Accuracy, as a PyTorch user writes it: (logits.argmax(1) == target).float().mean().
        let correct = v.argmax(axis: 1, keepDims: false) .== Tensor<Int>([1, 2])
        #expect(Tensor<Float>(correct).mean().scalar == 0.5)
    }

    // MARK: Errors

    func stderr(of result: ExitTest.Result?) -> String {
        String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    }

    @Test func comparingShapesThatDoNotBroadcastStops() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Float>(zeros: [2, 3]) .> Tensor<Float>(zeros: [4])
        }
        #expect(stderr(of: result).contains(".>: shapes [2, 3] and [4] cannot be broadcast together"))
    }

    @Test func convertingNaNToIntStops() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Int>(Tensor<Float>([1, .nan]))
        }
        #expect(stderr(of: result).contains("Tensor<Int>(_:): cannot convert nan to Int (shape [2])"))
    }

    @Test func badIndexTensorShapeStops() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Int>(shape: [2, 2], scalars: [1, 2, 3])
        }
        #expect(stderr(of: result).contains("Tensor(shape:scalars:): expected 4 scalars for shape [2, 2], got 3"))
    }
}
