// MARK: - What a node records for exporters

/// The arguments of an operation that its inputs' and outputs' shapes do not determine (an axis, a
/// permutation, a scalar operand), kept on its tape node for code that reads the tape as a graph —
/// `exportONNX`. Most operations need none. The payloads are stored inline (a few words, no
/// allocation) so that recording them costs nothing measurable; a fused operation with many
/// arguments (the recurrent layers) stores its own value in `opaque`.
enum NodeAttributes {
    /// Nothing beyond the inputs and outputs.
    case none
    /// One axis (softmax, log-softmax, concat, expandingShape, squeezingShape).
    case axis(Int)
    /// A reduction's axis and whether it is kept with size 1 (sum, max).
    case reduction(axis: Int, keepDims: Bool)
    /// select: the axis and the index as the caller gave it (negative counts from the end).
    case select(axis: Int, index: Int)
    /// narrow: the axis and the slice.
    case narrow(axis: Int, start: Int, length: Int)
    /// permuted: axis `i` of the result is axis `permutation[i]`.
    case permutation([Int])
    /// The scalar operand of a scalar arithmetic operation, or pow's exponent.
    case scalar(Double)
    /// clamped's bounds.
    case clamp(min: Double, max: Double)
    /// layerNorm: how many trailing axes are normalised, epsilon, and which of weight and bias are
    /// among the inputs (after the input, in that order).
    case layerNorm(axes: Int, eps: Double, hasWeight: Bool, hasBias: Bool)
    /// conv1d: stride, padding (both ends) and dilation.
    case convolution(stride: Int, padding: Int, dilation: Int)
    /// An embedding lookup's row indices.
    case indices([Int])
    /// A `CustomFunction`: its rule is the user's, so it has no meaning outside Ember.
    case custom
    /// An operation's own description (a fused recurrent layer's configuration).
    case opaque(Any)
}
