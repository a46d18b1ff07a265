import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 for download tests: serves `files` by path; with
/// `dropHalfway`, it announces the full length, sends half the body and closes the connection.
final class TestHTTPServer: @unchecked Sendable {
    let files: [String: Data]
    let dropHalfway: Bool
    private(set) var port: UInt16 = 0
    private var listener: Int32 = -1
    private let lock = NSLock()
    private var _requests: [String] = []
    var requests: [String] { lock.withLock { _requests } }

    init(files: [String: Data], dropHalfway: Bool = false) throws {
        self.files = files
        self.dropHalfway = dropHalfway
        #if os(Linux)
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)   // an enum in Glibc
        #else
        listener = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(listener, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)/")! }

    func stop() { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }

    private func serve() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var request = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !request.ends(with: [13, 10, 13, 10]) {
            let n = recv(client, &buffer, buffer.count, 0)
            if n <= 0 { return }
            request += buffer[0..<n]
        }
        let line = String(decoding: request, as: UTF8.self).split(separator: "\r\n").first ?? ""
        let parts = line.split(separator: " ")
        let path = parts.count > 1 ? String(parts[1].drop(while: { $0 == "/" })) : ""
        lock.withLock { _requests.append(path) }
        guard let body = files[path] else {
            send(client, Data("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
            return
        }
        send(client, Data("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8))
        send(client, dropHalfway ? body.prefix(body.count / 2) : body)
    }

    private func send(_ client: Int32, _ data: Data) {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = sendWithoutSIGPIPE(client, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}

/// gzip-compresses with the system gzip tool (test data only).
func gzipData(_ data: Data) throws -> Data {
    let dir = temporaryDirectory()
    let file = dir.appendingPathComponent("x")
    try data.write(to: file)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-n", "-f", file.path]
    try process.run()
    process.waitUntilExit()
    return try Data(contentsOf: dir.appendingPathComponent("x.gz"))
}

/// A small MNIST-shaped set of the four files (gzip), `n` training and `m` test images of 28x28.
func tinyMNISTFiles(train n: Int = 20, test m: Int = 10, seed: UInt64 = 1) throws -> [String: Data] {
    var g = SeededGeneratorBox.make(seed)
    func images(_ count: Int) -> [UInt8] { (0..<(count * 784)).map { _ in UInt8(truncatingIfNeeded: g.next()) } }
    func labels(_ count: Int) -> [UInt8] { (0..<count).map { UInt8($0 % 10) } }
    return [
        "train-images-idx3-ubyte.gz": try gzipData(IDXArray.encode(shape: [n, 28, 28], bytes: images(n))),
        "train-labels-idx1-ubyte.gz": try gzipData(IDXArray.encode(shape: [n], bytes: labels(n))),
        "t10k-images-idx3-ubyte.gz": try gzipData(IDXArray.encode(shape: [m, 28, 28], bytes: images(m))),
        "t10k-labels-idx1-ubyte.gz": try gzipData(IDXArray.encode(shape: [m], bytes: labels(m))),
    ]
}

import Ember
extension SeededGeneratorBox {
    static func make(_ seed: UInt64) -> SeededGenerator { SeededGenerator(seed: seed) }
}

/// `send(2)` that reports a closed connection as an error instead of raising SIGPIPE: MSG_NOSIGNAL on
/// Linux, the socket option SO_NOSIGPIPE on Darwin (which has no MSG_NOSIGNAL).
private func sendWithoutSIGPIPE(_ socket: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if os(Linux)
    return send(socket, bytes, count, Int32(MSG_NOSIGNAL))
    #else
    var yes: Int32 = 1
    setsockopt(socket, SOL_SOCKET, SO_NOSIGPIPE, &yes, socklen_t(MemoryLayout<Int32>.size))
    return send(socket, bytes, count, 0)
    #endif
}
