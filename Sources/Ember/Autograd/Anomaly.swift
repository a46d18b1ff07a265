// MARK: - Anomaly detection

/// The first operation that produced a non-finite value while anomaly detection was on.
public struct AnomalyError: Error, CustomStringConvertible, Sendable {
    /// Whether it happened in the forward pass or in a backward rule.
    public enum Phase: String, Sendable { case forward, backward }
    /// The operation's name, e.g. "log", "matmul", "CrossEntropyLoss".
    public var operation: String
    /// Whether the forward pass or a backward rule produced the value.
    public var phase: Phase
    /// "NaN" or "infinity".
    public var value: String
    /// The shape of the offending result.
    public var shape: [Int]

    /// One sentence naming the operation, the phase, the value and the result's shape.
    public var description: String {
        phase == .forward
            ? "the forward pass of '\(operation)' produced \(value) (result shape \(describe(shape))) from finite inputs"
            : "the backward rule of '\(operation)' produced \(value) (gradient shape \(describe(shape))) from a finite output gradient"
    }
}

/// Thread-local state: whether detection is on, and the first anomaly found.
final class AnomalyState {
    var firstAnomaly: AnomalyError?

    static let key = ThreadLocalKey("anomaly detection")

    /// The state of this thread while detection is on, nil otherwise.
    static var current: AnomalyState? {
        guard let raw = key.value else { return nil }
        return Unmanaged<AnomalyState>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Records `tensor` as the first anomaly if it holds a NaN or infinity.
    func check<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>, operation: StaticString, phase: AnomalyError.Phase) {
        guard firstAnomaly == nil, let bad = tensor.firstNonFinite() else { return }
        firstAnomaly = AnomalyError(operation: "\(operation)", phase: phase, value: bad.isNaN ? "NaN" : "infinity", shape: tensor.shape)
    }
}

extension Tensor where Scalar: TensorScalar {
    /// The first NaN or infinity, if any.
    func firstNonFinite() -> Scalar? {
        withUnsafeBufferPointer { b in b.first { !$0.isFinite } }
    }
    var isAllFinite: Bool { firstNonFinite() == nil }
}

/// Runs `body` with anomaly detection on this thread: every operation checks its result, and every
/// backward rule its gradients, for NaN and infinity. If one produced such a value from finite
/// inputs, this throws an `AnomalyError` naming the first such operation after `body` returns.
/// Slower than normal (each result is scanned); meant for finding where training goes wrong.
///
/// ```swift
/// do { try withAnomalyDetection { loss = model(x).log().sum(); loss.backward() } }
/// catch let error as AnomalyError { print(error) }   // the forward pass of 'log' produced ...
/// ```
public func withAnomalyDetection<R>(_ body: () throws -> R) throws -> R {
    if AnomalyState.current != nil { return try body() }          // nested: the outer call reports
    let state = AnomalyState()
    let retained = Unmanaged.passRetained(state)
    AnomalyState.key.value = retained.toOpaque()
    defer {
        AnomalyState.key.value = nil
        retained.release()
    }
    let result = try body()
    if let anomaly = state.firstAnomaly { throw anomaly }
    return result
}

/// Whether anomaly detection is on for this thread.
public var isAnomalyDetectionEnabled: Bool { AnomalyState.current != nil }
