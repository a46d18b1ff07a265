import CEmberKernels
import Foundation
import Testing
@testable import Ember

/// NaN stays NaN wherever PyTorch keeps it: in gradient clipping, in max-reductions, in the running
/// maximum of amsgrad, and through relu (forward, backward and the fused recurrent kernels). Swift's
/// `min`, `max` and `>` each drop a NaN on one side; every value below is PyTorch's.
@Suite struct NaNPropagationTests {
    /// Gradients of the given values on fresh parameters.
    func parameters<S: TensorScalar>(_ grads: [[S]]) -> [Variable<S>] {
        grads.map { g in
            let p = Variable(Tensor<S>(zeros: [g.count]), requiresGrad: true)
            p.grad = Tensor(g)
            return p
        }
    }

    // MARK: Clipping

    /// torch.nn.utils.clip_grad_norm_ with norm_type=inf: total = torch.max(stack(per-tensor max |g|)),
    /// NaN if any is; clip_coef = clamp(max_norm / (total + 1e-6), max=1) is NaN and every gradient is
    /// multiplied by it. Ember returned 0.5 and left the 3 unclipped, or NaN, depending on the order.
    @Test func infinityNormClippingPropagatesNaNInEitherOrder() {
        for order in [[[0.5, 0.5], [Double.nan, 3]], [[Double.nan, 3], [0.5, 0.5]]] {
            let ps = parameters(order)
            let total = clipGradNorm(ps, maxNorm: 1, normType: .infinity)
            #expect(total.isNaN, "\(order)")
            #expect(ps.allSatisfy { $0.grad!.scalars.allSatisfy { $0.isNaN } }, "\(order): \(ps.map { $0.grad!.scalars })")
        }
        let floats = parameters([[Float(0.5), 0.5], [.nan, 3]])
        #expect(clipGradNorm(floats, maxNorm: 1, normType: .infinity).isNaN)
        #expect(floats.allSatisfy { $0.grad!.scalars.allSatisfy { $0.isNaN } })
    }

    /// The 2-norm of [NaN, 1, 1] and [2, 2] is NaN; min(1, NaN) was 1 and left the finite gradients
    /// as they were, where PyTorch's clamp(NaN, max=1) = NaN makes every gradient NaN.
    @Test func twoNormClippingScalesEveryGradientByNaN() {
        for normType in [2.0, 1.0, 3.0] {
            let ps = parameters([[Double.nan, 1, 1], [2, 2]])
            #expect(clipGradNorm(ps, maxNorm: 1, normType: normType).isNaN)
            #expect(ps.allSatisfy { $0.grad!.scalars.allSatisfy { $0.isNaN } }, "norm \(normType): \(ps.map { $0.grad!.scalars })")
        }
    }

    /// An infinite norm gives the coefficient 0 (PyTorch: 1 / (inf + 1e-6) = 0): finite gradients become
    /// 0 and infinite ones NaN (inf · 0), as torch's _foreach_mul_ gives.
    @Test func infiniteNormClipsToZero() {
        let ps = parameters([[Double.infinity, 1], [2, -2]])
        #expect(clipGradNorm(ps, maxNorm: 1) == .infinity)
        #expect(ps[0].grad!.scalars[0].isNaN && ps[0].grad!.scalars[1] == 0 && ps[1].grad!.scalars == [0, 0])
    }

    /// clip_grad_value_ clamps in place: torch.clamp(NaN) is NaN.
    @Test func valueClippingKeepsNaN() {
        let ps = parameters([[Double.nan, 3, -3, 0.5]])
        clipGradValue(ps, clipValue: 1)
        let g = ps[0].grad!.scalars
        #expect(g[0].isNaN && Array(g[1...]) == [1, -1, 0.5])
    }

    // MARK: Max-reductions

    /// torch.max(dim) and torch.argmax treat NaN as the maximum: max over [1, NaN, 3] is NaN at index
    /// 1, the first NaN when there are several, along the last axis and along an inner one.
    @Test func maxAndArgmaxTakeTheFirstNaN() {
        let v = Tensor<Double>([1, .nan, 3])
        #expect(v.max(axis: 0).scalar.isNaN)
        #expect(v.argmax(axis: 0) == [1])
        let rows = Tensor<Float>(shape: [2, 4], scalars: [1, .nan, 3, .nan, .nan, 2, 5, 1])
        #expect(rows.argmax(axis: 1) == [1, 0])
        #expect(rows.max(axis: 1).scalars.allSatisfy { $0.isNaN })
        let columns = Tensor<Double>(shape: [3, 2], scalars: [1, 5, .nan, 2, 3, .nan])
        #expect(columns.argmax(axis: 0) == [1, 2])
        #expect(columns.max(axis: 0).scalars.allSatisfy { $0.isNaN })
        #expect(columns.max(axis: 0, keepDims: true).shape == [1, 2])
        #expect(Tensor<Double>([.nan, 7]).argmax(axis: 0) == [0] && Tensor<Double>([7, .nan]).argmax(axis: 0) == [1])
    }

