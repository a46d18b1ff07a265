// MARK: - MultiheadAttention

/// Multi-head attention, PyTorch's `nn.MultiheadAttention` (Vaswani et al., "Attention Is All You
/// Need", 2017, section 3.2.2):
///
///     headᵢ = softmax(Qᵢ Kᵢᵀ / √d + mask) Vᵢ,   Q = query·W_qᵀ + b_q,  K = key·W_kᵀ + b_k,  V = value·W_vᵀ + b_v
///     out   = concat(head₁, …, head_H) · out_proj.weightᵀ + out_proj.bias
///
/// with `d = embedDim / numHeads` and `W_q, W_k, W_v` the three `[E, E]` row blocks of
/// `in_proj_weight` (`b_q, b_k, b_v` of `in_proj_bias`), head `i` using columns `i·d..<(i+1)·d`.
///
/// Shapes (`E = embedDim`, `L` queries, `S` keys, `B` batch): with `batchFirst` query `[B, L, E]`,
/// key and value `[B, S, E]`, output `[B, L, E]`; without (PyTorch's default) `[L, B, E]`, `[S, B, E]`
/// and `[L, B, E]`; unbatched `[L, E]`, `[S, E]` → `[L, E]`. Attention weights are always batch
/// first: `[B, L, S]` averaged over heads (or `[B, H, L, S]`), `[L, S]` unbatched.
///
/// Parameters with PyTorch's state-dict names: `in_proj_weight` `[3E, E]` (xavier_uniform_),
/// `in_proj_bias` `[3E]` (zeros), and the child Linear `out_proj` (`out_proj.weight` `[E, E]` with
/// Linear's initialisation, `out_proj.bias` zeros); drawn from the default generator in PyTorch's
/// order (out_proj's weight and bias, then in_proj_weight), so `manualSeed(s)` gives PyTorch's
/// weights. Not supported: `add_bias_kv`, `add_zero_attn`, `kdim`/`vdim` different from `embedDim`.
///
/// ```swift
/// let mha = MultiheadAttention<Float>(embedDim: 8, numHeads: 2, batchFirst: true)
/// let (attended, weights) = mha(x, x, x, keyPaddingMask: padMask)   // x [B, T, 8], padMask [B, T]
/// ```
public final class MultiheadAttention<Scalar: TensorScalar>: Module, TrainingModeSettable {
    /// `E`, the size of each query, key, value and output vector.
    public let embedDim: Int
    /// `H`; each head attends with `embedDim / numHeads` dimensions.
    public let numHeads: Int
    /// Whether inputs and output are `[B, T, E]` (else `[T, B, E]`).
    public let batchFirst: Bool
    /// The probability of dropping an attention weight in training mode (PyTorch's `dropout`).
    public let dropout: Double
    /// Training mode applies `dropout` to the attention weights; evaluation mode does not.
    public var isTraining = true
    /// `in_proj_weight` `[3E, E]`: the query, key and value projections stacked.
    public let inProjWeight: Variable<Scalar>
    /// `in_proj_bias` `[3E]`, or nil when created with `bias: false`.
    public let inProjBias: Variable<Scalar>?
    /// `out_proj`: Linear(E → E), with a bias unless created with `bias: false`.
    public let outProj: Linear<Scalar>
    let attentionDropout: Dropout<Scalar>

    /// PyTorch's `nn.MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True,
    /// batch_first=False)`, initialised from the default generator as the type describes. Stops with
    /// a message unless both sizes are positive, `embedDim` is divisible by `numHeads` and
    /// `0 <= dropout <= 1`.
    public init(embedDim: Int, numHeads: Int, dropout: Double = 0, bias: Bool = true, batchFirst: Bool = false) {
        require(embedDim > 0 && numHeads > 0,
                "MultiheadAttention: expected positive sizes, got embedDim \(embedDim), numHeads \(numHeads)")
        require(embedDim % numHeads == 0,
                "MultiheadAttention: embedDim \(embedDim) must be divisible by numHeads \(numHeads)")
        require(dropout >= 0 && dropout <= 1, "MultiheadAttention: expected dropout in [0, 1], got \(dropout)")
        self.embedDim = embedDim
        self.numHeads = numHeads
        self.batchFirst = batchFirst
        self.dropout = dropout
        attentionDropout = Dropout(p: dropout)
        // PyTorch's order: out_proj is built (drawing its weight and bias) before _reset_parameters
        // draws in_proj_weight; then both biases are set to zero.
        outProj = Linear(inFeatures: embedDim, outFeatures: embedDim, bias: bias)
        let w = withDefaultGenerator { g in Tensor<Scalar>.xavierUniformInit([3 * embedDim, embedDim], generator: &g) }
        inProjWeight = Variable(w, requiresGrad: true)
        inProjBias = bias ? Variable(Tensor(zeros: [3 * embedDim]), requiresGrad: true) : nil
        outProj.bias?.data = Tensor(zeros: [embedDim])
    }

