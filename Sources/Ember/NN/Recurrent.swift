// MARK: - Recurrent layers

/// The nonlinearity of `RNN`.
public enum RNNNonlinearity: String, Sendable {
    case tanh, relu
}

/// What RNN, LSTM and GRU share: configuration, PyTorch's parameters and names, and the fused
/// forward/backward node. Not used directly.
public class RecurrentLayer<Scalar: TensorScalar>: Module, TrainingModeSettable {
    let config: RecurrentConfig
    /// Whether inputs and outputs are `[B, T, F]` (the hidden state is `[L·D, B, H]` regardless).
    public let batchFirst: Bool
    /// Dropout probability on the outputs of every layer but the last, in training mode.
    public let dropout: Double
    /// Training mode (the default) applies `dropout` between layers; evaluation mode does not.
    public var isTraining = true
    /// Parameters in PyTorch's order: per layer, per direction, `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`.
    public let weights: [Variable<Scalar>]
    /// Dropout masks' generator, seeded from the default generator when the first mask is drawn.
    var generator: SeededGenerator?

    /// The number of input features per step.
    public var inputSize: Int { config.inputSize }
    /// The number of hidden units per layer and direction.
    public var hiddenSize: Int { config.hiddenSize }
    /// The number of stacked layers (default 1).
    public var numLayers: Int { config.numLayers }
    /// Whether each layer also runs the sequence backwards (D = 2); default false.
    public var bidirectional: Bool { config.bidirectional }
    /// Whether the layers have `bias_ih` and `bias_hh` (default true).
    public var bias: Bool { config.bias }

    init(mode: RecurrentMode, inputSize: Int, hiddenSize: Int, numLayers: Int, bias: Bool, batchFirst: Bool,
         dropout: Double, bidirectional: Bool, name: String) {
        require(inputSize > 0 && hiddenSize > 0 && numLayers > 0,
                     "\(name): expected positive inputSize, hiddenSize and numLayers, got \(inputSize), \(hiddenSize), \(numLayers)")
        require(dropout >= 0 && dropout <= 1, "\(name): dropout should be a number in range [0, 1], got \(dropout)")
        let config = RecurrentConfig(mode: mode, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers,
                                     bias: bias, bidirectional: bidirectional)
        self.config = config
        self.batchFirst = batchFirst
        self.dropout = dropout
        let bound = 1 / Double(hiddenSize).squareRoot()
        let gh = mode.gates * hiddenSize
        var tensors: [Tensor<Scalar>] = []
        withDefaultGenerator { g in
            for layer in 0..<numLayers {
                for _ in 0..<config.directions {
                    tensors.append(.uniformInit([gh, config.layerInputSize(layer)], bound: bound, generator: &g))
                    tensors.append(.uniformInit([gh, hiddenSize], bound: bound, generator: &g))
                    if bias {
                        tensors.append(.uniformInit([gh], bound: bound, generator: &g))
                        tensors.append(.uniformInit([gh], bound: bound, generator: &g))
                    }
                }
            }
        }
        weights = tensors.map { Variable($0, requiresGrad: true) }
    }

