import Ember

/// A reproducible tensor of values in [-1, 1).
func randomTensor(_ shape: [Int], seed: UInt64 = 1, low: Double = -1, high: Double = 1) -> Tensor<Double> {
    var rng = SeededGenerator(seed: seed)
    return Tensor<Double>(randomUniform: shape, lowerBound: low, upperBound: high, generator: &rng)
}

/// Naive triple-loop matrix product of row-major [m, k] x [k, n], in Double.
func naiveMatmul(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int) -> [Double] {
    var c = [Double](repeating: 0, count: m * n)
    for i in 0..<m { for j in 0..<n { var s = 0.0; for p in 0..<k { s += a[i * k + p] * b[p * n + j] }; c[i * n + j] = s } }
    return c
}

func maxDifference(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// The README's (and the API contract's) Classifier: RNN(28 → 32) and Linear(32 → 10) on the last step.
final class Classifier: Module {
    let rnn = RNN<Float>(inputSize: 28, hiddenSize: 32, batchFirst: true)
    let fc = Linear<Float>(inFeatures: 32, outFeatures: 10)
    func callAsFunction(_ x: Variable<Float>) -> Variable<Float> {
        let (out, _) = rnn(x)
        return fc(out.select(axis: 1, index: -1))
    }
}
