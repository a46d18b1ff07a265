// MARK: - Comparisons of variables (no gradient: Tensor<Bool> results)

extension Variable {
    /// `lhs.data .== rhs.data`: elementwise `==`, broadcasting (as `torch.eq`; no gradient).
    public static func .== (lhs: Variable, rhs: Variable) -> Tensor<Bool> { lhs.data .== rhs.data }
    /// `lhs.data .!= rhs.data`: elementwise `!=`, broadcasting (as `torch.ne`; no gradient).
    public static func .!= (lhs: Variable, rhs: Variable) -> Tensor<Bool> { lhs.data .!= rhs.data }
    /// `lhs.data .< rhs.data`: elementwise `<`, broadcasting (as `torch.lt`; no gradient).
    public static func .< (lhs: Variable, rhs: Variable) -> Tensor<Bool> { lhs.data .< rhs.data }
    /// `lhs.data .<= rhs.data`: elementwise `<=`, broadcasting (as `torch.le`; no gradient).
    public static func .<= (lhs: Variable, rhs: Variable) -> Tensor<Bool> { lhs.data .<= rhs.data }
    /// `lhs.data .> rhs.data`: elementwise `>`, broadcasting (as `torch.gt`; no gradient).
    public static func .> (lhs: Variable, rhs: Variable) -> Tensor<Bool> { lhs.data .> rhs.data }
    /// `lhs.data .>= rhs.data`: elementwise `>=`, broadcasting (as `torch.ge`; no gradient).
    public static func .>= (lhs: Variable, rhs: Variable) -> Tensor<Bool> { lhs.data .>= rhs.data }

    /// Elementwise `x == s`, same shape (no gradient).
    public static func .== (lhs: Variable, rhs: Scalar) -> Tensor<Bool> { lhs.data .== rhs }
    /// Elementwise `x != s`, same shape (no gradient).
    public static func .!= (lhs: Variable, rhs: Scalar) -> Tensor<Bool> { lhs.data .!= rhs }
    /// Elementwise `x < s`, same shape (no gradient).
    public static func .< (lhs: Variable, rhs: Scalar) -> Tensor<Bool> { lhs.data .< rhs }
    /// Elementwise `x <= s`, same shape (no gradient).
    public static func .<= (lhs: Variable, rhs: Scalar) -> Tensor<Bool> { lhs.data .<= rhs }
    /// Elementwise `x > s`, same shape (no gradient): `x .> 0`.
    public static func .> (lhs: Variable, rhs: Scalar) -> Tensor<Bool> { lhs.data .> rhs }
    /// Elementwise `x >= s`, same shape (no gradient).
    public static func .>= (lhs: Variable, rhs: Scalar) -> Tensor<Bool> { lhs.data .>= rhs }

    /// Elementwise `s == x`, same shape (no gradient).
    public static func .== (lhs: Scalar, rhs: Variable) -> Tensor<Bool> { lhs .== rhs.data }
    /// Elementwise `s != x`, same shape (no gradient).
    public static func .!= (lhs: Scalar, rhs: Variable) -> Tensor<Bool> { lhs .!= rhs.data }
    /// Elementwise `s < x`, same shape (no gradient).
    public static func .< (lhs: Scalar, rhs: Variable) -> Tensor<Bool> { lhs .< rhs.data }
    /// Elementwise `s <= x`, same shape (no gradient).
    public static func .<= (lhs: Scalar, rhs: Variable) -> Tensor<Bool> { lhs .<= rhs.data }
    /// Elementwise `s > x`, same shape (no gradient).
    public static func .> (lhs: Scalar, rhs: Variable) -> Tensor<Bool> { lhs .> rhs.data }
    /// Elementwise `s >= x`, same shape (no gradient).
    public static func .>= (lhs: Scalar, rhs: Variable) -> Tensor<Bool> { lhs .>= rhs.data }

    /// Indices of the maxima along `axis` as a `Tensor<Int>` (the first on ties; no gradient), the
    /// axis kept with size 1 if `keepDims`, as `torch.argmax(x, dim, keepdim)`. `argmax(axis:)` gives
    /// the same indices as `[Int]`.
    public func argmax(axis: Int, keepDims: Bool) -> Tensor<Int> { data.argmax(axis: axis, keepDims: keepDims) }
}
