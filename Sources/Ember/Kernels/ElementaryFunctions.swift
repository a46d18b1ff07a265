import CEmberKernels
import Foundation

/// x^y in Double for the optimizers' and schedulers' hyperparameter arithmetic, through Ember's own
/// functions where they apply, so that learning rates and clipping factors are the same bits with any
/// C library: `y = 0.5` is `x.squareRoot()` (IEEE, correctly rounded), an integer `y` is
/// `ember_powi` (double-double binary powering, correctly rounded in all checked cases). Any other
/// `y` (a clipping norm type such as 1.5) falls back to `Foundation.pow`, which may differ in the last
/// bit between C libraries.
func hyperparameterPow(_ x: Double, _ y: Double) -> Double {
    if y == 0.5, x >= 0 { return x.squareRoot() }
    if y == y.rounded(), Swift.abs(y) < 0x1p62 { return ember_powi(x, Int(y)) }
    return Foundation.pow(x, y)
}
