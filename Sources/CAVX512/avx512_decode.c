#include "avx512_decode.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))

// Each row is a run of 32-weight sub-blocks met with the input's activation blocks. Two
// sub-blocks fill one 512-bit register: one `vpdpbusd` (unsigned codes × signed activations,
// four products into each Int32 lane) gives lanes 0–7 the first sub-block's sums and lanes 8–15
// the second's, exact; each lane is then converted and scaled by its sub-block's d_w·d_a. The
// AVX2 kernels spend a `vpmaddubsw`, a `vpmaddwd`, a conversion, a broadcast and an FMA on every
// 32 weights (q8_0 two `vpsignb` more), which on two cores kept decoding below the memory bound.

/// Bytes ahead of the sub-blocks being read that each group asks for: rows are contiguous, so a
/// thread's rows are one stream and this runs past row ends into the next rows.
#define PREFETCH_AHEAD 1024

INLINE void prefetch(const uint8_t *p, long bytes) {
    for (long o = 0; o < bytes; o += 64) __builtin_prefetch(p + PREFETCH_AHEAD + o);
}

INLINE VNNI uint16_t load16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
INLINE VNNI uint32_t load32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
INLINE VNNI float half(const uint8_t *p) { return _cvtsh_ss(load16(p)); }

/// The fp16 fields of eight blocks `stride` bytes apart.
INLINE VNNI __m256 halves8(const uint8_t *p, long stride) {
    const __m128i bits = _mm_setr_epi16((short)load16(p), (short)load16(p + stride), (short)load16(p + 2 * stride),
                                        (short)load16(p + 3 * stride), (short)load16(p + 4 * stride),
                                        (short)load16(p + 5 * stride), (short)load16(p + 6 * stride),
                                        (short)load16(p + 7 * stride));
    return _mm256_cvtph_ps(bits);
}

/// Lanes 0–7 take lane 2p of an eight-lane vector, lanes 8–15 lane 2p + 1: pair p's scales.
INLINE VNNI __m512i pair_index(int p) {
    return _mm512_set_epi32(2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1,
                            2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p);
}

INLINE VNNI __m512 pair_scales(__m256 scales, int p) {
    return _mm512_permutexvar_ps(pair_index(p), _mm512_castps256_ps512(scales));
}

INLINE VNNI __m512 scale_add(__m512i products, __m512 scales, __m512 acc) {
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(products), scales, acc);
}

/// The activation quants of blocks b and b + 1 (64-byte aligned for even b), or of b alone
/// (the rest zero, nothing read past it).
INLINE VNNI __m512i activations2(const llmq_activations *x, long b, int two) {
    return two ? _mm512_loadu_si512(x->quants + 32 * b) : _mm512_maskz_loadu_epi8(0xFFFFFFFFull, x->quants + 32 * b);
}

/// The fp16 fields of the n ≤ 8 blocks of a row's last group, the rest 0.
INLINE VNNI __m256 halves_n(const uint8_t *p, long stride, int n) {
    if (n == 8) return halves8(p, stride);
    float d[8] = {0};
    for (int i = 0; i < n; i++) d[i] = half(p + i * stride);
    return _mm256_loadu_ps(d);
}

// A row is groups of eight sub-blocks and a last group of n ≤ 8 (18 for SmolLM2's 576-wide
// rows: 8 + 8 + 2), all through the 512-bit pairs: per-row work beyond them is one reduction.

// q8_0: 34-byte blocks, fp16 d then 32 signed weights. `vpdpbusd` wants one operand unsigned:
// the weights go in as w + 128 (a sign-bit flip) and each sub-block's sum starts at −128·Σa.

INLINE VNNI void group_q8_0(const uint8_t *b, long j, int n, const llmq_activations *x, __m512 *acc0, __m512 *acc1) {
    const __m512i flip = _mm512_set1_epi8(-128);
    const __mmask8 valid = (__mmask8)((1u << n) - 1);
    const __m256 scales = _mm256_mul_ps(halves_n(b, 34, n), _mm256_loadu_ps(x->scales + j));
    const __m512i corrections = _mm512_zextsi256_si512(_mm256_sub_epi32(
        _mm256_setzero_si256(), _mm256_slli_epi32(_mm256_maskz_loadu_epi32(valid, x->integer_sums + j), 7)));
    #pragma clang loop unroll(full)
    for (int p = 0; p < 4; p++) {
        if (2 * p >= n) break;
        const int two = 2 * p + 1 < n;
        const uint8_t *q = b + 68 * p + 2;
        const __m256i first = _mm256_loadu_si256((const __m256i *)q);
        const __m256i second = two ? _mm256_loadu_si256((const __m256i *)(q + 34)) : _mm256_set1_epi8(-128);
        const __m512i w = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(first), second, 1), flip);
        const __m512i start = _mm512_maskz_permutexvar_epi32(0x0101, pair_index(p), corrections);
        const __m512i products = _mm512_dpbusd_epi32(start, w, activations2(x, j + 2 * p, two));
        if (p % 2 == 0) *acc0 = scale_add(products, pair_scales(scales, p), *acc0);
        else *acc1 = scale_add(products, pair_scales(scales, p), *acc1);
    }
}

