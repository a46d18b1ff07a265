import CEmberKernels
@testable import Ember
import Foundation
import Testing

/// `ember_gemm_count_flops`: the operations of the products the GEMM entry points run, which
/// `ember-bench steps --roofline` divides by the FMA peak. The total is process-wide, so each check
/// runs in a child process of its own (an exit test), where no other test's products can add to it.
@Suite struct ProductCountTests {
    /// Runs check `which` in a child process; the totals it wrote to standard error ("count N").
    static func counts(_ which: Int) async -> [Int64] {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) { [which = which as Int] in
            let counts = which == 0 ? ProductCountTests.plainProducts() : ProductCountTests.lstmStep()
            for count in counts { FileHandle.standardError.write(Data("count \(count)\n".utf8)) }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        return text.split(separator: "\n").filter { $0.hasPrefix("count ") }.compactMap { Int64($0.dropFirst(6)) }
    }

    /// 2·M·N·K per product, through every entry point; nothing for an empty product, for alpha 0,
    /// or while counting is off; and turning counting on starts again from 0.
    @Test func productsCountTwoOperationsPerTerm() async {
        let counts = await Self.counts(0)
        let small: Int64 = 2 * 3 * 4 * 5, double: Int64 = 2 * 7 * 9 * 11, packed: Int64 = 2 * 6 * 8 * 10, tiny: Int64 = 2 * 2 * 2 * 2
        #expect(counts == [small, small + double, double + packed, 0, 0, tiny])
    }

    static func plainProducts() -> [Int64] {
        var totals: [Int64] = []
        let a = [Float](repeating: 0.5, count: 200), b = [Float](repeating: 0.25, count: 200)
        let ad = [Double](repeating: 0.5, count: 200), bd = [Double](repeating: 0.25, count: 200)
        var c = [Float](repeating: 0, count: 200), cd = [Double](repeating: 0, count: 200)
        ember_gemm_count_flops(1)
        ember_sgemm(0, 0, 3, 4, 5, 1, a, 5, b, 4, 0, &c, 4)
        totals.append(ember_gemm_flops_counted())
        ember_dgemm_at_level(EMBER_KERNEL_AVX512, 1, 1, 7, 9, 11, 1, ad, 7, bd, 11, 0, &cd, 9)
        totals.append(ember_gemm_flops_counted())
        // Counting on again starts from 0; a product with B packed first counts as any other.
        ember_gemm_count_flops(1)
        ember_sgemm(0, 0, 7, 9, 11, 2, a, 11, b, 9, 1, &c, 9)
        let level = ember_kernel_level_in_use()
        var packed = [Float](repeating: 0, count: ember_sgemm_packed_b_size(level, 10, 8))
        ember_sgemm_pack_b(level, 0, 10, 8, b, 8, &packed)
        ember_sgemm_with_packed_b(level, 0, 6, 8, 10, 1, a, 10, packed, 0, &c, 8)
        totals.append(ember_gemm_flops_counted())
        // Nothing to multiply: K = 0, then alpha = 0.
        ember_gemm_count_flops(1)
        ember_sgemm(0, 0, 3, 4, 0, 1, a, 1, b, 4, 0, &c, 4)
        ember_sgemm(0, 0, 3, 4, 5, 0, a, 5, b, 4, 1, &c, 4)
        totals.append(ember_gemm_flops_counted())
        // Off: nothing added, and the total stays readable.
        ember_gemm_count_flops(1)
        ember_gemm_count_flops(0)
        ember_sgemm(0, 0, 3, 4, 5, 1, a, 5, b, 4, 0, &c, 4)
        totals.append(ember_gemm_flops_counted())
        ember_gemm_count_flops(1)
        ember_sgemm(0, 0, 2, 2, 2, 1, a, 2, b, 2, 0, &c, 2)
        totals.append(ember_gemm_flops_counted())
        ember_gemm_count_flops(0)
        return totals
    }

    /// One LSTM training step (batch-first input without a gradient, no initial state, a loss of
    /// the outputs alone) counts exactly the products BPTT needs, and no others:
    /// forward x_t·W_ihᵀ for every step and h_{t-1}·W_hhᵀ for all but the first (h_{-1} = 0);
    /// backward dG_t·W_hh for all but the first step (no h0 to differentiate) and the weight
    /// gradients [h_{t-1} | x_t | 1]ᵀ·dG over all T·B rows in one chain per element.
    @Test func lstmStepCountsTheProductsBackpropagationThroughTimeNeeds() async {
        let (T, B, I, H) = (5, 8, 7, 16), G = 4 * H
        let forward = 2 * T * B * I * G + 2 * (T - 1) * B * H * G
        let backward = 2 * (T - 1) * B * G * H + 2 * T * B * (H + I + 1) * G
        #expect(await Self.counts(1) == [Int64(forward), Int64(backward)])
    }

    static func lstmStep() -> [Int64] {
        let (T, B, I, H) = (5, 8, 7, 16)
        var rng = SeededGenerator(seed: 11)
        let lstm = LSTM<Float>(inputSize: I, hiddenSize: H, batchFirst: true)
        let x = Variable(Tensor<Float>(randomNormal: [B, T, I], generator: &rng))
        ember_gemm_count_flops(1)
        let (output, _) = lstm(x)
        let forward = ember_gemm_flops_counted()
        ember_gemm_count_flops(1)
        (output * output).sum().backward()
        let backward = ember_gemm_flops_counted()
        ember_gemm_count_flops(0)
        return [forward, backward]
    }
}
