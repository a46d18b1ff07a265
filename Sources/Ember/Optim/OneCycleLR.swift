import CEmberKernels
import Foundation

// MARK: - OneCycleLR

/// The 1cycle policy (Smith & Topin 2017, "Super-Convergence"), as
/// `torch.optim.lr_scheduler.OneCycleLR`: each group's learning rate rises from `maxLr / divFactor` to
/// `maxLr` over the first `pctStart` of `totalSteps`, then falls to `maxLr / divFactor / finalDivFactor`
/// (with `threePhase`, back to the initial rate first, then down), annealed by cosine or linearly.
/// Closed form over PyTorch's phases: phase k ends at step `pctStart·totalSteps - 1` (then
/// `2·pctStart·totalSteps - 2` with three phases), the last at `totalSteps - 1`;
/// `pct = (step - start)/(end - start)`; cos: `end + (start - end)/2·(cos(π·pct) + 1)`, linear:
/// `(end - start)·pct + start`. Call `step()` after every batch; stepping past `totalSteps` stops with
/// PyTorch's message.
///
/// With `cycleMomentum`, momentum moves the other way between `maxMomentum` and `baseMomentum` in
/// groups that have one: `momentum` (SGD, RMSprop), or β1 of `betas` (Adam, AdamW). A group with
/// neither (Adagrad) keeps its learning-rate cycle only (PyTorch refuses such an optimizer unless
/// `cycle_momentum=False`).
public final class OneCycleLR<O: Optimizer>: LRScheduler<O> {
    /// How a phase moves from its start value to its end value.
    public enum AnnealStrategy: Sendable {
        /// Cosine annealing (PyTorch's "cos").
        case cos
        /// A straight line (PyTorch's "linear").
        case linear
    }

    /// The highest learning rate.
    public let maxLr: Double
    /// The number of steps in the cycle (positive).
    public let totalSteps: Int
    /// The fraction of the cycle spent rising (default 0.3).
    public let pctStart: Double
    /// Cosine (default) or linear annealing.
    public let annealStrategy: AnnealStrategy
    /// Initial learning rate = `maxLr / divFactor` (default 25); minimum = initial / `finalDivFactor`
    /// (default 1e4).
    public let divFactor, finalDivFactor: Double
    /// Whether a third phase anneals to the minimum (default false: two phases, fastai's form).
    public let threePhase: Bool
    /// Whether momentum (or β1) is cycled where the optimizer has it (default true).
    public let cycleMomentum: Bool
    /// The momentum at the learning-rate peak (default 0.85) and at the ends (default 0.95).
    public let baseMomentum, maxMomentum: Double

    /// The phases: end step, (start, end) learning rate for a group's (initial, max, min) rates, and
    /// (start, end) momentum.
    private var phases: [(end: Double, lr: (Int, Int), momentum: (Double, Double))] {
        let steps = Double(totalSteps)
        let (initial, peak, low) = (0, 1, 2)
        if threePhase {
            return [(pctStart * steps - 1, (initial, peak), (maxMomentum, baseMomentum)),
                    (2 * pctStart * steps - 2, (peak, initial), (baseMomentum, maxMomentum)),
                    (steps - 1, (initial, low), (maxMomentum, maxMomentum))]
        }
        return [(pctStart * steps - 1, (initial, peak), (maxMomentum, baseMomentum)),
                (steps - 1, (peak, low), (baseMomentum, maxMomentum))]
    }

    /// `OneCycleLR(optimizer, max_lr, total_steps, pct_start=0.3, anneal_strategy='cos',
    /// cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, div_factor=25, final_div_factor=1e4,
    /// three_phase=False)`. Sets every group's `initialLr` to `maxLr / divFactor`, then takes the first
    /// step (which sets the momentum or β1 when cycling: `maxMomentum` there). Stops with PyTorch's message
    /// for a non-positive `totalSteps` or a `pctStart` outside [0, 1].
    public init(_ optimizer: O, maxLr: Double, totalSteps: Int, pctStart: Double = 0.3, annealStrategy: AnnealStrategy = .cos,
                cycleMomentum: Bool = true, baseMomentum: Double = 0.85, maxMomentum: Double = 0.95,
                divFactor: Double = 25, finalDivFactor: Double = 1e4, threePhase: Bool = false) {
        require(totalSteps > 0, "OneCycleLR: Expected positive integer total_steps, but got \(totalSteps)")
        require(pctStart >= 0 && pctStart <= 1, "OneCycleLR: Expected float between 0 and 1 pct_start, but got \(pctStart)")
        (self.maxLr, self.totalSteps, self.pctStart, self.annealStrategy) = (maxLr, totalSteps, pctStart, annealStrategy)
        (self.divFactor, self.finalDivFactor, self.threePhase) = (divFactor, finalDivFactor, threePhase)
        (self.cycleMomentum, self.baseMomentum, self.maxMomentum) = (cycleMomentum, baseMomentum, maxMomentum)
        var groups = optimizer.paramGroups
        for i in groups.indices { groups[i].initialLr = maxLr / divFactor }
        optimizer.paramGroups = groups
        super.init(optimizer)
    }

    /// Sets each group's momentum (or β1) to `value` where it has one.
    private func setMomentum(_ value: Double) {
        var groups = optimizer.paramGroups
        for i in groups.indices {
            if let betas = groups[i].betas { groups[i].betas = (value, betas.1) }
            else if groups[i].momentum != nil { groups[i].momentum = value }
        }
        optimizer.paramGroups = groups
    }

    private func anneal(_ start: Double, _ end: Double, _ pct: Double) -> Double {
        switch annealStrategy {
        case .cos: end + (start - end) / 2.0 * (ember_cos(Double.pi * pct) + 1)
        case .linear: (end - start) * pct + start
        }
    }

    /// The learning rate of the phase `lastEpoch` is in; sets the momentum as a side effect, as
    /// PyTorch's `get_lr` does.
    override func learningRates() -> [Double] {
        require(lastEpoch <= totalSteps,
                "OneCycleLR: Tried to step \(lastEpoch) times. The specified number of total steps is \(totalSteps)")
        let initial = maxLr / divFactor
        let rates = [initial, maxLr, initial / finalDivFactor]
        let phases = self.phases, step = Double(lastEpoch)
        var start = 0.0
        for (k, phase) in phases.enumerated() {
            guard step <= phase.end || k == phases.count - 1 else {
                start = phase.end
                continue
            }
            let pct = (step - start) / (phase.end - start)
            if cycleMomentum { setMomentum(anneal(phase.momentum.0, phase.momentum.1, pct)) }
            return Array(repeating: anneal(rates[phase.lr.0], rates[phase.lr.1], pct), count: baseLrs.count)
        }
        return currentLrs
    }
}