INLINE VNNI __m512 row_q8_0(const uint8_t *row, long blocks, const llmq_activations *x) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    long j = 0;
    for (; j + 8 <= blocks; j += 8) {
        prefetch(row + 34 * j, 8 * 34);
        group_q8_0(row + 34 * j, j, 8, x, &acc0, &acc1);
    }
    if (j < blocks) group_q8_0(row + 34 * j, j, (int)(blocks - j), x, &acc0, &acc1);
    return _mm512_add_ps(acc0, acc1);
}

// q4_0 and q5_0: 18- and 22-byte blocks, fp16 d, (q5_0: 32 fifth bits,) 16 bytes whose low
// nibbles are weights 0–15 and high nibbles 16–31. Codes are unsigned; the offset (−8·d or
// −16·d) meets d_a·Σa once per eight sub-blocks, as in the AVX2 kernels.

/// Codes of two consecutive sub-blocks from their 16 nibble bytes at `q0` and `q1`: each 16 bytes
/// twice (a 64-bit lane permutation), the second copy shifted down four bits.
INLINE VNNI __m512i nibbles2(const uint8_t *q0, const uint8_t *q1) {
    const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)q0)),
                                                 _mm_loadu_si128((const __m128i *)q1), 1);
    const __m512i twice = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3), _mm512_castsi256_si512(both));
    return _mm512_and_si512(_mm512_srlv_epi64(twice, _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4)), _mm512_set1_epi8(0x0F));
}

/// `fifth`: whether blocks carry q5_0's fifth bits (at byte 2, the nibbles then at 6).
INLINE VNNI void group_q4(const uint8_t *b, long j, int n, const llmq_activations *x, int fifth,
                          __m512 *acc0, __m512 *acc1, __m256 *offsets) {
    const long size = fifth ? 22 : 18, nibbles = fifth ? 6 : 2;
    const __m256 d = halves_n(b, size, n);
    const __m256 scales = _mm256_mul_ps(d, _mm256_loadu_ps(x->scales + j));
    *offsets = _mm256_fmadd_ps(_mm256_mul_ps(d, _mm256_set1_ps(fifth ? -16 : -8)), _mm256_loadu_ps(x->sums + j), *offsets);
    #pragma clang loop unroll(full)
    for (int p = 0; p < 4; p++) {
        if (2 * p >= n) break;
        const int two = 2 * p + 1 < n;
        const uint8_t *b0 = b + 2 * p * size, *b1 = two ? b0 + size : b0;
        __m512i w = nibbles2(b0 + nibbles, b1 + nibbles);
        if (fifth) {
            const __mmask64 high = (__mmask64)load32(b0 + 2) | (two ? (__mmask64)load32(b1 + 2) << 32 : 0);
            w = _mm512_mask_add_epi8(w, high, w, _mm512_set1_epi8(0x10));
        }
        if (!two) w = _mm512_maskz_mov_epi64(0x0F, w);
        const __m512i products = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w, activations2(x, j + 2 * p, two));
        if (p % 2 == 0) *acc0 = scale_add(products, pair_scales(scales, p), *acc0);
        else *acc1 = scale_add(products, pair_scales(scales, p), *acc1);
    }
}

INLINE VNNI __m512 row_q4(const uint8_t *row, long blocks, const llmq_activations *x, int fifth) {
    const long size = fifth ? 22 : 18;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m256 offsets = _mm256_setzero_ps();
    long j = 0;
    for (; j + 8 <= blocks; j += 8) {
        prefetch(row + size * j, 8 * size);
        group_q4(row + size * j, j, 8, x, fifth, &acc0, &acc1, &offsets);
    }
    if (j < blocks) group_q4(row + size * j, j, (int)(blocks - j), x, fifth, &acc0, &acc1, &offsets);
    return _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_zextps256_ps512(offsets));
}

