import Foundation
import Testing
@testable import Ember

/// Gradients for parameter `index` at `step`: sin(1.3·step + 0.7·j + index), shaped as `shape`.
private func gradient(_ shape: [Int], step: Int, index: Int) -> Tensor<Double> {
    let n = shape.reduce(1, *)
    return Tensor(shape: shape, scalars: (0..<n).map { Foundation.sin(1.3 * Double(step) + 0.7 * Double($0) + Double(index)) })
}

/// Three fresh parameters of shapes [3, 4], [5], [2, 2].
private func threeParameters() -> [Variable<Double>] {
    [[3, 4], [5], [2, 2]].enumerated().map { i, shape in
        Variable(Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Foundation.cos(Double($0) + Double(i)) }), requiresGrad: true)
    }
}

/// Runs `steps` optimizer steps with `gradient(...)` on `parameters`, from `start`.
private func run<O: Optimizer>(_ opt: O, _ parameters: [Variable<Double>], steps: Range<Int>) where O.Scalar == Double {
    for s in steps {
        for (i, p) in parameters.enumerated() { p.grad = gradient(p.shape, step: s, index: i) }
        opt.step()
    }
}

@Suite struct ParamGroupTests {
    /// PyTorch's Adam over two groups, the second with its own lr and weight decay, four steps.
    @Test func adamParamGroupsMatchPyTorch() throws {
        let f = try Fixtures.pytorch("adam_param_groups")
        #expect(f.metadata["groups"] == #"[{"params": [0, 1]}, {"params": [2], "lr": 0.05, "weight_decay": 0.1}]"#)
        #expect(f.metadata["defaults"] == #"{"lr": 0.01}"#)
        let p = try (0..<3).map { Variable(try f.tensor("param.p\($0)", as: Double.self), requiresGrad: true) }
        let opt = Adam([ParamGroup([p[0], p[1]]), ParamGroup([p[2]], lr: 0.05, weightDecay: 0.1)], lr: 0.01)
        for step in 0..<Int(f.metadata["steps"]!)! {
            for i in 0..<3 { p[i].grad = try f.tensor("step\(step).grad.p\(i)") }
            opt.step()
            for i in 0..<3 {
                #expect(worstRelativeError(p[i].data, try f.tensor("step\(step).param.p\(i)")) < 1e-9, "step \(step) p\(i)")
            }
        }
    }

    /// Two groups update exactly as two optimizers with each group's hyperparameters would.
    @Test func groupsUpdateAsSeparateOptimizers() {
        // (groups form, or a single-list optimizer with the first or second group's hyperparameters)
        let cases: [(String, ([ParamGroup<Double>]) -> any Optimizer, ([Variable<Double>], Bool) -> any Optimizer)] = [
            ("SGD", { SGD($0, lr: 0.1, momentum: 0.9) },
             { $1 ? SGD($0, lr: 0.05, momentum: 0.5, dampening: 0.1, weightDecay: 0.01) : SGD($0, lr: 0.1, momentum: 0.9) }),
            ("Adam", { Adam($0, lr: 0.01) },
             { $1 ? Adam($0, lr: 0.02, betas: (0.8, 0.99), eps: 1e-6, weightDecay: 0.1, amsgrad: true) : Adam($0, lr: 0.01) }),
            ("AdamW", { AdamW($0, lr: 0.01) },
             { $1 ? AdamW($0, lr: 0.02, betas: (0.8, 0.99), eps: 1e-6, weightDecay: 0.1, amsgrad: true) : AdamW($0, lr: 0.01) }),
            ("Adagrad", { Adagrad($0, lr: 0.1) },
             { $1 ? Adagrad($0, lr: 0.05, lrDecay: 0.01, weightDecay: 0.05, initialAccumulatorValue: 0.1, eps: 1e-6) : Adagrad($0, lr: 0.1) }),
            ("RMSprop", { RMSprop($0, lr: 0.01) },
             { $1 ? RMSprop($0, lr: 0.02, alpha: 0.9, eps: 1e-6, weightDecay: 0.1, momentum: 0.5, centered: true) : RMSprop($0, lr: 0.01) }),
        ]
        let secondGroups: [String: (([Variable<Double>]) -> ParamGroup<Double>)] = [
            "SGD": { ParamGroup($0, lr: 0.05, momentum: 0.5, dampening: 0.1, weightDecay: 0.01) },
            "Adam": { ParamGroup($0, lr: 0.02, weightDecay: 0.1, betas: (0.8, 0.99), eps: 1e-6, amsgrad: true) },
            "AdamW": { ParamGroup($0, lr: 0.02, weightDecay: 0.1, betas: (0.8, 0.99), eps: 1e-6, amsgrad: true) },
            "Adagrad": { ParamGroup($0, lr: 0.05, weightDecay: 0.05, eps: 1e-6, lrDecay: 0.01, initialAccumulatorValue: 0.1) },
            "RMSprop": { ParamGroup($0, lr: 0.02, momentum: 0.5, weightDecay: 0.1, eps: 1e-6, alpha: 0.9, centered: true) },
        ]
        for (name, grouped, single) in cases {
            let a = threeParameters(), b = threeParameters()
            let groupedOpt = grouped([ParamGroup([a[0]]), secondGroups[name]!([a[1], a[2]])])
            let first = single([b[0]], false), second = single([b[1], b[2]], true)
            for s in 0..<5 {
                for (i, p) in a.enumerated() { p.grad = gradient(p.shape, step: s, index: i) }
                for (i, p) in b.enumerated() { p.grad = gradient(p.shape, step: s, index: i) }
                groupedOpt.step(); first.step(); second.step()
            }
            #expect(zip(a, b).allSatisfy { $0.data == $1.data }, "\(name)")
        }
    }