    /// The backward of torch.max(dim) sends the gradient to the index it returned: the NaN's.
    @Test func maxBackwardGoesToTheNaN() {
        let x = Variable(Tensor<Double>([1, .nan, 3]), requiresGrad: true)
        let y = x.max(axis: 0)
        #expect(y.data.scalar.isNaN)
        #expect(x.argmax(axis: 0) == [1])
        y.backward()
        #expect(x.grad!.scalars == [0, 1, 0])
    }

    /// softmax and log_softmax of a row holding NaN are NaN throughout (the row's maximum and sum are).
    @Test func softmaxOfARowWithNaNIsNaN() {
        let x = Tensor<Float>(shape: [2, 3], scalars: [1, .nan, 3, 1, 2, 3])
        for y in [x.softmax(axis: 1), x.logSoftmax(axis: 1)] {
            #expect(y.scalars[0..<3].allSatisfy { $0.isNaN })
            #expect(y.scalars[3...].allSatisfy { $0.isFinite })
        }
    }

    // MARK: amsgrad's running maximum

    /// torch.maximum propagates NaN (from either side); Swift.max(a, b) returned a when b was NaN.
    @Test func maximumPropagatesNaN() {
        #expect(nanMaximum(1.0, .nan).isNaN && nanMaximum(Double.nan, 2).isNaN && nanMaximum(Double.nan, .nan).isNaN)
        #expect(nanMaximum(3.0, 1) == 3 && nanMaximum(Float(1), 4) == 4)
    }

    /// Adam with amsgrad keeps max_exp_avg_sq = torch.maximum(max_exp_avg_sq, exp_avg_sq): a NaN
    /// gradient makes it NaN (Ember kept the old maximum), in Float (the C kernel) and in Double.
    @Test func amsgradMaximumBecomesNaN() {
        func run<S: TensorScalar>(_: S.Type) -> [S] {
            let p = Variable(Tensor<S>([1, 2, 3]), requiresGrad: true)
            let opt = Adam([p], lr: 0.1, amsgrad: true)
            p.grad = Tensor<S>([1, 1, 1]); opt.step()
            p.grad = Tensor<S>([.nan, 0.5, 1]); opt.step()
            return opt.stateDict()["state.0.max_exp_avg_sq"]!.scalars
        }
        for vMax in [run(Float.self).map(Double.init), run(Double.self)] {
            #expect(vMax[0].isNaN && vMax[1].isFinite && vMax[2].isFinite, "\(vMax)")
        }
    }

    /// The C Adam kernel at every level: NaN in the new second moment or in the old maximum stays in the
    /// maximum, in whole vectors and in the tail (83 values); the finite values are the plain code's bits.
    @Test(arguments: CellKernelTests.levels)
    func adamKernelKeepsNaNInTheMaximum(level: KernelLevel) {
        let n = 83, nanGradient: Set = [0, 17, 40, 81], nanMaximum: Set = [5, 33, 82]
        var g = randomTensor([n], seed: 2, low: -0.1, high: 0.1).scalars.map(Float.init)
        for i in nanGradient { g[i] = .nan }
        var vMax0 = randomTensor([n], seed: 5, low: 0, high: 1e-3).scalars.map(Float.init)
        for i in nanMaximum { vMax0[i] = .nan }
        let p0 = randomTensor([n], seed: 1).scalars.map(Float.init)
        let m0 = randomTensor([n], seed: 3, low: -0.05, high: 0.05).scalars.map(Float.init)
        let v0 = randomTensor([n], seed: 4, low: 0, high: 1e-3).scalars.map(Float.init)
        var (p, m, v, vMax) = (Tensor(p0), Tensor(m0), Tensor(v0), Tensor(vMax0))
        AdamBase<Float>.updatePlain(parameter: &p, gradient: Tensor(g), m: &m, v: &v, vMax: &vMax, amsgrad: true, w1: 0.1,
                                    beta2: 0.999, w2: 0.001, correction2: 0.0447, eps: 1e-8, negativeStepSize: -0.0031)
        var (pk, mk, vk, vMaxk) = (p0, m0, v0, vMax0)
        ember_adam_f(ember_kernel_level(rawValue: UInt32(level.rawValue)), n, &pk, g, &mk, &vk, &vMaxk, 1, 0.1, 0.999, 0.001, 0.0447, 1e-8, -0.0031)
        for i in 0..<n {
            let expectNaN = nanGradient.contains(i) || nanMaximum.contains(i)
            #expect(vMax.scalars[i].isNaN == expectNaN, "plain, element \(i)")
            #expect(vMaxk[i].isNaN == expectNaN, "\(level), element \(i)")
            #expect(pk[i].isNaN == expectNaN && p.scalars[i].isNaN == expectNaN, "\(level), element \(i)")
            if !expectNaN {
                #expect(vMaxk[i].bitPattern == vMax.scalars[i].bitPattern && pk[i].bitPattern == p.scalars[i].bitPattern, "\(level), element \(i)")
            }
        }
    }

