import Testing
import Ember

/// padSequence, TensorDataset, Subset, randomSplit, BucketBatchSampler and DataLoader with a batch sampler.
@Suite struct PadSequenceTests {
    let a = Tensor<Double>(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
    let b = Tensor<Double>(shape: [1, 2], scalars: [7, 8])
    let c = Tensor<Double>(shape: [2, 2], scalars: [9, 10, 11, 12])

    @Test func batchFirstAndTimeFirst() {
        let (bf, lengths) = padSequence([a, b, c], batchFirst: true, paddingValue: -1)
        #expect(lengths == [3, 1, 2])
        #expect(bf.shape == [3, 3, 2])
        #expect(bf.scalars == [1, 2, 3, 4, 5, 6, 7, 8, -1, -1, -1, -1, 9, 10, 11, 12, -1, -1])
        // PyTorch: pad_sequence([a, b], padding_value=-1) (batch_first=False) gives [3, 2, 2] with
        // rows [[1, 2], [7, 8]], [[3, 4], [-1, -1]], [[5, 6], [-1, -1]].
        let (tf, l2) = padSequence([a, b], paddingValue: -1)
        #expect(l2 == [3, 1] && tf.shape == [3, 2, 2])
        #expect(tf.scalars == [1, 2, 7, 8, 3, 4, -1, -1, 5, 6, -1, -1])
        // The time-first result is the batch-first one with the first two axes swapped.
        #expect(padSequence([a, b, c]).padded == padSequence([a, b, c], batchFirst: true).padded.transposed(0, 1))
    }

    @Test func onlyFirstAxisVariesAndEmptySequencesPad() {
        let x = Tensor<Float>(shape: [2, 2, 3], scalars: (0..<12).map(Float.init))
        let empty = Tensor<Float>(zeros: [0, 2, 3])
        let (p, lengths) = padSequence([empty, x], batchFirst: true)
        #expect(p.shape == [2, 2, 2, 3] && lengths == [0, 2])
        #expect(p.scalars == [Float](repeating: 0, count: 12) + x.scalars)
        let (one, l1) = padSequence([Tensor<Float>([4, 5, 6])])
        #expect(one.shape == [3, 1] && one.scalars == [4, 5, 6] && l1 == [3])
    }

    /// Token-id sequences pad with a padding index.
    @Test func integerSequences() {
        let (ids, lengths) = padSequence([Tensor<Int>([5, 6, 7]), Tensor<Int>([8])], batchFirst: true, paddingValue: 1)
        #expect(ids == Tensor<Int>(shape: [2, 3], scalars: [5, 6, 7, 8, 1, 1]) && lengths == [3, 1])
    }

    /// The lengths go straight into a recurrent layer: each sequence's final state is the one it has alone.
    @Test func lengthsFeedRecurrentLayers() {
        manualSeed(3)
        let gru = GRU<Double>(inputSize: 2, hiddenSize: 3, batchFirst: true)
        let (padded, lengths) = padSequence([a, b, c], batchFirst: true, paddingValue: 100)
        let (_, h) = gru(Variable(padded), lengths: lengths)
        for (i, s) in [a, b, c].enumerated() {
            let (_, alone) = gru(Variable(s.expandingShape(at: 0)))
            #expect(h.data.select(axis: 1, index: i).maxAbsoluteDifference(alone.data.select(axis: 1, index: 0)) < 1e-12)
        }
    }

    @Test func variablesAreDifferentiable() {
        for batchFirst in [true, false] {
            let result = gradcheck(inputs: [a, b, c]) { v in
                let (p, _) = padSequence(v, batchFirst: batchFirst, paddingValue: 0.5)
                return (p * p.tanh()).sum()
            }
            #expect(result.passed, "\(result)")
        }
        let va = Variable(a, requiresGrad: true), vb = Variable(b, requiresGrad: true)
        let (p, _) = padSequence([va, vb], batchFirst: true)
        (p * Variable(Tensor<Double>(shape: [2, 3, 2], scalars: (1...12).map(Double.init)))).sum().backward()
        #expect(va.grad?.scalars == [1, 2, 3, 4, 5, 6])
        #expect(vb.grad?.scalars == [7, 8])
    }

    @Test func emptyList() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = padSequence([Tensor<Float>](), batchFirst: true)
        }
        #expect(stderr(of: result).contains("padSequence: expected at least one sequence, got an empty list"), "\(stderr(of: result))")
    }

    @Test func mismatchedTrailingShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = padSequence([Tensor<Float>(zeros: [3, 2]), Tensor<Float>(zeros: [2, 3])])
        }
        #expect(stderr(of: result).contains("padSequence: expected every sequence to have trailing shape [2] (as sequence 0, [3, 2]), got [2, 3] at index 1"), "\(stderr(of: result))")
    }

    @Test func rankZero() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = padSequence([Tensor<Float>(1)])
        }
        #expect(stderr(of: result).contains("padSequence: expected sequences of shape [L, *], got a rank-0 tensor at index 0"), "\(stderr(of: result))")
    }
}

