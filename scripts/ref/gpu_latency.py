"""GPU latency of the shapes ProbeScale writes for PyTorch (blocks removed; every kept FFN narrowed
to one width: the compensations a config.json can express), against the full model, in
transformers on CUDA. Latency depends on shapes, not on weight values, so the models are built
from configs with random weights on the GPU.

    python3 scripts/ref/gpu_latency.py OUT.json [--seq 128] [--batches 1,32,128] [--iters 50]

For each (shape, variant, dtype, batch): the median of --repeats runs of --iters forward passes
(torch.inference_mode, default attention implementation), timed with CUDA events after --warmup
passes (more forwards where one is short, to fill 0.2 s per repeat). "ideal" is the ratio of encoder FLOPs (matrix products and attention scores, embeddings
and norms left out); "of ideal" is measured speedup / ideal. Needs a CUDA GPU, torch, transformers.
"""
import argparse
import json
import statistics
import subprocess
import time

import torch
import transformers
from transformers import AutoConfig, AutoModel

SHAPES = {
    # name: (model_type, config overrides, [(variant, layers, ffn)])
    "roberta-mini (hidden 256)": ("roberta", {"hidden_size": 256, "num_attention_heads": 4, "intermediate_size": 1024, "num_hidden_layers": 12, "vocab_size": 8192, "max_position_embeddings": 514},
                                  [("full", 12, 1024), ("4 blocks", 4, 1024), ("2 blocks", 2, 1024), ("2 blocks, FFN 256", 2, 256)]),
    "bert-base (hidden 768)": ("bert", {"hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 3072, "num_hidden_layers": 12, "vocab_size": 30522},
                               [("full", 12, 3072), ("6 blocks", 6, 3072), ("4 blocks", 4, 3072), ("4 blocks, FFN 1024", 4, 1024)]),
    "roberta-large (hidden 1024)": ("roberta", {"hidden_size": 1024, "num_attention_heads": 16, "intermediate_size": 4096, "num_hidden_layers": 24, "vocab_size": 50265, "max_position_embeddings": 514},
                                    [("full", 24, 4096), ("8 blocks", 8, 4096), ("8 blocks, FFN 1360", 8, 1360), ("8 blocks, FFN 1365", 8, 1365)]),
}


def flops_per_token(layers, hidden, ffn, seq):
    return layers * (2 * (4 * hidden * hidden + 2 * hidden * ffn) + 4 * seq * hidden)


def time_model(model, batch, seq, vocab, warmup, iters, repeats):
    """Median, min and max ms per forward; at least `iters` forwards per repeat, more to fill 0.2 s."""
    ids = torch.randint(5, vocab, (batch, seq), device="cuda")
    mask = torch.ones_like(ids)
    runs = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(input_ids=ids, attention_mask=mask)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        model(input_ids=ids, attention_mask=mask)
        torch.cuda.synchronize()
        iters = max(iters, int(0.2 / max(time.perf_counter() - t0, 1e-5)))
        for _ in range(repeats):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(iters):
                model(input_ids=ids, attention_mask=mask)
            end.record()
            torch.cuda.synchronize()
            runs.append(start.elapsed_time(end) / iters)
    return statistics.median(runs), min(runs), max(runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batches", default="1,32,128")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
    res = {"gpu": gpu, "torch": torch.__version__, "transformers": transformers.__version__, "seq": a.seq, "rows": []}
    print(res["gpu"], res["torch"], res["transformers"], flush=True)
    for shape, (mtype, over, variants) in SHAPES.items():
        for dtype in (torch.float32, torch.float16):
            full_ms = {}
            for variant, layers, ffn in variants:
                cfg = AutoConfig.for_model(mtype, **{**over, "num_hidden_layers": layers, "intermediate_size": ffn})
                with torch.device("cuda"):
                    model = AutoModel.from_config(cfg, dtype=dtype).eval()
                ideal = flops_per_token(over["num_hidden_layers"], over["hidden_size"], over["intermediate_size"], a.seq) / flops_per_token(layers, over["hidden_size"], ffn, a.seq)
                for batch in [int(b) for b in a.batches.split(",")]:
                    med, lo, hi = time_model(model, batch, a.seq, over["vocab_size"], a.warmup, a.iters, a.repeats)
                    if variant == "full":
                        full_ms[batch] = med
                    speedup = full_ms[batch] / med
                    row = {"shape": shape, "variant": variant, "dtype": str(dtype).replace("torch.", ""), "batch": batch, "ms": med, "msMin": lo, "msMax": hi,
                           "attention": model.config._attn_implementation, "speedup": speedup, "ideal": ideal, "ofIdeal": speedup / ideal}
                    res["rows"].append(row)
                    print(f"{shape:28s} {row['dtype']:8s} b{batch:<4d} {variant:22s} {med:8.3f} ms ({lo:.3f}-{hi:.3f})  x{speedup:.2f} of ideal x{ideal:.2f} = {speedup / ideal:.2f}", flush=True)
                del model
                torch.cuda.empty_cache()
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
