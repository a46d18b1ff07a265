// MARK: - Parameter groups

/// A value in a parameter group: a number, a flag, or a pair (`betas`).
enum GroupValue: Equatable {
    case number(Double)
    case flag(Bool)
    case pair(Double, Double)

    /// As PyTorch's `state_dict()` would print it in JSON: `0.01`, `true`, `[0.9, 0.999]`.
    var json: String {
        switch self {
        case .number(let x): jsonNumber(x)
        case .flag(let b): b ? "true" : "false"
        case .pair(let a, let b): "[\(jsonNumber(a)), \(jsonNumber(b))]"
        }
    }
}

/// A Double as JSON text that reads back to the same bits (Swift's shortest round-trip form); JSON
/// has no non-finite numbers, so those are the strings `"Infinity"`, `"-Infinity"`, `"NaN"`.
func jsonNumber(_ x: Double) -> String {
    if x.isNaN { return "\"NaN\"" }
    if x.isInfinite { return x < 0 ? "\"-Infinity\"" : "\"Infinity\"" }
    return "\(x)"
}

/// Some parameters with their own hyperparameters, as a dict in PyTorch's `param_groups`:
/// a hyperparameter left `nil` takes the optimizer's default when the optimizer is made.
///
/// ```swift
/// let opt = SGD<Float>([ParamGroup([p0], momentum: 0.9, nesterov: true), ParamGroup([p1, p2], lr: 0.2)], lr: 0.05)
/// opt.paramGroups[1].lr            // 0.2; settable (schedulers set it)
/// opt.paramGroups[0].lr            // 0.05, the optimizer's default
/// ```
/// Each optimizer takes the hyperparameters of its own constructor (SGD: `lr`, `momentum`,
/// `dampening`, `nesterov`, `weightDecay`; Adam and AdamW: `lr`, `betas`, `eps`, `weightDecay`,
/// `amsgrad`; Adagrad: `lr`, `lrDecay`, `weightDecay`, `initialAccumulatorValue`, `eps`; RMSprop:
/// `lr`, `alpha`, `eps`, `weightDecay`, `momentum`, `centered`); setting another one stops with a
/// message naming the group. Inside an optimizer every group holds all of its optimizer's
/// hyperparameters, so `momentum`, `betas`, ... are non-nil exactly when the optimizer has them.
public struct ParamGroup<Scalar: TensorScalar> {
    /// The group's parameters, in order; their indices in the optimizer's state continue from the
    /// previous group's (PyTorch's numbering).
    public var parameters: [Variable<Scalar>]
    /// The hyperparameters, by PyTorch's names (`lr`, `weight_decay`, `betas`, ...).
    var values: [String: GroupValue]

    /// A group of `parameters`; each hyperparameter given overrides the optimizer's default for them
    /// (PyTorch's names: `lr`, `momentum`, `dampening`, `nesterov`, `weight_decay`, `betas`, `eps`,
    /// `amsgrad`, `alpha`, `centered`, `lr_decay`, `initial_accumulator_value`).
    public init(_ parameters: [Variable<Scalar>], lr: Double? = nil, momentum: Double? = nil, dampening: Double? = nil,
                nesterov: Bool? = nil, weightDecay: Double? = nil, betas: (Double, Double)? = nil, eps: Double? = nil,
                amsgrad: Bool? = nil, alpha: Double? = nil, centered: Bool? = nil, lrDecay: Double? = nil,
                initialAccumulatorValue: Double? = nil) {
        self.parameters = parameters
        values = [:]
        let numbers = ["lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weightDecay, "eps": eps,
                       "alpha": alpha, "lr_decay": lrDecay, "initial_accumulator_value": initialAccumulatorValue]
        for case let (name, x?) in numbers { values[name] = .number(x) }
        for case let (name, b?) in ["nesterov": nesterov, "amsgrad": amsgrad, "centered": centered] { values[name] = .flag(b) }
        if let betas { values["betas"] = .pair(betas.0, betas.1) }
    }

    init(_ parameters: [Variable<Scalar>], values: [String: GroupValue]) {
        self.parameters = parameters
        self.values = values
    }

    func number(_ name: String) -> Double? { if case .number(let x)? = values[name] { x } else { nil } }
    func flag(_ name: String) -> Bool? { if case .flag(let b)? = values[name] { b } else { nil } }

