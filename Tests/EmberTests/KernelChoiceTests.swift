import CEmberKernels
import Ember
import Testing

/// `EMBER_KERNEL` against what the CPU can do: `ember_kernel_choose` is the rule
/// `ember_kernel_level_in_use` follows on its first call, with the CPU's level passed in, so every
/// CPU can be tried on this one.
@Suite struct KernelChoiceTests {
    /// The level chosen and the note for stderr ("" when there is nothing to say).
    func choose(_ requested: String?, cpu: ember_kernel_level, noteSize: Int = 256) -> (level: ember_kernel_level, note: String) {
        var note = [CChar](repeating: 99, count: noteSize)
        let level = note.withUnsafeMutableBufferPointer { buffer in
            if let requested { ember_kernel_choose(requested, cpu, buffer.baseAddress, buffer.count) }
            else { ember_kernel_choose(nil, cpu, buffer.baseAddress, buffer.count) }
        }
        #expect(note.contains(0))                                   // always terminated within the buffer
        return (level, String(decoding: note.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    @Test func aLevelTheCPUHasIsUsedSilently() {
        let all = [EMBER_KERNEL_PORTABLE, EMBER_KERNEL_AVX2, EMBER_KERNEL_AVX512]
        for cpu in all {
            #expect(choose(nil, cpu: cpu) == (cpu, ""))            // not set
            #expect(choose("", cpu: cpu) == (cpu, ""))             // set to nothing: as not set
            for (name, level) in zip(["portable", "avx2", "avx512"], all) where level.rawValue <= cpu.rawValue {
                #expect(choose(name, cpu: cpu) == (level, ""), "\(name) on \(cpu)")
            }
        }
    }

    @Test func aLevelTheCPULacksFallsBackToTheBestItHasAndSaysSo() {
        #expect(choose("avx512", cpu: EMBER_KERNEL_AVX2)
                == (EMBER_KERNEL_AVX2, "ember: EMBER_KERNEL=avx512 asks for AVX-512, which this CPU lacks; using avx2"))
        #expect(choose("avx512", cpu: EMBER_KERNEL_PORTABLE)
                == (EMBER_KERNEL_PORTABLE, "ember: EMBER_KERNEL=avx512 asks for AVX-512, which this CPU lacks; using portable"))
        #expect(choose("avx2", cpu: EMBER_KERNEL_PORTABLE)
                == (EMBER_KERNEL_PORTABLE, "ember: EMBER_KERNEL=avx2 asks for AVX2, which this CPU lacks; using portable"))
    }

    @Test func anUnknownValueIsIgnoredAndSaysSo() {
        #expect(choose("foo", cpu: EMBER_KERNEL_AVX512)
                == (EMBER_KERNEL_AVX512, "ember: EMBER_KERNEL=foo is not one of portable, avx2, avx512; ignored, using avx512"))
        #expect(choose("AVX2", cpu: EMBER_KERNEL_AVX2)
                == (EMBER_KERNEL_AVX2, "ember: EMBER_KERNEL=AVX2 is not one of portable, avx2, avx512; ignored, using avx2"))
        let long = choose(String(repeating: "x", count: 100), cpu: EMBER_KERNEL_PORTABLE)
        #expect(long.level == EMBER_KERNEL_PORTABLE)
        #expect(long.note == "ember: EMBER_KERNEL=\(String(repeating: "x", count: 40))... is not one of portable, avx2, avx512; ignored, using portable")
        // A short buffer holds the start of the note; no buffer, just the level.
        #expect(choose("foo", cpu: EMBER_KERNEL_AVX2, noteSize: 8) == (EMBER_KERNEL_AVX2, "ember: "))
        #expect(ember_kernel_choose("avx512", EMBER_KERNEL_AVX2, nil, 0) == EMBER_KERNEL_AVX2)
    }

    @Test func theLevelInUseIsOneTheCPUHas() {
        #expect(KernelLevel.current.rawValue <= KernelLevel.best.rawValue)
    }
}
