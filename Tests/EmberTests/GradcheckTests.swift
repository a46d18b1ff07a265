import Testing
@testable import Ember

/// Every differentiable operation against central finite differences, in Double.
@Suite struct GradcheckTests {
    func check(_ shapes: [[Int]], low: Double = -1, high: Double = 1, _ f: @escaping ([Variable<Double>]) -> Variable<Double>,
               sourceLocation: SourceLocation = #_sourceLocation) {
        let inputs = shapes.enumerated().map { randomTensor($0.element, seed: UInt64(10 + $0.offset), low: low, high: high) }
        let result = gradcheck(inputs: inputs, f)
        #expect(result.passed, "\(result)", sourceLocation: sourceLocation)
        #expect(result.entriesChecked > 0, sourceLocation: sourceLocation)
    }

    @Test func arithmeticSameShape() {
        check([[2, 3], [2, 3]]) { $0[0] + $0[1] }
        check([[2, 3], [2, 3]]) { $0[0] - $0[1] }
        check([[2, 3], [2, 3]]) { $0[0] * $0[1] }
        check([[2, 3], [2, 3]], low: 0.5, high: 2) { $0[0] / $0[1] }
        check([[2, 3]]) { -$0[0] }
    }

    @Test func arithmeticBroadcastingBothDirections() {
        check([[2, 3], [3]]) { $0[0] + $0[1] }
        check([[3], [2, 3]]) { $0[0] - $0[1] }
        check([[2, 1], [1, 3]]) { $0[0] * $0[1] }
        check([[4, 1, 2], [3, 1]], low: 0.5, high: 2) { $0[0] / $0[1] }
        check([[2, 3], []]) { $0[0] * $0[1] }
        check([[], [2, 3]], low: 0.5, high: 2) { $0[0] / $0[1] }
    }

    @Test func scalarOperands() {
        check([[2, 3]]) { 1 - $0[0] }
        check([[2, 3]]) { $0[0] * 2 + 3 }
        check([[2, 3]]) { 2 * $0[0] - 1.5 }
        check([[2, 3]]) { $0[0] / 4 }
        check([[2, 3]], low: 0.5, high: 2) { 3 / $0[0] }
        check([[2, 3]]) { 1 + $0[0] }
    }

    @Test func elementwise() {
        check([[3, 4]]) { $0[0].tanh() }
        check([[3, 4]], low: -4, high: 4) { $0[0].sigmoid() }
        check([[3, 4]]) { $0[0].relu() }     // random points stay away from the kink at 0
        check([[3, 4]]) { $0[0].exp() }
        check([[3, 4]], low: 0.2, high: 3) { $0[0].log() }
        check([[3, 4]], low: 0.2, high: 3) { $0[0].sqrt() }
        check([[3, 4]]) { $0[0].squared() }
        check([[3, 4]], low: 0.2, high: 3) { $0[0].pow(2.5) }
        check([[3, 4]]) { $0[0].pow(3) }
        check([[3, 4]], low: -2, high: 2) { $0[0].clamped(min: -0.5, max: 0.7) }
    }

    @Test func reductions() {
        check([[2, 3, 4]]) { $0[0].sum() }
        check([[2, 3, 4]]) { $0[0].sum(axis: 1) }
        check([[2, 3, 4]]) { $0[0].sum(axis: -1, keepDims: true) }
        check([[2, 3, 4]]) { $0[0].mean() }
        check([[2, 3, 4]]) { $0[0].mean(axis: 0) }
        check([[2, 3, 4]]) { $0[0].max(axis: 1) }
        check([[2, 3, 4]]) { $0[0].max(axis: 2, keepDims: true) }
    }

    @Test func softmaxFamily() {
        check([[3, 5]]) { $0[0].softmax(axis: 1) }
        check([[3, 5]]) { $0[0].softmax(axis: 0) }
        check([[2, 4, 3]]) { $0[0].logSoftmax(axis: 1) }
        check([[3, 5]]) { $0[0].logSoftmax(axis: -1) }
    }

    @Test func matmulForms() {
        check([[3, 4], [4, 2]]) { $0[0].matmul($0[1]) }
        check([[2, 3, 4], [2, 4, 5]]) { $0[0].matmul($0[1]) }       // batched
        check([[2, 3, 4], [4, 5]]) { $0[0].matmul($0[1]) }          // 2-D weight broadcast over batch
        check([[3, 4], [2, 4, 5]]) { $0[0].matmul($0[1]) }          // 2-D left operand broadcast
    }

    @Test func shapeOps() {
        check([[2, 3, 4]]) { $0[0].reshaped(to: [4, -1]) }
        check([[2, 3, 4]]) { $0[0].transposed(0, 2) }
        check([[2, 3, 4]]) { $0[0].permuted([1, 2, 0]) }
        check([[2, 3, 4]]) { $0[0].select(axis: 1, index: -1) }
        check([[2, 3, 4]]) { $0[0].narrow(axis: 2, start: 1, length: 2) }
        check([[2, 3], [2, 2]]) { concat([$0[0], $0[1], $0[0]], axis: 1) }
        check([[2, 3], [2, 3]]) { stack([$0[0], $0[1]], axis: 1) }
        check([[3, 2]]) { v in let parts = v[0].unstacked(axis: 0); return parts[0] * parts[2] + parts[1] }
        check([[3]]) { $0[0].expanded(to: [2, 3]) }
        check([[3, 1]]) { $0[0].squeezingShape(at: 1).expandingShape(at: 0) }
    }

    @Test func compositions() {
        // A small MLP with a softmax cross-entropy-like loss.
        check([[4, 3], [3, 5], [5], [5, 2]]) { v in
            let h = (v[0].matmul(v[1]) + v[2]).tanh()
            return h.matmul(v[3]).logSoftmax(axis: 1).select(axis: 1, index: 0).mean()
        }
        // A value used several times, division and broadcasting together.
        check([[2, 3], [3]], low: 0.5, high: 1.5) { v in
            let x = v[0], b = v[1]
            return ((x * x + b) / (x.sigmoid() + 1)).sum(axis: 0) * b.exp()
        }
        // Batched attention-like scores.
        check([[2, 3, 4], [2, 5, 4]]) { v in
            let scores = v[0].matmul(v[1].transposed(1, 2)).softmax(axis: -1)
            return scores.matmul(v[1]).sum(axis: 1)
        }
    }

    @Test func reportsTheWorstEntryOfAWrongGradient() {
        // A deliberately wrong backward: d/dx of x³ claimed to be 2x.
        let x = Tensor<Double>(shape: [2, 2], scalars: [0.5, 1, 1.5, 2])
        let result = gradcheck(inputs: [x]) { v in
            Variable.record("wrongCube", v[0].data.pow(3), v[0]) { g in g * v[0].data * 2 }
        }
        #expect(!result.passed)
        #expect(result.worstEntry?.input == 0)
        #expect(result.worstEntry?.element == [1, 1])          // 3·4 vs 2·2: the largest error
        #expect(abs((result.worstEntry?.numerical ?? 0) - 12) < 1e-6)
        #expect(result.description.contains("FAILED"))
    }

    @Test func detectsNonZeroGradientForZeroOutputGradient() {
        let x = Tensor<Double>([1, 2])
        let result = gradcheck(inputs: [x]) { v in
            Variable.record("leaky", v[0].data * 2, v[0]) { g in g * 2 + 1 }   // ignores a zero g
        }
        #expect(!result.zeroGradientPassed)
        #expect(!result.passed)
    }
}
