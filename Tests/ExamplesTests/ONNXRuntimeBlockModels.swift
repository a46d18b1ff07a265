import Foundation
import Testing
import Ember

/// The building blocks' models for ONNXRuntimeTests: a Transformer-style encoder block and a model
/// using the remaining new operations, each traced on one batch and sequence length and run on another.
extension ONNXRuntimeTests {
    final class EncoderBlock: Module {
        let attention = MultiheadAttention<Float>(embedDim: 8, numHeads: 2, batchFirst: true)
        let norm1 = LayerNorm<Float>(normalizedShape: [8]), norm2 = LayerNorm<Float>(normalizedShape: [8])
        let fc1 = Linear<Float>(inFeatures: 8, outFeatures: 16), fc2 = Linear<Float>(inFeatures: 16, outFeatures: 8)
        let gelu = GELU<Float>()

        /// Post-norm: attention with the key-padding mask (no weights: fully padded rows attend to
        /// nothing), residual, LayerNorm, a GELU MLP, residual, LayerNorm; then causal attention
        /// over the result, returning its head-averaged weights too.
        func callAsFunction(_ x: Variable<Float>, padding: Tensor<Bool>, causal: Tensor<Bool>) -> [Variable<Float>] {
            let (a, _) = attention(x, x, x, keyPaddingMask: padding, needWeights: false)
            let h = norm1(x + a)
            let y = norm2(h + fc2(gelu(fc1(h))))
            let (z, w) = attention(y, y, y, attnMask: causal)
            return [y, z, w!]
        }
    }

    static func paddingMask(_ lengths: [Int], _ T: Int) -> Tensor<Bool> {
        Tensor(shape: [lengths.count, T], scalars: lengths.flatMap { n in (0..<T).map { $0 >= n } })
    }

    static func causalMask(_ T: Int) -> Tensor<Bool> {
        Tensor(shape: [T, T], scalars: (0..<T).flatMap { l in (0..<T).map { $0 > l } })
    }

    /// MultiheadAttention (key-padding mask and causal attention mask as bool inputs) + LayerNorm +
    /// GELU MLP + residuals: traced on [2, 5, 8], run on [3, 7, 8] with one sequence fully padded.
    func encoderBlock(in dir: URL) throws -> [String: Any] {
        var g = SeededGenerator(seed: 29)
        let model = EncoderBlock()
        for p in model.parameters() { p.data = Tensor(randomNormal: p.shape, standardDeviation: 0.5, generator: &g) }
        let x = Tensor<Float>(randomNormal: [2, 5, 8], generator: &g)
        let padding = Self.paddingMask([5, 3], 5), causal = Self.causalMask(5)
        let onnx = dir.appendingPathComponent("encoder-block.onnx")
        try exportONNX(model, inputs: [.tensor("input", x), .mask("key_padding_mask", padding),
                                       .mask("causal_mask", causal, dynamicAxes: [0: "sequence", 1: "sequence"])],
                       outputNames: ["encoded", "attended", "weights"], to: onnx) { v in
            model(v[0], padding: padding, causal: causal)
        }
        let x7 = Tensor<Float>(randomNormal: [3, 7, 8], generator: &g)
        let padding7 = Self.paddingMask([7, 0, 4], 7), causal7 = Self.causalMask(7)
        let outs = withNoGrad { model(Variable(x7), padding: padding7, causal: causal7) }
        return try entry("Transformer encoder block (MultiheadAttention, LayerNorm, GELU)", onnx, dir,
                         inputs: ["input": .float(x7), "key_padding_mask": .bool(padding7), "causal_mask": .bool(causal7)],
                         outputs: ["encoded": .float(outs[0].data), "attended": .float(outs[1].data), "weights": .float(outs[2].data)])
    }

    final class Blocks: Module {
        let w: Variable<Float>
        let leaky = LeakyReLU<Float>(negativeSlope: 0.2), flatten = Flatten<Float>()
        let softmax = Softmax<Float>(), logSoftmax = LogSoftmax<Float>(axis: 1), identity = Identity<Float>()
        init(_ g: inout SeededGenerator) { w = Variable(Tensor(randomNormal: [4], generator: &g), requiresGrad: true) }

