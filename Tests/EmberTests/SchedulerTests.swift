import Foundation
import Testing
@testable import Ember

/// `a` and `b` agree to `tolerance` relative, element by element, and have the same length.
private func close(_ a: [Double], _ b: [Double], _ tolerance: Double = 1e-12) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(abs($1), 1e-300) }
}

/// An SGD optimizer over one fresh parameter.
private func sgd(lr: Double, momentum: Double = 0) -> SGD<Double> {
    SGD([Variable(Tensor<Double>([1, -2]), requiresGrad: true)], lr: lr, momentum: momentum)
}

/// The learning rate after construction, then after each of `steps - 1` steps: the rate used at each step.
private func rates<O: Optimizer>(_ opt: O, _ scheduler: LRScheduler<O>, steps: Int) -> [Double] {
    var result = [opt.learningRate]
    for _ in 1..<steps {
        scheduler.step()
        result.append(opt.learningRate)
    }
    return result
}

@Suite struct SchedulerTests {
    /// PyTorch's learning rates, step by step, for every scheduler in the fixture.
    @Test func schedulersMatchPyTorch() throws {
        let f = try Fixtures.pytorch("schedulers")
        func expected(_ name: String) throws -> [Double] { try f.tensor("\(name).lr", as: Double.self).scalars }
        #expect(f.metadata["exponential"] == "SGD lr 0.1; ExponentialLR(gamma=0.9)")
        let e = sgd(lr: 0.1)
        #expect(close(rates(e, ExponentialLR(e, gamma: 0.9), steps: 12), try expected("exponential")))
        #expect(f.metadata["multistep"] == "SGD lr 0.1; MultiStepLR(milestones=[3, 7], gamma=0.5)")
        let m = sgd(lr: 0.1)
        #expect(close(rates(m, MultiStepLR(m, milestones: [3, 7], gamma: 0.5), steps: 12), try expected("multistep")))
        #expect(f.metadata["linear_warmup"] == "SGD lr 0.1; LinearLR(start_factor=0.25, end_factor=1.0, total_iters=4)")
        let l = sgd(lr: 0.1)
        #expect(close(rates(l, LinearLR(l, startFactor: 0.25, endFactor: 1, totalIters: 4), steps: 8), try expected("linear_warmup")))
        #expect(f.metadata["onecycle"] == "SGD lr 0.1 momentum 0.9; OneCycleLR(max_lr=1.0, total_steps=20)")
        let o = sgd(lr: 0.1, momentum: 0.9)
        #expect(close(rates(o, OneCycleLR(o, maxLr: 1, totalSteps: 20), steps: 20), try expected("onecycle")))

        #expect(f.metadata["plateau"] == "SGD lr 0.1; ReduceLROnPlateau(mode=min, factor=0.5, patience=2); step(metric)")
        let p = sgd(lr: 0.1)
        let plateau = ReduceLROnPlateau(p, mode: .min, factor: 0.5, patience: 2)
        var used: [Double] = []
        for metric in try f.tensor("plateau.metrics", as: Double.self).scalars {
            used.append(p.learningRate)
            plateau.step(metric)
        }
        #expect(close(used, try expected("plateau")))
    }

