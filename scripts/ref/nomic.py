"""
NomicBERT encoder forward (`model_type` nomic_bert: nomic-embed-text-v1 / v1.5 and the models built on
nomic-bert-2048) in float32 PyTorch, transcribed from Nomic's own modeling code, which the Hub's
checkpoints load with trust_remote_code (contrastors, src/contrastors/models/huggingface/
modeling_hf_nomic_bert.py, read at commit 1e27692238fd259025c56b56926893d21f691d84), and the writer of
the test/fixtures/tiny-nomic-bert fixture and its layer-subset references.

Architecture (eval mode, the padded path, prenorm false as every nomic-embed config has it):
  x = emb_ln(word_embeddings[ids] + token_type_embeddings[token_type_ids or 0])
        (no position embeddings when rotary_emb_fraction > 0; emb_ln is nn.LayerNorm)
  mask [B, 1, 1, S] = (1 − attention_mask) · float32 min       (get_extended_attention_mask)
  per layer (NomicBertBlock, post-norm):
    qkv = attn.Wqkv(x) viewed as "... (three h d) -> ... three h d" (q rows, then k, then v)
    q, k rotated (NomicBertRotaryEmbedding, GPT-NeoX style, interleaved false): inv_freq =
      1 / base^(arange(0, dim, 2) / dim) with dim = head_dim · rotary_emb_fraction, freqs = outer(
      arange(S) in float32, inv_freq), x·cat(cos, cos) + cat(−x₂, x₁)·cat(sin, sin)
    x = norm1(attn.out_proj(softmax(q·kᵀ / √head_dim + mask) · v, heads merged) + x)
    x = norm2(mlp(x) + x), mlp (NomciBertGatedMLP for swiglu / geglu / glu):
      fc2(fc11(x) · act(fc12(x))), act silu for swiglu, gelu for geglu, sigmoid for glu;
      hidden_features = n_inner (else int(8 · n_embd / 3)) rounded UP to a multiple of 256;
      NomicBertMLP for gelu: fc2(gelu(fc1(x))), hidden_features = n_inner or 4 · n_embd
  last_hidden_state = x after the last layer (no final norm)
  qkv_proj_bias adds biases to Wqkv and out_proj, mlp_fc1_bias to fc11 / fc12 (fc1), mlp_fc2_bias to fc2.
Not transcribed (refused by ProbeScale's builder): rotary_emb_fraction ≠ 1, interleaved rotary,
rotary_emb_scale_base (xPos), prenorm, rotary_head_dim; rotary_scaling_factor (dynamic NTK) changes
nothing at lengths up to max_trained_positions, which is where ProbeScale runs such a model.

Python transformers cannot be installed on this machine and the code is trust_remote_code, so there are
two transcriptions: the functional `forward` and a module tree named as Nomic's is (NomicBertModel:
embeddings.word_embeddings, embeddings.token_type_embeddings, emb_ln, encoder.layers.N.attn.Wqkv,
encoder.layers.N.attn.out_proj, encoder.layers.N.mlp.fc11 / fc12 / fc2, encoder.layers.N.norm1 / norm2),
checked against each other; the module tree is exported with torch.onnx.export as a feature extractor
(inputs input_ids, attention_mask, token_type_ids; node scopes /encoder/layers.N/attn/Wqkv/MatMul).

Usage (Debian: apt-get install python3-torch):
  /usr/bin/python3 scripts/ref/nomic.py fixture OUT_DIR SRC_DIR SRC_REFS.json OUT_REFS.json
      writes OUT_DIR (config.json with nomic-embed-text-v1.5's keys at a tiny shape, F32
      model.safetensors with seeded random weights, SRC_DIR's WordPiece tokenizer files, onnx/model.onnx)
      and the layer-subset references on SRC_REFS.json's ids
      Regenerate: /usr/bin/python3 scripts/ref/nomic.py fixture test/fixtures/tiny-nomic-bert test/fixtures/tiny-bert test/fixtures/refs/tiny-bert.refs.json test/fixtures/refs/tiny-nomic-bert.refs.json
  /usr/bin/python3 scripts/ref/nomic.py sanity DIR REFS.json     rotation and padding matter on the fixture's texts
  /usr/bin/python3 scripts/ref/nomic.py random-base OUT_DIR TOKENIZER_DIR
      nomic-embed-text-v1.5's shape (12 layers, n_embd 768, 12 heads, SwiGLU 3072, vocabulary 30,528) with
      seeded random F32 weights, TOKENIZER_DIR's tokenizer files and an ONNX export: timing and memory only
"""
import json
import os
import shutil
import sys

import torch
import torch.nn.functional as F
from torch import nn

from mpnet import save_safetensors
from roberta import load_safetensors

