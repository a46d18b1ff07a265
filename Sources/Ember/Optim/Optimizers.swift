import CEmberKernels
import Foundation

// MARK: - SGD

/// Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay,
/// as `torch.optim.SGD`:
/// `g = grad + wd·p`; with momentum `buf = g` at the first step, then `buf = μ·buf + (1 - dampening)·g`;
/// `g = nesterov ? g + μ·buf : buf`; `p -= lr·g`.
public final class SGD<Scalar: TensorScalar>: Optimizer {
    public let parameters: [Variable<Scalar>]
    public var learningRate: Double
    public let momentum, dampening, weightDecay: Double
    public let nesterov: Bool
    var state: ParameterState<Scalar>

    public init(_ parameters: [Variable<Scalar>], lr: Double, momentum: Double = 0, dampening: Double = 0,
                nesterov: Bool = false, weightDecay: Double = 0) {
        require(lr >= 0, "SGD: Invalid learning rate: \(lr)")
        require(momentum >= 0, "SGD: Invalid momentum value: \(momentum)")
        require(weightDecay >= 0, "SGD: Invalid weight_decay value: \(weightDecay)")
        require(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov momentum requires a momentum and zero dampening")
        self.parameters = parameters
        self.learningRate = lr
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.state = ParameterState(count: parameters.count)
    }

    public func step() {
        for (i, p) in parameters.enumerated() {
            guard var g = p.grad else { continue }
            if weightDecay != 0 { g = g + p.data * Scalar(weightDecay) }
            if momentum != 0 {
                var buf: Tensor<Scalar>
                if let old = state.buffers[i]["momentum_buffer"] {
                    buf = old * Scalar(momentum) + g * Scalar(1 - dampening)
                } else {
                    buf = g
                }
                state.buffers[i]["momentum_buffer"] = buf
                g = nesterov ? g + buf * Scalar(momentum) : buf
            }
            state.steps[i] += 1
            p.data = p.data - g * Scalar(learningRate)
        }
    }

    public func stateDict() -> [String: Tensor<Scalar>] { state.export() }

    public func loadStateDict(_ dict: [String: Tensor<Scalar>]) throws {
        state = try ParameterState.decode(dict, parameters: parameters, allowed: ["momentum_buffer"])
    }
}

// MARK: - Adam and AdamW

/// Adam, as `torch.optim.Adam` (and AdamW with decoupled weight decay, as `torch.optim.AdamW`):
/// `m = lerp(m, g, 1 - β1)`, `v = β2·v + (1 - β2)·g²`, `v̂ = amsgrad ? maximum(v̂, v) : v` (NaN if
/// either is, as `torch.maximum`),
/// `p -= lr / (1 - β1^t) · m / (sqrt(v̂) / sqrt(1 - β2^t) + eps)`, each step rounded as PyTorch's CPU
/// kernels round it. Adam adds `wd·p` to the gradient;
/// AdamW multiplies `p` by `1 - lr·wd` first. With `amsgrad` the running maximum is kept in the
/// state (`max_exp_avg_sq`).
public class AdamBase<Scalar: TensorScalar>: Optimizer {
    public let parameters: [Variable<Scalar>]
    public var learningRate: Double
    public let beta1, beta2, eps, weightDecay: Double
    public let amsgrad: Bool
    let decoupled: Bool
    var state: ParameterState<Scalar>

    init(_ name: String, _ parameters: [Variable<Scalar>], lr: Double, betas: (Double, Double), eps: Double,
         weightDecay: Double, amsgrad: Bool, decoupled: Bool) {
        require(lr >= 0, "\(name): Invalid learning rate: \(lr)")
        require(eps >= 0, "\(name): Invalid epsilon value: \(eps)")
        require(betas.0 >= 0 && betas.0 < 1, "\(name): Invalid beta parameter at index 0: \(betas.0)")
        require(betas.1 >= 0 && betas.1 < 1, "\(name): Invalid beta parameter at index 1: \(betas.1)")
        require(weightDecay >= 0, "\(name): Invalid weight_decay value: \(weightDecay)")
        self.parameters = parameters
        self.learningRate = lr
        (self.beta1, self.beta2) = betas
        self.eps = eps
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        self.decoupled = decoupled
        self.state = ParameterState(count: parameters.count)
    }

