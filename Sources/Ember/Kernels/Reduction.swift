// Reductions and row-wise softmax over a tensor viewed as [outer, length, inner]: the axis being
// reduced is the middle one. Default implementations of `TensorScalar`'s requirements.

/// Pairwise (cascade) sum of `count` contiguous values, as NumPy and PyTorch do: blocks of up to 128
/// values are summed with eight independent partial sums, and blocks are combined pairwise, so the
/// rounding error grows with log(count) rather than with count.
@inline(__always)
func sumContiguous<T: TensorScalar>(_ x: UnsafePointer<T>, _ count: Int) -> T {
    if count > 128 {
        let half = (count / 2 + 7) & ~7
        return sumContiguous(x, half) + sumContiguous(x + half, count - half)
    }
    var s0: T = 0, s1: T = 0, s2: T = 0, s3: T = 0, s4: T = 0, s5: T = 0, s6: T = 0, s7: T = 0
    var i = 0
    while i + 8 <= count {
        s0 += x[i]; s1 += x[i + 1]; s2 += x[i + 2]; s3 += x[i + 3]
        s4 += x[i + 4]; s5 += x[i + 5]; s6 += x[i + 6]; s7 += x[i + 7]
        i += 8
    }
    while i < count { s0 += x[i]; i += 1 }
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

extension TensorScalar {
    /// Kernel plumbing, not for use outside Ember: sum or max (NaN propagates) along the middle axis of
    /// `[outer, length, inner]`, into `[outer, inner]`.
    @_spi(Kernels) public static func _reduce(_ op: ReductionKernel, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>,
                               outer: Int, length: Int, inner: Int) {
        for o in 0..<outer {
            let src = x + o * length * inner, dst = y + o * inner
            if inner == 1 {
                switch op {
                case .sum: dst[0] = sumContiguous(src, length)
                case .max:
                    var best = -Self.infinity
                    for k in 0..<length where src[k] > best || src[k].isNaN { best = src[k]; if best.isNaN { break } }
                    dst[0] = best
                }
                continue
            }
            switch op {
            case .sum:
                for i in 0..<inner { dst[i] = 0 }
                for k in 0..<length {
                    let row = src + k * inner
                    for i in 0..<inner { dst[i] += row[i] }
                }
            case .max:
                for i in 0..<inner { dst[i] = -Self.infinity }
                for k in 0..<length {
                    let row = src + k * inner
                    for i in 0..<inner where row[i] > dst[i] || row[i].isNaN { dst[i] = dst[i].isNaN ? dst[i] : row[i] }
                }
            }
        }
    }

    /// Kernel plumbing: `_reduce(.max, ...)` and the index of the first maximum (a NaN counts as one).
    @_spi(Kernels) public static func _argmax(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>,
                               _ indices: UnsafeMutablePointer<Int>, outer: Int, length: Int, inner: Int) {
        for o in 0..<outer {
            for i in 0..<inner {
                let src = x + o * length * inner + i
                var best = src[0], index = 0
                if !best.isNaN {
                    for k in 1..<Swift.max(length, 1) {
                        let v = src[k * inner]
                        if v > best || v.isNaN { best = v; index = k; if v.isNaN { break } }
                    }
                }
                y[o * inner + i] = best
                indices[o * inner + i] = index
            }
        }
    }

    /// Kernel plumbing: softmax or log-softmax along the middle axis of `[outer, length, inner]`.
    @_spi(Kernels) public static func _softmax(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>,
                                outer: Int, length: Int, inner: Int, log: Bool) {
        for o in 0..<outer {
            for i in 0..<inner {
                let src = x + o * length * inner + i, dst = y + o * length * inner + i
                var m = -Self.infinity
                for k in 0..<length where src[k * inner] > m { m = src[k * inner] }
                if m == -Self.infinity { m = 0 }
                var total: Self = 0
                for k in 0..<length {
                    let e = _exp(src[k * inner] - m)
                    total += e
                    if !log { dst[k * inner] = e }
                }
                if log {
                    // (x - max) - log(total): subtracting the shift in two steps keeps the small
                    // result exact when x is large (x - (max + log total) would round at max's scale).
                    let logTotal = _log(total)
                    for k in 0..<length { dst[k * inner] = (src[k * inner] - m) - logTotal }
                } else {
                    let scale = 1 / total
                    for k in 0..<length { dst[k * inner] *= scale }
                }
            }
        }
    }

    /// Kernel plumbing: the input gradient of `_softmax` from the output gradient and the output.
    @_spi(Kernels) public static func _softmaxBackward(_ gy: UnsafePointer<Self>, _ y: UnsafePointer<Self>,
                                        _ gx: UnsafeMutablePointer<Self>, outer: Int, length: Int,
                                        inner: Int, log: Bool) {
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * length * inner + i
                var total: Self = 0
                if log {
                    // y = x - logsumexp(x): gx = gy - softmax(x) * sum(gy)
                    for k in 0..<length { total += gy[base + k * inner] }
                    for k in 0..<length {
                        gx[base + k * inner] = gy[base + k * inner] - _exp(y[base + k * inner]) * total
                    }
                } else {
                    // y = softmax(x): gx = y * (gy - sum(gy * y))
                    for k in 0..<length { total += gy[base + k * inner] * y[base + k * inner] }
                    for k in 0..<length {
                        gx[base + k * inner] = y[base + k * inner] * (gy[base + k * inner] - total)
                    }
                }
            }
        }
    }
}
