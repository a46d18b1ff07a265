import Ember

/// A recurrent classifier that looks at every time step: the RNN's outputs are pooled with learned
/// attention weights (a softmax over time of a learned score per step) instead of taking the last
/// step only. Written with the public API alone; its parameters are found from the stored properties.
///
/// Input `[B, T, inputSize]`, output logits `[B, classes]`.
final class AttentionClassifier<Scalar: TensorScalar>: Module {
    let rnn: RNN<Scalar>
    let score: Linear<Scalar>        // one attention score per step: [B, T, H] -> [B, T, 1]
    let fc: Linear<Scalar>

    init(inputSize: Int, hiddenSize: Int, classes: Int) {
        rnn = RNN<Scalar>(inputSize: inputSize, hiddenSize: hiddenSize, batchFirst: true)
        score = Linear<Scalar>(inFeatures: hiddenSize, outFeatures: 1)
        fc = Linear<Scalar>(inFeatures: hiddenSize, outFeatures: classes)
    }

    func callAsFunction(_ x: Variable<Scalar>) -> Variable<Scalar> {
        let (out, _) = rnn(x)                                         // [B, T, H]
        let weights = score(out).squeezingShape(at: 2).softmax(axis: 1)   // [B, T], sums to 1 over time
        let pooled = (out * weights.expandingShape(at: 2)).sum(axis: 1)   // [B, H]
        return fc(pooled)
    }
}
