// MARK: - Programmer errors, with their message in every build

/// Stops the program with `message` unless `condition` holds: Ember's check of what a caller passes
/// through the public API (shapes, axes, ranges, modes, state-dict types) and of its own invariants.
///
/// It replaces `precondition`, whose message Swift drops under `-O` ("Swift runtime failure:
/// precondition failure"), so a release build would hide exactly the "expected X, got Y" that tells a
/// user what went wrong. This goes through `fatalError`, which prints the message (with the file and
/// line of the check) in debug and release builds alike. The condition is inlined and the message is
/// built only on failure, in a function kept out of line, so a check costs one compare and branch
/// (measured with callgrind: BENCHMARKS.md).
@inline(__always)
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
             file: StaticString = #fileID, line: UInt = #line) {
    if _slowPath(!condition()) { requireFailure(message(), file: file, line: line) }
}

/// Stops the program with `message` in every build configuration (see `require(_:_:)`).
@inline(never)
func requireFailure(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError(message, file: file, line: line)
}