    // MARK: relu

    /// torch.relu(NaN) is NaN (relu is clamp_min(x, 0), which propagates NaN); -1 and 0 give 0.
    @Test func reluKeepsNaN() {
        let y = Tensor<Float>([.nan, -1, 0, 2]).relu().scalars
        #expect(y[0].isNaN && Array(y[1...]) == [0, 0, 2])
        let yd = Tensor<Double>(repeating: .nan, shape: [19]).relu().scalars   // the vector loop and its tail
        #expect(yd.allSatisfy { $0.isNaN })
        // -0 still gives +0, as before (finite results keep their bits).
        #expect(Tensor<Double>([-0.0]).relu().scalar.sign == .plus)
    }

    /// relu's backward is threshold_backward(grad, result, 0) = result <= 0 ? 0 : grad: the gradient
    /// passes where the result is NaN, and is 0 at exactly 0.
    @Test func reluBackwardPassesTheGradientAtNaN() {
        for values in [[Double.nan, -1, 0, 2], [Double](repeating: .nan, count: 19)] {
            let x = Variable(Tensor<Double>(values), requiresGrad: true)
            x.relu().sum().backward()
            #expect(x.grad!.scalars == values.map { $0.isNaN || $0 > 0 ? 1 : 0 }, "\(values)")
        }
    }

    /// The fused ReLU RNN kernels at every level: the evaluation step and the whole-sequence kernel
    /// keep NaN, and the backward step passes the gradient where h is NaN (threshold_backward on the
    /// result), in whole vectors and in the tail of a row of 37.
    @Test(arguments: CellKernelTests.levels)
    func reluRNNKernelsKeepNaN(level: KernelLevel) {
        let cl = ember_kernel_level(rawValue: UInt32(level.rawValue))
        let rows = 2, H = 37, nanAt: Set = [0, 15, 36, 37 + 20, 37 + 35]
        var y = randomTensor([rows * H], seed: 41, low: -2, high: 2).scalars.map(Float.init)
        for i in nanAt { y[i] = .nan }
        let expected = y.map { $0.isNaN ? $0 : ($0 > 0 ? $0 : 0) }
        let gh = [Float](repeating: 0, count: rows * H)
        ember_rnn_forward_f(cl, 1, rows, H, &y, H, gh, nil, nil)
        #expect(zip(y, expected).allSatisfy { $0.isNaN ? $1.isNaN : $0 == $1 }, "\(level) forward")

        let dh = randomTensor([rows * H], seed: 42).scalars.map(Float.init)
        let out = randomTensor([rows * H], seed: 43).scalars.map(Float.init)
        var h = randomTensor([rows * H], seed: 44, low: -1, high: 1).scalars.map(Float.init)
        for i in nanAt { h[i] = .nan }
        var dz = [Float](repeating: 0, count: rows * H)
        ember_rnn_backward_f(cl, 1, rows, H, dh, out, H, h, &dz)
        for i in 0..<(rows * H) {
            #expect(dz[i] == (h[i] <= 0 ? 0 : dh[i] + out[i]), "\(level) backward, element \(i)")
        }

        // The sequence kernel: row 0's first input NaN makes that row NaN throughout; row 1 stays finite.
        let (n, T, I) = (2, 3, 5)
        var x = randomTensor([n * T * I], seed: 45).scalars.map(Float.init)
        x[0] = .nan
        let wih = randomTensor([H * I], seed: 46, low: -0.5, high: 0.5).scalars.map(Float.init)
        let whh = randomTensor([H * H], seed: 47, low: -0.5, high: 0.5).scalars.map(Float.init)
        var ys = [Float](repeating: 0, count: n * T * H)
        #expect(ember_rnn_sequence_f(cl, 1, n, T, I, H, x, T * I, I, wih, whh, nil, nil, nil, &ys, T * H, H) == 1)
        #expect(ys[0..<(T * H)].allSatisfy { $0.isNaN }, "\(level) sequence, row 0")
        #expect(ys[(T * H)...].allSatisfy { $0.isFinite }, "\(level) sequence, row 1")
    }

