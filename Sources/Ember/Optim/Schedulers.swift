import Foundation

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