        /// x [B, T, 4], index [B, T, 2] (0..<4), valid [B, T, 1] (true = drop).
        func callAsFunction(_ x: Variable<Float>, index: Tensor<Int>, drop: Tensor<Bool>) -> [Variable<Float>] {
            let a = x.abs(), b = maximum(x, w), c = minimum(x, w * 0.5)
            let d = select(where: x .> 0, a, c)                                    // comparison with a scalar
            let e = b.maskedFill(x .< c, value: -1)                                // comparison of two variables
            let f = identity(d.maskedFill(drop, value: -.infinity))                // a mask input
            let pooled = concat([f.logSumExp(axis: 1), f.maskedFill(drop, value: 0).min(axis: 1),
                                 x.variance(axis: 1), x.variance(axis: 1, unbiased: false, keepDims: true).squeezingShape(at: 1),
                                 e.cumsum(axis: 1)[.., -1], x.norm(axis: 1)], axis: 1)                    // [B, 24]
            let activations = concat([leaky(x), x.gelu(approximate: .tanh), x.gelu(), x.softplus(beta: 2, threshold: 3),
                                      x.norm(axis: 2, keepDims: true)], axis: 2)                        // [B, T, 17]
            let picked = concat([x.gather(axis: 2, indices: index), x.indexSelect(axis: 2, indices: Tensor<Int>([3, 0, 0]))],
                                axis: 2)                                                                // [B, T, 5]
            let sliced = concat([x[.., .stride(2), 1..<3], x[.., (-3)..., .range(0..., step: 2)]], axis: 1)  // [B, ⌈T/2⌉ + 3, 2]
            let scalars = stack([x.logSumExp(), x.variance(), x.norm()], axis: 0)
            let band = select(where: (x .> -0.5) .& .!(a .> 1), x, 0).maskedFill(drop .| (b .< 0.2), value: 3)   // mask operators
            return [softmax(pooled), flatten(activations), logSoftmax(picked), sliced, x[.., -1] * x[.., 1], scalars, band]
        }
    }

    /// abs, maximum/minimum, where on comparisons (combined with `.&`, `.|`, `.!`), maskedFill
    /// (comparison and mask input), min,
    /// logSumExp (with -inf rows), cumsum, variance, norm, gelu (exact, tanh), leakyRelu, softplus,
    /// gather (an index input), indexSelect, subscripts (negative, ranges, steps), Flatten, Softmax,
    /// LogSoftmax, Identity: traced on [2, 5, 4], run on [3, 8, 4].
    func buildingBlockOperations(in dir: URL) throws -> [String: Any] {
        var g = SeededGenerator(seed: 31)
        let model = Blocks(&g)
        func inputs(_ B: Int, _ T: Int) -> (Tensor<Float>, Tensor<Int>, Tensor<Bool>) {
            let x = Tensor<Float>(randomNormal: [B, T, 4], generator: &g)
            let index = Tensor<Int>(shape: [B, T, 2], scalars: (0..<(B * T * 2)).map { ($0 * 7 + $0 / 3) % 4 })
            // The last sequence is dropped entirely (logSumExp of only -inf), the others at a few steps.
            let drop = Tensor<Bool>(shape: [B, T, 1], scalars: (0..<(B * T)).map { $0 / T == B - 1 || $0 % 3 == 1 })
            return (x, index, drop)
        }
        let (x, index, drop) = inputs(2, 5)
        let onnx = dir.appendingPathComponent("building-blocks.onnx")
        let names = ["pooled", "activations", "picked", "sliced", "last", "scalars", "band"]
        try exportONNX(model, inputs: [.tensor("input", x), .indices("index", index), .mask("drop", drop)],
                       outputNames: names, to: onnx) { v in model(v[0], index: index, drop: drop) }
        let (x8, index8, drop8) = inputs(3, 8)
        let outs = withNoGrad { model(Variable(x8), index: index8, drop: drop8) }
        return try entry("building-block operations", onnx, dir,
                         inputs: ["input": .float(x8), "index": .int64Tensor(index8), "drop": .bool(drop8)],
                         outputs: Dictionary(uniqueKeysWithValues: zip(names, outs.map { NumpyArray.float($0.data) })))
    }
}

