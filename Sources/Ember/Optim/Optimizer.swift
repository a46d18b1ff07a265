import Foundation

// MARK: - Optimizer

/// Updates parameters from their gradients, with torch.optim's exact update formulas.
///
/// ```swift
/// let opt = Adam(model.parameters(), lr: 0.001)
/// opt.zeroGrad(); loss.backward(); opt.step()
/// ```
/// Parameters whose `grad` is nil are skipped. Optimizers keep references to the same parameter
/// objects as the model. Every built-in optimizer also takes parameter groups with their own
/// hyperparameters (`ParamGroup`, `paramGroups`). Their state (moments, step counts) can be saved
/// and restored: `stateDict()` / `loadStateDict(_:)` for the tensors, or `save(to:schedulers:)` /
/// `load(from:schedulers:)` as safetensors with the groups' hyperparameters and the schedulers' state.
public protocol Optimizer: AnyObject {
    associatedtype Scalar: TensorScalar
    /// The parameters being optimised, in the order given (group after group).
    var parameters: [Variable<Scalar>] { get }
    /// The learning rate (changed by the schedulers): the built-in optimizers read the first group's
    /// and set every group's.
    var learningRate: Double { get set }
    /// The parameter groups with their hyperparameters (PyTorch's `param_groups`). An optimizer that
    /// does not implement it has one group of `parameters` whose `lr` is `learningRate`.
    var paramGroups: [ParamGroup<Scalar>] { get set }
    /// Applies one update.
    func step()
    /// Per-parameter state, keyed `"state.{index}.{name}"` (PyTorch's names: `exp_avg`, `exp_avg_sq`,
    /// `max_exp_avg_sq`, `momentum_buffer`, `sum`, `square_avg`, `grad_avg`, `step`), the index
    /// counting parameters across the groups in order. Hyperparameters are not state:
    /// `stateMetadata()` holds them.
    func stateDict() -> [String: Tensor<Scalar>]
    /// Restores what `stateDict()` returned. Throws `OptimizerStateError` on unknown keys or shapes
    /// that do not match the parameters; nothing changes then.
    func loadStateDict(_ state: [String: Tensor<Scalar>]) throws
}

extension Optimizer {
    /// One group of `parameters` with `lr` = `learningRate`; setting it sets `learningRate` from the
    /// first group.
    public var paramGroups: [ParamGroup<Scalar>] {
        get { [ParamGroup(parameters, lr: learningRate)] }
        set { if let first = newValue.first { learningRate = first.lr } }
    }

    /// Clears every parameter's gradient (`grad = nil`, PyTorch's default `set_to_none=True`).
    public func zeroGrad() { for p in parameters { p.grad = nil } }

    /// Writes `stateDict()`'s tensors and `stateMetadata(schedulers:)` to a safetensors file
    /// (atomically): a PyTorch `optimizer.state_dict()` flattened, plus each scheduler's state.
    public func save(to url: URL, schedulers: [any LearningRateScheduler] = []) throws {
        try SafeTensorsFile.write(stateDict(), metadata: stateMetadata(schedulers: schedulers), to: url)
    }

    /// Restores the state, the groups' hyperparameters and the given schedulers' state from a file
    /// written by `save(to:schedulers:)` (a file from before parameter groups, with only `lr` in its
    /// metadata, sets `learningRate`). Throws `SafeTensorsError` for an unreadable file and
    /// `OptimizerStateError` for one that does not fit; nothing changes then.
    public func load(from url: URL, schedulers: [any LearningRateScheduler] = []) throws {
        let file = try SafeTensorsFile(contentsOf: url)
        var dict: [String: Tensor<Scalar>] = [:]
        for name in file.names { dict[name] = try file.tensor(name, as: Scalar.self) }
        let saved = stateDict()
        try loadStateDict(dict)
        do { try loadStateMetadata(file.metadata, schedulers: schedulers) } catch {
            try? loadStateDict(saved)
            throw error
        }
    }

    /// The hyperparameters as safetensors metadata, for `save(to:)` or a checkpoint of one's own:
    /// `optimizer` (the type), `lr` (`learningRate`), `param_groups` (PyTorch's `param_groups` as JSON,
    /// e.g. `[{"betas": [0.9, 0.999], "eps": 1e-08, "lr": 0.01, ..., "params": [0, 1]}, ...]`, so
    /// `{"state": ..., "param_groups": json.loads(metadata["param_groups"])}` is PyTorch's state dict),
    /// and for scheduler k `scheduler.{k}.type` (its type name) and `scheduler.{k}.{key}` for each
    /// entry of its `stateDict()`, numbers as exact decimal text.
    public func stateMetadata(schedulers: [any LearningRateScheduler] = []) -> [String: String] {
        var first = 0
        let groups = paramGroups.map { group in defer { first += group.parameters.count }; return group.json(firstIndex: first) }
        var metadata = ["optimizer": "\(type(of: self))", "lr": "\(learningRate)", "param_groups": "[" + groups.joined(separator: ", ") + "]"]
        for (k, scheduler) in schedulers.enumerated() {
            metadata["scheduler.\(k).type"] = schedulerTypeName(scheduler)
            for (key, value) in scheduler.stateDict() { metadata["scheduler.\(k).\(key)"] = "\(value)" }
        }
        return metadata
    }

    /// Restores what `stateMetadata(schedulers:)` wrote: the groups' hyperparameters (or, without
    /// `param_groups`, `learningRate` from `lr`) and each scheduler's state, which must be there under
    /// the same number and type. Throws `OptimizerStateError` when something does not fit; nothing
    /// changes then.
    public func loadStateMetadata(_ metadata: [String: String], schedulers: [any LearningRateScheduler] = []) throws {
        let savedGroups = paramGroups, savedSchedulers = schedulers.map { $0.stateDict() }
        do {
            if let text = metadata["param_groups"] {
                let values = try ParamGroup<Scalar>.decode(text, sizes: paramGroups.map(\.parameters.count))
                if let grouped = self as? ParamGroupOptimizer<Scalar> {
                    try grouped.loadGroupValues(values)
                } else if case .number(let lr)? = values.first?["lr"] {
                    learningRate = lr
                }
            } else if let lr = metadata["lr"].flatMap(Double.init) {
                learningRate = lr
            }
            for (k, scheduler) in schedulers.enumerated() {
                let prefix = "scheduler.\(k)."
                guard metadata[prefix + "type"] == schedulerTypeName(scheduler) else {
                    throw OptimizerStateError(reason: "scheduler \(k): expected saved state of \(schedulerTypeName(scheduler)), got \(metadata[prefix + "type"] ?? "none")")
                }
                var dict: [String: Double] = [:]
                for (key, text) in metadata where key.hasPrefix(prefix) && key != prefix + "type" {
                    guard let value = Double(text) else { throw OptimizerStateError(reason: "'\(key)' is not a number: \(text)") }
                    dict[String(key.dropFirst(prefix.count))] = value
                }
                try scheduler.loadStateDict(dict)
            }
        } catch {
            paramGroups = savedGroups
            for (scheduler, state) in zip(schedulers, savedSchedulers) { try? scheduler.loadStateDict(state) }
            throw error
        }
    }
}

/// A scheduler's type name without its generic arguments (`ExponentialLR`).
func schedulerTypeName(_ scheduler: any LearningRateScheduler) -> String {
    String(String(describing: type(of: scheduler)).prefix { $0 != "<" })
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
