#!/usr/bin/env python3
"""An independent fp32 Llama forward pass in numpy for llama2.c legacy checkpoints.

Used by the tests as a second implementation: it generates text with run.c's sampler
(xorshift*, temperature, top-p) and prints it exactly as run.c would, or dumps the logits of
a token sequence. It shares no code with llmq.

    llama2c_numpy.py MODEL TOKENIZER [-t T] [-p P] [-s SEED] [-n STEPS]
    llama2c_numpy.py MODEL TOKENIZER --logits TOKENS_CSV OUT.npy
"""
import argparse
import struct
import sys

import numpy as np


def load(path):
    raw = open(path, "rb").read()
    dim, hidden, layers, heads, kv_heads, vocab, seq = struct.unpack("7i", raw[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    f = np.frombuffer(raw, dtype=np.float32, offset=28)
    head = dim // heads
    kv_dim = head * kv_heads
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        out = f[pos:pos + n].reshape(shape)
        pos += n
        return out

    w = {}
    w["emb"] = take(vocab, dim)
    w["att_norm"] = take(layers, dim)
    w["wq"] = take(layers, dim, dim)
    w["wk"] = take(layers, kv_dim, dim)
    w["wv"] = take(layers, kv_dim, dim)
    w["wo"] = take(layers, dim, dim)
    w["ffn_norm"] = take(layers, dim)
    w["w1"] = take(layers, hidden, dim)
    w["w2"] = take(layers, dim, hidden)
    w["w3"] = take(layers, hidden, dim)
    w["norm"] = take(dim)
    take(seq * head // 2)
    take(seq * head // 2)
    w["cls"] = w["emb"] if shared else take(vocab, dim)
    cfg = dict(dim=dim, hidden=hidden, layers=layers, heads=heads, kv_heads=kv_heads, vocab=vocab, seq=seq, head=head)
    return cfg, w


def rmsnorm(x, weight):
    ss = np.float32(np.mean(x * x, dtype=np.float32)) + np.float32(1e-5)
    return weight * (x / np.sqrt(ss, dtype=np.float32))


class Model:
    def __init__(self, path):
        self.cfg, self.w = load(path)
        c = self.cfg
        self.k = np.zeros((c["layers"], c["seq"], c["kv_heads"] * c["head"]), np.float32)
        self.v = np.zeros_like(self.k)
        half = c["head"] // 2
        self.freq = (1.0 / np.power(np.float32(10000.0), np.arange(half, dtype=np.float32) * 2 / np.float32(c["head"]))).astype(np.float32)

    def rope(self, x, pos, nheads):
        c = self.cfg
        ang = np.float32(pos) * self.freq
        cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
        x = x.reshape(nheads, c["head"] // 2, 2)
        a, b = x[..., 0].copy(), x[..., 1].copy()
        x[..., 0] = a * cos - b * sin
        x[..., 1] = a * sin + b * cos
        return x.reshape(-1)

    def forward(self, token, pos):
        c, w = self.cfg, self.w
        x = w["emb"][token].copy()
        group = c["heads"] // c["kv_heads"]
        for l in range(c["layers"]):
            xb = rmsnorm(x, w["att_norm"][l])
            q = self.rope(w["wq"][l] @ xb, pos, c["heads"])
            self.k[l, pos] = self.rope(w["wk"][l] @ xb, pos, c["kv_heads"])
            self.v[l, pos] = w["wv"][l] @ xb
            out = np.zeros(c["dim"], np.float32)
            for h in range(c["heads"]):
                kv = (h // group) * c["head"]
                qh = q[h * c["head"]:(h + 1) * c["head"]]
                keys = self.k[l, :pos + 1, kv:kv + c["head"]]
                att = (keys @ qh) / np.sqrt(np.float32(c["head"]))
                att = np.exp(att - att.max())
                att /= att.sum()
                out[h * c["head"]:(h + 1) * c["head"]] = att @ self.v[l, :pos + 1, kv:kv + c["head"]]
            x = x + w["wo"][l] @ out
            xb = rmsnorm(x, w["ffn_norm"][l])
            h1 = w["w1"][l] @ xb
            h3 = w["w3"][l] @ xb
            x = x + w["w2"][l] @ ((h1 / (1 + np.exp(-h1))) * h3)
        x = rmsnorm(x, w["norm"])
        return (w["cls"] @ x).astype(np.float32)


def load_tokenizer(path, vocab):
    raw = open(path, "rb").read()
    pos = 4
    pieces = []
    for _ in range(vocab):
        _score, n = struct.unpack_from("fi", raw, pos)
        pos += 8
        pieces.append(raw[pos:pos + n])
        pos += n
    return pieces


class XorShift:
    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFFFFFFFFFF

    def u32(self):
        s = self.s
        s ^= s >> 12
        s ^= (s << 25) & 0xFFFFFFFFFFFFFFFF
        s ^= s >> 27
        self.s = s
        return ((s * 0x2545F4914F6CDD1D) & 0xFFFFFFFFFFFFFFFF) >> 32

    def f32(self):
        return np.float32(self.u32() >> 8) / np.float32(16777216.0)


def sample(logits, temperature, topp, rng):
    if temperature == 0:
        return int(np.argmax(logits))
    p = (logits / np.float32(temperature)).astype(np.float32)
    p = np.exp(p - p.max()).astype(np.float32)
    p = (p / p.sum(dtype=np.float32)).astype(np.float32)
    coin = rng.f32()
    if topp <= 0 or topp >= 1:
        cdf = np.cumsum(p, dtype=np.float32)
        idx = np.nonzero(coin < cdf)[0]
        return int(idx[0]) if len(idx) else len(p) - 1
    cutoff = np.float32((1 - np.float32(topp)) / np.float32(len(p) - 1))
    cand = np.nonzero(p >= cutoff)[0]
    cand = cand[np.argsort(-p[cand], kind="stable")]
    cum = np.float32(0)
    last = len(cand) - 1
    for i, t in enumerate(cand):
        cum = np.float32(cum + p[t])
        if cum > np.float32(topp):
            last = i
            break
    r = np.float32(coin * cum)
    cdf = np.float32(0)
    for t in cand[:last + 1]:
        cdf = np.float32(cdf + p[t])
        if r < cdf:
            return int(t)
    return int(cand[last])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("tokenizer")
    ap.add_argument("-t", type=float, default=1.0)
    ap.add_argument("-p", type=float, default=0.9)
    ap.add_argument("-s", type=int, default=1)
    ap.add_argument("-n", type=int, default=256)
    ap.add_argument("--logits", nargs=2, metavar=("TOKENS_CSV", "OUT"))
    a = ap.parse_args()
    m = Model(a.model)
    if a.logits:
        tokens = [int(t) for t in a.logits[0].split(",")]
        np.save(a.logits[1], np.stack([m.forward(t, i) for i, t in enumerate(tokens)]))
        return
    pieces = load_tokenizer(a.tokenizer, m.cfg["vocab"])
    rng = XorShift(a.s)
    token, out = 1, bytearray()
    for pos in range(min(a.n, m.cfg["seq"])):
        nxt = sample(m.forward(token, pos), a.t, a.p, rng)
        if nxt == 1:
            break
        piece = pieces[nxt]
        if token == 1 and piece.startswith(b" "):
            piece = piece[1:]
        if len(piece) == 6 and piece.startswith(b"<0x") and piece.endswith(b">"):
            b = int(piece[3:5], 16)
            piece = bytes([b]) if (32 <= b < 127 or 9 <= b <= 13) else b""
        out += piece
        token = nxt
    sys.stdout.buffer.write(bytes(out) + b"\n")


if __name__ == "__main__":
    main()