    public func step() {
        for (i, p) in parameters.enumerated() {
            guard var g = p.grad else { continue }
            if weightDecay != 0 {
                if decoupled { p.data = p.data * Scalar(1 - learningRate * weightDecay) }
                else { g = AdamBase.addScaled(g, p.data, Scalar(weightDecay)) }
            }
            state.steps[i] += 1
            let t = Double(state.steps[i])
            let stepSize = learningRate / (1 - Foundation.pow(beta1, t))
            let correction2 = Foundation.pow(1 - Foundation.pow(beta2, t), 0.5)
            // The moments are taken out of the state so they are uniquely referenced and updated in place.
            var m = state.buffers[i].removeValue(forKey: "exp_avg") ?? Tensor(zeros: p.shape)
            var v = state.buffers[i].removeValue(forKey: "exp_avg_sq") ?? Tensor(zeros: p.shape)
            var vMax = amsgrad ? state.buffers[i].removeValue(forKey: "max_exp_avg_sq") ?? Tensor(zeros: p.shape) : Tensor(zeros: [0])
            AdamBase.update(parameter: &p.data, gradient: g, m: &m, v: &v, vMax: &vMax, amsgrad: amsgrad,
                            w1: Scalar(1 - beta1), beta2: Scalar(beta2), w2: Scalar(1 - beta2),
                            correction2: Scalar(correction2), eps: Scalar(eps), negativeStepSize: Scalar(-stepSize))
            state.buffers[i]["exp_avg"] = m
            state.buffers[i]["exp_avg_sq"] = v
            if amsgrad { state.buffers[i]["max_exp_avg_sq"] = vMax }
        }
    }

    /// One pass over a parameter, with the roundings of PyTorch's CPU kernels for its rule
    /// (`exp_avg.lerp_(g, w1)`, `exp_avg_sq.mul_(β2).addcmul_(g, g, value: w2)`,
    /// `denom = (v̂.sqrt() / c2).add_(eps)`, `p.addcdiv_(m, denom, value: -stepSize)`):
    /// `m = fma(w1, g - m, m)` (lerp for a weight below 0.5; `fma(w1 - 1, g - m, g)` otherwise),
    /// `v = fma(w2·g, g, v·β2)`, `p = p + (-stepSize·m) / (sqrt(v̂) / c2 + eps)`.
    /// A test checks these against the PyTorch formulas' results bit for bit in Float. Float runs the
    /// vectorised C kernel (`ember_adam_f`), which computes exactly what `updatePlain` computes.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func update(parameter: inout Tensor<Scalar>, gradient: Tensor<Scalar>, m: inout Tensor<Scalar>, v: inout Tensor<Scalar>,
                       vMax: inout Tensor<Scalar>, amsgrad: Bool, w1: Scalar, beta2: Scalar, w2: Scalar,
                       correction2: Scalar, eps: Scalar, negativeStepSize: Scalar) {
        guard Scalar.self == Float.self else {
            return updatePlain(parameter: &parameter, gradient: gradient, m: &m, v: &v, vMax: &vMax, amsgrad: amsgrad,
                               w1: w1, beta2: beta2, w2: w2, correction2: correction2, eps: eps, negativeStepSize: negativeStepSize)
        }
        let count = parameter.count
        gradient.withBase { g in
            parameter.withUnsafeMutableBufferPointer { p in
                m.withUnsafeMutableBufferPointer { m in
                    v.withUnsafeMutableBufferPointer { v in
                        vMax.withUnsafeMutableBufferPointer { vMax in
                            // Elementwise, so large parameters are split over the cores (same bits): W_hh of
                            // LSTM-128 (65,536 values) took about 1 % of a training step on one core
                            // while the other waited.
                            let pieces = count >= 1 << 15 ? Swift.min(emberThreadCount, count >> 14) : 1
                            let per = (count + pieces - 1) / pieces + 63 & ~63
                            let level = ember_kernel_level_in_use()
                            WorkerPool.shared.run(chunks: pieces, threads: pieces) { piece in
                                let start = piece * per, n = Swift.min(per, count - start)
                                guard n > 0 else { return }
                                ember_adam_f(level, n, p.baseAddress.map { float($0) + start }, float(g) + start,
                                             m.baseAddress.map { float($0) + start }, v.baseAddress.map { float($0) + start },
                                             vMax.baseAddress.map { float($0) + start }, amsgrad ? 1 : 0,
                                             Float(w1), Float(beta2), Float(w2), Float(correction2), Float(eps), Float(negativeStepSize))
                            }
                        }
                    }
                }
            }
        }
    }

