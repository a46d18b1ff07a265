import Foundation

// MARK: - Output files checked up front

/// Checks, before any work is done, that the file given with `--flag` can be written the way Ember
/// writes files (a temporary file beside it, renamed over it): its directory exists, is a directory
/// and is writable, and the path is not itself a directory. Nothing is created or changed. Throws a
/// `CommandError` with exit code 74 (`ioError`) whose one line names the flag and the path, e.g.
/// `train-rnn: cannot write --save runs/best.safetensors: its directory does not exist`.
///
/// For root, `access` calls every directory writable, read-only ones included; such a directory is
/// then found only when the file is written (and reported then, also with exit code 74).
public func checkWritable(_ path: String, flag: String, command: String) throws {
    func fail(_ reason: String) -> CommandError {
        CommandError("\(command): cannot write --\(flag) \(path): \(reason)", code: .ioError)
    }
    let url = URL(fileURLWithPath: path)
    var info = stat()
    if stat(url.path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { throw fail("it is a directory") }
    let directory = url.deletingLastPathComponent().path
    guard stat(directory, &info) == 0 else {
        if errno == ENOENT || errno == ENOTDIR { throw fail("its directory does not exist") }
        throw fail("cannot examine its directory (\(String(cString: strerror(errno))))")
    }
    guard info.st_mode & S_IFMT == S_IFDIR else { throw fail("its parent is not a directory") }
    guard access(directory, W_OK) == 0 else { throw fail("its directory is not writable (\(String(cString: strerror(errno))))") }
}
