import Foundation

// MARK: - Atomic file writes

/// Writes `data` to `url` through a temporary file in the same directory that is flushed and then
/// renamed over the destination, so readers see either the old file or the whole new one, never a
/// partial write. Throws `EmberIOError` with the path on failure; the temporary file is removed.
public func writeAtomically(_ data: Data, to url: URL) throws {
    let directory = url.deletingLastPathComponent()
    removeStaleTemporaries(for: url)
    let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard fd >= 0 else {
        throw EmberIOError(path: url.path, reason: "cannot create a temporary file in its directory: \(String(cString: strerror(errno)))")
    }
    var ok = false
    defer {
        if !ok { unlink(temporary.path) }
    }
    let written = data.withUnsafeBytes { raw -> Bool in
        var offset = 0
        while offset < raw.count {
            let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n <= 0 { if n < 0 && errno == EINTR { continue }; return false }
            offset += n
        }
        return true
    }
    let synced = written && fsync(fd) == 0
    close(fd)
    guard synced else {
        throw EmberIOError(path: url.path, reason: "write failed: \(String(cString: strerror(errno)))")
    }
    guard rename(temporary.path, url.path) == 0 else {
        throw EmberIOError(path: url.path, reason: "cannot rename the temporary file into place: \(String(cString: strerror(errno)))")
    }
    ok = true
}

/// Removes temporary files that an earlier write to `url` left behind when its process was killed
/// (`.NAME.tmp-PID-N` whose PID no longer runs). Files of live processes are left alone.
func removeStaleTemporaries(for url: URL) {
    let directory = url.deletingLastPathComponent()
    let prefix = ".\(url.lastPathComponent).tmp-"
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
    for name in names where name.hasPrefix(prefix) {
        let rest = name.dropFirst(prefix.count).split(separator: "-")
        guard rest.count == 2, let pid = Int32(rest[0]), UInt32(rest[1]) != nil, pid != getpid() else { continue }
        if kill(pid, 0) != 0 && errno == ESRCH { unlink(directory.appendingPathComponent(name).path) }
    }
}

/// A file could not be read or written.
public struct EmberIOError: Error, CustomStringConvertible, Sendable {
    /// The file concerned.
    public var path: String
    /// What went wrong.
    public var reason: String
    /// `PATH: REASON`.
    public var description: String { "\(path): \(reason)" }
}