/// What a child process that stopped wrote to standard error.
private func stderr(of result: ExitTest.Result?) -> String {
    String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
}

@Suite struct DatasetUtilityTests {
    let x = Tensor<Float>(shape: [5, 2], scalars: (0..<10).map(Float.init))
    let y = [10, 11, 12, 13, 14]

    @Test func tensorDatasetBatchesRows() {
        let data = TensorDataset(x, y)
        #expect(data.count == 5)
        let (inputs, targets) = data.batch([3, 0, 3])
        #expect(inputs.shape == [3, 2] && inputs.scalars == [6, 7, 0, 1, 6, 7])
        #expect(targets == [13, 10, 13])
        // Tensor targets and sequence columns batch the same way.
        let seqs = (1...5).map { Tensor<Float>(repeating: Float($0), shape: [$0, 1]) }
        let pairs = TensorDataset(seqs, x)
        let (s, t) = pairs.batch([4, 1])
        #expect(s.map(\.shape) == [[5, 1], [2, 1]] && t.scalars == [8, 9, 2, 3])
        // Class targets as a Tensor<Int>.
        let indexed = TensorDataset(x, Tensor<Int>(y))
        #expect(indexed.batch([4, 1]).targets == Tensor<Int>([14, 11]))
        // Through a DataLoader, every sample once.
        var seen: [Int] = []
        for (_, targets) in DataLoader(data, batchSize: 2, shuffle: true, seed: 0) { seen += targets }
        #expect(seen.sorted() == y)
    }

    @Test func subsetMapsIndices() {
        let sub = Subset(TensorDataset(x, y), indices: [4, 2])
        #expect(sub.count == 2)
        #expect(sub.batch([1, 0]).targets == [12, 14])
        #expect(Subset(sub, indices: [1]).batch([0]).inputs.scalars == [4, 5])
    }

    /// PyTorch 2.15: `random_split(range(10), [7, 3], generator=torch.Generator().manual_seed(0))` gives
    /// [4, 1, 7, 5, 3, 9, 0] and [8, 6, 2]; `random_split(range(11), [0.5, 0.3, 0.2], generator=...manual_seed(3))`
    /// gives [9, 0, 3, 6, 4, 5], [2, 8, 1], [10, 7].
    @Test func randomSplitMatchesPyTorch() {
        let ten = TensorDataset(Array(0..<10), Array(0..<10))
        let parts = randomSplit(ten, lengths: [7, 3], seed: 0)
        #expect(parts.map(\.indices) == [[4, 1, 7, 5, 3, 9, 0], [8, 6, 2]])
        #expect(parts[1].batch([0, 1, 2]).inputs == [8, 6, 2])
        let eleven = TensorDataset(Array(0..<11), Array(0..<11))
        #expect(randomSplit(eleven, fractions: [0.5, 0.3, 0.2], seed: 3).map(\.indices) == [[9, 0, 3, 6, 4, 5], [2, 8, 1], [10, 7]])
        // Different seeds, different splits; the same seed, the same split.
        #expect(randomSplit(ten, lengths: [5, 5], seed: 1).map(\.indices) != randomSplit(ten, lengths: [5, 5], seed: 2).map(\.indices))
        #expect(randomSplit(ten, lengths: [5, 5], seed: 1).map(\.indices) == randomSplit(ten, lengths: [5, 5], seed: 1).map(\.indices))
    }

    @Test func splitLengthsMustSum() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = randomSplit(TensorDataset(Tensor<Float>(zeros: [5, 2]), [0, 1, 2, 3, 4]), lengths: [3, 3], seed: 0)
        }
        #expect(stderr(of: result).contains("randomSplit: the lengths [3, 3] sum to 6, but the dataset has 5 samples"), "\(stderr(of: result))")
    }

    @Test func fractionsMustSumToOne() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = randomSplit(TensorDataset([1, 2], [1, 2]), fractions: [0.5, 0.4])
        }
        #expect(stderr(of: result).contains("randomSplit: expected fractions summing to 1, got [0.5, 0.4]"), "\(stderr(of: result))")
    }

    @Test func mismatchedColumns() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = TensorDataset(Tensor<Float>(zeros: [5, 2]), [0, 1, 2, 3])
        }
        #expect(stderr(of: result).contains("TensorDataset: expected inputs and targets with the same number of samples, got 5 and 4"), "\(stderr(of: result))")
    }

    @Test func subsetIndexOutOfRange() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Subset(TensorDataset([0, 1, 2, 3, 4], [0, 1, 2, 3, 4]), indices: [0, 5])
        }
        #expect(stderr(of: result).contains("Subset: index 5 is out of range for a dataset of 5 samples"), "\(stderr(of: result))")
    }
}

