"""Reference implementation of ProbeScale's layer-probing protocol (Python).

Independent of the TypeScript engine (no shared code): own tokenizer (bpe.py),
own RoBERTa forward (roberta.py), scikit-learn probes. Benchmark / check tool
only, never a test dependency.

Protocol, per task:
  * first --limit-train / --limit-test rows of train.jsonl / test.jsonl (file order)
  * tokenize: <s> + content truncated to max_length-2 + </s>  (max_length 128)
  * forward in batches (no grad, float32); hidden states h_0 (embeddings) .. h_L
  * per layer: masked mean pooling over all attention-mask positions (specials included)
  * StandardScaler fitted on train; LogisticRegression(C=1.0, max_iter=5000) (lbfgs)
  * test accuracy and macro-F1 per layer
Labels are sorted as strings unless all are integers.

    /usr/bin/python3 scripts/ref/probe_reference.py \
        --model models/probescale-roberta-mini --weights WEIGHTS \
        --task spam=data/tasks/spam --task bshift=data/tasks/bshift --task sentlen=data/tasks/sentlen \
        --limit-train 3000 --limit-test 1000 --out /tmp/ref-roberta-mini.json

WEIGHTS: the model's fp16 model.safetensors (the repository's copy of the model holds ONNX only).
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import ByteLevelBPETokenizer  # noqa: E402
from roberta import RobertaReference  # noqa: E402


def read_jsonl(path, limit):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rows.append(json.loads(line))
            if limit is not None and len(rows) >= limit:
                break
    return [r["text"] for r in rows], [r["label"] for r in rows]


def label_order(labels):
    uniq = set(labels)
    if all(isinstance(x, int) and not isinstance(x, bool) for x in uniq) or all(
        isinstance(x, str) and x.strip().lstrip("+-").isdigit() for x in uniq
    ):
        return sorted(uniq, key=lambda x: int(x))
    return sorted(uniq, key=str)


def pooled_features(model, tok, texts, max_length, batch_size):
    """Return array [L+1, N, H] (float64) of masked-mean-pooled hidden states."""
    encs = [tok(t, truncation=True, max_length=max_length)["input_ids"] for t in texts]
    order = sorted(range(len(encs)), key=lambda i: len(encs[i]))  # length-bucketed batches
    feats = None
    ntok = 0
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        S = max(len(encs[i]) for i in idx)
        ids = torch.full((len(idx), S), tok.pad_id, dtype=torch.long)
        mask = torch.zeros((len(idx), S), dtype=torch.long)
        for r, i in enumerate(idx):
            ids[r, : len(encs[i])] = torch.tensor(encs[i])
            mask[r, : len(encs[i])] = 1
        ntok += int(mask.sum())
        hs = model.forward(ids, mask)
        if feats is None:
            feats = np.zeros((len(hs), len(texts), hs[0].shape[-1]), dtype=np.float64)
        m = mask.to(torch.float64)[:, :, None]
        for l, h in enumerate(hs):
            pooled = (h.to(torch.float64) * m).sum(1) / m.sum(1)
            feats[l, idx] = pooled.numpy()
    return feats, ntok


def probe_layer(Xtr, ytr, Xte, yte):
    sc = StandardScaler().fit(Xtr)
    clf = LogisticRegression(C=1.0, max_iter=5000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(sc.transform(Xtr), ytr)
    converged = not any("converge" in str(w.message).lower() for w in caught)
    pred = clf.predict(sc.transform(Xte))
    return (
        float(accuracy_score(yte, pred)),
        float(f1_score(yte, pred, average="macro")),
        converged,
        int(np.max(clf.n_iter_)),
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="model dir (config.json, vocab.json, merges.txt, model.safetensors)")
    ap.add_argument("--weights", default=None, help="safetensors path if not <model>/model.safetensors")
    ap.add_argument("--task", action="append", required=True, metavar="NAME=PATH")
    ap.add_argument("--limit-train", type=int, default=None)
    ap.add_argument("--limit-test", type=int, default=None)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    t_start = time.time()
    tok = ByteLevelBPETokenizer(args.model, max_length=args.max_length)
    model = RobertaReference(args.model, args.weights)

    result = {}
    for spec in args.task:
        name, path = spec.split("=", 1)
        t0 = time.time()
        xtr_text, ytr_raw = read_jsonl(os.path.join(path, "train.jsonl"), args.limit_train)
        xte_text, yte_raw = read_jsonl(os.path.join(path, "test.jsonl"), args.limit_test)
        classes = label_order(ytr_raw + yte_raw)
        cidx = {c: i for i, c in enumerate(classes)}
        ytr = np.array([cidx[y] for y in ytr_raw])
        yte = np.array([cidx[y] for y in yte_raw])
        ftr, ntr = pooled_features(model, tok, xtr_text, args.max_length, args.batch_size)
        fte, nte = pooled_features(model, tok, xte_text, args.max_length, args.batch_size)
        t1 = time.time()
        layers = []
        for l in range(ftr.shape[0]):
            acc, f1, conv, nit = probe_layer(ftr[l], ytr, fte[l], yte)
            layers.append({"layer": l, "accuracy": acc, "macroF1": f1, "converged": conv, "nIter": nit})
        t2 = time.time()
        result[name] = {
            "layers": layers,
            "classes": [str(c) for c in classes],
            "nTrain": len(ytr),
            "nTest": len(yte),
            "tokens": {"train": ntr, "test": nte},
            "seconds": {"extract": round(t1 - t0, 2), "probe": round(t2 - t1, 2)},
        }
        print("\n== %s  (train %d, test %d, classes %s; extract %.1fs, probe %.1fs)"
              % (name, len(ytr), len(yte), [str(c) for c in classes], t1 - t0, t2 - t1))
        print("layer   acc %   macroF1 %  iters")
        for r in layers:
            print("%5d  %6.2f    %6.2f    %5d%s" % (r["layer"], 100 * r["accuracy"], 100 * r["macroF1"],
                                                  r["nIter"], "" if r["converged"] else "  (not converged)"))
        sys.stdout.flush()

    wall = time.time() - t_start
    out = dict(result)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
    print("\nwall time %.1fs; wrote %s" % (wall, args.out))


if __name__ == "__main__":
    main()