    /// OneCycleLR moves momentum against the learning rate: 0.95 at the start, 0.85 at the peak, back
    /// to 0.95 at the end; for Adam it is β1 (β2 untouched); Adagrad has none and only its lr cycles.
    @Test func oneCycleCyclesMomentumOrBeta1() {
        let s = sgd(lr: 0.1, momentum: 0.9)
        let cycle = OneCycleLR(s, maxLr: 1, totalSteps: 20)
        #expect(abs(s.paramGroups[0].momentum! - 0.95) < 1e-15 && s.paramGroups[0].initialLr == 1.0 / 25)
        for _ in 0..<5 { cycle.step() }                 // step 5 = 0.3·20 - 1, the peak
        #expect(s.learningRate == 1 && s.paramGroups[0].momentum == 0.85)
        for _ in 0..<14 { cycle.step() }
        #expect(abs(s.paramGroups[0].momentum! - 0.95) < 1e-15 && abs(s.learningRate - 1.0 / 25 / 1e4) < 1e-18)

        let adam = Adam([Variable(Tensor<Double>([1]), requiresGrad: true)], betas: (0.9, 0.99))
        let adamCycle = OneCycleLR(adam, maxLr: 0.01, totalSteps: 10, threePhase: true)
        for _ in 0..<2 { adamCycle.step() }               // step 2 = 0.3·10 - 1, the peak
        #expect(adam.paramGroups[0].betas! == (0.85, 0.99))

        let adagrad = Adagrad([Variable(Tensor<Double>([1]), requiresGrad: true)])
        let adagradCycle = OneCycleLR(adagrad, maxLr: 0.5, totalSteps: 10, annealStrategy: .linear)
        for _ in 0..<2 { adagradCycle.step() }
        #expect(abs(adagrad.learningRate - 0.5) < 1e-15 && adagrad.paramGroups[0].momentum == nil)
    }

    /// Warm restarts: periods t0, t0·tMult, ...; each period starts at the base rate and follows
    /// SGDR's cosine down towards etaMin.
    @Test func warmRestartsFollowSGDR() {
        let opt = sgd(lr: 0.1)
        let scheduler = CosineAnnealingWarmRestarts(opt, t0: 4, tMult: 2, etaMin: 0.01)
        let got = rates(opt, scheduler, steps: 30)
        var expected: [Double] = [], period = 4, start = 0
        for epoch in 0..<30 {
            if epoch - start == period { start += period; period *= 2 }
            expected.append(0.01 + (0.1 - 0.01) * (1 + Foundation.cos(Double.pi * Double(epoch - start) / Double(period))) / 2)
        }
        #expect(close(got, expected, 1e-15))
        #expect(got[0] == 0.1 && got[4] == 0.1 && got[12] == 0.1 && got[28] == 0.1)
        #expect(scheduler.tI == 32 && scheduler.tCur == 1)
    }

    /// LambdaLR scales each group's base rate; schedulers work per group.
    @Test func lambdaAndExponentialWorkPerGroup() {
        let p = (0..<2).map { _ in Variable(Tensor<Double>([1]), requiresGrad: true) }
        let opt = SGD([ParamGroup([p[0]]), ParamGroup([p[1]], lr: 0.2)], lr: 0.1)
        let lambda = LambdaLR(opt) { epoch in 1 / Double(epoch + 1) }
        for epoch in 1...5 {
            lambda.step()
            #expect(lambda.lastLr == [0.1 * (1 / Double(epoch + 1)), 0.2 * (1 / Double(epoch + 1))])   // baseLR · λ(epoch)
        }
        let q = (0..<2).map { _ in Variable(Tensor<Double>([1]), requiresGrad: true) }
        let opt2 = Adam([ParamGroup([q[0]]), ParamGroup([q[1]], lr: 0.02)], lr: 0.01)
        let exponential = ExponentialLR(opt2, gamma: 0.5)
        exponential.step(); exponential.step()
        #expect(opt2.paramGroups.map(\.lr) == [0.0025, 0.005] && exponential.baseLrs == [0.01, 0.02])
    }

    /// Two chainable schedulers on one optimizer compose (a warm-up then a decay, as PyTorch's
    /// ChainedScheduler does); the second takes the first's `initialLr` as its base.
    @Test func chainableSchedulersCompose() {
        let opt = sgd(lr: 0.1)
        let warmup = LinearLR(opt, startFactor: 0.25, totalIters: 4)
        let decay = ExponentialLR(opt, gamma: 0.9)
        #expect(decay.baseLrs == [0.1] && opt.paramGroups[0].initialLr == 0.1)
        for epoch in 1...10 {
            warmup.step(); decay.step()
            let factor = 0.25 + 0.75 * Double(min(epoch, 4)) / 4
            #expect(close([opt.learningRate], [0.1 * factor * Foundation.pow(0.9, Double(epoch))], 1e-13), "epoch \(epoch)")
        }
    }

