import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

// MARK: - Downloading MNIST

/// Fetches the four MNIST files into a directory, trying mirrors in order, verifying each file
/// (gzip CRC and IDX structure) in memory and moving it into place only when whole.
public enum MNISTDownloader {
    /// The usual public mirrors, tried in order.
    public static let defaultMirrors = [
        URL(string: "https://ossci-datasets.s3.amazonaws.com/mnist/")!,
        URL(string: "https://storage.googleapis.com/cvdf-datasets/mnist/")!,
        URL(string: "http://yann.lecun.com/exdb/mnist/")!,
    ]

    /// Progress of one file: name, bytes received, bytes expected (nil if unknown).
    public typealias Progress = (_ file: String, _ received: Int, _ expected: Int?) -> Void

    /// Downloads whichever of the four files (`.gz` or raw) are absent from `directory` (created if
    /// needed). Files already present are left alone, even if corrupt. Throws `DataError.missing`
    /// naming the files, each mirror's failure and where to put the files when every mirror fails,
    /// and `DataError.io` when the directory cannot be made or a downloaded file cannot be written.
    public static func ensureFiles(in directory: URL, mirrors: [URL] = defaultMirrors, timeout: TimeInterval = 60,
                                   progress: Progress? = nil) throws {
        let fm = FileManager.default
        let absent = MNIST.allFiles.filter { name in
            !fm.fileExists(atPath: directory.appendingPathComponent(name).path)
                && !fm.fileExists(atPath: directory.appendingPathComponent(String(name.dropLast(3))).path)
        }
        guard !absent.isEmpty else { return }
        do { try fm.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw DataError.io(path: directory.path, reason: "cannot create the directory (\(error.localizedDescription))")
        }
        for name in absent {
            var failures: [String] = []
            var verified: Data? = nil
            for mirror in mirrors {
                let url = mirror.appendingPathComponent(name)
                do {
                    let data = try fetch(url, timeout: timeout, maximumBytes: 64 << 20) { progress?(name, $0, $1) }
                    // Verify before anything touches the directory.
                    let raw = try gunzip(data, path: url.absoluteString, maximumBytes: 256 << 20)
                    _ = try IDXArray(data: raw, path: url.absoluteString, expectedRank: name.contains("images") ? 3 : 1)
                    verified = data
                    break
                } catch {
                    // The mirror, then what went wrong; the errors name the file's URL, which is the
                    // mirror and the file name already given, so it is not repeated.
                    var text = "\(error)"
                    if text.hasPrefix(url.absoluteString + ": ") { text.removeFirst(url.absoluteString.count + 2) }
                    failures.append("\(mirror.absoluteString): \(text)")
                }
            }
            guard let verified else {
                throw DataError.missing(
                    paths: absent.map { directory.appendingPathComponent($0).path },
                    hint: "Could not download \(name) (\(failures.joined(separator: "; "))). Put them there, or pass --data-dir or set MNIST_DIR.")
            }
            do { try writeAtomically(verified, to: directory.appendingPathComponent(name)) } catch let error as EmberIOError {
                throw DataError.io(path: error.path, reason: error.reason)
            }
        }
    }

    /// GETs `url` into memory, at most `maximumBytes`, reporting progress.
    static func fetch(_ url: URL, timeout: TimeInterval, maximumBytes: Int, progress: @escaping (Int, Int?) -> Void) throws -> Data {
        let delegate = FetchDelegate(maximumBytes: maximumBytes, progress: progress)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
        defer { session.invalidateAndCancel() }
        session.dataTask(with: url).resume()
        delegate.done.wait()
        if let error = delegate.failure { throw error }
        return delegate.received
    }
}

private final class FetchDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let maximumBytes: Int
    let progress: (Int, Int?) -> Void
    let done = DispatchSemaphore(value: 0)
    var received = Data()
    var expected: Int?
    var failure: Error?

    init(maximumBytes: Int, progress: @escaping (Int, Int?) -> Void) {
        self.maximumBytes = maximumBytes
        self.progress = progress
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
            failure = DataError.io(path: response.url?.absoluteString ?? "", reason: "HTTP status \(http.statusCode)")
            completionHandler(.cancel)
            return
        }
        expected = response.expectedContentLength >= 0 ? Int(response.expectedContentLength) : nil
        if let e = expected, e > maximumBytes {
            failure = DataError.io(path: response.url?.absoluteString ?? "", reason: "announces \(e) bytes, more than \(maximumBytes)")
            completionHandler(.cancel)
            return
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard failure == nil else { return }
        if received.count + data.count > maximumBytes {
            failure = DataError.io(path: dataTask.originalRequest?.url?.absoluteString ?? "", reason: "more than \(maximumBytes) bytes")
            dataTask.cancel()
            return
        }
        received.append(data)
        progress(received.count, expected)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if failure == nil, let error {
            failure = DataError.io(path: task.originalRequest?.url?.absoluteString ?? "", reason: error.localizedDescription)
        }
        if failure == nil, let e = expected, received.count != e {
            failure = DataError.io(path: task.originalRequest?.url?.absoluteString ?? "", reason: "connection closed after \(received.count) of \(e) bytes")
        }
        done.signal()
    }
}
