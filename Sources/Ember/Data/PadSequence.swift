// MARK: - Padding variable-length sequences into one batch

/// Pads sequences of different lengths to the longest and stacks them into one batch, as PyTorch's
/// `torch.nn.utils.rnn.pad_sequence(sequences, batch_first=False, padding_value=0.0)`, and also
/// returns each sequence's length (PyTorch leaves that to the caller).
///
/// Each sequence is `[L_i, *]` (the trailing dimensions `*` equal across sequences; `L_i` may be 0).
/// `padded` is `[B, T, *]` when `batchFirst`, else `[T, B, *]`, with `B = sequences.count` and
/// `T = max L_i`; positions past a sequence's end hold `paddingValue`. `lengths[i] = L_i`, in the
/// order given: exactly what the recurrent layers' `lengths:` take (RNN, LSTM and GRU take a
/// sequence's final state at its own last step and output zeros past its end; a sequence of length 0
/// is padded, but those layers reject it).
///
/// ```swift
/// let sequences = [Tensor<Float>(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6]), Tensor<Float>(shape: [1, 2], scalars: [7, 8])]
/// let (padded, lengths) = padSequence(sequences, batchFirst: true, paddingValue: 0)
/// padded.shape   // [2, 3, 2]: rows [1, 2], [3, 4], [5, 6] then [7, 8], [0, 0], [0, 0]
/// lengths        // [3, 1]
/// ```
///
/// Float, Double and `Tensor<Int>` sequences (token ids, padded with a padding index for `Embedding`)
/// all pad. Stops with a message when `sequences` is empty, a sequence has rank 0, or the trailing
/// shapes differ.
public func padSequence<Scalar: TensorElement & ExpressibleByIntegerLiteral>(
    _ sequences: [Tensor<Scalar>], batchFirst: Bool = false, paddingValue: Scalar = 0
) -> (padded: Tensor<Scalar>, lengths: [Int]) {
    let (trailing, lengths) = checkedSequenceShapes(sequences.map(\.shape))
    let batch = sequences.count, steps = lengths.max() ?? 0
    let row = trailing.reduce(1, *)
    let shape = (batchFirst ? [batch, steps] : [steps, batch]) + trailing
    let padded = Tensor<Scalar>(shape: shape, unsafeUninitializedScalars: { out in
        out.initialize(repeating: paddingValue)
        for (b, sequence) in sequences.enumerated() {
            sequence.withUnsafeBufferPointer { source in
                for t in 0..<lengths[b] {
                    let start = (batchFirst ? b * steps + t : t * batch + b) * row
                    for k in 0..<row { out[start + k] = source[t * row + k] }
                }
            }
        }
    })
    return (padded, lengths)
}

/// `padSequence` on variables, differentiable: the gradient of each sequence is its part of the
/// padded batch's gradient (padding receives none). Shapes, defaults and checks as the `Tensor` form.
public func padSequence<Scalar: TensorScalar>(_ sequences: [Variable<Scalar>], batchFirst: Bool = false,
                                              paddingValue: Scalar = 0) -> (padded: Variable<Scalar>, lengths: [Int]) {
    let (data, lengths) = padSequence(sequences.map(\.data), batchFirst: batchFirst, paddingValue: paddingValue)
    let padded = Variable.record("padSequence", data, sequences) { g in
        lengths.enumerated().map { b, length in
            g.select(axis: batchFirst ? 0 : 1, index: b).narrow(axis: 0, start: 0, length: length)
        }
    }
    return (padded, lengths)
}

/// The trailing shape the sequences share and their lengths, or a stop naming what differs.
func checkedSequenceShapes(_ shapes: [[Int]]) -> (trailing: [Int], lengths: [Int]) {
    require(!shapes.isEmpty, "padSequence: expected at least one sequence, got an empty list")
    for (i, shape) in shapes.enumerated() {
        require(!shape.isEmpty, "padSequence: expected sequences of shape [L, *], got a rank-0 tensor at index \(i)")
    }
    let trailing = Array(shapes[0].dropFirst())
    for (i, shape) in shapes.enumerated() where Array(shape.dropFirst()) != trailing {
        requireFailure("padSequence: expected every sequence to have trailing shape \(describe(trailing)) (as sequence 0, \(describe(shapes[0]))), got \(describe(shape)) at index \(i)")
    }
    return (trailing, shapes.map { $0[0] })
}