    /// Mode max, an absolute threshold, cooldown and minLr, by the rules in PyTorch's docs.
    @Test func plateauModesCooldownAndMinimum() {
        let opt = sgd(lr: 0.1)
        let plateau = ReduceLROnPlateau(opt, mode: .max, factor: 0.5, patience: 0, threshold: 0.1, thresholdMode: .abs,
                                        cooldown: 1, minLr: 0.03)
        // 1.0 improves on -inf; 1.05 is not 0.1 better (bad: reduce to 0.05, cooldown 1); 1.05 again is
        // ignored in cooldown; 1.2 improves; 1.0 is bad: reduce to max(0.025, 0.03); then the floor holds.
        var lrs: [Double] = []
        for metric in [1.0, 1.05, 1.05, 1.2, 1.0, 0.9, 0.8, .nan] {
            plateau.step(metric)
            lrs.append(opt.learningRate)
        }
        #expect(lrs == [0.1, 0.05, 0.05, 0.05, 0.03, 0.03, 0.03, 0.03])
        #expect(plateau.best == 1.2 && plateau.lastEpoch == 8 && plateau.lastLr == [0.03])

        let relative = sgd(lr: 0.1)
        let rel = ReduceLROnPlateau(relative, patience: 1, threshold: 0.1)   // min, rel: better = below 0.9·best
        for metric in [1.0, 0.95, 0.92] { rel.step(metric) }
        #expect(relative.learningRate == 0.1 * 0.1)
        #expect(rel.best == 1.0)
    }

    /// A run saved mid-way with its scheduler and resumed in a fresh optimizer and scheduler continues
    /// with the same learning rates (and momenta, and parameters) as an uninterrupted run.
    @Test(arguments: ["step", "multistep", "exponential", "linear", "cosine", "lambda", "onecycle", "warm", "plateau"])
    func resumedRunContinuesExactly(_ kind: String) throws {
        func make(_ opt: SGD<Double>) -> (any LearningRateScheduler, () -> Void) {
            switch kind {
            case "step": let s = StepLR(opt, stepSize: 3, gamma: 0.5); return (s, s.step)
            case "multistep": let s = MultiStepLR(opt, milestones: [2, 5, 5], gamma: 0.5); return (s, s.step)
            case "exponential": let s = ExponentialLR(opt, gamma: 0.8); return (s, s.step)
            case "linear": let s = LinearLR(opt, totalIters: 6); return (s, s.step)
            case "cosine": let s = CosineAnnealingLR(opt, tMax: 4, etaMin: 0.001); return (s, s.step)
            case "lambda": let s = LambdaLR(opt) { 1 / Double($0 + 1) }; return (s, s.step)
            case "onecycle": let s = OneCycleLR(opt, maxLr: 0.5, totalSteps: 12); return (s, s.step)
            case "warm": let s = CosineAnnealingWarmRestarts(opt, t0: 2, tMult: 2); return (s, s.step)
            default:
                let s = ReduceLROnPlateau(opt, factor: 0.5, patience: 1, cooldown: 1)
                var epoch = 0
                return (s, { epoch += 1; s.step([3, 2, 2.5, 2.4, 2.6, 1, 1.5, 1.7, 1.2, 1.9, 2][epoch % 11]) })
            }
        }
        func train(_ p: Variable<Double>, _ opt: SGD<Double>, _ step: () -> Void, epochs: Range<Int>) -> [Double] {
            epochs.map { _ in
                let used = opt.learningRate
                p.grad = p.data * 2
                opt.step()
                step()
                return used
            }
        }
        let url = temporaryDirectory().appendingPathComponent("resume.safetensors")
        let whole = Variable(Tensor<Double>([1, -2]), requiresGrad: true), wholeOpt = SGD([whole], lr: 0.1, momentum: 0.9)
        let (_, wholeStep) = make(wholeOpt)
        let expected = train(whole, wholeOpt, wholeStep, epochs: 0..<11)

        let first = Variable(Tensor<Double>([1, -2]), requiresGrad: true), firstOpt = SGD([first], lr: 0.1, momentum: 0.9)
        let (firstScheduler, firstStep) = make(firstOpt)
        var got = train(first, firstOpt, firstStep, epochs: 0..<5)
        try firstOpt.save(to: url, schedulers: [firstScheduler])

        let resumed = Variable(first.data, requiresGrad: true), resumedOpt = SGD([resumed], lr: 0.1, momentum: 0.9)
        let (resumedScheduler, initialStep) = make(resumedOpt)
        var resumedStep = initialStep
        try resumedOpt.load(from: url, schedulers: [resumedScheduler])
        #expect(resumedScheduler.stateDict() == firstScheduler.stateDict())
        if kind == "plateau" {   // the metric sequence continues where the first run stopped
            let s = resumedScheduler as! ReduceLROnPlateau<SGD<Double>>
            var epoch = 5
            resumedStep = { epoch += 1; s.step([3, 2, 2.5, 2.4, 2.6, 1, 1.5, 1.7, 1.2, 1.9, 2][epoch % 11]) }
        }
        got += train(resumed, resumedOpt, resumedStep, epochs: 5..<11)
        #expect(got == expected, "\(kind)")
        #expect(resumed.data == whole.data && resumedOpt.paramGroups[0].momentum == wholeOpt.paramGroups[0].momentum, "\(kind)")
    }

