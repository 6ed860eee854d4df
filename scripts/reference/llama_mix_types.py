#!/usr/bin/env python3
"""The tensor types llama.cpp's llama-quantize chooses for each of its mixes (Q4_K_M, IQ4_XS, ...).

    llama_mix_types.py LLAMA_QUANTIZE MODEL.gguf OUT.json MIX [MIX ...]

Quantizes MODEL.gguf (an f32 or f16 llama GGUF; llmq synth + llmq convert make shaped ones) with
each mix, reads the result with gguf-py and writes {"model": ..., "mixes": {MIX: {"file_type": N,
"tensors": {name: type}}}}. Tests/Fixtures/llama-mixes holds the output for two shapes; the tests
compare llmq's plans with it.
"""
import json
import os
import subprocess
import sys
import tempfile

from gguf import GGUFReader


def main():
    quantize, model, out, *mixes = sys.argv[1:]
    result = {"model": os.path.basename(model), "mixes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for mix in mixes:
            target = os.path.join(tmp, mix + ".gguf")
            subprocess.run([quantize, model, target, mix], check=True, capture_output=True)
            reader = GGUFReader(target)
            file_type = int(reader.fields["general.file_type"].parts[-1][0])
            tensors = {t.name: t.tensor_type.name.lower().replace("_k", "_K") for t in reader.tensors}
            result["mixes"][mix] = {"file_type": file_type, "tensors": tensors}
            os.remove(target)
            print(f"{mix}: {len(tensors)} tensors", file=sys.stderr)
    with open(out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
