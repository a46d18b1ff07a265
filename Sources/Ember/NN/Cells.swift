// MARK: - Recurrent cells (one step, composed from primitive ops)

/// Shared parameters of the cells: `weight_ih` `[G·H, inputSize]`, `weight_hh` `[G·H, H]`,
/// `bias_ih`, `bias_hh` `[G·H]`, initialised U(-1/sqrt(H), 1/sqrt(H)) as in PyTorch.
public class RecurrentCell<Scalar: TensorScalar>: Module {
    /// Input-to-hidden weights `[G·hiddenSize, inputSize]`: G = 1 for RNN, 4 for LSTM, 3 for GRU, the
    /// gates stacked in PyTorch's order.
    public let weight_ih: Variable<Scalar>
    /// Hidden-to-hidden weights `[G·hiddenSize, hiddenSize]`.
    public let weight_hh: Variable<Scalar>
    /// Input-side bias `[G·hiddenSize]`, or nil when created with `bias: false`.
    public let bias_ih: Variable<Scalar>?
    /// Hidden-side bias `[G·hiddenSize]`, or nil when created with `bias: false`.
    public let bias_hh: Variable<Scalar>?
    /// The number of input features (`weight_ih.shape[1]`).
    public var inputSize: Int { weight_ih.shape[1] }
    /// The number of hidden units (`weight_hh.shape[1]`).
    public var hiddenSize: Int { weight_hh.shape[1] }

    init(gates: Int, inputSize: Int, hiddenSize: Int, bias: Bool, name: String) {
        require(inputSize > 0 && hiddenSize > 0, "\(name): expected positive sizes, got \(inputSize), \(hiddenSize)")
        let bound = 1 / Double(hiddenSize).squareRoot(), gh = gates * hiddenSize
        let t = withDefaultGenerator { g in
            (Tensor<Scalar>.uniformInit([gh, inputSize], bound: bound, generator: &g),
             Tensor<Scalar>.uniformInit([gh, hiddenSize], bound: bound, generator: &g),
             bias ? Tensor<Scalar>.uniformInit([gh], bound: bound, generator: &g) : nil,
             bias ? Tensor<Scalar>.uniformInit([gh], bound: bound, generator: &g) : nil)
        }
        weight_ih = Variable(t.0, requiresGrad: true)
        weight_hh = Variable(t.1, requiresGrad: true)
        bias_ih = t.2.map { Variable($0, requiresGrad: true) }
        bias_hh = t.3.map { Variable($0, requiresGrad: true) }
    }

    /// `[x W_ihᵀ + b_ih, h W_hhᵀ + b_hh]`, each `[B, G·H]`.
    func projections(_ x: Variable<Scalar>, _ h: Variable<Scalar>) -> (Variable<Scalar>, Variable<Scalar>) {
        (linear(x, weight: weight_ih, bias: bias_ih), linear(h, weight: weight_hh, bias: bias_hh))
    }

    func zeroState(_ x: Variable<Scalar>) -> Variable<Scalar> { Variable(Tensor(zeros: [x.shape[0], hiddenSize])) }
}

/// One step of `RNN`: input `[B, inputSize]`, state `[B, hiddenSize]` (zeros if omitted) → new state.
public final class RNNCell<Scalar: TensorScalar>: RecurrentCell<Scalar> {
    /// `.tanh` (the default) or `.relu`.
    public let nonlinearity: RNNNonlinearity
    /// PyTorch's `nn.RNNCell(input_size, hidden_size, bias=True, nonlinearity='tanh')`: parameters
    /// initialised U(-1/sqrt(hiddenSize), 1/sqrt(hiddenSize)) from the default generator. Stops with a
    /// message unless both sizes are positive.
    public init(inputSize: Int, hiddenSize: Int, bias: Bool = true, nonlinearity: RNNNonlinearity = .tanh) {
        self.nonlinearity = nonlinearity
        super.init(gates: 1, inputSize: inputSize, hiddenSize: hiddenSize, bias: bias, name: "RNNCell")
    }

