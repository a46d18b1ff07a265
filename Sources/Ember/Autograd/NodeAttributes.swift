// MARK: - What a node records for exporters

/// The arguments of an operation that its inputs' and outputs' shapes do not determine (an axis, a
/// permutation, a scalar operand), kept on its tape node for code that reads the tape as a graph —
/// `exportONNX`. Most operations need none. A node keeps them as `StoredAttributes`: nothing for most
/// nodes, the common scalar payloads inline, the rest in a box; a fused operation with many
/// arguments (the recurrent layers) stores its own value in `opaque`.
enum NodeAttributes {
    /// Nothing beyond the inputs and outputs.
    case none
    /// One axis (softmax, log-softmax, concat, expandingShape, squeezingShape, cumsum).
    case axis(Int)
    /// A reduction's axis and whether it is kept with size 1 (sum, mean, max, min, logSumExp, norm).
    case reduction(axis: Int, keepDims: Bool)
    /// select: the axis and the index as the caller gave it (negative counts from the end).
    case select(axis: Int, index: Int)
    /// narrow: the axis and the slice.
    case narrow(axis: Int, start: Int, length: Int)
    /// permuted: axis `i` of the result is axis `permutation[i]`.
    case permutation([Int])
    /// The scalar operand of a scalar arithmetic operation, pow's exponent, or leakyRelu's slope.
    case scalar(Double)
    /// clamped's bounds.
    case clamp(min: Double, max: Double)
    /// layerNorm: how many trailing axes are normalised, epsilon, and which of weight and bias are
    /// among the inputs (after the input, in that order).
    case layerNorm(axes: Int, eps: Double, hasWeight: Bool, hasBias: Bool)
    /// conv1d: stride, padding (both ends) and dilation.
    case convolution(stride: Int, padding: Int, dilation: Int)
    /// variance: the axis, whether it divides by `n - 1`, and whether the axis is kept with size 1.
    case variance(axis: Int, unbiased: Bool, keepDims: Bool)
    /// gelu: whether the tanh approximation is used (else the exact erf form).
    case gelu(tanh: Bool)
    /// softplus: beta and the threshold above which it is linear.
    case softplus(beta: Double, threshold: Double)
    /// gather and indexSelect: the axis and the indices.
    case indexed(axis: Int, indices: Tensor<Int>)
    /// The condition of an elementwise select (where).
    case mask(Tensor<Bool>)
    /// maskedFill: the mask and the value written where it is true.
    case maskedFill(mask: Tensor<Bool>, value: Double)
    /// A subscript (sliced): its positions as written.
    case slice([AxisIndex])
    /// An embedding lookup's row indices.
    case indices([Int])
    /// A `CustomFunction`: its rule is the user's, so it has no meaning outside Ember.
    case custom
    /// An operation's own description (a fused recurrent layer's configuration).
    case opaque(Any)
}

// MARK: - How a node stores them

/// A node's attributes as it keeps them: the common payloads without references inline, so that
/// recording them allocates nothing and freeing the node has nothing to release, and the others
/// (arrays, `Any`, any case added later) in a box. Without this, every node carried the whole
/// `NodeAttributes` enum, whose `[Int]` and `Any` payloads made copying and destroying it a call
/// into its value witnesses on each node (+0.57 % of a small op's instructions, callgrind).
enum StoredAttributes {
    case none
    case axis(Int)
    case reduction(axis: Int, keepDims: Bool)
    case select(axis: Int, index: Int)
    case narrow(axis: Int, start: Int, length: Int)
    case scalar(Double)
    case clamp(min: Double, max: Double)
    case boxed(AttributeBox)

    @inline(__always)
    init(_ attributes: NodeAttributes) {
        // Most nodes: tested first without binding a payload, so nothing copies the enum.
        if case .none = attributes { self = .none; return }
        self.init(converting: attributes)
    }

    private init(converting attributes: NodeAttributes) {
        switch attributes {
        case .none: self = .none
        case .axis(let axis): self = .axis(axis)
        case .reduction(let axis, let keepDims): self = .reduction(axis: axis, keepDims: keepDims)
        case .select(let axis, let index): self = .select(axis: axis, index: index)
        case .narrow(let axis, let start, let length): self = .narrow(axis: axis, start: start, length: length)
        case .scalar(let value): self = .scalar(value)
        case .clamp(let min, let max): self = .clamp(min: min, max: max)
        default: self = .boxed(AttributeBox(attributes))
        }
    }

    /// The attributes as recorded.
    var value: NodeAttributes {
        switch self {
        case .none: .none
        case .axis(let axis): .axis(axis)
        case .reduction(let axis, let keepDims): .reduction(axis: axis, keepDims: keepDims)
        case .select(let axis, let index): .select(axis: axis, index: index)
        case .narrow(let axis, let start, let length): .narrow(axis: axis, start: start, length: length)
        case .scalar(let value): .scalar(value)
        case .clamp(let min, let max): .clamp(min: min, max: max)
        case .boxed(let box): box.value
        }
    }
}

/// The attributes of a node that `StoredAttributes` does not keep inline.
final class AttributeBox {
    let value: NodeAttributes
    init(_ value: NodeAttributes) { self.value = value }
}
