// MARK: - Subscript slicing: x[.., -1], x[1..<3, .stride(2)]
//
// Design: each subscript position is an `AxisIndex` (what it selects along one axis). `Int` and the
// standard range types adopt `TensorIndexExpression`, which turns them into one, and `AxisIndex`'s
// own `.all`, `.stride(n)` and `.range(r, step:)` cover the rest. The variadic subscript takes
// `any TensorIndexExpression...`; Swift's `...` (and Ember's `..`, the same function) is a function
// value of type `UnboundedRange`, which cannot adopt a protocol, so the subscripts with a `..` in
// some position are overloads for up to four positions (TensorSliceable+Subscripts.swift).
// Both `Tensor` and `Variable` get every subscript from the `TensorSliceable` protocol.

/// `..` for a whole axis in a subscript, as PyTorch's `:` — `x[.., -1]`. It is the same value as
/// Swift's `...` (`UnboundedRange`), which works too.
postfix operator ..

/// `..`: the unbounded range, as `...`; only meaningful as a subscript position (`x[.., 0]`).
public postfix func .. (_: UnboundedRange_) -> () {}

/// What one subscript position selects along one axis: one index (the axis is removed), or a range
/// with a step (the axis is kept).
///
/// Negative indices and bounds count from the end (`-1` is the last). Unlike PyTorch, whose slices
/// clamp silently, a bound outside the axis stops with a message naming the subscript and the shape
/// (as Swift's arrays do).
public struct AxisIndex: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case index(Int)
        /// `lower..<upper` (`closed`: `lower...upper`), a missing bound meaning the axis' end.
        case range(lower: Int?, upper: Int?, closed: Bool, step: Int)
    }
    let kind: Kind

    init(_ kind: Kind) { self.kind = kind }

    /// The subscript position as written in Swift: `-1`, `1..<3`, `..`, `.stride(2)`, `.range(1..., step: 2)`.
    public var description: String {
        switch kind {
        case .index(let i): return "\(i)"
        case let .range(lower, upper, closed, step):
            var range = lower.map(String.init) ?? ""
            if let upper { range += (closed ? "..." : "..<") + "\(upper)" } else if lower != nil { range += "..." }
            if step == 1 { return range.isEmpty ? ".." : range }
            return range.isEmpty ? ".stride(\(step))" : ".range(\(range), step: \(step))"
        }
    }

    /// `(start, count, step)` along an axis of `size` for a range, `(index, nil, 1)` for an index,
    /// checked against the axis; `context` names the whole subscript for messages.
    func resolve(size: Int, axis: Int, context: () -> String) -> (start: Int, count: Int?, step: Int) {
        switch kind {
        case .index(let i):
            let j = i < 0 ? i + size : i
            require(j >= 0 && j < size, "\(context()): index \(i) is out of range for axis \(axis) of size \(size)")
            return (j, nil, 1)
        case let .range(lower, upper, closed, step):
            require(step > 0, "\(context()): the step must be positive, got \(step)")
            var lo = lower ?? 0, hi = upper ?? size
            if lo < 0 { lo += size }
            if hi < 0 { hi += size }
            if closed { hi += 1 }
            require(lo >= 0 && lo <= hi && hi <= size,
                    "\(context()): range \(self) is out of range for axis \(axis) of size \(size)")
            return (lo, (hi - lo + step - 1) / step, step)
        }
    }
}

/// A value that can stand in a subscript position of a `Tensor` or `Variable`: `Int` (one index,
/// negative from the end), the range types `a..<b`, `a...b`, `a...`, `..<b`, `...b` (negative bounds
/// from the end) and `AxisIndex` itself (`.all`, `.stride(n)`, `.range(r, step:)`).
public protocol TensorIndexExpression {
    /// What this expression selects along one axis.
    var axisIndex: AxisIndex { get }
}

extension AxisIndex: TensorIndexExpression {
    /// Itself.
    public var axisIndex: AxisIndex { self }
}

extension Int: TensorIndexExpression {
    /// One index (negative counts from the end); the axis is removed.
    public var axisIndex: AxisIndex { AxisIndex(.index(self)) }
}

extension Range: TensorIndexExpression where Bound == Int {
    /// `lowerBound..<upperBound`, step 1.
    public var axisIndex: AxisIndex { AxisIndex(.range(lower: lowerBound, upper: upperBound, closed: false, step: 1)) }
}

extension ClosedRange: TensorIndexExpression where Bound == Int {
    /// `lowerBound...upperBound` (the upper bound included; `-1` is the last), step 1.
    public var axisIndex: AxisIndex { AxisIndex(.range(lower: lowerBound, upper: upperBound, closed: true, step: 1)) }
}

extension PartialRangeFrom: TensorIndexExpression where Bound == Int {
    /// From `lowerBound` to the end of the axis, step 1.
    public var axisIndex: AxisIndex { AxisIndex(.range(lower: lowerBound, upper: nil, closed: false, step: 1)) }
}

