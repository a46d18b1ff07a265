import Foundation

// MARK: - Progress display

/// Whether standard output is a terminal.
public var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

/// A one-line progress bar redrawn in place (`\r`), at most every 0.1 s.
public struct ProgressBar {
    /// The count that fills the bar (at least 1).
    public let total: Int
    /// The bar's width in characters (default 30).
    public let width: Int
    var lastDraw: TimeInterval = 0

    /// A bar for `total` units (a total below 1 counts as 1), `width` characters wide.
    public init(total: Int, width: Int = 30) {
        self.total = max(total, 1)
        self.width = width
    }

    /// Redraws with `done` of `total` and a trailing text; `force` draws regardless of the rate limit.
    public mutating func update(_ done: Int, _ text: String, force: Bool = false) {
        let now = Date().timeIntervalSinceReferenceDate
        guard force || now - lastDraw >= 0.1 else { return }
        lastDraw = now
        let filled = min(width, done * width / total)
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
        let line = "\r[\(bar)] \(done)/\(total) \(text)\u{1B}[K"
        FileHandle.standardOutput.write(Data(line.utf8))
    }

    /// Ends the bar's line.
    public func finish() { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
}

/// `12,345` style grouping.
public func grouped(_ value: Int) -> String {
    let digits = String(abs(value))
    var out = ""
    for (i, c) in digits.reversed().enumerated() {
        if i > 0 && i % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return (value < 0 ? "-" : "") + String(out.reversed())
}
