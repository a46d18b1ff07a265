// MARK: - The optimizers' shared machinery

/// What SGD, Adam, AdamW, Adagrad and RMSprop share, as `torch.optim.Optimizer` does: parameter groups
/// with per-group hyperparameters (a group's missing ones take the optimizer's defaults, the values
/// its constructor was given), per-parameter state numbered across the groups in order, and that
/// state's dict.
///
/// `learningRate` reads the first group's `lr` and sets every group's (with one group, as before
/// parameter groups existed, it is simply the learning rate). `paramGroups` is settable:
/// hyperparameters may change at any time (schedulers do), as PyTorch's `param_groups` dicts do;
/// the groups and their parameters may not (`addParamGroup` adds one).
public class ParamGroupOptimizer<Scalar: TensorScalar> {
    /// PyTorch's class name, for messages.
    let name: String
    /// Every hyperparameter this optimizer takes, by PyTorch's name, with its default.
    let defaults: [String: GroupValue]
    /// The names of the per-parameter state tensors (besides `step`).
    let stateNames: Set<String>
    var groups: [ParamGroup<Scalar>] = []
    var state = ParameterState<Scalar>(count: 0)

    /// Checks `defaults` with the subclass's `problem(_:)` (its PyTorch message, prefixed with
    /// `name`), then adds the groups. Stops with a message for an empty group list.
    init(_ name: String, _ groups: [ParamGroup<Scalar>], defaults: [String: GroupValue], stateNames: Set<String>) {
        self.name = name
        self.defaults = defaults
        self.stateNames = stateNames
        if let problem = problem(ParamGroup([], values: defaults)) { requireFailure("\(name): \(problem)") }
        require(!groups.isEmpty, "\(name): optimizer got an empty list of parameter groups")
        for group in groups { addParamGroup(group) }
    }

    /// The parameters of every group, in order (their index is their number in the state dict);
    /// kept as groups are added (the groups' parameters cannot change otherwise).
    public private(set) var parameters: [Variable<Scalar>] = []

    /// The first group's learning rate; setting it sets every group's.
    public var learningRate: Double {
        get { groups[0].lr }
        set { for i in groups.indices { groups[i].lr = newValue } }
    }

    /// The parameter groups, every hyperparameter filled in. Settable (see the type's notes): a
    /// hyperparameter set to nil returns to the default; a change to the groups' parameters, a
    /// hyperparameter this optimizer does not take, or one of the wrong kind stops with a message.
    public var paramGroups: [ParamGroup<Scalar>] {
        get { groups }
        set {
            if let problem = problem(replacingWith: newValue) { requireFailure(problem) }
            groups = newValue.map(filled)
        }
    }

    /// Adds a group (`torch.optim.Optimizer.add_param_group`): its missing hyperparameters take the
    /// defaults, its parameters are numbered after the existing ones. Stops with PyTorch's message
    /// when a parameter is already in a group, and with the constructor's checks' messages.
    public func addParamGroup(_ group: ParamGroup<Scalar>) {
        let group = filled(group), index = groups.count
        if let problem = structureProblem(group, index) ?? problem(group).map({ "\(name): \($0) (parameter group \(index))" }) {
            requireFailure(problem)
        }
        let existing = Set(parameters.map(ObjectIdentifier.init))
        require(group.parameters.allSatisfy { !existing.contains(ObjectIdentifier($0)) },
                "\(name): some parameters appear in more than one parameter group")
        let first = state.steps.count
        groups.append(group)
        parameters += group.parameters
        state.buffers += Array(repeating: [:], count: group.parameters.count)
        state.steps += Array(repeating: 0, count: group.parameters.count)
        didAdd(group, firstIndex: first)
    }

    /// The subclass's check of a group's values, PyTorch's message without the class name (nil: fine).
    func problem(_ group: ParamGroup<Scalar>) -> String? { nil }

    /// PyTorch's `Invalid {what}: {value}` for the first value that is not `>= 0` (NaN included), or nil.
    func firstNegative(_ checks: KeyValuePairs<String, Double>) -> String? {
        checks.first { !($0.value >= 0) }.map { "Invalid \($0.key): \($0.value)" }
    }

    /// Called after a group is added, for state that starts with a value (Adagrad's `sum`).
    func didAdd(_ group: ParamGroup<Scalar>, firstIndex: Int) {}

    /// `group` with its missing hyperparameters taken from the defaults.
    func filled(_ group: ParamGroup<Scalar>) -> ParamGroup<Scalar> {
        ParamGroup(group.parameters, values: group.values.merging(defaults) { own, _ in own })
    }

    /// A hyperparameter this optimizer does not take, or one of another kind than its default's.
    func structureProblem(_ group: ParamGroup<Scalar>, _ index: Int) -> String? {
        for (key, value) in group.values.sorted(by: { $0.key < $1.key }) where key != "initial_lr" {
            guard let expected = defaults[key] else { return "\(name): parameter group \(index) sets '\(key)', which \(name) does not take" }
            switch (expected, value) {
            case (.number, .number), (.flag, .flag), (.pair, .pair): continue
            default: return "\(name): parameter group \(index): '\(key)' is \(value.json), expected a value like \(expected.json)"
            }
        }
        return nil
    }

    /// Why `newGroups` cannot replace the groups (other parameters, or a `structureProblem`), or nil.
    func problem(replacingWith newGroups: [ParamGroup<Scalar>]) -> String? {
        let ids = { (g: ParamGroup<Scalar>) in g.parameters.map(ObjectIdentifier.init) }
        guard newGroups.count == groups.count, zip(newGroups, groups).allSatisfy({ ids($0) == ids($1) }) else {
            return "\(name): paramGroups: the groups and their parameters cannot be changed (addParamGroup adds a group)"
        }
        for (i, group) in newGroups.enumerated() { if let problem = structureProblem(group, i) { return problem } }
        return nil
    }

    /// Replaces every group's hyperparameters with `values` (a file's `param_groups`); throws
    /// `OptimizerStateError` where `paramGroups`' setter would stop, and nothing changes then.
    func loadGroupValues(_ values: [[String: GroupValue]]) throws {
        let newGroups = zip(groups, values).map { ParamGroup($0.parameters, values: $1) }
        if let problem = problem(replacingWith: newGroups) { throw OptimizerStateError(reason: problem) }
        groups = newGroups.map(filled)
    }

    /// Calls `body` for every parameter whose `grad` is not nil, with its index, gradient and its
    /// group's hyperparameters as `read` takes them out (once per group and step: the lookups by name
    /// are not repeated per parameter).
    func forEachGradient<H>(reading read: (ParamGroup<Scalar>) -> H,
                            _ body: (_ index: Int, _ parameter: Variable<Scalar>, _ gradient: Tensor<Scalar>, _ hyper: H) -> Void) {
        var index = 0
        for group in groups {
            let hyper = read(group)
            for p in group.parameters {
                if let g = p.grad { body(index, p, g, hyper) }
                index += 1
            }
        }
    }

    /// Per-parameter state: `state.{i}.{name}` for the optimizer's state names and `state.{i}.step`
    /// (after the first update), `i` counting across the groups in order, as PyTorch numbers them.
    public func stateDict() -> [String: Tensor<Scalar>] { state.export() }

    /// Restores `stateDict()`'s result. Throws `OptimizerStateError` for an unknown name or index or a
    /// shape unlike its parameter's; nothing changes then.
    public func loadStateDict(_ dict: [String: Tensor<Scalar>]) throws {
        state = try ParameterState.decode(dict, parameters: parameters, allowed: stateNames)
    }
}
