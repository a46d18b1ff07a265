import Foundation
import Testing
@testable import Ember

/// MultiheadAttention: PyTorch's values (`multihead_attention` fixture: batch first, key padding
/// mask), layouts, masks (fully masked rows as PyTorch), gradcheck, parameters and initialisation.
@Suite struct MultiheadAttentionTests {
    func flags(_ values: [Int], _ shape: [Int]) -> Tensor<Bool> {
        Tensor<Bool>(shape: shape, scalars: values.map { $0 != 0 })
    }

    /// A Double module with the fixture's parameters (E 8, H 2, batch first).
    func fixtureModule(_ f: SafeTensorsFile, batchFirst: Bool = true) throws -> MultiheadAttention<Double> {
        let mha = MultiheadAttention<Double>(embedDim: 8, numHeads: 2, bias: true, batchFirst: batchFirst)
        var dict: [String: Tensor<Double>] = [:]
        for name in f.names where name.hasPrefix("param.") { dict[String(name.dropFirst(6))] = try f.tensor(name) }
        try mha.loadStateDict(dict)
        return mha
    }

    @Test func matchesPyTorch() throws {
        let f = try Fixtures.pytorch("multihead_attention")
        #expect(f.metadata["embed_dim"] == "8" && f.metadata["num_heads"] == "2" && f.metadata["batch_first"] == "true")
        let mha = try fixtureModule(f)
        let q = Variable(try f.tensor("query", as: Double.self), requiresGrad: true)
        let k = Variable(try f.tensor("key", as: Double.self), requiresGrad: true)
        let v = Variable(try f.tensor("value", as: Double.self), requiresGrad: true)
        let mask = flags(try f.integers("key_padding_mask"), [3, 5])
        let (out, weights) = mha(q, k, v, keyPaddingMask: mask, needWeights: true)
        #expect(worstRelativeError(out.data, try f.tensor("out")) < 1e-9)
        #expect(worstRelativeError(try #require(weights).data, try f.tensor("attn_weights")) < 1e-9)
        out.backward(gradient: try f.tensor("gy"))
        for (name, variable) in [("query", q), ("key", k), ("value", v)] {
            #expect(worstRelativeError(variable.grad!, try f.tensor("grad.\(name)")) < 1e-9, "\(name)")
        }
        for (name, p) in mha.namedParameters() {
            #expect(worstRelativeError(p.grad!, try f.tensor("grad.\(name)")) < 1e-9, "\(name)")
        }
        // Without the weights the output is the same (no row of this mask is fully masked).
        let (plain, none) = mha(q, k, v, keyPaddingMask: mask, needWeights: false)
        #expect(none == nil)
        #expect(maxDifference(plain.scalars, out.scalars) < 1e-12)
    }

    @Test func sequenceFirstLayoutAndUnbatchedInput() throws {
        let f = try Fixtures.pytorch("multihead_attention")
        let first = try fixtureModule(f), second = try fixtureModule(f, batchFirst: false)
        let q = try f.tensor("query", as: Double.self), k = try f.tensor("key", as: Double.self)
        let mask = flags(try f.integers("key_padding_mask"), [3, 5])
        let (a, wa) = first(Variable(q), Variable(k), Variable(k), keyPaddingMask: mask)
        let (b, wb) = second(Variable(q.transposed(0, 1)), Variable(k.transposed(0, 1)), Variable(k.transposed(0, 1)),
                             keyPaddingMask: mask)
        #expect(b.shape == [4, 3, 8])
        #expect(maxDifference(b.data.transposed(0, 1).scalars, a.scalars) < 1e-12)
        #expect(maxDifference(wb!.scalars, wa!.scalars) < 1e-12)
        // Unbatched [L, E] is batch element 0 on its own.
        let (u, wu) = first(Variable(q.select(axis: 0, index: 0)), Variable(k.select(axis: 0, index: 0)),
                            Variable(k.select(axis: 0, index: 0)), keyPaddingMask: flags([0, 0, 0, 1, 1], [5]))
        let (one, wOne) = first(Variable(q.narrow(axis: 0, start: 0, length: 1)), Variable(k.narrow(axis: 0, start: 0, length: 1)),
                                Variable(k.narrow(axis: 0, start: 0, length: 1)), keyPaddingMask: flags([0, 0, 0, 1, 1], [1, 5]))
        #expect(u.shape == [4, 8] && wu!.shape == [4, 5])
        #expect(maxDifference(u.scalars, one.scalars) < 1e-12 && maxDifference(wu!.scalars, wOne!.scalars) < 1e-12)
    }

