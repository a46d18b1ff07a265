import Foundation
import Testing
import Ember

/// DESIGN.md's (and the README's) Classifier, exactly as written there.
final class Classifier: Module {
    let rnn = RNN<Float>(inputSize: 28, hiddenSize: 32, batchFirst: true)
    let fc = Linear<Float>(inFeatures: 32, outFeatures: 10)
    func callAsFunction(_ x: Variable<Float>) -> Variable<Float> {
        let (out, _) = rnn(x)
        return fc(out.select(axis: 1, index: -1))
    }
}

/// The README's snippets, verbatim, with the values their comments claim asserted. A test below
/// checks that every line of every Swift block in README.md appears here, so the two stay in step.
@Suite struct ReadmeTests {
    @Test func tensors() {
        let t = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        print(t.shape, t.scalars)                        // [2, 3] [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        let bias = Tensor<Float>([10, 20, 30])
        print((t + bias).scalars)                        // [11.0, 22.0, 33.0, 14.0, 25.0, 36.0]
        print(t.sum(axis: 0).scalars, t.mean().scalar)   // [5.0, 7.0, 9.0] 3.5
        print(t.matmul(t.transposed(0, 1)).scalars)      // [14.0, 32.0, 32.0, 77.0]

        var rng = SeededGenerator(seed: 42)              // same numbers on every run and machine
        let noise = Tensor<Float>(randomNormal: [2, 3], generator: &rng)
        print(noise.shape)                               // [2, 3]

        var torchRNG = TorchGenerator(seed: 0)           // PyTorch's CPU generator, as torch.manual_seed(0)
        let u = Tensor<Float>(randomUniform: [3], generator: &torchRNG)
        print(u.scalars)                                 // [0.4962566, 0.7682218, 0.08847743], as torch.rand(3)

        #expect(t.shape == [2, 3] && t.scalars == [1, 2, 3, 4, 5, 6])
        #expect((t + bias).scalars == [11, 22, 33, 14, 25, 36])
        #expect(t.sum(axis: 0).scalars == [5, 7, 9] && t.mean().scalar == 3.5)
        #expect(t.matmul(t.transposed(0, 1)).scalars == [14, 32, 32, 77])
        #expect(noise.shape == [2, 3])
        #expect(u.scalars == [0.49625659, 0.7682218, 0.08847743] && "\(u.scalars)" == "[0.4962566, 0.7682218, 0.08847743]")
    }

    @Test func variables() {
        let x = Variable(Tensor<Double>(shape: [1, 2], scalars: [0.5, -1]))
        let w = Variable(Tensor<Double>(shape: [2, 2], scalars: [0.1, 0.2, 0.3, 0.4]), requiresGrad: true)
        let b = Variable(Tensor<Double>([0.1, -0.1]), requiresGrad: true)
        let y = (x.matmul(w) + b).tanh()                 // [1, 2]; + - * / broadcast, scalars on either side
        let loss = (1 - y).squared().sum()
        loss.backward()                                  // gradients accumulate into leaves
        print(w.grad!.shape, b.grad!.shape)              // [2, 2] [2]

        #expect(y.shape == [1, 2])
        #expect(w.grad!.shape == [2, 2] && b.grad!.shape == [2])

        let frozen = withNoGrad { (x.matmul(w) + b).tanh() }   // records nothing
        print(frozen.requiresGrad)                       // false
        w.zeroGrad()                                     // grad = nil, as zero_grad(set_to_none=True)

        #expect(!frozen.requiresGrad)
        #expect(w.grad == nil)
    }

    @Test func checkingGradients() {
        let p = Tensor<Double>(shape: [2, 3], scalars: [0.1, -0.2, 0.3, 0.4, -0.5, 0.6])
        let q = Tensor<Double>(shape: [3, 2], scalars: [1, 2, 3, -1, -2, -3])
        let result = gradcheck(inputs: [p, q]) { v in (v[0].matmul(v[1])).tanh().sum() }
        print(result.passed, result.maxAbsoluteError < 1e-6)   // true true

        #expect(result.passed && result.maxAbsoluteError < 1e-6)
    }

    @Test func modulesLossesOptimizers() throws {
        manualSeed(0)                                    // initial weights are reproducible
        let model = Classifier()
        print(model.namedParameters().map(\.name))       // ["rnn.weight_ih_l0", ..., "fc.bias"]
        let opt = Adam(model.parameters(), lr: 0.001)
        let criterion = CrossEntropyLoss()
        let images = Variable(Tensor<Float>(zeros: [64, 28, 28]))   // [batch, rows, columns]
        let labels = [Int](repeating: 3, count: 64)
        let loss = criterion(model(images), labels)
        opt.zeroGrad(); loss.backward(); opt.step()
        try model.save(to: URL(fileURLWithPath: "/tmp/classifier.safetensors"))   // PyTorch's names

        #expect(model.namedParameters().first?.name == "rnn.weight_ih_l0")
        #expect(model.namedParameters().last?.name == "fc.bias")
        let after = criterion(model(images), labels)
        #expect(after.scalar < loss.scalar)
        #expect(try SafeTensorsFile(contentsOf: URL(fileURLWithPath: "/tmp/classifier.safetensors")).names.count == 6)
    }

    @Test func readmeSnippetsAreMirroredHere() throws {
        let testFile = URL(fileURLWithPath: #filePath)
        let readme = testFile.deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let mine = Set(try String(contentsOf: testFile, encoding: .utf8)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        var inSwift = false, checked = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inSwift = line == "```swift"; continue }
            let code = line.trimmingCharacters(in: .whitespaces)
            guard inSwift, !code.isEmpty else { continue }
            #expect(mine.contains(code), "README line not mirrored in ReadmeTests.swift: \(code)")
            checked += 1
        }
        #expect(checked > 20)
    }
}
