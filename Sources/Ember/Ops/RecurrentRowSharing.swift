import Foundation
import Synchronization

/// How the threads of a recurrent layer's forward pass share its blocks of rows. Each thread claims
/// whole blocks first; a thread left without one then offers to take over rows of the block with the
/// most work left, from the step after the one its owner is on. The owner, checking before each step,
/// hands over the second half of the rows it still runs when it reaches that step (their states up to
/// the step before are then complete, and the answer publishes them), or declines when it is past it.
/// Rows never interact, so they can change hands between two steps, as often as there are rows to
/// halve.
///
/// Results are the bits of the unshared pass: every row's products and gate math are the same
/// whichever thread computes them and whatever rows sit beside it (the blocks already differ with the
/// thread count, `recurrenceBlocks`). Only the time changes: on a host where one core runs slower for
/// a while, the other no longer waits for it at the end of the pass (BENCHMARKS.md).
final class RecurrentRowSharing: Sendable {
    /// One block of rows and the state of its hand-overs.
    final class Block: Sendable {
        let start: Int
        /// The step the owner is on (-1 before it starts; T when it has finished).
        let step = Atomic<Int>(-1)
        /// How many rows, from `start`, the owner still runs.
        let rows: Atomic<Int>
        /// 0; an offer (1 | the step it starts at << 2); or its answer, 2 (taken: the rows are in
        /// `handed`) or 3 (declined). The taker sets it back to 0.
        let offer = Atomic<Int>(0)
        /// The rows of a taken offer: first row << 32 | count.
        let handed = Atomic<Int>(0)

        init(start: Int, count: Int) {
            self.start = start
            rows = Atomic(count)
        }
    }

    let T: Int
    let blocks: [Block]
    private let claimed = Atomic<Int>(0)
    /// How many hand-overs there have been in this process (tests read it).
    static let handOvers = Atomic<Int>(0)
    /// An owner with fewer rows than this keeps them.
    static let minimumRows = 8

    /// Called by every owner before each step, after publishing the step, with the block and its
    /// index (tests hold an owner back).
    nonisolated(unsafe) static var ownerStepHook: ((Block, Int) -> Void)?

    init(T: Int, blocks: [(start: Int, count: Int)]) {
        self.T = T
        self.blocks = blocks.map { Block(start: $0.start, count: $0.count) }
    }

    /// The next block no thread has claimed, or nil.
    func claim() -> Int? {
        let index = claimed.wrappingAdd(1, ordering: .relaxed).oldValue
        return index < blocks.count ? index : nil
    }

    /// Called by block `index`'s owner before step `s`, running `rows` rows: answers any offer, and
    /// returns how many rows it keeps when it has just handed the rest over.
    func answer(_ index: Int, at s: Int, rows: Int) -> Int? {
        let block = blocks[index]
        block.step.store(s, ordering: .releasing)
        RecurrentRowSharing.ownerStepHook?(block, index)
        let offer = block.offer.load(ordering: .acquiring)
        guard offer & 3 == 1 else { return nil }
        let from = offer >> 2
        guard s >= from else { return nil }
        guard s == from, rows >= RecurrentRowSharing.minimumRows else {
            block.offer.store(3, ordering: .releasing)
            return nil
        }
        let kept = rows - rows / 2
        block.rows.store(kept, ordering: .relaxed)
        block.handed.store((block.start + kept) << 32 | (rows - kept), ordering: .relaxed)
        // Releasing: the rows' states up to step s - 1, and `handed`, are there when the taker sees it.
        block.offer.store(2, ordering: .releasing)
        return kept
    }

    /// Called by block `index`'s owner when it has run its last step: declines an offer still open.
    func finish(_ index: Int) {
        let block = blocks[index]
        block.step.store(T, ordering: .releasing)
        if block.offer.load(ordering: .acquiring) & 3 == 1 { block.offer.store(3, ordering: .releasing) }
    }

    /// Rows of another block to run from step `from` to the end, once their owner has handed them
    /// over, or nil when no block has rows to share: offered to the block with the most rows times
    /// steps left (at least two steps after the offer).
    func take() -> (start: Int, count: Int, from: Int)? {
        var spins = 0
        while true {
            var chosen: (block: Block, step: Int, work: Int)? = nil, starting = false
            for block in blocks where block.offer.load(ordering: .acquiring) == 0 {
                let (s, rows) = (block.step.load(ordering: .acquiring), block.rows.load(ordering: .relaxed))
                guard rows >= RecurrentRowSharing.minimumRows else { continue }
                starting = starting || s < 0   // claimed, not begun: wait for its first step
                if s >= 0, T - s >= 3, (T - s) * rows > chosen?.work ?? 0 { chosen = (block, s, (T - s) * rows) }
            }
            guard let (block, s, _) = chosen else {
                if starting { RecurrentRowSharing.pause(&spins); continue }
                return nil
            }
            let offer = 1 | (s + 1) << 2
            guard block.offer.compareExchange(expected: 0, desired: offer, ordering: .acquiringAndReleasing).exchanged else { continue }
            // The owner answers before its next step, or when it finishes.
            var answer = offer
            while answer == offer {
                RecurrentRowSharing.pause(&spins)
                answer = block.offer.load(ordering: .acquiring)
            }
            let handed = block.handed.load(ordering: .relaxed)
            block.offer.store(0, ordering: .relaxed)   // the block may be offered again
            if answer == 2 {
                RecurrentRowSharing.handOvers.wrappingAdd(1, ordering: .relaxed)
                return (handed >> 32, handed & 0xFFFF_FFFF, s + 1)
            }
        }
    }

    /// A pause in a wait for an owner: with more threads than free cores the owner may need this
    /// core, so every 1024th pause gives it up.
    static func pause(_ spins: inout Int) {
        spins += 1
        if spins & 1023 == 0 { sched_yield() } else { spinPause() }
    }
}
