import Foundation

// MARK: - Module

/// A building block of a network: a class whose stored properties hold its parameters
/// (`Variable`s) and its submodules (modules, arrays of modules, optional modules).
///
/// Nothing is registered by hand: parameters and submodules are discovered from the stored
/// properties each time they are asked for (no cache to go stale) and named by property names, with
/// PyTorch's dotted paths (`"rnn.weight_ih_l0"`, `"fc.bias"`, `"heads.1.weight"`). Stored `Tensor`s
/// are buffers, not parameters: `stateDict()` saves them under their names and `loadStateDict` restores
/// them (`namedBuffers()`). `print(model)` shows the module tree as PyTorch's `repr` does. A module's own parameters come first, then its submodules' in
/// declaration order; a parameter reachable twice is listed once.
///
/// ```swift
/// final class Classifier: Module {
///     let rnn = RNN<Float>(inputSize: 28, hiddenSize: 32, batchFirst: true)
///     let fc = Linear<Float>(inFeatures: 32, outFeatures: 10)
///     func callAsFunction(_ x: Variable<Float>) -> Variable<Float> {
///         let (out, _) = rnn(x)
///         return fc(out.select(axis: 1, index: -1))
///     }
/// }
/// ```
///
/// `Scalar` defaults to `Float`; a Double module says `typealias Scalar = Double`. A submodule or
/// parameter of the other scalar type stops discovery with a message naming it.
public protocol Module: AnyObject, CustomStringConvertible {
    associatedtype Scalar: TensorScalar = Float

    /// Parameters with their dotted names. Discovered from stored properties unless a module
    /// implements it (the recurrent layers do, for PyTorch's names).
    func namedParameters() -> [(name: String, parameter: Variable<Scalar>)]

    /// Direct submodules with their names. Discovered from stored properties unless implemented.
    func namedChildren() -> [(name: String, module: any Module)]

    /// The module's own configuration as `print(model)` shows it inside `Name(...)`, PyTorch's
    /// `extra_repr()` (e.g. Linear's `in_features=32, out_features=10, bias=True`); empty by default.
    var extraRepr: String { get }
}

/// Modules whose behaviour differs between training and evaluation (Dropout, recurrent layers with
/// dropout between layers) store the mode; `train()` and `eval()` set it throughout a model.
public protocol TrainingModeSettable: AnyObject {
    /// Whether the module is in training mode (the default).
    var isTraining: Bool { get set }
}

/// A module that maps one variable to one variable, so modules can be chained (`Sequential`).
public protocol Layer<Scalar>: Module {
    /// Applies the layer.
    func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar>
}

extension Module {
    /// The default: `Variable` and `[Variable]` stored properties (arrays named `name.0`, `name.1`, …),
    /// then each child's parameters under its name; a parameter reachable twice is listed once. Stops
    /// with a message for a parameter or submodule whose `Scalar` differs from the module's.
    public func namedParameters() -> [(name: String, parameter: Variable<Scalar>)] {
        var seen = Set<ObjectIdentifier>()
        var result: [(name: String, parameter: Variable<Scalar>)] = []
        func add(_ name: String, _ p: Variable<Scalar>) {
            if seen.insert(ObjectIdentifier(p)).inserted { result.append((name, p)) }
        }
        for (name, value) in storedProperties(of: self) {
            if let p = value as? Variable<Scalar> {
                add(name, p)
            } else if let ps = value as? [Variable<Scalar>] {
                for (i, p) in ps.enumerated() { add("\(name).\(i)", p) }
            } else if isVariableOfOtherScalar(value) {
                requireFailure("Module \(type(of: self)): parameter '\(name)' is \(type(of: value)), but the module's Scalar is \(Scalar.self) (declare `typealias Scalar = ...` to match)")
            }
        }
        for (childName, child) in namedChildren() {
            for (name, p) in childParameters(of: child, as: Scalar.self, path: childName, parent: self) {
                add("\(childName).\(name)", p)
            }
        }
        return result
    }

