// MARK: - Learning-rate schedulers: the shared part

/// What every learning-rate scheduler offers besides its `step`: where it is, the learning rates it
/// last set, and its state for checkpoints (`Optimizer.save(to:schedulers:)` stores it beside the
/// optimizer's).
///
/// A scheduler's state is its progress (`last_epoch`, `base_lrs.{i}`, `_last_lr.{i}` per group, and
/// what the kind needs: `T_i`/`T_cur`, `best`/`num_bad_epochs`/`cooldown_counter`), PyTorch's names
/// flattened. Its hyperparameters (gamma, milestones, a lambda) are not saved: a resumed program
/// makes the scheduler as the first one did, then loads. The learning rates themselves are the
/// optimizer's (`paramGroups[i].lr`), saved with the optimizer, as in PyTorch.
public protocol LearningRateScheduler: AnyObject {
    /// PyTorch's `last_epoch`: the number of `step` calls since construction (0 right after it).
    var lastEpoch: Int { get }
    /// PyTorch's `get_last_lr()`: each group's learning rate after the last step.
    var lastLr: [Double] { get }
    /// The progress state, by PyTorch's attribute names (lists flattened as `name.{i}`).
    func stateDict() -> [String: Double]
    /// Restores `stateDict()`'s result. Throws `OptimizerStateError` for a missing or unexpected key
    /// (another kind of scheduler, another number of groups) or a count that is not a whole number;
    /// nothing changes then.
    func loadStateDict(_ state: [String: Double]) throws
}

/// Checks a scheduler state against the keys `expected` (from the scheduler's own `stateDict()`) and
/// that the keys in `counts` hold whole numbers.
func checkSchedulerState(_ state: [String: Double], expected: [String: Double], counts: [String], name: String) throws {
    func fail(_ reason: String) -> OptimizerStateError { OptimizerStateError(reason: "\(name): \(reason)") }
    if let missing = Set(expected.keys).subtracting(state.keys).sorted().first { throw fail("missing '\(missing)'") }
    if let extra = Set(state.keys).subtracting(expected.keys).sorted().first { throw fail("unexpected '\(extra)'") }
    for key in counts where !(Int(exactly: state[key]!).map { $0 >= -1 } ?? false) {
        throw fail("'\(key)' is \(state[key]!), not a count")
    }
}

/// The base of the epoch-driven schedulers, as `torch.optim.lr_scheduler.LRScheduler`: at
/// construction each group's `initialLr` is set to its `lr` unless a scheduler already set it, the
/// base learning rates are the `initialLr`s, and one step is taken (`lastEpoch` becomes 0; most
/// schedulers keep the learning rate, LinearLR and OneCycleLR set their first one). Call `step()`
/// after the optimizer's step, once per epoch (OneCycleLR: per batch).
///
/// Chainable schedulers (StepLR, MultiStepLR, ExponentialLR, LinearLR, CosineAnnealingLR) compute the
/// next learning rate from the group's current one, as PyTorch's `get_lr` does, so two of them on one
/// optimizer compose; LambdaLR, CosineAnnealingWarmRestarts and OneCycleLR use closed forms from the
/// base learning rates.
public class LRScheduler<O: Optimizer>: LearningRateScheduler {
    /// The optimizer whose groups' learning rates are set.
    public let optimizer: O
    /// PyTorch's `base_lrs`: each group's `initialLr` when the scheduler was made.
    public internal(set) var baseLrs: [Double]
    /// Steps taken since construction, PyTorch's `last_epoch` (0 after the constructor's step).
    public internal(set) var lastEpoch = -1
    /// Each group's learning rate after the last step (PyTorch's `get_last_lr()`).
    public internal(set) var lastLr: [Double] = []

    /// Sets the groups' `initialLr` where missing, takes them as `baseLrs`, and makes the initial step.
    init(_ optimizer: O) {
        self.optimizer = optimizer
        var groups = optimizer.paramGroups
        for i in groups.indices where groups[i].initialLr == nil { groups[i].initialLr = groups[i].lr }
        optimizer.paramGroups = groups
        baseLrs = groups.map { $0.initialLr! }
        step()
    }

    /// The first group's base learning rate.
    public var baseLearningRate: Double { baseLrs[0] }
    /// Epochs completed: `lastEpoch`.
    public var epoch: Int { lastEpoch }

    /// Ends an epoch: `lastEpoch += 1`, then sets every group's learning rate by the scheduler's rule.
    public func step() {
        lastEpoch += 1
        setLearningRates(learningRates())
    }

    /// PyTorch's `get_lr()`: each group's learning rate for `lastEpoch`.
    func learningRates() -> [Double] { requireFailure("\(type(of: self)) does not define its learning rates") }

    /// The groups' learning rates now.
    var currentLrs: [Double] { optimizer.paramGroups.map(\.lr) }

    /// Sets each group's `lr` and records them in `lastLr`.
    func setLearningRates(_ lrs: [Double]) {
        var groups = optimizer.paramGroups
        for i in groups.indices { groups[i].lr = lrs[i] }
        optimizer.paramGroups = groups
        lastLr = lrs
    }

    /// Kind-specific state beside the common entries (overridden), and its whole-number keys.
    var extraState: [String: Double] { [:] }
    var extraCounts: [String] { [] }
    /// Restores `extraState` from a checked state (overridden).
    func loadExtraState(_ state: [String: Double]) {}

    /// `last_epoch`, `base_lrs.{i}` and `_last_lr.{i}` for each group, and the kind's own entries.
    public func stateDict() -> [String: Double] {
        var state = extraState
        state["last_epoch"] = Double(lastEpoch)
        for (i, lr) in baseLrs.enumerated() { state["base_lrs.\(i)"] = lr }
        for (i, lr) in lastLr.enumerated() { state["_last_lr.\(i)"] = lr }
        return state
    }

    /// Restores `stateDict()`'s result (see `LearningRateScheduler`); the optimizer's learning rates
    /// are restored with the optimizer.
    public func loadStateDict(_ state: [String: Double]) throws {
        try checkSchedulerState(state, expected: stateDict(), counts: ["last_epoch"] + extraCounts, name: schedulerTypeName(self))
        lastEpoch = Int(state["last_epoch"]!)
        baseLrs = baseLrs.indices.map { state["base_lrs.\($0)"]! }
        lastLr = lastLr.indices.map { state["_last_lr.\($0)"]! }
        loadExtraState(state)
    }
}
