import CEmberKernels
import Foundation

// MARK: - Adam and AdamW

/// Adam, as `torch.optim.Adam` (and AdamW with decoupled weight decay, as `torch.optim.AdamW`):
/// `m = lerp(m, g, 1 - β1)`, `v = β2·v + (1 - β2)·g²`, `v̂ = amsgrad ? maximum(v̂, v) : v` (NaN if
/// either is, as `torch.maximum`),
/// `p -= lr / (1 - β1^t) · m / (sqrt(v̂) / sqrt(1 - β2^t) + eps)`, each step rounded as PyTorch's CPU
/// kernels round it. Adam adds `wd·p` to the gradient;
/// AdamW multiplies `p` by `1 - lr·wd` first. With `amsgrad` the running maximum is kept in the
/// state (`max_exp_avg_sq`). Each parameter group uses its own hyperparameters.
public class AdamBase<Scalar: TensorScalar>: ParamGroupOptimizer<Scalar>, Optimizer {
    /// The defaults for groups that do not set their own: `betas` (0.9, 0.999), the denominator's eps
    /// (1e-8), and the weight decay (Adam: L2 added to the gradient, 0; AdamW: decoupled, 1e-2).
    /// The values in use are `paramGroups[i]`'s (OneCycleLR cycles β1 there).
    public let beta1, beta2, eps, weightDecay: Double
    /// The default for using the running maximum of `v` (false).
    public let amsgrad: Bool
    let decoupled: Bool

    init(_ name: String, _ groups: [ParamGroup<Scalar>], lr: Double, betas: (Double, Double), eps: Double,
         weightDecay: Double, amsgrad: Bool, decoupled: Bool) {
        (self.beta1, self.beta2) = betas
        self.eps = eps
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        self.decoupled = decoupled
        super.init(name, groups, defaults: ["lr": .number(lr), "betas": .pair(betas.0, betas.1), "eps": .number(eps),
                                            "weight_decay": .number(weightDecay), "amsgrad": .flag(amsgrad)],
                   stateNames: ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"])
    }

    override func problem(_ group: ParamGroup<Scalar>) -> String? {
        let (beta1, beta2) = group.betas!
        if let problem = firstNegative(["learning rate": group.lr, "epsilon value": group.eps!]) { return problem }
        if !(beta1 >= 0 && beta1 < 1) { return "Invalid beta parameter at index 0: \(beta1)" }
        if !(beta2 >= 0 && beta2 < 1) { return "Invalid beta parameter at index 1: \(beta2)" }
        return firstNegative(["weight_decay value": group.weightDecay!])
    }

    /// One update of every parameter whose `grad` is not nil, with the formulas above.
    public func step() {
        forEachGradient(reading: { ($0.lr, $0.betas!, $0.eps!, $0.weightDecay!, $0.amsgrad!) }) { i, p, grad, hyper in
            let (lr, (beta1, beta2), eps, weightDecay, amsgrad) = hyper
            var g = grad
            if weightDecay != 0 {
                if decoupled { p.data = p.data * Scalar(1 - lr * weightDecay) }
                else { g = AdamBase.addScaled(g, p.data, Scalar(weightDecay)) }
            }
            state.steps[i] += 1
            // β^t correctly rounded by Ember's own integer power (as the C library's pow nearly always
            // is), and sqrt for PyTorch's `** 0.5`: the same bits with any C library.
            let stepSize = lr / (1 - ember_powi(beta1, state.steps[i]))
            let correction2 = (1 - ember_powi(beta2, state.steps[i])).squareRoot()
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
                            // Elementwise, so large parameters are split over the cores (same bits): on one
                            // core the other would wait (BENCHMARKS.md, Swift side).
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
}

/// Adam (`torch.optim.Adam`): defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay.
public final class Adam<Scalar: TensorScalar>: AdamBase<Scalar> {
    /// `torch.optim.Adam(param_groups, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    /// amsgrad=False)`: the arguments are the defaults for the groups' missing hyperparameters. Stops
    /// with PyTorch's message for a negative `lr`, `eps` or `weightDecay`, or a beta outside `[0, 1)`
    /// (in the defaults or a group), and when a parameter is in two groups.
    public init(_ groups: [ParamGroup<Scalar>], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                eps: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false) {
        super.init("Adam", groups, lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad, decoupled: false)
    }

    /// `torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False)`:
    /// one group holding `parameters`. Stops with the messages of the group form.
    public convenience init(_ parameters: [Variable<Scalar>], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                            eps: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false) {
        self.init([ParamGroup(parameters)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad)
    }
}

/// AdamW (`torch.optim.AdamW`): Adam with decoupled weight decay, default 1e-2.
public final class AdamW<Scalar: TensorScalar>: AdamBase<Scalar> {
    /// `torch.optim.AdamW(param_groups, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
    /// amsgrad=False)`: the arguments are the defaults for the groups' missing hyperparameters. Stops
    /// with PyTorch's message for a negative `lr`, `eps` or `weightDecay`, or a beta outside `[0, 1)`
    /// (in the defaults or a group), and when a parameter is in two groups.
    public init(_ groups: [ParamGroup<Scalar>], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                eps: Double = 1e-8, weightDecay: Double = 1e-2, amsgrad: Bool = false) {
        super.init("AdamW", groups, lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad, decoupled: true)
    }

    /// `torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)`:
    /// one group holding `parameters`. Stops with the messages of the group form.
    public convenience init(_ parameters: [Variable<Scalar>], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                            eps: Double = 1e-8, weightDecay: Double = 1e-2, amsgrad: Bool = false) {
        self.init([ParamGroup(parameters)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad)
    }
}

/// `max(a, b)`, NaN if either is NaN (`torch.maximum`'s rule); otherwise `Swift.max(a, b)`'s value.
@inline(__always)
func nanMaximum<T: FloatingPoint>(_ a: T, _ b: T) -> T { b >= a || b.isNaN ? b : a }