// q4_K: 144-byte super-blocks of eight sub-blocks: fp16 d and dmin, twelve bytes of 6-bit scales
// and minimums, then 128 bytes whose 32-byte runs hold sub-blocks 2i (low nibbles) and 2i + 1
// (high nibbles) — one 512-bit broadcast of the run, the upper half shifted, gives the pair.

/// Eight bytes as floats.
INLINE VNNI __m256 bytes8(uint32_t low, uint32_t high) {
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_setr_epi32((int)low, (int)high, 0, 0)));
}

INLINE VNNI __m512 row_q4_K(const uint8_t *row, long blocks, const llmq_activations *x) {
    const uint32_t low6 = 0x3F3F3F3F, low4 = 0x0F0F0F0F, low2 = 0x03030303;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m256 offsets = _mm256_setzero_ps();
    for (long j = 0; j + 8 <= blocks; j += 8) {
        const uint8_t *b = row + 144 * (j / 8);
        prefetch(b, 144);
        // ggml's get_scale_min_k4, word-wise (`SuperBlocks.scalesAndMinimums`).
        const uint32_t w0 = load32(b + 4), w1 = load32(b + 8), w2 = load32(b + 12);
        const __m256 sc = bytes8(w0 & low6, (w2 & low4) | ((w0 >> 6) & low2) << 4);
        const __m256 m = bytes8(w1 & low6, ((w2 >> 4) & low4) | ((w1 >> 6) & low2) << 4);
        const __m256 scales = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(half(b)), sc), _mm256_loadu_ps(x->scales + j));
        offsets = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(-half(b + 2)), m), _mm256_loadu_ps(x->sums + j), offsets);
        #pragma clang loop unroll(full)
        for (int p = 0; p < 4; p++) {
            const __m512i run = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(b + 16 + 32 * p)));
            const __m512i w = _mm512_and_si512(_mm512_srlv_epi64(run, _mm512_setr_epi64(0, 0, 0, 0, 4, 4, 4, 4)),
                                               _mm512_set1_epi8(0x0F));
            const __m512i products = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w, activations2(x, j + 2 * p, 1));
            if (p % 2 == 0) acc0 = scale_add(products, pair_scales(scales, p), acc0);
            else acc1 = scale_add(products, pair_scales(scales, p), acc1);
        }
    }
    return _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_zextps256_ps512(offsets));
}

// q6_K: 210-byte super-blocks: 128 bytes of low nibbles, 64 of high bit pairs, sixteen int8
// scales (one per 16 weights), fp16 d; x = d·sc·(q − 32). Sub-block 4h + i takes the low
// (i < 2) or high nibbles of the 32 bytes at 64h + 32·(i % 2) and bits 2i, 2i + 1 of the 32 bytes
// at 128 + 32h. Lanes 4k … 4k + 3 of a pair's products are one 16-weight half, scaled by its sc.

/// Lanes 4k … 4k + 3 take lane 4p + k: pair p's four halves.
INLINE VNNI __m512i half_index(int p) {
    return _mm512_set_epi32(4 * p + 3, 4 * p + 3, 4 * p + 3, 4 * p + 3, 4 * p + 2, 4 * p + 2, 4 * p + 2, 4 * p + 2,
                            4 * p + 1, 4 * p + 1, 4 * p + 1, 4 * p + 1, 4 * p, 4 * p, 4 * p, 4 * p);
}

