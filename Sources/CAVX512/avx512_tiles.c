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