    /// `in_proj_weight`, `in_proj_bias`, `out_proj.weight`, `out_proj.bias` (PyTorch's names and order).
    public func namedParameters() -> [(name: String, parameter: Variable<Scalar>)] {
        var result: [(name: String, parameter: Variable<Scalar>)] = [(name: "in_proj_weight", parameter: inProjWeight)]
        if let inProjBias { result.append((name: "in_proj_bias", parameter: inProjBias)) }
        for (name, p) in outProj.namedParameters() { result.append((name: "out_proj.\(name)", parameter: p)) }
        return result
    }

    /// `out_proj`, PyTorch's only submodule of `nn.MultiheadAttention`.
    public func namedChildren() -> [(name: String, module: any Module)] { [(name: "out_proj", module: outProj)] }

    /// Attends from `query` to `key`/`value` (shapes in the type's description) and returns the
    /// output and, when `needWeights`, the attention weights (nil otherwise).
    ///
    /// - `keyPaddingMask`: `[B, S]` (`[S]` unbatched), `true` where a key is padding and must not be
    ///   attended to (its score becomes `-inf`).
    /// - `attnMask`: `[L, S]` or `[B·H, L, S]`, `true` where query `l` must not attend to key `s`
    ///   (PyTorch's boolean `attn_mask`; e.g. a causal mask).
    /// - `averageAttnWeights`: weights averaged over heads `[B, L, S]` (default) or per head `[B, H, L, S]`.
    ///
    /// A query whose every key is masked: as PyTorch 2.15, its output row and attention weights are
    /// NaN when `needWeights` (the softmax of only `-inf`; the NaN reaches every gradient it touches),
    /// and its attention is all zeros (output = `out_proj.bias`, zero gradients through it) when
    /// `needWeights` is false, where PyTorch's scaled-dot-product path uses a "safe" softmax.
    /// Stops with a message when shapes disagree (naming them).
    public func callAsFunction(_ query: Variable<Scalar>, _ key: Variable<Scalar>, _ value: Variable<Scalar>,
                               keyPaddingMask: Tensor<Bool>? = nil, needWeights: Bool = true,
                               attnMask: Tensor<Bool>? = nil, averageAttnWeights: Bool = true)
        -> (Variable<Scalar>, Variable<Scalar>?) {
        let unbatched = query.rank == 2
        var (q, k, v) = (query, key, value)
        var padding = keyPaddingMask
        if unbatched {
            require(key.rank == 2 && value.rank == 2,
                    "MultiheadAttention: unbatched query \(describe(query.shape)) needs unbatched key and value [S, \(embedDim)], got \(describe(key.shape)) and \(describe(value.shape))")
            (q, k, v) = (q.expandingShape(at: 0), k.expandingShape(at: 0), v.expandingShape(at: 0))
            if let p = padding {
                require(p.shape.count == 1, "MultiheadAttention: expected keyPaddingMask [S] for unbatched input, got \(describe(p.shape))")
                padding = p.reshaped(to: [1] + p.shape)
            }
        } else {
            require(query.rank == 3 && key.rank == 3 && value.rank == 3,
                    "MultiheadAttention: expected query, key and value of rank 3 (or all rank 2), got \(describe(query.shape)), \(describe(key.shape)), \(describe(value.shape))")
            if !batchFirst { (q, k, v) = (q.transposed(0, 1), k.transposed(0, 1), v.transposed(0, 1)) }
        }
        checkShapes(q.shape, k.shape, v.shape, padding: padding, attention: attnMask)
        let (out, weights) = attendBatchFirst(q, k, v, padding: padding, attention: attnMask,
                                              safeRows: !needWeights, averageWeights: averageAttnWeights)
        let output = unbatched ? out.squeezingShape(at: 0) : (batchFirst ? out : out.transposed(0, 1))
        guard needWeights else { return (output, nil) }
        return (output, unbatched ? weights.squeezingShape(at: 0) : weights)
    }

