// MARK: - 1-D convolution (forward and backward together)

/// 1-D cross-correlation, PyTorch's `torch.nn.functional.conv1d(input, weight, bias, stride, padding,
/// dilation)` (groups 1, zero padding), as one tape node:
///
///     out[n, o, t] = bias[o] + Σ_c Σ_j weight[o, c, j] · x[n, c, t·stride + j·dilation - padding]
///
/// with `x` zero outside `0..<L`. `input` is `[N, C, L]` (or unbatched `[C, L]`), `weight`
/// `[O, C, K]`, `bias` `[O]`; the result is `[N, O, Lout]` (or `[O, Lout]`) with
/// `Lout = (L + 2·padding - dilation·(K - 1) - 1) / stride + 1` (rounded down).
///
/// The product goes through the GEMM: the input is unfolded once ("im2col": `[N, C·K, Lout]`, column
/// `t` holding the `C·K` inputs that output position `t` sees) and each batch element is one matrix
/// product `weight [O, C·K] · cols [C·K, Lout]`. Backward: `gweight = Σ_n g[n] · cols[n]ᵀ` (GEMMs
/// accumulating into one `[O, C·K]`), `gcols = weightᵀ · g` folded back onto the input positions
/// ("col2im", adding where windows overlap), `gbias = Σ g` over `N` and `Lout`.
///
/// Stops with a message naming the shapes when the input is not rank 2 or 3, the channels differ from
/// `weight`'s, `bias` is not `[O]`, `stride` or `dilation` is below 1, `padding` is negative, or the
/// dilated kernel is longer than the padded input (PyTorch's "Kernel size can't be greater than
/// actual input size").
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func conv1d<Scalar>(_ input: Variable<Scalar>, weight: Variable<Scalar>, bias: Variable<Scalar>? = nil,
                           stride: Int = 1, padding: Int = 0, dilation: Int = 1) -> Variable<Scalar> {
    let unbatched = input.rank == 2
    let geometry = Conv1dGeometry(input: input.shape, weight: weight.shape, bias: bias?.shape,
                                  stride: stride, padding: padding, dilation: dilation)
    let x = unbatched ? input.data.reshaped(to: [1] + input.shape) : input.data
    let w2 = weight.data.reshaped(to: [geometry.outChannels, geometry.patch])
    let cols = geometry.unfold(x)
    var y = Tensor.matmul(w2, transposed: false, cols, transposed: false)       // [N, O, Lout]
    if let b = bias { y = y + b.data.reshaped(to: [geometry.outChannels, 1]) }
    let xs = input.shape, ws = weight.shape, ys = y.shape
    let needX = input.requiresGrad, needW = weight.requiresGrad, needB = bias?.requiresGrad ?? false
    var inputs = [input, weight]
    if let bias { inputs.append(bias) }
    let attributes = NodeAttributes.convolution(stride: stride, padding: padding, dilation: dilation)
    return Variable.record("conv1d", unbatched ? y.reshaped(to: Array(ys.dropFirst())) : y, inputs, attributes: attributes) { g in
        let g3 = g.reshaped(to: ys)
        var grads: [Tensor<Scalar>?] = [
            needX ? geometry.fold(Tensor.matmul(w2, transposed: true, g3, transposed: false)).reshaped(to: xs) : nil,
            needW ? geometry.weightGradient(g3, cols).reshaped(to: ws) : nil,
        ]
        if bias != nil { grads.append(needB ? g3.sum(axis: 2).sum(axis: 0) : nil) }
        return grads
    }
}

/// The sizes of one `conv1d` call, checked, and its unfold/fold (im2col/col2im) loops.
struct Conv1dGeometry: Sendable {
    let batch: Int, channels: Int, length: Int, outChannels: Int, kernel: Int
    let stride: Int, padding: Int, dilation: Int, outLength: Int
    /// `C·K`: the rows of the unfolded input, the columns of the flattened weight.
    var patch: Int { channels * kernel }

