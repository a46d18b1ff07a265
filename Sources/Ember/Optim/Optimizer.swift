import Foundation

// MARK: - Optimizer

/// Updates parameters from their gradients, with torch.optim's exact update formulas.
///
/// ```swift
/// let opt = Adam(model.parameters(), lr: 0.001)
/// opt.zeroGrad(); loss.backward(); opt.step()
/// ```
/// Parameters whose `grad` is nil are skipped. Optimizers keep references to the same parameter
/// objects as the model. Their state (moments, step counts) can be saved and restored:
/// `stateDict()` / `loadStateDict(_:)`, or `save(to:)` / `load(from:)` as safetensors.
public protocol Optimizer: AnyObject {
    associatedtype Scalar: TensorScalar
    /// The parameters being optimised, in the order given.
    var parameters: [Variable<Scalar>] { get }
    /// The learning rate (changed by the schedulers).
    var learningRate: Double { get set }
    /// Applies one update.
    func step()
    /// Per-parameter state, keyed `"state.{index}.{name}"` (PyTorch's names: `exp_avg`, `exp_avg_sq`,
    /// `max_exp_avg_sq`, `momentum_buffer`, `sum`, `square_avg`, `grad_avg`, `step`). The learning
    /// rate is a hyperparameter, not state: `save(to:)` keeps it exactly in the file's metadata.
    func stateDict() -> [String: Tensor<Scalar>]
    /// Restores what `stateDict()` returned. Throws `OptimizerStateError` on unknown keys or shapes
    /// that do not match the parameters; nothing changes then.
    func loadStateDict(_ state: [String: Tensor<Scalar>]) throws
}

extension Optimizer {
    /// Clears every parameter's gradient (`grad = nil`, PyTorch's default `set_to_none=True`).
    public func zeroGrad() { for p in parameters { p.grad = nil } }

    /// Writes the optimizer state to a safetensors file (atomically), with the learning rate in the
    /// metadata (as text, exactly).
    public func save(to url: URL) throws {
        try SafeTensorsFile.write(stateDict(), metadata: ["optimizer": "\(type(of: self))", "lr": "\(learningRate)"], to: url)
    }

    /// Restores the optimizer state (and learning rate) from a file written by `save(to:)`.
    public func load(from url: URL) throws {
        let file = try SafeTensorsFile(contentsOf: url)
        var dict: [String: Tensor<Scalar>] = [:]
        for name in file.names { dict[name] = try file.tensor(name, as: Scalar.self) }
        try loadStateDict(dict)
        if let lr = file.metadata["lr"].flatMap(Double.init) { learningRate = lr }
    }
}

/// An optimizer state that does not fit the optimizer.
public struct OptimizerStateError: Error, CustomStringConvertible, Sendable {
    /// What does not fit: an unknown key, index or state name, a step that is not a count, or a shape
    /// unlike its parameter's.
    public var reason: String
    /// `optimizer state: ` followed by the reason.
    public var description: String { "optimizer state: \(reason)" }
}

/// Per-parameter named state tensors plus a step count, shared by the optimizers.
struct ParameterState<Scalar: TensorScalar> {
    var buffers: [[String: Tensor<Scalar>]]
    var steps: [Int]

    init(count: Int) {
        buffers = Array(repeating: [:], count: count)
        steps = Array(repeating: 0, count: count)
    }

    func export() -> [String: Tensor<Scalar>] {
        var result: [String: Tensor<Scalar>] = [:]
        for (i, b) in buffers.enumerated() {
            for (name, t) in b { result["state.\(i).\(name)"] = t }
            if steps[i] > 0 { result["state.\(i).step"] = Tensor(Scalar(steps[i])) }
        }
        return result
    }

    /// Validates and decodes `dict` against `parameters`.
    static func decode(_ dict: [String: Tensor<Scalar>], parameters: [Variable<Scalar>], allowed: Set<String>)
        throws -> ParameterState {
        var state = ParameterState(count: parameters.count)
        for (key, t) in dict {
            let parts = key.split(separator: ".")
            guard parts.count == 3, parts[0] == "state", let i = Int(parts[1]), i >= 0, i < parameters.count else {
                throw OptimizerStateError(reason: "unexpected key '\(key)' for \(parameters.count) parameters")
            }
            let name = String(parts[2])
            if name == "step" {
                guard let v = t.scalars.first, v >= 0, v == v.rounded() else { throw OptimizerStateError(reason: "'\(key)' is not a step count") }
                state.steps[i] = Int(v)
                continue
            }
            guard allowed.contains(name) else { throw OptimizerStateError(reason: "unexpected state '\(name)' in '\(key)'") }
            guard t.shape == parameters[i].shape else {
                throw OptimizerStateError(reason: "'\(key)' has shape \(describe(t.shape)), parameter \(i) has \(describe(parameters[i].shape))")
            }
            state.buffers[i][name] = t
        }
        return state
    }
}

// MARK: - Elementwise helpers for the update rules

extension Tensor where Scalar: TensorScalar {
    /// `self + weight * (end - self)`, as torch's `lerp_` (weight < 0.5 form).
    func lerp(to end: Tensor, weight: Scalar) -> Tensor { self + (end - self) * weight }
}
