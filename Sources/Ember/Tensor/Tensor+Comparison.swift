// MARK: - Elementwise comparisons (Tensor<Bool> results)

// The pointwise operators are the standard library's (declared for SIMD vectors): `.==` `.!=` `.<`
// `.<=` `.>` `.>=` compare, `.&` `.|` `.^` `.!` combine masks. PyTorch spells them `==`, `!=`, `<`,
// ..., `&`, `|`, `^`, `~`; Swift keeps `==` for whole-tensor equality (`Equatable`).

extension Tensor {
    /// Elementwise `==` as `torch.eq`: a `Tensor<Bool>` of the shape both broadcast to (NumPy's rules;
    /// stops with a message naming the operator when they do not). NaN equals nothing.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Int)
    @_specialize(where Scalar == Bool)
    public static func .== (lhs: Tensor, rhs: Tensor) -> Tensor<Bool> { broadcastMap(lhs, rhs, ".==") { $0 == $1 } }
    /// Elementwise `!=` as `torch.ne`, broadcasting; NaN differs from everything.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Int)
    @_specialize(where Scalar == Bool)
    public static func .!= (lhs: Tensor, rhs: Tensor) -> Tensor<Bool> { broadcastMap(lhs, rhs, ".!=") { $0 != $1 } }
    /// Elementwise `x == s`, same shape.
    public static func .== (lhs: Tensor, rhs: Scalar) -> Tensor<Bool> { lhs.mapElements { $0 == rhs } }
    /// Elementwise `x != s`, same shape.
    public static func .!= (lhs: Tensor, rhs: Scalar) -> Tensor<Bool> { lhs.mapElements { $0 != rhs } }
    /// Elementwise `s == x`, same shape.
    public static func .== (lhs: Scalar, rhs: Tensor) -> Tensor<Bool> { rhs.mapElements { lhs == $0 } }
    /// Elementwise `s != x`, same shape.
    public static func .!= (lhs: Scalar, rhs: Tensor) -> Tensor<Bool> { rhs.mapElements { lhs != $0 } }
}

extension Tensor where Scalar: Comparable {
    /// Elementwise `<` as `torch.lt`: a `Tensor<Bool>` of the shape both broadcast to (NumPy's rules;
    /// stops with a message naming the operator when they do not). Any comparison with NaN is false.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Int)
    public static func .< (lhs: Tensor, rhs: Tensor) -> Tensor<Bool> { broadcastMap(lhs, rhs, ".<") { $0 < $1 } }
    /// Elementwise `<=` as `torch.le`, broadcasting.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Int)
    public static func .<= (lhs: Tensor, rhs: Tensor) -> Tensor<Bool> { broadcastMap(lhs, rhs, ".<=") { $0 <= $1 } }
    /// Elementwise `>` as `torch.gt`, broadcasting.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Int)
    public static func .> (lhs: Tensor, rhs: Tensor) -> Tensor<Bool> { broadcastMap(lhs, rhs, ".>") { $0 > $1 } }
    /// Elementwise `>=` as `torch.ge`, broadcasting.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Int)
    public static func .>= (lhs: Tensor, rhs: Tensor) -> Tensor<Bool> { broadcastMap(lhs, rhs, ".>=") { $0 >= $1 } }

    /// Elementwise `x < s`, same shape (`x .< 0`).
    public static func .< (lhs: Tensor, rhs: Scalar) -> Tensor<Bool> { lhs.mapElements { $0 < rhs } }
    /// Elementwise `x <= s`, same shape.
    public static func .<= (lhs: Tensor, rhs: Scalar) -> Tensor<Bool> { lhs.mapElements { $0 <= rhs } }
    /// Elementwise `x > s`, same shape (`x .> 0`).
    public static func .> (lhs: Tensor, rhs: Scalar) -> Tensor<Bool> { lhs.mapElements { $0 > rhs } }
    /// Elementwise `x >= s`, same shape.
    public static func .>= (lhs: Tensor, rhs: Scalar) -> Tensor<Bool> { lhs.mapElements { $0 >= rhs } }
    /// Elementwise `s < x`, same shape.
    public static func .< (lhs: Scalar, rhs: Tensor) -> Tensor<Bool> { rhs.mapElements { lhs < $0 } }
    /// Elementwise `s <= x`, same shape.
    public static func .<= (lhs: Scalar, rhs: Tensor) -> Tensor<Bool> { rhs.mapElements { lhs <= $0 } }
    /// Elementwise `s > x`, same shape.
    public static func .> (lhs: Scalar, rhs: Tensor) -> Tensor<Bool> { rhs.mapElements { lhs > $0 } }
    /// Elementwise `s >= x`, same shape.
    public static func .>= (lhs: Scalar, rhs: Tensor) -> Tensor<Bool> { rhs.mapElements { lhs >= $0 } }
}

// MARK: - Logical operations on masks

extension Tensor where Scalar == Bool {
    /// Elementwise AND of two masks (PyTorch's `a & b`), broadcasting like NumPy.
    public static func .& (lhs: Tensor, rhs: Tensor) -> Tensor {
        ComparisonTrace.note(broadcastMap(lhs, rhs, ".&") { $0 && $1 }, ".&", .mask(lhs), .mask(rhs))
    }
    /// Elementwise OR of two masks (PyTorch's `a | b`), broadcasting like NumPy.
    public static func .| (lhs: Tensor, rhs: Tensor) -> Tensor {
        ComparisonTrace.note(broadcastMap(lhs, rhs, ".|") { $0 || $1 }, ".|", .mask(lhs), .mask(rhs))
    }
    /// Elementwise exclusive OR of two masks (PyTorch's `a ^ b`), broadcasting like NumPy.
    public static func .^ (lhs: Tensor, rhs: Tensor) -> Tensor {
        ComparisonTrace.note(broadcastMap(lhs, rhs, ".^") { $0 != $1 }, ".^", .mask(lhs), .mask(rhs))
    }
    /// Elementwise NOT of a mask (PyTorch's `~mask`), same shape.
    public static prefix func .! (mask: Tensor) -> Tensor {
        ComparisonTrace.note(mask.mapElements { !$0 }, ".!", .mask(mask), .mask(mask))
    }

    /// Whether any element is true (`torch.any`; false for an empty mask).
    public func any() -> Bool { withUnsafeBufferPointer { $0.contains(true) } }
    /// Whether every element is true (`torch.all`; true for an empty mask).
    public func all() -> Bool { withUnsafeBufferPointer { !$0.contains(false) } }
    /// The number of true elements (`torch.count_nonzero`).
    public func nonzeroCount() -> Int { withUnsafeBufferPointer { $0.reduce(0) { $0 + ($1 ? 1 : 0) } } }
}
