import Foundation

// MARK: - SummaryWriter: TensorBoard event files

/// Writes TensorBoard event files, as `torch.utils.tensorboard.SummaryWriter` does: scalars,
/// histograms, text and hyperparameters, each an `Event` record in a file that `tensorboard
/// --logdir DIR` reads while it grows.
///
/// ```swift
/// let writer = try SummaryWriter(logDirectory: URL(fileURLWithPath: "runs/lstm"))
/// try writer.addScalar("train/loss", 0.25, step: 100)
/// try writer.addHistogram("weights/fc.weight", model.fc.weight.data, step: 100)
/// try writer.close()
/// ```
///
/// The file is `DIR/events.out.tfevents.<seconds, 10 digits>.<host name>.<process id>.<n><suffix>`
/// (PyTorch's naming; `n` counts up from 0 until the name is new, so two writers never share a
/// file). Its first record is an `Event` with `file_version` "brain.Event:2". Every record is framed
/// as a TFRecord with masked CRC-32C checksums (`tfRecord`).
///
/// **Durability.** Records are kept in memory and written with one `write(2)` of whole records when
/// `maxQueue` of them are waiting or `flushSeconds` have passed since the last write (checked when a
/// record is added), and on `flush()` and `close()` (PyTorch's defaults: 10 records, 120 seconds).
/// The file therefore only ever grows by whole records: if the process crashes or is killed, the
/// file holds every record written before, readable by TensorBoard, and at most the records still
/// queued are lost (`maxQueue: 1` writes each record at once). Only if the machine itself stops
/// during a write can the last record be cut short; TensorBoard's reader (and `tfRecord`'s CRCs)
/// then stop at the last whole one. Nothing is `fsync`ed.
///
/// After a failed write the writer stops: every later call throws the same error (a record cut short
/// in the middle of the file would hide all later ones from TensorBoard). Not thread-safe: use it
/// from one thread at a time.
public final class SummaryWriter {
    /// The directory given to `init`, created if needed.
    public let logDirectory: URL
    /// The event file this writer appends to.
    public let fileURL: URL
    /// Queued records that trigger a write.
    public let maxQueue: Int
    /// Seconds after which queued records are written at the next `add…`.
    public let flushSeconds: Double

    private var descriptor: Int32
    private var queued: [UInt8] = []
    private var queuedRecords = 0
    private var lastWrite = Date()
    private var failure: EmberIOError?

    /// Opens a new event file in `logDirectory` (created with its parents if missing) and writes its
    /// `file_version` record at once.
    ///
    /// - Parameters:
    ///   - filenameSuffix: appended to the file name (PyTorch's `filename_suffix`), default none.
    ///   - maxQueue: records queued before they are written (default 10, at least 1).
    ///   - flushSeconds: the longest time a record waits in the queue, checked when the next one is added (default 120).
    /// - Throws: `EmberIOError` naming the directory or file when it cannot be created or written.
    public init(logDirectory: URL, filenameSuffix: String = "", maxQueue: Int = 10, flushSeconds: Double = 120) throws {
        require(maxQueue >= 1, "SummaryWriter: maxQueue must be at least 1, got \(maxQueue)")
        require(flushSeconds >= 0, "SummaryWriter: flushSeconds must be non-negative, got \(flushSeconds)")
        require(!filenameSuffix.contains("/"), "SummaryWriter: filenameSuffix must not contain '/', got \(filenameSuffix)")
        self.logDirectory = logDirectory
        self.maxQueue = maxQueue
        self.flushSeconds = flushSeconds
        try Self.makeDirectory(logDirectory)
        (descriptor, fileURL) = try Self.createEventFile(in: logDirectory, suffix: filenameSuffix)
        append(EventEncoding.event(wallTime: Date().timeIntervalSince1970, step: 0, .fileVersion("brain.Event:2")))
        try flush()
    }

    deinit {
        try? close()
    }

