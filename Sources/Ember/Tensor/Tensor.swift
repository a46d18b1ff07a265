// MARK: - Tensor

/// An n-dimensional array: contiguous, row-major, copy-on-write. Its elements are `Float` or
/// `Double` values, `Int` indices or `Bool` masks (see `TensorElement`); arithmetic needs a
/// `TensorScalar` (Float, Double), while creation, shape operations, subscripts, equality and
/// comparisons work for every element type.
///
/// A `Tensor` is plain data: it records no gradients (see `Variable` for that). Every operation
/// returns a new tensor; copies share storage until one of them is mutated.
///
/// ```swift
/// let t = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// t.shape        // [2, 3]
/// (t * 2).sum()  // Tensor<Float>(42)
/// ```
public struct Tensor<Scalar: TensorElement>: Sendable {
    /// The size of each dimension; `[]` for a scalar (rank-0) tensor.
    public internal(set) var shape: [Int]
    @usableFromInline var storage: [Scalar]

    /// The elements in row-major order (`shape.reduce(1, *)` of them).
    public var scalars: [Scalar] {
        get { storage }
        set {
            require(newValue.count == storage.count,
                         "Tensor.scalars: expected \(storage.count) scalars for shape \(shape), got \(newValue.count)")
            storage = newValue
        }
    }

    /// Creates a tensor of the given shape from its elements in row-major order.
    /// - Precondition: `scalars.count` equals the product of `shape`; no dimension is negative.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(shape: [Int], scalars: [Scalar]) {
        Tensor.checkShape(shape, "Tensor(shape:scalars:)")
        let count = shape.reduce(1, *)
        require(scalars.count == count,
                     "Tensor(shape:scalars:): expected \(count) scalars for shape \(shape), got \(scalars.count)")
        self.shape = shape
        self.storage = scalars
    }

    /// Creates a rank-1 tensor of shape `[scalars.count]`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(_ scalars: [Scalar]) {
        self.shape = [scalars.count]
        self.storage = scalars
    }

    /// Creates a rank-0 tensor (shape `[]`) holding one value.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(_ scalar: Scalar) {
        self.shape = []
        self.storage = [scalar]
    }

    /// Creates a tensor whose elements are written by `initializer` into uninitialised storage of
    /// `shape`'s element count. The closure must initialise every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(shape: [Int], unsafeUninitializedScalars initializer: (UnsafeMutableBufferPointer<Scalar>) throws -> Void) rethrows {
        Tensor.checkShape(shape, "Tensor(shape:unsafeUninitializedScalars:)")
        let count = shape.reduce(1, *)
        self.shape = shape
        self.storage = try [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
            try initializer(buffer)
            initialized = count
        }
    }

    /// A tensor of `shape` whose elements `body` writes, given the (possibly dangling when empty)
    /// start of uninitialised storage and the element count.
    @inline(__always)
    init(computing shape: [Int], _ body: (UnsafeMutablePointer<Scalar>, Int) -> Void) {
        let count = shape.reduce(1, *)
        self.shape = shape
        self.storage = initializedArray(count: count, body)
    }

    /// The number of elements.
    public var count: Int { storage.count }
    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// The single element of a tensor that has exactly one.
    public var scalar: Scalar {
        require(storage.count == 1, "Tensor.scalar: expected a tensor with one element, got shape \(shape)")
        return storage[0]
    }

    /// Reads or writes one element by its multi-dimensional index (not for hot loops).
    public subscript(_ index: Int...) -> Scalar {
        get { storage[flatIndex(index)] }
        set { storage[flatIndex(index)] = newValue }
    }

    func flatIndex(_ index: [Int]) -> Int {
        require(index.count == shape.count, "Tensor subscript: expected \(shape.count) indices for shape \(shape), got \(index)")
        var flat = 0
        for (axis, i) in index.enumerated() {
            require(i >= 0 && i < shape[axis], "Tensor subscript: index \(index) out of range for shape \(shape)")
            flat = flat * shape[axis] + i
        }
        return flat
    }

    @usableFromInline
    static func checkShape(_ shape: [Int], _ operation: String) {
        require(shape.allSatisfy { $0 >= 0 }, "\(operation): dimensions must not be negative, got \(shape)")
    }

    // MARK: Raw access

    /// Calls `body` with the elements' buffer.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with the elements' mutable buffer (copying first if the storage is shared).
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer { try body($0) }
    }

    /// Pointer to the first element (valid inside `body` only). Works for empty tensors too.
    @inline(__always)
    func withBase<R>(_ body: (UnsafePointer<Scalar>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { buffer in
            try body(buffer.baseAddress ?? UnsafePointer(bitPattern: MemoryLayout<Scalar>.alignment)!)
        }
    }
}

// MARK: - Equality and description

extension Tensor: Equatable {
    /// Same shape and elementwise `==` on the scalars (so a tensor holding NaN is not equal to itself,
    /// and `0 == -0`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        lhs.shape == rhs.shape && lhs.storage == rhs.storage
    }
}

extension Tensor: CustomStringConvertible {
    /// Nested brackets, like NumPy's, for tensors up to a few thousand elements.
    public var description: String {
        if shape.isEmpty { return "Tensor(\(storage[0]))" }
        if count > 4096 { return "Tensor(shape: \(shape), \(count) scalars)" }
        var text = ""
        func write(_ axis: Int, _ offset: Int) {
            if axis == shape.count { text += "\(storage[offset])"; return }
            let stride = shape[(axis + 1)...].reduce(1, *)
            text += "["
            for i in 0..<shape[axis] {
                if i > 0 { text += ", " }
                write(axis + 1, offset + i * stride)
            }
            text += "]"
        }
        write(0, 0)
        return "Tensor(\(text))"
    }
}

// MARK: - Approximate equality

extension Tensor where Scalar: TensorScalar {
    /// The largest `|a - b|` over corresponding elements (`.infinity` on a shape mismatch or a NaN).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func maxAbsoluteDifference(_ other: Tensor) -> Scalar {
        guard shape == other.shape else { return .infinity }
        var worst: Scalar = 0
        for (a, b) in zip(storage, other.storage) {
            if a == b { continue }
            let d = Swift.abs(a - b)
            if d.isNaN { return .infinity }
            worst = Swift.max(worst, d)
        }
        return worst
    }
}
