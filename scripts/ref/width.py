"""Reference for width pruning: the tiny RoBERTa fixture with given heads and FFN neurons removed.

Removing neuron j of block b's FFN drops row j of intermediate.dense (weight and bias) and
column j of output.dense.weight; removing head h drops rows h·hd..(h+1)·hd of the query, key
and value projections and the same columns of attention.output.dense.weight. Nothing is refitted,
so ProbeScale's surgery with the same units and the original output-projection rows must match
this forward pass. Writes the last hidden state per case as JSON (committed under test/fixtures/refs/, so
`npm test` never needs Python):

    /usr/bin/python3 scripts/ref/width.py test/fixtures/tiny-roberta \
        test/fixtures/refs/tiny-roberta.refs.json test/fixtures/refs/tiny-roberta.width.json
"""

import json
import sys

import torch

from roberta import RobertaReference

# Kept blocks and, per block, the FFN neurons (64 per block) and heads (2 per block) kept.
CASES = [
    {"kept": [0, 1, 2, 3], "ffnKeep": {"1": list(range(0, 64, 2)), "3": [5, 9, 17, 33, 40, 63]}, "headKeep": {"2": [1]}},
    {"kept": [0, 2], "ffnKeep": {"0": list(range(32, 64)), "2": list(range(0, 48))}, "headKeep": {"0": [0], "2": [1]}},
    {"kept": [1, 3], "ffnKeep": {"3": [0]}, "headKeep": {}},
]


def narrowed(model_dir, ffn_keep, head_keep):
    m = RobertaReference(model_dir)
    for b, keep in head_keep.items():
        p = "encoder.layer.%s.attention." % b
        idx = torch.tensor([h * m.hd + i for h in keep for i in range(m.hd)], dtype=torch.long)
        for n in ("self.query", "self.key", "self.value"):
            m.w[p + n + ".weight"] = m.w[p + n + ".weight"][idx]
            m.w[p + n + ".bias"] = m.w[p + n + ".bias"][idx]
        m.w[p + "output.dense.weight"] = m.w[p + "output.dense.weight"][:, idx]
    for b, keep in ffn_keep.items():
        p = "encoder.layer.%s." % b
        idx = torch.tensor(keep, dtype=torch.long)
        m.w[p + "intermediate.dense.weight"] = m.w[p + "intermediate.dense.weight"][idx]
        m.w[p + "intermediate.dense.bias"] = m.w[p + "intermediate.dense.bias"][idx]
        m.w[p + "output.dense.weight"] = m.w[p + "output.dense.weight"][:, idx]
    return m


def main(model_dir, refs_path, out_path):
    torch.set_num_threads(2)
    with open(refs_path, encoding="utf-8") as f:
        refs = json.load(f)
    ids = torch.tensor(refs["input_ids"])
    mask = torch.tensor(refs["attention_mask"])
    cases = []
    for c in CASES:
        h = narrowed(model_dir, c["ffnKeep"], c["headKeep"]).forward(ids, mask, layers=c["kept"])[-1]
        cases.append({**c, "shape": list(h.shape), "last_hidden_state": [round(v, 7) for v in h.flatten().tolist()]})
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"input_ids": refs["input_ids"], "attention_mask": refs["attention_mask"], "cases": cases}, f)
    print("wrote %d cases to %s" % (len(cases), out_path))


if __name__ == "__main__":
    main(*sys.argv[1:4])
