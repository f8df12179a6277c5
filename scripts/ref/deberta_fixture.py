"""Writes a tiny DeBERTa-v2/v3 fixture with Python transformers itself (not a transcription): a
DebertaV2Model of DeBERTa-v3's kind (relative attention with log buckets, c2p + p2c, shared
attention keys, LayerNorm'd relative embeddings, no absolute positions, no token types) at hidden 32,
4 layers, 2 heads, seeded random weights scaled so that attention matters; its tokenizer; the
references of 6 layer subsets (transformers' own model with the other layers deleted from
encoder.layer, which is what a pruned checkpoint computes); and torch.onnx.export graphs.

    python3 scripts/ref/deberta_fixture.py OUT_DIR SPM_MODEL BERT_TOKENIZER_DIR [--v1]

--v1 (written in the thirty-seventh session, not yet run: no GPU machine was lent) writes DeBERTa v1
instead (model_type deberta, DebertaModel: one in_proj for Q, K and V with q_bias and v_bias,
pos_proj and pos_q_proj for the relative terms, relative positions without buckets), with the same
sizes, texts, subsets and exports, for a future builder of microsoft/deberta-base's kind.

SPM_MODEL (a Unigram sentencepiece model; "-" for none) is tried first as DeBERTa-v3's spm.model; where
DebertaV2Tokenizer cannot be made from it, BERT_TOKENIZER_DIR's WordPiece files are used. Needs torch,
transformers, onnx and onnxruntime (the lent GPU machine's image); runs on CPU in a few seconds.
"""
import json
import os
import shutil
import sys
import traceback

import numpy as np
import torch
import transformers
from transformers import AutoTokenizer, DebertaV2Config, DebertaV2Model

TEXTS = [
    "The house stood on a hill above the town.",
    "She paused a moment to recover from the emotion of hearing herself so spoken of.",
    "Free entry in 2 a wkly comp to win FA Cup final tkts 21st May 2005. Text FA to 87121 to receive entry question(std txt rate)T&C's apply 08452810075over18's",
    "Ok lar... Joking wif u oni...",
    "He had been a friend of her father's, and would be of use to her now in more ways than one, if she would let him.",
    "No.",
]
SUBSETS = ["0,1,2,3", "0,1", "1,3", "2,3", "0,2,3", "3"]


def tokenizer(out, spm, bert, log):
    try:
        if spm == "-":
            raise ValueError("no sentencepiece model given")
        shutil.copy(spm, os.path.join(out, "spm.model"))
        tok = transformers.DebertaV2Tokenizer(vocab_file=os.path.join(out, "spm.model"))
        tok.model_max_length = 128
        tok.save_pretrained(out)
        log["tokenizer"] = f"DebertaV2Tokenizer from {os.path.basename(spm)}"
        return AutoTokenizer.from_pretrained(out)
    except Exception as e:  # noqa: BLE001 - fall back to WordPiece, saying why
        log["spmError"] = f"{type(e).__name__}: {e}"
        for f in os.listdir(out):
            if os.path.isfile(os.path.join(out, f)):
                os.remove(os.path.join(out, f))
        for f in os.listdir(bert):
            if os.path.isfile(os.path.join(bert, f)) and f not in ("config.json", "model.safetensors"):
                shutil.copy(os.path.join(bert, f), out)
        log["tokenizer"] = "BERT WordPiece files"
        return AutoTokenizer.from_pretrained(out)


def model_for(vocab, v1=False):
    if v1:
        cfg = transformers.DebertaConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
                                         max_position_embeddings=128, relative_attention=True, max_relative_positions=-1,
                                         pos_att_type=["p2c", "c2p"], position_biased_input=False, type_vocab_size=0,
                                         layer_norm_eps=1e-7, hidden_act="gelu", pad_token_id=0)
        return randomized(lambda: transformers.DebertaModel(cfg).eval())
    cfg = DebertaV2Config(vocab_size=vocab, hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
                          max_position_embeddings=128, relative_attention=True, position_buckets=16, max_relative_positions=-1,
                          pos_att_type=["p2c", "c2p"], norm_rel_ebd="layer_norm", share_att_key=True, position_biased_input=False,
                          type_vocab_size=0, layer_norm_eps=1e-7, hidden_act="gelu", pad_token_id=0)
    return randomized(lambda: DebertaV2Model(cfg).eval())