    /// The Swift statement of `update`'s arithmetic (Double always runs it).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func updatePlain(parameter: inout Tensor<Scalar>, gradient: Tensor<Scalar>, m: inout Tensor<Scalar>, v: inout Tensor<Scalar>,
                            vMax: inout Tensor<Scalar>, amsgrad: Bool, w1: Scalar, beta2: Scalar, w2: Scalar,
                            correction2: Scalar, eps: Scalar, negativeStepSize: Scalar) {
        let count = parameter.count
        let smallWeight = abs(w1) < 0.5
        gradient.withBase { g in
            parameter.withUnsafeMutableBufferPointer { p in
                m.withUnsafeMutableBufferPointer { m in
                    v.withUnsafeMutableBufferPointer { v in
                        vMax.withUnsafeMutableBufferPointer { vMax in
                            for j in 0..<count {
                                let gj = g[j]
                                let mj = smallWeight ? m[j].addingProduct(w1, gj - m[j]) : gj.addingProduct(w1 - 1, gj - m[j])
                                let vj = (v[j] * beta2).addingProduct(w2 * gj, gj)
                                m[j] = mj
                                v[j] = vj
                                var vHat = vj
                                if amsgrad {
                                    vHat = nanMaximum(vMax[j], vj)   // torch.maximum: NaN from either side
                                    vMax[j] = vHat
                                }
                                let denominator = vHat.squareRoot() / correction2 + eps
                                p[j] = p[j] + negativeStepSize * mj / denominator
                            }
                        }
                    }
                }
            }
        }
    }

    /// `a + b·alpha` with one rounding, as PyTorch's `a.add(b, alpha:)` computes it on the CPU.
    static func addScaled(_ a: Tensor<Scalar>, _ b: Tensor<Scalar>, _ alpha: Scalar) -> Tensor<Scalar> {
        require(a.shape == b.shape, "addScaled: shapes \(a.shape) and \(b.shape) differ")
        let bs = b.scalars
        var result = a
        result.withUnsafeMutableBufferPointer { r in
            for j in r.indices { r[j] = r[j].addingProduct(bs[j], alpha) }
        }
        return result
    }

    public func stateDict() -> [String: Tensor<Scalar>] { state.export() }

    public func loadStateDict(_ dict: [String: Tensor<Scalar>]) throws {
        state = try ParameterState.decode(dict, parameters: parameters, allowed: ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"])
    }
}

/// Adam (`torch.optim.Adam`): defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay.
public final class Adam<Scalar: TensorScalar>: AdamBase<Scalar> {
    public init(_ parameters: [Variable<Scalar>], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                eps: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false) {
        super.init("Adam", parameters, lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad, decoupled: false)
    }
}

/// AdamW (`torch.optim.AdamW`): Adam with decoupled weight decay, default 1e-2.
public final class AdamW<Scalar: TensorScalar>: AdamBase<Scalar> {
    public init(_ parameters: [Variable<Scalar>], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                eps: Double = 1e-8, weightDecay: Double = 1e-2, amsgrad: Bool = false) {
        super.init("AdamW", parameters, lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad, decoupled: true)
    }
}

// MARK: - Adagrad

/// Adagrad, as `torch.optim.Adagrad`: `g = grad + wd·p`, `clr = lr / (1 + (t - 1)·lrDecay)`,
/// `sum += g²`, `p -= clr · g / (sqrt(sum) + eps)`. Defaults lr 1e-2, eps 1e-10.
public final class Adagrad<Scalar: TensorScalar>: Optimizer {
    public let parameters: [Variable<Scalar>]
    public var learningRate: Double
    public let lrDecay, weightDecay, initialAccumulatorValue, eps: Double
    var state: ParameterState<Scalar>

    public init(_ parameters: [Variable<Scalar>], lr: Double = 1e-2, lrDecay: Double = 0, weightDecay: Double = 0,
                initialAccumulatorValue: Double = 0, eps: Double = 1e-10) {
        require(lr >= 0, "Adagrad: Invalid learning rate: \(lr)")
        require(lrDecay >= 0, "Adagrad: Invalid lr_decay value: \(lrDecay)")
        require(weightDecay >= 0, "Adagrad: Invalid weight_decay value: \(weightDecay)")
        require(initialAccumulatorValue >= 0, "Adagrad: Invalid initial_accumulator_value value: \(initialAccumulatorValue)")
        require(eps >= 0, "Adagrad: Invalid epsilon value: \(eps)")
        self.parameters = parameters
        self.learningRate = lr
        self.lrDecay = lrDecay
        self.weightDecay = weightDecay
        self.initialAccumulatorValue = initialAccumulatorValue
        self.eps = eps
        self.state = ParameterState(count: parameters.count)
        for (i, p) in parameters.enumerated() {
            state.buffers[i]["sum"] = Tensor(repeating: Scalar(initialAccumulatorValue), shape: p.shape)
        }
    }

