"""Loads the folders scripts/hfPrep.ts wrote with Python transformers, as a user of the pruned model
would, and compares them with what ProbeScale computed for them:

- tokenizer: AutoTokenizer.from_pretrained(folder) on the same texts (truncation=True,
  max_length as ProbeScale used; pairs with the default longest_first) against ProbeScale's ids
  (and token type ids of pairs where the model has a token-type table);
- model: the folder's model.safetensors through AutoModel (T5EncoderModel / UMT5EncoderModel /
  MT5EncoderModel for T5 types), float32, eager attention, on ProbeScale's padded batch, against
  the last_hidden_state of the ONNX graph ProbeScale committed, over real tokens; and what
  from_pretrained reported as missing, unexpected or mismatched.

    python3 scripts/ref/hf_check.py PREP_DIR OUT.json

Needs torch and transformers (not installable on the development machines: no PyPI); runs on CPU.
Exits 1 when a tokenizer differs or a model differs by more than --tol (default 1e-4).
"""
import argparse
import inspect
import json
import os
import sys
import traceback

import numpy as np
import torch
import transformers
from transformers import AutoModel, AutoTokenizer

ENCODERS = {"t5": "T5EncoderModel", "mt5": "MT5EncoderModel", "umt5": "UMT5EncoderModel"}


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b)) if len(a) != len(b) else None


def check_tokenizer(folder, inp):
    tok = AutoTokenizer.from_pretrained(folder)
    out = {"class": type(tok).__name__, "mismatches": []}
    n = inp["maxLength"]
    for kind, texts, ours in (("single", [(t,) for t in inp["texts"]], inp["ids"]), ("pair", [tuple(p) for p in inp["pairs"]], inp["pairIds"])):
        for args, mine in zip(texts, ours):
            enc = tok(*args, truncation=True, max_length=n)
            theirs = list(enc["input_ids"])
            at = first_difference(mine, theirs)
            if at is not None:
                out["mismatches"].append({"kind": kind, "text": args[0][:80], "at": at, "probescale": mine[max(0, at - 3):at + 5], "transformers": theirs[max(0, at - 3):at + 5], "lengths": [len(mine), len(theirs)], **diagnose(folder, tok, args, n)})
    return out


def diagnose(folder, tok, args, n):
    """What each text's content length is, and what the tokenizers library alone gives (tokenizer.json, truncation at n)."""
    d = {"content": [len(tok(t, add_special_tokens=False)["input_ids"]) for t in args], "mro": [c.__name__ for c in type(tok).__mro__][:4]}
    path = os.path.join(folder, "tokenizer.json")
    if os.path.exists(path):
        from tokenizers import Tokenizer
        raw = Tokenizer.from_file(path)
        raw.no_padding()
        raw.enable_truncation(n)
        d["tokenizersAlone"] = raw.encode(*args).ids
    return d


def model_class(model_type):
    name = ENCODERS.get(model_type)
    return getattr(transformers, name) if name else AutoModel


def check_model(folder, inp, cfg):
    cls = model_class(cfg["model_type"])
    model, info = cls.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager", output_loading_info=True)
    model.eval()
    shape = inp["shape"]
    ids = torch.tensor(inp["input_ids"]).view(shape[0], shape[1])
    mask = torch.tensor(inp["attention_mask"]).view(shape[0], shape[1])
    kwargs = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in inspect.signature(model.forward).parameters and "token_type_ids" in inp:
        kwargs["token_type_ids"] = torch.tensor(inp["token_type_ids"]).view(shape[0], shape[1])
    with torch.no_grad():
        hf = model(**kwargs).last_hidden_state.float().numpy()
    ours = np.fromfile(os.path.join(folder, "probescale-check", "hidden.bin"), dtype=np.float32).reshape(shape)
    real = mask.numpy().astype(bool)
    diff = float(np.abs(hf - ours)[real].max())
    default_dtype = str(cls.from_pretrained(folder).dtype)
    loading = {k: [str(x) for x in v] for k, v in info.items() if v}
    return {"class": type(model).__name__, "layers": count_layers(model), "maxAbsDiff": diff, "expectedGap": cfg.get("probescale", {}).get("pytorch"), "scale": float(np.abs(hf)[real].max()), "loading": loading, "defaultDtype": default_dtype}


