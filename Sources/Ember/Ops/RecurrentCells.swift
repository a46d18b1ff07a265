// One time step of a recurrent cell, forward and backward, for a block of rows: the fused C kernels
// in Float, plain code for every scalar type (the reference the kernels are tested against); and
// the input projection of every step at once.

import CEmberKernels

extension RecurrentEngine {

    /// One time step for all B rows: writes h (and c, gates, and GRU's `newGateHidden`, W_hn·h_{t-1} + b_hn). Float LSTM and GRU steps run
    /// the fused C kernels, which compute bit for bit what `stepForwardPlain` computes. Those two
    /// alone also take the projections' biases `bih`, `bhh` ([G·H], added to each row of xw and gh
    /// as they are read, bit for bit a pass of its own would); every other caller passes nil.
    /// `streamed`: the gates (and `newGateHidden`) are a cache for a backward pass, which the fused
    /// kernels store past the caches (the same values; see `ember_lstm_forward_f`).
    @inline(__always)
    static func stepForward<Scalar: TensorScalar>(
        _ mode: RecurrentMode, B: Int, H: Int, xw: UnsafePointer<Scalar>, bih: UnsafePointer<Scalar>? = nil,
        gh: UnsafePointer<Scalar>, bhh: UnsafePointer<Scalar>? = nil,
        hPrev: UnsafePointer<Scalar>, cPrev: UnsafePointer<Scalar>, h: UnsafeMutablePointer<Scalar>,
        c: UnsafeMutablePointer<Scalar>?, gates: UnsafeMutablePointer<Scalar>?, newGateHidden: UnsafeMutablePointer<Scalar>?,
        streamed: Bool = false
    ) {
        if Scalar.self == Float.self {
            let level = ember_kernel_level_in_use()
            switch mode {
            case .lstm:
                ember_lstm_forward_f(level, B, H, float(xw), bih.map(float), float(gh), bhh.map(float), float(cPrev), float(gates!),
                                     float(c!), float(h), streamed ? 1 : 0)
                return
            case .gru:
                ember_gru_forward_f(level, B, H, float(xw), bih.map(float), float(gh), bhh.map(float), float(hPrev), float(gates!),
                                    float(newGateHidden!), float(h), streamed ? 1 : 0)
                return
            case .rnnTanh, .rnnRelu:
                break   // two vector calls already
            }
        }
        require(bih == nil && bhh == nil, "stepForward: biases are fused for Float LSTM and GRU only")
        stepForwardPlain(mode, B: B, H: H, xw: xw, gh: gh, hPrev: hPrev, cPrev: cPrev, h: h, c: c, gates: gates,
                         newGateHidden: newGateHidden)
    }

