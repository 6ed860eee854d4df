#!/usr/bin/env python3
"""Random ggml blocks and their values as gguf-py's reference dequantizer computes them.

Used by the tests to check llmq's block decoders bit for bit against an independent
implementation (gguf.quants). Every byte of every block is random, scales included.

    gguf_blocks.py TYPE BLOCKS SEED OUT_BLOCKS OUT_VALUES

TYPE is a ggml type name (Q5_0, Q4_K, ...). OUT_BLOCKS receives the raw blocks, OUT_VALUES the
dequantized float32 values (little-endian).
"""
import sys

import numpy as np
from gguf import GGMLQuantizationType, GGML_QUANT_SIZES
from gguf.quants import dequantize


def main():
    name, blocks, seed, out_blocks, out_values = sys.argv[1:]
    qtype = GGMLQuantizationType[name]
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    rng = np.random.default_rng(int(seed))
    raw = rng.integers(0, 256, size=(int(blocks), type_size), dtype=np.uint8)
    if qtype == GGMLQuantizationType.Q8_K:
        # gguf-py does not decode ggml's activation type; its layout is fp32 d, 256 int8, 16 int16 sums.
        d = raw[:, :4].copy().view("<f4")
        values = (d * raw[:, 4:260].view(np.int8).astype(np.float32)).astype("<f4")
    else:
        values = dequantize(raw, qtype).astype("<f4")
    assert values.size == int(blocks) * block_size
    raw.tofile(out_blocks)
    values.tofile(out_values)


if __name__ == "__main__":
    main()
