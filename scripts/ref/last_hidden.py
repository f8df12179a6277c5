"""last_hidden_state of a RoBERTa model folder for given token ids, from the independent
PyTorch reference in roberta.py (reads config.json + model.safetensors; fp16/bf16 cast to float32).

    /usr/bin/python3 scripts/ref/last_hidden.py MODEL_DIR IDS.json OUT.f32

IDS.json holds {"input_ids": [[...]], "attention_mask": [[...]]} (right-padded, equal lengths);
OUT.f32 receives the [batch, seq, hidden] float32 values, little-endian, row-major.
Used by scripts/compareBuiltGraph.ts.
"""

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from roberta import RobertaReference  # noqa: E402

if __name__ == "__main__":
    model_dir, ids_file, out_file = sys.argv[1:4]
    torch.set_num_threads(1)
    with open(ids_file, encoding="utf-8") as f:
        batch = json.load(f)
    ids = torch.tensor(batch["input_ids"], dtype=torch.long)
    mask = torch.tensor(batch["attention_mask"], dtype=torch.long)
    last = RobertaReference(model_dir).forward(ids, mask)[-1]
    np.ascontiguousarray(last.numpy(), dtype="<f4").tofile(out_file)
