import Testing
@testable import Ember

/// A batch-first layer reads its input [B, T, I] where it lies (each block's rows of a step are one
/// product's operand, rows T·I apart) rather than transposing it first. Its results must be the bits
/// of the same layer time-major on the transposed input: output, final states and every gradient
/// (input, initial states, weights), for every cell, with inputs projected all at once and step by
/// step, inputs short and long enough to be read in place by the product (I ≥ 64), and ragged batches.
@Suite struct BatchFirstInputTests {
    struct Case: CustomStringConvertible, Sendable {
        var mode: RecurrentMode
        var T: Int, B: Int, I: Int, H: Int
        var ragged = false
        var layers = 1
        var description: String { "\(mode) T\(T) B\(B) I\(I) H\(H)\(ragged ? " ragged" : "") L\(layers)" }
    }

    static let cases: [Case] = [
        // [T·B, G·H] below 2¹⁸: all steps projected at once.
        Case(mode: .lstm, T: 5, B: 6, I: 3, H: 4),
        Case(mode: .gru, T: 4, B: 9, I: 70, H: 5, layers: 2),
        // Above: each block projects its rows step by step, from the input in place.
        Case(mode: .lstm, T: 16, B: 70, I: 70, H: 64),
        Case(mode: .gru, T: 12, B: 80, I: 5, H: 96),
        Case(mode: .rnnTanh, T: 9, B: 40, I: 3, H: 6, ragged: true),
        Case(mode: .lstm, T: 10, B: 66, I: 7, H: 8, ragged: true, layers: 2),
    ]

    @Test(arguments: cases)
    func sameBitsAsTimeMajor(_ c: Case) {
        var rng = SeededGenerator(seed: UInt64(c.T * 100 + c.B))
        let lengths = c.ragged ? (0..<c.B).map { _ in 1 + Int(rng.next() % UInt64(c.T)) } : nil
        func random(_ shape: [Int]) -> Tensor<Float> { Tensor<Float>(randomNormal: shape, generator: &rng) }
        let stateShape = [c.layers, c.B, c.H]
        let layer = RecurrentLayer<Float>.make(c.mode, inputSize: c.I, hiddenSize: c.H, numLayers: c.layers)
        let weights = layer.weights.map { random($0.shape) }
        let (x, h0, c0) = (random([c.B, c.T, c.I]), random(stateShape), random(stateShape))
        let (gy, gh) = (random([c.B, c.T, c.H]), random(stateShape))

        /// The results of one forward and backward pass, laid out batch-first.
        func run(batchFirst: Bool) -> [Tensor<Float>] {
            let layer = RecurrentLayer<Float>.make(c.mode, inputSize: c.I, hiddenSize: c.H, numLayers: c.layers, batchFirst: batchFirst)
            let input = Variable(batchFirst ? x : x.transposed(0, 1), requiresGrad: true)
            let (initialH, initialC) = (Variable(h0, requiresGrad: true), Variable(c0, requiresGrad: true))
            let w = weights.map { Variable($0, requiresGrad: true) }
            let (out, hN, cN) = layer.run(input, h0: initialH, c0: c.mode == .lstm ? initialC : nil, lengths: lengths, name: "test", weights: w)
            var loss = (out * Variable(batchFirst ? gy : gy.transposed(0, 1))).sum() + (hN * Variable(gh)).sum()
            if let cN { loss = loss + cN.sum() }
            loss.backward()
            let inputGradient = input.grad!
            return [batchFirst ? out.data : out.data.transposed(0, 1), hN.data, batchFirst ? inputGradient : inputGradient.transposed(0, 1),
                    initialH.grad!] + (c.mode == .lstm ? [cN!.data, initialC.grad!] : []) + w.map { $0.grad! }
        }
        let (first, timeMajor) = (run(batchFirst: true), run(batchFirst: false))
        #expect(first.count == timeMajor.count)
        for (i, (a, b)) in zip(first, timeMajor).enumerated() {
            #expect(a.shape == b.shape && zip(a.scalars, b.scalars).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(c): result \(i)")
        }
    }
}
