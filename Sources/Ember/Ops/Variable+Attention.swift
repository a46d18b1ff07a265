// MARK: - Scaled dot-product attention (composed from differentiable ops)

/// Where attention may not look, as the additive mask PyTorch builds: 0 where a key is allowed,
/// `-inf` where it is masked, shaped `[B, Hm, Lm, S]` to broadcast over scores `[B, H, L, S]`
/// (`Hm` is `H` for a per-head attention mask, else 1; `Lm` is `L` when there is an attention mask,
/// else 1).
struct AttentionMask<Scalar: TensorScalar> {
    var additive: Tensor<Scalar>
    /// The boolean masks it was built from, for exporters (the nodes that apply it record this).
    let trace: AttentionMaskTrace
    /// `[B, Hm, Lm, 1]`: 0 for the rows whose every key is masked, 1 for the others; nil when the
    /// mask was built without `zeroFullyMaskedRows` or no row is fully masked.
    var keep: Tensor<Scalar>?

    /// `keyPadding` is `[B, S]`, `attention` `[L, S]` or `[B·H, L, S]` (checked by the caller), both
    /// `true` where a key is masked.
    /// With `zeroFullyMaskedRows`, a row with every key masked gets 0 instead of `-inf` in `additive`
    /// and 0 in `keep`, so its softmax is finite and multiplying by `keep` makes its weights 0.
    init(batch: Int, heads: Int, queries: Int, keys: Int, keyPadding: Tensor<Bool>?,
         attention: Tensor<Bool>?, zeroFullyMaskedRows: Bool) {
        let perHead = attention?.shape.count == 3
        let hm = perHead ? heads : 1, lm = attention == nil ? 1 : queries
        var values = [Scalar](repeating: 0, count: batch * hm * lm * keys)
        var keepRows = [Scalar](repeating: 1, count: batch * hm * lm)
        var anyFullyMasked = false
        for b in 0..<batch {
            for h in 0..<hm {
                for l in 0..<lm {
                    let row = (b * hm + h) * lm + l
                    var allMasked = true
                    for s in 0..<keys {
                        var masked = keyPadding?.scalars[b * keys + s] ?? false
                        if let attention {
                            let plane = perHead ? b * heads + h : 0
                            masked = masked || attention.scalars[(plane * queries + l) * keys + s]
                        }
                        if masked { values[row * keys + s] = -.infinity } else { allMasked = false }
                    }
                    if allMasked && zeroFullyMaskedRows && keys > 0 {
                        anyFullyMasked = true
                        keepRows[row] = 0
                        for s in 0..<keys { values[row * keys + s] = 0 }
                    }
                }
            }
        }
        trace = AttentionMaskTrace(keyPadding: keyPadding, attention: attention, heads: heads,
                                   zeroFullyMaskedRows: zeroFullyMaskedRows)
        additive = Tensor(shape: [batch, hm, lm, keys], scalars: values)
        keep = anyFullyMasked ? Tensor(shape: [batch, hm, lm, 1], scalars: keepRows) : nil
    }
}

/// `softmax(q·kᵀ/√d + mask) · v` per batch element and head (Vaswani et al., "Attention Is All You
/// Need", 2017, eq. 1), composed from differentiable ops as PyTorch's
/// `multi_head_attention_forward` computes it: `q` scaled by `√(1/d)` first, the mask added to the
/// scores, softmax over the keys, `dropout` (if given) on the weights, then the product with `v`.
///
/// `q` is `[B·H, L, d]`, `k` `[B·H, S, d]`, `v` `[B·H, S, d]`, heads varying fastest within a batch
/// element. Returns the attended values `[B·H, L, d]` and the weights `[B, H, L, S]` (after
/// dropout, as PyTorch returns them). A row whose keys are all masked gives NaN (softmax of only
/// `-inf`), unless the mask zeroes such rows (see `AttentionMask`).
func scaledDotProductAttention<Scalar>(_ q: Variable<Scalar>, _ k: Variable<Scalar>, _ v: Variable<Scalar>,
                                       heads: Int, mask: AttentionMask<Scalar>?,
                                       dropout: ((Variable<Scalar>) -> Variable<Scalar>)? = nil)
    -> (output: Variable<Scalar>, weights: Variable<Scalar>) {
    let (bh, l, d) = (q.shape[0], q.shape[1], q.shape[2]), s = k.shape[1]
    let scale = Scalar((1 / Double(d)).squareRoot())
    var scores = (q * scale).matmul(k.transposed(1, 2)).reshaped(to: [bh / heads, heads, l, s])
    if let mask { scores = scores.addingAttentionMask(mask) }
    var weights = scores.softmax(axis: -1)
    if let mask, mask.trace.zeroFullyMaskedRows { weights = weights.zeroingFullyMaskedRows(mask) }
    if let dropout { weights = dropout(weights) }
    let output = weights.reshaped(to: [bh, l, s]).matmul(v)
    return (output, weights)
}

/// What an attention mask was built from, kept on the nodes that apply it (`.opaque`) so that
/// `exportONNX` can rebuild the mask in the graph from the boolean masks (graph inputs there).
final class AttentionMaskTrace {
    /// `[B, S]`, true where a key is padding.
    let keyPadding: Tensor<Bool>?
    /// `[L, S]` or `[B·H, L, S]`, true where a query may not attend to a key.
    let attention: Tensor<Bool>?
    /// `H`.
    let heads: Int
    /// Whether rows with every key masked get zero weights (see `AttentionMask`).
    let zeroFullyMaskedRows: Bool

    init(keyPadding: Tensor<Bool>?, attention: Tensor<Bool>?, heads: Int, zeroFullyMaskedRows: Bool) {
        self.keyPadding = keyPadding
        self.attention = attention
        self.heads = heads
        self.zeroFullyMaskedRows = zeroFullyMaskedRows
    }
}

extension Variable {
    /// Scores `[B, H, L, S]` plus the mask's additive `-inf`/0 values (PyTorch adds the float mask
    /// to the scores). Recorded as "attentionMask" with the mask's trace; backward: the gradient.
    func addingAttentionMask(_ mask: AttentionMask<Scalar>) -> Variable {
        Variable.record("attentionMask", data + mask.additive, self, attributes: .opaque(mask.trace)) { g in g }
    }

    /// Weights `[B, H, L, S]` with the rows whose every key is masked set to 0 (times the mask's
    /// `keep`; unchanged when no row is fully masked). Recorded as "attentionRows" with the mask's
    /// trace, so that an export zeroes such rows for any input; backward: the gradient times `keep`.
    func zeroingFullyMaskedRows(_ mask: AttentionMask<Scalar>) -> Variable {
        guard let keep = mask.keep else {
            return Variable.record("attentionRows", data, self, attributes: .opaque(mask.trace)) { g in g }
        }
        return Variable.record("attentionRows", data * keep, self, attributes: .opaque(mask.trace)) { g in g * keep }
    }
}
