#!/usr/bin/env python3
"""Hugging Face Llama checkpoints with numpy and the `safetensors` package only (no llmq code).

The tests use it as the independent side of every safetensors comparison:

    hf_numpy.py export MODEL.bin OUT_DIR [--dtype float32|float16] [--shard-bytes N]
        write llama2.c MODEL.bin as a Hugging Face directory, as transformers' conversion would
    hf_numpy.py check MODEL.bin TOKENIZER.bin HF_DIR
        check a directory llmq wrote: config.json, every tensor bit for bit after undoing the
        rotate-half permutation (as llama.cpp's convert_hf_to_gguf does), the tokenizer llmq
        carries in __metadata__, each file byte for byte against safetensors' own writer, and a
        forward pass with transformers' rotate-half RoPE on the stored rows against llama2.c's
    hf_numpy.py samples OUT_DIR
        write safetensors files of every dtype llmq reads, a sharded pair with its index, and
        expected.json with the values (as float32) llmq must read

Prints what it checked; exits 1 on the first mismatch.
"""
import argparse
import json
import os
import struct
import sys
import types

import numpy as np
import safetensors
from safetensors.numpy import load_file, save, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama2c_numpy import Model, load, load_tokenizer  # noqa: E402


def to_rotate_half(w, heads):
    """Interleaved-pair rows (llama2.c, GGUF) → rotate-half rows (Hugging Face), per head."""
    return w.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def to_interleaved(w, heads):
    """llama.cpp convert_hf_to_gguf's permute: rotate-half rows → interleaved pairs."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def hf_tensors(cfg, w):
    """llama2.c tensors under Hugging Face names, Q/K rows as Hugging Face stores them."""
    out = {"model.embed_tokens.weight": w["emb"], "model.norm.weight": w["norm"]}
    if w["cls"] is not w["emb"]:
        out["lm_head.weight"] = w["cls"]
    for l in range(cfg["layers"]):
        p = f"model.layers.{l}."
        out[p + "input_layernorm.weight"] = w["att_norm"][l]
        out[p + "self_attn.q_proj.weight"] = to_rotate_half(w["wq"][l], cfg["heads"])
        out[p + "self_attn.k_proj.weight"] = to_rotate_half(w["wk"][l], cfg["kv_heads"])
        out[p + "self_attn.v_proj.weight"] = w["wv"][l]
        out[p + "self_attn.o_proj.weight"] = w["wo"][l]
        out[p + "post_attention_layernorm.weight"] = w["ffn_norm"][l]
        out[p + "mlp.gate_proj.weight"] = w["w1"][l]
        out[p + "mlp.down_proj.weight"] = w["w2"][l]
        out[p + "mlp.up_proj.weight"] = w["w3"][l]
    return out


def expected_config(cfg, shared, torch_dtype):
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": cfg["dim"],
        "intermediate_size": cfg["hidden"], "num_hidden_layers": cfg["layers"], "num_attention_heads": cfg["heads"],
        "num_key_value_heads": cfg["kv_heads"], "vocab_size": cfg["vocab"], "max_position_embeddings": cfg["seq"],
        "rope_theta": 10000.0, "rms_norm_eps": 1e-05, "tie_word_embeddings": shared, "torch_dtype": torch_dtype,
        "hidden_act": "silu", "head_dim": cfg["head"],
    }


def fail(message):
    print(f"MISMATCH: {message}")
    sys.exit(1)


def export(args):
    cfg, w = load(args.model)
    dtype = np.dtype(args.dtype)
    tensors = {k: np.ascontiguousarray(v).astype(dtype) for k, v in hf_tensors(cfg, w).items()}
    os.makedirs(args.out, exist_ok=True)
    config = expected_config(cfg, w["cls"] is w["emb"], args.dtype)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    if not args.shard_bytes:
        save_file(tensors, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
        print(f"wrote {len(tensors)} tensors")
        return
    shards, size = [{}], 0
    for name, t in tensors.items():
        if shards[-1] and size + t.nbytes > args.shard_bytes:
            shards.append({})
            size = 0
        shards[-1][name] = t
        size += t.nbytes
    weight_map = {}
    for i, shard in enumerate(shards):
        file = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, os.path.join(args.out, file), metadata={"format": "pt"})
        weight_map.update({name: file for name in shard})
    index = {"metadata": {"total_size": sum(t.nbytes for t in tensors.values())}, "weight_map": weight_map}
    with open(os.path.join(args.out, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)
    print(f"wrote {len(tensors)} tensors in {len(shards)} shards")


def split(raw):
    """The header (json keeps its key order), the data section, and the header length."""
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]), raw[8 + n:], n


def check(args):
    cfg, w = load(args.model)
    shared = w["cls"] is w["emb"]
    config = json.load(open(os.path.join(args.dir, "config.json")))
    for key, value in expected_config(cfg, shared, "float32").items():
        if config.get(key) != value:
            fail(f"config.json {key} = {config.get(key)!r}, expected {value!r}")
    print(f"config.json: {len(config)} fields, all as expected")

    index_path = os.path.join(args.dir, "model.safetensors.index.json")
    if os.path.exists(index_path):
        index = json.load(open(index_path))
        files = sorted(set(index["weight_map"].values()))
    else:
        index, files = None, ["model.safetensors"]
    stored = {}
    for file in files:
        path = os.path.join(args.dir, file)
        part = load_file(path)
        if index and any(index["weight_map"][name] != file for name in part):
            fail(f"{file} holds tensors the index puts elsewhere")
        stored.update(part)
        # safetensors' own writer, given the same tensors and metadata, must lay the file out the same:
        # the same header entries in the same order and the same data (it orders metadata keys at random).
        head, data, n = split(open(path, "rb").read())
        metadata = head.pop("__metadata__")
        ref_head, ref_data, ref_n = split(save(part, metadata=metadata))
        if ref_head.pop("__metadata__") != metadata or list(ref_head.items()) != list(head.items()) or ref_data != data or ref_n != n:
            fail(f"{file} differs from what safetensors.numpy.save writes for its tensors")
        if metadata.get("format") != "pt":
            fail(f"{file} metadata has no format=pt")
    print(f"{len(files)} file(s) laid out exactly as safetensors' writer lays them out")
    if index and index["metadata"]["total_size"] != sum(t.nbytes for t in stored.values()):
        fail("index total_size is not the sum of the tensor sizes")

    expected = hf_tensors(cfg, w)
    if sorted(stored) != sorted(expected):
        fail(f"tensor names {sorted(stored)} != {sorted(expected)}")
    heads = {"q_proj": cfg["heads"], "k_proj": cfg["kv_heads"]}
    for name, t in stored.items():
        if t.dtype != np.float32 or t.shape != expected[name].shape:
            fail(f"{name}: {t.dtype} {t.shape}")
        if not np.array_equal(t.view(np.uint32), expected[name].view(np.uint32)):
            fail(f"{name} differs from the llama2.c tensor")
        kind = name.split(".")[-2]
        if kind in heads:
            original = w["wq" if kind == "q_proj" else "wk"][int(name.split(".")[2])]
            if not np.array_equal(to_interleaved(t, heads[kind]).view(np.uint32), original.view(np.uint32)):
                fail(f"{name}: llama.cpp's permutation does not give back the llama2.c rows")
    print(f"{len(stored)} tensors bit-identical to {os.path.basename(args.model)} (Q/K through llama.cpp's permute)")

    head, _, _ = split(open(os.path.join(args.dir, files[0]), "rb").read())
    tok = json.loads(head["__metadata__"]["llmq.tokenizer"])
    pieces = load_tokenizer(args.tokenizer, cfg["vocab"])
    if [p.encode() if isinstance(p, str) else bytes.fromhex(p["hex"]) for p in tok["pieces"]] != pieces:
        fail("llmq.tokenizer pieces differ from tokenizer.bin")
    raw = open(args.tokenizer, "rb").read()
    scores, pos = [], 4
    for _ in range(cfg["vocab"]):
        score, n = struct.unpack_from("<fi", raw, pos)
        scores.append(score)
        pos += 8 + n
    if [np.float32(s) for s in tok["scores"]] != scores or (tok["bos"], tok["eos"]) != (1, 2):
        fail("llmq.tokenizer scores or special ids differ from tokenizer.bin")
    print(f"llmq.tokenizer: {len(pieces)} pieces and scores equal tokenizer.bin")

    # The stored rows under transformers' rotate-half RoPE must compute what llama2.c computes.
    reference, hf = Model(args.model), Model(args.model)
    hf.w = {**w, "wq": np.stack([stored[f"model.layers.{l}.self_attn.q_proj.weight"] for l in range(cfg["layers"])]),
            "wk": np.stack([stored[f"model.layers.{l}.self_attn.k_proj.weight"] for l in range(cfg["layers"])])}
    hf.rope = types.MethodType(rope_rotate_half, hf)
    token, worst = 1, 0.0
    for pos in range(32):
        a, b = reference.forward(token, pos), hf.forward(token, pos)
        worst = max(worst, float(np.max(np.abs(a - b))))
        if int(np.argmax(a)) != int(np.argmax(b)):
            fail(f"greedy token differs at position {pos}")
        token = int(np.argmax(a))
    if worst > 1e-4:
        fail(f"logits differ by {worst}")
    print(f"rotate-half forward pass on the stored rows: 32 greedy tokens equal, max logit difference {worst:.2e}")


def rope_rotate_half(self, x, pos, nheads):
    """transformers' apply_rotary_pos_emb: dimension i pairs with i + head/2."""
    half = self.cfg["head"] // 2
    ang = np.float32(pos) * self.freq
    cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    x = x.reshape(nheads, self.cfg["head"]).copy()
    a, b = x[:, :half].copy(), x[:, half:].copy()
    x[:, :half] = a * cos - b * sin
    x[:, half:] = b * cos + a * sin
    return x.reshape(-1)