def randomized(make):
    """The model `make` builds, with seeded random weights scaled (std 0.3) so that attention matters
    (seeded before it is built, as the committed v3 fixture was)."""
    torch.manual_seed(0)
    m = make()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if p.dim() > 1:
                p.normal_(0, 0.3)
            elif "LayerNorm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.normal_(0, 0.1)
    return m


def subset_model(m, kept):
    import copy
    c = copy.deepcopy(m)
    c.encoder.layer = torch.nn.ModuleList([c.encoder.layer[i] for i in kept])
    c.config.num_hidden_layers = len(kept)
    return c


def export(m, ids, mask, onnx_dir, log):
    """Both exporters where they work: onnx/model.onnx (TorchScript) and onnx/model_dynamo.onnx."""
    for dynamo in (False, True):
        path = os.path.join(onnx_dir, "model_dynamo.onnx" if dynamo else "model.onnx")
        try:
            kw = dict(input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"], opset_version=14 if not dynamo else 18)
            if dynamo:
                b, s = torch.export.Dim("batch_size"), torch.export.Dim("sequence_length", max=128)
                kw["dynamic_shapes"] = {"input_ids": {0: b, 1: s}, "attention_mask": {0: b, 1: s}}
            else:
                kw["dynamic_axes"] = {"input_ids": {0: "batch_size", 1: "sequence_length"}, "attention_mask": {0: "batch_size", 1: "sequence_length"}, "last_hidden_state": {0: "batch_size", 1: "sequence_length"}}
            torch.onnx.export(m, (ids, mask), path, dynamo=dynamo, **kw)
            import onnx
            proto = onnx.load(path, load_external_data=True)
            onnx.save(proto, path, save_as_external_data=False)
            for f in os.listdir(os.path.dirname(path)):
                if f.endswith(".data"):
                    os.remove(os.path.join(os.path.dirname(path), f))
            import onnxruntime as ort
            s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            got = s.run(["last_hidden_state"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
            with torch.no_grad():
                want = m(input_ids=ids, attention_mask=mask).last_hidden_state.numpy()
            real = mask.numpy().astype(bool)
            log[f"export{'Dynamo' if dynamo else 'TorchScript'}"] = {"maxAbsDiff": float(np.abs(got - want)[real].max()), "nodes": len(proto.graph.node), "names": [n.name for n in proto.graph.node][:60]}
        except Exception as e:  # noqa: BLE001 - the other exporter is tried too
            log[f"export{'Dynamo' if dynamo else 'TorchScript'}Error"] = f"{type(e).__name__}: {e}"[:2000] + traceback.format_exc()[-1500:]
            if os.path.exists(path):
                os.remove(path)


def main():
    out, spm, bert = sys.argv[1:4]
    v1 = "--v1" in sys.argv[4:]
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    log = {"transformers": transformers.__version__, "torch": torch.__version__, "model": "DebertaModel (v1)" if "--v1" in sys.argv[4:] else "DebertaV2Model"}
    tok = tokenizer(out, spm, bert, log)
    m = model_for(len(tok), v1)
    m.save_pretrained(out, safe_serialization=True)
    enc = tok(TEXTS, truncation=True, max_length=48, padding=True, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    refs = {"texts": TEXTS, "input_ids": ids.tolist(), "attention_mask": mask.tolist(), "subsets": {}}
    with torch.no_grad():
        for key in SUBSETS:
            y = subset_model(m, [int(k) for k in key.split(",")])(input_ids=ids, attention_mask=mask).last_hidden_state
            refs["subsets"][key] = {"shape": list(y.shape), "last_hidden_state": [round(v, 7) for v in y.flatten().tolist()]}
    log["idsPerText"] = [tok(t, truncation=True, max_length=48)["input_ids"] for t in TEXTS]
    log["pairIds"] = tok(TEXTS[0], TEXTS[1], truncation=True, max_length=48)["input_ids"]
    json.dump(refs, open(os.path.join(out, "refs.json"), "w"))
    export(m, ids, mask, os.path.join(out, "onnx"), log)
    json.dump(log, open(os.path.join(out, "log.json"), "w"), indent=1)
    print(json.dumps({k: v for k, v in log.items() if k not in ("idsPerText", "pairIds")}, indent=1)[:4000])


if __name__ == "__main__":
    main()
