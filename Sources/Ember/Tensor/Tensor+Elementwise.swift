// MARK: - Elementwise arithmetic (broadcasting like NumPy)

extension Tensor where Scalar: TensorScalar {
    func unary(_ op: UnaryKernel, _ p: Scalar = 0, _ q: Scalar = 0) -> Tensor {
        Tensor(computing: shape) { y, n in
            withBase { x in Scalar._unary(op, x, y, count: n, p, q) }
        }
    }

    /// Elementwise sum; shapes broadcast like NumPy's (stops with a message naming the operation when
    /// they do not; so do `-`, `*` and `/`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.broadcasting(rhs, .add, "add") }
    /// Elementwise difference; shapes broadcast.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.broadcasting(rhs, .subtract, "subtract") }
    /// Elementwise product; shapes broadcast.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.broadcasting(rhs, .multiply, "multiply") }
    /// Elementwise quotient; shapes broadcast.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.broadcasting(rhs, .divide, "divide") }

    /// `x + s` elementwise; same shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func + (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.unary(.addScalar, rhs) }
    /// `s + x` elementwise; same shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func + (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.unary(.addScalar, lhs) }
    /// `x - s` elementwise, computed as `x + (-s)`; same shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func - (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.unary(.addScalar, -rhs) }
    /// `s - x` elementwise; same shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func - (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.unary(.subtractFromScalar, lhs) }
    /// `x * s` elementwise; same shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func * (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.unary(.multiplyScalar, rhs) }
    /// `s * x` elementwise; same shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func * (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.unary(.multiplyScalar, lhs) }
    /// `x / s` elementwise, computed as `x * (1 / s)`; same shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func / (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.unary(.multiplyScalar, 1 / rhs) }
    /// `s / x` elementwise; same shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func / (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.unary(.divideScalar, lhs) }
    /// `-x` elementwise; same shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static prefix func - (x: Tensor) -> Tensor { x.unary(.negate) }

    /// Adds `other` (same shape) into this tensor in place.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func += (lhs: inout Tensor, rhs: Tensor) {
        require(lhs.shape == rhs.shape, "+=: expected equal shapes, got \(describe(lhs.shape)) and \(describe(rhs.shape))")
        let n = lhs.count
        guard n > 0 else { return }
        rhs.withBase { x in
            lhs.storage.withUnsafeMutableBufferPointer { y in Scalar._accumulate(x, into: y.baseAddress!, count: n) }
        }
    }

    // MARK: Functions

    /// Elementwise hyperbolic tangent.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func tanh() -> Tensor { unary(.tanh) }
    /// Elementwise logistic sigmoid `1 / (1 + exp(-x))`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sigmoid() -> Tensor { unary(.sigmoid) }
    /// Elementwise `max(x, 0)`; NaN stays NaN, as `torch.relu`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func relu() -> Tensor { unary(.relu) }
    /// Elementwise `e^x`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func exp() -> Tensor { unary(.exp) }
    /// Elementwise natural logarithm.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func log() -> Tensor { unary(.log) }
    /// Elementwise square root.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sqrt() -> Tensor { unary(.sqrt) }
    /// Elementwise `x * x`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func squared() -> Tensor { unary(.square) }
    /// Elementwise absolute value.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func abs() -> Tensor { unary(.abs) }
    /// Elementwise `x^exponent`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func pow(_ exponent: Scalar) -> Tensor { unary(.scaledPow, exponent, 1) }
    /// Elementwise `min(max(x, min), max)`; either bound may be omitted. NaN stays NaN (`torch.clamp`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func clamped(min: Scalar = -.infinity, max: Scalar = .infinity) -> Tensor {
        require(!(min > max), "clamped: expected min <= max, got \(min) > \(max)")
        return unary(.clamp, min, max)
    }
}
