// The batched integer products with AVX-512 VNNI. Swift has no per-function target attribute, so
// these live in a C target whose functions carry `target(...)` themselves: the rest of the package
// keeps its AVX2 baseline and LLMQEngine calls in here only after `llmq_cpu_has_avx512vnni()`.
// Everything is guarded by __x86_64__, so other architectures compile an empty target.
#pragma once
#include <stdint.h>

#if defined(__x86_64__)

/// Whether the CPU (and the OS, which must save the 512-bit state) runs AVX-512 F/BW/VL/VNNI.
int llmq_cpu_has_avx512vnni(void);

/// Quantized input vectors as LLMQEngine's `QuantizedActivations` holds them: vector v's block b
/// (index v·blocks_per_vector + b) has 32 int8 quants at quants + 32·index, its scale d, d·Σq
/// (and over each 16-quant half), and Σq as an integer (needed by signed weights only).
typedef struct {
    const int8_t *quants;
    const float *scales;
    const float *sums;
    const float *low_sums;
    const float *high_sums;
    const int32_t *integer_sums;
    long blocks_per_vector;
} llmq_activations;

/// What kind of codes a packed tile holds (see llmq_vnni_multiply).
typedef enum {
    /// Signed weights stored as w + 128 (q8_0, the IQ4 lookups); no offset.
    llmq_codes_signed = 0,
    /// Unsigned codes with an offset term per sub-block (q4_0, q5_0, q4_K …).
    llmq_codes_offset = 1,
    /// Unsigned codes whose 16-weight halves have their own integer multiplier and offset
    /// (q6_K, q3_K, q2_K).
    llmq_codes_halves = 2,
} llmq_codes;

/// y[t·ldy + i] = row i · x_t for sixteen packed rows and the inputs t in [first, end).
/// `scratch` (64-byte aligned) holds, per sub-block j, 512 bytes of codes — word g of lane i is
/// row i's codes 4g … 4g + 3 — and after all the codes, per sub-block, 16 floats of scales, 16 of
/// offsets, and for `llmq_codes_halves` 16 floats of the second halves' offsets and 2 × 16 Int32
/// multipliers (first halves, then second). Per row and input the sub-blocks are scaled and added
/// in order exactly as LLMQEngine's AVX2 `InterleavedTile` does, so the results are bit-identical.
void llmq_vnni_multiply(const void *scratch, long sub_blocks, llmq_codes codes, const llmq_activations *x,
                        long first, long end, float *y, long ldy);

#endif

#if defined(__x86_64__)
/// Y[t·ldy + r] = W[r] · X[t] for rows [0, rows) of fp32 weights (`row_bytes` apart) and `count`
/// fp32 inputs (`cols` apart) with 512-bit FMAs: tiles of four rows by six inputs, 24
/// accumulators of sixteen lanes, the columns' tail through masked loads. Needs AVX-512 F.
void llmq_avx512_f32_rows(const float *w, long row_bytes, long rows, const float *x, long cols, long count,
                          float *y, long ldy);
#endif
