// MARK: - Creating tensors

extension Tensor {
    /// A tensor of `shape` filled with `value`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(repeating value: Scalar, shape: [Int]) {
        Tensor.checkShape(shape, "Tensor(repeating:shape:)")
        self.init(shape: shape, scalars: filledArray(value, count: shape.reduce(1, *)))
    }
}

extension Tensor where Scalar: Numeric {
    /// A tensor of `shape` filled with zeros (Float, Double, Int).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(zeros shape: [Int]) { self.init(repeating: 0, shape: shape) }

    /// A tensor of `shape` filled with ones (Float, Double, Int).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(ones shape: [Int]) { self.init(repeating: 1, shape: shape) }

    /// A zero tensor with the shape of `other`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(zerosLike other: Tensor) { self.init(repeating: 0, shape: other.shape) }
}

extension Tensor where Scalar: TensorScalar {
    /// `[start, start + step, ...]` below `end` (above it for a negative step), shape `[n]`.
    /// The bounds must be finite, as `torch.arange`'s ("unsupported range").
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func arange(_ start: Scalar = 0, _ end: Scalar, step: Scalar = 1) -> Tensor {
        require(step != 0 && step.isFinite, "Tensor.arange: expected a finite non-zero step, got \(step)")
        require(start.isFinite && end.isFinite, "Tensor.arange: unsupported range: \(start) -> \(end)")
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        return Tensor((0..<n).map { start + Scalar($0) * step })
    }

    /// Samples from the normal distribution with the given mean and standard deviation
    /// (Box–Muller on 53-bit uniforms from `generator`).
    public init<G: RandomNumberGenerator>(randomNormal shape: [Int], mean: Scalar = 0, standardDeviation: Scalar = 1,
                                          generator: inout G) {
        Tensor.checkShape(shape, "Tensor(randomNormal:)")
        let count = shape.reduce(1, *)
        var values = [Scalar]()
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(mean + standardDeviation * Scalar(generator.standardNormal())) }
        self.init(shape: shape, scalars: values)
    }

    /// Samples uniformly from `[lowerBound, upperBound)` (53-bit uniforms from `generator`).
    public init<G: RandomNumberGenerator>(randomUniform shape: [Int], lowerBound: Scalar = 0, upperBound: Scalar = 1,
                                          generator: inout G) {
        Tensor.checkShape(shape, "Tensor(randomUniform:)")
        require(lowerBound <= upperBound,
                     "Tensor(randomUniform:): expected lowerBound <= upperBound, got \(lowerBound) > \(upperBound)")
        let count = shape.reduce(1, *)
        let width = Double(upperBound) - Double(lowerBound)
        var values = [Scalar]()
        values.reserveCapacity(count)
        for _ in 0..<count {
            let v = Scalar(Double(lowerBound) + width * generator.unitDouble())
            // Rounding to Float can reach the upper bound; keep the interval half-open.
            values.append(v >= upperBound && upperBound > lowerBound ? upperBound.nextDown : v)
        }
        self.init(shape: shape, scalars: values)
    }

    /// Samples uniformly from `[lowerBound, upperBound)` exactly as PyTorch's `tensor.uniform_(lowerBound,
    /// upperBound)` does with the same generator state: the same values, bit for bit, in row-major order.
    public init(randomUniform shape: [Int], lowerBound: Scalar = 0, upperBound: Scalar = 1,
                generator: inout TorchGenerator) {
        Tensor.checkShape(shape, "Tensor(randomUniform:)")
        require(lowerBound <= upperBound,
                     "Tensor(randomUniform:): expected lowerBound <= upperBound, got \(lowerBound) > \(upperBound)")
        let count = shape.reduce(1, *)
        var values = [Scalar]()
        values.reserveCapacity(count)
        if let from = lowerBound as? Float, let to = upperBound as? Float {
            for _ in 0..<count { values.append(Scalar(generator.uniform(from: from, to: to))) }
        } else {
            let from = Double(lowerBound), to = Double(upperBound)
            for _ in 0..<count { values.append(Scalar(generator.uniform(from: from, to: to))) }
        }
        self.init(shape: shape, scalars: values)
    }

    /// Converts the elements of a tensor of another scalar type (Float ↔ Double).
    public init<Other: TensorScalar>(_ other: Tensor<Other>) {
        self.init(shape: other.shape, scalars: other.scalars.map { Scalar($0) })
    }
}