    /// nn.RNN(nonlinearity='relu') with a NaN input: every later output is NaN, on the recording path,
    /// the evaluation path (one layer: the fused sequence kernel; two layers: the step kernel), in
    /// Float and Double. Ember's relu turned the NaN into 0 and the outputs after it were finite.
    @Test func reluRNNPropagatesNaNThroughTime() {
        func outputs<S: TensorScalar>(_: S.Type, layers: Int, recording: Bool) -> [S] {
            let rnn = RNN<S>(inputSize: 2, hiddenSize: 3, numLayers: layers, nonlinearity: .relu)
            for w in rnn.weights { w.data = Tensor(repeating: 0.5, shape: w.shape) }
            let x = Variable(Tensor<S>(shape: [3, 1, 2], scalars: [.nan, 1, 1, 1, 1, 1]), requiresGrad: recording)
            return rnn(x).output.data.scalars
        }
        for layers in [1, 2] {
            for recording in [false, true] {
                let f = outputs(Float.self, layers: layers, recording: recording).map(Double.init)
                let d = outputs(Double.self, layers: layers, recording: recording)
                #expect(f.allSatisfy { $0.isNaN } && d.allSatisfy { $0.isNaN }, "layers \(layers) recording \(recording): \(f) \(d)")
            }
        }
    }

    /// The plain (Double) recurrent backward step passes the gradient where h is NaN, as the C kernel does.
    @Test func plainReluRNNBackwardStepPassesTheGradientAtNaN() {
        let H = 3
        let dh: [Double] = [1, 2, 3], out: [Double] = [0.5, 0.5, 0.5], h: [Double] = [.nan, 0, 2]
        var dz = [Double](repeating: 9, count: H), dzh = dz, direct = dz, dc = dz
        let empty = [Double](repeating: 0, count: H)
        RecurrentEngine.stepBackward(.rnnRelu, plain: true, rows: 1, H: H, dh: dh, out: out, outStride: H, h: h, gates: nil, c: nil,
                                          newGateHidden: nil, cPrev: empty, hPrev: empty, dc: &dc, dzx: &dz, dzh: &dzh,
                                          dhPrevThroughZ: &direct)
        #expect(dz == [1.5, 0, 3.5])
    }

    // MARK: arange

    /// torch.arange(0, nan) raises "unsupported range: 0 -> nan"; Ember trapped in Int(NaN) without
    /// saying which call. A NaN or infinite bound now stops with a message naming it.
    @Test func arangeRejectsNaNAndInfiniteBounds() async {
        func stderr(_ result: ExitTest.Result?) -> String { String(decoding: result?.standardErrorContent ?? [], as: UTF8.self) }
        let nanEnd = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Double>.arange(0, .nan)
        }
        #expect(stderr(nanEnd).contains("Tensor.arange: unsupported range: 0.0 -> nan"), "\(stderr(nanEnd))")
        let nanStart = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Float>.arange(.nan, 3)
        }
        #expect(stderr(nanStart).contains("Tensor.arange: unsupported range: nan -> 3.0"), "\(stderr(nanStart))")
        let infiniteEnd = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Double>.arange(0, .infinity)
        }
        #expect(stderr(infiniteEnd).contains("Tensor.arange: unsupported range: 0.0 -> inf"), "\(stderr(infiniteEnd))")
        #expect(Tensor<Double>.arange(0, 3).scalars == [0, 1, 2])
    }

    // MARK: clamp

    /// torch.clamp(NaN, min, max) is NaN, and its gradient there is 0 (NaN is not inside the range).
    @Test func clampKeepsNaNAndGivesItNoGradient() {
        let x = Variable(Tensor<Double>([.nan, 0.5, 2]), requiresGrad: true)
        let y = x.clamped(min: 0, max: 1)
        #expect(y.data.scalars[0].isNaN && Array(y.data.scalars[1...]) == [0.5, 1])
        y.sum().backward()
        #expect(x.grad!.scalars == [0, 1, 0])
    }
}
