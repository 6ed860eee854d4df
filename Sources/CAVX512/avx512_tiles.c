#include "avx512_tiles.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,fma")))
#define INLINE static inline __attribute__((always_inline))

int llmq_cpu_has_avx512vnni(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

/// The exact Σ code·a of one sub-block for sixteen rows. `vpdpbusd` adds four u8×s8 products into
/// each Int32 lane without the 16-bit step (and its saturation limits) of AVX2's `vpmaddubsw`;
/// the activation word is broadcast from memory. Two chains hide the instruction's latency.
INLINE AVX512_VNNI __m512i dot(const __m512i w[8], const int32_t *a, __m512i start) {
    __m512i even = start, odd = _mm512_setzero_si512();
    for (int g = 0; g < 8; g += 2) {
        even = _mm512_dpbusd_epi32(even, w[g], _mm512_set1_epi32(a[g]));
        odd = _mm512_dpbusd_epi32(odd, w[g + 1], _mm512_set1_epi32(a[g + 1]));
    }
    return _mm512_add_epi32(even, odd);
}

/// T inputs from `first` against the sixteen rows. The codes kind is a constant in each caller.
INLINE AVX512_VNNI void tile(int T, const uint8_t *scratch, long sub_blocks, llmq_codes codes,
                             const llmq_activations *x, long first, float *y, long ldy) {
    const int halves = codes == llmq_codes_halves;
    const long factor_floats = halves ? 80 : 32;
    const float *factors = (const float *)(scratch + 512 * sub_blocks);
    __m512 acc[4];
    for (int u = 0; u < T; u++) acc[u] = _mm512_setzero_ps();
    for (long j = 0; j < sub_blocks; j++) {
        __m512i w[8];
        for (int g = 0; g < 8; g++) w[g] = _mm512_load_si512(scratch + 512 * j + 64 * g);
        const float *f = factors + factor_floats * j;
        const __m512 dw = _mm512_loadu_ps(f);
        // Unrolled, so the accumulators stay in registers.
        #pragma clang loop unroll(full)
        for (int u = 0; u < T; u++) {
            const long block = (first + u) * x->blocks_per_vector + j;
            const int32_t *a = (const int32_t *)(x->quants + 32 * block);
            __m512i product;
            if (halves) {
                // Each half's sum times its multiplier: what AVX2's `vpmaddwd` by the multipliers gives.
                __m512i low = _mm512_setzero_si512(), high = _mm512_setzero_si512();
                for (int g = 0; g < 4; g++) {
                    low = _mm512_dpbusd_epi32(low, w[g], _mm512_set1_epi32(a[g]));
                    high = _mm512_dpbusd_epi32(high, w[g + 4], _mm512_set1_epi32(a[g + 4]));
                }
                product = _mm512_add_epi32(_mm512_mullo_epi32(low, _mm512_loadu_si512(f + 48)),
                                           _mm512_mullo_epi32(high, _mm512_loadu_si512(f + 64)));
            } else {
                // Signed weights went in as w + 128: Σ(w + 128)·a − 128·Σa = Σw·a.
                const __m512i start = codes == llmq_codes_signed ? _mm512_set1_epi32(-128 * x->integer_sums[block])
                                                                 : _mm512_setzero_si512();
                product = dot(w, a, start);
            }
            acc[u] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(x->scales[block])), _mm512_cvtepi32_ps(product), acc[u]);
            if (codes != llmq_codes_signed) {
                const float *sums = halves ? x->low_sums : x->sums;
                acc[u] = _mm512_fmadd_ps(_mm512_loadu_ps(f + 16), _mm512_set1_ps(sums[block]), acc[u]);
                if (halves) acc[u] = _mm512_fmadd_ps(_mm512_loadu_ps(f + 32), _mm512_set1_ps(x->high_sums[block]), acc[u]);
            }
        }
    }
    for (int u = 0; u < T; u++) _mm512_storeu_ps(y + u * ldy, acc[u]);
}

INLINE AVX512_VNNI void multiply(const uint8_t *scratch, long sub_blocks, llmq_codes codes, const llmq_activations *x,
                                 long first, long end, float *y, long ldy) {
    long t = first;
    for (; t + 4 <= end; t += 4) tile(4, scratch, sub_blocks, codes, x, t, y + t * ldy, ldy);
    for (; t < end; t++) tile(1, scratch, sub_blocks, codes, x, t, y + t * ldy, ldy);
}

