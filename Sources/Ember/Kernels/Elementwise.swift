// Elementwise kernels. They are the default implementations of `TensorScalar`'s requirements, so the
// compiler emits one specialised, vectorised copy per scalar type in the conformances.

// MARK: - Loops

@inline(__always)
func mapLoop<T>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, _ f: (T) -> T) {
    if count == 1 { y[0] = f(x[0]); return }   // as in zipLoop
    for i in 0..<count { y[i] = f(x[i]) }
}

@inline(__always)
func zipLoop<T>(_ a: UnsafePointer<T>, aRow: Int, aStep: Int, _ b: UnsafePointer<T>, bRow: Int,
                bStep: Int, _ y: UnsafeMutablePointer<T>, rows: Int, count: Int, _ f: (T, T) -> T) {
    // One value (a scalar or [1, 1] operand, common in losses): the vectorised loops' set-up would
    // cost more than the operation (~170 instructions, callgrind on `ember-bench ops --only mul`).
    if rows == 1 && count == 1 { y[0] = f(a[0], b[0]); return }
    for r in 0..<rows {
        let pa = a + r * aRow, pb = b + r * bRow, py = y + r * count
        // Separate loops for the common stride patterns so each one vectorises.
        if aStep == 1 && bStep == 1 {
            for i in 0..<count { py[i] = f(pa[i], pb[i]) }
        } else if aStep == 1 && bStep == 0 {
            let vb = pb[0]
            for i in 0..<count { py[i] = f(pa[i], vb) }
        } else if aStep == 0 && bStep == 1 {
            let va = pa[0]
            for i in 0..<count { py[i] = f(va, pb[i]) }
        } else {
            for i in 0..<count { py[i] = f(pa[i * aStep], pb[i * bStep]) }
        }
    }
}

// MARK: - Default kernel implementations

extension TensorScalar {
    /// Kernel plumbing, not for use outside Ember: the plain loop of each `UnaryKernel`.
    @_spi(Kernels) public static func _unary(_ op: UnaryKernel, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>,
                              count: Int, _ p: Self, _ q: Self) {
        unaryLoops(op, x, y, count: count, p, q)
    }
}

/// The plain loops for every unary kernel (Float replaces exp, tanh and sigmoid by vector code).
@inline(__always)
func unaryLoops<Self: TensorScalar>(_ op: UnaryKernel, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>,
                                    count: Int, _ p: Self, _ q: Self) {
        typealias S = Self
        switch op {
        case .negate: mapLoop(x, y, count) { -$0 }
        case .exp: mapLoop(x, y, count) { S._exp($0) }
        case .log: mapLoop(x, y, count) { S._log($0) }
        case .tanh: mapLoop(x, y, count) { S._tanh($0) }
        case .sigmoid:
            // Stable on both sides: never exponentiates a large positive number.
            mapLoop(x, y, count) { v in
                if v >= 0 { return 1 / (1 + S._exp(-v)) }
                let e = S._exp(v)
                return e / (1 + e)
            }
        case .relu:
            // NaN stays NaN (torch.relu is clamp_min(x, 0)); x <= 0, -0 included, gives +0.
            mapLoop(x, y, count) { $0 <= 0 ? 0 : $0 }
        case .sqrt: mapLoop(x, y, count) { $0.squareRoot() }
        case .square: mapLoop(x, y, count) { $0 * $0 }
        case .abs: mapLoop(x, y, count) { Swift.abs($0) }
        case .scaledPow:
            if p == 2 { mapLoop(x, y, count) { q * $0 * $0 } }
            else if p == 1 { mapLoop(x, y, count) { q * $0 } }
            else if p == 0 { mapLoop(x, y, count) { _ in q } }
            else { mapLoop(x, y, count) { q * S._pow($0, p) } }
        case .clamp:
            // NaN passes through, as in PyTorch.
            mapLoop(x, y, count) { v in v < p ? p : (v > q ? q : v) }
        case .addScalar: mapLoop(x, y, count) { $0 + p }
        case .multiplyScalar: mapLoop(x, y, count) { $0 * p }
        case .subtractFromScalar: mapLoop(x, y, count) { p - $0 }
        case .divideScalar: mapLoop(x, y, count) { p / $0 }
        }
}

extension TensorScalar {

    /// Kernel plumbing: the plain loop of each `BinaryKernel`, over `rows` rows of `count` values.
    @_spi(Kernels) public static func _binary(_ op: BinaryKernel, _ a: UnsafePointer<Self>, aRow: Int, aStep: Int,
                               _ b: UnsafePointer<Self>, bRow: Int, bStep: Int,
                               _ y: UnsafeMutablePointer<Self>, rows: Int, count: Int,
                               _ p: Self, _ q: Self) {
        switch op {
        case .add:
            zipLoop(a, aRow: aRow, aStep: aStep, b, bRow: bRow, bStep: bStep, y, rows: rows, count: count) { $0 + $1 }
        case .subtract:
            zipLoop(a, aRow: aRow, aStep: aStep, b, bRow: bRow, bStep: bStep, y, rows: rows, count: count) { $0 - $1 }
        case .multiply:
            zipLoop(a, aRow: aRow, aStep: aStep, b, bRow: bRow, bStep: bStep, y, rows: rows, count: count) { $0 * $1 }
        case .divide:
            zipLoop(a, aRow: aRow, aStep: aStep, b, bRow: bRow, bStep: bStep, y, rows: rows, count: count) { $0 / $1 }
        case .tanhBackward:
            zipLoop(a, aRow: aRow, aStep: aStep, b, bRow: bRow, bStep: bStep, y, rows: rows, count: count) { $0 * (1 - $1 * $1) }
        case .sigmoidBackward:
            zipLoop(a, aRow: aRow, aStep: aStep, b, bRow: bRow, bStep: bStep, y, rows: rows, count: count) { $0 * ($1 * (1 - $1)) }
        case .reluBackward:
            // threshold_backward(grad, result, 0): the gradient passes where b is NaN.
            zipLoop(a, aRow: aRow, aStep: aStep, b, bRow: bRow, bStep: bStep, y, rows: rows, count: count) { $1 <= 0 ? 0 : $0 }
        case .clampBackward:
            // Strictly inside; an infinite bound is no bound (NaN passes only when neither is given).
            let noMin = p == -.infinity, noMax = q == .infinity
            zipLoop(a, aRow: aRow, aStep: aStep, b, bRow: bRow, bStep: bStep, y, rows: rows, count: count) {
                (noMin || p < $1) && (noMax || $1 < q) ? $0 : 0
            }
        case .sqrtBackward:
            zipLoop(a, aRow: aRow, aStep: aStep, b, bRow: bRow, bStep: bStep, y, rows: rows, count: count) { $0 / (2 * $1) }
        }
    }

    /// Kernel plumbing: `y[i] += x[i]` for `i < count`.
    @_spi(Kernels) public static func _accumulate(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }
}