    /// PyTorch 2.15: a query whose keys are all padding gets NaN with need_weights=True and zero
    /// attention (output = out_proj.bias, zero gradients) with need_weights=False.
    @Test func fullyMaskedRowsAsPyTorch() {
        let mha = MultiheadAttention<Double>(embedDim: 4, numHeads: 2, batchFirst: true)
        mha.outProj.bias!.data = Tensor([0.5, -1, 2, 0.25])
        let mask = flags([0, 0, 1, 1, 1, 1], [2, 3])
        let q = Variable(randomTensor([2, 2, 4], seed: 51), requiresGrad: true)
        let kv = Variable(randomTensor([2, 3, 4], seed: 52), requiresGrad: true)
        let (withWeights, weights) = mha(q, kv, kv, keyPaddingMask: mask, needWeights: true)
        #expect(withWeights.data.select(axis: 0, index: 1).scalars.allSatisfy { $0.isNaN })
        #expect(weights!.data.select(axis: 0, index: 1).scalars.allSatisfy { $0.isNaN })
        #expect(withWeights.data.select(axis: 0, index: 0).scalars.allSatisfy { $0.isFinite })
        let (safe, _) = mha(q, kv, kv, keyPaddingMask: mask, needWeights: false)
        #expect(safe.data.select(axis: 0, index: 1) == Tensor(shape: [2, 4], scalars: [0.5, -1, 2, 0.25, 0.5, -1, 2, 0.25]))
        #expect(maxDifference(safe.data.select(axis: 0, index: 0).scalars, withWeights.data.select(axis: 0, index: 0).scalars) < 1e-12)
        safe.sum().backward()
        #expect(q.grad!.select(axis: 0, index: 1).scalars.allSatisfy { $0 == 0 })
        #expect(kv.grad!.scalars.allSatisfy { $0.isFinite } && mha.inProjWeight.grad!.scalars.allSatisfy { $0.isFinite })
    }

    @Test func attentionMasks() {
        let mha = MultiheadAttention<Double>(embedDim: 4, numHeads: 2, batchFirst: true)
        let x = Variable(randomTensor([2, 3, 4], seed: 61))
        var causal = [Bool]()
        for l in 0..<3 { for s in 0..<3 { causal.append(s > l) } }
        let (out, weights) = mha(x, x, x, attnMask: Tensor<Bool>(shape: [3, 3], scalars: causal))
        for b in 0..<2 { for l in 0..<3 {
            let row = (0..<3).map { weights!.data[b, l, $0] }
            #expect(abs(row.reduce(0, +) - 1) < 1e-12)
            #expect(row.enumerated().allSatisfy { $0.offset <= l || $0.element == 0 })
        } }
        // The first query sees only the first key: its output is that key's value projection, out-projected.
        let (first, _) = mha(x.narrow(axis: 1, start: 0, length: 1), x.narrow(axis: 1, start: 0, length: 1),
                             x.narrow(axis: 1, start: 0, length: 1))
        #expect(maxDifference(out.data.narrow(axis: 1, start: 0, length: 1).scalars, first.scalars) < 1e-12)
        // A per-head mask [B·H, L, S] repeating the 2-D one gives the same; per-head weights average to it.
        let perHead = Tensor<Bool>(shape: [4, 3, 3], scalars: Array([[Bool]](repeating: causal, count: 4).joined()))
        let (same, heads) = mha(x, x, x, attnMask: perHead, averageAttnWeights: false)
        #expect(maxDifference(same.scalars, out.scalars) < 1e-12)
        #expect(heads!.shape == [2, 2, 3, 3])
        #expect(maxDifference(heads!.data.mean(axis: 1).scalars, weights!.scalars) < 1e-12)
    }