    /// The step of `stepForward` in plain code, for every scalar type (the reference the fused
    /// kernels are tested against).
    @inline(__always)
    static func stepForwardPlain<Scalar: TensorScalar>(
        _ mode: RecurrentMode, B: Int, H: Int, xw: UnsafePointer<Scalar>, gh: UnsafePointer<Scalar>,
        hPrev: UnsafePointer<Scalar>, cPrev: UnsafePointer<Scalar>, h: UnsafeMutablePointer<Scalar>,
        c: UnsafeMutablePointer<Scalar>?, gates: UnsafeMutablePointer<Scalar>?, newGateHidden: UnsafeMutablePointer<Scalar>?
    ) {
        switch mode {
        case .rnnTanh, .rnnRelu:
            Scalar._binary(.add, xw, aRow: 0, aStep: 1, gh, bRow: 0, bStep: 1, h, rows: 1, count: B * H, 0, 0)
            Scalar._unary(mode == .rnnTanh ? .tanh : .relu, h, h, count: B * H, 0, 0)
        case .lstm:
            let g = gates!, c = c!
            Scalar._binary(.add, xw, aRow: 0, aStep: 1, gh, bRow: 0, bStep: 1, g, rows: 1, count: B * 4 * H, 0, 0)
            for b in 0..<B {
                let row = g + b * 4 * H
                Scalar._unary(.sigmoid, row, row, count: 2 * H, 0, 0)          // i, f
                Scalar._unary(.tanh, row + 2 * H, row + 2 * H, count: H, 0, 0) // g
                Scalar._unary(.sigmoid, row + 3 * H, row + 3 * H, count: H, 0, 0) // o
                let cb = c + b * H, cp = cPrev + b * H
                for j in 0..<H { cb[j] = row[H + j] * cp[j] + row[j] * row[2 * H + j] }
            }
            Scalar._unary(.tanh, c, h, count: B * H, 0, 0)
            for b in 0..<B {
                let row = g + b * 4 * H, hb = h + b * H
                for j in 0..<H { hb[j] = row[3 * H + j] * hb[j] }   // o·tanh(c)
            }
        case .gru:
            let g = gates!, hn = newGateHidden!
            for b in 0..<B {
                let row = g + b * 3 * H, x = xw + b * 3 * H, hh = gh + b * 3 * H
                for j in 0..<(2 * H) { row[j] = x[j] + hh[j] }
                Scalar._unary(.sigmoid, row, row, count: 2 * H, 0, 0)          // r, z
                let hnb = hn + b * H
                for j in 0..<H {
                    hnb[j] = hh[2 * H + j]
                    row[2 * H + j] = x[2 * H + j] + row[j] * hh[2 * H + j]
                }
                Scalar._unary(.tanh, row + 2 * H, row + 2 * H, count: H, 0, 0) // n
                let hb = h + b * H, hp = hPrev + b * H
                for j in 0..<H {
                    let z = row[H + j], n = row[2 * H + j]
                    hb[j] = (1 - z) * n + z * hp[j]
                }
            }
        }
    }

    /// The gate gradients of one step for `rows` consecutive rows (see `ember_lstm_backward_f` and
    /// its siblings for the arguments; `c` is the step's cell state for LSTM, `newGateHidden` the
    /// step's W_hn·h_{t-1} + b_hn for GRU, nil otherwise): writes dzx (and for GRU dzh, and
    /// `dhPrevThroughZ` = dh_t·z, the part of h_{t-1}'s gradient that passes through z·h_{t-1}) and
    /// updates the LSTM cell gradient `dc` in place.
    /// Float runs the fused C kernels, which compute bit for bit what the plain code below computes
    /// for every scalar type (`plain` runs that in Float too: the reference the kernels are tested
    /// against).
    @inline(__always)
    static func stepBackward<Scalar: TensorScalar>(
        _ mode: RecurrentMode, plain: Bool = false, rows: Int, H: Int, dh: UnsafePointer<Scalar>, out: UnsafePointer<Scalar>,
        outStride: Int, h: UnsafePointer<Scalar>, gates: UnsafePointer<Scalar>?, c: UnsafePointer<Scalar>?,
        newGateHidden: UnsafePointer<Scalar>?,
        cPrev: UnsafePointer<Scalar>, hPrev: UnsafePointer<Scalar>, dc: UnsafeMutablePointer<Scalar>,
        dzx: UnsafeMutablePointer<Scalar>, dzh: UnsafeMutablePointer<Scalar>, dhPrevThroughZ: UnsafeMutablePointer<Scalar>
    ) {
        if Scalar.self == Float.self && !plain {
            let level = ember_kernel_level_in_use()
            switch mode {
            case .rnnTanh, .rnnRelu:
                ember_rnn_backward_f(level, mode == .rnnRelu ? 1 : 0, rows, H, float(dh), float(out), outStride, float(h), float(dzx))
            case .lstm:
                ember_lstm_backward_f(level, rows, H, float(dh), float(out), outStride, float(gates!), float(c!),
                                      float(cPrev), float(dc), float(dzx))
            case .gru:
                ember_gru_backward_f(level, rows, H, float(dh), float(out), outStride, float(gates!), float(newGateHidden!),
                                     float(hPrev), float(dzx), float(dzh), float(dhPrevThroughZ))
            }
            return
        }
        let GH = mode.gates * H
        for b in 0..<rows {
            let dhb = dh + b * H, o = out + b * outStride, hb = h + b * H, zx = dzx + b * GH
            switch mode {
            case .rnnTanh:
                for j in 0..<H { zx[j] = (dhb[j] + o[j]) * (1 - hb[j] * hb[j]) }
            case .rnnRelu:
                for j in 0..<H { zx[j] = hb[j] <= 0 ? 0 : dhb[j] + o[j] }   // passes where h is NaN
            case .lstm:
                // tanh(c_t), recomputed, in the o gate's slot of dzx until that is written (at each j,
                // after its last read).
                let g = gates! + b * GH, tc = zx + 3 * H, dcb = dc + b * H, cp = cPrev + b * H
                Scalar._unary(.tanh, c! + b * H, tc, count: H, 0, 0)
                for j in 0..<H {
                    let dht = dhb[j] + o[j]
                    let (i, f, gg, og) = (g[j], g[H + j], g[2 * H + j], g[3 * H + j])
                    let dct = dcb[j] + dht * og * (1 - tc[j] * tc[j])
                    zx[j] = dct * gg * i * (1 - i)
                    zx[H + j] = dct * cp[j] * f * (1 - f)
                    zx[2 * H + j] = dct * i * (1 - gg * gg)
                    zx[3 * H + j] = dht * tc[j] * og * (1 - og)
                    dcb[j] = dct * f
                }
            case .gru:
                let g = gates! + b * GH, hn = newGateHidden! + b * H
                let zh = dzh + b * GH, hp = hPrev + b * H, dir = dhPrevThroughZ + b * H
                for j in 0..<H {
                    let dht = dhb[j] + o[j]
                    let (r, z, n) = (g[j], g[H + j], g[2 * H + j])
                    let dnPre = dht * (1 - z) * (1 - n * n)
                    let dr = dnPre * hn[j] * r * (1 - r)
                    let dz = dht * (hp[j] - n) * z * (1 - z)
                    zx[j] = dr; zx[H + j] = dz; zx[2 * H + j] = dnPre
                    zh[j] = dr; zh[H + j] = dz; zh[2 * H + j] = dnPre * r
                    dir[j] = dht * z
                }
            }
        }
    }

