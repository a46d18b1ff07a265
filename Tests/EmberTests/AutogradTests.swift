import Foundation
import Testing
@testable import Ember

final class Flag: @unchecked Sendable { var value = false }

@Suite struct AutogradSemanticsTests {
    @Test func gradientsAccumulateAcrossBackwardCalls() {
        let x = Variable(Tensor<Double>([1, 2, 3]), requiresGrad: true)
        (x * x).sum().backward()
        #expect(x.grad?.scalars == [2, 4, 6])
        (x * 3).sum().backward()
        #expect(x.grad?.scalars == [5, 7, 9])
        x.zeroGrad()
        #expect(x.grad == nil)
        x.grad = Tensor([1, 1, 1])                 // settable
        x.sum().backward()
        #expect(x.grad?.scalars == [2, 2, 2])
    }

    @Test func aValueUsedTwiceGetsBothContributions() {
        let x = Variable(Tensor<Double>(3), requiresGrad: true)
        let y = x * x + x          // dy/dx = 2x + 1
        y.backward()
        #expect(x.grad?.scalar == 7)
        let a = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
        let b = a.tanh()
        (b * b + b.exp()).sum().backward()
        let t = [1.0, 2].map { Foundation.tanh($0) }
        let expected = zip(t, [1.0, 2]).map { (y, _) in (2 * y + Foundation.exp(y)) * (1 - y * y) }
        #expect(maxDifference(a.grad!.scalars, expected) < 1e-12)
    }

    @Test func nonScalarRootNeedsGradientArgument() {
        let x = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
        (x * 2).backward(gradient: Tensor([1, 10]))
        #expect(x.grad?.scalars == [2, 20])
    }

    @Test func retainGraphAllowsASecondBackward() {
        let x = Variable(Tensor<Double>(2), requiresGrad: true)
        let y = (x * x).exp()
        y.backward(retainGraph: true)
        let first = x.grad!.scalar
        y.backward()
        #expect(abs(x.grad!.scalar - 2 * first) < 1e-9)
    }

    @Test func secondBackwardThroughReleasedGraphStopsWithAMessage() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Variable(Tensor<Double>(2), requiresGrad: true)
            let y = (x * x).exp()
            y.backward()
            y.backward()
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("backward through the graph a second time"))
        #expect(text.contains("retainGraph: true"))
    }

    @Test func noGradRecordsNothingAndIsThreadLocal() async {
        let w = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
        let y = withNoGrad { (w * 2).sum() }
        #expect(!y.requiresGrad && y.isLeaf)
        #expect(isGradEnabled)
        // Nested, returns its value, restores the previous state.
        let value: Int = withNoGrad {
            #expect(!isGradEnabled)
            let inner = withGradEnabled { isGradEnabled }
            #expect(inner)
            return 42
        }
        #expect(value == 42 && isGradEnabled)
        // Another thread is not affected while this one is in no-grad mode.
        let otherThreadRecorded: Bool = withNoGrad {
            let flag = Flag()
            let done = DispatchSemaphore(value: 0)
            let thread = Thread {
                let v = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
                flag.value = (v * 2).requiresGrad
                done.signal()
            }
            thread.start()
            done.wait()
            return flag.value
        }
        #expect(otherThreadRecorded)
    }

    @Test func detachCutsTheGraph() {
        let x = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
        let h = x * 3
        let d = h.detach()
        #expect(!d.requiresGrad && d.isLeaf && d.data == h.data)
        let y = (d * x).sum()
        y.backward()
        #expect(x.grad?.scalars == [3, 6])    // only through the direct use of x
    }

    @Test func gradientsFlowOnlyWhereRequired() {
        let a = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
        let b = Variable(Tensor<Double>([3, 4]))
        (a * b).sum().backward()
        #expect(a.grad?.scalars == [3, 4])
        #expect(b.grad == nil)
        let c = b * 2
        #expect(!c.requiresGrad && c.operationName == nil)
        #expect((a * b).operationName == "multiply")
    }

    @Test func longChainsAreWalkedAndFreedIteratively() {
        // 100,000 nodes: a recursive walk or a recursive release would overflow the stack.
        let x = Variable(Tensor<Double>(1), requiresGrad: true)
        var y = x * 1.0
        weak let firstNode = y.node
        for _ in 0..<100_000 { y = y * 1.0 }
        weak let lastNode = y.node
        y.backward()
        #expect(x.grad?.scalar == 1)
        #expect(firstNode != nil && lastNode != nil)
        y = Variable(Tensor<Double>(0))
        #expect(firstNode == nil && lastNode == nil)
    }
}

