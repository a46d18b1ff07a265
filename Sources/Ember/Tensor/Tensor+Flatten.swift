// MARK: - Flattening a range of axes

/// The shape with axes `startAxis...endAxis` (negative count from the end) merged into one, as
/// `torch.flatten`; a rank-0 shape becomes `[1]`. Stops with a message naming `operation` when the
/// axes are out of range or `startAxis` comes after `endAxis`.
func flattenedShape(_ shape: [Int], startAxis: Int, endAxis: Int, _ operation: String) -> [Int] {
    if shape.isEmpty { return [1] }
    let start = normalizeAxis(startAxis, rank: shape.count, operation, shape: shape)
    let end = normalizeAxis(endAxis, rank: shape.count, operation, shape: shape)
    require(start <= end, "\(operation): startAxis \(startAxis) must not come after endAxis \(endAxis) (shape \(describe(shape)))")
    return Array(shape[..<start]) + [shape[start...end].reduce(1, *)] + Array(shape[(end + 1)...])
}

extension Tensor where Scalar: TensorScalar {
    /// The same elements with axes `startAxis...endAxis` merged into one (negative axes count from
    /// the end), as `torch.flatten(x, start_dim, end_dim)`: `[2, 3, 4]` flattened from 1 is `[2, 12]`;
    /// a rank-0 tensor becomes `[1]`. Shares storage. Defaults: all axes.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func flattened(startAxis: Int = 0, endAxis: Int = -1) -> Tensor {
        reshaped(to: flattenedShape(shape, startAxis: startAxis, endAxis: endAxis, "flattened"))
    }
}