    /// DESIGN.md's example: nil hyperparameters take the defaults; lr is settable per group;
    /// `learningRate` reads the first group's and sets all.
    @Test func defaultsFillGroupsAndLearningRateIsTheFirstGroups() {
        let p = threeParameters().map { Variable(Tensor<Float>(shape: $0.shape, scalars: $0.data.scalars.map(Float.init)), requiresGrad: true) }
        let opt = SGD<Float>([ParamGroup([p[0]], momentum: 0.9, nesterov: true), ParamGroup([p[1], p[2]], lr: 0.2)], lr: 0.05)
        #expect(opt.paramGroups.map(\.lr) == [0.05, 0.2])
        #expect(opt.paramGroups.map(\.momentum) == [0.9, 0])
        #expect(opt.paramGroups.map(\.nesterov) == [true, false])
        #expect(opt.paramGroups[1].betas == nil)
        #expect(opt.parameters.count == 3 && opt.learningRate == 0.05)
        opt.paramGroups[1].lr = 0.3
        #expect(opt.paramGroups[1].lr == 0.3 && opt.learningRate == 0.05)
        opt.paramGroups[1].momentum = nil              // back to the default
        #expect(opt.paramGroups[1].momentum == 0)
        opt.learningRate = 0.01
        #expect(opt.paramGroups.map(\.lr) == [0.01, 0.01])
        let q = Variable(Tensor<Float>([1, 2]), requiresGrad: true)
        opt.addParamGroup(ParamGroup([q], weightDecay: 0.5))
        #expect(opt.paramGroups.count == 3 && opt.paramGroups[2].lr == 0.05 && opt.paramGroups[2].weightDecay == 0.5)
    }

