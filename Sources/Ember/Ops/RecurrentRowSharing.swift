import Foundation
import Synchronization

/// How the threads of a recurrent layer's forward or backward pass share its blocks of rows. Each
/// thread claims whole blocks first; a thread left without one then offers to take over rows of the
/// block with the most work left, from the step after the one its owner is on. The owner, checking
/// before each step, hands over the second half of the rows it still runs when it reaches that step
/// (their states up to the step before are then complete, and the answer publishes them), or
/// declines when it is past it. Rows never interact, so they can change hands between two steps.
///
/// The forward pass hands rows over as often as there are rows to halve. The backward pass
/// (`handsOverOnce`) hands a block over once: owner and taker then meet after every chunk of steps
/// to add its weight gradients, half the columns each (RecurrentBackwardStep.swift), and an owner
/// that has run the chunk's steps can also hand over no rows, only a share of the products.
///
/// An owner that finishes declines the offers it finds; a taker that offers as it finishes sees the
/// step at T and withdraws its offer (`finish`, `take`), so that no taker waits for an answer that
/// never comes.
///
/// Results are the bits of the unshared pass: every row's products and gate math are the same
/// whichever thread computes them and whatever rows sit beside it (the blocks already differ with the
/// thread count, `recurrenceBlocks`), and a product's columns split between two threads are the
/// columns of the whole (`GEMMPieces`). Only the time changes: on a host where one core runs slower
/// for a while, the other no longer waits for it at the end of the pass (BENCHMARKS.md).
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
        /// The rows of a taken offer: first row << 32 | count; and the step the taker starts at.
        let handed = Atomic<Int>(0), handedFrom = Atomic<Int>(0)
        /// Whether the block still takes offers (the backward pass's close after one hand-over).
        let open = Atomic<Bool>(true)
        /// The backward pass's meeting after each chunk c of steps, once rows have been handed over:
        /// the owner's and the taker's progress, 2c + 1 when its steps of the chunk are done and
        /// 2c + 2 when its piece of the chunk's weight-gradient products is.
        let ownerPhase = Atomic<Int>(0), takerPhase = Atomic<Int>(0)

        init(start: Int, count: Int) {
            self.start = start
            rows = Atomic(count)
        }
    }

    let T: Int
    let blocks: [Block]
    /// Whether each block hands rows over once at most (the backward pass, whose owner and taker
    /// then meet after every chunk; a second taker would make the meeting one of three).
    let handsOverOnce: Bool
    private let claimed = Atomic<Int>(0)
    /// How many hand-overs there have been in this process, in all and in backward passes
    /// (`handsOverOnce`) (tests read them).
    static let handOvers = Atomic<Int>(0), onceHandOvers = Atomic<Int>(0)
    /// An owner with fewer rows than this keeps them.
    static let minimumRows = 8

    /// Called by every owner before each step, after publishing the step, with the block and its
    /// index (tests hold an owner back).
    nonisolated(unsafe) static var ownerStepHook: ((Block, Int) -> Void)?
    /// Called by every backward owner before it looks for an offer ahead of a chunk's products.
    nonisolated(unsafe) static var ownerProductHook: ((Block, Int) -> Void)?
    /// Called by a taker between reading a block's step and offering to take its rows.
    nonisolated(unsafe) static var takerOfferHook: ((Block) -> Void)?

    init(T: Int, blocks: [(start: Int, count: Int)], handsOverOnce: Bool = false) {
        self.T = T
        self.handsOverOnce = handsOverOnce
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
        guard s == from, rows >= RecurrentRowSharing.minimumRows, block.open.load(ordering: .relaxed) else {
            block.offer.store(3, ordering: .releasing)
            return nil
        }
        if handsOverOnce { block.open.store(false, ordering: .relaxed) }
        let kept = rows - rows / 2
        block.rows.store(kept, ordering: .relaxed)
        block.handed.store((block.start + kept) << 32 | (rows - kept), ordering: .relaxed)
        block.handedFrom.store(s, ordering: .relaxed)
        // Releasing: the rows' states up to step s - 1, and `handed`, are there when the taker sees it.
        block.offer.store(2, ordering: .releasing)
        return kept
    }

    /// Called by block `index`'s owner (of the backward pass) when it has run the steps of a chunk,
    /// the last of them `lastStep`, and before it adds the chunk's weight gradients: answers an open
    /// offer by handing over no rows, only a share of this chunk's and the later chunks' products
    /// (the taker starts at `lastStep`, with no rows to run). Returns whether it did.
    func answerBeforeProduct(_ index: Int, lastStep: Int) -> Bool {
        let block = blocks[index]
        RecurrentRowSharing.ownerProductHook?(block, index)
        guard handsOverOnce, block.offer.load(ordering: .acquiring) & 3 == 1, block.open.load(ordering: .relaxed) else { return false }
        block.open.store(false, ordering: .relaxed)
        block.handed.store((block.start + block.rows.load(ordering: .relaxed)) << 32, ordering: .relaxed)
        block.handedFrom.store(lastStep, ordering: .relaxed)
        block.offer.store(2, ordering: .releasing)
        return true
    }

    /// Called by block `index`'s owner when it has nothing left to share: declines an offer still open.
    func finish(_ index: Int) {
        let block = blocks[index]
        // Sequentially consistent, as `take`'s offer and its look at the step after it: a taker that
        // offers as this runs either has its offer seen here or sees the step at T and withdraws it.
        block.step.store(T, ordering: .sequentiallyConsistent)
        let offer = block.offer.load(ordering: .sequentiallyConsistent)
        if offer & 3 == 1 { _ = block.offer.compareExchange(expected: offer, desired: 3, ordering: .acquiringAndReleasing) }
    }

    /// Rows of another block (`block`, its index) to run from step `from` to the end, once their
    /// owner has handed them over, or nil when no block has rows to share: offered to the block
    /// with the most rows times steps left (at least two steps after the offer; with
    /// `handsOverOnce`, any block not finished, whose owner may share its products only).
    func take() -> (block: Int, start: Int, count: Int, from: Int)? {
        var spins = 0
        while true {
            var chosen: (block: Int, step: Int, work: Int)? = nil, starting = false
            for (index, block) in blocks.enumerated()
            where block.offer.load(ordering: .acquiring) == 0 && block.open.load(ordering: .relaxed) {
                let (s, rows) = (block.step.load(ordering: .acquiring), block.rows.load(ordering: .relaxed))
                guard handsOverOnce || rows >= RecurrentRowSharing.minimumRows else { continue }
                starting = starting || s < 0   // claimed, not begun: wait for its first step
                let worth = handsOverOnce ? s < T : T - s >= 3
                if s >= 0, worth, (T - s) * rows > chosen?.work ?? 0 { chosen = (index, s, (T - s) * rows) }
            }
            guard let (index, s, _) = chosen else {
                if starting { RecurrentRowSharing.pause(&spins); continue }
                return nil
            }
            let block = blocks[index], offer = 1 | (s + 1) << 2
            RecurrentRowSharing.takerOfferHook?(block)
            guard block.offer.compareExchange(expected: 0, desired: offer, ordering: .sequentiallyConsistent).exchanged else { continue }
            // An owner that has finished since the step was read may have looked for offers before
            // this one arrived and will not look again: withdraw it (unless declined meanwhile).
            if block.step.load(ordering: .sequentiallyConsistent) == T,
               block.offer.compareExchange(expected: offer, desired: 0, ordering: .relaxed).exchanged { continue }
            // The owner answers before its next step, or when it finishes.
            var answer = offer
            while answer == offer {
                RecurrentRowSharing.pause(&spins)
                answer = block.offer.load(ordering: .acquiring)
            }
            let handed = block.handed.load(ordering: .relaxed), from = block.handedFrom.load(ordering: .relaxed)
            block.offer.store(0, ordering: .relaxed)   // the block may be offered again
            if answer == 2 {
                RecurrentRowSharing.handOvers.wrappingAdd(1, ordering: .relaxed)
                if handsOverOnce { RecurrentRowSharing.onceHandOvers.wrappingAdd(1, ordering: .relaxed) }
                return (index, handed >> 32, handed & 0xFFFF_FFFF, from)
            }
        }
    }

    /// The backward pass's meeting: block `index`'s owner or taker (`asTaker`) has reached `phase`
    /// (`ownerPhase`'s); returns when the other has too.
    func meet(_ index: Int, asTaker: Bool, phase: Int) {
        let block = blocks[index]
        if asTaker { block.takerPhase.store(phase, ordering: .releasing) } else { block.ownerPhase.store(phase, ordering: .releasing) }
        var spins = 0
        while (asTaker ? block.ownerPhase.load(ordering: .acquiring) : block.takerPhase.load(ordering: .acquiring)) < phase {
            RecurrentRowSharing.pause(&spins)
        }
    }

    /// A pause in a wait for an owner: with more threads than free cores the owner may need this
    /// core, so every 1024th pause gives it up.
    static func pause(_ spins: inout Int) {
        spins += 1
        if spins & 1023 == 0 { sched_yield() } else { spinPause() }
    }
}