INLINE VNNI __m512 row_q6_K(const uint8_t *row, long blocks, const llmq_activations *x) {
    const __m512i low4 = _mm512_set1_epi8(0x0F), bits45 = _mm512_set1_epi8(0x30);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), offsets = _mm512_setzero_ps();
    for (long j = 0; j + 8 <= blocks; j += 8) {
        const uint8_t *b = row + 210 * (j / 8);
        prefetch(b, 210);
        const float d = half(b + 208);
        const __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(b + 192))));
        // d_a of each half's sub-block, and d_a·Σa over each half, in half order.
        const __m512 da = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7),
                                                _mm512_castps256_ps512(_mm256_loadu_ps(x->scales + j)));
        const __m512 sums = _mm512_permutex2var_ps(_mm512_castps256_ps512(_mm256_loadu_ps(x->low_sums + j)),
                                                   _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23),
                                                   _mm512_castps256_ps512(_mm256_loadu_ps(x->high_sums + j)));
        const __m512 dsc = _mm512_mul_ps(_mm512_set1_ps(d), sc);
        const __m512 scales = _mm512_mul_ps(dsc, da);
        offsets = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(-32), dsc), sums, offsets);
        #pragma clang loop unroll(full)
        for (int h = 0; h < 2; h++) {
            const __m512i low = _mm512_loadu_si512(b + 64 * h);
            const __m512i high = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(b + 128 + 32 * h)));
            // Sub-blocks 4h, 4h + 1: low nibbles, bit pairs 0 and 1 (moved up 4 and 2 bits).
            const __m512i w0 = _mm512_or_si512(_mm512_and_si512(low, low4),
                _mm512_and_si512(_mm512_sllv_epi64(high, _mm512_setr_epi64(4, 4, 4, 4, 2, 2, 2, 2)), bits45));
            // Sub-blocks 4h + 2, 4h + 3: high nibbles, bit pairs 2 and 3 (in place and down 2).
            const __m512i w1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi64(low, 4), low4),
                _mm512_and_si512(_mm512_srlv_epi64(high, _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2)), bits45));
            const __m512i p0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w0, activations2(x, j + 4 * h, 1));
            const __m512i p1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w1, activations2(x, j + 4 * h + 2, 1));
            acc0 = scale_add(p0, _mm512_permutexvar_ps(half_index(2 * h), scales), acc0);
            acc1 = scale_add(p1, _mm512_permutexvar_ps(half_index(2 * h + 1), scales), acc1);
        }
    }
    return _mm512_add_ps(_mm512_add_ps(acc0, acc1), offsets);
}

/// A row's sixteen partial sums (a constant `type` folds the switch).
INLINE VNNI __m512 row(llmq_decode_type type, const uint8_t *w, long blocks, const llmq_activations *x) {
    switch (type) {
    case llmq_decode_q8_0: return row_q8_0(w, blocks, x);
    case llmq_decode_q4_0: return row_q4(w, blocks, x, 0);
    case llmq_decode_q5_0: return row_q4(w, blocks, x, 1);
    case llmq_decode_q4_K: return row_q4_K(w, blocks, x);
    case llmq_decode_q6_K: return row_q6_K(w, blocks, x);
    }
    return _mm512_setzero_ps();
}

/// The sums of four rows' lanes: halves added, then three horizontal adds for all four at once
/// (a reduction per row was a tenth of a 576-wide q4_0 row's instructions, all in one chain).
INLINE VNNI __m128 sum4(__m512 a, __m512 b, __m512 c, __m512 d) {
    #define HALVES(v) _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)))
    const __m256 ab = _mm256_hadd_ps(HALVES(a), HALVES(b)), cd = _mm256_hadd_ps(HALVES(c), HALVES(d));
    #undef HALVES
    const __m256 all = _mm256_hadd_ps(ab, cd);
    return _mm_add_ps(_mm256_castps256_ps128(all), _mm256_extractf128_ps(all, 1));
}

INLINE VNNI void rows_of(llmq_decode_type type, const uint8_t *w, long row_bytes, long rows, const llmq_activations *x,
                         float *y) {
    const long blocks = x->blocks_per_vector;
    long r = 0;
    for (; r + 4 <= rows; r += 4) {
        const uint8_t *p = w + r * row_bytes;
        const __m512 a = row(type, p, blocks, x), b = row(type, p + row_bytes, blocks, x);
        const __m512 c = row(type, p + 2 * row_bytes, blocks, x), d = row(type, p + 3 * row_bytes, blocks, x);
        _mm_storeu_ps(y + r, sum4(a, b, c, d));
    }
    for (; r < rows; r++) y[r] = _mm512_reduce_add_ps(row(type, w + r * row_bytes, blocks, x));
}

VNNI void llmq_vnni_decode(llmq_decode_type type, const void *w, long row_bytes, long rows, const llmq_activations *x,
                           float *y) {
    const uint8_t *base = (const uint8_t *)w;
    // One copy of the loops per type, so each row function is inlined with its constants.
    switch (type) {
    case llmq_decode_q8_0: rows_of(llmq_decode_q8_0, base, row_bytes, rows, x, y); break;
    case llmq_decode_q4_0: rows_of(llmq_decode_q4_0, base, row_bytes, rows, x, y); break;
    case llmq_decode_q5_0: rows_of(llmq_decode_q5_0, base, row_bytes, rows, x, y); break;
    case llmq_decode_q4_K: rows_of(llmq_decode_q4_K, base, row_bytes, rows, x, y); break;
    case llmq_decode_q6_K: rows_of(llmq_decode_q6_K, base, row_bytes, rows, x, y); break;
    }
}

#endif
