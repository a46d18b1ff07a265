// MARK: - Elementwise functions (forward and backward together)

extension Variable {
    /// Hyperbolic tangent. Backward: `g * (1 - y²)` from the saved output.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func tanh() -> Variable {
        let y = data.tanh()
        return Variable.record("tanh", y, self, saving: y) { g, y in g.broadcasting(y, .tanhBackward, "tanh backward") }
    }

    /// Logistic sigmoid. Backward: `g * y * (1 - y)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sigmoid() -> Variable {
        let y = data.sigmoid()
        return Variable.record("sigmoid", y, self, saving: y) { g, y in g.broadcasting(y, .sigmoidBackward, "sigmoid backward") }
    }

    /// `max(x, 0)`, NaN where `x` is NaN (`torch.relu`). Backward: 0 where `x <= 0` (0 at exactly 0),
    /// else `g` (NaN inputs included), as PyTorch's `threshold_backward(grad, result, 0)`
    /// (tools/autograd/derivatives.yaml).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func relu() -> Variable {
        let x = data
        return Variable.record("relu", x.relu(), self, saving: x) { g, x in g.broadcasting(x, .reluBackward, "relu backward") }
    }

    /// `e^x`. Backward: `g * y`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func exp() -> Variable {
        let y = data.exp()
        return Variable.record("exp", y, self, saving: y) { g, y in g * y }
    }

    /// Natural logarithm. Backward: `g / x`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func log() -> Variable {
        let x = data
        return Variable.record("log", x.log(), self) { g in g / x }
    }

    /// Square root. Backward: `g / (2 y)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sqrt() -> Variable {
        let y = data.sqrt()
        return Variable.record("sqrt", y, self) { g in g.broadcasting(y, .sqrtBackward, "sqrt backward") }
    }

    /// `x * x`. Backward: `2 x g`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func squared() -> Variable {
        let x = data
        return Variable.record("squared", x.squared(), self) { g in g * (x * 2) }
    }

    /// `x^exponent` for a constant exponent. Backward: `g * (exponent * x^(exponent - 1))`, and zeros
    /// for `exponent == 0` (the derivative of `x⁰` is 0 everywhere, also at 0 where `0 · 0⁻¹` would be
    /// NaN), as PyTorch's `pow_backward` (torch/csrc/autograd/FunctionsManual.cpp:
    /// `exponent == 0 ? zeros_like(self) : grad * (exponent * self.pow(exponent - 1))`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func pow(_ exponent: Scalar) -> Variable {
        let x = data
        return Variable.record("pow", x.pow(exponent), self, attributes: .scalar(Double(exponent))) { g in
            exponent == 0 ? Tensor(zeros: x.shape) : g * x.unary(.scaledPow, exponent - 1, exponent)
        }
    }

    /// `min(max(x, min), max)`; NaN stays NaN, as `torch.clamp`. Backward: `g` where
    /// `min < x < max`, else 0: a bound is not inside the range, so `x` at a bound gets 0 (and
    /// `min == max` gives 0 everywhere), as PyTorch 2.15's `clamp_backward` with scalar bounds (the
    /// minimum-norm subgradient, pytorch/pytorch#184572 and #191142; before, PyTorch gave 1 at the
    /// bounds). An omitted bound (an infinite one) is no bound, as PyTorch's `None`: with only
    /// `min`, `g` where `x > min` (`clamp_min`'s rule), with only `max`, where `x < max`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func clamped(min: Scalar = -.infinity, max: Scalar = .infinity) -> Variable {
        let x = data
        return Variable.record("clamped", x.clamped(min: min, max: max), self, attributes: .clamp(min: Double(min), max: Double(max))) { g in
            g.broadcasting(x, .clampBackward, "clamped backward", min, max)
        }
    }
}
