// The memory of the recurrent engine's passes: buffers that hold their own pointer (so the passes
// reach them without nested closures), the cache one layer and direction keeps for its backward
// pass, and where a layer's output rows go.

/// Scalars in memory of their own, uninitialized until written, for the engine's buffers that
/// never become a tensor: `base` stays valid while the buffer lives, so a pass reaches it without
/// a closure. At a multiple of 64 bytes, so that the cell kernels' whole vectors of a cache are
/// aligned for their non-temporal stores; 8 MB or more asks for 2 MB pages, as `uninitializedScalars` does.
final class ScalarBuffer<Scalar: TensorScalar>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Scalar>
    let count: Int

    init(uninitialized count: Int) {
        self.count = count
        let bytes = Swift.max(1, count) * MemoryLayout<Scalar>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        adviseHugePages(raw, bytes: bytes)
        base = raw.bindMemory(to: Scalar.self, capacity: Swift.max(1, count))
    }

    /// Layer-direction `index`'s `[B, H]` slice (`size` = B·H values) of a `[L·D, B, H]` state,
    /// or zeros when there is none.
    convenience init(slice index: Int, of state: Tensor<Scalar>?, size: Int) {
        self.init(uninitialized: size)
        if let state {
            state.withBase { base.update(from: $0 + index * size, count: size) }
        } else {
            base.update(repeating: 0, count: size)
        }
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }
}

/// Everything the backward pass needs from one layer and direction's forward pass.
struct DirectionCache<Scalar: TensorScalar> {
    /// h after each step, [T, B, H]. Rows past a sequence's end hold the carried state when every
    /// row is computed at every step, and are never written when the steps skip them (their final
    /// state is their last step's). An array, since a one-direction layer's output is this array itself.
    var hs: [Scalar]
    /// LSTM: c after each step, [T, B, H] (rows past a sequence's end as in `hs`); nil otherwise.
    let cs: ScalarBuffer<Scalar>?
    /// LSTM: i, f, g, o after activation; GRU: r, z, n after activation. [T, B, G·H] when kept for a
    /// backward pass, else one step's [B, G·H] reused; nil for RNN.
    let gates: ScalarBuffer<Scalar>?
    /// GRU: W_hn·h_{t-1} + b_hn, the hidden part of the new gate before r scales it, [T, B, H] (or
    /// one step's); nil otherwise. (LSTM's backward recomputes tanh(c) from `cs` rather than read
    /// a stored copy: less memory traffic where the step is memory-bound.)
    let newGateHidden: ScalarBuffer<Scalar>?

    /// Uninitialized buffers for `T` steps of `B` rows, the gates and `newGateHidden` for `gateSteps`
    /// steps (T, or 1 when no backward pass will read them).
    init(_ mode: RecurrentMode, T: Int, B: Int, H: Int, gateSteps: Int) {
        hs = uninitializedScalars(T * B * H)
        cs = mode == .lstm ? ScalarBuffer(uninitialized: T * B * H) : nil
        gates = mode == .lstm || mode == .gru ? ScalarBuffer(uninitialized: gateSteps * B * mode.gates * H) : nil
        newGateHidden = mode == .gru ? ScalarBuffer(uninitialized: gateSteps * B * H) : nil
    }
}

/// Where `RecurrentEngine.forward` writes the last layer's output when the caller owns the buffer:
/// row (t, b) of the output, D·H values, starts at `base + (t·rowStrideT + b·rowStrideB)·D·H`.
struct OutputDestination<Scalar>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Scalar>
    let rowStrideT: Int
    let rowStrideB: Int
}

/// How the recurrent stack lays out its last layer's output: time-major `[T, B, D·H]`,
/// batch-first `[B, T, D·H]` (written so, not transposed afterwards), or into a caller's buffer.
/// The layers below the last feed each other time-major.
enum OutputLayout<Scalar> {
    case timeMajor
    case batchFirst
    case destination(OutputDestination<Scalar>)
}

/// Where one direction's rows of a layer's output go as the steps compute them: row (t, b) of the
/// direction's H values at `base + (t·strideT + b·strideB)·D·H + column`; rows past a sequence's
/// end are zeroed when `zeroPadding` (a caller's buffer or a ragged batch's output) and left as
/// they are otherwise (no row is past its end).
struct OutputPlacement<Scalar: TensorScalar>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Scalar>
    let strideT: Int, strideB: Int
    let rowLength: Int
    let column: Int
    let zeroPadding: Bool

    /// Step `t`'s rows `b0..<b0 + rows` from `h` (the block's rows, H apart) into place.
    @inline(__always)
    func place(t: Int, b0: Int, rows: Int, H: Int, from h: UnsafePointer<Scalar>, lengths: [Int]) {
        for b in b0..<(b0 + rows) {
            let target = base + (t * strideT + b * strideB) * rowLength + column
            if t < lengths[b] {
                target.update(from: h + (b - b0) * H, count: H)
            } else if zeroPadding {
                target.update(repeating: 0, count: H)
            }
        }
    }
}
