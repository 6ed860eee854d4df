#!/usr/bin/env python3
"""Exact channel rewrites of a Llama GGUF (f32 tensors), in numpy, independent of llmq's Swift code.

    rewrite_channels.py IN.gguf IMATRIX.gguf OUT.gguf [--smooth ALPHA] [--permute] [--imatrix-out F]

--smooth ALPHA: SmoothQuant-style factors s_j = a_j^ALPHA / w_j^(1-ALPHA) (a_j the channel's RMS
  input from the importance matrix, w_j the largest |weight| in column j of the matrices sharing
  the input; geometric mean 1): columns of q/k/v, gate/up, down and o grow by s_j, and the
  RMSNorm weights, up's rows and v's rows shrink by it. What `llmq quantize --smooth` does; the
  tests compare the two.
--permute: instead (or before), sort channels by mean squared input so large ones share blocks:
  one order for the residual stream (all norms, embedding and matrices), one per layer for the FFN
  hidden units, one per KV head for the value dimensions. Measured and rejected
  (docs/verification.md): it raised the divergence of llama.cpp's Q8_0 and Q6_K files.
--imatrix-out: the importance matrix the rewritten model would give (for llama-quantize).

IMATRIX is a GGUF importance matrix (llama-imatrix's or `llmq calibrate`'s). Needs numpy, gguf.
"""
import argparse

