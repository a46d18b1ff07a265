// A one-layer tanh/ReLU RNN evaluated over the whole sequence in one kernel, instantiated per
// instruction set by cells.c, with vectors of one register (its register tiles are sized for them).
// Parameters: VB (vector bytes), VATTR (function attributes), VNAME(x) (name suffixing), VSCALEF
// (see vmath_functions.h).
#include "cells_vector.h"

// acc + a·b, contracted into one fused multiply-add wherever the target has one: clang's default
// (-ffp-contract=on) applies here, outside the `contract(off)` of the kernels, so this is exactly
// how gemm_template.h's micro-kernel forms its sums at the same level.
static inline VATTR VF VNAME(madd)(VF acc, float a, VF b) { return acc + a * b; }

// Rows per tile of the sequence kernel: 2·RT accumulators, as many as the GEMM's micro-tile holds.
#define RT (VB == 64 ? 12 : 6)

// The products below form each element as one chain of multiply-adds from zero in the order of k,
// as the GEMM does when K fits one of its blocks. Columns [jp, jp + 2·VLANES) of H are done at a
// time; wT is a transposed weight matrix [K, HP], its columns padded with zeros to HP.
#define SEQ_PRODUCT(K, a, lda, wT)                                                                 \
    VF acc[RT][2];                                                                                 \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < rows; r++) acc[r][0] = acc[r][1] = (VF){0}; \
    for (long p = 0; p < (K); p++) {                                                               \
        VF b0 = *(const VFU *)((wT) + p * HP + jp), b1 = *(const VFU *)((wT) + p * HP + jp + VLANES); \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < rows; r++) {                        \
            float ar = (a)[r * (lda) + p];                                                         \
            acc[r][0] = VNAME(madd)(acc[r][0], ar, b0);                                            \
            acc[r][1] = VNAME(madd)(acc[r][1], ar, b1);                                            \
        }                                                                                          \
    }                                                                                              \
    long w0 = H - jp < VLANES ? H - jp : VLANES;                                                   \
    long w1 = H - jp - VLANES < VLANES ? H - jp - VLANES : VLANES; /* <= 0: no second vector */

// y = x·W_ihᵀ + bih for `rows` rows (a compile-time constant once inlined) of x and y, `ldx` and
// `ldy` apart: the input projection, stored as the recording path stores it.
static inline __attribute__((always_inline)) VATTR void VNAME(seqProject)(
    const int rows, long I, long H, long HP, long jp, const float *restrict x, long ldx,
    const float *restrict wihT, const float *bih, float *restrict y, long ldy) {
#pragma clang fp contract(off)
    SEQ_PRODUCT(I, x, ldx, wihT)
    _Pragma("clang loop unroll(full)") for (int r = 0; r < rows; r++) {
        float *yr = y + r * ldy + jp;
        VNAME(store)(yr, bih ? acc[r][0] + VNAME(load)(bih + jp, w0) : acc[r][0], w0);
        if (w1 > 0) VNAME(store)(yr + VLANES, bih ? acc[r][1] + VNAME(load)(bih + jp + VLANES, w1) : acc[r][1], w1);
    }
}

// y = act(y + (h·W_hhᵀ + bhh)) for `rows` rows: one step of the recurrence on the projection y
// holds. h == NULL means h_{-1} = 0 (the product is zero, as the recording path's zero state).
static inline __attribute__((always_inline)) VATTR void VNAME(seqStep)(
    const int rows, int relu, long H, long HP, long jp, const float *h, long ldh,
    const float *restrict whhT, const float *bhh, float *y, long ldy) {
#pragma clang fp contract(off)
    SEQ_PRODUCT(h ? H : 0, h, ldh, whhT)
    _Pragma("clang loop unroll(full)") for (int r = 0; r < rows; r++) {
        float *yr = y + r * ldy + jp;
        _Pragma("clang loop unroll(full)") for (int v = 0; v < 2; v++) {
            long w = v == 0 ? w0 : w1;
            if (w <= 0) continue;
            VF hh = bhh ? acc[r][v] + VNAME(load)(bhh + jp + v * VLANES, w) : acc[r][v];
            VF s = VNAME(load)(yr + v * VLANES, w) + hh;
            VNAME(store)(yr + v * VLANES, relu ? VNAME(relu)(s) : VNAME(tanh)(s), w);
        }
    }
}
#undef SEQ_PRODUCT

