import Testing
@testable import Ember

/// Large results reuse the storage of earlier ones their owners let go, and never of one still held.
@Suite(.serialized) struct StorageCacheTests {
    static let count = StorageCache.minimumBytes / MemoryLayout<Float>.stride

    func address(_ array: [Float]) -> UnsafeRawPointer {
        array.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) }
    }

    @Test func theLayoutItReliesOnHolds() {
        #expect(StorageCache.enabled(Float.self) && StorageCache.enabled(Double.self))
    }

    @Test func reusesStorageItsOwnersLetGo() {
        releaseCachedStorage()
        var first: [Float] = StorageCache.take(Self.count)
        first.withUnsafeMutableBufferPointer { $0.initialize(repeating: 1) }
        let firstAddress = address(first)
        StorageCache.remember(first)
        #expect(StorageCache.bytes == StorageCache.minimumBytes)
        first = []
        let second: [Float] = StorageCache.take(Self.count)
        #expect(address(second) == firstAddress)
        #expect(StorageCache.bytes == 0)   // taken out until remembered again
        // Another size or element type does not match it.
        StorageCache.remember(second)
        let other: [Float] = StorageCache.take(Self.count + 1)
        let double: [Double] = StorageCache.take(Self.count / 2)
        #expect(address(other) != firstAddress && double.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) } != firstAddress)
        releaseCachedStorage()
        #expect(StorageCache.bytes == 0)
    }

    @Test func neverReusesStorageStillHeld() {
        releaseCachedStorage()
        var held: [Float] = StorageCache.take(Self.count)
        held.withUnsafeMutableBufferPointer { $0.initialize(repeating: 7) }
        StorageCache.remember(held)
        var next: [Float] = StorageCache.take(Self.count)
        #expect(address(next) != address(held))
        next.withUnsafeMutableBufferPointer { $0.initialize(repeating: 3) }
        #expect(held.allSatisfy { $0 == 7 })
        // A holder that writes to its array while the cache references it gets its own copy.
        let before = address(held)
        held[0] = 8
        #expect(address(held) != before && held[0] == 8 && held[1] == 7)
        releaseCachedStorage()
    }

    @Test func keepsOnlyLargeArraysAndAtMostItsLimit() {
        releaseCachedStorage()
        StorageCache.remember([Float](repeating: 0, count: Self.count - 1))
        #expect(StorageCache.bytes == 0)
        for _ in 0..<(StorageCache.maximumEntries + 2) {
            StorageCache.remember([Float](repeating: 0, count: Self.count))
        }
        #expect(StorageCache.bytes == StorageCache.maximumEntries * StorageCache.minimumBytes)
        releaseCachedStorage()
    }

    /// An RNN evaluated twice on a batch whose output is 8 MB: the second output lands in the first
    /// one's storage once it is dropped, and its values are those of an evaluation without the cache;
    /// while the first output is held, it is left as it was.
    @Test func recurrentEvaluationReusesItsOutput() {
        releaseCachedStorage()
        let (batch, steps, inputs, hidden) = (256, 256, 3, 32)   // 2M floats of output
        let rnn = RNN<Float>(inputSize: inputs, hiddenSize: hidden, batchFirst: true)
        var g = SeededGenerator(seed: 3)
        let x1 = Variable(Tensor<Float>(randomNormal: [batch, steps, inputs], generator: &g))
        let x2 = Variable(Tensor<Float>(randomNormal: [batch, steps, inputs], generator: &g))
        let fresh2 = withNoGrad { rnn(x2).output.data.scalars }
        releaseCachedStorage()

        var out1: [Float]? = withNoGrad { rnn(x1).output.data.scalars }
        let kept1 = out1!.map { $0 }   // a copy of the values
        let address1 = address(out1!)
        // Held: the second evaluation gets other storage and leaves the first alone.
        let held2 = withNoGrad { rnn(x2).output.data.scalars }
        #expect(address(held2) != address1)
        #expect(out1! == kept1)
        #expect(held2 == fresh2)
        // Dropped: the third evaluation reuses it and computes what a fresh one does.
        out1 = nil
        let reused = withNoGrad { rnn(x2).output.data.scalars }
        #expect(address(reused) == address1)
        #expect(reused == fresh2)
        releaseCachedStorage()
    }
}
