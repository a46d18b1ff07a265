// Fused elementwise math of one recurrent time step (LSTM, GRU, tanh/ReLU RNN) over a block of rows,
// instantiated per instruction set by cells.c. The gate pre-activations come from GEMMs; these
// kernels do everything between them in one pass over the row, vector by vector.
//
// Floating-point contraction is off inside them, so each value is computed by exactly the
// operations, in exactly the order, of Ember's plain (Swift) step code; sigmoid and tanh are the
// same vector functions ember_vsigmoidf and ember_vtanhf use. Results are therefore bitwise those of
// the plain path at the same kernel level.
// Parameters: VB (vector bytes), VATTR (function attributes), VNAME(x) (name suffixing).
#include "vmath_functions.h"

// The first `w` lanes of p (the rest zero); `w` is VLANES except at a row's end.
static inline VATTR VF VNAME(load)(const float *p, long w) {
    if (w == VLANES) return *(const VFU *)p;
    VF v = {0};
    for (long j = 0; j < w; j++) v[j] = p[j];
    return v;
}

static inline VATTR void VNAME(store)(float *p, VF v, long w) {
    if (w == VLANES) {
        *(VFU *)p = v;
        return;
    }
    for (long j = 0; j < w; j++) p[j] = v[j];
}

// p[j ..< j+w], plus bias[j ..< j+w] when there is a bias: the values a separate pass adding the
// bias row would have left in p. (No bias adds nothing, not zero, which would turn -0 into +0.)
static inline VATTR VF VNAME(biased)(const float *p, const float *bias, long j, long w) {
    VF v = VNAME(load)(p + j, w);
    return bias ? v + VNAME(load)(bias + j, w) : v;
}

// max(x, 0) with NaN kept (torch.relu): 0 where x <= 0 (-0 included: +0), else x.
static inline VATTR VF VNAME(relu)(VF x) { return VNAME(blend)(x <= 0.0f, VNAME(splat)(0.0f), x); }

#define VLOAD(p) VNAME(load)((p), w)
#define VBIASED(p, bias, k) VNAME(biased)((p), (bias), (k) + j, w)
#define VSTORE(p, v) VNAME(store)((p), (v), w)
// Runs the body (the macro's last argument) for a row of H values a vector at a time, `j` being the
// first column and `w` the vector's width: the whole vectors with `w` the constant VLANES, so that
// their loads and stores are plain vector moves, then the partial one at the row's end, if any.
// (With `w` variable in one loop, the compiler branched around every load and spilled registers;
// the measurement is in BENCHMARKS.md.)
#define VROW(H, ...)                                                                                \
    {                                                                                               \
        long j = 0;                                                                                 \
        for (const long w = VLANES; j + VLANES <= (H); j += VLANES) __VA_ARGS__                     \
        if (j < (H)) {                                                                              \
            const long w = (H) - j;                                                                 \
            __VA_ARGS__                                                                             \
        }                                                                                           \
    }

static VATTR void VNAME(lstm_forward)(long n, long H, const float *xw, const float *bih,
                                      const float *gh, const float *bhh, const float *cPrev,
                                      float *gates, float *c, float *h) {
#pragma clang fp contract(off)
    for (long b = 0; b < n; b++) {
        const float *x = xw + b * 4 * H, *hh = gh + b * 4 * H, *cp = cPrev + b * H;
        float *g = gates + b * 4 * H, *cb = c + b * H, *hb = h + b * H;
        VROW(H, {
            VF i = VNAME(sigmoid)(VBIASED(x, bih, 0) + VBIASED(hh, bhh, 0));
            VF f = VNAME(sigmoid)(VBIASED(x, bih, H) + VBIASED(hh, bhh, H));
            VF gg = VNAME(tanh)(VBIASED(x, bih, 2 * H) + VBIASED(hh, bhh, 2 * H));
            VF o = VNAME(sigmoid)(VBIASED(x, bih, 3 * H) + VBIASED(hh, bhh, 3 * H));
            VF cv = f * VLOAD(cp + j) + i * gg;
            VF t = VNAME(tanh)(cv);
            VSTORE(g + j, i);
            VSTORE(g + H + j, f);
            VSTORE(g + 2 * H + j, gg);
            VSTORE(g + 3 * H + j, o);
            VSTORE(cb + j, cv);
            VSTORE(hb + j, o * t);
        })
    }
}

static VATTR void VNAME(lstm_backward)(long n, long H, const float *dh, const float *out,
                                       long outStride, const float *gates, const float *c,
                                       const float *cPrev, float *dc, float *dz) {
#pragma clang fp contract(off)
    for (long b = 0; b < n; b++) {
        const float *dhb = dh + b * H, *ob = out + b * outStride, *g = gates + b * 4 * H;
        const float *cb = c + b * H, *cp = cPrev + b * H;
        float *dcb = dc + b * H, *z = dz + b * 4 * H;
        VROW(H, {
            VF dht = VLOAD(dhb + j) + VLOAD(ob + j);
            VF i = VLOAD(g + j), f = VLOAD(g + H + j), gg = VLOAD(g + 2 * H + j), o = VLOAD(g + 3 * H + j);
            VF t = VNAME(tanh)(VLOAD(cb + j));   // what the forward step computed, recomputed rather than stored
            VF dct = VLOAD(dcb + j) + dht * o * (1.0f - t * t);
            VSTORE(z + j, dct * gg * i * (1.0f - i));
            VSTORE(z + H + j, dct * VLOAD(cp + j) * f * (1.0f - f));
            VSTORE(z + 2 * H + j, dct * i * (1.0f - gg * gg));
            VSTORE(z + 3 * H + j, dht * t * o * (1.0f - o));
            VSTORE(dcb + j, dct * f);
        })
    }
}

