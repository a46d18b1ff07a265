import Testing
import Ember

/// The layers' checks stop with a message naming the layer (or op) and the shapes.
@Suite struct LayerErrorMessageTests {
    func stderr(of result: ExitTest.Result?) -> String {
        String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    }

    @Test func conv1dKernelLongerThanPaddedInput() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let conv = Conv1d<Float>(inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1, dilation: 3)
            _ = conv(Variable(Tensor(zeros: [1, 2, 4])))
        }
        #expect(stderr(of: result).contains("conv1d: the dilated kernel spans 7 positions (kernelSize 3, dilation 3) but the padded input has 6 (input [1, 2, 4], padding 1)"))
    }

    @Test func conv1dChannelMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Conv1d<Float>(inChannels: 2, outChannels: 3, kernelSize: 3)(Variable(Tensor(zeros: [1, 4, 8])))
        }
        #expect(stderr(of: result).contains("conv1d: weight [3, 2, 3] expects input with 2 channels, got input [1, 4, 8]"))
    }

    @Test func conv1dBadStride() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Conv1d<Float>(inChannels: 2, outChannels: 3, kernelSize: 3, stride: 0)
        }
        #expect(stderr(of: result).contains("Conv1d: expected stride >= 1, got 0"))
    }

    @Test func layerNormShapeMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = LayerNorm<Float>(normalizedShape: [6])(Variable(Tensor(zeros: [2, 5])))
        }
        #expect(stderr(of: result).contains("layerNorm: expected input [*, 6] for normalizedShape [6], got [2, 5]"))
    }

    @Test func multiheadAttentionHeadsMustDivideEmbedDim() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = MultiheadAttention<Float>(embedDim: 10, numHeads: 4)
        }
        #expect(stderr(of: result).contains("MultiheadAttention: embedDim 10 must be divisible by numHeads 4"))
    }

    @Test func multiheadAttentionPaddingMaskShape() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let mha = MultiheadAttention<Float>(embedDim: 4, numHeads: 2, batchFirst: true)
            let x = Variable(Tensor<Float>(zeros: [2, 3, 4]))
            _ = mha(x, x, x, keyPaddingMask: Tensor<Bool>(shape: [3, 2], scalars: Array(repeating: false, count: 6)))
        }
        #expect(stderr(of: result).contains("MultiheadAttention: expected keyPaddingMask [B, S] = [2, 3], got [3, 2]"))
    }
}