    @Test func gradcheckQueryKeyValueWithPadding() {
        let mha = MultiheadAttention<Double>(embedDim: 4, numHeads: 2, batchFirst: true)
        mha.inProjBias!.data = randomTensor([12], seed: 71)
        let mask = flags([0, 0, 1, 0, 0, 0], [2, 3])
        let inputs = [randomTensor([2, 2, 4], seed: 72), randomTensor([2, 3, 4], seed: 73), randomTensor([2, 3, 4], seed: 74)]
        let result = gradcheck(inputs: inputs) { v in mha(v[0], v[1], v[2], keyPaddingMask: mask).0 }
        #expect(result.passed, "\(result)")
        let weights = gradcheck(inputs: inputs) { v in mha(v[0], v[1], v[2], keyPaddingMask: mask).1! }
        #expect(weights.passed, "\(weights)")
    }

    @Test func parametersAndInitialisation() {
        let mha = MultiheadAttention<Float>(embedDim: 8, numHeads: 2)
        #expect(mha.namedParameters().map(\.name) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"])
        #expect(mha.stateDict()["in_proj_weight"]?.shape == [24, 8] && mha.stateDict()["out_proj.weight"]?.shape == [8, 8])
        #expect(mha.namedChildren().map(\.name) == ["out_proj"])
        #expect(mha.inProjBias!.data == Tensor(zeros: [24]) && mha.outProj.bias!.data == Tensor(zeros: [8]))
        let bound = Float((6.0 / 32).squareRoot())
        #expect(mha.inProjWeight.scalars.allSatisfy { abs($0) <= bound })
        #expect(!mha.batchFirst && mha.dropout == 0)
        #expect(MultiheadAttention<Float>(embedDim: 4, numHeads: 4, bias: false).namedParameters().map(\.name) == ["in_proj_weight", "out_proj.weight"])
    }

    /// PyTorch's draws in PyTorch's order: `torch.manual_seed(0); nn.MultiheadAttention(4, 2)` gives
    /// out_proj.weight first (Linear's draws), then in_proj_weight by xavier_uniform_ (PyTorch 2.15's
    /// values, 4 decimals). In its own process, so no other test draws from the default generator.
    @Test func initialisationDrawsArePyTorchs() async {
        await #expect(processExitsWith: .success) {
            manualSeed(0)
            let mha = MultiheadAttention<Float>(embedDim: 4, numHeads: 2)
            let w = mha.inProjWeight.scalars.map(Double.init), out = mha.outProj.weight.scalars.map(Double.init)
            let ok = maxDifference(Array(out.prefix(4)), [-0.0037, 0.2682, -0.4115, -0.3680]) < 5.1e-5
                && maxDifference(Array(w.prefix(4)), [0.2224, 0.5085, -0.1260, 0.4582]) < 5.1e-5
                && maxDifference(Array(w.suffix(4)), [0.3362, -0.0773, 0.0234, 0.1419]) < 5.1e-5
            exit(ok ? 0 : 1)
        }
    }

    @Test func dropoutOnlyInTraining() {
        let mha = MultiheadAttention<Double>(embedDim: 4, numHeads: 2, dropout: 1, batchFirst: true)
        let x = Variable(randomTensor([1, 3, 4], seed: 81))
        let (_, dropped) = mha(x, x, x)
        #expect(dropped!.scalars.allSatisfy { $0 == 0 })
        mha.eval()
        let (_, kept) = mha(x, x, x)
        #expect(abs(kept!.data.sum().scalar - 3) < 1e-12)
    }
}

extension MultiheadAttentionTests {
    /// PyTorch prints no configuration for MultiheadAttention, only its out_proj child (PyTorch's
    /// class for it is NonDynamicallyQuantizableLinear, a Linear; Ember's is Linear).
    @Test func reprAsPyTorch() {
        #expect("\(MultiheadAttention<Float>(embedDim: 8, numHeads: 2, batchFirst: true))"
                == "MultiheadAttention(\n  (out_proj): Linear(in_features=8, out_features=8, bias=True)\n)")
    }
}