    init(input xs: [Int], weight ws: [Int], bias bs: [Int]?, stride: Int, padding: Int, dilation: Int) {
        require(xs.count == 2 || xs.count == 3,
                "conv1d: expected input [N, C, L] or [C, L], got \(describe(xs))")
        require(ws.count == 3 && ws.allSatisfy { $0 > 0 },
                "conv1d: expected weight [outChannels, inChannels, kernelSize] of positive sizes, got \(describe(ws))")
        let c = xs[xs.count - 2], l = xs[xs.count - 1]
        require(c == ws[1], "conv1d: weight \(describe(ws)) expects input with \(ws[1]) channels, got input \(describe(xs))")
        if let bs { require(bs == [ws[0]], "conv1d: expected bias [\(ws[0])] for weight \(describe(ws)), got \(describe(bs))") }
        require(stride >= 1, "conv1d: expected stride >= 1, got \(stride)")
        require(dilation >= 1, "conv1d: expected dilation >= 1, got \(dilation)")
        require(padding >= 0, "conv1d: expected padding >= 0, got \(padding)")
        let span = dilation * (ws[2] - 1) + 1
        require(span <= l + 2 * padding,
                "conv1d: the dilated kernel spans \(span) positions (kernelSize \(ws[2]), dilation \(dilation)) but the padded input has \(l + 2 * padding) (input \(describe(xs)), padding \(padding)); the kernel can't be longer than the padded input")
        batch = xs.count == 3 ? xs[0] : 1
        channels = c
        length = l
        outChannels = ws[0]
        kernel = ws[2]
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        outLength = (l + 2 * padding - span) / stride + 1
    }

    /// The input position read by kernel tap `j` at output position `t` (may fall in the padding).
    @inline(__always)
    func position(_ t: Int, _ j: Int) -> Int { t * stride + j * dilation - padding }

    /// im2col: `[N, C, L]` → `[N, C·K, Lout]`, row `c·K + j`, column `t` = `x[n, c, position(t, j)]`
    /// (0 in the padding).
    func unfold<Scalar: TensorScalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
        Tensor(computing: [batch, patch, outLength]) { cols, _ in
            x.withBase { px in
                for n in 0..<batch {
                    for c in 0..<channels {
                        let src = px + (n * channels + c) * length
                        for j in 0..<kernel {
                            let dst = cols + ((n * channels + c) * kernel + j) * outLength
                            for t in 0..<outLength {
                                let p = position(t, j)
                                dst[t] = p >= 0 && p < length ? src[p] : 0
                            }
                        }
                    }
                }
            }
        }
    }

    /// col2im, the adjoint of `unfold`: `[N, C·K, Lout]` → `[N, C, L]`, each column entry added to
    /// the input position it was read from (padding positions dropped).
    func fold<Scalar: TensorScalar>(_ cols: Tensor<Scalar>) -> Tensor<Scalar> {
        var x = Tensor<Scalar>(zeros: [batch, channels, length])
        guard x.count > 0 else { return x }
        cols.withBase { pc in
            x.withUnsafeMutableBufferPointer { px in
                for n in 0..<batch {
                    for c in 0..<channels {
                        let dst = px.baseAddress! + (n * channels + c) * length
                        for j in 0..<kernel {
                            let src = pc + ((n * channels + c) * kernel + j) * outLength
                            for t in 0..<outLength {
                                let p = position(t, j)
                                if p >= 0 && p < length { dst[p] += src[t] }
                            }
                        }
                    }
                }
            }
        }
        return x
    }

    /// `Σ_n g[n] · cols[n]ᵀ`: `[N, O, Lout]` and `[N, C·K, Lout]` → `[O, C·K]`, one GEMM per batch
    /// element accumulating into the result.
    func weightGradient<Scalar: TensorScalar>(_ g: Tensor<Scalar>, _ cols: Tensor<Scalar>) -> Tensor<Scalar> {
        var gw = Tensor<Scalar>(zeros: [outChannels, patch])
        g.withBase { pg in cols.withBase { pc in
            gw.withUnsafeMutableBufferPointer { pw in
                for n in 0..<batch {
                    GEMM.run(transA: false, transB: true, m: outChannels, n: patch, k: outLength,
                             a: pg + n * outChannels * outLength, lda: outLength,
                             b: pc + n * patch * outLength, ldb: outLength,
                             beta: 1, c: pw.baseAddress!, ldc: patch)
                }
            }
        } }
        return gw
    }
}
