// MARK: - Linear

/// `y = x · weightᵀ + bias`, PyTorch's `nn.Linear`: input `[.., inFeatures]`, output `[.., outFeatures]`.
/// Parameters `weight` `[outFeatures, inFeatures]` and `bias` `[outFeatures]`, both initialised
/// U(-1/sqrt(inFeatures), 1/sqrt(inFeatures)) from the default generator (see `manualSeed`), with
/// PyTorch's draws: the same seed gives the same weights as `nn.Linear`.
public final class Linear<Scalar: TensorScalar>: Layer {
    /// `[outFeatures, inFeatures]`.
    public let weight: Variable<Scalar>
    /// `[outFeatures]`, or nil when created with `bias: false`.
    public let bias: Variable<Scalar>?

    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        require(inFeatures > 0 && outFeatures > 0, "Linear: expected positive sizes, got inFeatures \(inFeatures), outFeatures \(outFeatures)")
        let bound = 1 / Double(inFeatures).squareRoot()
        let (w, b) = withDefaultGenerator { g in
            (Tensor<Scalar>.kaimingUniformInit([outFeatures, inFeatures], fanIn: inFeatures, generator: &g),
             bias ? Tensor<Scalar>.uniformInit([outFeatures], bound: bound, generator: &g) : nil)
        }
        self.weight = Variable(w, requiresGrad: true)
        self.bias = b.map { Variable($0, requiresGrad: true) }
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// `[.., inFeatures]` → `[.., outFeatures]`.
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
        linear(input, weight: weight, bias: bias)
    }
}

// MARK: - Activations

/// `max(x, 0)` as a module; any shape.
public final class ReLU<Scalar: TensorScalar>: Layer {
    public init() {}
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { input.relu() }
}

/// `tanh(x)` as a module; any shape.
public final class Tanh<Scalar: TensorScalar>: Layer {
    public init() {}
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { input.tanh() }
}

/// `1 / (1 + e^-x)` as a module; any shape.
public final class Sigmoid<Scalar: TensorScalar>: Layer {
    public init() {}
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { input.sigmoid() }
}

// MARK: - Sequential

/// Layers applied in order; parameters named by position (`"0.weight"`, `"2.bias"`), as PyTorch's.
public final class Sequential<Scalar: TensorScalar>: Layer {
    public let layers: [any Layer<Scalar>]

    public init(_ layers: [any Layer<Scalar>]) { self.layers = layers }
    public convenience init(_ layers: any Layer<Scalar>...) { self.init(layers) }

    public func namedChildren() -> [(name: String, module: any Module)] {
        layers.enumerated().map { ("\($0.offset)", $0.element) }
    }

    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
        layers.reduce(input) { $1($0) }
    }
}

// MARK: - Dropout

/// Zeroes each element with probability `p` in training mode and scales the rest by `1/(1-p)`;
/// the identity in evaluation mode. Masks come from the module's own generator, seeded from `seed`,
/// or else from the default generator the first time a mask is drawn (so creating a Dropout, like
/// creating `nn.Dropout`, leaves the default generator where it was), so runs reproduce. Any shape.
public final class Dropout<Scalar: TensorScalar>: Layer, TrainingModeSettable {
    public let p: Double
    public var isTraining = true
    var generator: SeededGenerator?

    public init(p: Double = 0.5, seed: UInt64? = nil) {
        require(p >= 0 && p <= 1, "Dropout: expected a probability in [0, 1], got \(p)")
        self.p = p
        self.generator = seed.map { SeededGenerator(seed: $0) }
    }

    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
        guard isTraining, p > 0 else { return input }
        if p == 1 { return input * Tensor<Scalar>(zeros: input.shape) }
        let scale = Scalar(1 / (1 - p))
        var mask = [Scalar](repeating: 0, count: input.data.count)
        var g = generator ?? SeededGenerator(seed: withDefaultGenerator { $0.next() })
        defer { generator = g }
        for i in mask.indices where g.nextUnitDouble() >= p { mask[i] = scale }
        return input * Tensor(shape: input.shape, scalars: mask)
    }
}

// MARK: - Embedding

/// A lookup table: index `i` gives row `i` of `weight` `[numEmbeddings, embeddingDim]`, initialised
/// N(0, 1) as in PyTorch. Indices `[n]` give `[n, embeddingDim]`; `[[Int]]` of `[B][T]` gives `[B, T, embeddingDim]`.
public final class Embedding<Scalar: TensorScalar>: Module {
    /// `[numEmbeddings, embeddingDim]`.
    public let weight: Variable<Scalar>

    public init(numEmbeddings: Int, embeddingDim: Int) {
        require(numEmbeddings > 0 && embeddingDim > 0, "Embedding: expected positive sizes, got \(numEmbeddings), \(embeddingDim)")
        weight = Variable(withDefaultGenerator { Tensor<Scalar>(randomNormal: [numEmbeddings, embeddingDim], generator: &$0) }, requiresGrad: true)
    }

    /// Rows of `weight` for `indices`: `[indices.count, embeddingDim]`. Backward: rows added into the table's gradient.
    public func callAsFunction(_ indices: [Int]) -> Variable<Scalar> { embeddingLookup(weight, indices) }

    /// `[B][T]` indices → `[B, T, embeddingDim]`.
    public func callAsFunction(_ indices: [[Int]]) -> Variable<Scalar> {
        let t = indices.first?.count ?? 0
        require(indices.allSatisfy { $0.count == t }, "Embedding: expected rows of equal length")
        return embeddingLookup(weight, indices.flatMap { $0 }).reshaped(to: [indices.count, t, weight.shape[1]])
    }
}

/// Gathers rows of `table` `[n, d]` → `[indices.count, d]`. Backward: scatter-add into the table.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func embeddingLookup<Scalar>(_ table: Variable<Scalar>, _ indices: [Int]) -> Variable<Scalar> {
    let w = table.data
    require(w.rank == 2, "embeddingLookup: expected a [n, d] table, got \(describe(w.shape))")
    let (n, d) = (w.shape[0], w.shape[1])
    for i in indices { require(i >= 0 && i < n, "embeddingLookup: index \(i) is out of range for a table of \(n) rows") }
    let y = Tensor<Scalar>(computing: [indices.count, d]) { out, _ in
        w.withBase { src in
            for (row, i) in indices.enumerated() { (out + row * d).update(from: src + i * d, count: d) }
        }
    }
    return Variable.record("embedding", y, table) { g in
        var grad = Tensor<Scalar>(zeros: [n, d])
        g.withBase { pg in
            grad.withUnsafeMutableBufferPointer { gw in
                for (row, i) in indices.enumerated() { Scalar._accumulate(pg + row * d, into: gw.baseAddress! + i * d, count: d) }
            }
        }
        return grad
    }
}