    /// Creates `directory` and its missing parents (mkdir -p), with the system's reason on failure.
    private static func makeDirectory(_ directory: URL) throws {
        var path = ""
        for component in directory.standardizedFileURL.path.split(separator: "/") {
            path += "/" + component
            var info = stat()
            if stat(path, &info) == 0 {
                guard info.st_mode & S_IFMT == S_IFDIR else {
                    throw EmberIOError(path: directory.path, reason: "cannot create the log directory: \(path) is not a directory")
                }
            } else if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw EmberIOError(path: directory.path, reason: "cannot create the log directory: \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Opens `events.out.tfevents.…` exclusively, counting `n` up past names that exist.
    private static func createEventFile(in directory: URL, suffix: String) throws -> (Int32, URL) {
        var host = [UInt8](repeating: 0, count: 256)
        let named = host.withUnsafeMutableBufferPointer { gethostname(UnsafeMutableRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), 255) } == 0
        let hostName = named ? String(decoding: host.prefix { $0 != 0 }, as: UTF8.self) : "localhost"
        let base = "events.out.tfevents.\(String(format: "%010d", Int(Date().timeIntervalSince1970))).\(hostName).\(getpid())"
        for n in 0..<10_000 {
            let url = directory.appendingPathComponent("\(base).\(n)\(suffix)")
            let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
            if fd >= 0 { return (fd, url) }
            if errno != EEXIST {
                throw EmberIOError(path: url.path, reason: "cannot create the event file: \(String(cString: strerror(errno)))")
            }
        }
        throw EmberIOError(path: directory.path, reason: "cannot create an event file: 10,000 names starting \(base) exist")
    }

    // MARK: - Adding summaries

    /// Adds the scalar `value` under `tag` at `step` (PyTorch's `add_scalar`). TensorBoard stores a
    /// scalar as a 32-bit float (`simple_value`), so `value` is rounded to Float.
    ///
    /// - Parameter wallTime: seconds since 1970 recorded with the value (default: now).
    public func addScalar(_ tag: String, _ value: Double, step: Int, wallTime: Double? = nil) throws {
        try add(step: step, wallTime: wallTime, [EventEncoding.scalarValue(tag: tag, Float(value))])
    }

    /// Adds a histogram of every element of `values` (any shape) under `tag` at `step` (PyTorch's
    /// `add_histogram`): min, max, count, sum and sum of squares, and counts in TensorFlow's default
    /// buckets (see `HistogramSummary`, internal). NaN and infinite elements are left out.
    public func addHistogram<Scalar: TensorScalar>(_ tag: String, _ values: Tensor<Scalar>, step: Int, wallTime: Double? = nil) throws {
        let histogram = HistogramSummary(values.scalars.lazy.map { Double($0) })
        try add(step: step, wallTime: wallTime, [EventEncoding.histogramValue(tag: tag, histogram)])
    }

    /// Adds `text` under `tag` at `step` for TensorBoard's Text dashboard, which renders it as
    /// Markdown (PyTorch's `add_text`, with the tag as given rather than suffixed `/text_summary`).
    public func addText(_ tag: String, _ text: String, step: Int, wallTime: Double? = nil) throws {
        try add(step: step, wallTime: wallTime, [EventEncoding.textValue(tag: tag, text)])
    }

    /// Records one run's hyperparameters and final metrics for TensorBoard's HParams dashboard, as
    /// PyTorch's `add_hparams(hparam_dict, metric_dict, run_name=...)` does: in a new event file in
    /// the subdirectory `runName` of this writer's directory (default: the current time in seconds,
    /// as PyTorch names it), the experiment, session-start and session-end summaries, then each
    /// metric as a scalar at `step` under its name. The dashboard lists the session with its
    /// hyperparameters and those metric values.
    ///
    /// - Throws: `EmberIOError` when the subdirectory or its file cannot be written.
    public func addHParams(_ hparams: [String: HParamValue], metrics: [String: Double], runName: String? = nil, step: Int = 0) throws {
        let name = runName ?? String(format: "%.6f", Date().timeIntervalSince1970)
        require(!name.isEmpty && !name.hasPrefix("/") && !name.split(separator: "/").contains(".."),
                "SummaryWriter.addHParams: runName must be a relative path inside the log directory, got \(name)")
        let writer = try SummaryWriter(logDirectory: logDirectory.appendingPathComponent(name), maxQueue: Int.max)
        for value in HParamsEncoding.summaryValues(hparams, metrics: Array(metrics.keys)) {
            try writer.add(step: step, wallTime: nil, [value])
        }
        for (tag, value) in metrics.sorted(by: { $0.key < $1.key }) { try writer.addScalar(tag, value, step: step) }
        try writer.close()
    }

    // MARK: - Writing

    /// Writes the queued records (one `write(2)` of whole records), so that TensorBoard sees them.
    public func flush() throws {
        if let failure { throw failure }
        guard !queued.isEmpty, descriptor >= 0 else { return }
        let ok = queued.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        guard ok else {
            let error = EmberIOError(path: fileURL.path, reason: "cannot write the event file: \(String(cString: strerror(errno)))")
            failure = error
            Foundation.close(descriptor)
            descriptor = -1
            throw error
        }
        queued.removeAll(keepingCapacity: true)
        queuedRecords = 0
        lastWrite = Date()
    }

    /// Writes what is queued and closes the file. Further calls to `close()` do nothing; adding after
    /// it is a programmer error.
    public func close() throws {
        guard descriptor >= 0 else { return }
        defer {
            if descriptor >= 0 { Foundation.close(descriptor) }
            descriptor = -1
        }
        try flush()
    }

    /// One `Event` holding a `Summary` of `values`, queued and written when due.
    private func add(step: Int, wallTime: Double?, _ values: [[UInt8]]) throws {
        if let failure { throw failure }
        require(descriptor >= 0, "SummaryWriter: adding a summary after close() (\(fileURL.lastPathComponent))")
        append(EventEncoding.event(wallTime: wallTime ?? Date().timeIntervalSince1970, step: step, .summary(values: values)))
        if queuedRecords >= maxQueue || Date().timeIntervalSince(lastWrite) >= flushSeconds { try flush() }
    }

    private func append(_ event: [UInt8]) {
        queued.append(contentsOf: tfRecord(event))
        queuedRecords += 1
    }
}
