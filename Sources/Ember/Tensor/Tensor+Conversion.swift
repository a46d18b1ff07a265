// MARK: - Index and mask tensors: creation and conversion between element types

extension Tensor where Scalar: TensorScalar {
    /// 1 where `mask` is true and 0 where it is false, same shape (PyTorch's `mask.float()` /
    /// `mask.double()`): masks become weights, and `Tensor<Float>(mask).sum()` counts them.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(_ mask: Tensor<Bool>) {
        self = mask.mapElements { $0 ? 1 : 0 }
    }

    /// Each integer converted to the nearest `Scalar` (exact up to 2^24 for Float, 2^53 for Double),
    /// same shape (PyTorch's `indices.float()`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(_ integers: Tensor<Int>) {
        self = integers.mapElements { Scalar($0) }
    }
}

extension Tensor where Scalar == Int {
    /// 1 where `mask` is true and 0 where it is false, same shape (PyTorch's `mask.long()`).
    public init(_ mask: Tensor<Bool>) {
        self = mask.mapElements { $0 ? 1 : 0 }
    }

    /// Each value rounded toward zero, same shape (PyTorch's `x.long()`). Stops with a message on NaN,
    /// an infinity or a value outside `Int`'s range (which PyTorch leaves undefined).
    public init<Source: TensorScalar>(_ values: Tensor<Source>) {
        self = values.mapElements { v in
            guard let i = Int(exactly: v.rounded(.towardZero)) else {
                requireFailure("Tensor<Int>(_:): cannot convert \(v) to Int (shape \(describe(values.shape)))")
            }
            return i
        }
    }

    /// `[start, start + step, ...]` below `end` (above it for a negative step), shape `[n]`, as
    /// `torch.arange` with integer arguments. Stops with a message for a zero step.
    public static func arange(_ start: Int = 0, _ end: Int, step: Int = 1) -> Tensor {
        require(step != 0, "Tensor<Int>.arange: expected a non-zero step, got 0")
        return Tensor(Array(stride(from: start, to: end, by: step)))
    }
}

extension Tensor where Scalar == Bool {
    /// `x != 0` elementwise, same shape (PyTorch's `x.bool()`: NaN is true).
    public init<Source: TensorScalar>(_ values: Tensor<Source>) {
        self = values.mapElements { $0 != 0 }
    }

    /// `i != 0` elementwise, same shape (PyTorch's `indices.bool()`): reads a 0/1 mask stored as
    /// integers, as in PyTorch fixtures saved as int64.
    public init(_ integers: Tensor<Int>) {
        self = integers.mapElements { $0 != 0 }
    }
}

// MARK: - Indices from values

extension Tensor where Scalar: TensorScalar {
    /// Indices of the maxima along `axis` (negative counts from the end) as a `Tensor<Int>`, the first
    /// on ties, the axis kept with size 1 if `keepDims`: `torch.argmax(x, dim, keepdim)`.
    /// `argmax(axis:)` gives the same indices as `[Int]`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func argmax(axis: Int, keepDims: Bool) -> Tensor<Int> {
        let a = normalizeAxis(axis, rank: rank, "argmax", shape: shape)
        var outShape = shape
        if keepDims { outShape[a] = 1 } else { outShape.remove(at: a) }
        return Tensor<Int>(shape: outShape, scalars: maxWithIndices(axis: a, keepDims: keepDims).indices)
    }
}
