// MARK: - Matrix product (forward and backward together)

extension Variable {
    /// Matrix product, 2-D or batched 3-D (shapes as in `Tensor.matmul(_:)`).
    /// Backward: `gA = g · Bᵀ`, `gB = Aᵀ · g`, computed without materialising transposes and summed
    /// over the batch for a 2-D operand that was broadcast.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func matmul(_ other: Variable) -> Variable {
        let a = data, b = other.data
        return Variable.record("matmul", a.matmul(b), self, other, saving: a, b) { g, a, b, needA, needB in
            var ga: Tensor<Scalar>? = nil, gb: Tensor<Scalar>? = nil
            if needA {
                let full = Tensor.matmul(g, transposed: false, b, transposed: true, shapeLike: a.shape)   // [.., M, K]
                ga = a.rank == 2 && full.rank == 3 ? full.sum(axis: 0) : full
            }
            if needB {
                if b.rank == 2 && a.rank == 3 {
                    // Σ_batch Aᵢᵀ gᵢ as one product over all batch rows.
                    let rows = a.shape[0] * a.shape[1]
                    gb = Tensor.matmul(a.reshaped(to: [rows, a.shape[2]]), transposed: true,
                                       g.reshaped(to: [rows, g.shape[2]]), transposed: false)
                } else {
                    gb = Tensor.matmul(a, transposed: true, g, transposed: false, shapeLike: b.shape)
                }
            }
            return (ga, gb)
        }
    }

    /// Matrix product with a constant tensor.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func matmul(_ other: Tensor<Scalar>) -> Variable { matmul(Variable(other)) }
}
