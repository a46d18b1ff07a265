import Foundation
import Testing
@testable import Ember

/// Ember's default generator, its initialisations and DataLoader's shuffling draw what PyTorch's do
/// (TorchGeneratorReference.swift), so a seed means the same starting point in both.
@Suite struct TorchGeneratorTests {
    @Test func mersenneTwisterMatchesTheStandard() {
        // std::mt19937 with its default seed must give 4123659995 as its 10000th output (C++ [rand.predef]).
        var g = TorchGenerator(seed: 5489)
        g.discard(9999)
        #expect(g.random() == 4_123_659_995)
        var zero = TorchGenerator(seed: 0)
        #expect(zero.random() == 2_357_136_044)
        // Only the low 32 bits of a seed count, as in PyTorch's engine.
        var wide = TorchGenerator(seed: 1 << 32 | 5489), narrow = TorchGenerator(seed: 5489)
        #expect(wide.random64() == narrow.random64())
    }

    @Test func drawsMatchPyTorch() {
        typealias R = TorchGeneratorReference
        var g = TorchGenerator(seed: 0)
        #expect((0..<5).map { _ in g.uniform(from: Float(0), to: 1) } == R.rand5Seed0)
        #expect((0..<4).map { _ in g.uniform(from: -2.0, to: 3.0) } == R.doubleUniformAfter)
        #expect((0..<3).map { _ in g.randomInt64() } == R.int64After)
        #expect(g.randperm(12) == R.randperm12After)
        var h = TorchGenerator(seed: 0)
        #expect(Tensor<Float>(randomUniform: [5], generator: &h).scalars == R.rand5Seed0)
    }

    @Test func seededLoaderShufflesAsPyTorchWithAGenerator() {
        typealias R = TorchGeneratorReference
        let loader = DataLoader(CountingDataset(count: 10), batchSize: 3, shuffle: true, seed: 11)
        #expect((0..<3).map { _ in Array(loader).flatMap { $0 } } == R.seededOrders)
        let dropping = DataLoader(CountingDataset(count: 10), batchSize: 3, shuffle: true, seed: 11, dropLast: true)
        #expect((0..<3).map { _ in Array(dropping).flatMap { $0 } } == R.seededOrdersDropLast)
        // An epoch's order does not depend on which epochs were asked for before.
        let fresh = DataLoader(CountingDataset(count: 10), batchSize: 3, shuffle: true, seed: 11)
        #expect(fresh.order(epoch: 2) == R.seededOrders[2])
        #expect(fresh.order(epoch: 0) == R.seededOrders[0])
        fresh.epoch = 1
        #expect(Array(fresh).flatMap { $0 } == R.seededOrders[1])
    }

    /// Module initialisation and unseeded shuffling use the process-wide default generator, so this
    /// runs in a child process where no other test draws from it.
    @Test func defaultGeneratorInitialisesAndShufflesAsPyTorch() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            typealias R = TorchGeneratorReference
            func check(_ parameters: [(name: String, parameter: Variable<Float>)],
                       _ reference: [(name: String, indices: [Int], values: [Double], sum: Double)]) {
                guard parameters.count == reference.count else { fail("\(parameters.count) parameters, expected \(reference.count)") }
                for (p, r) in zip(parameters, reference) {
                    let v = p.parameter.data.scalars.map(Double.init)
                    guard p.name == r.name, r.indices.map({ v[$0] }) == r.values, v.reduce(0, +) == r.sum else {
                        fail("\(p.name): \(r.indices.map { v[$0] }) sum \(v.reduce(0, +)), expected \(r.name) \(r.values) sum \(r.sum)")
                    }
                }
            }
            func fail(_ message: String) -> Never {
                FileHandle.standardError.write(Data((message + "\n").utf8))
                exit(1)
            }
            manualSeed(0)
            let rnn = RNN<Float>(inputSize: 28, hiddenSize: 32, batchFirst: true), fc = Linear<Float>(inFeatures: 32, outFeatures: 10)
            check(rnn.namedParameters() + fc.namedParameters().map { ("fc." + $0.name, $0.parameter) }, R.rnnThenLinearSeed0)
            let loader = DataLoader(CountingDataset(count: 10), batchSize: 4, shuffle: true)
            let orders = (0..<3).map { _ in Array(loader).flatMap { $0 } }
            guard orders == R.globalOrdersAfterInit else { fail("orders \(orders), expected \(R.globalOrdersAfterInit)") }

            // skipEpoch makes the draws of the pass it skips: how train-rnn --resume reaches its order.
            manualSeed(0)
            _ = RNN<Float>(inputSize: 28, hiddenSize: 32, batchFirst: true); _ = Linear<Float>(inFeatures: 32, outFeatures: 10)
            let resumed = DataLoader(CountingDataset(count: 10), batchSize: 4, shuffle: true)
            resumed.skipEpoch(); resumed.skipEpoch()
            guard resumed.epoch == 2, Array(resumed).flatMap({ $0 }) == R.globalOrdersAfterInit[2] else { fail("skipEpoch lost the order") }

            // Stacked, bidirectional, with dropout (which draws nothing until it is used), then a cell.
            manualSeed(7)
            let lstm = LSTM<Float>(inputSize: 5, hiddenSize: 4, numLayers: 2, dropout: 0.3, bidirectional: true)
            let cell = GRUCell<Float>(inputSize: 3, hiddenSize: 2)
            check(lstm.namedParameters() + cell.namedParameters().map { ("cell." + $0.name, $0.parameter) }, R.lstmThenGRUCellSeed7)
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.isEmpty, "\(text)")
    }
}
