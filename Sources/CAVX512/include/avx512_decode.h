// Matrix–vector products (decoding: one input) with AVX-512 VNNI, reading the weight blocks in
// place. Like the batched tiles, these carry their own target attribute and LLMQEngine calls them
// only after `llmq_cpu_has_avx512vnni()`; other architectures compile nothing.
#pragma once
#include "avx512_tiles.h"

#if defined(__x86_64__)

/// The block types with a VNNI decode kernel, each at its own block size (32, or 256 for the
/// K-quants).
typedef enum {
    llmq_decode_q8_0 = 0,
    llmq_decode_q4_0 = 1,
    llmq_decode_q5_0 = 2,
    llmq_decode_q4_K = 3,
    llmq_decode_q6_K = 4,
} llmq_decode_type;

/// y[r] = row r · x_0 for the `rows` rows starting at `w`, `row_bytes` apart, and the first input
/// of `x` (quantized with the halves' sums for q6_K). Matches the AVX2 decode products to fp32
/// rounding: the integer sums are exact, the scales are applied in another order.
void llmq_vnni_decode(llmq_decode_type type, const void *w, long row_bytes, long rows, const llmq_activations *x,
                      float *y);

#endif