extension ONNXRuntimeTests {
    final class AttentionLayouts: Module {
        let sequenceFirst = MultiheadAttention<Float>(embedDim: 6, numHeads: 3)
        let unbatched = MultiheadAttention<Float>(embedDim: 4, numHeads: 2, batchFirst: true)
    }

    /// Key 0 stays visible to every query, so no row is fully masked (the weights stay finite).
    static func perHeadMask(_ BH: Int, _ T: Int) -> Tensor<Bool> {
        Tensor(shape: [BH, T, T], scalars: (0..<(BH * T * T)).map { i in i % T != 0 && (i * 5 + i / T) % 3 == 0 })
    }

    /// MultiheadAttention in PyTorch's default sequence-first layout with a key-padding mask and a
    /// per-head `[B·H, L, S]` attention mask together (per-head weights), an unbatched attention with
    /// an `[S]` padding mask, and mean over the sequence: traced on T = 4, B = 2 (unbatched 3), run
    /// on T = 6, B = 3 (unbatched 5).
    func attentionLayouts(in dir: URL) throws -> [String: Any] {
        var g = SeededGenerator(seed: 37)
        let model = AttentionLayouts()
        for p in model.parameters() { p.data = Tensor(randomNormal: p.shape, standardDeviation: 0.5, generator: &g) }
        func run(_ x: Variable<Float>, _ u: Variable<Float>, _ padding: Tensor<Bool>, _ heads: Tensor<Bool>,
                 _ unpadded: Tensor<Bool>) -> [Variable<Float>] {
            let (out, weights) = model.sequenceFirst(x, x, x, keyPaddingMask: padding, attnMask: heads, averageAttnWeights: false)
            let (single, _) = model.unbatched(u, u, u, keyPaddingMask: unpadded)
            return [out.mean(axis: 0), weights!, single]
        }
        func inputs(_ T: Int, _ B: Int, _ U: Int, _ lengths: [Int]) -> (Tensor<Float>, Tensor<Float>, Tensor<Bool>, Tensor<Bool>, Tensor<Bool>) {
            (Tensor(randomNormal: [T, B, 6], generator: &g), Tensor(randomNormal: [U, 4], generator: &g),
             Self.paddingMask(lengths, T), Self.perHeadMask(B * 3, T), Tensor((0..<U).map { $0 >= U - 1 }))
        }
        let (x, u, padding, heads, unpadded) = inputs(4, 2, 3, [4, 2])
        let onnx = dir.appendingPathComponent("attention-layouts.onnx")
        try exportONNX(model, inputs: [.tensor("input", x, dynamicAxes: [0: "sequence", 1: "batch"]),
                                       .tensor("single", u, dynamicAxes: [0: "tokens"]), .mask("key_padding_mask", padding),
                                       .mask("head_mask", heads, dynamicAxes: [0: "batch_heads", 1: "sequence", 2: "sequence"]),
                                       .mask("single_padding", unpadded, dynamicAxes: [0: "tokens"])],
                       outputNames: ["pooled", "weights", "single_out"], to: onnx) { v in run(v[0], v[1], padding, heads, unpadded) }
        let (x6, u5, padding6, heads6, unpadded5) = inputs(6, 3, 5, [6, 1, 3])
        let outs = withNoGrad { run(Variable(x6), Variable(u5), padding6, heads6, unpadded5) }
        return try entry("MultiheadAttention sequence-first with padding and per-head masks, unbatched, mean over the sequence",
                         onnx, dir, inputs: ["input": .float(x6), "single": .float(u5), "key_padding_mask": .bool(padding6),
                                             "head_mask": .bool(heads6), "single_padding": .bool(unpadded5)],
                         outputs: ["pooled": .float(outs[0].data), "weights": .float(outs[1].data), "single_out": .float(outs[2].data)])
    }
}