static VATTR void VNAME(gru_forward)(long n, long H, const float *xw, const float *bih,
                                     const float *gh, const float *bhh, const float *hPrev,
                                     float *gates, float *hn, float *h) {
#pragma clang fp contract(off)
    for (long b = 0; b < n; b++) {
        const float *x = xw + b * 3 * H, *hh = gh + b * 3 * H, *hp = hPrev + b * H;
        float *g = gates + b * 3 * H, *nb = hn + b * H, *hb = h + b * H;
        VROW(H, {
            VF r = VNAME(sigmoid)(VBIASED(x, bih, 0) + VBIASED(hh, bhh, 0));
            VF z = VNAME(sigmoid)(VBIASED(x, bih, H) + VBIASED(hh, bhh, H));
            VF hnv = VBIASED(hh, bhh, 2 * H);
            VF nv = VNAME(tanh)(VBIASED(x, bih, 2 * H) + r * hnv);
            VSTORE(g + j, r);
            VSTORE(g + H + j, z);
            VSTORE(g + 2 * H + j, nv);
            VSTORE(nb + j, hnv);
            VSTORE(hb + j, (1.0f - z) * nv + z * VLOAD(hp + j));
        })
    }
}

static VATTR void VNAME(gru_backward)(long n, long H, const float *dh, const float *out,
                                      long outStride, const float *gates, const float *hn,
                                      const float *hPrev, float *dzx, float *dzh, float *direct) {
#pragma clang fp contract(off)
    for (long b = 0; b < n; b++) {
        const float *dhb = dh + b * H, *ob = out + b * outStride, *g = gates + b * 3 * H;
        const float *nb = hn + b * H, *hp = hPrev + b * H;
        float *zx = dzx + b * 3 * H, *zh = dzh + b * 3 * H, *dir = direct + b * H;
        VROW(H, {
            VF dht = VLOAD(dhb + j) + VLOAD(ob + j);
            VF r = VLOAD(g + j), z = VLOAD(g + H + j), nv = VLOAD(g + 2 * H + j);
            VF dnPre = dht * (1.0f - z) * (1.0f - nv * nv);
            VF dr = dnPre * VLOAD(nb + j) * r * (1.0f - r);
            VF dzv = dht * (VLOAD(hp + j) - nv) * z * (1.0f - z);
            VSTORE(zx + j, dr);
            VSTORE(zx + H + j, dzv);
            VSTORE(zx + 2 * H + j, dnPre);
            VSTORE(zh + j, dr);
            VSTORE(zh + H + j, dzv);
            VSTORE(zh + 2 * H + j, dnPre * r);
            VSTORE(dir + j, dht * z);
        })
    }
}

static VATTR void VNAME(rnn_backward)(int relu, long n, long H, const float *dh, const float *out,
                                      long outStride, const float *h, float *dz) {
#pragma clang fp contract(off)
    for (long b = 0; b < n; b++) {
        const float *dhb = dh + b * H, *ob = out + b * outStride, *hb = h + b * H;
        float *z = dz + b * H;
        VROW(H, {
            VF d = VLOAD(dhb + j) + VLOAD(ob + j);
            VF hv = VLOAD(hb + j);
            // 0 where h <= 0, else d: the gradient passes where h is NaN (threshold_backward).
            if (relu) VSTORE(z + j, VNAME(blend)(hv <= 0.0f, VNAME(splat)(0.0f), d));
            else VSTORE(z + j, d * (1.0f - hv * hv));
        })
    }
}

// One evaluation step of a tanh (relu = 0) or ReLU RNN over rows `ldy` apart, in place: y holds
// x·W_ihᵀ on entry and leaves as act((y + bih) + (gh + bhh)), a NULL bias being left out. These
// are the additions of the recording path's input projection, hidden projection and step, in its
// order, so the values are its bits.
static VATTR void VNAME(rnn_forward)(int relu, long n, long H, float *y, long ldy, const float *gh,
                                     const float *bih, const float *bhh) {
#pragma clang fp contract(off)
    for (long b = 0; b < n; b++) {
        float *yb = y + b * ldy;
        const float *g = gh + b * H;
        VROW(H, {
            VF x = VLOAD(yb + j);
            if (bih) x = x + VLOAD(bih + j);
            VF hh = VLOAD(g + j);
            if (bhh) hh = hh + VLOAD(bhh + j);
            VF v = x + hh;
            VSTORE(yb + j, relu ? VNAME(relu)(v) : VNAME(tanh)(v));
        })
    }
}

// MARK: - A one-layer tanh/ReLU RNN evaluated over the whole sequence

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
#undef VLOAD
#undef VSTORE
#undef VROW
#undef VF
#undef VI
#undef VFU
#undef VLANES