    @Test func misuseStopsWithAMessage() async {
        await #expect(processExitsWith: .failure) {
            let p = Variable(Tensor<Double>([1]), requiresGrad: true)
            _ = SGD([ParamGroup([p]), ParamGroup([p], lr: 0.2)], lr: 0.1)
        }
        await #expect(processExitsWith: .failure) {
            _ = Adam([ParamGroup([Variable(Tensor<Double>([1]), requiresGrad: true)], momentum: 0.9)])
        }
        await #expect(processExitsWith: .failure) {
            _ = RMSprop([ParamGroup([Variable(Tensor<Double>([1]), requiresGrad: true)], lr: -1)])
        }
        await #expect(processExitsWith: .failure) {
            _ = SGD([ParamGroup([Variable(Tensor<Double>([1]), requiresGrad: true)], nesterov: true)], lr: 0.1)
        }
        await #expect(processExitsWith: .failure) { _ = Adagrad([ParamGroup<Double>]()) }
        await #expect(processExitsWith: .failure) {
            let opt = Adam([Variable(Tensor<Double>([1]), requiresGrad: true)])
            opt.paramGroups[0].parameters.append(Variable(Tensor<Double>([2]), requiresGrad: true))
        }
        await #expect(processExitsWith: .failure) { _ = ParamGroup([Variable(Tensor<Double>([1]))]).lr }
    }

    /// `save` writes PyTorch's param_groups as JSON beside `state.{i}.*`; `load` restores the groups'
    /// hyperparameters and the run continues exactly as an uninterrupted one.
    @Test func groupsSaveAndRestoreWithTheirHyperparameters() throws {
        let url = temporaryDirectory().appendingPathComponent("opt.safetensors")
        func make(_ p: [Variable<Double>]) -> Adam<Double> {
            Adam([ParamGroup([p[0], p[1]]), ParamGroup([p[2]], lr: 0.05, weightDecay: 0.1, amsgrad: true)], lr: 0.01)
        }
        let a = threeParameters(), optA = make(a)
        run(optA, a, steps: 0..<3)
        optA.paramGroups[0].lr = 0.005
        try optA.save(to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.metadata["param_groups"] == #"[{"amsgrad": false, "betas": [0.9, 0.999], "eps": 1e-08, "lr": 0.005, "weight_decay": 0.0, "params": [0, 1]}, {"amsgrad": true, "betas": [0.9, 0.999], "eps": 1e-08, "lr": 0.05, "weight_decay": 0.1, "params": [2]}]"#)
        #expect(Set(file.names) == ["state.0.exp_avg", "state.0.exp_avg_sq", "state.0.step", "state.1.exp_avg", "state.1.exp_avg_sq",
                                    "state.1.step", "state.2.exp_avg", "state.2.exp_avg_sq", "state.2.max_exp_avg_sq", "state.2.step"])
        let b = a.map { Variable($0.data, requiresGrad: true) }
        let optB = Adam([ParamGroup([b[0], b[1]]), ParamGroup([b[2]])])   // other hyperparameters: the file's win
        try optB.load(from: url)
        #expect(optB.paramGroups.map(\.lr) == [0.005, 0.05] && optB.paramGroups[1].amsgrad == true)
        run(optA, a, steps: 3..<6)
        run(optB, b, steps: 3..<6)
        #expect(zip(a, b).allSatisfy { $0.data == $1.data })
    }

    /// Files from before parameter groups (only `lr` in the metadata) still load; PyTorch's own flags
    /// (foreach, fused, ...) are read past; what does not fit throws and changes nothing.
    @Test func olderAndForeignGroupMetadata() throws {
        let dir = temporaryDirectory()
        let p = threeParameters(), opt = SGD(p, lr: 0.1, momentum: 0.9)
        run(opt, p, steps: 0..<2)
        let old = dir.appendingPathComponent("old.safetensors")
        try SafeTensorsFile.write(opt.stateDict(), metadata: ["optimizer": "SGD<Double>", "lr": "0.025"], to: old)
        let fresh = SGD(p, lr: 0.1, momentum: 0.9)
        try fresh.load(from: old)
        #expect(fresh.learningRate == 0.025 && fresh.stateDict() == opt.stateDict())

        let torchGroups = #"[{"lr": 0.03, "momentum": 0.8, "dampening": 0, "weight_decay": 0, "nesterov": false, "maximize": false, "foreach": null, "differentiable": false, "fused": null, "initial_lr": 0.1, "params": [0, 1, 2]}]"#
        try fresh.loadStateMetadata(["param_groups": torchGroups])
        #expect(fresh.paramGroups[0].lr == 0.03 && fresh.paramGroups[0].momentum == 0.8 && fresh.paramGroups[0].initialLr == 0.1)

        let before = fresh.paramGroups.map(\.lr)
        for bad in [#"[{"lr": 0.5, "params": [0, 1]}]"#, #"[{"lr": 0.5, "params": [0, 1, 2]}, {"params": []}]"#,
                    #"[{"lr": 0.5, "betas": [0.9, 0.99], "params": [0, 1, 2]}]"#, #"[{"lr": 0.5, "maximize": true, "params": [0, 1, 2]}]"#,
                    #"[{"lr": "fast", "params": [0, 1, 2]}]"#, "not json"] {
            #expect(throws: OptimizerStateError.self, "\(bad)") { try fresh.loadStateMetadata(["param_groups": bad]) }
            #expect(fresh.paramGroups.map(\.lr) == before)
        }
    }
}