    /// A file without the scheduler's state, or with another kind's, throws and changes nothing.
    @Test func mismatchedSchedulerStateThrows() throws {
        let url = temporaryDirectory().appendingPathComponent("s.safetensors")
        let opt = sgd(lr: 0.1)
        let exponential = ExponentialLR(opt, gamma: 0.5)
        exponential.step()
        try opt.save(to: url, schedulers: [exponential])
        let other = sgd(lr: 0.3)
        let warm = CosineAnnealingWarmRestarts(other, t0: 3)
        #expect(throws: OptimizerStateError.self) { try other.load(from: url, schedulers: [warm]) }
        #expect(throws: OptimizerStateError.self) { try other.load(from: url, schedulers: [ExponentialLR(other, gamma: 0.5), warm]) }
        #expect(other.learningRate == 0.3 && warm.lastEpoch == 0)
        #expect(throws: OptimizerStateError.self) { try warm.loadStateDict(exponential.stateDict()) }
        var bad = warm.stateDict()
        bad["T_i"] = 0
        #expect(throws: OptimizerStateError.self) { try warm.loadStateDict(bad) }
        bad["T_i"] = 3
        bad["T_cur"] = 0.5
        #expect(throws: OptimizerStateError.self) { try warm.loadStateDict(bad) }
    }

    @Test func argumentChecks() async {
        await #expect(processExitsWith: .failure) {
            let opt = SGD([Variable(Tensor<Double>([1]), requiresGrad: true)], lr: 0.1)
            let s = OneCycleLR(opt, maxLr: 1, totalSteps: 3)
            for _ in 0..<4 { s.step() }
        }
        await #expect(processExitsWith: .failure) { _ = LinearLR(SGD([Variable<Double>](), lr: 0.1), startFactor: 0) }
        await #expect(processExitsWith: .failure) { _ = ReduceLROnPlateau(SGD([Variable<Double>](), lr: 0.1), factor: 1) }
        await #expect(processExitsWith: .failure) { _ = CosineAnnealingWarmRestarts(SGD([Variable<Double>](), lr: 0.1), t0: 0) }
    }
}