AVX512_VNNI void llmq_vnni_multiply(const void *scratch, long sub_blocks, llmq_codes codes, const llmq_activations *x,
                                    long first, long end, float *y, long ldy) {
    // One copy of the loops per kind, so the kind's branches fold away.
    switch (codes) {
    case llmq_codes_signed: multiply(scratch, sub_blocks, llmq_codes_signed, x, first, end, y, ldy); break;
    case llmq_codes_offset: multiply(scratch, sub_blocks, llmq_codes_offset, x, first, end, y, ldy); break;
    case llmq_codes_halves: multiply(scratch, sub_blocks, llmq_codes_halves, x, first, end, y, ldy); break;
    }
}

#endif

#if defined(__x86_64__)
#define AVX512_F __attribute__((target("avx512f,fma")))

/// R rows by T inputs over every column; lanes past `cols` are masked off at the end.
INLINE AVX512_F void f32_tile(int R, int T, const float *w, long row_floats, const float *x, long cols,
                              float *y, long ldy) {
    __m512 acc[4][6];
    #pragma clang loop unroll(full)
    for (int r = 0; r < R; r++) {
        #pragma clang loop unroll(full)
        for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    }
    long o = 0;
    for (; o + 16 <= cols; o += 16) {
        __m512 a[6];
        #pragma clang loop unroll(full)
        for (int t = 0; t < T; t++) a[t] = _mm512_loadu_ps(x + t * cols + o);
        #pragma clang loop unroll(full)
        for (int r = 0; r < R; r++) {
            const __m512 b = _mm512_loadu_ps(w + r * row_floats + o);
            #pragma clang loop unroll(full)
            for (int t = 0; t < T; t++) acc[r][t] = _mm512_fmadd_ps(b, a[t], acc[r][t]);
        }
    }
    if (o < cols) {
        const __mmask16 m = (__mmask16)((1u << (cols - o)) - 1);
        __m512 a[6];
        #pragma clang loop unroll(full)
        for (int t = 0; t < T; t++) a[t] = _mm512_maskz_loadu_ps(m, x + t * cols + o);
        #pragma clang loop unroll(full)
        for (int r = 0; r < R; r++) {
            const __m512 b = _mm512_maskz_loadu_ps(m, w + r * row_floats + o);
            #pragma clang loop unroll(full)
            for (int t = 0; t < T; t++) acc[r][t] = _mm512_fmadd_ps(b, a[t], acc[r][t]);
        }
    }
    #pragma clang loop unroll(full)
    for (int r = 0; r < R; r++) {
        #pragma clang loop unroll(full)
        for (int t = 0; t < T; t++) y[t * ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
    }
}

/// Every input for R rows, six at a time, then the rest one by one.
INLINE AVX512_F void f32_inputs(int R, const float *w, long row_floats, const float *x, long cols, long first, long end,
                                float *y, long ldy) {
    long t = first;
    for (; t + 6 <= end; t += 6) f32_tile(R, 6, w, row_floats, x + t * cols, cols, y + t * ldy, ldy);
    for (; t < end; t++) f32_tile(R, 1, w, row_floats, x + t * cols, cols, y + t * ldy, ldy);
}

AVX512_F void llmq_avx512_f32_rows(const float *w, long row_bytes, long rows, const float *x, long cols, long count,
                                   float *y, long ldy) {
    const long row_floats = row_bytes / 4;
    // About 512 KiB of inputs per panel, which stays in L2 while the rows pass over it.
    long panel = (1L << 19) / (cols * 4 > 0 ? cols * 4 : 1) / 6 * 6;
    if (panel < 6) panel = 6;
    for (long t0 = 0; t0 < count; t0 += panel) {
        const long t1 = t0 + panel < count ? t0 + panel : count;
        long r = 0;
        for (; r + 4 <= rows; r += 4) f32_inputs(4, w + r * row_floats, row_floats, x, cols, t0, t1, y + r, ldy);
        for (; r < rows; r++) f32_inputs(1, w + r * row_floats, row_floats, x, cols, t0, t1, y + r, ldy);
    }
}
#endif