    /// `h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)` (or relu): `input` `[B, inputSize]`, `hidden`
    /// `[B, hiddenSize]` (zeros when nil) → `[B, hiddenSize]`. Recorded as primitive ops.
    public func callAsFunction(_ input: Variable<Scalar>, _ hidden: Variable<Scalar>? = nil) -> Variable<Scalar> {
        let (a, b) = projections(input, hidden ?? zeroState(input))
        return nonlinearity == .tanh ? (a + b).tanh() : (a + b).relu()
    }
}

/// One step of `LSTM` (gates i, f, g, o): input `[B, inputSize]`, state `(h, c)` each `[B, hiddenSize]`.
public final class LSTMCell<Scalar: TensorScalar>: RecurrentCell<Scalar> {
    /// PyTorch's `nn.LSTMCell(input_size, hidden_size, bias=True)`: parameters initialised
    /// U(-1/sqrt(hiddenSize), 1/sqrt(hiddenSize)) from the default generator. Stops with a message unless
    /// both sizes are positive.
    public init(inputSize: Int, hiddenSize: Int, bias: Bool = true) {
        super.init(gates: 4, inputSize: inputSize, hiddenSize: hiddenSize, bias: bias, name: "LSTMCell")
    }

    /// `c' = f ⊙ c + i ⊙ g`, `h' = o ⊙ tanh(c')` (PyTorch's `nn.LSTMCell` formulas): `input` `[B, inputSize]`,
    /// `state` `(h, c)` each `[B, hiddenSize]` (zeros when nil) → `(h', c')`, each `[B, hiddenSize]`.
    public func callAsFunction(_ input: Variable<Scalar>, _ state: (Variable<Scalar>, Variable<Scalar>)? = nil)
        -> (h: Variable<Scalar>, c: Variable<Scalar>) {
        let h = state?.0 ?? zeroState(input), c = state?.1 ?? zeroState(input)
        let (a, b) = projections(input, h)
        let z = a + b, H = hiddenSize
        let i = z.narrow(axis: 1, start: 0, length: H).sigmoid()
        let f = z.narrow(axis: 1, start: H, length: H).sigmoid()
        let g = z.narrow(axis: 1, start: 2 * H, length: H).tanh()
        let o = z.narrow(axis: 1, start: 3 * H, length: H).sigmoid()
        let c2 = f * c + i * g
        return (o * c2.tanh(), c2)
    }
}

/// One step of `GRU` (gates r, z, n): input `[B, inputSize]`, state `[B, hiddenSize]` → new state.
public final class GRUCell<Scalar: TensorScalar>: RecurrentCell<Scalar> {
    /// PyTorch's `nn.GRUCell(input_size, hidden_size, bias=True)`: parameters initialised
    /// U(-1/sqrt(hiddenSize), 1/sqrt(hiddenSize)) from the default generator. Stops with a message unless
    /// both sizes are positive.
    public init(inputSize: Int, hiddenSize: Int, bias: Bool = true) {
        super.init(gates: 3, inputSize: inputSize, hiddenSize: hiddenSize, bias: bias, name: "GRUCell")
    }

    /// `n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))`, `h' = (1 - z) ⊙ n + z ⊙ h` (PyTorch's `nn.GRUCell`):
    /// `input` `[B, inputSize]`, `hidden` `[B, hiddenSize]` (zeros when nil) → `[B, hiddenSize]`.
    public func callAsFunction(_ input: Variable<Scalar>, _ hidden: Variable<Scalar>? = nil) -> Variable<Scalar> {
        let h = hidden ?? zeroState(input)
        let (a, b) = projections(input, h)
        let H = hiddenSize
        let r = (a.narrow(axis: 1, start: 0, length: H) + b.narrow(axis: 1, start: 0, length: H)).sigmoid()
        let z = (a.narrow(axis: 1, start: H, length: H) + b.narrow(axis: 1, start: H, length: H)).sigmoid()
        let n = (a.narrow(axis: 1, start: 2 * H, length: H) + r * b.narrow(axis: 1, start: 2 * H, length: H)).tanh()
        return (1 - z) * n + z * h
    }
}