TOLERANCE = 1e-5
FMIN = torch.finfo(torch.float32).min
SUBSETS = ["0,1,2,3", "0,1", "0,2", "1,3", "3", "0,3", "1,2,3", "2,3"]
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]


def mlp_width(c):
    """The FFN width the weights have (NomciBertGatedMLP rounds up to a multiple of 256; NomicBertMLP does not)."""
    if c["activation_function"] in ("swiglu", "geglu", "glu"):
        h = c["n_inner"] if c.get("n_inner") is not None else int(8 * c["n_embd"] / 3)
        return (h + 255) // 256 * 256
    return c["n_inner"] if c.get("n_inner") is not None else 4 * c["n_embd"]


def rotary(c, S):
    dim = int(c["n_embd"] // c["n_head"] * c["rotary_emb_fraction"])
    inv = 1.0 / (float(c["rotary_emb_base"]) ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    freqs = torch.outer(torch.arange(S, dtype=torch.float32), inv)
    return torch.cos(freqs), torch.sin(freqs)


def rotate(x, cos, sin):
    """x [B, S, heads, d]; cos, sin [S, d/2] (apply_rotary_emb, interleaved false, offset 0)."""
    c2, s2 = torch.cat([cos, cos], -1)[:, None, :], torch.cat([sin, sin], -1)[:, None, :]
    x1, x2 = x.chunk(2, dim=-1)
    return x * c2 + torch.cat([-x2, x1], -1) * s2


def act_of(c):
    a = c["activation_function"]
    return {"swiglu": F.silu, "geglu": F.gelu, "glu": torch.sigmoid, "gelu": F.gelu}[a]


def forward(w, c, ids, mask, tt=None, layers=None):
    """Functional forward: last_hidden_state of the model keeping `layers` (all by default), in order."""
    H, heads = c["n_embd"], c["n_head"]
    d = H // heads
    eps = c["layer_norm_epsilon"]
    B, S = ids.shape
    x = w["embeddings.word_embeddings.weight"][ids]
    if c["type_vocab_size"] > 0:
        x = x + w["embeddings.token_type_embeddings.weight"][torch.zeros_like(ids) if tt is None else tt]
    x = F.layer_norm(x, (H,), w["emb_ln.weight"], w["emb_ln.bias"], eps)
    add = (1.0 - mask[:, None, None, :].float()) * FMIN
    cos, sin = rotary(c, S)
    act = act_of(c)
    lin = lambda t, n, bias: F.linear(t, w[n + ".weight"], w.get(n + ".bias") if bias else None)  # noqa: E731
    for i in range(c["n_layer"]) if layers is None else layers:
        p = "encoder.layers.%d." % i
        qkv = lin(x, p + "attn.Wqkv", c["qkv_proj_bias"]).view(B, S, 3, heads, d)
        q, k, v = rotate(qkv[:, :, 0], cos, sin), rotate(qkv[:, :, 1], cos, sin), qkv[:, :, 2]
        q, k, v = (t.permute(0, 2, 1, 3) for t in (q, k, v))
        probs = torch.softmax(q @ k.transpose(-1, -2) / torch.sqrt(torch.tensor(float(d))) + add, dim=-1)
        ctx = (probs @ v).permute(0, 2, 1, 3).reshape(B, S, H)
        x = F.layer_norm(lin(ctx, p + "attn.out_proj", c["qkv_proj_bias"]) + x, (H,), w[p + "norm1.weight"], w[p + "norm1.bias"], eps)
        if c["activation_function"] in ("swiglu", "geglu", "glu"):
            y = lin(x, p + "mlp.fc11", c["mlp_fc1_bias"]) * act(lin(x, p + "mlp.fc12", c["mlp_fc1_bias"]))
        else:
            y = act(lin(x, p + "mlp.fc1", c["mlp_fc1_bias"]))
        x = F.layer_norm(lin(y, p + "mlp.fc2", c["mlp_fc2_bias"]) + x, (H,), w[p + "norm2.weight"], w[p + "norm2.bias"], eps)
    return x


# ---------------------------------------------------------------- the module tree, named as Nomic's


class Embeddings(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.word_embeddings = nn.Embedding(c["vocab_size"], c["n_embd"], padding_idx=c.get("pad_token_id"))
        s.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["n_embd"])

    def forward(s, input_ids, token_type_ids):
        return s.word_embeddings(input_ids) + s.token_type_embeddings(token_type_ids)


class Attention(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.c, s.heads, s.head_dim = c, c["n_head"], c["n_embd"] // c["n_head"]
        s.Wqkv = nn.Linear(c["n_embd"], 3 * c["n_embd"], bias=c["qkv_proj_bias"])
        s.out_proj = nn.Linear(c["n_embd"], c["n_embd"], bias=c["qkv_proj_bias"])

    def forward(s, x, mask):
        B, S, _ = x.shape
        qkv = s.Wqkv(x).view(B, S, 3, s.heads, s.head_dim)
        cos, sin = rotary(s.c, S)
        q_rot, k_rot = rotate(qkv[:, :, 0], cos, sin), rotate(qkv[:, :, 1], cos, sin)
        qkv = torch.stack((q_rot, k_rot, qkv[:, :, 2]), dim=2)
        q, k, v = (qkv[:, :, j].permute(0, 2, 1, 3) for j in range(3))
        scores = torch.matmul(q, k.transpose(-1, -2)) / torch.sqrt(torch.tensor(float(s.head_dim)))
        probs = F.softmax(scores + mask, dim=-1)
        return s.out_proj(torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(B, S, -1))


class GatedMLP(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.act = act_of(c)
        s.fc11 = nn.Linear(c["n_embd"], mlp_width(c), bias=c["mlp_fc1_bias"])
        s.fc12 = nn.Linear(c["n_embd"], mlp_width(c), bias=c["mlp_fc1_bias"])
        s.fc2 = nn.Linear(mlp_width(c), c["n_embd"], bias=c["mlp_fc2_bias"])

    def forward(s, x):
        return s.fc2(s.fc11(x) * s.act(s.fc12(x)))


class Block(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.attn, s.mlp = Attention(c), GatedMLP(c)
        s.norm1 = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])
        s.norm2 = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])

    def forward(s, x, mask):
        x = s.norm1(s.attn(x, mask) + x)
        return s.norm2(s.mlp(x) + x)


class Encoder(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.layers = nn.ModuleList([Block(c) for _ in range(c["n_layer"])])
        s.kept = None

    def forward(s, x, mask):
        for i in range(len(s.layers)) if s.kept is None else s.kept:
            x = s.layers[i](x, mask)
        return x


class NomicBertModel(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.embeddings = Embeddings(c)
        s.emb_ln = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])
        s.encoder = Encoder(c)

    def forward(s, input_ids, attention_mask, token_type_ids):
        x = s.emb_ln(s.embeddings(input_ids, token_type_ids))
        mask = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * FMIN
        return s.encoder(x, mask)


def module_forward(model, ids, mask, kept=None):
    model.encoder.kept = kept
    try:
        with torch.no_grad():
            return model(ids, mask, torch.zeros_like(ids))
    finally:
        model.encoder.kept = None


# ---------------------------------------------------------------- fixture


def fixture_config(src_dir):
    with open(os.path.join(src_dir, "tokenizer.json"), encoding="utf-8") as f:
        vocab = len(json.load(f)["model"]["vocab"])
    # nomic-ai/nomic-embed-text-v1.5's config.json keys, at this fixture's shape (n_inner 200: the
    # gated MLP rounds it up to 256, as Nomic's code does).
    return {
        "activation_function": "swiglu",
        "architectures": ["NomicBertModel"],
        "attn_pdrop": 0.0,
        "auto_map": {"AutoConfig": "nomic-ai/nomic-bert-2048--configuration_hf_nomic_bert.NomicBertConfig", "AutoModel": "nomic-ai/nomic-bert-2048--modeling_hf_nomic_bert.NomicBertModel"},
        "bos_token_id": None,
        "causal": False,
        "dense_seq_output": True,
        "embd_pdrop": 0.0,
        "eos_token_id": None,
        "fused_bias_fc": True,
        "fused_dropout_add_ln": True,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-12,
        "max_trained_positions": 2048,
        "mlp_fc1_bias": False,
        "mlp_fc2_bias": False,
        "model_type": "nomic_bert",
        "n_embd": 32,
        "n_head": 4,
        "n_inner": 200,
        "n_layer": 4,
        "n_positions": 8192,
        "pad_vocab_size_multiple": 64,
        "parallel_block": False,
        "parallel_block_tied_norm": False,
        "prenorm": False,
        "qkv_proj_bias": False,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.0,
        "rotary_emb_base": 1000,
        "rotary_emb_fraction": 1.0,
        "rotary_emb_interleaved": False,
        "rotary_emb_scale_base": None,
        "rotary_scaling_factor": None,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.0,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "torch_dtype": "float32",
        "transformers_version": "4.34.0",
        "type_vocab_size": 2,
        "use_cache": True,
        "use_flash_attn": True,
        "use_rms_norm": False,
        "use_xentropy": True,
        "vocab_size": vocab,
    }


def init_weights(model):
    """Seeded random weights of O(1) activations, norms around 1; every tensor distinct (torch.onnx.export would store equal ones once)."""
    g = torch.Generator().manual_seed(20261206)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or "emb_ln" in name:
                p.copy_((1 if name.endswith("weight") else 0) + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "embeddings" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            elif name.endswith("attn.Wqkv.weight"):
                # Scores of std ≈ 2 at any width (0.25 at n_embd 32): peaked enough that the rotation shows, never an argmax
                # (at 768 the unscaled 0.25 gives scores of std ≈ 50, where float rounding flips which key wins).
                p.copy_(0.25 * (32 / p.shape[1]) ** 0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(p.shape[1] ** -0.5 * torch.randn(p.shape, generator=g))


def export(model, ids, mask, path):
    torch.onnx.export(
        model,
        (ids, mask, torch.zeros_like(ids)),
        path,
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={n: {0: "batch_size", 1: "sequence_length"} for n in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")},
        opset_version=14,
        do_constant_folding=True,
    )


def write_model(out_dir, c, tokenizer_dir):
    """OUT_DIR with config `c`, seeded random F32 weights and TOKENIZER_DIR's tokenizer files; returns the module tree."""
    torch.set_num_threads(2)
    os.makedirs(os.path.join(out_dir, "onnx"), exist_ok=True)
    torch.manual_seed(0)
    model = NomicBertModel(c).eval()
    init_weights(model)
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(c, f, indent=2, sort_keys=True)
        f.write("\n")
    for name in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(tokenizer_dir, name), os.path.join(out_dir, name))
    save_safetensors(dict(model.state_dict()), os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    return model


def fixture(out_dir, src_dir, src_refs_path, out_refs_path):
    c = fixture_config(src_dir)
    model = write_model(out_dir, c, src_dir)

    with open(src_refs_path, encoding="utf-8") as f:
        src = json.load(f)
    ids, mask = torch.tensor(src["input_ids"]), torch.tensor(src["attention_mask"])
    weights = load_safetensors(os.path.join(out_dir, "model.safetensors"))  # reads back what was written
    refs = {"texts": src["texts"], "input_ids": src["input_ids"], "attention_mask": src["attention_mask"], "subsets": {}}
    for key in SUBSETS:
        kept = [int(i) for i in key.split(",")]
        y = forward(weights, c, ids, mask, layers=kept)
        diff = (module_forward(model, ids, mask, kept) - y).abs().max().item()
        print("layers %-8s module tree vs functional forward %.3g (output std %.3g)" % (key, diff, y.std().item()))
        if diff > TOLERANCE:
            raise SystemExit("module tree and reference disagree")
        refs["subsets"][key] = {"shape": list(y.shape), "last_hidden_state": [float("%.7g" % float(v)) for v in y.flatten()]}
    export(model, ids, mask, os.path.join(out_dir, "onnx", "model.onnx"))
    with open(out_refs_path, "w", encoding="utf-8") as f:
        json.dump(refs, f)
        f.write("\n")
    print("wrote %s and %s (the ONNX export is checked against the references by npm test)" % (out_dir, out_refs_path))


def sanity(model_dir, refs_path):
    """The fixture's texts are long and varied enough that the rotation and the padding mask matter."""
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        c = json.load(f)
    w = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    with open(refs_path, encoding="utf-8") as f:
        r = json.load(f)
    ids, mask = torch.tensor(r["input_ids"]), torch.tensor(r["attention_mask"])
    y = forward(w, c, ids, mask)
    flat = forward(w, dict(c, rotary_emb_base=1e30), ids, mask)  # inv_freq ≈ 0 for all but the first pair: almost no rotation
    print("rotation off moves the output by %.3g" % (y - flat).abs().max().item())
    real = mask.bool()
    y2 = forward(w, c, ids, torch.ones_like(mask))
    print("attending to padding moves real tokens by %.3g" % (y - y2)[real].abs().max().item())


def random_base(out_dir, tokenizer_dir):
    c = dict(fixture_config(tokenizer_dir), n_embd=768, n_head=12, n_inner=3072, n_layer=12, vocab_size=30528)
    model = write_model(out_dir, c, tokenizer_dir)
    ids = torch.randint(0, 4096, (2, 16))
    export(model, ids, torch.ones_like(ids), os.path.join(out_dir, "onnx", "model.onnx"))
    print("wrote %s: %d parameters" % (out_dir, sum(p.numel() for p in model.parameters())))


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "fixture" and len(sys.argv) == 6:
        fixture(*sys.argv[2:6])
    elif cmd == "sanity" and len(sys.argv) == 4:
        sanity(*sys.argv[2:4])
    elif cmd == "random-base" and len(sys.argv) == 4:
        random_base(*sys.argv[2:4])
    else:
        raise SystemExit(__doc__)
