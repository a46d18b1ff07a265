// MARK: - Flattening a range of axes (differentiable through reshaping)

extension Variable {
    /// The same elements with axes `startAxis...endAxis` merged into one, as
    /// `torch.flatten(x, start_dim, end_dim)` (see `Tensor.flattened(startAxis:endAxis:)`; defaults:
    /// all axes). Backward: the gradient reshaped back.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func flattened(startAxis: Int = 0, endAxis: Int = -1) -> Variable {
        reshaped(to: flattenedShape(shape, startAxis: startAxis, endAxis: endAxis, "flattened"))
    }
}
