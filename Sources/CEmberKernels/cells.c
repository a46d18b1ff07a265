// Fused recurrent-cell steps, and the RNN sequence kernel, for float with run-time choice of
// instruction set (see cells_template.h and rnn_sequence_template.h).
#include "CEmberKernels.h"
#include "dispatch.h"
#include <stdlib.h>

// The step kernels (cells_template.h) and the RNN sequence kernel (rnn_sequence_template.h), per
// level. The step kernels come twice on AVX2 and in the portable build: with vectors of one
// register, and with vectors of two (64 and 32 bytes, the `_pair` kernels), which run when every
// vector of a row is whole (H a multiple of their lanes). In pairs, every operation is two
// independent instructions, and the long dependent chains of exp and tanh (about 130 cycles from
// a gate's pre-activation to h, a division on each) run two at a time, where with one register per
// vector the core waited on them: LSTM forward 21 % and GRU forward 17 % faster on AVX2. A row's
// last, partial vector is slow in pairs (lane by lane through a vector wider than the registers),
// hence the choice by H. Both give the same bits: each lane's operations are unchanged
// (BENCHMARKS.md). AVX-512, whose exp is shorter (vscalefps) and which has 32 registers, gained
// nothing from pairs and keeps one; so does the sequence kernel, whose register tiles are sized
// for one.
#pragma clang diagnostic push
// Vectors wider than the target's registers, passed between helpers that are all inlined.
#pragma clang diagnostic ignored "-Wpsabi"

#define VATTR
#define VB 16
#define VNAME(x) cell_##x##_portable
#include "cells_template.h"
#undef VNAME
#define VNAME(x) seq_##x##_portable
#include "rnn_sequence_template.h"
#undef VB
#undef VNAME
#define VB 32
#define VNAME(x) cell_##x##_portable_pair
#include "cells_template.h"
#undef VB
#undef VATTR
#undef VNAME

#if defined(__x86_64__)
#define VATTR __attribute__((target("avx2,fma")))
#define VB 32
#define VNAME(x) cell_##x##_avx2
#include "cells_template.h"
#undef VNAME
#define VNAME(x) seq_##x##_avx2
#include "rnn_sequence_template.h"
#undef VB
#undef VNAME
#define VB 64
#define VNAME(x) cell_##x##_avx2_pair
#include "cells_template.h"
#undef VB
#undef VATTR
#undef VNAME

#define VB 64
#define VSCALEF
#define VATTR __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
#define VNAME(x) cell_##x##_avx512
#include "cells_template.h"
#undef VNAME
#define VNAME(x) seq_##x##_avx512
#include "rnn_sequence_template.h"
#undef VB
#undef VSCALEF
#undef VATTR
#undef VNAME
#endif
#pragma clang diagnostic pop

