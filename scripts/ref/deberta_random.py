"""Writes a model folder of microsoft/deberta-v3-base's shape with seeded random weights, for timing
and memory only (no accuracy can be read from it): 12 layers, hidden 768, 12 heads, FFN 3072,
vocabulary 128,100, relative attention with 256 log buckets up to 512 positions, c2p + p2c, shared
attention keys, a LayerNorm'd relative table, no absolute positions, no token types (its
config.json's keys and values); F32 model.safetensors named as DebertaV2Model saves them; no
export. The tokenizer is SPM_MODEL (copied as spm.model, with the Hub's tokenizer_config.json),
so the folder is laid out as a Hub DeBERTa-v3 folder is, whose pytorch_model.bin is here
safetensors.

    /usr/bin/python3 scripts/ref/deberta_random.py OUT_DIR SPM_MODEL
"""
import json
import os
import shutil
import sys

import torch

from mpnet import save_safetensors

CONFIG = {
    "model_type": "deberta-v2", "architectures": ["DebertaV2Model"], "hidden_size": 768, "num_hidden_layers": 12,
    "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512, "type_vocab_size": 0, "initializer_range": 0.02,
    "layer_norm_eps": 1e-7, "relative_attention": True, "max_relative_positions": -1, "pad_token_id": 0,
    "position_biased_input": False, "pos_att_type": ["p2c", "c2p"], "position_buckets": 256, "norm_rel_ebd": "layer_norm",
    "share_att_key": True, "vocab_size": 128100,
}


def weights(c):
    g = torch.Generator().manual_seed(0)
    H, I = c["hidden_size"], c["intermediate_size"]
    normal = lambda *shape: torch.randn(*shape, generator=g) * 0.02  # noqa: E731
    state = {"embeddings.word_embeddings.weight": normal(c["vocab_size"], H), "encoder.rel_embeddings.weight": normal(2 * c["position_buckets"], H)}
    for n in ("embeddings.LayerNorm", "encoder.LayerNorm"):
        state[f"{n}.weight"], state[f"{n}.bias"] = torch.ones(H), torch.zeros(H)
    for i in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for lin, (o, k) in {"attention.self.query_proj": (H, H), "attention.self.key_proj": (H, H), "attention.self.value_proj": (H, H),
                            "attention.output.dense": (H, H), "intermediate.dense": (I, H), "output.dense": (H, I)}.items():
            state[p + lin + ".weight"], state[p + lin + ".bias"] = normal(o, k), torch.zeros(o)
        for n in ("attention.output.LayerNorm", "output.LayerNorm"):
            state[p + n + ".weight"], state[p + n + ".bias"] = torch.ones(H), torch.zeros(H)
    return state


def main(out, spm):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    shutil.copy(spm, os.path.join(out, "spm.model"))
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": False, "vocab_type": "spm"}, f)
    state = weights(CONFIG)
    save_safetensors(state, os.path.join(out, "model.safetensors"))
    print(f"{out}: {sum(t.numel() for t in state.values()):,} parameters")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
