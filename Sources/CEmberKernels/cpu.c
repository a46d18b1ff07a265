// Run-time CPU detection and the choice of kernel level.
#include "CEmberKernels.h"
#include "dispatch.h"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static ember_kernel_level detect_level(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return EMBER_KERNEL_PORTABLE;
    int fma = (ecx >> 12) & 1, osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
    if (!(fma && osxsave && avx)) return EMBER_KERNEL_PORTABLE;
    unsigned long long xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6) return EMBER_KERNEL_PORTABLE; // XMM and YMM state saved by the OS
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return EMBER_KERNEL_PORTABLE;
    int avx2 = (ebx >> 5) & 1, avx512f = (ebx >> 16) & 1, avx512vl = (ebx >> 31) & 1;
    if (!avx2) return EMBER_KERNEL_PORTABLE;
    if (avx512f && avx512vl && (xcr0 & 0xE0) == 0xE0) return EMBER_KERNEL_AVX512; // opmask, ZMM state
    return EMBER_KERNEL_AVX2;
}
#else
static ember_kernel_level detect_level(void) { return EMBER_KERNEL_PORTABLE; }
#endif

static atomic_int current_level = -1;

ember_kernel_level ember_kernel_best_level(void) {
    static atomic_int best = -1;
    int value = atomic_load_explicit(&best, memory_order_relaxed);
    if (value < 0) {
        value = (int)detect_level();
        atomic_store_explicit(&best, value, memory_order_relaxed);
    }
    return (ember_kernel_level)value;
}

ember_kernel_level ember_kernel_usable_level(ember_kernel_level requested) {
    ember_kernel_level best = ember_kernel_best_level();
    if ((int)requested > (int)best) return best;
    if ((int)requested < 0) return EMBER_KERNEL_PORTABLE;
    return requested;
}

ember_kernel_level ember_kernel_set_level(ember_kernel_level level) {
    level = ember_kernel_usable_level(level);
    atomic_store_explicit(&current_level, (int)level, memory_order_relaxed);
    return level;
}

static const char *level_name(ember_kernel_level level) {
    switch (level) {
    case EMBER_KERNEL_AVX512: return "avx512";
    case EMBER_KERNEL_AVX2: return "avx2";
    default: return "portable";
    }
}

ember_kernel_level ember_kernel_choose(const char *requested, ember_kernel_level best, char *note, size_t note_size) {
    if (note && note_size > 0) note[0] = 0;
    if (!requested || !requested[0]) return best;
    ember_kernel_level wanted;
    if (strcmp(requested, "portable") == 0) wanted = EMBER_KERNEL_PORTABLE;
    else if (strcmp(requested, "avx2") == 0) wanted = EMBER_KERNEL_AVX2;
    else if (strcmp(requested, "avx512") == 0) wanted = EMBER_KERNEL_AVX512;
    else {
        if (note && note_size > 0)
            snprintf(note, note_size, "ember: EMBER_KERNEL=%.40s%s is not one of portable, avx2, avx512; ignored, using %s",
                     requested, strlen(requested) > 40 ? "..." : "", level_name(best));
        return best;
    }
    if ((int)wanted <= (int)best) return wanted;
    if (note && note_size > 0)
        snprintf(note, note_size, "ember: EMBER_KERNEL=%s asks for %s, which this CPU lacks; using %s", requested,
                 wanted == EMBER_KERNEL_AVX512 ? "AVX-512" : "AVX2", level_name(best));
    return best;
}

ember_kernel_level ember_kernel_level_in_use(void) {
    int value = atomic_load_explicit(&current_level, memory_order_relaxed);
    if (value >= 0) return (ember_kernel_level)value;
    char note[160];
    ember_kernel_level level = ember_kernel_choose(getenv("EMBER_KERNEL"), ember_kernel_best_level(), note, sizeof note);
    // Threads may get here together on the first use; the note is printed once.
    static atomic_int noted = 0;
    if (note[0] && !atomic_exchange(&noted, 1)) fprintf(stderr, "%s\n", note);
    return ember_kernel_set_level(level);
}

// MARK: - FMA peak probe

// 12 independent accumulator chains hide the FMA latency (4 cycles, 2 ports => 8 in flight needed).
#define EMBER_PROBE_BODY(VB, ATTR, NAME, FMA)                                                       \
    ATTR static double NAME(long iterations, float *sink) {                                        \
        typedef float vec __attribute__((vector_size(VB)));                                        \
        vec acc[12];                                                                                \
        for (int i = 0; i < 12; i++) acc[i] = (vec){0} + (float)(i + 1) * 1e-3f;                   \
        vec m = (vec){0} + 0.999999f, a = (vec){0} + 1e-7f;                                        \
        for (long it = 0; it < iterations; it++) {                                                  \
            for (int i = 0; i < 12; i++) FMA;                                                       \
            __asm__ volatile("" : "+x"(m));                                                         \
        }                                                                                           \
        float total = 0;                                                                            \
        for (int i = 0; i < 12; i++)                                                                \
            for (int l = 0; l < (int)(VB / sizeof(float)); l++) total += acc[i][l];                \
        *sink = total;                                                                              \
        return (double)iterations * 12.0 * (double)(VB / sizeof(float)) * 2.0;                     \
    }

EMBER_PROBE_BODY(16, , probe_portable, acc[i] = acc[i] * m + a)
#if defined(__x86_64__)
EMBER_PROBE_BODY(32, __attribute__((target("avx2,fma"))), probe_avx2,
                 acc[i] = __builtin_elementwise_fma(acc[i], m, a))
EMBER_PROBE_BODY(64, __attribute__((target("avx512f,avx512vl,avx2,fma"))), probe_avx512,
                 acc[i] = __builtin_elementwise_fma(acc[i], m, a))
#endif

double ember_fma_peak_probe(long iterations, float *sink) {
    EMBER_DISPATCH(ember_kernel_level_in_use(), return probe_portable(iterations, sink),
                   return probe_avx2(iterations, sink), return probe_avx512(iterations, sink));
    return 0;
}