@Suite struct BucketBatchSamplerTests {
    /// Lengths 1...40 in a scrambled order.
    let lengths = (0..<103).map { ($0 * 37) % 40 + 1 }

    @Test func everyIndexOncePerEpoch() {
        for dropLast in [false, true] {
            let sampler = BucketBatchSampler(lengths: lengths, batchSize: 8, batchesPerBucket: 3, seed: 7, dropLast: dropLast)
            for epoch in 0..<4 {
                let batches = sampler.batches(epoch: epoch)
                #expect(batches.count == sampler.count)
                let flat = batches.flatMap { $0 }
                #expect(Set(flat).count == flat.count)
                if dropLast {
                    #expect(batches.allSatisfy { $0.count == 8 } && flat.count == 96)
                } else {
                    #expect(flat.sorted() == Array(0..<103))
                    #expect(batches.filter { $0.count != 8 }.map(\.count) == [7])
                }
            }
        }
    }

    @Test func batchesHoldSimilarLengths() {
        let sampler = BucketBatchSampler(lengths: lengths, batchSize: 8, batchesPerBucket: 13, seed: 0)
        // One bucket holds everything: each batch is a run of the sorted lengths, so padding is at most
        // a few steps per batch, against about 30 for random batches of lengths 1...40.
        for batch in sampler.batches(epoch: 0) {
            let ls = batch.map { lengths[$0] }
            #expect(ls == ls.sorted(by: >))
            #expect(ls.max()! - ls.min()! <= 3, "\(ls)")
        }
        let batches = sampler.batches(epoch: 0)
        #expect(batches.map { lengths[$0[0]] } != batches.map { lengths[$0[0]] }.sorted(by: >), "batches are shuffled")
    }

    @Test func deterministicBySeedAndReshuffledPerEpoch() {
        let s = BucketBatchSampler(lengths: lengths, batchSize: 8, batchesPerBucket: 2, seed: 1)
        #expect(s.batches(epoch: 0) == BucketBatchSampler(lengths: lengths, batchSize: 8, batchesPerBucket: 2, seed: 1).batches(epoch: 0))
        #expect(s.batches(epoch: 3) == s.batches(epoch: 3))
        #expect(s.batches(epoch: 0) != s.batches(epoch: 1))
        #expect(s.batches(epoch: 0) != BucketBatchSampler(lengths: lengths, batchSize: 8, batchesPerBucket: 2, seed: 2).batches(epoch: 0))
        // Without shuffling: consecutive buckets of 16 indices, each sorted longest first.
        let fixed = BucketBatchSampler(lengths: lengths, batchSize: 8, batchesPerBucket: 2, shuffle: false)
        #expect(fixed.batches(epoch: 0) == fixed.batches(epoch: 5))
        #expect(Set(fixed.batches(epoch: 0)[0] + fixed.batches(epoch: 0)[1]) == Set(0..<16))
    }

    @Test func dataLoaderServesTheSamplersBatches() {
        let seqs = lengths.map { Tensor<Float>(repeating: Float($0), shape: [$0, 2]) }
        let data = TensorDataset(seqs, Array(lengths.indices))
        let sampler = BucketBatchSampler(lengths: lengths, batchSize: 16, batchesPerBucket: 2, seed: 5)
        let loader = DataLoader(data, batchSampler: sampler)
        #expect(loader.count == 7 && loader.batchSize == 16)
        for epoch in 0..<2 {
            var served: [[Int]] = []
            for (inputs, targets) in loader {
                let (padded, lens) = padSequence(inputs, batchFirst: true)
                #expect(lens == targets.map { lengths[$0] })
                #expect(padded.shape == [inputs.count, lens.max()!, 2])
                served.append(targets)
            }
            #expect(served == sampler.batches(epoch: epoch))
            #expect(loader.order(epoch: epoch) == served.flatMap { $0 })
        }
        #expect(loader.epoch == 2)
    }

    @Test func badBatchSize() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = BucketBatchSampler(lengths: [1, 2], batchSize: 0)
        }
        #expect(stderr(of: result).contains("BucketBatchSampler: expected a positive batchSize, got 0"), "\(stderr(of: result))")
    }
}