    public func step() {
        for (i, p) in parameters.enumerated() {
            guard var g = p.grad else { continue }
            state.steps[i] += 1
            if weightDecay != 0 { g = g + p.data * Scalar(weightDecay) }
            let clr = learningRate / (1 + Double(state.steps[i] - 1) * lrDecay)
            let sum = state.buffers[i]["sum"]! + g * g
            state.buffers[i]["sum"] = sum
            p.data = p.data - (g / (sum.sqrt() + Scalar(eps))) * Scalar(clr)
        }
    }

    public func stateDict() -> [String: Tensor<Scalar>] { state.export() }

    public func loadStateDict(_ dict: [String: Tensor<Scalar>]) throws {
        var s = try ParameterState.decode(dict, parameters: parameters, allowed: ["sum"])
        for (i, p) in parameters.enumerated() where s.buffers[i]["sum"] == nil {
            s.buffers[i]["sum"] = Tensor(repeating: Scalar(initialAccumulatorValue), shape: p.shape)
        }
        state = s
    }
}

// MARK: - RMSprop

/// RMSprop, as `torch.optim.RMSprop`: `g = grad + wd·p`, `s = α·s + (1 - α)·g²`; centered:
/// `a = lerp(a, g, 1 - α)`, `avg = sqrt(s - a²) + eps`, else `avg = sqrt(s) + eps`; with momentum
/// `buf = μ·buf + g/avg`, `p -= lr·buf`, else `p -= lr·g/avg`. Defaults lr 1e-2, α 0.99, eps 1e-8.
public final class RMSprop<Scalar: TensorScalar>: Optimizer {
    public let parameters: [Variable<Scalar>]
    public var learningRate: Double
    public let alpha, eps, weightDecay, momentum: Double
    public let centered: Bool
    var state: ParameterState<Scalar>

    public init(_ parameters: [Variable<Scalar>], lr: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8,
                weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false) {
        require(lr >= 0, "RMSprop: Invalid learning rate: \(lr)")
        require(eps >= 0, "RMSprop: Invalid epsilon value: \(eps)")
        require(momentum >= 0, "RMSprop: Invalid momentum value: \(momentum)")
        require(weightDecay >= 0, "RMSprop: Invalid weight_decay value: \(weightDecay)")
        require(alpha >= 0, "RMSprop: Invalid alpha value: \(alpha)")
        self.parameters = parameters
        self.learningRate = lr
        self.alpha = alpha
        self.eps = eps
        self.weightDecay = weightDecay
        self.momentum = momentum
        self.centered = centered
        self.state = ParameterState(count: parameters.count)
    }

    public func step() {
        for (i, p) in parameters.enumerated() {
            guard var g = p.grad else { continue }
            state.steps[i] += 1
            if weightDecay != 0 { g = g + p.data * Scalar(weightDecay) }
            let zeros = Tensor<Scalar>(zeros: p.shape)
            let s = (state.buffers[i]["square_avg"] ?? zeros) * Scalar(alpha) + g * g * Scalar(1 - alpha)
            state.buffers[i]["square_avg"] = s
            var avg: Tensor<Scalar>
            if centered {
                let a = (state.buffers[i]["grad_avg"] ?? zeros).lerp(to: g, weight: Scalar(1 - alpha))
                state.buffers[i]["grad_avg"] = a
                avg = (s - a * a).sqrt() + Scalar(eps)
            } else {
                avg = s.sqrt() + Scalar(eps)
            }
            if momentum > 0 {
                let buf = (state.buffers[i]["momentum_buffer"] ?? zeros) * Scalar(momentum) + g / avg
                state.buffers[i]["momentum_buffer"] = buf
                p.data = p.data - buf * Scalar(learningRate)
            } else {
                p.data = p.data - (g / avg) * Scalar(learningRate)
            }
        }
    }

    public func stateDict() -> [String: Tensor<Scalar>] { state.export() }

    public func loadStateDict(_ dict: [String: Tensor<Scalar>]) throws {
        state = try ParameterState.decode(dict, parameters: parameters, allowed: ["square_avg", "grad_avg", "momentum_buffer"])
    }
}

// MARK: - Gradient clipping