    /// PyTorch's names: `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, `..._reverse`.
    public func namedParameters() -> [(name: String, parameter: Variable<Scalar>)] {
        var result: [(name: String, parameter: Variable<Scalar>)] = []
        var i = 0
        for layer in 0..<config.numLayers {
            for direction in 0..<config.directions {
                let suffix = "_l\(layer)" + (direction == 1 ? "_reverse" : "")
                let kinds = config.bias ? ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] : ["weight_ih", "weight_hh"]
                for kind in kinds {
                    result.append((kind + suffix, weights[i]))
                    i += 1
                }
            }
        }
        return result
    }

    /// None: the parameters are the layer's own (`weights`).
    public func namedChildren() -> [(name: String, module: any Module)] { [] }

    /// Runs the fused node. Returns output (in the caller's layout), h_n and c_n.
    /// `weights` replaces the layer's own parameters (same order and shapes) when given; gradcheck uses it.
    func run(_ input: Variable<Scalar>, h0: Variable<Scalar>?, c0: Variable<Scalar>?, lengths: [Int]?, name: String,
             weights overrideWeights: [Variable<Scalar>]? = nil) -> (Variable<Scalar>, Variable<Scalar>, Variable<Scalar>?) {
        let weights = overrideWeights ?? self.weights
        require(weights.count == self.weights.count && zip(weights, self.weights).allSatisfy { $0.shape == $1.shape },
                     "\(name): replacement weights must match the layer's")
        if input.rank == 2 { return runUnbatched(input, h0: h0, c0: c0, lengths: lengths, name: name, weights: weights) }
        require(input.rank == 3,
                     "\(name): expected a 3-D input \(batchFirst ? "[batch, time, features]" : "[time, batch, features]") or an unbatched [time, features], got \(describe(input.shape))")
        let (T, B) = batchFirst ? (input.shape[1], input.shape[0]) : (input.shape[0], input.shape[1])
        require(input.shape[2] == config.inputSize,
                     "\(name): expected input with \(config.inputSize) features, got \(describe(input.shape))")
        require(T > 0, "\(name): expected at least one time step, got \(describe(input.shape))")
        let stateShape = [config.numLayers * config.directions, B, config.hiddenSize]
        if let h0 { require(h0.shape == stateShape, "\(name): expected hidden state \(describe(stateShape)), got \(describe(h0.shape))") }
        if let c0 { require(c0.shape == stateShape, "\(name): expected cell state \(describe(stateShape)), got \(describe(c0.shape))") }
        let lengths = lengths ?? Array(repeating: T, count: B)
        require(lengths.count == B, "\(name): expected \(B) lengths, got \(lengths.count)")
        for l in lengths { require(l >= 1 && l <= T, "\(name): lengths must be in 1...\(T), got \(l)") }

        if B == 0 {
            return fusedRecurrent(config, input: input, h0: h0, c0: c0, weights: weights, lengths: [], masks: [], batchFirst: batchFirst)
        }

        var masks: [Tensor<Scalar>] = []
        if isTraining && dropout > 0 && config.numLayers > 1 {
            let scale = Scalar(1 / (1 - dropout))
            var generator = self.generator ?? SeededGenerator(seed: withDefaultGenerator { $0.next() })
            defer { self.generator = generator }
            for _ in 0..<(config.numLayers - 1) {
                var m = [Scalar](repeating: 0, count: T * B * config.hiddenSize * config.directions)
                for i in m.indices where generator.nextUnitDouble() >= dropout { m[i] = dropout < 1 ? scale : 0 }
                masks.append(Tensor(shape: [T, B, config.hiddenSize * config.directions], scalars: m))
            }
        }
        return fusedRecurrent(config, input: input, h0: h0, c0: c0, weights: weights, lengths: lengths, masks: masks,
                              batchFirst: batchFirst)
    }

    /// PyTorch's unbatched call: `input` `[T, F]` and states `[L·D, H]` run as a batch of one, giving
    /// the output `[T, D·H]` and states `[L·D, H]` (`batchFirst` does not apply).
    private func runUnbatched(_ input: Variable<Scalar>, h0: Variable<Scalar>?, c0: Variable<Scalar>?, lengths: [Int]?, name: String,
                              weights: [Variable<Scalar>]) -> (Variable<Scalar>, Variable<Scalar>, Variable<Scalar>?) {
        let stateShape = [config.numLayers * config.directions, config.hiddenSize]
        for (state, kind) in [(h0, "hidden"), (c0, "cell")] {
            if let state {
                require(state.shape == stateShape,
                        "\(name): for an unbatched input \(describe(input.shape)), expected a \(kind) state \(describe(stateShape)), got \(describe(state.shape))")
            }
        }
        let batchAxis = batchFirst ? 0 : 1
        let (output, h, c) = run(input.expandingShape(at: batchAxis), h0: h0?.expandingShape(at: 1), c0: c0?.expandingShape(at: 1),
                                 lengths: lengths, name: name, weights: weights)
        return (output.squeezingShape(at: batchAxis), h.squeezingShape(at: 1), c?.squeezingShape(at: 1))
    }
}

// MARK: - One call for every recurrent layer

