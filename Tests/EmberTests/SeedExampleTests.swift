import Testing
import Ember

/// The seed walk-through: a two-step recurrence over [state, x] with tanh, then a linear readout.
@Suite struct SeedExampleTests {
    static let w = Tensor<Double>(shape: [3, 2], scalars: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    static let b = Tensor<Double>([0.1, -0.1])
    static let wOut = Tensor<Double>(shape: [2, 1], scalars: [1.0, 2.0])
    static let bOut = Tensor<Double>([0.1])

    /// Runs the two steps; returns the states and outputs.
    static func run(_ w: Variable<Double>, _ b: Variable<Double>, _ wOut: Variable<Double>, _ bOut: Variable<Double>)
        -> (states: [Variable<Double>], outputs: [Variable<Double>]) {
        var state = Variable(Tensor<Double>(zeros: [1, 2]))
        var states: [Variable<Double>] = [], outputs: [Variable<Double>] = []
        for x in [1.0, 2.0] {
            let input = concat([state, Variable(Tensor<Double>(shape: [1, 1], scalars: [x]))], axis: 1)  // [1, 3]
            state = (input.matmul(w) + b).tanh()                                                         // [1, 2]
            states.append(state)
            outputs.append(state.matmul(wOut) + bOut)                                                   // [1, 1]
        }
        return (states, outputs)
    }

    func rounded(_ values: [Double]) -> [Double] { values.map { ($0 * 1000).rounded() / 1000 } }

    @Test func forwardValues() {
        let (states, outputs) = Self.run(Variable(Self.w), Variable(Self.b), Variable(Self.wOut), Variable(Self.bOut))
        #expect(rounded(states[0].scalars) == [0.537, 0.462])
        #expect(rounded(states[1].scalars) == [0.860, 0.884])
        #expect(((outputs[0].scalar * 100).rounded() / 100) == 1.56)
        #expect(((outputs[1].scalar * 100).rounded() / 100) == 2.73)
    }

    @Test func gradientsPassGradcheck() {
        let result = gradcheck(inputs: [Self.w, Self.b, Self.wOut, Self.bOut]) { v in
            let (_, outputs) = Self.run(v[0], v[1], v[2], v[3])
            return outputs[0] + outputs[1]
        }
        #expect(result.passed, "\(result)")
        // And backward() gives a non-trivial gradient for every weight.
        let params = [Self.w, Self.b, Self.wOut, Self.bOut].map { Variable($0, requiresGrad: true) }
        let (_, outputs) = Self.run(params[0], params[1], params[2], params[3])
        (outputs[0] + outputs[1]).sum().backward()
        #expect(params.allSatisfy { $0.grad != nil && $0.grad!.scalars.contains { $0 != 0 } })
        #expect(params[3].grad?.scalars == [2])      // d(o1 + o2)/d bOut
    }
}
