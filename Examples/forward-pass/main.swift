// forward-pass: the seed walk-through. A recurrence with state size 2 and input size 1,
//   a_t = [h_{t-1}, x_t] · W + b,   h_t = tanh(a_t),   y_t = h_t · w_out + b_out,
// run on the inputs 1 then 2 from h_0 = [0, 0]; then the gradients of y_1 + y_2 with respect to
// every weight, from backward(), confirmed by gradcheck.
//
//   swift run -c release forward-pass
import Ember
import EmberCLI
import Foundation

let usage = """
    usage: forward-pass [--help]

    Runs a recurrence with state size 2 and input size 1 (h_t = tanh([h_{t-1}, x_t]·W + b),
    y_t = h_t·w_out + b_out) on the inputs 1 then 2 from h_0 = [0, 0], printing each step's values,
    then the gradients of y_1 + y_2 with respect to every weight from backward(), confirmed by
    gradcheck. It takes no options besides this one.

    options:
      --help                 this text

    exit codes: 0 ok, 1 gradcheck failed, 64 bad flags
    """

do {
    let a = try Arguments(Array(CommandLine.arguments.dropFirst()), command: "forward-pass", valued: [], boolean: ["help"])
    if a.flag("help") { print(usage); exit(0) }
} catch let error as CommandError {
    printError(error.message)
    printError("run 'forward-pass --help' for the usage")
    exit(error.code.rawValue)
}

let w = Tensor<Double>(shape: [3, 2], scalars: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])   // rows: h[0], h[1], x
let b = Tensor<Double>([0.1, -0.1])
let wOut = Tensor<Double>(shape: [2, 1], scalars: [1.0, 2.0])
let bOut = Tensor<Double>([0.1])
let inputs: [Double] = [1, 2]

func format(_ values: [Double]) -> String { "[" + values.map { String(format: "%.3f", $0) }.joined(separator: ", ") + "]" }

/// The two steps; `log` prints each step's values.
func forward(_ p: [Variable<Double>], log: Bool) -> Variable<Double> {
    var h = Variable(Tensor<Double>(zeros: [1, 2]))
    var total: Variable<Double>? = nil
    for (t, x) in inputs.enumerated() {
        let input = concat([h, Variable(Tensor<Double>(shape: [1, 1], scalars: [x]))], axis: 1)   // [h, x], shape [1, 3]
        let a = input.matmul(p[0]) + p[1]                                                        // before activation
        h = a.tanh()                                                                             // state
        let y = h.matmul(p[2]) + p[3]                                                            // output
        if log {
            print("step \(t + 1): x = \(x)")
            print("  before activation  a = [h, x]·W + b = \(format(a.scalars))")
            print("  state              h = tanh(a)       = \(format(h.scalars))")
            print("  output             y = h·w_out + b   = \(String(format: "%.3f", y.scalar))")
        }
        total = total.map { $0 + y } ?? y
    }
    return total!.sum()
}

let names = ["W", "b", "w_out", "b_out"]
let parameters = [w, b, wOut, bOut].map { Variable($0, requiresGrad: true) }
let loss = forward(parameters, log: true)
print("sum of outputs = \(String(format: "%.3f", loss.scalar))")
loss.backward()
print("")
print("gradients of the summed outputs (backward()):")
for (name, p) in zip(names, parameters) {
    print("  d/d\(name.padding(toLength: 5, withPad: " ", startingAt: 0)) = \(format(p.grad!.scalars))   shape \(p.shape)")
}
let check = gradcheck(inputs: [w, b, wOut, bOut]) { forward($0, log: false) }
print("")
print(check)
exit(check.passed ? 0 : 1)
