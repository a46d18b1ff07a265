import Foundation
import Testing
@testable import Ember

/// Relative error of `a` against the reference `b`, elementwise: |a - b| / max(|b|, 1e-30) — the
/// worst over all elements, with the absolute difference used where the reference is tiny.
func worstRelativeError(_ a: Tensor<Double>, _ b: Tensor<Double>) -> Double {
    guard a.shape == b.shape else { return .infinity }
    var worst = 0.0
    for (x, y) in zip(a.scalars, b.scalars) {
        let e = abs(y) > 1e-12 ? abs(x - y) / abs(y) : abs(x - y)
        if !(e <= worst) { worst = e }
    }
    return worst
}

/// PyTorch reference values (Tests/EmberTests/Fixtures/pytorch) reproduced in Double to 1e-9 relative.
@Suite struct PyTorchParityTests {
    @Test func linear() throws {
        let f = try Fixtures.pytorch("linear")
        let layer = Linear<Double>(inFeatures: 5, outFeatures: 3)
        try layer.loadStateDict(["weight": f.tensor("param.weight"), "bias": f.tensor("param.bias")])
        let x = Variable(try f.tensor("input", as: Double.self), requiresGrad: true)
        let y = layer(x)
        #expect(worstRelativeError(y.data, try f.tensor("out")) < 1e-9)
        y.backward(gradient: try f.tensor("gy"))
        #expect(worstRelativeError(x.grad!, try f.tensor("grad.input")) < 1e-9)
        #expect(worstRelativeError(layer.weight.grad!, try f.tensor("grad.weight")) < 1e-9)
        #expect(worstRelativeError(layer.bias!.grad!, try f.tensor("grad.bias")) < 1e-9)
        let worst = try [worstRelativeError(y.data, f.tensor("out")), worstRelativeError(x.grad!, f.tensor("grad.input")),
                         worstRelativeError(layer.weight.grad!, f.tensor("grad.weight")), worstRelativeError(layer.bias!.grad!, f.tensor("grad.bias"))].max()!
        print("parity linear worst relative error \(worst)")
    }

    @Test func crossEntropy() throws {
        let f = try Fixtures.pytorch("cross_entropy")
        let logits = Variable(try f.tensor("input", as: Double.self), requiresGrad: true)
        let loss = CrossEntropyLoss(reduction: .mean)(logits, try f.integers("target"))
        #expect(worstRelativeError(loss.data.reshaped(to: [1]), try f.tensor("loss")) < 1e-9)
        loss.backward()
        #expect(worstRelativeError(logits.grad!, try f.tensor("grad.input")) < 1e-9)
        let worst = try max(worstRelativeError(loss.data.reshaped(to: [1]), f.tensor("loss")), worstRelativeError(logits.grad!, f.tensor("grad.input")))
        print("parity cross_entropy worst relative error \(worst)")
    }

    @Test func adamFiveSteps() throws {
        let f = try Fixtures.pytorch("adam")
        let p = Variable(try f.tensor("param.p", as: Double.self), requiresGrad: true)
        let q = Variable(try f.tensor("param.q", as: Double.self), requiresGrad: true)
        let opt = Adam([p, q], lr: Double(f.metadata["lr"] ?? "") ?? .nan)
        var worst = 0.0
        defer { print("parity adam worst relative error \(worst)") }
        for step in 0..<5 {
            p.grad = try f.tensor("step\(step).grad.p")
            q.grad = try f.tensor("step\(step).grad.q")
            opt.step()
            #expect(worstRelativeError(p.data, try f.tensor("step\(step).param.p")) < 1e-9, "step \(step)")
            #expect(worstRelativeError(q.data, try f.tensor("step\(step).param.q")) < 1e-9, "step \(step)")
            worst = try max(worst, worstRelativeError(p.data, f.tensor("step\(step).param.p")), worstRelativeError(q.data, f.tensor("step\(step).param.q")))
        }
    }
}

/// The recurrent fixtures: outputs, final states and every gradient within 1e-9 relative.
@Suite struct RecurrentParityTests {
    /// Loads `param.*` into the module and checks `grad.*` after backward; returns the worst error.
    func check<M: RecurrentLayer<Double>>(_ file: SafeTensorsFile, _ module: M,
                                          run: (Variable<Double>, Variable<Double>, Variable<Double>?) -> (Variable<Double>, Variable<Double>, Variable<Double>?)) throws -> Double {
        var dict: [String: Tensor<Double>] = [:]
        for name in file.names where name.hasPrefix("param.") { dict[String(name.dropFirst(6))] = try file.tensor(name) }
        try module.loadStateDict(dict)
        let x = Variable(try file.tensor("input", as: Double.self), requiresGrad: true)
        let h0 = Variable(try file.tensor("h0", as: Double.self), requiresGrad: true)
        let c0 = file.entries["c0"] != nil ? Variable(try file.tensor("c0", as: Double.self), requiresGrad: true) : nil
        let (out, hN, cN) = run(x, h0, c0)
        var worst = 0.0
        func compare(_ a: Tensor<Double>, _ name: String) throws {
            let e = worstRelativeError(a, try file.tensor(name))
            #expect(e < 1e-9, "\(name): relative error \(e)")
            worst = max(worst, e)
        }
        try compare(out.data, "out")
        try compare(hN.data, "h_n")
        if let cN { try compare(cN.data, "c_n") }
        var loss = (out * Variable(try file.tensor("gy"))).sum() + (hN * Variable(try file.tensor("gh"))).sum()
        if let cN { loss = loss + (cN * Variable(try file.tensor("gc"))).sum() }
        loss.backward()
        try compare(x.grad!, "grad.input")
        try compare(h0.grad!, "grad.h0")
        if let c0 { try compare(c0.grad!, "grad.c0") }
        for (name, p) in module.namedParameters() { try compare(p.grad!, "grad.\(name)") }
        return worst
    }

    @Test func rnnTanhBatchFirst() throws {
        let f = try Fixtures.pytorch("rnn_tanh_batch_first")
        let rnn = RNN<Double>(inputSize: 4, hiddenSize: 6, batchFirst: true)
        let worst = try check(f, rnn) { x, h, _ in let (o, hn) = rnn(x, h); return (o, hn, nil) }
        print("parity rnn_tanh_batch_first worst relative error \(worst)")
    }

    @Test func rnnRelu2Layer() throws {
        let f = try Fixtures.pytorch("rnn_relu_2layer")
        let rnn = RNN<Double>(inputSize: 3, hiddenSize: 5, numLayers: 2, nonlinearity: .relu)
        let worst = try check(f, rnn) { x, h, _ in let (o, hn) = rnn(x, h); return (o, hn, nil) }
        print("parity rnn_relu_2layer worst relative error \(worst)")
    }

    @Test func lstmBatchFirst() throws {
        let f = try Fixtures.pytorch("lstm_batch_first")
        let lstm = LSTM<Double>(inputSize: 4, hiddenSize: 5, batchFirst: true)
        let worst = try check(f, lstm) { x, h, c in let (o, s) = lstm(x, (h, c!)); return (o, s.h, s.c) }
        print("parity lstm_batch_first worst relative error \(worst)")
    }

    @Test func gru() throws {
        let f = try Fixtures.pytorch("gru")
        let gru = GRU<Double>(inputSize: 3, hiddenSize: 4)
        let worst = try check(f, gru) { x, h, _ in let (o, hn) = gru(x, h); return (o, hn, nil) }
        print("parity gru worst relative error \(worst)")
    }
}
