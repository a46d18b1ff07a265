// MARK: - Subscripts with `..` (or `...`) in some positions, for up to four positions
//
// `..` is a function value (`UnboundedRange`), which cannot adopt `TensorIndexExpression`, so each
// placement of whole axes among up to four positions is its own overload (generated: every pattern
// of `..` and index expressions with at least one `..`). Each forwards to `sliced(_:)`; see
// `TensorSliceable` for the semantics.

extension TensorSliceable {
    /// `x[..]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: UnboundedRange) -> Self { sliced([.all]) }
    /// `x[a, ..]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: any TensorIndexExpression, _ b: UnboundedRange) -> Self { sliced([a.axisIndex, .all]) }
    /// `x[.., b]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: UnboundedRange, _ b: any TensorIndexExpression) -> Self { sliced([.all, b.axisIndex]) }
    /// `x[.., ..]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: UnboundedRange, _ b: UnboundedRange) -> Self { sliced([.all, .all]) }
    /// `x[a, b, ..]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: any TensorIndexExpression, _ b: any TensorIndexExpression, _ c: UnboundedRange) -> Self {
        sliced([a.axisIndex, b.axisIndex, .all])
    }
    /// `x[a, .., c]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: any TensorIndexExpression, _ b: UnboundedRange, _ c: any TensorIndexExpression) -> Self {
        sliced([a.axisIndex, .all, c.axisIndex])
    }
    /// `x[a, .., ..]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: any TensorIndexExpression, _ b: UnboundedRange, _ c: UnboundedRange) -> Self {
        sliced([a.axisIndex, .all, .all])
    }
    /// `x[.., b, c]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: UnboundedRange, _ b: any TensorIndexExpression, _ c: any TensorIndexExpression) -> Self {
        sliced([.all, b.axisIndex, c.axisIndex])
    }
    /// `x[.., b, ..]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: UnboundedRange, _ b: any TensorIndexExpression, _ c: UnboundedRange) -> Self {
        sliced([.all, b.axisIndex, .all])
    }
    /// `x[.., .., c]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: UnboundedRange, _ b: UnboundedRange, _ c: any TensorIndexExpression) -> Self {
        sliced([.all, .all, c.axisIndex])
    }
    /// `x[.., .., ..]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: UnboundedRange, _ b: UnboundedRange, _ c: UnboundedRange) -> Self {
        sliced([.all, .all, .all])
    }
    /// `x[a, b, c, ..]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: any TensorIndexExpression, _ b: any TensorIndexExpression, _ c: any TensorIndexExpression, _ d: UnboundedRange) -> Self {
        sliced([a.axisIndex, b.axisIndex, c.axisIndex, .all])
    }
    /// `x[a, b, .., d]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: any TensorIndexExpression, _ b: any TensorIndexExpression, _ c: UnboundedRange, _ d: any TensorIndexExpression) -> Self {
        sliced([a.axisIndex, b.axisIndex, .all, d.axisIndex])
    }
    /// `x[a, b, .., ..]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: any TensorIndexExpression, _ b: any TensorIndexExpression, _ c: UnboundedRange, _ d: UnboundedRange) -> Self {
        sliced([a.axisIndex, b.axisIndex, .all, .all])
    }
    /// `x[a, .., c, d]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: any TensorIndexExpression, _ b: UnboundedRange, _ c: any TensorIndexExpression, _ d: any TensorIndexExpression) -> Self {
        sliced([a.axisIndex, .all, c.axisIndex, d.axisIndex])
    }
    /// `x[a, .., c, ..]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: any TensorIndexExpression, _ b: UnboundedRange, _ c: any TensorIndexExpression, _ d: UnboundedRange) -> Self {
        sliced([a.axisIndex, .all, c.axisIndex, .all])
    }
    /// `x[a, .., .., d]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: any TensorIndexExpression, _ b: UnboundedRange, _ c: UnboundedRange, _ d: any TensorIndexExpression) -> Self {
        sliced([a.axisIndex, .all, .all, d.axisIndex])
    }
    /// `x[a, .., .., ..]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: any TensorIndexExpression, _ b: UnboundedRange, _ c: UnboundedRange, _ d: UnboundedRange) -> Self {
        sliced([a.axisIndex, .all, .all, .all])
    }
    /// `x[.., b, c, d]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: UnboundedRange, _ b: any TensorIndexExpression, _ c: any TensorIndexExpression, _ d: any TensorIndexExpression) -> Self {
        sliced([.all, b.axisIndex, c.axisIndex, d.axisIndex])
    }
    /// `x[.., b, c, ..]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: UnboundedRange, _ b: any TensorIndexExpression, _ c: any TensorIndexExpression, _ d: UnboundedRange) -> Self {
        sliced([.all, b.axisIndex, c.axisIndex, .all])
    }
    /// `x[.., b, .., d]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: UnboundedRange, _ b: any TensorIndexExpression, _ c: UnboundedRange, _ d: any TensorIndexExpression) -> Self {
        sliced([.all, b.axisIndex, .all, d.axisIndex])
    }
    /// `x[.., b, .., ..]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: UnboundedRange, _ b: any TensorIndexExpression, _ c: UnboundedRange, _ d: UnboundedRange) -> Self {
        sliced([.all, b.axisIndex, .all, .all])
    }
    /// `x[.., .., c, d]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: UnboundedRange, _ b: UnboundedRange, _ c: any TensorIndexExpression, _ d: any TensorIndexExpression) -> Self {
        sliced([.all, .all, c.axisIndex, d.axisIndex])
    }
    /// `x[.., .., c, ..]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: UnboundedRange, _ b: UnboundedRange, _ c: any TensorIndexExpression, _ d: UnboundedRange) -> Self {
        sliced([.all, .all, c.axisIndex, .all])
    }
    /// `x[.., .., .., d]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: UnboundedRange, _ b: UnboundedRange, _ c: UnboundedRange, _ d: any TensorIndexExpression) -> Self {
        sliced([.all, .all, .all, d.axisIndex])
    }
    /// `x[.., .., .., ..]`: `..` takes a whole axis (see `TensorSliceable`).
    public subscript(_ a: UnboundedRange, _ b: UnboundedRange, _ c: UnboundedRange, _ d: UnboundedRange) -> Self {
        sliced([.all, .all, .all, .all])
    }
}
