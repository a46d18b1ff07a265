// MARK: - Comparisons of variables (no gradient: Tensor<Bool> results)
//
// While exportONNX traces a model, each comparison notes where its mask came from
// (ComparisonTrace), so that a mask computed from the inputs is exported as the comparison.

extension Variable {
    /// `lhs.data .== rhs.data`: elementwise `==`, broadcasting (as `torch.eq`; no gradient).
    public static func .== (lhs: Variable, rhs: Variable) -> Tensor<Bool> { ComparisonTrace.note(lhs.data .== rhs.data, ".==", .variable(lhs), .variable(rhs)) }
    /// `lhs.data .!= rhs.data`: elementwise `!=`, broadcasting (as `torch.ne`; no gradient).
    public static func .!= (lhs: Variable, rhs: Variable) -> Tensor<Bool> { ComparisonTrace.note(lhs.data .!= rhs.data, ".!=", .variable(lhs), .variable(rhs)) }
    /// `lhs.data .< rhs.data`: elementwise `<`, broadcasting (as `torch.lt`; no gradient).
    public static func .< (lhs: Variable, rhs: Variable) -> Tensor<Bool> { ComparisonTrace.note(lhs.data .< rhs.data, ".<", .variable(lhs), .variable(rhs)) }
    /// `lhs.data .<= rhs.data`: elementwise `<=`, broadcasting (as `torch.le`; no gradient).
    public static func .<= (lhs: Variable, rhs: Variable) -> Tensor<Bool> { ComparisonTrace.note(lhs.data .<= rhs.data, ".<=", .variable(lhs), .variable(rhs)) }
    /// `lhs.data .> rhs.data`: elementwise `>`, broadcasting (as `torch.gt`; no gradient).
    public static func .> (lhs: Variable, rhs: Variable) -> Tensor<Bool> { ComparisonTrace.note(lhs.data .> rhs.data, ".>", .variable(lhs), .variable(rhs)) }
    /// `lhs.data .>= rhs.data`: elementwise `>=`, broadcasting (as `torch.ge`; no gradient).
    public static func .>= (lhs: Variable, rhs: Variable) -> Tensor<Bool> { ComparisonTrace.note(lhs.data .>= rhs.data, ".>=", .variable(lhs), .variable(rhs)) }

    /// Elementwise `x == s`, same shape (no gradient).
    public static func .== (lhs: Variable, rhs: Scalar) -> Tensor<Bool> { ComparisonTrace.note(lhs.data .== rhs, ".==", .variable(lhs), .scalar(Double(rhs))) }
    /// Elementwise `x != s`, same shape (no gradient).
    public static func .!= (lhs: Variable, rhs: Scalar) -> Tensor<Bool> { ComparisonTrace.note(lhs.data .!= rhs, ".!=", .variable(lhs), .scalar(Double(rhs))) }
    /// Elementwise `x < s`, same shape (no gradient).
    public static func .< (lhs: Variable, rhs: Scalar) -> Tensor<Bool> { ComparisonTrace.note(lhs.data .< rhs, ".<", .variable(lhs), .scalar(Double(rhs))) }
    /// Elementwise `x <= s`, same shape (no gradient).
    public static func .<= (lhs: Variable, rhs: Scalar) -> Tensor<Bool> { ComparisonTrace.note(lhs.data .<= rhs, ".<=", .variable(lhs), .scalar(Double(rhs))) }
    /// Elementwise `x > s`, same shape (no gradient): `x .> 0`.
    public static func .> (lhs: Variable, rhs: Scalar) -> Tensor<Bool> { ComparisonTrace.note(lhs.data .> rhs, ".>", .variable(lhs), .scalar(Double(rhs))) }
    /// Elementwise `x >= s`, same shape (no gradient).
    public static func .>= (lhs: Variable, rhs: Scalar) -> Tensor<Bool> { ComparisonTrace.note(lhs.data .>= rhs, ".>=", .variable(lhs), .scalar(Double(rhs))) }

    /// Elementwise `s == x`, same shape (no gradient).
    public static func .== (lhs: Scalar, rhs: Variable) -> Tensor<Bool> { ComparisonTrace.note(lhs .== rhs.data, ".==", .scalar(Double(lhs)), .variable(rhs)) }
    /// Elementwise `s != x`, same shape (no gradient).
    public static func .!= (lhs: Scalar, rhs: Variable) -> Tensor<Bool> { ComparisonTrace.note(lhs .!= rhs.data, ".!=", .scalar(Double(lhs)), .variable(rhs)) }
    /// Elementwise `s < x`, same shape (no gradient).
    public static func .< (lhs: Scalar, rhs: Variable) -> Tensor<Bool> { ComparisonTrace.note(lhs .< rhs.data, ".<", .scalar(Double(lhs)), .variable(rhs)) }
    /// Elementwise `s <= x`, same shape (no gradient).
    public static func .<= (lhs: Scalar, rhs: Variable) -> Tensor<Bool> { ComparisonTrace.note(lhs .<= rhs.data, ".<=", .scalar(Double(lhs)), .variable(rhs)) }
    /// Elementwise `s > x`, same shape (no gradient).
    public static func .> (lhs: Scalar, rhs: Variable) -> Tensor<Bool> { ComparisonTrace.note(lhs .> rhs.data, ".>", .scalar(Double(lhs)), .variable(rhs)) }
    /// Elementwise `s >= x`, same shape (no gradient).
    public static func .>= (lhs: Scalar, rhs: Variable) -> Tensor<Bool> { ComparisonTrace.note(lhs .>= rhs.data, ".>=", .scalar(Double(lhs)), .variable(rhs)) }

    /// Indices of the maxima along `axis` as a `Tensor<Int>` (the first on ties; no gradient), the
    /// axis kept with size 1 if `keepDims`, as `torch.argmax(x, dim, keepdim)`. `argmax(axis:)` gives
    /// the same indices as `[Int]`.
    public func argmax(axis: Int, keepDims: Bool) -> Tensor<Int> { data.argmax(axis: axis, keepDims: keepDims) }
}
