import CEmberKernels
import Foundation

// MARK: - Learning-rate schedulers (chainable forms, and LambdaLR)

/// Multiplies each group's learning rate by `gamma` every `stepSize` epochs, as
/// `torch.optim.lr_scheduler.StepLR` (chainable: at an epoch divisible by `stepSize`, `lr *= gamma`;
/// from an untouched start, `lr = baseLR · gamma^⌊epoch / stepSize⌋`). Call `step()` once per epoch,
/// after the optimizer's steps.
public final class StepLR<O: Optimizer>: LRScheduler<O> {
    /// Epochs between decays (positive).
    public let stepSize: Int
    /// The factor per decay (default 0.1).
    public let gamma: Double

    /// `StepLR(optimizer, step_size, gamma=0.1)`. Stops with a message unless `stepSize` is positive.
    public init(_ optimizer: O, stepSize: Int, gamma: Double = 0.1) {
        require(stepSize > 0, "StepLR: expected a positive stepSize, got \(stepSize)")
        self.stepSize = stepSize
        self.gamma = gamma
        super.init(optimizer)
    }

    override func learningRates() -> [Double] {
        lastEpoch == 0 || lastEpoch % stepSize != 0 ? currentLrs : currentLrs.map { $0 * gamma }
    }
}

/// Multiplies each group's learning rate by `gamma` at each milestone epoch, as
/// `torch.optim.lr_scheduler.MultiStepLR` (chainable; a milestone listed twice multiplies by `gamma²`).
public final class MultiStepLR<O: Optimizer>: LRScheduler<O> {
    /// The epochs at which the learning rate decays.
    public let milestones: [Int]
    /// The factor per milestone (default 0.1).
    public let gamma: Double

    /// `MultiStepLR(optimizer, milestones, gamma=0.1)`.
    public init(_ optimizer: O, milestones: [Int], gamma: Double = 0.1) {
        self.milestones = milestones
        self.gamma = gamma
        super.init(optimizer)
    }

    override func learningRates() -> [Double] {
        let count = milestones.filter { $0 == lastEpoch }.count
        return count == 0 ? currentLrs : currentLrs.map { $0 * ember_powi(gamma, count) }
    }
}

/// Multiplies each group's learning rate by `gamma` every epoch, as
/// `torch.optim.lr_scheduler.ExponentialLR` (chainable: `lr *= gamma` from epoch 1 on).
public final class ExponentialLR<O: Optimizer>: LRScheduler<O> {
    /// The factor per epoch.
    public let gamma: Double

    /// `ExponentialLR(optimizer, gamma)`.
    public init(_ optimizer: O, gamma: Double) {
        self.gamma = gamma
        super.init(optimizer)
    }

    override func learningRates() -> [Double] { lastEpoch == 0 ? currentLrs : currentLrs.map { $0 * gamma } }
}

/// Scales each group's learning rate by a factor going linearly from `startFactor` to `endFactor`
/// over `totalIters` epochs, as `torch.optim.lr_scheduler.LinearLR` (a warm-up with the defaults):
/// the constructor multiplies the learning rate by `startFactor`; then, for epochs 1...totalIters,
/// `lr *= 1 + (end - start) / (totalIters·start + (epoch - 1)·(end - start))` (chainable form).
public final class LinearLR<O: Optimizer>: LRScheduler<O> {
    /// The first epoch's factor, in (0, 1] (default 1/3).
    public let startFactor: Double
    /// The factor from `totalIters` on, in [0, 1] (default 1).
    public let endFactor: Double
    /// Epochs until `endFactor` is reached (default 5).
    public let totalIters: Int

    /// `LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5)`. Stops with PyTorch's
    /// message for factors outside those ranges.
    public init(_ optimizer: O, startFactor: Double = 1.0 / 3, endFactor: Double = 1, totalIters: Int = 5) {
        require(startFactor > 0 && startFactor <= 1,
                "LinearLR: Starting multiplicative factor expected to be greater than 0 and less or equal to 1, got \(startFactor)")
        require(endFactor >= 0 && endFactor <= 1, "LinearLR: Ending multiplicative factor expected to be between 0 and 1, got \(endFactor)")
        self.startFactor = startFactor
        self.endFactor = endFactor
        self.totalIters = totalIters
        super.init(optimizer)
    }

    override func learningRates() -> [Double] {
        if lastEpoch == 0 { return currentLrs.map { $0 * startFactor } }
        if lastEpoch > totalIters { return currentLrs }
        let change = endFactor - startFactor
        let factor = 1.0 + change / (Double(totalIters) * startFactor + Double(lastEpoch - 1) * change)
        return currentLrs.map { $0 * factor }
    }
}

/// Cosine annealing from the base learning rate to `etaMin` over `tMax` epochs, as
/// `torch.optim.lr_scheduler.CosineAnnealingLR`, in its recursive (chainable) form:
/// `lr = etaMin + (lr - etaMin)·(1 + cos(π·epoch/tMax)) / (1 + cos(π·(epoch - 1)/tMax))`, and at the
/// epochs after a trough (`(epoch - 1 - tMax) mod 2·tMax = 0`) `lr += (baseLR - etaMin)·(1 - cos(π/tMax))/2`.
/// From an untouched start this is `etaMin + (baseLR - etaMin)·(1 + cos(π·epoch/tMax))/2` (SGDR's
/// closed form, Loshchilov & Hutter 2017), rounded as PyTorch rounds it; past `tMax` it keeps following
/// the cosine.
public final class CosineAnnealingLR<O: Optimizer>: LRScheduler<O> {
    /// Epochs of the half cosine period (positive).
    public let tMax: Int
    /// The lowest learning rate (default 0).
    public let etaMin: Double

    /// `CosineAnnealingLR(optimizer, T_max, eta_min=0)`. Stops with a message unless `tMax` is positive.
    public init(_ optimizer: O, tMax: Int, etaMin: Double = 0) {
        require(tMax > 0, "CosineAnnealingLR: expected a positive tMax, got \(tMax)")
        self.tMax = tMax
        self.etaMin = etaMin
        super.init(optimizer)
    }

    override func learningRates() -> [Double] {
        if lastEpoch == 0 { return currentLrs }
        let t = Double(tMax), e = Double(lastEpoch)
        if (lastEpoch - 1 - tMax) % (2 * tMax) == 0 {
            return zip(currentLrs, baseLrs).map { lr, base in lr + (base - etaMin) * (1 - ember_cos(Double.pi / t)) / 2 }
        }
        let ratio = (1 + ember_cos(Double.pi * e / t)) / (1 + ember_cos(Double.pi * (e - 1) / t))
        return currentLrs.map { ratio * ($0 - etaMin) + etaMin }
    }
}

/// Sets each group's learning rate to its base learning rate times `lrLambda(epoch)`, as
/// `torch.optim.lr_scheduler.LambdaLR`: `lr = baseLR · lrLambda(lastEpoch)`.
///
/// ```swift
/// let scheduler = LambdaLR(opt) { epoch in Foundation.pow(0.95, Double(epoch)) }
/// ```
/// The closure is not part of the saved state (as PyTorch saves no plain function): make it again when
/// resuming.
public final class LambdaLR<O: Optimizer>: LRScheduler<O> {
    /// The factor for an epoch.
    public let lrLambda: (Int) -> Double

    /// `LambdaLR(optimizer, lr_lambda)`: one function for every group.
    public init(_ optimizer: O, lrLambda: @escaping (Int) -> Double) {
        self.lrLambda = lrLambda
        super.init(optimizer)
    }

    override func learningRates() -> [Double] { baseLrs.map { $0 * lrLambda(lastEpoch) } }
}