    /// The default: stored properties that are modules or arrays of modules (named `name.0`, …), in
    /// declaration order (superclasses' first).
    public func namedChildren() -> [(name: String, module: any Module)] {
        var result: [(name: String, module: any Module)] = []
        for (name, value) in storedProperties(of: self) {
            if let m = value as? any Module {
                result.append((name, m))
            } else if let ms = value as? [any Module] {
                for (i, m) in ms.enumerated() { result.append(("\(name).\(i)", m)) }
            }
        }
        return result
    }

    /// The parameters in order (`namedParameters()` without names).
    public func parameters() -> [Variable<Scalar>] { namedParameters().map(\.parameter) }

    /// The number of scalars in all parameters.
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.data.count } }

    /// This module and all modules below it, depth first, with dotted names ("" for this one).
    public func namedModules() -> [(name: String, module: any Module)] {
        var result: [(name: String, module: any Module)] = [("", self)]
        var seen: Set<ObjectIdentifier> = [ObjectIdentifier(self)]
        var stack: [(String, any Module)] = namedChildren().reversed()
        while let (name, m) = stack.popLast() {
            guard seen.insert(ObjectIdentifier(m)).inserted else { continue }
            result.append((name, m))
            stack.append(contentsOf: m.namedChildren().reversed().map { ("\(name).\($0.name)", $0.module) })
        }
        return result
    }

    /// Sets training mode (`true`) or evaluation mode (`false`) on this module and every module below.
    public func train(_ mode: Bool = true) {
        for (_, m) in namedModules() { (m as? TrainingModeSettable)?.isTraining = mode }
    }

    /// Evaluation mode: `train(false)`. Dropout passes its input through unchanged.
    public func eval() { train(false) }

    /// Whether the model is in training mode: the mode of the first module that stores one (true if none does).
    public var isInTrainingMode: Bool {
        for (_, m) in namedModules() { if let t = m as? TrainingModeSettable { return t.isTraining } }
        return true
    }

    /// Clears every parameter's gradient (`grad = nil`).
    public func zeroGrad() { for p in parameters() { p.grad = nil } }

    /// The parameters' and buffers' values by dotted name, as PyTorch's `state_dict()`.
    public func stateDict() -> [String: Tensor<Scalar>] {
        var dict = Dictionary(namedParameters().map { ($0.name, $0.parameter.data) }, uniquingKeysWith: { a, _ in a })
        for (name, buffer) in namedBuffers() where dict[name] == nil { dict[name] = buffer }
        return dict
    }

    /// Copies values into the parameters and buffers by name. Everything is checked before anything
    /// changes: a shape mismatch always throws; with `strict`, so do missing and unexpected keys.
    public func loadStateDict(_ dict: [String: Tensor<Scalar>], strict: Bool = true) throws {
        let named = namedParameters()
        let buffers = bufferSlots()
        let entries = named.map { (name: $0.name, shape: $0.parameter.shape) } + buffers.map { (name: $0.name, shape: $0.read().shape) }
        let names = Set(entries.map(\.name))
        let missing = entries.map(\.name).filter { dict[$0] == nil }
        let unexpected = dict.keys.filter { !names.contains($0) }.sorted()
        let mismatched = entries.compactMap { entry -> StateDictError.Mismatch? in
            guard let t = dict[entry.name], t.shape != entry.shape else { return nil }
            return .init(name: entry.name, expected: entry.shape, got: t.shape)
        }
        if !mismatched.isEmpty || (strict && (!missing.isEmpty || !unexpected.isEmpty)) {
            throw StateDictError(missing: strict ? missing : [], unexpected: strict ? unexpected : [], mismatched: mismatched)
        }
        for (name, p) in named { if let t = dict[name] { p.data = t } }
        for slot in buffers { if let t = dict[slot.name] { slot.write(t) } }
    }

    /// Writes `stateDict()` to a safetensors file (atomically), with PyTorch's names.
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        try SafeTensorsFile.write(stateDict(), metadata: metadata, to: url)
    }

    /// Loads parameters from a safetensors file written by `save(to:)` or by PyTorch's
    /// `safetensors.torch.save_file(model.state_dict(), ...)`; stored F32/F64 values are converted.
    public func load(from url: URL, strict: Bool = true) throws {
        let file = try SafeTensorsFile(contentsOf: url)
        var dict: [String: Tensor<Scalar>] = [:]
        for name in file.names { dict[name] = try file.tensor(name, as: Scalar.self) }
        try loadStateDict(dict, strict: strict)
    }
}

