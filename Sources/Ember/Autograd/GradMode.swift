// MARK: - Grad mode (thread-local)

/// Per-thread switch for recording operations. A null thread-specific value means "enabled", so
/// threads start with recording on, as in PyTorch.
enum GradMode {
    static let key = ThreadLocalKey("grad mode")

    static var isEnabled: Bool {
        @inline(__always) get { key.value == nil }
    }

    static func setEnabled(_ enabled: Bool) {
        key.value = enabled ? nil : ThreadLocalKey.set
    }
}

/// Whether operations on this thread are being recorded for `backward()`.
public var isGradEnabled: Bool { GradMode.isEnabled }

/// Runs `body` with recording turned off on this thread and returns its value: no operation inside
/// builds a graph, so results have `requiresGrad == false`. Nests; other threads are unaffected.
///
/// ```swift
/// let predictions = withNoGrad { model(images) }
/// ```
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    let previous = GradMode.isEnabled
    GradMode.setEnabled(false)
    defer { GradMode.setEnabled(previous) }
    return try body()
}

/// Runs `body` with recording turned on on this thread (undoing an enclosing `withNoGrad`).
public func withGradEnabled<R>(_ body: () throws -> R) rethrows -> R {
    let previous = GradMode.isEnabled
    GradMode.setEnabled(true)
    defer { GradMode.setEnabled(previous) }
    return try body()
}
