import Foundation
import Synchronization

/// How the threads of a recurrent layer's forward pass share its blocks of rows. Each thread claims
/// whole blocks first; a thread left without one then takes the second half of another block's rows
/// for that block's remaining steps. Rows never interact, so rows can change hands between two
/// steps: the taker offers to start at the step after the one the block's owner is on, and the owner,
/// checking before each step, agrees when it reaches that step (the rows' states up to the step before
/// are then complete, and the agreement publishes them) or declines when it is already past it.
///
/// Results are the bits of the unshared pass: every row's products and gate math are the same
/// whichever thread computes them and whatever rows sit beside it (the blocks already differ with the
/// thread count, `recurrenceBlocks`). Only the time changes: on a host where one core runs slower for
/// a while, the other no longer waits for it at the end of the pass (BENCHMARKS.md).
final class RecurrentRowSharing: Sendable {
    /// One block of rows and the state of its hand-over.
    final class Block: Sendable {
        let start: Int, count: Int
        /// The step the owner is on (-1 before it starts; T when it has finished).
        let step = Atomic<Int>(-1)
        /// 0, or an offer and its answer: kind (1 offered, 2 taken, 3 declined) | the step it starts
        /// at << 2 | the first row taken << 32.
        let offer = Atomic<Int>(0)

        init(start: Int, count: Int) { (self.start, self.count) = (start, count) }
    }

    let T: Int
    let blocks: [Block]
    private let claimed = Atomic<Int>(0)
    /// How many hand-overs there have been in this process (tests read it).
    static let handOvers = Atomic<Int>(0)
    /// Blocks smaller than this keep their rows.
    static let minimumRows = 8

    /// Called by every owner before each step it checks, with the block's index (tests slow one down).
    nonisolated(unsafe) static var ownerStepHook: ((Int) -> Void)?

    init(T: Int, blocks: [(start: Int, count: Int)]) {
        self.T = T
        self.blocks = blocks.map { Block(start: $0.start, count: $0.count) }
    }

    /// The next block no thread has claimed, or nil.
    func claim() -> Int? {
        let index = claimed.wrappingAdd(1, ordering: .relaxed).oldValue
        return index < blocks.count ? index : nil
    }

    /// Called by block `index`'s owner before step `s` while it has all its rows: answers any offer,
    /// and returns the first row it no longer runs when it has just handed rows over.
    func answer(_ index: Int, at s: Int) -> Int? {
        let block = blocks[index]
        RecurrentRowSharing.ownerStepHook?(index)
        block.step.store(s, ordering: .releasing)
        let offer = block.offer.load(ordering: .acquiring)
        guard offer & 3 == 1 else { return nil }
        let from = (offer >> 2) & (1 << 30 - 1)
        guard s >= from else { return nil }
        let taken = s == from
        // Releasing: the rows' states up to step s - 1 are complete when the taker sees the answer.
        let answered = block.offer.compareExchange(expected: offer, desired: offer & ~3 | (taken ? 2 : 3),
                                                   ordering: .acquiringAndReleasing).exchanged
        return answered && taken ? offer >> 32 : nil
    }

    /// Called by block `index`'s owner when it has run its last step: declines an offer still open.
    func finish(_ index: Int) {
        let block = blocks[index]
        block.step.store(T, ordering: .releasing)
        let offer = block.offer.load(ordering: .acquiring)
        if offer & 3 == 1 {
            _ = block.offer.compareExchange(expected: offer, desired: offer & ~3 | 3, ordering: .acquiringAndReleasing)
        }
    }

    /// Rows of another block to run from step `from` to the end, once their owner has agreed: the
    /// second half of the block with the most steps left (at least two after the offer), or nil when
    /// no block has rows to share.
    func take() -> (start: Int, count: Int, from: Int)? {
        var spins = 0
        while true {
            var chosen: (block: Block, step: Int)? = nil, starting = false
            for block in blocks where block.count >= RecurrentRowSharing.minimumRows && block.offer.load(ordering: .acquiring) == 0 {
                let s = block.step.load(ordering: .acquiring)
                starting = starting || s < 0   // claimed, not begun: wait for its first step
                if s >= 0, T - s >= 3, s < chosen?.step ?? Int.max { chosen = (block, s) }
            }
            guard let (block, s) = chosen else {
                if starting { RecurrentRowSharing.pause(&spins); continue }
                return nil
            }
            let first = block.start + block.count - block.count / 2
            let offer = 1 | (s + 1) << 2 | first << 32
            guard block.offer.compareExchange(expected: 0, desired: offer, ordering: .acquiringAndReleasing).exchanged else { continue }
            // The owner answers before its next step, or when it finishes.
            var answer = offer
            while answer == offer {
                RecurrentRowSharing.pause(&spins)
                answer = block.offer.load(ordering: .acquiring)
            }
            if answer & 3 == 2 {
                RecurrentRowSharing.handOvers.wrappingAdd(1, ordering: .relaxed)
                return (first, block.start + block.count - first, s + 1)
            }
            // Declined (the owner was past the step already, or done): the block may be offered again.
            _ = block.offer.compareExchange(expected: answer, desired: 0, ordering: .relaxed)
        }
    }

    /// A pause in a wait for an owner: with more threads than free cores the owner may need this
    /// core, so every 1024th pause gives it up.
    static func pause(_ spins: inout Int) {
        spins += 1
        if spins & 1023 == 0 { sched_yield() } else { spinPause() }
    }
}
