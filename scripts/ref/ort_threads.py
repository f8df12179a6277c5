"""CPU latency of ONNX encoder graphs under ONNX Runtime at several thread counts, the first graph
taken as the reference: how a pruned graph's speedup over the full one changes with the cores a
machine has (the development machines have two).

    python3 scripts/ref/ort_threads.py OUT.json FULL.onnx PRUNED.onnx [...] [--threads 1,2,4,8,16]
        [--batches 1,32] [--seq 128] [--vocab 8192] [--seconds 0.5] [--repeats 5]

Inputs are random token ids in [5, vocab) with a full attention mask (token_type_ids zero where
the graph takes them). For each (graph, threads, batch): the median over --repeats of the mean
time of as many runs as fill --seconds, after two warm-up runs; intra-op threads as given, one
inter-op thread, every graph optimisation on (ONNX Runtime's default, as ProbeScale's sessions).
"""
import argparse
import json
import os
import statistics
import time

import numpy as np
import onnxruntime as ort


def session(path, threads):
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def feeds(sess, batch, seq, vocab, rng):
    ids = rng.integers(5, vocab, size=(batch, seq), dtype=np.int64)
    out = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    if any(i.name == "token_type_ids" for i in sess.get_inputs()):
        out["token_type_ids"] = np.zeros_like(ids)
    return out


def time_runs(sess, f, seconds, repeats):
    first = [o.name for o in sess.get_outputs()][:1]
    for _ in range(2):
        sess.run(first, f)
    t0 = time.perf_counter()
    sess.run(first, f)
    n = max(3, int(seconds / max(time.perf_counter() - t0, 1e-4)))
    means = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            sess.run(first, f)
        means.append((time.perf_counter() - t0) / n * 1000)
    return statistics.median(means), min(means), max(means), n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("graphs", nargs="+")
    ap.add_argument("--threads", default="1,2,4,8,16")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--seconds", type=float, default=0.5)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    res = {"onnxruntime": ort.__version__, "cpus": os.cpu_count(), "seq": a.seq, "rows": []}
    print(res, flush=True)
    for threads in [int(t) for t in a.threads.split(",")]:
        for batch in [int(b) for b in a.batches.split(",")]:
            ref = None
            for g in a.graphs:
                sess = session(g, threads)
                med, lo, hi, n = time_runs(sess, feeds(sess, batch, a.seq, a.vocab, rng), a.seconds, a.repeats)
                ref = ref or med
                row = {"graph": os.path.basename(os.path.dirname(os.path.dirname(g))) or g, "threads": threads, "batch": batch, "ms": med, "msMin": lo, "msMax": hi, "runs": n, "speedup": ref / med}
                res["rows"].append(row)
                print(f"threads {threads:2d} batch {batch:3d} {row['graph']:28s} {med:9.3f} ms ({lo:.3f}-{hi:.3f}, {n} runs)  x{ref / med:.2f}", flush=True)
                del sess
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