// Calls `call(k)` with k = rows as a constant, for 1 <= rows <= RT.
#define SEQ_ROWS(rows, call)                                                                       \
    switch (rows) {                                                                                \
    case 1: call(1); break; case 2: call(2); break; case 3: call(3); break;                        \
    case 4: call(4); break; case 5: call(5); break; case 6: call(6); break;                        \
    case 7: if (7 <= RT) call(7); break; case 8: if (8 <= RT) call(8); break;                      \
    case 9: if (9 <= RT) call(9); break; case 10: if (10 <= RT) call(10); break;                   \
    case 11: if (11 <= RT) call(11); break; case 12: if (12 <= RT) call(12); break;                \
    }

// The projection of `m` rows of x (`ldx` apart) into y (`ldy` apart), tile by tile.
static VATTR void VNAME(seqProjectRows)(long m, long I, long H, long HP, const float *x, long ldx,
                                        const float *wihT, const float *bih, float *y, long ldy) {
    for (long i = 0; i < m; i += RT) {
        long rows = m - i < RT ? m - i : RT;
        for (long jp = 0; jp < H; jp += 2 * VLANES) {
#define SEQ_PROJECT(k) VNAME(seqProject)(k, I, H, HP, jp, x + i * ldx, ldx, wihT, bih, y + i * ldy, ldy)
            SEQ_ROWS(rows, SEQ_PROJECT)
#undef SEQ_PROJECT
        }
    }
}

// A one-layer, one-direction tanh (relu = 0) or ReLU RNN over T steps for n rows, for evaluation.
// Tile by tile of rows: the tile's input projections for every step go into y (in the order the
// input lies in memory, so it streams), then each step's hidden product, addition and activation
// run in one pass over y, every h_t written where the next step reads it. Row (b, t) of x is at
// x + b·ldxb + t·ldxt, of y at y + b·ldyb + t·ldyt; h0 is [n, H] or NULL (zeros).
static VATTR void VNAME(rnn_sequence)(int relu, long n, long T, long I, long H, long HP,
                                      const float *x, long ldxb, long ldxt, const float *wihT,
                                      const float *whhT, const float *bih, const float *bhh,
                                      const float *h0, float *y, long ldyb, long ldyt) {
    // Batch-first, a tile's rows for every step are one run of rows·T rows, ldxt and ldyt apart.
    int contiguous = ldxb == T * ldxt && ldyb == T * ldyt;
    for (long b0 = 0; b0 < n; b0 += RT) {
        long rows = n - b0 < RT ? n - b0 : RT;
        const float *xt = x + b0 * ldxb;
        float *yt = y + b0 * ldyb;
        if (contiguous) VNAME(seqProjectRows)(rows * T, I, H, HP, xt, ldxt, wihT, bih, yt, ldyt);
        else for (long t = 0; t < T; t++) VNAME(seqProjectRows)(rows, I, H, HP, xt + t * ldxt, ldxb, wihT, bih, yt + t * ldyt, ldyb);
        for (long t = 0; t < T; t++) {
            const float *h = t > 0 ? yt + (t - 1) * ldyt : h0 ? h0 + b0 * H : NULL;
            long ldh = t > 0 ? ldyb : H;
            for (long jp = 0; jp < H; jp += 2 * VLANES) {
#define SEQ_STEP(k) VNAME(seqStep)(k, relu, H, HP, jp, h, ldh, whhT, bhh, yt + t * ldyt, ldyb)
                SEQ_ROWS(rows, SEQ_STEP)
#undef SEQ_STEP
            }
        }
    }
}

#undef SEQ_ROWS
#undef RT
#include "cells_vector_end.h"
