// MARK: - Arithmetic with broadcasting (forward and backward together)

extension Variable {
    /// Elementwise sum; shapes broadcast like NumPy. Backward: the gradient, summed over broadcast axes.
    /// Stops with a message naming the operation when the shapes do not broadcast (as do `-`, `*`, `/`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func + (lhs: Variable, rhs: Variable) -> Variable {
        let sa = lhs.shape, sb = rhs.shape, needA = lhs.requiresGrad, needB = rhs.requiresGrad
        return record("add", lhs.data + rhs.data, lhs, rhs) { g in
            (needA ? g.summed(toShape: sa) : nil, needB ? g.summed(toShape: sb) : nil)
        }
    }

    /// Elementwise difference; shapes broadcast.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func - (lhs: Variable, rhs: Variable) -> Variable {
        let sa = lhs.shape, sb = rhs.shape, needA = lhs.requiresGrad, needB = rhs.requiresGrad
        return record("subtract", lhs.data - rhs.data, lhs, rhs) { g in
            (needA ? g.summed(toShape: sa) : nil, needB ? (-g).summed(toShape: sb) : nil)
        }
    }

    /// Elementwise product; shapes broadcast. Backward: `g * b` and `g * a`, summed over broadcast axes.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func * (lhs: Variable, rhs: Variable) -> Variable {
        let a = lhs.data, b = rhs.data
        return record("multiply", a * b, lhs, rhs, saving: a, b) { g, a, b, needA, needB in
            (needA ? (g * b).summed(toShape: a.shape) : nil, needB ? (g * a).summed(toShape: b.shape) : nil)
        }
    }

    /// Elementwise quotient; shapes broadcast. Backward: `g / b` and `-g * a / b²`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func / (lhs: Variable, rhs: Variable) -> Variable {
        let a = lhs.data, b = rhs.data
        return record("divide", a / b, lhs, rhs, saving: a, b) { g, a, b, needA, needB in
            (needA ? (g / b).summed(toShape: a.shape) : nil,
             needB ? (-(g * a) / b.squared()).summed(toShape: b.shape) : nil)
        }
    }

    /// Elementwise negation.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static prefix func - (x: Variable) -> Variable {
        record("negate", -x.data, x) { g in -g }
    }

    // MARK: With a scalar on either side

    /// `x + s` elementwise, same shape. Backward: the gradient unchanged.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func + (lhs: Variable, rhs: Scalar) -> Variable { record("addScalar", lhs.data + rhs, lhs, attributes: .scalar(Double(rhs))) { $0 } }
    /// `s + x` elementwise, same shape (`x + s`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func + (lhs: Scalar, rhs: Variable) -> Variable { rhs + lhs }
    /// `x - s` elementwise, same shape. Backward: the gradient unchanged.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func - (lhs: Variable, rhs: Scalar) -> Variable { record("subtractScalar", lhs.data - rhs, lhs, attributes: .scalar(Double(rhs))) { $0 } }
    /// `s - x` elementwise, same shape. Backward: `-g`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func - (lhs: Scalar, rhs: Variable) -> Variable { record("scalarSubtract", lhs - rhs.data, rhs, attributes: .scalar(Double(lhs))) { -$0 } }
    /// `x * s` elementwise, same shape. Backward: `g * s`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func * (lhs: Variable, rhs: Scalar) -> Variable { record("multiplyScalar", lhs.data * rhs, lhs, attributes: .scalar(Double(rhs))) { $0 * rhs } }
    /// `s * x` elementwise, same shape (`x * s`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func * (lhs: Scalar, rhs: Variable) -> Variable { rhs * lhs }
    /// `x / s` elementwise, same shape, computed as `x * (1 / s)`. Backward: `g * (1 / s)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func / (lhs: Variable, rhs: Scalar) -> Variable {
        let inverse = 1 / rhs
        return record("divideScalar", lhs.data * inverse, lhs, attributes: .scalar(Double(inverse))) { $0 * inverse }
    }
    /// `lhs / x` elementwise. Backward: `-g * lhs / x²`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func / (lhs: Scalar, rhs: Variable) -> Variable {
        let x = rhs.data
        return record("scalarDivide", lhs / x, rhs, attributes: .scalar(Double(lhs))) { g in g * (-lhs) / x.squared() }
    }

    // MARK: With a tensor constant on either side

    /// Adds a constant tensor (no gradient flows to it); shapes broadcast as `Variable + Variable`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func + (lhs: Variable, rhs: Tensor<Scalar>) -> Variable { lhs + Variable(rhs) }
    /// Adds a constant tensor (no gradient flows to it); shapes broadcast as `Variable + Variable`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func + (lhs: Tensor<Scalar>, rhs: Variable) -> Variable { Variable(lhs) + rhs }
    /// Subtracts a constant tensor (no gradient flows to it); shapes broadcast as `Variable - Variable`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func - (lhs: Variable, rhs: Tensor<Scalar>) -> Variable { lhs - Variable(rhs) }
    /// A constant tensor minus the variable; shapes broadcast as `Variable - Variable`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func - (lhs: Tensor<Scalar>, rhs: Variable) -> Variable { Variable(lhs) - rhs }
    /// Multiplies by a constant tensor (no gradient flows to it); shapes broadcast as `Variable * Variable`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func * (lhs: Variable, rhs: Tensor<Scalar>) -> Variable { lhs * Variable(rhs) }
    /// Multiplies by a constant tensor (no gradient flows to it); shapes broadcast as `Variable * Variable`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func * (lhs: Tensor<Scalar>, rhs: Variable) -> Variable { Variable(lhs) * rhs }
    /// Divides by a constant tensor (no gradient flows to it); shapes broadcast as `Variable / Variable`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func / (lhs: Variable, rhs: Tensor<Scalar>) -> Variable { lhs / Variable(rhs) }
    /// A constant tensor divided by the variable; shapes broadcast as `Variable / Variable`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func / (lhs: Tensor<Scalar>, rhs: Variable) -> Variable { Variable(lhs) / rhs }
}
