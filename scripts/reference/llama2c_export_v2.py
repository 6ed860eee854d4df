#!/usr/bin/env python3
"""llama2.c's `export.py --version 2` (int8, runq.c) applied to a legacy (v0) checkpoint, in numpy.
An independent implementation of formats/llama2c.md's version 2: the tests check that llmq's
writer produces the same bytes, and docs/verification.md uses it to make its int8 candidate.

    llama2c_export_v2.py IN_V0.bin OUT_V2.bin
"""
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama2c_numpy import load  # noqa: E402


def quantize_q80(w, group):
    """export.py: per group, scale = max|w| / 127, q = round-half-even(w / scale); ints then scales."""
    w = w.reshape(-1, group).astype(np.float32)
    scale = (np.abs(w).max(axis=1) / np.float32(127)).astype(np.float32)
    safe = np.where(scale > 0, scale, np.float32(1))
    q = np.where(scale[:, None] > 0, np.round(w / safe[:, None]), 0).astype(np.int8)
    return q.tobytes() + scale.tobytes()


def main():
    src, dst = sys.argv[1], sys.argv[2]
    c, w = load(src)
    shared = w["cls"] is w["emb"]
    group = 64
    while c["dim"] % group:
        group //= 2
    out = struct.pack("<Ii", 0x616B3432, 2)
    out += struct.pack("<7i", c["dim"], c["hidden"], c["layers"], c["heads"], c["kv_heads"], c["vocab"], c["seq"])
    out += struct.pack("<Bi", 1 if shared else 0, group)
    out += b"\0" * (256 - len(out))
    out += w["att_norm"].tobytes() + w["ffn_norm"].tobytes() + w["norm"].tobytes()
    out += quantize_q80(w["emb"], group)
    for name in ("wq", "wk", "wv", "wo", "w1", "w2", "w3"):
        for layer in w[name]:
            out += quantize_q80(layer, group)
    if not shared:
        out += quantize_q80(w["cls"], group)
    open(dst, "wb").write(out)


if __name__ == "__main__":
    main()