    /// `q [B, L, E]`, `k`, `v [B, S, E]` → output `[B, L, E]`, weights `[B, L, S]` or `[B, H, L, S]`.
    private func attendBatchFirst(_ query: Variable<Scalar>, _ key: Variable<Scalar>, _ value: Variable<Scalar>,
                                  padding: Tensor<Bool>?, attention: Tensor<Bool>?, safeRows: Bool,
                                  averageWeights: Bool) -> (Variable<Scalar>, Variable<Scalar>) {
        let e = embedDim, h = numHeads, d = embedDim / numHeads
        let (b, l, s) = (query.shape[0], query.shape[1], key.shape[1])
        func project(_ x: Variable<Scalar>, _ block: Int) -> Variable<Scalar> {
            let w = inProjWeight.narrow(axis: 0, start: block * e, length: e)
            let bias = inProjBias?.narrow(axis: 0, start: block * e, length: e)
            let length = x.shape[1]
            // [B, T, E] -> [B, T, H, d] -> [B, H, T, d] -> [B·H, T, d]
            return linear(x, weight: w, bias: bias).reshaped(to: [b, length, h, d]).permuted([0, 2, 1, 3])
                .reshaped(to: [b * h, length, d])
        }
        let mask = padding == nil && attention == nil ? nil
            : AttentionMask<Scalar>(batch: b, heads: h, queries: l, keys: s, keyPadding: padding,
                                    attention: attention, zeroFullyMaskedRows: safeRows)
        let dropout: ((Variable<Scalar>) -> Variable<Scalar>)? = isTraining && self.dropout > 0 ? { self.attentionDropout($0) } : nil
        let (heads, weights) = scaledDotProductAttention(project(query, 0), project(key, 1), project(value, 2),
                                                         heads: h, mask: mask, dropout: dropout)
        let merged = heads.reshaped(to: [b, h, l, d]).permuted([0, 2, 1, 3]).reshaped(to: [b, l, e])
        return (outProj(merged), averageWeights ? weights.mean(axis: 1) : weights)
    }

    private func checkShapes(_ q: [Int], _ k: [Int], _ v: [Int], padding: Tensor<Bool>?, attention: Tensor<Bool>?) {
        let layout = batchFirst ? "[B, T, E]" : "[T, B, E]"
        require(q[2] == embedDim && k[2] == embedDim && v[2] == embedDim,
                "MultiheadAttention: expected embedding size \(embedDim) for query, key and value (\(layout)), got \(describe(q)), \(describe(k)), \(describe(v)) as [B, T, E]")
        require(k == v, "MultiheadAttention: key \(describe(k)) and value \(describe(v)) must have the same shape (as [B, S, E])")
        require(q[0] == k[0], "MultiheadAttention: query and key batch sizes differ: \(describe(q)) and \(describe(k)) as [B, T, E]")
        if let p = padding {
            require(p.shape == [q[0], k[1]],
                    "MultiheadAttention: expected keyPaddingMask [B, S] = \(describe([q[0], k[1]])), got \(describe(p.shape))")
        }
        if let a = attention {
            let planes = [[q[1], k[1]], [q[0] * numHeads, q[1], k[1]]]
            require(planes.contains(a.shape),
                    "MultiheadAttention: expected attnMask [L, S] = \(describe(planes[0])) or [B·H, L, S] = \(describe(planes[1])), got \(describe(a.shape))")
        }
    }
}

extension Tensor where Scalar: TensorScalar {
    /// `xavier_uniform_(tensor)` in PyTorch (Glorot and Bengio, 2010), gain 1: U(-a, a) with
    /// `a = √3 · √(2 / (fanIn + fanOut))`, fanIn = `shape[1]`, fanOut = `shape[0]` for a matrix,
    /// evaluated in Double in PyTorch's order.
    static func xavierUniformInit(_ shape: [Int], generator: inout TorchGenerator) -> Tensor {
        let fanIn = shape[1] * shape.dropFirst(2).reduce(1, *), fanOut = shape[0] * shape.dropFirst(2).reduce(1, *)
        let std = 1.0 * (2.0 / Double(fanIn + fanOut)).squareRoot()
        return uniformInit(shape, bound: Double(3).squareRoot() * std, generator: &generator)
    }
}
