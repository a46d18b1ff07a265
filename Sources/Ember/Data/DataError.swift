import Foundation

// MARK: - Errors

/// Problems with data files, each naming the file. The commands map them to exit codes:
/// missing → 66, corrupt → 65, io → 74.
public enum DataError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Files that are not there (and could not be downloaded); `hint` says what to do. The
    /// description names the directory of files that share one before the hint, so a hint can say
    /// "there" rather than name it again.
    case missing(paths: [String], hint: String)
    /// A file that is present but malformed.
    case corrupt(path: String, reason: String)
    /// Reading, writing or the network failed.
    case io(path: String, reason: String)

    /// One line: the file (or, for files in one directory, the directory and the file names) and
    /// what is wrong, each path named once.
    public var description: String {
        switch self {
        case .missing(let paths, let hint):
            // Files in one directory: the directory once, then the names.
            let directories = Set(paths.map { ($0 as NSString).deletingLastPathComponent })
            let list = directories.count == 1 && !directories.first!.isEmpty
                ? "missing data file(s) in \(directories.first!): \(paths.map { ($0 as NSString).lastPathComponent }.joined(separator: ", "))."
                : "missing data file(s): \(paths.joined(separator: ", "))."
            return hint.isEmpty ? list : "\(list) \(hint)"
        case .corrupt(let path, let reason): return "\(path): \(reason)"
        case .io(let path, let reason): return "\(path): \(reason)"
        }
    }
}
