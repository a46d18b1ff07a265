// GEMM for Ember: packed, cache-blocked, register-blocked, vectorised; one instantiation of
// gemm_template.h per element type and instruction set, chosen at run time.
#include "CEmberKernels.h"
#include <stdlib.h>
#include <string.h>

// `acc += scalar * vector`: clang contracts this into an FMA where the target has one
// (-ffp-contract=on is its default for C), and the scalar is splatted without extra instructions.
#define EMBER_PORTABLE_FMA(acc, a, b) ((acc) += (a) * (b))
#define EMBER_FUSED_FMA(acc, a, b) ((acc) += (a) * (b))

// MARK: - Portable (baseline target: SSE2 on x86-64, NEON on arm64)

#define GT float
#define GVB 16
#define GMR 6
#define GNV 2
#define GKC 256
#define GMC 120
#define GNC 2048
#define GATTR
#define GFMA EMBER_PORTABLE_FMA
#define GNAME sgemm_portable
#include "gemm_template.h"

#define GT double
#define GVB 16
#define GMR 6
#define GNV 2
#define GKC 256
#define GMC 120
#define GNC 1024
#define GATTR
#define GFMA EMBER_PORTABLE_FMA
#define GNAME dgemm_portable
#include "gemm_template.h"

#if defined(__x86_64__)

// MARK: - AVX2 + FMA

#define GT float
#define GVB 32
#define GMR 6
#define GNV 2
#define GKC 256
#define GMC 120
#define GNC 2048
#define GATTR __attribute__((target("avx2,fma")))
#define GFMA EMBER_FUSED_FMA
#define GNAME sgemm_avx2
#include "gemm_template.h"

#define GT double
#define GVB 32
#define GMR 6
#define GNV 2
#define GKC 256
#define GMC 120
#define GNC 1024
#define GATTR __attribute__((target("avx2,fma")))
#define GFMA EMBER_FUSED_FMA
#define GNAME dgemm_avx2
#include "gemm_template.h"

// MARK: - AVX-512

#define GT float
#define GVB 64
#define GMR 12
#define GNV 2
#define GKC 256
#define GMC 192
#define GNC 2048
#define GATTR __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define GFMA EMBER_FUSED_FMA
#define GNAME sgemm_avx512
#include "gemm_template.h"

#define GT double
#define GVB 64
#define GMR 12
#define GNV 2
#define GKC 256
#define GMC 192
#define GNC 1024
#define GATTR __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define GFMA EMBER_FUSED_FMA
#define GNAME dgemm_avx512
#include "gemm_template.h"

#endif

// MARK: - Packing buffers

// Grow-only, 64-byte aligned scratch per thread, so a GEMM call allocates nothing in the steady state.
typedef struct {
    void *pointer;
    size_t bytes;
} ember_scratch;

static _Thread_local ember_scratch scratchA, scratchB;

static void *scratch_reserve(ember_scratch *s, size_t bytes) {
    if (s->bytes < bytes) {
        free(s->pointer);
        s->pointer = NULL;
        s->bytes = 0;
        void *p = NULL;
        if (posix_memalign(&p, 64, bytes) != 0) return NULL;
        s->pointer = p;
        s->bytes = bytes;
    }
    return s->pointer;
}

// MARK: - Public entry points

#define EMBER_GEMM_ENTRY(NAME, T, PORTABLE, AVX2, AVX512)                                          \
    void NAME(int transA, int transB, long M, long N, long K, T alpha, const T *A, long lda,        \
              const T *B, long ldb, T beta, T *C, long ldc) {                                       \
        NAME##_at_level(ember_kernel_level_in_use(), transA, transB, M, N, K, alpha, A, lda, B,     \
                        ldb, beta, C, ldc);                                                         \
    }                                                                                               \
    void NAME##_at_level(ember_kernel_level requested, int transA, int transB, long M, long N,      \
                         long K, T alpha, const T *A, long lda, const T *B, long ldb, T beta, T *C, \
                         long ldc) {                                                                \
        if (M <= 0 || N <= 0) return;                                                               \
        if (beta == 0) {                                                                            \
            for (long i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof(T));             \
        } else if (beta != 1) {                                                                     \
            for (long i = 0; i < M; i++)                                                            \
                for (long j = 0; j < N; j++) C[i * ldc + j] *= beta;                                \
        }                                                                                           \
        if (K <= 0 || alpha == 0) return;                                                           \
        if (M * N * K <= 512) { /* tiny: packing would cost more than the product */              \
            for (long i = 0; i < M; i++)                                                            \
                for (long p = 0; p < K; p++) {                                                      \
                    T a = alpha * (transA ? A[p * lda + i] : A[i * lda + p]);                       \
                    for (long j = 0; j < N; j++) C[i * ldc + j] += a * (transB ? B[j * ldb + p] : B[p * ldb + j]); \
                }                                                                                   \
            return;                                                                                 \
        }                                                                                           \
        ember_kernel_level level = requested > ember_kernel_best_level() ? ember_kernel_best_level() \
                                                                         : requested;               \
        long sizeA = PORTABLE##_packedASize, sizeB = PORTABLE##_packedBSize;                        \
        EMBER_GEMM_SIZES(AVX2, AVX512)                                                              \
        T *pa = scratch_reserve(&scratchA, (size_t)sizeA * sizeof(T));                              \
        T *pb = scratch_reserve(&scratchB, (size_t)sizeB * sizeof(T));                              \
        if (!pa || !pb) abort();                                                                    \
        EMBER_GEMM_DISPATCH(AVX2, AVX512)                                                           \
        PORTABLE(transA, transB, M, N, K, alpha, A, lda, B, ldb, 1, C, ldc, pa, pb);                \
    }

#if defined(__x86_64__)
#define EMBER_GEMM_SIZES(AVX2, AVX512)                                                              \
    if (AVX512##_packedASize > sizeA) sizeA = AVX512##_packedASize;                                 \
    if (AVX512##_packedBSize > sizeB) sizeB = AVX512##_packedBSize;                                 \
    if (AVX2##_packedASize > sizeA) sizeA = AVX2##_packedASize;                                     \
    if (AVX2##_packedBSize > sizeB) sizeB = AVX2##_packedBSize;
#define EMBER_GEMM_DISPATCH(AVX2, AVX512)                                                           \
    if (level == EMBER_KERNEL_AVX512) {                                                             \
        AVX512(transA, transB, M, N, K, alpha, A, lda, B, ldb, 1, C, ldc, pa, pb);                  \
        return;                                                                                     \
    }                                                                                               \
    if (level == EMBER_KERNEL_AVX2) {                                                               \
        AVX2(transA, transB, M, N, K, alpha, A, lda, B, ldb, 1, C, ldc, pa, pb);                    \
        return;                                                                                     \
    }
#else
#define EMBER_GEMM_SIZES(AVX2, AVX512) (void)level;
#define EMBER_GEMM_DISPATCH(AVX2, AVX512)
#endif

EMBER_GEMM_ENTRY(ember_sgemm, float, sgemm_portable, sgemm_avx2, sgemm_avx512)
EMBER_GEMM_ENTRY(ember_dgemm, double, dgemm_portable, dgemm_avx2, dgemm_avx512)