/// The state a recurrent layer starts from and ends with: `h` `[numLayers·D, B, hiddenSize]`, and for
/// an LSTM the cell state `c` of the same shape (`nil` for RNN and GRU).
public struct RecurrentState<Scalar: TensorScalar> {
    /// The hidden state `[numLayers·D, B, hiddenSize]`.
    public var h: Variable<Scalar>
    /// An LSTM's cell state `[numLayers·D, B, hiddenSize]`; nil for RNN and GRU.
    public var c: Variable<Scalar>?
    /// A state from `h` and, for an LSTM, `c` (shapes are checked when a layer is called).
    public init(h: Variable<Scalar>, c: Variable<Scalar>? = nil) {
        self.h = h
        self.c = c
    }
}

extension RecurrentLayer {
    /// A layer of `mode`'s kind with PyTorch's arguments and defaults (`RNN`'s nonlinearity comes
    /// from the mode), so code that picks the cell at run time needs no switch:
    /// `RecurrentLayer<Float>.make(.lstm, inputSize: 28, hiddenSize: 128, batchFirst: true)`.
    public static func make(_ mode: RecurrentMode, inputSize: Int, hiddenSize: Int, numLayers: Int = 1, bias: Bool = true,
                            batchFirst: Bool = false, dropout: Double = 0, bidirectional: Bool = false) -> RecurrentLayer<Scalar> {
        switch mode {
        case .rnnTanh, .rnnRelu:
            RNN(inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, nonlinearity: mode == .rnnTanh ? .tanh : .relu,
                bias: bias, batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional)
        case .lstm:
            LSTM(inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias, batchFirst: batchFirst,
                 dropout: dropout, bidirectional: bidirectional)
        case .gru:
            GRU(inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias, batchFirst: batchFirst,
                dropout: dropout, bidirectional: bidirectional)
        }
    }

    /// The kind of cell.
    public var mode: RecurrentMode { config.mode }

    /// The call every recurrent layer answers: `input` `[T, B, inputSize]` (`[B, T, inputSize]` when
    /// `batchFirst`), an optional initial `state` (zeros when `nil`; an LSTM needs `c` too) and optional
    /// `lengths`; returns the output `[T, B, D·hiddenSize]` (`[B, T, ...]` when `batchFirst`) and the
    /// final state. The same computation as `RNN`'s, `LSTM`'s and `GRU`'s own calls.
    public func callAsFunction(_ input: Variable<Scalar>, state: RecurrentState<Scalar>?, lengths: [Int]? = nil)
        -> (output: Variable<Scalar>, state: RecurrentState<Scalar>) {
        let name = mode == .lstm ? "LSTM" : (mode == .gru ? "GRU" : "RNN")
        if let state {
            require((state.c != nil) == (mode == .lstm), "\(name): " + (mode == .lstm ? "an LSTM's state needs c" : "only an LSTM's state has c"))
        }
        let (output, h, c) = run(input, h0: state?.h, c0: state?.c, lengths: lengths, name: name)
        return (output, RecurrentState(h: h, c: c))
    }

}

/// An Elman RNN, as PyTorch's `nn.RNN`: `h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)` (or relu),
/// stacked `numLayers` deep, optionally bidirectional, with dropout between layers in training mode.
///
/// Input `[T, B, inputSize]` (`[B, T, inputSize]` when `batchFirst`); optional initial state
/// `h0` `[numLayers·D, B, hiddenSize]` (D = 2 when bidirectional). Returns the output
/// `[T, B, D·hiddenSize]` (`[B, T, D·hiddenSize]` when `batchFirst`) and the final state
/// `[numLayers·D, B, hiddenSize]`. `lengths` gives each sequence's length: its final state is taken
/// at its own last step and its outputs past the end are zero (PyTorch's packed sequences).
/// An unbatched input `[T, inputSize]` (with `h0` `[numLayers·D, hiddenSize]`) gives the output
/// `[T, D·hiddenSize]` and state `[numLayers·D, hiddenSize]`, as PyTorch's; so do LSTM and GRU.
/// The whole stack over the whole sequence is one tape node with a hand-written backward.
public final class RNN<Scalar: TensorScalar>: RecurrentLayer<Scalar> {
    /// `.tanh` (the default) or `.relu`.
    public let nonlinearity: RNNNonlinearity

