"""Loads pruned `model.safetensors` + `config.json` written by `probescale prune` the way a
Hugging Face RoBERTa loader does (HF tensor names, blocks 0..k-1, num_hidden_layers = k) and
checks the forward pass against PyTorch's reference outputs for the same kept blocks.

    npm run compile
    /usr/bin/python3 scripts/ref/check_pruned_safetensors.py

Independent of the engine: the forward pass is scripts/ref/roberta.py.
"""
import json
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(__file__))
from roberta import RobertaReference  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.join(ROOT, "test", "fixtures", "tiny-roberta")
REFS = os.path.join(ROOT, "test", "fixtures", "refs", "tiny-roberta.refs.json")
CLI = os.path.join(ROOT, "out", "src", "cli", "main.js")


def main():
    refs = json.load(open(REFS, encoding="utf-8"))
    ids = torch.tensor(refs["input_ids"])
    mask = torch.tensor(refs["attention_mask"])
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for key, sub in refs["subsets"].items():
            out = os.path.join(tmp, key.replace(",", "_"))
            subprocess.run(["node", CLI, "prune", MODEL, "--layers", key, "--out", out, "-q"], check=True, stdout=subprocess.DEVNULL)
            cfg = json.load(open(os.path.join(out, "config.json"), encoding="utf-8"))
            m = RobertaReference(out)  # reads the pruned config.json and model.safetensors
            y = m.forward(ids, mask)[-1]
            ref = torch.tensor(sub["last_hidden_state"], dtype=torch.float32).view(*sub["shape"])
            d = (y - ref).abs().max().item()
            good = d <= 1e-4 and cfg["num_hidden_layers"] == len(key.split(","))
            ok &= good
            print("kept %-8s num_hidden_layers %d  max|diff| %.3g  %s" % (key, cfg["num_hidden_layers"], d, "OK" if good else "FAIL"))
    print("pruned safetensors reproduce PyTorch:", ok)
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
