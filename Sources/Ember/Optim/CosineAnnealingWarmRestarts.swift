import CEmberKernels
import Foundation

// MARK: - CosineAnnealingWarmRestarts

/// Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017), as
/// `torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`:
/// `lr = etaMin + (baseLR - etaMin)·(1 + cos(π·tCur/tI))/2`, where `tCur` counts the epochs since the
/// last restart and `tI` is the current period: `t0` at first, multiplied by `tMult` at each restart
/// (a restart happens when `tCur` reaches `tI`). Closed form; call `step()` once per epoch (or per
/// batch, with `t0` counted in batches).
public final class CosineAnnealingWarmRestarts<O: Optimizer>: LRScheduler<O> {
    /// The first period, in steps (positive).
    public let t0: Int
    /// The factor by which each period is longer than the previous one (≥ 1, default 1).
    public let tMult: Int
    /// The lowest learning rate (default 0).
    public let etaMin: Double
    /// The current period (PyTorch's `T_i`).
    public private(set) var tI: Int
    /// Steps since the last restart (PyTorch's `T_cur`).
    public private(set) var tCur: Int = -1

    /// `CosineAnnealingWarmRestarts(optimizer, T_0, T_mult=1, eta_min=0)`. Stops with PyTorch's message
    /// for `t0 <= 0` or `tMult < 1`.
    public init(_ optimizer: O, t0: Int, tMult: Int = 1, etaMin: Double = 0) {
        require(t0 > 0, "CosineAnnealingWarmRestarts: Expected positive integer T_0, but got \(t0)")
        require(tMult >= 1, "CosineAnnealingWarmRestarts: Expected integer T_mult >= 1, but got \(tMult)")
        self.t0 = t0
        self.tMult = tMult
        self.etaMin = etaMin
        self.tI = t0
        super.init(optimizer)
    }

    /// Ends a step: `tCur += 1`, restarting (`tCur -= tI`, `tI *= tMult`) when it reaches `tI`; then
    /// sets the learning rates by the formula above. (The constructor's step starts at `tCur = 0`.)
    override public func step() {
        if lastEpoch < 0 {
            tI = t0
            tCur = 0
        } else {
            tCur += 1
            if tCur >= tI {
                tCur %= tI
                tI *= tMult
            }
        }
        super.step()
    }

    override func learningRates() -> [Double] {
        baseLrs.map { etaMin + ($0 - etaMin) * (1 + ember_cos(Double.pi * Double(tCur) / Double(tI))) / 2 }
    }

    override var extraState: [String: Double] { ["T_i": Double(tI), "T_cur": Double(tCur)] }
    override var extraCounts: [String] { ["T_i", "T_cur"] }
    /// Restores `stateDict()`'s result; also throws `OptimizerStateError` for a period `T_i` below 1.
    override public func loadStateDict(_ state: [String: Double]) throws {
        if let period = state["T_i"], !(period >= 1) {
            throw OptimizerStateError(reason: "CosineAnnealingWarmRestarts: 'T_i' is \(period), expected a period of at least 1")
        }
        try super.loadStateDict(state)
    }

    override func loadExtraState(_ state: [String: Double]) {
        tI = Int(state["T_i"]!)
        tCur = Int(state["T_cur"]!)
    }
}