/// Scales all gradients together so that their total norm (p-norm of the per-tensor p-norms, or the
/// largest absolute value for `normType: .infinity`) is at most `maxNorm`, as
/// `torch.nn.utils.clip_grad_norm_` (torch/nn/utils/clip_grad.py): the factor is
/// `clamp(maxNorm / (total + 1e-6), max: 1)`, and every gradient is multiplied by it.
/// A NaN anywhere makes the total NaN (torch.max and the sums propagate it), hence the factor and
/// every gradient NaN, as in PyTorch; an infinite total gives the factor 0.
/// Returns the total norm before clipping.
@discardableResult
public func clipGradNorm<Scalar>(_ parameters: [Variable<Scalar>], maxNorm: Double, normType: Double = 2) -> Double {
    require(maxNorm >= 0, "clipGradNorm: expected a non-negative maxNorm, got \(maxNorm)")
    let grads = parameters.compactMap(\.grad)
    guard !grads.isEmpty else { return 0 }
    let total: Double
    if normType == .infinity {
        // torch.max(torch.stack(norms)): NaN if any per-tensor maximum is (Sequence.max() would keep
        // or drop a NaN depending on where it stands).
        let norms = grads.map { Double($0.abs().reshaped(to: [-1]).max(axis: 0).scalar) }
        total = norms.contains { $0.isNaN } ? .nan : norms.max() ?? 0
    } else {
        require(normType > 0, "clipGradNorm: expected a positive normType, got \(normType)")
        let norms = grads.map { Foundation.pow(Double($0.abs().pow(Scalar(normType)).sum().scalar), 1 / normType) }
        total = Foundation.pow(norms.reduce(0) { $0 + Foundation.pow($1, normType) }, 1 / normType)
    }
    // clamp(c, max: 1) keeps a NaN, where Swift.min(1, NaN) is 1. Multiplying by exactly 1 changes
    // no gradient, so only a factor below 1, or NaN, is applied.
    let factor = maxNorm / (total + 1e-6)
    let coefficient = factor.isNaN ? factor : Swift.min(1, factor)
    if !(coefficient >= 1) {
        for p in parameters { if let g = p.grad { p.grad = g * Scalar(coefficient) } }
    }
    return total
}

/// Clamps every gradient element to `[-clipValue, clipValue]`, as `torch.nn.utils.clip_grad_value_`.
public func clipGradValue<Scalar>(_ parameters: [Variable<Scalar>], clipValue: Double) {
    require(clipValue >= 0, "clipGradValue: expected a non-negative clipValue, got \(clipValue)")
    for p in parameters { if let g = p.grad { p.grad = g.clamped(min: Scalar(-clipValue), max: Scalar(clipValue)) } }
}

// MARK: - Learning-rate schedulers

/// Multiplies the learning rate by `gamma` every `stepSize` epochs, as `torch.optim.lr_scheduler.StepLR`:
/// `lr = baseLR · gamma^⌊epoch / stepSize⌋`. Call `step()` once per epoch, after the optimizer's steps.
public final class StepLR<O: Optimizer> {
    public let optimizer: O
    public let stepSize: Int
    public let gamma: Double
    public let baseLearningRate: Double
    /// Epochs completed.
    public private(set) var epoch = 0

    public init(_ optimizer: O, stepSize: Int, gamma: Double = 0.1) {
        require(stepSize > 0, "StepLR: expected a positive stepSize, got \(stepSize)")
        self.optimizer = optimizer
        self.stepSize = stepSize
        self.gamma = gamma
        self.baseLearningRate = optimizer.learningRate
    }

    public func step() {
        epoch += 1
        optimizer.learningRate = baseLearningRate * Foundation.pow(gamma, Double(epoch / stepSize))
    }
}

/// Cosine annealing from the base learning rate to `etaMin` over `tMax` epochs, as
/// `torch.optim.lr_scheduler.CosineAnnealingLR` (closed form):
/// `lr = etaMin + (baseLR - etaMin)·(1 + cos(π·epoch/tMax))/2`.
public final class CosineAnnealingLR<O: Optimizer> {
    public let optimizer: O
    public let tMax: Int
    public let etaMin: Double
    public let baseLearningRate: Double
    public private(set) var epoch = 0

    public init(_ optimizer: O, tMax: Int, etaMin: Double = 0) {
        require(tMax > 0, "CosineAnnealingLR: expected a positive tMax, got \(tMax)")
        self.optimizer = optimizer
        self.tMax = tMax
        self.etaMin = etaMin
        self.baseLearningRate = optimizer.learningRate
    }

    public func step() {
        epoch += 1
        optimizer.learningRate = etaMin + (baseLearningRate - etaMin) * (1 + Foundation.cos(Double.pi * Double(epoch) / Double(tMax))) / 2
    }
}
