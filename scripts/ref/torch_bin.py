#!/usr/bin/env python3
"""Writes the PyTorch checkpoint fixtures of test/fixtures/pytorch with torch.save itself.

Each holds the same numbers as a fixture's model.safetensors (dtypes kept), laid out as checkpoints
on the Hub are:
  tiny-bert/pytorch_model.bin      BertForPreTraining-style names (bert.…), the position_ids buffer
                                   older transformers saved (int64), and cls.predictions.decoder.weight
                                   tied to the word embeddings (one storage, two names)
  tiny-bert-sharded/               pytorch_model-0000{1,2}-of-00002.bin and pytorch_model.bin.index.json
  tiny-t5/pytorch_model.bin        T5's shared.weight and encoder.embed_tokens.weight tied
  tiny-bert-legacy/pytorch_model.bin   tiny-bert in the format torch.save wrote before PyTorch 1.6
                                   (_use_new_zipfile_serialization=False), as 2018–2020 checkpoints are
  hostile/legacy.bin               one tensor (ones(3)) in the format before PyTorch 1.6 (not a zip)
  hostile/system.bin               a zip checkpoint whose data.pkl calls posix.system("touch <marker>"),
                                   as a malicious file would; ProbeScale must refuse it without running it
  hostile/transposed.bin           a tensor saved as a transposed view (stride (1, 3)): not contiguous
  hostile/bigendian.bin            a checkpoint whose byteorder entry says big

test/unit/core/model/pytorchCheckpoint.test.ts checks the graphs built from these against the ones
built from the safetensors. Needs Debian's python3-torch; never a test dependency.

  /usr/bin/python3 scripts/ref/torch_bin.py test/fixtures test/fixtures/pytorch [--hostile-only | --legacy-only]
"""
import collections
import json
import os
import struct
import sys
import zipfile

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def load(path):
    """{name: tensor} of a safetensors file, in its dtypes, in header order."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
        data = f.read()
    out = collections.OrderedDict()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype=np.dtype(DTYPES[info["dtype"]]).newbyteorder("<")).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def save(state, path):
    sd = collections.OrderedDict(state)
    sd._metadata = {"": {"version": 1}}
    torch.save(sd, path)


def main(fixtures, out, only=None):
    if only == "--hostile-only":
        return write_hostile(os.path.join(out, "hostile"))
    if only == "--legacy-only":
        bert = load(os.path.join(fixtures, "tiny-bert", "model.safetensors"))
        os.makedirs(os.path.join(out, "tiny-bert-legacy"), exist_ok=True)
        sd = collections.OrderedDict(bert)
        sd._metadata = {"": {"version": 1}}
        return torch.save(sd, os.path.join(out, "tiny-bert-legacy", "pytorch_model.bin"), _use_new_zipfile_serialization=False)
    bert = load(os.path.join(fixtures, "tiny-bert", "model.safetensors"))
    os.makedirs(os.path.join(out, "tiny-bert"), exist_ok=True)
    with open(os.path.join(fixtures, "tiny-bert", "config.json")) as f:
        max_pos = json.load(f)["max_position_embeddings"]
    pretraining = collections.OrderedDict((f"bert.{k}", v) for k, v in bert.items())
    pretraining["bert.embeddings.position_ids"] = torch.arange(max_pos).unsqueeze(0)
    pretraining["cls.predictions.bias"] = torch.zeros(bert["embeddings.word_embeddings.weight"].shape[0])
    pretraining["cls.predictions.decoder.weight"] = pretraining["bert.embeddings.word_embeddings.weight"]
    save(pretraining, os.path.join(out, "tiny-bert", "pytorch_model.bin"))

    sharded = os.path.join(out, "tiny-bert-sharded")
    os.makedirs(sharded, exist_ok=True)
    names = list(bert)
    half = len(names) // 2
    weight_map = {}
    for i, part in enumerate([names[:half], names[half:]]):
        file = f"pytorch_model-{i + 1:05d}-of-00002.bin"
        save({k: bert[k] for k in part}, os.path.join(sharded, file))
        weight_map.update({k: file for k in part})
    total = sum(t.numel() * t.element_size() for t in bert.values())
    with open(os.path.join(sharded, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)

    os.makedirs(os.path.join(out, "tiny-bert-legacy"), exist_ok=True)
    sd = collections.OrderedDict(bert)
    sd._metadata = {"": {"version": 1}}
    torch.save(sd, os.path.join(out, "tiny-bert-legacy", "pytorch_model.bin"), _use_new_zipfile_serialization=False)

    t5 = load(os.path.join(fixtures, "tiny-t5-encoder", "model.safetensors"))
    t5["encoder.embed_tokens.weight"] = t5["shared.weight"]
    os.makedirs(os.path.join(out, "tiny-t5"), exist_ok=True)
    save(t5, os.path.join(out, "tiny-t5", "pytorch_model.bin"))

    write_hostile(os.path.join(out, "hostile"))
    print("wrote", out)


def write_hostile(hostile):
    os.makedirs(hostile, exist_ok=True)
    torch.save({"w": torch.ones(3)}, os.path.join(hostile, "legacy.bin"), _use_new_zipfile_serialization=False)
    # posix.system("touch system-ran") by pickle opcodes: GLOBAL, the argument tuple, REDUCE.
    evil = b"\x80\x02cposix\nsystem\nq\x00X\x10\x00\x00\x00touch system-ranq\x01\x85q\x02Rq\x03."
    with zipfile.ZipFile(os.path.join(hostile, "system.bin"), "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", evil)
        z.writestr("archive/version", "3\n")
    torch.save({"w": torch.arange(12, dtype=torch.float32).reshape(3, 4).t()}, os.path.join(hostile, "transposed.bin"))
    # torch.save's own layout with the byteorder entry newer versions write, saying big.
    src = os.path.join(hostile, "transposed.bin")
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(os.path.join(hostile, "bigendian.bin"), "w", zipfile.ZIP_STORED) as w:
        for info in z.infolist():
            w.writestr(info.filename, z.read(info.filename))
        w.writestr(info.filename.split("/")[0] + "/byteorder", "big")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
