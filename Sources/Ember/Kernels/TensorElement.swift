// MARK: - TensorElement

/// The element types a `Tensor` can hold: `Float` and `Double` (see `TensorScalar`) for values,
/// `Int` for indices and class targets, `Bool` for masks.
///
/// Everything that only moves or compares elements — creation, shape operations (`reshaped`,
/// `permuted`, `narrow`, `concat`, ...), subscripts, equality, elementwise comparisons — works
/// for every element type; arithmetic, reductions and `Variable` need a `TensorScalar`.
///
/// Elements are copied as raw bytes by the shape operations, hence `BitwiseCopyable`. Ember itself
/// conforms `Float`, `Double`, `Int` and `Bool`; other types (as `Int32` or `UInt8`) may conform,
/// with nothing to implement.
///
/// ```swift
/// let idx = Tensor<Int>(shape: [2, 2], scalars: [0, 4, 2, 2])
/// let mask = Tensor<Bool>(shape: [2, 3], scalars: [true, false, true, false, false, true])
/// ```
public protocol TensorElement: BitwiseCopyable, Sendable, Equatable {}

/// Indices and class targets (PyTorch's int64 tensors).
extension Int: TensorElement {}

/// Masks (PyTorch's bool tensors).
extension Bool: TensorElement {}