/// What `loadStateDict` found wrong, in PyTorch's words.
public struct StateDictError: Error, CustomStringConvertible, Sendable {
    /// A parameter whose checkpoint tensor has another shape.
    public struct Mismatch: Sendable, Equatable {
        /// The parameter's dotted name.
        public var name: String
        /// The model's shape for it.
        public var expected: [Int]
        /// The dictionary's shape for it.
        public var got: [Int]
        /// A mismatch of `name`: the model has `expected`, the dictionary `got`.
        public init(name: String, expected: [Int], got: [Int]) {
            self.name = name
            self.expected = expected
            self.got = got
        }
    }
    /// Parameters of the model that the dictionary lacks.
    public var missing: [String]
    /// Keys of the dictionary that the model lacks.
    public var unexpected: [String]
    /// Keys whose shapes differ.
    public var mismatched: [Mismatch]

    /// PyTorch's message: `Error(s) in loading state dict: Missing key(s): ...; Unexpected key(s): ...;
    /// size mismatch for NAME: ...`.
    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("Missing key(s): " + missing.map { "\"\($0)\"" }.joined(separator: ", ")) }
        if !unexpected.isEmpty { parts.append("Unexpected key(s): " + unexpected.map { "\"\($0)\"" }.joined(separator: ", ")) }
        for m in mismatched {
            parts.append("size mismatch for \(m.name): copying a param with shape \(describe(m.got)) from checkpoint, the shape in current model is \(describe(m.expected))")
        }
        return "Error(s) in loading state dict: " + parts.joined(separator: "; ")
    }
}

// MARK: - Discovery helpers

/// Stored properties of an object and its superclasses, with `lazy` storage names cleaned up.
func storedProperties(of object: AnyObject) -> [(String, Any)] {
    var result: [(String, Any)] = []
    var mirror: Mirror? = Mirror(reflecting: object)
    var levels: [Mirror] = []
    while let m = mirror { levels.append(m); mirror = m.superclassMirror }
    for m in levels.reversed() {
        for child in m.children {
            guard var label = child.label else { continue }
            if label.hasPrefix("$__lazy_storage_$_") { label.removeFirst("$__lazy_storage_$_".count) }
            if label.hasPrefix("_") && label.count > 1 { label.removeFirst() }   // property-wrapper storage
            result.append((label, child.value))
        }
    }
    return result
}

private protocol AnyVariableProtocol {}
extension Variable: AnyVariableProtocol {}
func isVariableOfOtherScalar(_ value: Any) -> Bool { value is AnyVariableProtocol }

/// A child's parameters converted to the parent's `Scalar`, stopping on a mismatch.
func childParameters<S: TensorScalar>(of child: any Module, as: S.Type, path: String, parent: AnyObject) -> [(String, Variable<S>)] {
    func open<M: Module>(_ m: M) -> [(String, Variable<S>)] {
        let list = m.namedParameters()
        if list.isEmpty { return [] }
        guard M.Scalar.self == S.self else {
            requireFailure("Module \(type(of: parent)): submodule '\(path)' (\(M.self)) has Scalar \(M.Scalar.self), but \(type(of: parent)) has Scalar \(S.self)")
        }
        return list.map { ($0.name, $0.parameter as! Variable<S>) }
    }
    return open(child)
}