import gguf
import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("input")
    p.add_argument("imatrix")
    p.add_argument("output")
    p.add_argument("--smooth", type=float)
    p.add_argument("--permute", action="store_true")
    p.add_argument("--imatrix-out")
    a = p.parse_args()

    r = gguf.GGUFReader(a.input)
    ri = gguf.GGUFReader(a.imatrix)
    tensors = {t.name: t for t in r.tensors}
    sums = {t.name: np.array(t.data, dtype=np.float64).ravel() for t in ri.tensors}

    def field(key):
        return r.get_field(key).contents()

    arch = field(gguf.Keys.General.ARCHITECTURE)
    layers, heads, kv_heads = field(f"{arch}.block_count"), field(f"{arch}.attention.head_count"), field(f"{arch}.attention.head_count_kv")
    dim = field(f"{arch}.embedding_length")
    head_dim, group = dim // heads, heads // kv_heads

    def mean_squares(name):
        return sums[name + ".in_sum2"] / sums[name + ".counts"][0]

    def weight(name):
        return np.array(tensors[name].data, dtype=np.float32)

    # Per tensor: row and column index orders, row and column factors (None: untouched).
    rows, cols, row_f, col_f = {}, {}, {}, {}
    im_order, im_factor = {}, {}
    blk = [f"blk.{l}." for l in range(layers)]

    residual = np.arange(dim)
    if a.permute:
        inputs = [b + m + ".weight" for b in blk for m in ("attn_q", "ffn_gate")]
        shares = np.stack([mean_squares(n) / mean_squares(n).sum() for n in inputs])
        residual = np.argsort(-shares.max(0), kind="stable")
    for name in ["token_embd.weight", "output.weight"] + [b + m + ".weight" for b in blk for m in ("attn_q", "attn_k", "attn_v", "ffn_gate", "ffn_up")]:
        cols[name] = residual
    for name in ["output_norm.weight"] + [b + m + ".weight" for b in blk for m in ("attn_norm", "ffn_norm")]:
        cols[name] = residual  # a 1-D norm: its elements are its "columns"
    for b in blk:
        rows[b + "attn_output.weight"] = residual
        rows[b + "ffn_down.weight"] = residual
        hidden = np.arange(len(mean_squares(b + "ffn_down.weight")))
        if a.permute:
            hidden = np.argsort(-mean_squares(b + "ffn_down.weight"), kind="stable")
        rows[b + "ffn_gate.weight"] = rows[b + "ffn_up.weight"] = cols[b + "ffn_down.weight"] = hidden
        o = mean_squares(b + "attn_output.weight")
        per_head = []
        for g in range(kv_heads):
            s = sum(o[h * head_dim:(h + 1) * head_dim] for h in range(heads) if h // group == g)
            per_head.append(np.argsort(-s, kind="stable") if a.permute else np.arange(head_dim))
        rows[b + "attn_v.weight"] = np.concatenate([g * head_dim + per_head[g] for g in range(kv_heads)])
        cols[b + "attn_output.weight"] = np.concatenate([h * head_dim + per_head[h // group] for h in range(heads)])
        for m in ("attn_q", "attn_k", "attn_v", "ffn_gate", "ffn_up", "ffn_down", "attn_output"):
            im_order[b + m + ".weight"] = cols[b + m + ".weight"]

    def factors(act, w, alpha):
        la = np.log(np.maximum(act, act.max() * 1e-6))
        lw = np.log(np.maximum(w, w.max() * 1e-6))
        s = alpha * la - (1 - alpha) * lw
        return np.exp(s - s.mean())

    if a.smooth is not None:
        alpha = a.smooth
        for b in blk:
            for norm, readers in (("attn_norm", ("attn_q", "attn_k", "attn_v")), ("ffn_norm", ("ffn_gate", "ffn_up"))):
                names = [b + m + ".weight" for m in readers]
                order = cols[names[0]]
                act = np.sqrt(mean_squares(names[0]))[order]
                w = np.max([np.abs(weight(n)[:, order]).max(0) for n in names], 0)
                s = factors(act, w, alpha)
                for n in names:
                    col_f[n] = s
                    im_factor[n] = 1 / s ** 2
                col_f[b + norm + ".weight"] = 1 / s
            down = b + "ffn_down.weight"
            order = cols[down]
            s = factors(np.sqrt(mean_squares(down))[order], np.abs(weight(down)[:, order]).max(0), alpha)
            col_f[down] = s
            im_factor[down] = 1 / s ** 2
            row_f[b + "ffn_up.weight"] = 1 / s
            out = b + "attn_output.weight"
            order = cols[out]
            ms = mean_squares(out)[order]
            wmax = np.abs(weight(out)[:, order]).max(0)
            value_rows, out_cols = np.ones(kv_heads * head_dim), np.ones(heads * head_dim)
            for g in range(kv_heads):
                hs = [h for h in range(heads) if h // group == g]
                act = np.sqrt(sum(ms[h * head_dim:(h + 1) * head_dim] for h in hs) / len(hs))
                w = np.max([wmax[h * head_dim:(h + 1) * head_dim] for h in hs], 0)
                s = factors(act, w, alpha)
                value_rows[g * head_dim:(g + 1) * head_dim] = 1 / s
                for h in hs:
                    out_cols[h * head_dim:(h + 1) * head_dim] = s
            row_f[b + "attn_v.weight"] = value_rows
            col_f[out] = out_cols
            im_factor[out] = 1 / out_cols ** 2

    def rewrite(name, x):
        x = np.array(x, dtype=np.float32)
        if x.ndim == 1:
            x = x[cols[name]] if name in cols else x
            return (x * col_f[name]).astype(np.float32) if name in col_f else x
        if name in rows:
            x = x[rows[name], :]
        if name in cols:
            x = x[:, cols[name]]
        if name in row_f:
            x = x * row_f[name][:, None]
        if name in col_f:
            x = x * col_f[name][None, :]
        return np.ascontiguousarray(x, dtype=np.float32)

    def rewrite_imatrix(name, x):
        base = name[:-len(".in_sum2")] if name.endswith(".in_sum2") else None
        if base not in im_order:
            return np.array(x)
        v = np.array(x, dtype=np.float64).ravel()[im_order[base]]
        if base in im_factor:
            v = v * im_factor[base]
        return v.astype(np.float32)

    copy(r, a.output, rewrite, arch)
    if a.imatrix_out:
        copy(ri, a.imatrix_out, rewrite_imatrix, None)


def copy(reader, path, transform, arch):
    writer = gguf.GGUFWriter(path, arch=arch or "llama")
    for f in reader.fields.values():
        if f.name == gguf.Keys.General.ARCHITECTURE or f.name.startswith("GGUF."):
            continue
        kind = f.types[0]
        writer.add_key_value(f.name, f.contents(), kind, sub_type=f.types[-1] if kind == gguf.GGUFValueType.ARRAY else None)
    data = []
    for t in reader.tensors:
        if t.tensor_type not in (gguf.GGMLQuantizationType.F32,):
            raise SystemExit(f"rewrite_channels: {t.name} is {t.tensor_type.name}; give an f32 GGUF (llmq dequantize)")
        x = transform(t.name, t.data)
        data.append(x)
        writer.add_tensor_info(t.name, x.shape, x.dtype, x.nbytes, t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for x in data:
        writer.write_tensor_data(x)
    writer.close()


if __name__ == "__main__":
    main()