extension PartialRangeUpTo: TensorIndexExpression where Bound == Int {
    /// From the start of the axis up to (not including) `upperBound`, step 1.
    public var axisIndex: AxisIndex { AxisIndex(.range(lower: nil, upper: upperBound, closed: false, step: 1)) }
}

extension PartialRangeThrough: TensorIndexExpression where Bound == Int {
    /// From the start of the axis through `upperBound`, step 1.
    public var axisIndex: AxisIndex { AxisIndex(.range(lower: nil, upper: upperBound, closed: true, step: 1)) }
}

extension TensorIndexExpression where Self == AxisIndex {
    /// The whole axis, as PyTorch's `:` (the same as `..` or `...` in a subscript).
    public static var all: AxisIndex { AxisIndex(.range(lower: nil, upper: nil, closed: false, step: 1)) }

    /// Every `step`-th element of the whole axis from the first, as PyTorch's `::step`
    /// (`x[.., .stride(2)]`); `step` must be positive.
    public static func stride(_ step: Int) -> AxisIndex {
        AxisIndex(.range(lower: nil, upper: nil, closed: false, step: step))
    }

    /// Every `step`-th element of `range` from its start, as PyTorch's `start:end:step`
    /// (`x[.range(1..<6, step: 2)]`, `x[.range(1..., step: 3)]`); `step` must be positive.
    public static func range<R: RangeExpression<Int> & TensorIndexExpression>(_ range: R, step: Int) -> AxisIndex {
        guard case let .range(lower, upper, closed, _) = range.axisIndex.kind else {
            requireFailure("AxisIndex.range: expected a range, got \(range)")
        }
        return AxisIndex(.range(lower: lower, upper: upper, closed: closed, step: step))
    }
}

// MARK: - Resolving a subscript

/// The strided view a subscript selects: the result's shape, and where each of its elements is in
/// the source's row-major storage (see Tensor+Strided.swift).
struct SliceView {
    var shape: [Int] = []
    var offset = 0
    var strides: [Int] = []

    /// Resolves `indices` (missing trailing positions are whole axes) against `source`, stopping
    /// with a message naming the subscript and the shape when a position is out of range.
    init(_ indices: [AxisIndex], source: [Int]) {
        let context = { "subscript [\(indices.map(\.description).joined(separator: ", "))] of shape \(describe(source))" }
        require(indices.count <= source.count,
                "\(context()): \(indices.count) positions for a tensor of rank \(source.count)")
        let sourceStrides = rowMajorStrides(source)
        for axis in source.indices {
            let index = axis < indices.count ? indices[axis] : .all
            let (start, count, step) = index.resolve(size: source[axis], axis: axis, context: context)
            offset += start * sourceStrides[axis]
            if let count {
                shape.append(count)
                strides.append(step * sourceStrides[axis])
            }
        }
        // An empty view reads nothing: keep the offset inside an empty storage's bounds.
        if shape.contains(0) { offset = 0 }
    }
}

// MARK: - TensorSliceable

/// Types that take subscripts like `x[.., -1]` and `x[1..<3, .stride(2)]`: `Tensor` and `Variable`.
///
/// Each position is a `TensorIndexExpression` (an `Int` removes its axis, negative counting from the
/// end; a range keeps it) or `..`/`...` for a whole axis; positions left out at the end are whole
/// axes, as PyTorch's `x[1]` on a matrix. The result is a copy, contiguous. On a `Variable` the
/// subscript is differentiable: its backward adds the gradient into zeros of the input's shape at the
/// selected positions.
///
/// On a `Tensor`, a subscript of only `Int`s (`t[1, 2]`) reads one scalar (Tensor's element
/// subscript) when all axes are given; `t[1, ..]` or `let row: Tensor<Float> = t[1]` gives a tensor.
public protocol TensorSliceable {
    /// The elements `indices` select (one `AxisIndex` per leading axis; see the protocol's docs).
    /// Shape: one dimension per range position and per axis after the last position.
    func sliced(_ indices: [AxisIndex]) -> Self
}

extension TensorSliceable {
    /// `x[i, 1..<3, .stride(2)]`: positions that are indices or ranges (see `TensorSliceable`).
    public subscript(_ indices: any TensorIndexExpression...) -> Self { sliced(indices.map(\.axisIndex)) }
}

extension Tensor: TensorSliceable {
    /// The elements `indices` select, as a new contiguous tensor (see `TensorSliceable`); stops with
    /// a message naming the subscript and the shape when a position is out of range.
    public func sliced(_ indices: [AxisIndex]) -> Tensor {
        let view = SliceView(indices, source: shape)
        return gatherStrided(view.shape, offset: view.offset, strides: view.strides)
    }
}
