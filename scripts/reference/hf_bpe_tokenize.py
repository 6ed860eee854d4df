#!/usr/bin/env python3
"""Tokenizes texts with Hugging Face `tokenizers` built from a GGUF file's GPT-2 vocabulary.

An independent byte-level BPE (HF's Rust implementation) for checking llmq's tokenizer. The
pipeline is what SmolLM2's tokenizer.json declares: special tokens matched first, then (for the
`smollm` pre-tokenizer) every digit split off on its own, then GPT-2's byte-level split, then
the ranked merges.

    hf_bpe_tokenize.py MODEL.gguf TEXTS.json OUT.json

TEXTS.json holds a list of strings; OUT.json receives a list of token-id lists.
"""
import json
import sys

from gguf import GGUFReader
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers


def main():
    model_path, texts_path, out_path = sys.argv[1:]
    reader = GGUFReader(model_path)
    field = lambda key: reader.fields[key].contents()
    tokens = field("tokenizer.ggml.tokens")
    types = field("tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in field("tokenizer.ggml.merges")]
    pre = field("tokenizer.ggml.pre") if "tokenizer.ggml.pre" in reader.fields else "gpt-2"

    bpe = models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges, fuse_unk=False)
    tokenizer = Tokenizer(bpe)
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre == "smollm":
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    else:
        tokenizer.pre_tokenizer = byte_level
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, types) if k in (3, 4)])

    texts = json.load(open(texts_path, encoding="utf-8"))
    out = [tokenizer.encode(t, add_special_tokens=False).ids for t in texts]
    json.dump(out, open(out_path, "w"))


if __name__ == "__main__":
    main()