    /// PyTorch's `nn.RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    /// batch_first=False, dropout=0, bidirectional=False)`: every parameter initialised
    /// U(-1/sqrt(hiddenSize), 1/sqrt(hiddenSize)) from the default generator, in PyTorch's order and draws.
    /// Stops with a message unless the sizes and `numLayers` are positive and `0 <= dropout <= 1`.
    public init(inputSize: Int, hiddenSize: Int, numLayers: Int = 1, nonlinearity: RNNNonlinearity = .tanh,
                bias: Bool = true, batchFirst: Bool = false, dropout: Double = 0, bidirectional: Bool = false) {
        self.nonlinearity = nonlinearity
        super.init(mode: nonlinearity == .tanh ? .rnnTanh : .rnnRelu, inputSize: inputSize, hiddenSize: hiddenSize,
                   numLayers: numLayers, bias: bias, batchFirst: batchFirst, dropout: dropout,
                   bidirectional: bidirectional, name: "RNN")
    }

    /// `(output, h_n)`; shapes in the type's documentation.
    public func callAsFunction(_ input: Variable<Scalar>, _ h0: Variable<Scalar>? = nil, lengths: [Int]? = nil)
        -> (output: Variable<Scalar>, hidden: Variable<Scalar>) {
        let (out, h, _) = run(input, h0: h0, c0: nil, lengths: lengths, name: "RNN")
        return (out, h)
    }
}

/// A long short-term memory layer, as PyTorch's `nn.LSTM` (gate order i, f, g, o):
/// `c_t = f ⊙ c_{t-1} + i ⊙ g`, `h_t = o ⊙ tanh(c_t)`. Shapes as `RNN`, with a cell state beside
/// the hidden state: returns `(output, (h_n, c_n))`.
public final class LSTM<Scalar: TensorScalar>: RecurrentLayer<Scalar> {
    /// PyTorch's `nn.LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0,
    /// bidirectional=False)` (no `proj_size`); initialised as `RNN`, with the same checks.
    public init(inputSize: Int, hiddenSize: Int, numLayers: Int = 1, bias: Bool = true, batchFirst: Bool = false,
                dropout: Double = 0, bidirectional: Bool = false) {
        super.init(mode: .lstm, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
                   batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional, name: "LSTM")
    }

    /// `(output, (h_n, c_n))`; `state` is `(h0, c0)`, each `[numLayers·D, B, hiddenSize]`.
    public func callAsFunction(_ input: Variable<Scalar>, _ state: (Variable<Scalar>, Variable<Scalar>)? = nil,
                               lengths: [Int]? = nil) -> (output: Variable<Scalar>, state: (h: Variable<Scalar>, c: Variable<Scalar>)) {
        let (out, h, c) = run(input, h0: state?.0, c0: state?.1, lengths: lengths, name: "LSTM")
        return (out, (h, c!))
    }
}

/// A gated recurrent unit layer, as PyTorch's `nn.GRU` (gate order r, z, n):
/// `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`, `h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}`. Shapes as `RNN`.
public final class GRU<Scalar: TensorScalar>: RecurrentLayer<Scalar> {
    /// PyTorch's `nn.GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0,
    /// bidirectional=False)`; initialised as `RNN`, with the same checks.
    public init(inputSize: Int, hiddenSize: Int, numLayers: Int = 1, bias: Bool = true, batchFirst: Bool = false,
                dropout: Double = 0, bidirectional: Bool = false) {
        super.init(mode: .gru, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
                   batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional, name: "GRU")
    }

    /// `(output, h_n)`; shapes as `RNN`.
    public func callAsFunction(_ input: Variable<Scalar>, _ h0: Variable<Scalar>? = nil, lengths: [Int]? = nil)
        -> (output: Variable<Scalar>, hidden: Variable<Scalar>) {
        let (out, h, _) = run(input, h0: h0, c0: nil, lengths: lengths, name: "GRU")
        return (out, h)
    }
}
