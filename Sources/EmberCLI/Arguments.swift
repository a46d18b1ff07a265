import Foundation

// MARK: - Command-line arguments

/// The exit codes of Ember's commands (BSD sysexits).
public enum ExitCode: Int32, Sendable {
    case ok = 0
    case usage = 64
    case dataError = 65
    case noInput = 66
    case ioError = 74
    case interrupted = 130
}

/// A command-line error: one line for stderr and the exit code.
public struct CommandError: Error, CustomStringConvertible, Sendable {
    /// The line to print on stderr, starting with the command's name.
    public var message: String
    /// The exit code the command ends with.
    public var code: ExitCode
    /// An error with its stderr line and exit code.
    public init(_ message: String, code: ExitCode) {
        self.message = message
        self.code = code
    }
    /// The message.
    public var description: String { message }
}

/// `--name value`, `--name=value` and boolean `--flag` options, checked against a declared set.
public struct Arguments {
    /// The command's name, which starts every usage message.
    public let command: String
    var values: [String: String] = [:]
    var flags: Set<String> = []

    /// Parses `arguments` (without the program name). `valued` options take a value; `boolean`
    /// ones do not. Anything else is a usage error naming it.
    public init(_ arguments: [String], command: String, valued: Set<String>, boolean: Set<String>) throws {
        self.command = command
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            guard argument.hasPrefix("--") else { throw usage("unexpected argument '\(argument)'") }
            var name = String(argument.dropFirst(2)), inline: String? = nil
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if boolean.contains(name) {
                guard inline == nil else { throw usage("--\(name) takes no value") }
                flags.insert(name)
            } else if valued.contains(name) {
                if let inline { values[name] = inline } else {
                    guard i + 1 < arguments.count, !arguments[i + 1].hasPrefix("--") else { throw usage("--\(name) needs a value") }
                    values[name] = arguments[i + 1]
                    i += 1
                }
            } else {
                throw usage("unknown option --\(name)")
            }
            i += 1
        }
    }

    func usage(_ message: String) -> CommandError { CommandError("\(command): \(message)", code: .usage) }

    /// Whether the boolean option `--name` was given.
    public func flag(_ name: String) -> Bool { flags.contains(name) }
    /// The value of `--name`, or nil when absent (no check of its form).
    public func string(_ name: String) -> String? { values[name] }

    /// An integer option within `range` (default when absent).
    public func int(_ name: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = values[name] else { return value }
        guard let v = Int(text), range.contains(v) else {
            let bounds = range.upperBound == Int.max ? "of at least \(range.lowerBound)" : "in \(range.lowerBound)...\(range.upperBound)"
            throw usage("--\(name) expects an integer \(bounds), got '\(text)'")
        }
        return v
    }

    /// A finite number option within `range`.
    public func double(_ name: String, default value: Double?, in range: ClosedRange<Double>) throws -> Double? {
        guard let text = values[name] else { return value }
        guard let v = Double(text), v.isFinite, range.contains(v) else {
            throw usage("--\(name) expects a number in \(Arguments.format(range.lowerBound))...\(Arguments.format(range.upperBound)), got '\(text)'")
        }
        return v
    }

    /// A finite number greater than 0 and at most `maximum` (`value` when absent), such as a learning
    /// rate. The message for anything else states that range, whether the number was too small
    /// (0 included), too large or not a number.
    public func positiveDouble(_ name: String, default value: Double, upTo maximum: Double) throws -> Double {
        guard let text = values[name] else { return value }
        guard let v = Double(text), v.isFinite, v > 0, v <= maximum else {
            throw usage("--\(name) expects a number greater than 0 (up to \(Arguments.format(maximum))), got '\(text)'")
        }
        return v
    }

    /// A bound as a person writes it: `10`, `0.002`, `1e38`, `1e-9` (not `10.0`, `1e+38`, `1e-09`).
    static func format(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        let text = "\(x)"
        guard let e = text.firstIndex(of: "e"), let exponent = Int(text[text.index(after: e)...]) else { return text }
        return "\(text[..<e])e\(exponent)"
    }

    /// One of `choices`.
    public func choice(_ name: String, default value: String, _ choices: [String]) throws -> String {
        guard let text = values[name] else { return value }
        guard choices.contains(text) else { throw usage("--\(name) expects one of \(choices.joined(separator: ", ")), got '\(text)'") }
        return text
    }
}

/// Writes one line to stderr.
public func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// What `error` says, less a leading "`path`: ". Ember's file errors (`EmberIOError`, `DataError`,
/// `SafeTensorsError`) describe themselves as "PATH: reason"; a message that names the path itself,
/// such as "cannot write PATH: …", adds this so that its line names the path once.
public func reason(of error: any Error, about path: String) -> String {
    let text = "\(error)"
    return text.hasPrefix(path + ": ") ? String(text.dropFirst(path.count + 2)) : text
}