    /// The learning rate. Inside an optimizer it is always set (the optimizer's `lr` unless the group
    /// gave its own); reading it from a group made without `lr:` and not yet in an optimizer stops
    /// with a message.
    public var lr: Double {
        get {
            guard let x = number("lr") else { requireFailure("ParamGroup.lr: this group was made without lr: and is not in an optimizer yet") }
            return x
        }
        set { values["lr"] = .number(newValue) }
    }
    /// Momentum factor (SGD, RMSprop); nil for optimizers without momentum.
    public var momentum: Double? { get { number("momentum") } set { values["momentum"] = newValue.map { .number($0) } } }
    /// Dampening of SGD's momentum buffer.
    public var dampening: Double? { get { number("dampening") } set { values["dampening"] = newValue.map { .number($0) } } }
    /// Nesterov momentum (SGD).
    public var nesterov: Bool? { get { flag("nesterov") } set { values["nesterov"] = newValue.map { .flag($0) } } }
    /// Weight decay (every optimizer; AdamW's is decoupled).
    public var weightDecay: Double? { get { number("weight_decay") } set { values["weight_decay"] = newValue.map { .number($0) } } }
    /// Adam's and AdamW's `(β1, β2)`; OneCycleLR cycles β1.
    public var betas: (Double, Double)? {
        get { if case .pair(let a, let b)? = values["betas"] { (a, b) } else { nil } }
        set { values["betas"] = newValue.map { .pair($0.0, $0.1) } }
    }
    /// The denominator's eps (Adam, AdamW, Adagrad, RMSprop).
    public var eps: Double? { get { number("eps") } set { values["eps"] = newValue.map { .number($0) } } }
    /// Adam's and AdamW's AMSGrad switch.
    public var amsgrad: Bool? { get { flag("amsgrad") } set { values["amsgrad"] = newValue.map { .flag($0) } } }
    /// RMSprop's smoothing constant α.
    public var alpha: Double? { get { number("alpha") } set { values["alpha"] = newValue.map { .number($0) } } }
    /// RMSprop's centring switch.
    public var centered: Bool? { get { flag("centered") } set { values["centered"] = newValue.map { .flag($0) } } }
    /// Adagrad's learning-rate decay.
    public var lrDecay: Double? { get { number("lr_decay") } set { values["lr_decay"] = newValue.map { .number($0) } } }
    /// Adagrad's starting value of `sum` (used when the optimizer is made).
    public var initialAccumulatorValue: Double? {
        get { number("initial_accumulator_value") }
        set { values["initial_accumulator_value"] = newValue.map { .number($0) } }
    }
    /// PyTorch's `initial_lr`: the learning rate the first scheduler found (OneCycleLR sets
    /// `maxLr / divFactor`); later schedulers take it as their base learning rate. Nil until a
    /// scheduler is made.
    public var initialLr: Double? { get { number("initial_lr") } set { values["initial_lr"] = newValue.map { .number($0) } } }
}

// MARK: - PyTorch's param_groups as JSON

extension ParamGroup {
    /// This group as one dict of PyTorch's `param_groups` in JSON, keys sorted, with `params` the
    /// indices `firstIndex..<firstIndex + parameters.count`.
    func json(firstIndex: Int) -> String {
        var members = values.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value.json)" }
        members.append("\"params\": [\((firstIndex..<firstIndex + parameters.count).map(String.init).joined(separator: ", "))]")
        return "{" + members.joined(separator: ", ") + "}"
    }

    /// PyTorch's flags that change nothing in Ember's arithmetic, skipped when read.
    static var ignoredKeys: Set<String> { ["foreach", "fused", "capturable", "differentiable", "decoupled_weight_decay"] }

    /// Reads a `param_groups` JSON text (as `json(firstIndex:)` writes it, or PyTorch's own with its
    /// extra flags) into one value table per group, checking each group's `params` against `sizes`.
    static func decode(_ text: String, sizes: [Int]) throws -> [[String: GroupValue]] {
        func fail(_ reason: String) -> OptimizerStateError { OptimizerStateError(reason: "param_groups: \(reason)") }
        guard case .array(let groups)? = try? HeaderJSON.parse(Array(text.utf8)) else { throw fail("not a JSON array") }
        guard groups.count == sizes.count else {
            throw fail("loaded state dict has a different number of parameter groups (\(groups.count), optimizer has \(sizes.count))")
        }
        var result: [[String: GroupValue]] = []
        var first = 0
        for (g, group) in groups.enumerated() {
            guard case .object(let members) = group else { throw fail("group \(g) is not an object") }
            var values: [String: GroupValue] = [:]
            var params: [Int]?
            for (key, value) in members {
                if key == "params" {
                    params = array(value)?.compactMap { Int(exactly: $0) }
                } else if key == "maximize" {
                    guard case .bool(false) = value else { throw fail("group \(g): maximize is not supported") }
                } else if ignoredKeys.contains(key) {
                    continue
                } else if let x = number(value) {
                    values[key] = .number(x)
                } else if case .bool(let b) = value {
                    values[key] = .flag(b)
                } else if let pair = array(value), pair.count == 2 {
                    values[key] = .pair(pair[0], pair[1])
                } else {
                    throw fail("group \(g): '\(key)' is \(value.summary), not a number, flag or pair")
                }
            }
            guard params == Array(first..<first + sizes[g]) else {
                throw fail("loaded state dict contains a parameter group that doesn't match the size of optimizer's group \(g)")
            }
            first += sizes[g]
            result.append(values)
        }
        return result
    }

    private static func number(_ value: HeaderJSON) -> Double? {
        switch value {
        case .unsigned(let n): Double(exactly: n)
        case .number(let text): Double(text)
        case .string(let text) where ["Infinity", "-Infinity", "NaN"].contains(text): Double(text.lowercased())
        default: nil
        }
    }

    private static func array(_ value: HeaderJSON) -> [Double]? {
        guard case .array(let items) = value else { return nil }
        let numbers = items.compactMap(number)
        return numbers.count == items.count ? numbers : nil
    }
}