/// Graphs are freed when their variables go: the live node count and the resident memory stay flat.
/// Each check runs in a child process of its own, so tests running in parallel cannot disturb the
/// process-wide counts; the child reports its numbers on stderr and fails its exit status on a leak.
@Suite struct LeakTests {
    @Test func forwardPassesWithoutBackwardDoNotLeak() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            var rng = SeededGenerator(seed: 1)
            let w = Variable(Tensor<Float>(randomNormal: [8, 8], generator: &rng), requiresGrad: true)
            let b = Variable(Tensor<Float>(zeros: [8]), requiresGrad: true)
            let x = Tensor<Float>(randomNormal: [4, 8], generator: &rng)
            func step() -> Variable<Float> { (Variable(x).matmul(w) + b).tanh().softmax(axis: 1).sum() }
            for _ in 0..<200 { _ = step() }                  // warm up the allocator
            let nodes = liveGraphNodeCount, rss = residentBytes()
            for _ in 0..<10_000 { _ = step() }
            let grownNodes = liveGraphNodeCount - nodes, grownBytes = residentBytes() - rss
            report(["nodes": grownNodes, "bytes": grownBytes])
        }
        let values = parseReport(result?.standardErrorContent)
        #expect(values["nodes"] == 0, "live graph nodes grew over 10,000 forward passes: \(values)")
        #expect((values["bytes"] ?? .max) < 4 << 20, "resident memory grew: \(values)")
    }

    @Test func forwardBackwardPassesDoNotLeak() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            var rng = SeededGenerator(seed: 2)
            let w = Variable(Tensor<Float>(randomNormal: [8, 8], generator: &rng), requiresGrad: true)
            let x = Tensor<Float>(randomNormal: [4, 8], generator: &rng)
            func step() { let loss = Variable(x).matmul(w).tanh().squared().mean(); loss.backward() }
            for _ in 0..<100 { step() }
            let nodes = liveGraphNodeCount, rss = residentBytes()
            for _ in 0..<1_000 { step() }
            let grownNodes = liveGraphNodeCount - nodes, grownBytes = residentBytes() - rss
            // Keeping a graph alive keeps its nodes; dropping it frees them.
            var kept: Variable<Float>? = Variable(x).matmul(w).tanh().sum()
            let whileKept = liveGraphNodeCount - nodes
            kept = nil
            let afterDrop = liveGraphNodeCount - nodes
            report(["nodes": grownNodes, "bytes": grownBytes, "kept": whileKept, "dropped": afterDrop + (kept == nil ? 0 : 1)])
        }
        let values = parseReport(result?.standardErrorContent)
        #expect(values["nodes"] == 0, "live graph nodes grew over 1,000 forward+backward passes: \(values)")
        #expect((values["bytes"] ?? .max) < 4 << 20, "resident memory grew: \(values)")
        #expect(values["kept"] == 3 && values["dropped"] == 0, "\(values)")
    }
}

/// Writes `key=value` pairs on one stderr line for the parent process to read.
func report(_ values: [String: Int]) {
    let line = "REPORT " + values.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "\n"
    FileHandle.standardError.write(Data(line.utf8))
}

func parseReport(_ bytes: [UInt8]?) -> [String: Int] {
    let text = String(decoding: bytes ?? [], as: UTF8.self)
    guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("REPORT ") }) else { return [:] }
    var values: [String: Int] = [:]
    for pair in line.dropFirst(7).split(separator: " ") {
        let parts = pair.split(separator: "=")
        if parts.count == 2, let v = Int(parts[1]) { values[String(parts[0])] = v }
    }
    return values
}

/// Resident set size of this process, from /proc (0 where it is not available).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
          let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
