import Dispatch
import Synchronization

// MARK: - Threads

let threadCountSetting = Atomic<Int>(1)

/// How many cores Ember's kernels may use (default 1). Large matrix products are split by rows of
/// the result across this many threads; each element is computed by the same sequence of
/// operations either way, so results do not depend on the thread count.
public var emberThreadCount: Int {
    get { threadCountSetting.load(ordering: .relaxed) }
    set {
        precondition(newValue >= 1, "emberThreadCount: expected at least 1, got \(newValue)")
        threadCountSetting.store(newValue, ordering: .relaxed)
    }
}

/// Raw pointers handed to worker threads (each thread writes a disjoint part).
struct SendablePointers<Scalar>: @unchecked Sendable {
    let a: UnsafePointer<Scalar>, b: UnsafePointer<Scalar>, c: UnsafeMutablePointer<Scalar>
}

extension GEMM {
    /// Products below this many multiply-adds run on one thread: splitting costs more than it saves.
    static let parallelThreshold = 1 << 23
}
