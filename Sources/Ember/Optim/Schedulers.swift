import Foundation

// MARK: - Learning-rate schedulers

/// Multiplies the learning rate by `gamma` every `stepSize` epochs, as `torch.optim.lr_scheduler.StepLR`:
/// `lr = baseLR · gamma^⌊epoch / stepSize⌋`. Call `step()` once per epoch, after the optimizer's steps.
public final class StepLR<O: Optimizer> {
    /// The optimizer whose `learningRate` is set.
    public let optimizer: O
    /// Epochs between decays (positive).
    public let stepSize: Int
    /// The factor per decay (default 0.1).
    public let gamma: Double
    /// The optimizer's learning rate when the scheduler was created.
    public let baseLearningRate: Double
    /// Epochs completed.
    public private(set) var epoch = 0

    /// `StepLR(optimizer, step_size, gamma=0.1)`, starting from the optimizer's current learning rate.
    /// Stops with a message unless `stepSize` is positive.
    public init(_ optimizer: O, stepSize: Int, gamma: Double = 0.1) {
        require(stepSize > 0, "StepLR: expected a positive stepSize, got \(stepSize)")
        self.optimizer = optimizer
        self.stepSize = stepSize
        self.gamma = gamma
        self.baseLearningRate = optimizer.learningRate
    }

    /// Ends an epoch: `epoch += 1`, then sets the optimizer's learning rate by the formula above.
    public func step() {
        epoch += 1
        optimizer.learningRate = baseLearningRate * Foundation.pow(gamma, Double(epoch / stepSize))
    }
}

/// Cosine annealing from the base learning rate to `etaMin` over `tMax` epochs, as
/// `torch.optim.lr_scheduler.CosineAnnealingLR` (closed form):
/// `lr = etaMin + (baseLR - etaMin)·(1 + cos(π·epoch/tMax))/2`.
public final class CosineAnnealingLR<O: Optimizer> {
    /// The optimizer whose `learningRate` is set.
    public let optimizer: O
    /// Epochs of the half cosine period (positive); past it the closed form keeps following the cosine.
    public let tMax: Int
    /// The lowest learning rate (default 0).
    public let etaMin: Double
    /// The optimizer's learning rate when the scheduler was created.
    public let baseLearningRate: Double
    /// Epochs completed.
    public private(set) var epoch = 0

    /// `CosineAnnealingLR(optimizer, T_max, eta_min=0)`, starting from the optimizer's current learning
    /// rate. Stops with a message unless `tMax` is positive.
    public init(_ optimizer: O, tMax: Int, etaMin: Double = 0) {
        require(tMax > 0, "CosineAnnealingLR: expected a positive tMax, got \(tMax)")
        self.optimizer = optimizer
        self.tMax = tMax
        self.etaMin = etaMin
        self.baseLearningRate = optimizer.learningRate
    }

    /// Ends an epoch: `epoch += 1`, then sets the optimizer's learning rate by the formula above.
    public func step() {
        epoch += 1
        optimizer.learningRate = etaMin + (baseLearningRate - etaMin) * (1 + Foundation.cos(Double.pi * Double(epoch) / Double(tMax))) / 2
    }
}
