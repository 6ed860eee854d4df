#!/usr/bin/env python3
"""Quantizes float32 data with the `gguf` package's reference quantizers (gguf.quants), so the
tests can compare llmq's block codecs with them byte for byte.

    gguf_quants.py IN.f32 OUTDIR [--group N] [--types q8_0,q4_0,q4_1,f16,bf16]

IN.f32 holds little-endian float32 values (a whole number of groups). For each type, writes
OUTDIR/TYPE.bin (the encoded bytes) and OUTDIR/TYPE.f32 (gguf's dequantization of those bytes).

gguf only knows ggml's 32-element blocks. With --group 64/128/256 the same per-block arithmetic is
applied to wider blocks by widening the class's block size (its nibble packing then puts the first
half of a block in the low nibbles, the second half in the high nibbles, as llmq's layouts do).
gguf's Q5_0 packs its fifth bits into exactly 32 bits, so wide q5_0 groups use `wide_q5_0` below:
gguf's arithmetic with n/8 bytes of fifth bits (bit i of the block's bit string = element i).
"""
import argparse
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

BLOCK_TYPES = {"q8_0": (T.Q8_0, quants.Q8_0), "q4_0": (T.Q4_0, quants.Q4_0), "q4_1": (T.Q4_1, quants.Q4_1),
               "q5_0": (T.Q5_0, quants.Q5_0), "q5_1": (T.Q5_1, quants.Q5_1)}
PLAIN_TYPES = {"f16": T.F16, "bf16": T.BF16}


def wide_q5_0(blocks):
    """gguf.quants.Q5_0's arithmetic on blocks of any width n: d, n/8 bytes of fifth bits, n/2 nibble bytes."""
    n = blocks.shape[1]
    imax = abs(blocks).argmax(axis=-1, keepdims=True)
    d = np.take_along_axis(blocks, imax, axis=-1) / -16
    with np.errstate(divide="ignore"):
        inv = np.where(d == 0, 0, 1 / d)
    q = np.trunc((blocks * inv) + np.float32(16.5), dtype=np.float32).astype(np.uint8).clip(0, 31)
    qs = (q[:, : n // 2] & np.uint8(0x0F)) | ((q[:, n // 2:] & np.uint8(0x0F)) << np.uint8(4))
    qh = np.packbits(q >> np.uint8(4), axis=-1, bitorder="little")
    data = np.concatenate([d.astype(np.float16).view(np.uint8), qh, qs], axis=-1)
    codes = q.astype(np.float32) - 16
    return data, (d.astype(np.float16).astype(np.float32) * codes)


def encode(values, name, group):
    if name in PLAIN_TYPES:
        qtype = PLAIN_TYPES[name]
        data = quants.quantize(values, qtype)
        return data.view(np.uint8).ravel(), quants.dequantize(data.view(np.uint8), qtype).ravel()
    qtype, cls = BLOCK_TYPES[name]
    blocks = values.reshape(-1, group)
    if group == cls.block_size:
        data = quants.quantize(blocks, qtype)
        return data.ravel(), quants.dequantize(data, qtype).ravel()
    if name == "q5_0":
        data, restored = wide_q5_0(blocks)
        return data.ravel(), restored.ravel()
    saved = cls.block_size
    cls.block_size = group
    try:
        data = cls.quantize_blocks(blocks)
        return data.ravel(), cls.dequantize_blocks(data).ravel()
    finally:
        cls.block_size = saved


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("outdir")
    ap.add_argument("--group", type=int, default=32)
    ap.add_argument("--types", default="q8_0,q4_0,q4_1,f16,bf16")
    args = ap.parse_args()
    values = np.fromfile(args.input, dtype="<f4")
    os.makedirs(args.outdir, exist_ok=True)
    for name in args.types.split(","):
        data, restored = encode(values, name, args.group)
        data.astype(np.uint8).tofile(os.path.join(args.outdir, name + ".bin"))
        restored.astype("<f4").tofile(os.path.join(args.outdir, name + ".f32"))


if __name__ == "__main__":
    main()
