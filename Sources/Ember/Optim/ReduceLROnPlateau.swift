// MARK: - ReduceLROnPlateau

/// Lowers each group's learning rate by `factor` when a metric has stopped improving for more than
/// `patience` epochs, as `torch.optim.lr_scheduler.ReduceLROnPlateau`. Call `step(metric)` once per
/// epoch with the validation metric:
///
/// - the metric improves when (mode `.min`) `metric < best·(1 - threshold)` (`.rel`) or
///   `metric < best - threshold` (`.abs`); mode `.max`: `metric > best·(1 + threshold)` or
///   `metric > best + threshold`; otherwise the epoch is a bad one (a NaN metric never improves);
/// - during `cooldown` epochs after a reduction bad epochs are not counted;
/// - after more than `patience` bad epochs, `lr = max(lr·factor, minLr)` in each group where that
///   changes it by more than `eps` (1e-8), and the count starts again.
///
/// It sets no learning rate at construction. Its state: `last_epoch`, `best`, `num_bad_epochs`,
/// `cooldown_counter`, `_last_lr.{i}`.
public final class ReduceLROnPlateau<O: Optimizer>: LearningRateScheduler {
    /// Whether lower (`.min`) or higher (`.max`) metrics are better.
    public enum Mode: Sendable { case min, max }
    /// Whether `threshold` is relative to the best value (`.rel`) or absolute (`.abs`).
    public enum ThresholdMode: Sendable { case rel, abs }

    /// The optimizer whose groups' learning rates are lowered.
    public let optimizer: O
    /// The mode (default `.min`).
    public let mode: Mode
    /// The factor per reduction, below 1 (default 0.1).
    public let factor: Double
    /// Bad epochs tolerated before a reduction (default 10).
    public let patience: Int
    /// The margin an improvement needs (default 1e-4), relative or absolute per `thresholdMode` (`.rel`).
    public let threshold: Double
    /// How `threshold` is applied (default `.rel`).
    public let thresholdMode: ThresholdMode
    /// Epochs after a reduction during which bad epochs are not counted (default 0).
    public let cooldown: Int
    /// The lowest learning rate of each group (default 0 for all).
    public let minLrs: [Double]
    /// The smallest change of a learning rate that is applied (default 1e-8).
    public let eps: Double
    /// The best metric so far (+∞ in mode `.min`, -∞ in `.max` before the first step).
    public private(set) var best: Double
    /// Bad epochs since the last improvement or reduction.
    public private(set) var numBadEpochs = 0
    /// Cooldown epochs left.
    public private(set) var cooldownCounter = 0
    /// `step` calls so far (PyTorch's `last_epoch`; 0 after construction).
    public private(set) var lastEpoch = 0
    /// Each group's learning rate after the last step.
    public private(set) var lastLr: [Double]

    /// `ReduceLROnPlateau(optimizer, mode='min', factor=0.1, patience=10, threshold=1e-4,
    /// threshold_mode='rel', cooldown=0, min_lr=0, eps=1e-8)`. Stops with PyTorch's message for
    /// `factor >= 1`.
    public init(_ optimizer: O, mode: Mode = .min, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4,
                thresholdMode: ThresholdMode = .rel, cooldown: Int = 0, minLr: Double = 0, eps: Double = 1e-8) {
        require(factor < 1, "ReduceLROnPlateau: Factor should be < 1.0, got \(factor)")
        self.optimizer = optimizer
        (self.mode, self.factor, self.patience, self.threshold) = (mode, factor, patience, threshold)
        (self.thresholdMode, self.cooldown, self.eps) = (thresholdMode, cooldown, eps)
        let lrs = optimizer.paramGroups.map(\.lr)
        self.minLrs = Array(repeating: minLr, count: lrs.count)
        self.lastLr = lrs
        self.best = mode == .min ? .infinity : -.infinity
    }

    /// Whether `metric` improves on `best` (see the type's notes).
    func isBetter(_ metric: Double) -> Bool {
        switch (mode, thresholdMode) {
        case (.min, .rel): metric < best * (1.0 - threshold)
        case (.min, .abs): metric < best - threshold
        case (.max, .rel): metric > best * (threshold + 1.0)
        case (.max, .abs): metric > best + threshold
        }
    }

    /// Ends an epoch whose metric (e.g. validation loss) is `metric`, lowering the learning rates
    /// after too many bad epochs.
    public func step(_ metric: Double) {
        lastEpoch += 1
        if isBetter(metric) {
            best = metric
            numBadEpochs = 0
        } else {
            numBadEpochs += 1
        }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            numBadEpochs = 0
        }
        if numBadEpochs > patience {
            var groups = optimizer.paramGroups
            for i in groups.indices {
                let old = groups[i].lr, new = Swift.max(old * factor, minLrs[i])
                if old - new > eps { groups[i].lr = new }
            }
            optimizer.paramGroups = groups
            cooldownCounter = cooldown
            numBadEpochs = 0
        }
        lastLr = optimizer.paramGroups.map(\.lr)
    }

    /// `last_epoch`, `best`, `num_bad_epochs`, `cooldown_counter` and `_last_lr.{i}`.
    public func stateDict() -> [String: Double] {
        var state = ["last_epoch": Double(lastEpoch), "best": best, "num_bad_epochs": Double(numBadEpochs),
                     "cooldown_counter": Double(cooldownCounter)]
        for (i, lr) in lastLr.enumerated() { state["_last_lr.\(i)"] = lr }
        return state
    }

    /// Restores `stateDict()`'s result (see `LearningRateScheduler`).
    public func loadStateDict(_ state: [String: Double]) throws {
        try checkSchedulerState(state, expected: stateDict(), counts: ["last_epoch", "num_bad_epochs", "cooldown_counter"],
                                name: "ReduceLROnPlateau")
        lastEpoch = Int(state["last_epoch"]!)
        best = state["best"]!
        numBadEpochs = Int(state["num_bad_epochs"]!)
        cooldownCounter = Int(state["cooldown_counter"]!)
        lastLr = lastLr.indices.map { state["_last_lr.\($0)"]! }
    }
}