def check_sentence_transformers(folder, inp):
    """SentenceTransformer(folder) embeddings against ProbeScale's hidden state pooled as its modules say (mean, then L2 normalised)."""
    from sentence_transformers import SentenceTransformer
    m = SentenceTransformer(folder, device="cpu")
    m.max_seq_length = inp["maxLength"]
    emb = m.encode(inp["texts"], convert_to_numpy=True, normalize_embeddings=False)
    shape = inp["shape"]
    hidden = np.fromfile(os.path.join(folder, "probescale-check", "hidden.bin"), dtype=np.float32).reshape(shape)
    mask = np.array(inp["attention_mask"], dtype=np.float32).reshape(shape[0], shape[1], 1)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    ours = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    return {"modules": [type(x).__name__ for x in m], "maxAbsDiff": float(np.abs(emb - ours).max())}


def count_layers(model):
    for name in ("block", "layers", "layer"):  # T5's blocks each hold a ModuleList named layer (its sublayers)
        for mod in model.modules():
            seq = getattr(mod, name, None)
            if isinstance(seq, torch.nn.ModuleList):
                return len(seq)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prep")
    ap.add_argument("out")
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    torch.manual_seed(0)
    results = {"transformers": transformers.__version__, "torch": torch.__version__, "cases": {}}
    bad = []
    for name in sorted(os.listdir(a.prep)):
        folder = os.path.join(a.prep, name)
        inp = json.load(open(os.path.join(folder, "probescale-check", "input.json"), encoding="utf-8"))
        cfg = json.load(open(os.path.join(folder, "config.json"), encoding="utf-8"))
        r = {}
        for part, fn in (("tokenizer", lambda: check_tokenizer(folder, inp)), ("model", lambda: check_model(folder, inp, cfg))):
            if part == "model" and not (os.path.exists(os.path.join(folder, "model.safetensors")) and "shape" in inp):
                continue
            try:
                r[part] = fn()
            except Exception as e:  # noqa: BLE001 - every case is reported, one failure does not stop the rest
                r[part] = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-1500:]}
        if os.path.exists(os.path.join(folder, "modules.json")):
            try:
                r["sentenceTransformers"] = check_sentence_transformers(folder, inp)
            except Exception as e:  # noqa: BLE001
                r["sentenceTransformers"] = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-1500:]}
            st = r["sentenceTransformers"]
            print(f"{name:28s} sentence-transformers {st.get('modules', '')} " + (f"diff {st['maxAbsDiff']:.2e}" if "error" not in st else "ERROR " + st["error"][:300]), flush=True)
            if "error" in st or st["maxAbsDiff"] > a.tol:
                bad.append(name)
        results["cases"][name] = r
        tok, mod = r.get("tokenizer", {}), r.get("model")
        line = f"{name:28s} tokenizer {tok.get('class', '-')}: {len(tok.get('mismatches', [])) if 'error' not in tok else 'ERROR ' + tok['error'][:120]}"
        if mod is not None:
            line += f" | model {mod.get('class', '-')} " + (f"layers {mod['layers']} diff {mod['maxAbsDiff']:.2e}{' (card: transformers runs it otherwise)' if mod['expectedGap'] else ''} (scale {mod['scale']:.2f}) loading {mod['loading'] or 'clean'} default {mod['defaultDtype']}" if "error" not in mod else "ERROR " + mod["error"][:300])
        print(line, flush=True)
        # A folder whose card says transformers runs it otherwise (a pruned ModernBERT's layer kinds) is reported, not failed.
        if "error" in tok or tok.get("mismatches") or (mod is not None and ("error" in mod or (mod["maxAbsDiff"] > a.tol and not mod["expectedGap"]))):
            bad.append(name)
    bad = sorted(set(bad))
    results["failed"] = bad
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
    print(f"{len(results['cases']) - len(bad)} of {len(results['cases'])} cases agree; differing: {bad}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
