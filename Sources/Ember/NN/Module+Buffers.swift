@_spi(Reflection) import Swift

// MARK: - Buffers

extension Module {
    /// The module's buffers with their dotted names, as PyTorch's `named_buffers()`: stored
    /// `Tensor<Scalar>` properties (state that is not trained, such as running statistics or a fixed
    /// mask), this module's first, then each submodule's under its name (`"block.mask"`). They are saved
    /// by `stateDict()` and `save(to:)` beside the parameters and restored by `loadStateDict` and
    /// `load(from:)`; declare them `var`. Tensors of another element type are not buffers.
    public func namedBuffers() -> [(name: String, buffer: Tensor<Scalar>)] {
        bufferSlots().map { ($0.name, $0.read()) }
    }

    /// Every buffer below this module, with what it takes to write it.
    func bufferSlots() -> [BufferSlot<Scalar>] {
        var result: [BufferSlot<Scalar>] = []
        for (path, module) in namedModules() {
            for (field, offset) in tensorFields(of: module, as: Scalar.self) {
                result.append(BufferSlot(name: path.isEmpty ? field : "\(path).\(field)", object: module, offset: offset))
            }
        }
        return result
    }
}

/// Where one buffer lives: a stored `Tensor<Scalar>` property of `object`, `offset` bytes into it.
struct BufferSlot<Scalar: TensorScalar> {
    let name: String
    let object: AnyObject
    let offset: Int

    /// The buffer's current value.
    func read() -> Tensor<Scalar> {
        withExtendedLifetime(object) {
            (Unmanaged.passUnretained(object).toOpaque() + offset).assumingMemoryBound(to: Tensor<Scalar>.self).pointee
        }
    }

    /// Replaces the buffer's value (the old one is released, as an assignment would).
    func write(_ value: Tensor<Scalar>) {
        withExtendedLifetime(object) {
            (Unmanaged.passUnretained(object).toOpaque() + offset).assumingMemoryBound(to: Tensor<Scalar>.self).pointee = value
        }
    }
}

/// The stored `Tensor<S>` properties of a module object (its class's and superclasses') with their
/// byte offsets. Why the standard library's reflection SPI: `Mirror` reads properties but cannot write
/// them, and `loadStateDict` must restore buffers in place; `_forEachField` gives the offsets the
/// compiler laid the fields out at. Tensors of other element types (`Tensor<Bool>` masks, say) are not
/// buffers of the module's state dict and are left alone.
func tensorFields<S: TensorScalar>(of module: any Module, as: S.Type) -> [(String, Int)] {
    var result: [(String, Int)] = []
    // `_EachFieldOptions.classType` is 1 << 0 (a `static var`, which Swift 6 will not read from here).
    _forEachField(of: type(of: module), options: _EachFieldOptions(rawValue: 1 << 0)) { name, offset, fieldType, _ in
        if fieldType == Tensor<S>.self { result.append((String(cString: name), offset)) }
        return true
    }
    return result
}
