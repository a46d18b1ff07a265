// MARK: - Remembering where masks came from, while a model is traced for export

/// Comparisons of variables give plain `Tensor<Bool>` masks, which hold no tape node. While
/// `exportONNX` traces a forward pass it installs one of these on its thread, and every comparison
/// of variables, and every `.&`, `.|`, `.^`, `.!` of masks, notes its result here (the operator and
/// its operands), so that a mask that later feeds `select(where:)`, `maskedFill` or an attention
/// layer can be exported as the operations that compute it from the inputs rather than as the
/// traced pass's constant. Outside a trace nothing is noted: each of those costs one thread-local
/// read more. (It lives with Tensor because the mask operators are Tensor's.)
final class ComparisonTrace {
    /// One noted comparison or mask operation: `lhs op rhs` (`.!` has only `lhs`), each operand a
    /// `Variable` (as `AnyObject`: the recorder is not generic, and sits below Variable), a scalar
    /// or a mask.
    struct Entry {
        enum Operand {
            case variable(AnyObject)
            case scalar(Double)
            case mask(Tensor<Bool>)
        }
        let op: String
        let lhs: Operand, rhs: Operand
        /// The result, kept alive so that its storage (the key) is not reused during the trace.
        let result: Tensor<Bool>
    }

    private static let key = ThreadLocalKey("comparison tracing")
    private(set) var entries: [MaskIdentity: Entry] = [:]

    /// The recorder installed on this thread, if a trace is running.
    static var current: ComparisonTrace? {
        key.value.map { Unmanaged<ComparisonTrace>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Runs `body` with a new recorder installed on this thread; returns its result and the recorder.
    static func recording<R>(_ body: () throws -> R) rethrows -> (R, ComparisonTrace) {
        let trace = ComparisonTrace(), previous = key.value
        key.value = Unmanaged.passUnretained(trace).toOpaque()
        defer { key.value = previous }
        return (try body(), trace)
    }

    /// Notes `result = lhs op rhs` if a trace is running; returns `result`.
    @inline(__always)
    static func note(_ result: Tensor<Bool>, _ op: String, _ lhs: Entry.Operand, _ rhs: Entry.Operand) -> Tensor<Bool> {
        if let trace = current, result.count > 0 {
            trace.entries[MaskIdentity(result)] = Entry(op: op, lhs: lhs, rhs: rhs, result: result)
        }
        return result
    }

    /// The comparison that produced `mask`, if one was noted.
    func entry(for mask: Tensor<Bool>) -> Entry? {
        guard mask.count > 0, let e = entries[MaskIdentity(mask)], e.result.shape == mask.shape else { return nil }
        return e
    }
}

/// A tensor's identity: the address of its storage (shared by copies until one is mutated).
struct MaskIdentity: Hashable {
    let address: UInt
    init<Element: TensorElement>(_ tensor: Tensor<Element>) {
        address = tensor.storage.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
    }
}
