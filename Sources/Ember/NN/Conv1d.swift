// MARK: - Conv1d

/// A 1-D convolution (cross-correlation) over the last axis, PyTorch's `nn.Conv1d` with `groups=1`
/// and zero padding:
///
///     out[n, o, t] = bias[o] + Σ_c Σ_j weight[o, c, j] · x[n, c, t·stride + j·dilation - padding]
///
/// Input `[N, inChannels, L]` (or unbatched `[inChannels, L]`), output `[N, outChannels, Lout]` (or
/// `[outChannels, Lout]`) with `Lout = (L + 2·padding - dilation·(kernelSize - 1) - 1) / stride + 1`
/// rounded down. Parameters `weight` `[outChannels, inChannels, kernelSize]` and `bias`
/// `[outChannels]`, initialised as PyTorch's `reset_parameters` does with the default generator
/// (see `manualSeed`, PyTorch's draws in PyTorch's order): `kaiming_uniform_(weight, a=√5)`, i.e.
/// U(-1/√fanIn, 1/√fanIn), then the bias U(-1/√fanIn, 1/√fanIn), with `fanIn = inChannels · kernelSize`.
/// Computed by `conv1d(_:weight:bias:stride:padding:dilation:)`, whose products are GEMMs.
///
/// ```swift
/// let conv = Conv1d<Float>(inChannels: 3, outChannels: 5, kernelSize: 3, padding: 1)
/// let y = conv(x)          // x: [N, 3, L] -> y: [N, 5, L]
/// ```
public final class Conv1d<Scalar: TensorScalar>: Layer {
    /// `[outChannels, inChannels, kernelSize]`.
    public let weight: Variable<Scalar>
    /// `[outChannels]`, or nil when created with `bias: false`.
    public let bias: Variable<Scalar>?
    /// The step between output positions, in input positions.
    public let stride: Int
    /// Zeros added at both ends of the input.
    public let padding: Int
    /// The spacing between kernel taps.
    public let dilation: Int

    /// PyTorch's `nn.Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
    /// bias=True)`, initialised from the default generator as the type describes. Stops with a message
    /// unless the channel counts and `kernelSize` are positive, `stride >= 1`, `dilation >= 1` and
    /// `padding >= 0`.
    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, bias: Bool = true) {
        require(inChannels > 0 && outChannels > 0 && kernelSize > 0,
                "Conv1d: expected positive sizes, got inChannels \(inChannels), outChannels \(outChannels), kernelSize \(kernelSize)")
        require(stride >= 1, "Conv1d: expected stride >= 1, got \(stride)")
        require(padding >= 0, "Conv1d: expected padding >= 0, got \(padding)")
        require(dilation >= 1, "Conv1d: expected dilation >= 1, got \(dilation)")
        let (w, b) = withDefaultGenerator { g in
            Conv1d.initialParameters(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize,
                                     bias: bias, generator: &g)
        }
        weight = Variable(w, requiresGrad: true)
        self.bias = b.map { Variable($0, requiresGrad: true) }
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
    }

    /// PyTorch's `reset_parameters` draws: the weight by `kaiming_uniform_(a=√5)`, then the bias
    /// U(-1/√fanIn, 1/√fanIn), `fanIn = inChannels · kernelSize`.
    static func initialParameters(inChannels: Int, outChannels: Int, kernelSize: Int, bias: Bool,
                                  generator g: inout TorchGenerator) -> (Tensor<Scalar>, Tensor<Scalar>?) {
        let fanIn = inChannels * kernelSize
        let w = Tensor<Scalar>.kaimingUniformInit([outChannels, inChannels, kernelSize], fanIn: fanIn, generator: &g)
        return (w, bias ? Tensor<Scalar>.uniformInit([outChannels], bound: 1 / Double(fanIn).squareRoot(), generator: &g) : nil)
    }

    /// Input channels (`weight.shape[1]`).
    public var inChannels: Int { weight.shape[1] }
    /// Output channels (`weight.shape[0]`).
    public var outChannels: Int { weight.shape[0] }
    /// Kernel taps (`weight.shape[2]`).
    public var kernelSize: Int { weight.shape[2] }

    /// `[N, inChannels, L]` → `[N, outChannels, Lout]` (or unbatched `[inChannels, L]` →
    /// `[outChannels, Lout]`). Stops with a message when the input's rank or channels are wrong or
    /// the dilated kernel is longer than the padded input.
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
        conv1d(input, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation)
    }
}
