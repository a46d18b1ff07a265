import Foundation
import Testing
@testable import Ember

/// The compact tape storage that keeps a small op's overhead down (issue 22, part 3): inline inputs,
/// array-free one- and two-input rules, inline attributes, and arrays allocated through
/// `initializedArray`. Each test checks behaviour that a wrong shortcut would change.
@Suite struct TapeStorageTests {
    @Test func initializedArrayWritesEveryElement() {
        let values: [Double] = initializedArray(count: 5) { p, n in
            for i in 0..<n { p[i] = Double(i * i) }
        }
        #expect(values == [0, 1, 4, 9, 16])
        var called = false
        let empty: [Float] = initializedArray(count: 0) { _, _ in called = true }
        #expect(empty.isEmpty && !called)
        // The array owns its storage: copies are independent.
        var copy = values
        copy[0] = 7
        #expect(values[0] == 0 && copy[0] == 7)
        let ints: [Int] = initializedArray(count: 3) { p, _ in p[0] = 1; p[1] = 2; p[2] = 3 }
        #expect(ints == [1, 2, 3] && Tensor<Float>(zeros: [2, 3]).scalars == [0, 0, 0, 0, 0, 0])
    }

    @Test func attributesComeBackAsRecorded() {
        let x = Variable(Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]), requiresGrad: true)
        func attributes(_ v: Variable<Double>) -> NodeAttributes { v.node!.attributes }
        if case .none = attributes(x + x) {} else { Issue.record("add: expected .none") }
        if case .scalar(let s) = attributes(x * 2.5) { #expect(s == 2.5) } else { Issue.record("multiplyScalar") }
        if case .clamp(let lo, let hi) = attributes(x.clamped(min: -1, max: 3)) { #expect(lo == -1 && hi == 3) }
        else { Issue.record("clamped") }
        if case .permutation(let p) = attributes(x.permuted([1, 0])) { #expect(p == [1, 0]) } else { Issue.record("permuted") }
        // Every inline case and a boxed one survive the round trip through the node's storage.
        let cases: [NodeAttributes] = [.axis(-1), .reduction(axis: 1, keepDims: true), .select(axis: 0, index: -2),
                                       .narrow(axis: 1, start: 2, length: 3), .scalar(-0.5), .clamp(min: 0, max: 1),
                                       .indices([4, 5]), .custom, .opaque("payload"),
                                       .layerNorm(axes: 2, eps: 1e-5, hasWeight: true, hasBias: false)]
        for recorded in cases {
            let node = Node<Double>(name: "probe", inputs: [x], attributes: recorded) { [$0] }
            #expect(String(describing: node.attributes) == String(describing: recorded))
        }
    }

    @Test func nodesKeepTheirInputsInOrder() {
        let a = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
        let b = Variable(Tensor<Double>([3, 4]), requiresGrad: true)
        let c = Variable(Tensor<Double>([5, 6]), requiresGrad: true)
        let one = a.tanh(), two = a * b, three = concat([a, b, c], axis: 0)
        #expect(one.node!.inputs.map(ObjectIdentifier.init) == [ObjectIdentifier(a)])
        #expect(two.node!.inputs.map(ObjectIdentifier.init) == [ObjectIdentifier(a), ObjectIdentifier(b)])
        #expect(three.node!.inputs.map(ObjectIdentifier.init) == [a, b, c].map(ObjectIdentifier.init))
        #expect(three.node!.inputCount == 3 && two.node!.inputCount == 2 && one.node!.inputCount == 1)
        (three.sum() + two.sum()).backward()
        #expect(a.grad!.scalars == [1 + 3, 1 + 4] && b.grad!.scalars == [1 + 1, 1 + 2] && c.grad!.scalars == [1, 1])
    }

    @Test func oneNodeGraphsAndSharedInputs() {
        // x * x: both gradients reach the same leaf; a one-node graph takes backward's short path.
        let x = Variable(Tensor<Double>([3, -2]), requiresGrad: true)
        (x * x).backward(gradient: Tensor([1, 1]))
        #expect(x.grad!.scalars == [6, -4])
        // Only the input that needs a gradient gets one.
        let c = Variable(Tensor<Double>([10, 20]))
        let y = x - c
        x.grad = nil
        y.backward(gradient: Tensor([1, 2]), retainGraph: true)
        y.backward(gradient: Tensor([1, 2]))
        #expect(x.grad!.scalars == [2, 4] && c.grad == nil)
        // A unary rule, retained and run twice, then released.
        let t = x.tanh()
        x.grad = nil
        t.backward(gradient: Tensor([1, 1]), retainGraph: true)
        let once = x.grad!
        t.backward(gradient: Tensor([1, 1]))
        #expect(x.grad! == once + once)
        #expect(t.node!.rule == nil)
    }

    @Test func backwardRulesOfTwoInputNodesAreCheckedForAnomalies() {
        let x = Variable(Tensor<Double>([1, 0]), requiresGrad: true)
        let y = Variable(Tensor<Double>([2, 0]), requiresGrad: true)
        do {
            // 1 / 0 is infinite in the forward pass: the first anomaly is divide's forward.
            try withAnomalyDetection { (x / y).sum().backward() }
            Issue.record("no anomaly reported")
        } catch let error as AnomalyError {
            #expect(error.operation == "divide" && error.phase == .forward, "\(error)")
        } catch { Issue.record("\(error)") }
        let big = Variable(Tensor<Double>([.greatestFiniteMagnitude]), requiresGrad: true)
        let small = Variable(Tensor<Double>([0.5]), requiresGrad: true)
        do {
            // The product is finite, its gradient g * big * ... overflows only in backward.
            try withAnomalyDetection { (small * big).backward(gradient: Tensor([4])) }
            Issue.record("no anomaly reported")
        } catch let error as AnomalyError {
            #expect(error.operation == "multiply" && error.phase == .backward, "\(error)")
        } catch { Issue.record("\(error)") }
    }

    @Test func savedTensorsAreTheForwardValuesAndGoWithTheGraph() {
        let x = Variable(Tensor<Double>([3, -2]), requiresGrad: true)
        let c = Variable(Tensor<Double>([10, 20]))
        let p = x * c, t = x.tanh(), m = x.reshaped(to: [1, 2]).matmul(c.reshaped(to: [2, 1]))
        let node = p.node!
        guard case .savedBinary? = node.rule, case .savedUnary? = t.node!.rule, case .savedBinary? = m.node!.rule else {
            Issue.record("mul, tanh and matmul should record saved-tensor rules")
            return
        }
        #expect(node.savedFirst! == x.data && node.savedSecond! == c.data)
        #expect(node.needsFirst && !node.needsSecond)
        // Changing an input after the forward pass leaves the saved value alone (a tensor is a value).
        x.data = Tensor([100, 100])
        c.data = Tensor([-1, -1])
        p.backward(gradient: Tensor([1, 1]), retainGraph: true)
        #expect(x.grad!.scalars == [10, 20] && c.grad == nil)
        #expect(node.rule != nil && node.savedFirst != nil && node.savedSecond != nil)
        p.backward(gradient: Tensor([1, 1]))
        #expect(x.grad!.scalars == [20, 40])
        #expect(node.rule == nil && node.savedFirst == nil && node.savedSecond == nil)
        // Through a longer graph too: every node lets go of what it saved.
        x.grad = nil
        let y = Variable(Tensor<Double>([0.5, 0.25]), requiresGrad: true)
        let z = ((y * y).tanh() / y).sigmoid()
        z.sum().backward()
        var nodes: [Node<Double>] = [z.node!]
        while let n = nodes.popLast() {
            #expect(n.rule == nil && n.savedFirst == nil && n.savedSecond == nil, "\(n.name)")
            nodes += n.inputs.compactMap(\.node)
        }
        // tanh's saved output gives the same gradient as before the change: 1 - tanh²(x).
        let u = Variable(Tensor<Double>([0.3]), requiresGrad: true)
        u.tanh().backward()
        #expect(Swift.abs(u.grad!.scalar - (1 - Foundation.tanh(0.3) * Foundation.tanh(0.3))) < 1e-15)
    }

    @Test func chainsAreFreedWithoutRecursion() {
        // 200,000 nodes, each holding the leaf: freeing them one nested deinit at a time would
        // overflow the stack; the leaf goes once the last node has let go of it.
        weak var leaf: Variable<Float>?
        do {
            let x = Variable(Tensor<Float>([0.5]), requiresGrad: true)
            leaf = x
            var y = x
            for _ in 0..<100_000 { y = y * 1.0001 + x }
            #expect(y.node!.inputCount == 2 && leaf != nil)
        }
        #expect(leaf == nil)
    }
}