    /// The input projection of the rows of `segments` (starts and counts of rows of `x` and `xw`),
    /// `xw = x · wᵀ + bias` for `x` `[rows, I]` and `w` `[GH, I]`, in blocks of up to 128 rows spread
    /// over the cores. Each block's bias is added while its rows are still in cache. Every element
    /// is computed exactly as one product over all rows followed by the bias addition would compute
    /// it (each element of a product is one chain over K, whatever the rows around it).
    static func projectInputs<Scalar: TensorScalar>(_ segments: [(start: Int, count: Int)], I: Int, GH: Int,
                                                    x: UnsafePointer<Scalar>, w: UnsafePointer<Scalar>,
                                                    bias: UnsafePointer<Scalar>?, into xw: UnsafeMutablePointer<Scalar>) {
        let blockRows = 128
        let blocks = segments.flatMap { segment in
            stride(from: 0, to: segment.count, by: blockRows).map { (start: segment.start + $0, count: Swift.min(blockRows, segment.count - $0)) }
        }
        let rows = segments.reduce(0) { $0 + $1.count }
        let threads = rows * GH * I >= GEMM.parallelThreshold ? emberThreadCount : 1
        WorkerPool.shared.run(chunks: blocks.count, threads: threads) { block in
            let (r0, n) = blocks[block]
            let c = xw + r0 * GH
            Scalar._gemm(transA: false, transB: true, m: n, n: GH, k: I, alpha: 1, a: x + r0 * I, lda: I, b: w, ldb: I,
                         beta: 0, c: c, ldc: GH)
            if let bias {
                Scalar._binary(.add, c, aRow: GH, aStep: 1, bias, bRow: 0, bStep: 1, c, rows: n, count: GH, 0, 0)
            }
        }
    }
}