def spec(array, dtype_name):
    """A tensor for safetensors.serialize_file, in whichever API this safetensors version has."""
    if hasattr(safetensors, "TensorSpec"):
        return safetensors.TensorSpec(dtype=dtype_name, shape=list(array.shape), data_ptr=array.ctypes.data, data_len=array.nbytes)
    return {"dtype": dtype_name, "shape": list(array.shape), "data": array.tobytes()}


def samples(args):
    os.makedirs(args.out, exist_ok=True)
    arrays = {
        "f32": np.array([[-1.5, 0.0, 1e-3], [3.25, 1e30, -7.0]], np.float32),
        "f16": np.array([0.5, -2.0, 65504.0, 6e-5], np.float16),
        "i8": np.array([-128, -1, 0, 1, 127], np.int8),
        "u8": np.array([0, 128, 255], np.uint8),
        "i16": np.array([-32768, 32767], np.int16),
        "i32": np.array([[-2**31, -1], [7, 2**31 - 1]], np.int32),
        "i64": np.array([-5, 2**40], np.int64),
        "f64": np.array([0.1, -2.5], np.float64),
        "empty": np.zeros((0, 3), np.float32),
        "scalar": np.array(42.0, np.float32),
    }
    # numpy has no bfloat16: keep the top 16 bits of float32 values.
    bf16_source = np.array([[1.0, -3.140625], [256.0, 1e-20]], np.float32)
    bf16 = (bf16_source.view(np.uint32) >> 16).astype(np.uint16)
    specs = {name: spec(a, a.dtype.name) for name, a in arrays.items()}
    specs["bf16"] = spec(bf16, "bfloat16")
    metadata = {"source": "numpy", "note": "ünïcode ✓ \"quoted\""}
    safetensors.serialize_file(specs, os.path.join(args.out, "dtypes.safetensors"), metadata=metadata)

    expected = {name: {"shape": list(a.shape), "values": a.astype(np.float32).astype(np.float64).ravel().tolist()}
                for name, a in arrays.items()}
    expected["bf16"] = {"shape": [2, 2], "values": (bf16.astype(np.uint32) << 16).view(np.float32).astype(np.float64).ravel().tolist()}
    dtypes = {"f32": "F32", "f16": "F16", "bf16": "BF16", "i8": "I8", "u8": "U8", "i16": "I16", "i32": "I32", "i64": "I64",
              "f64": "F64", "empty": "F32", "scalar": "F32"}
    for name in expected:
        expected[name]["dtype"] = dtypes[name]
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump({"tensors": expected, "metadata": metadata}, f, indent=1)

    # A sharded pair and its index, as transformers' save_pretrained lays them out.
    first = {"a.weight": np.arange(6, dtype=np.float32).reshape(2, 3), "b.weight": np.array([1, 2], np.float16)}
    second = {"c.weight": np.array([-1.0, 1.0], np.float32)}
    save_file(first, os.path.join(args.out, "m-00001-of-00002.safetensors"), metadata={"format": "pt"})
    save_file(second, os.path.join(args.out, "m-00002-of-00002.safetensors"), metadata={"format": "pt"})
    weight_map = {"a.weight": "m-00001-of-00002.safetensors", "b.weight": "m-00001-of-00002.safetensors",
                  "c.weight": "m-00002-of-00002.safetensors"}
    with open(os.path.join(args.out, "m.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 36}, "weight_map": weight_map}, f, indent=2)
    print(f"wrote {len(specs)} dtype samples and a 2-shard checkpoint")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export")
    e.add_argument("model")
    e.add_argument("out")
    e.add_argument("--dtype", default="float32", choices=["float32", "float16"])
    e.add_argument("--shard-bytes", type=int, default=0)
    c = sub.add_parser("check")
    c.add_argument("model")
    c.add_argument("tokenizer")
    c.add_argument("dir")
    s = sub.add_parser("samples")
    s.add_argument("out")
    a = ap.parse_args()
    {"export": export, "check": check, "samples": samples}[a.command](a)


if __name__ == "__main__":
    main()