// A level's kernel in pairs when H is a multiple of the pair's lanes, else in single registers.
#define CELL_PAIR_OR_SINGLE(FN, LEVEL, LANES, H, ...)                                               \
    ((H) % (LANES) == 0 ? cell_##FN##_##LEVEL##_pair(__VA_ARGS__) : cell_##FN##_##LEVEL(__VA_ARGS__))
#define CELL_DISPATCH(level, FN, H, ...)                                                           \
    EMBER_DISPATCH(level, CELL_PAIR_OR_SINGLE(FN, portable, 8, H, __VA_ARGS__),                    \
                   CELL_PAIR_OR_SINGLE(FN, avx2, 16, H, __VA_ARGS__), cell_##FN##_avx512(__VA_ARGS__));

void ember_lstm_forward_f(ember_kernel_level level, long n, long H, const float *xw, const float *bih,
                          const float *gh, const float *bhh, const float *cPrev, float *gates,
                          float *c, float *h, int streamed) {
    CELL_DISPATCH(level, lstm_forward, H, n, H, xw, bih, gh, bhh, cPrev, gates, c, h, streamed)
}

void ember_lstm_backward_f(ember_kernel_level level, long n, long H, const float *dh,
                           const float *out, long outStride, const float *gates, const float *c,
                           const float *cPrev, float *dc, float *dz) {
    CELL_DISPATCH(level, lstm_backward, H, n, H, dh, out, outStride, gates, c, cPrev, dc, dz)
}

void ember_gru_forward_f(ember_kernel_level level, long n, long H, const float *xw, const float *bih,
                         const float *gh, const float *bhh, const float *hPrev, float *gates,
                         float *hn, float *h, int streamed) {
    CELL_DISPATCH(level, gru_forward, H, n, H, xw, bih, gh, bhh, hPrev, gates, hn, h, streamed)
}

void ember_gru_backward_f(ember_kernel_level level, long n, long H, const float *dh,
                          const float *out, long outStride, const float *gates, const float *hn,
                          const float *hPrev, float *dzx, float *dzh, float *direct) {
    CELL_DISPATCH(level, gru_backward, H, n, H, dh, out, outStride, gates, hn, hPrev, dzx, dzh, direct)
}

void ember_rnn_backward_f(ember_kernel_level level, int relu, long n, long H, const float *dh,
                          const float *out, long outStride, const float *h, float *dz) {
    CELL_DISPATCH(level, rnn_backward, H, relu, n, H, dh, out, outStride, h, dz)
}

void ember_rnn_forward_f(ember_kernel_level level, int relu, long n, long H, float *y, long ldy,
                         const float *gh, const float *bih, const float *bhh) {
    CELL_DISPATCH(level, rnn_forward, H, relu, n, H, y, ldy, gh, bih, bhh)
}

int ember_rnn_sequence_f(ember_kernel_level level, int relu, long n, long T, long I, long H,
                         const float *x, long ldxb, long ldxt, const float *wih, const float *whh,
                         const float *bih, const float *bhh, const float *h0, float *y, long ldyb,
                         long ldyt) {
    // The kernel forms each product as one chain; the GEMM splits K past its block size.
    long kc = ember_sgemm_k_block(level);
    if (I > kc || H > kc || I <= 0 || H <= 0) return 0;
    if (n <= 0 || T <= 0) return 1;
    // The weights transposed ([I, HP] and [H, HP]), columns padded with zeros to whole tiles, in
    // a grow-only buffer per thread (a few KiB; remade per call, as the weights may have changed).
    static _Thread_local float *scratch = NULL;
    static _Thread_local size_t scratchCount = 0;
    long HP = (H + 31) / 32 * 32;
    size_t count = (size_t)(I + H) * (size_t)HP;
    if (scratchCount < count) {
        free(scratch);
        scratch = malloc(count * sizeof(float));
        scratchCount = scratch ? count : 0;
        if (!scratch) abort();   // as the GEMM's packing buffers: a few KiB not available
    }
    float *wihT = scratch, *whhT = scratch + I * HP;
    for (long p = 0; p < I; p++)
        for (long j = 0; j < HP; j++) wihT[p * HP + j] = j < H ? wih[j * I + p] : 0;
    for (long p = 0; p < H; p++)
        for (long j = 0; j < HP; j++) whhT[p * HP + j] = j < H ? whh[j * H + p] : 0;
    EMBER_DISPATCH(level, seq_rnn_sequence_portable(relu, n, T, I, H, HP, x, ldxb, ldxt, wihT, whhT, bih, bhh, h0, y, ldyb, ldyt),
                   seq_rnn_sequence_avx2(relu, n, T, I, H, HP, x, ldxb, ldxt, wihT, whhT, bih, bhh, h0, y, ldyb, ldyt),
                   seq_rnn_sequence_avx512(relu, n, T, I, H, HP, x, ldxb, ldxt, wihT, whhT, bih, bhh, h0, y, ldyb, ldyt));
    return 1;
}
