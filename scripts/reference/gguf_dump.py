#!/usr/bin/env python3
"""Dumps a GGUF file as gguf-py's GGUFReader sees it, for tests that check what llmq writes.

    gguf_dump.py FILE.gguf OUT.json OUT_TENSORS.bin

OUT.json: {"alignment", "data_offset", "fields": [{"key", "types", "value"}],
"tensors": [{"name", "shape" (outermost first), "type", "offset", "bytes"}]}. OUT_TENSORS.bin:
every tensor's stored bytes, in file order.
"""
import json
import sys

from gguf import GGUFReader


def main():
    path, out_json, out_bin = sys.argv[1:]
    reader = GGUFReader(path)
    fields = []
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        fields.append({"key": key, "types": [t.name for t in field.types], "value": field.contents()})
    tensors = []
    with open(out_bin, "wb") as raw:
        for t in reader.tensors:
            tensors.append({"name": t.name, "shape": [int(d) for d in reversed(t.shape.tolist())],
                            "type": t.tensor_type.name, "offset": int(t.data_offset), "bytes": int(t.n_bytes)})
            raw.write(t.data.tobytes())
    json.dump({"alignment": int(reader.alignment), "data_offset": int(reader.data_offset),
               "fields": fields, "tensors": tensors}, open(out_json, "w"))


if __name__ == "__main__":
    main()
