"""
T5 encoder forward in float32 PyTorch, transcribed from Hugging Face's T5EncoderModel
(src/transformers/models/t5/modeling_t5.py), and the writer of the T5 width references and of the
gated test/fixtures/tiny-t5-gated fixture.

Architecture (eval mode, pre-norm, no biases anywhere):
  x = shared[ids]                                        (no scaling)
  bias = relative_attention_bias(block 0)[bucket(j - i)]  [1, heads, S, S], bidirectional
         `_relative_position_bucket` (relative_attention_num_buckets, relative_attention_max_distance),
         plus the padding mask (float32 min where attention_mask == 0); made once, added in every block
  per block:  x = x + o(softmax(q·kᵀ + bias) · v)         q, k, v, o of T5LayerNorm(x); NO 1/sqrt(d_kv)
              x = x + wo(act(wi(n)))                      n = T5LayerNorm(x)     (DenseReluDense)
                  x + wo(act(wi_0(n)) * wi_1(n))          when gated ("gated-*" / is_gated_act)
  last_hidden_state = final_layer_norm(x)
T5LayerNorm (RMSNorm): x * rsqrt(mean(x², float32) + eps) * weight, no mean subtraction, no bias.
`forward(ids, mask, layers=[...])` runs only the kept blocks, in order; the position bias is made
from block 0's table whether or not block 0 is kept. Width pruning (`narrowed`): removing head h of
block b drops rows h·d_kv..(h+1)·d_kv of q, k, v and those columns of o, and that block alone then
adds only its kept heads' columns of the bias; removing neuron j drops row j of wi (wi_0 and wi_1)
and column j of wo. Nothing is refitted.

Python transformers cannot be installed on this machine: `check` compares this transcription with
references made by real transformers (tiny-t5-encoder). The module tree below (T5EncoderModel ...)
mirrors HF's names, so torch.onnx.export names nodes /encoder/block.N/layer.0/SelfAttention/q/MatMul,
/encoder/block.N/layer.1/DenseReluDense/wi_0/MatMul, /encoder/final_layer_norm/... as an export of
transformers' model does; it is a second, module-based transcription, checked against the first.

Usage (Debian: apt-get install python3-torch):
  /usr/bin/python3 scripts/ref/t5.py check DIR REFS.json              max abs diff per subset; exit 1 above 1e-5
  /usr/bin/python3 scripts/ref/t5.py width DIR REFS.json OUT.json      width cases (by DIR's shape: tiny-t5-encoder or tiny-t5-gated)
  /usr/bin/python3 scripts/ref/t5.py gated OUT_DIR SRC_DIR SRC_REFS.json OUT_REFS.json
      writes the gated fixture OUT_DIR (config, F32 model.safetensors, SRC_DIR's tokenizer files,
      onnx/encoder_model.onnx) and its block-subset references on SRC_REFS.json's ids
  /usr/bin/python3 scripts/ref/t5.py umt5 OUT_DIR SRC_DIR SRC_REFS.json OUT_REFS.json
      the same shape as an umT5 encoder (model_type umt5: a relative_attention_bias table in every
      block, each block making its own bias, as transformers' modeling_umt5.py does)
"""
import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import torch
from torch import nn

from mpnet import save_safetensors
from roberta import load_safetensors

TOLERANCE = 1e-5


# Width cases: kept blocks and, per block, the FFN neurons and heads kept (blocks not named keep all).
CASES = {
    # tiny-t5-encoder: 4 blocks, 2 heads (d_kv 16), 64 neurons, relu
    (4, 2, 64): [
        {"kept": [0, 1, 2, 3], "ffnKeep": {"1": list(range(0, 64, 2)), "3": [5, 9, 17, 33, 40, 63]}, "headKeep": {"0": [1]}},
        {"kept": [1, 2, 3], "ffnKeep": {"1": list(range(32, 64))}, "headKeep": {"2": [0], "3": [1]}},
        {"kept": [0, 2], "ffnKeep": {"0": list(range(0, 48)), "2": [3, 7, 60]}, "headKeep": {"0": [0], "2": [1]}},
        {"kept": [3], "ffnKeep": {"3": [0]}, "headKeep": {}},
    ],
    # tiny-t5-gated: 3 blocks, 4 heads (d_kv 12), 48 neurons, gated-gelu
    (3, 4, 48): [
        {"kept": [0, 1, 2], "ffnKeep": {"1": list(range(0, 48, 2)), "2": [1, 5, 7, 40, 47]}, "headKeep": {"0": [0, 2, 3]}},
        {"kept": [1, 2], "ffnKeep": {"2": list(range(8, 40))}, "headKeep": {"1": [3], "2": [0, 1]}},
        {"kept": [0, 2], "ffnKeep": {"0": list(range(0, 24))}, "headKeep": {"0": [1], "2": [2, 3]}},
        {"kept": [2], "ffnKeep": {"2": [0]}, "headKeep": {"2": [1, 2]}},
    ],
}
GATED_SUBSETS = ["0,1,2", "0,2", "1,2", "2", "0"]


# ---------------------------------------------------------------- safetensors


# ---------------------------------------------------------------- config


def ffn_kind(c):
    """(gated, activation name) as T5Config derives them: feed_forward_proj "gated-gelu" → gated, gelu_new."""
    proj = c.get("feed_forward_proj", "relu")
    info = proj.split("-")
    gated = c["is_gated_act"] if isinstance(c.get("is_gated_act"), bool) else info[0] == "gated"
    act = c.get("dense_act_fn") or ("gelu_new" if proj == "gated-gelu" else info[-1])
    return gated, act


def gelu_new(x):
    # NewGELUActivation (activations.py): the tanh approximation.
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACTS = {
    "relu": torch.relu,
    "gelu": nn.functional.gelu,  # GELUActivation: exact (erf)
    "gelu_new": gelu_new,
    "gelu_pytorch_tanh": lambda x: nn.functional.gelu(x, approximate="tanh"),
    "silu": nn.functional.silu,
    "swish": nn.functional.silu,
}


def relative_position_bucket(relative_position, bidirectional=True, num_buckets=32, max_distance=128):
    """T5Attention._relative_position_bucket."""
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    relative_position_if_large = max_exact + (
        torch.log(relative_position.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    ).to(torch.long)
    relative_position_if_large = torch.min(relative_position_if_large, torch.full_like(relative_position_if_large, num_buckets - 1))
    relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
    return relative_buckets


# ---------------------------------------------------------------- functional reference


class T5Reference:
    """Weights as a dict of float32 tensors (`self.w`); `forward` is the transcription checked by `check`."""

    def __init__(self, model_dir, weights=None):
        with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
            self.cfg = json.load(f)
        c = self.cfg
        self.D = c["d_model"]
        self.heads = c["num_heads"]
        self.d_kv = c["d_kv"]
        self.L = c["num_layers"]
        self.eps = c.get("layer_norm_epsilon", 1e-6)
        self.buckets = c.get("relative_attention_num_buckets", 32)
        self.max_distance = c.get("relative_attention_max_distance", 128)
        self.gated, act = ffn_kind(c)
        if act not in ACTS:
            raise ValueError("activation %r not implemented" % act)
        self.act = ACTS[act]
        w = weights if weights is not None else load_safetensors(os.path.join(model_dir, "model.safetensors"))
        self.w = dict(w)
        if "shared.weight" not in self.w:
            self.w["shared.weight"] = self.w["encoder.embed_tokens.weight"]
        self.kept_heads = {}  # block -> heads left after width pruning (their position-bias columns)
        # umT5 (UMT5EncoderModel): every block has its own relative_attention_bias and makes its own bias.
        self.per_block_bias = c.get("model_type") == "umt5"

    def _norm(self, x, name):
        variance = x.to(torch.float32).pow(2).mean(-1, keepdim=True)
        return self.w[name] * (x * torch.rsqrt(variance + self.eps))

    def _lin(self, x, name):
        return x @ self.w[name].T  # [out, in], no bias

    def position_bias(self, S, mask, block=0):
        ctx = torch.arange(S, dtype=torch.long)[:, None]
        mem = torch.arange(S, dtype=torch.long)[None, :]
        bucket = relative_position_bucket(mem - ctx, True, self.buckets, self.max_distance)
        values = self.w["encoder.block.%d.layer.0.SelfAttention.relative_attention_bias.weight" % block][bucket]  # [S, S, heads]
        bias = values.permute([2, 0, 1]).unsqueeze(0)
        add_mask = (1.0 - mask.to(torch.float32))[:, None, None, :] * torch.finfo(torch.float32).min
        return bias + add_mask  # [B, heads, S, S]

    @torch.no_grad()
    def forward(self, input_ids, attention_mask, layers=None):
        """last_hidden_state [B, S, d_model] (after final_layer_norm) of the kept blocks, in order."""
        w = self.w
        ids = torch.as_tensor(input_ids, dtype=torch.long)
        mask = torch.as_tensor(attention_mask, dtype=torch.long)
        B, S = ids.shape
        x = w["shared.weight"][ids]
        bias = self.position_bias(S, mask)
        for i in range(self.L) if layers is None else layers:
            if self.per_block_bias:
                bias = self.position_bias(S, mask, i)
            p = "encoder.block.%d.layer." % i
            h = self._norm(x, p + "0.layer_norm.weight")
            a = p + "0.SelfAttention."
            nh = w[a + "q.weight"].shape[0] // self.d_kv
            q = self._lin(h, a + "q.weight").view(B, S, nh, self.d_kv).transpose(1, 2)
            k = self._lin(h, a + "k.weight").view(B, S, nh, self.d_kv).transpose(1, 2)
            v = self._lin(h, a + "v.weight").view(B, S, nh, self.d_kv).transpose(1, 2)
            keep = self.kept_heads.get(i)
            scores = torch.matmul(q, k.transpose(3, 2)) + (bias if keep is None else bias[:, keep])
            probs = nn.functional.softmax(scores.float(), dim=-1).type_as(scores)
            ctx = torch.matmul(probs, v).transpose(1, 2).contiguous().view(B, S, nh * self.d_kv)
            x = x + self._lin(ctx, a + "o.weight")
            h = self._norm(x, p + "1.layer_norm.weight")
            d = p + "1.DenseReluDense."
            if self.gated:
                f = self.act(self._lin(h, d + "wi_0.weight")) * self._lin(h, d + "wi_1.weight")
            else:
                f = self.act(self._lin(h, d + "wi.weight"))
            x = x + self._lin(f, d + "wo.weight")
        return self._norm(x, "encoder.final_layer_norm.weight")


def narrowed(model_dir, ffn_keep, head_keep):
    m = T5Reference(model_dir)
    for b, keep in head_keep.items():
        a = "encoder.block.%s.layer.0.SelfAttention." % b
        idx = torch.tensor([h * m.d_kv + i for h in keep for i in range(m.d_kv)], dtype=torch.long)
        for n in "qkv":
            m.w[a + n + ".weight"] = m.w[a + n + ".weight"][idx]
        m.w[a + "o.weight"] = m.w[a + "o.weight"][:, idx]
        m.kept_heads[int(b)] = list(keep)
    for b, keep in ffn_keep.items():
        d = "encoder.block.%s.layer.1.DenseReluDense." % b
        idx = torch.tensor(keep, dtype=torch.long)
        for n in ("wi_0", "wi_1") if m.gated else ("wi",):
            m.w[d + n + ".weight"] = m.w[d + n + ".weight"][idx]
        m.w[d + "wo.weight"] = m.w[d + "wo.weight"][:, idx]
    return m


def masked_out(model_dir, ffn_keep, head_keep):
    """The un-narrowed model with the removed units' output columns (o, wo) zeroed: what removal must equal
    (a removed head's bias column then only feeds a context that o discards)."""
    m = T5Reference(model_dir)
    for b, keep in head_keep.items():
        o = "encoder.block.%s.layer.0.SelfAttention.o.weight" % b
        gone = [h * m.d_kv + i for h in range(m.heads) if h not in keep for i in range(m.d_kv)]
        m.w[o] = m.w[o].clone()
        m.w[o][:, gone] = 0
    for b, keep in ffn_keep.items():
        wo = "encoder.block.%s.layer.1.DenseReluDense.wo.weight" % b
        m.w[wo] = m.w[wo].clone()
        m.w[wo][:, [j for j in range(m.w[wo].shape[1]) if j not in keep]] = 0
    return m


# ---------------------------------------------------------------- HF module tree (for torch.onnx.export)


class T5LayerNorm(nn.Module):
    def __init__(self, hidden_size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        variance = hidden_states.to(torch.float32).pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states


class NewGELUActivation(nn.Module):
    def forward(self, input):
        return 0.5 * input * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (input + 0.044715 * torch.pow(input, 3.0))))


def act_module(name):
    return {"relu": nn.ReLU, "gelu_new": NewGELUActivation, "gelu": nn.GELU}[name]()


class T5DenseActDense(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wi = nn.Linear(c["d_model"], c["d_ff"], bias=False)
        self.wo = nn.Linear(c["d_ff"], c["d_model"], bias=False)
        self.act = act_module(ffn_kind(c)[1])

    def forward(self, hidden_states):
        return self.wo(self.act(self.wi(hidden_states)))


class T5DenseGatedActDense(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wi_0 = nn.Linear(c["d_model"], c["d_ff"], bias=False)
        self.wi_1 = nn.Linear(c["d_model"], c["d_ff"], bias=False)
        self.wo = nn.Linear(c["d_ff"], c["d_model"], bias=False)
        self.act = act_module(ffn_kind(c)[1])

    def forward(self, hidden_states):
        hidden_gelu = self.act(self.wi_0(hidden_states))
        hidden_linear = self.wi_1(hidden_states)
        return self.wo(hidden_gelu * hidden_linear)


class T5LayerFF(nn.Module):
    def __init__(self, c):
        super().__init__()
        # HF keeps the attribute name DenseReluDense for the gated class too.
        self.DenseReluDense = T5DenseGatedActDense(c) if ffn_kind(c)[0] else T5DenseActDense(c)
        self.layer_norm = T5LayerNorm(c["d_model"], eps=c["layer_norm_epsilon"])

    def forward(self, hidden_states):
        return hidden_states + self.DenseReluDense(self.layer_norm(hidden_states))


class T5Attention(nn.Module):
    def __init__(self, c, has_relative_attention_bias=False):
        super().__init__()
        self.has_relative_attention_bias = has_relative_attention_bias
        self.relative_attention_num_buckets = c["relative_attention_num_buckets"]
        self.relative_attention_max_distance = c["relative_attention_max_distance"]
        self.d_model = c["d_model"]
        self.key_value_proj_dim = c["d_kv"]
        self.n_heads = c["num_heads"]
        self.inner_dim = self.n_heads * self.key_value_proj_dim
        self.q = nn.Linear(self.d_model, self.inner_dim, bias=False)
        self.k = nn.Linear(self.d_model, self.inner_dim, bias=False)
        self.v = nn.Linear(self.d_model, self.inner_dim, bias=False)
        self.o = nn.Linear(self.inner_dim, self.d_model, bias=False)
        if self.has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(self.relative_attention_num_buckets, self.n_heads)

    def compute_bias(self, query_length, key_length):
        context_position = torch.arange(query_length, dtype=torch.long)[:, None]
        memory_position = torch.arange(key_length, dtype=torch.long)[None, :]
        relative_position = memory_position - context_position
        bucket = relative_position_bucket(relative_position, True, self.relative_attention_num_buckets, self.relative_attention_max_distance)
        values = self.relative_attention_bias(bucket)
        return values.permute([2, 0, 1]).unsqueeze(0)

    def forward(self, hidden_states, mask, position_bias=None):
        batch_size, seq_length = hidden_states.shape[:2]
        q = self.q(hidden_states).view(batch_size, -1, self.n_heads, self.key_value_proj_dim).transpose(1, 2)
        k = self.k(hidden_states).view(batch_size, -1, self.n_heads, self.key_value_proj_dim).transpose(1, 2)
        v = self.v(hidden_states).view(batch_size, -1, self.n_heads, self.key_value_proj_dim).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(3, 2))
        if position_bias is None:
            position_bias = self.compute_bias(seq_length, seq_length) + mask
        scores = scores + position_bias
        attn_weights = nn.functional.softmax(scores.float(), dim=-1).type_as(scores)
        attn_output = torch.matmul(attn_weights, v).transpose(1, 2).contiguous().view(batch_size, -1, self.inner_dim)
        return self.o(attn_output), position_bias


class T5LayerSelfAttention(nn.Module):
    def __init__(self, c, has_relative_attention_bias=False):
        super().__init__()
        self.SelfAttention = T5Attention(c, has_relative_attention_bias)
        self.layer_norm = T5LayerNorm(c["d_model"], eps=c["layer_norm_epsilon"])

    def forward(self, hidden_states, mask, position_bias=None):
        out, position_bias = self.SelfAttention(self.layer_norm(hidden_states), mask, position_bias)
        return hidden_states + out, position_bias


class T5Block(nn.Module):
    def __init__(self, c, has_relative_attention_bias=False):
        super().__init__()
        self.layer = nn.ModuleList([T5LayerSelfAttention(c, has_relative_attention_bias), T5LayerFF(c)])

    def forward(self, hidden_states, mask, position_bias=None):
        hidden_states, position_bias = self.layer[0](hidden_states, mask, position_bias)
        return self.layer[1](hidden_states), position_bias


class T5Stack(nn.Module):
    def __init__(self, c, embed_tokens):
        super().__init__()
        self.embed_tokens = embed_tokens
        # umT5 (modeling_umt5.py): every block's attention has its own table and makes its own bias.
        self.per_block_bias = c.get("model_type") == "umt5"
        self.block = nn.ModuleList([T5Block(c, has_relative_attention_bias=(i == 0 or self.per_block_bias)) for i in range(c["num_layers"])])
        self.final_layer_norm = T5LayerNorm(c["d_model"], eps=c["layer_norm_epsilon"])

    def forward(self, input_ids, attention_mask):
        hidden_states = self.embed_tokens(input_ids)
        mask = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
        position_bias = None
        for block in self.block:
            hidden_states, position_bias = block(hidden_states, mask, None if self.per_block_bias else position_bias)
        return self.final_layer_norm(hidden_states)


class T5EncoderModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.shared = nn.Embedding(c["vocab_size"], c["d_model"])
        self.encoder = T5Stack(c, self.shared)

    def forward(self, input_ids, attention_mask):
        return self.encoder(input_ids, attention_mask)


def module_from(c, weights):
    m = T5EncoderModel(c).eval()
    state = dict(weights)
    state.setdefault("shared.weight", state.get("encoder.embed_tokens.weight"))
    state["encoder.embed_tokens.weight"] = state["shared.weight"]
    m.load_state_dict(state, strict=True)
    return m


# ---------------------------------------------------------------- commands


def rounded(t):
    return [round(float(v), 7) for v in t.flatten()]


def check(model_dir, refs_path):
    torch.set_num_threads(2)
    with open(refs_path, encoding="utf-8") as f:
        refs = json.load(f)
    m = T5Reference(model_dir)
    worst = 0.0
    for key, r in refs["subsets"].items():
        y = m.forward(refs["input_ids"], refs["attention_mask"], layers=[int(i) for i in key.split(",")])
        assert list(y.shape) == r["shape"], (key, list(y.shape), r["shape"])
        diff = (y.flatten() - torch.tensor(r["last_hidden_state"], dtype=torch.float32)).abs().max().item()
        worst = max(worst, diff)
        print("layers %-8s shape %s  max abs diff %.3g" % (key, r["shape"], diff))
    ok = worst <= TOLERANCE
    print("%s: max abs diff %.3g (tolerance %g)" % ("OK" if ok else "FAIL", worst, TOLERANCE))
    return 0 if ok else 1


def narrow_module(model, ffn_keep, head_keep):
    """Second implementation of the width cases, on the module tree (checked against `narrowed`)."""
    with torch.no_grad():
        for b, keep in head_keep.items():
            a = model.encoder.block[int(b)].layer[0].SelfAttention
            idx = torch.tensor([h * a.key_value_proj_dim + i for h in keep for i in range(a.key_value_proj_dim)], dtype=torch.long)
            for lin in (a.q, a.k, a.v):
                lin.weight = nn.Parameter(lin.weight[idx])
            a.o.weight = nn.Parameter(a.o.weight[:, idx])
            a.n_heads, a.inner_dim = len(keep), len(keep) * a.key_value_proj_dim
            a.kept_heads = list(keep)
        for b, keep in ffn_keep.items():
            d = model.encoder.block[int(b)].layer[1].DenseReluDense
            idx = torch.tensor(keep, dtype=torch.long)
            for n in ("wi_0", "wi_1", "wi"):
                if hasattr(d, n):
                    getattr(d, n).weight = nn.Parameter(getattr(d, n).weight[idx])
            d.wo.weight = nn.Parameter(d.wo.weight[:, idx])


@torch.no_grad()
def module_forward(model, ids, mask, kept):
    """The module tree run on kept blocks: block 0's bias (plus mask) made once, each block adding its kept heads' columns."""
    enc = model.encoder
    x = enc.embed_tokens(ids)
    m = (1.0 - mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
    sa0 = enc.block[0].layer[0].SelfAttention
    bias = sa0.compute_bias(ids.shape[1], ids.shape[1]) + m
    for i in kept:
        a = enc.block[i].layer[0].SelfAttention
        if enc.per_block_bias:
            bias = a.compute_bias(ids.shape[1], ids.shape[1]) + m
        keep = getattr(a, "kept_heads", None)
        x, _ = enc.block[i](x, m, bias if keep is None else bias[:, keep])
    return enc.final_layer_norm(x)


def width(model_dir, refs_path, out_path):
    torch.set_num_threads(2)
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        c = json.load(f)
    shape = (c["num_layers"], c["num_heads"], c["d_ff"])
    if shape not in CASES:
        raise SystemExit("no width cases for num_layers %d, num_heads %d, d_ff %d" % shape)
    with open(refs_path, encoding="utf-8") as f:
        refs = json.load(f)
    ids, mask = torch.tensor(refs["input_ids"]), torch.tensor(refs["attention_mask"])
    weights = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    cases = []
    for case in CASES[shape]:
        y = narrowed(model_dir, case["ffnKeep"], case["headKeep"]).forward(ids, mask, layers=case["kept"])
        module = module_from(c, weights)
        narrow_module(module, case["ffnKeep"], case["headKeep"])
        diff = (module_forward(module, ids, mask, case["kept"]) - y).abs().max().item()
        full = T5Reference(model_dir).forward(ids, mask, layers=case["kept"])
        zeroed = masked_out(model_dir, case["ffnKeep"], case["headKeep"]).forward(ids, mask, layers=case["kept"])
        zdiff = (zeroed - y).abs().max().item()
        print("kept %-12s heads %-28s ffn blocks %-10s module vs reference %.3g, zeroed-columns model vs reference %.3g, change from un-narrowed %.3g" % (
            case["kept"], json.dumps(case["headKeep"]), list(case["ffnKeep"]), diff, zdiff, (y - full).abs().max().item()))
        if diff > TOLERANCE or zdiff > TOLERANCE:
            raise SystemExit("module tree, zeroed-columns model and reference disagree")
        cases.append({**case, "shape": list(y.shape), "last_hidden_state": rounded(y)})
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"input_ids": refs["input_ids"], "attention_mask": refs["attention_mask"], "cases": cases}, f)
        f.write("\n")
    print("wrote %d cases to %s" % (len(cases), out_path))


def gated_config(src_dir):
    with open(os.path.join(src_dir, "config.json"), encoding="utf-8") as f:
        c = json.load(f)
    c.update({
        "d_ff": 48,
        "d_kv": 12,  # inner dim 4 · 12 = 48 ≠ d_model 32
        "d_model": 32,
        "dense_act_fn": "gelu_new",
        "feed_forward_proj": "gated-gelu",
        "is_gated_act": True,
        "num_decoder_layers": 3,
        "num_heads": 4,
        "num_layers": 3,
        "vocab_size": 8192,
    })
    return c


def init_weights(model):
    """Seeded random weights of O(1) activations; every tensor distinct (torch.onnx.export would store equal ones once)."""
    g = torch.Generator().manual_seed(20261204)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "shared.weight":
                std = 1.0
            elif "relative_attention_bias" in name:
                std = 1.0  # large enough that a wrong bucket or a wrong head column shows
            elif name.endswith("SelfAttention.q.weight") or name.endswith("SelfAttention.k.weight"):
                std = 0.15  # no 1/sqrt(d_kv): scores of std ≈ 2.5
            else:
                std = 0.2
            if "layer_norm" in name:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(std * torch.randn(p.shape, generator=g))


def export(model, ids, mask, path):
    # torch 1.13 names a module's node scope after its first name in named_modules(), which for the tied
    # embedding is `shared` (/encoder/shared/Gather); an export of transformers' model names it
    # /encoder/embed_tokens/Gather (tiny-t5-encoder's does). Initializer names come from state_dict(),
    # unaffected: the table stays `shared.weight`.
    plain = model.named_modules

    def named_modules(*args, **kwargs):
        for name, module in plain(*args, **kwargs):
            yield ("encoder.embed_tokens" if name == "shared" else name), module

    model.named_modules = named_modules
    try:
        _export(model, ids, mask, path)
    finally:
        del model.named_modules


def _export(model, ids, mask, path):
    torch.onnx.export(
        model,
        (ids, mask),
        path,
        input_names=["input_ids", "attention_mask"],
        output_names=["last_hidden_state"],
        dynamic_axes={
            "input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "sequence_length"},
            "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
        },
        opset_version=14,
        do_constant_folding=True,
    )


def gated(out_dir, src_dir, src_refs_path, out_refs_path, model_type="t5"):
    torch.set_num_threads(2)
    c = gated_config(src_dir)
    if model_type == "umt5":
        # UMT5Config: the keys of T5's; the tokenizer stays T5's.
        c.update({"model_type": "umt5", "architectures": ["UMT5EncoderModel"], "tokenizer_class": "T5Tokenizer"})
    os.makedirs(os.path.join(out_dir, "onnx"), exist_ok=True)
    torch.manual_seed(0)
    model = T5EncoderModel(c).eval()
    init_weights(model)
    state = {k: v for k, v in model.state_dict().items() if k != "encoder.embed_tokens.weight"}  # tied to shared.weight
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(c, f, indent=2, sort_keys=True)
        f.write("\n")
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(os.path.join(src_dir, name), os.path.join(out_dir, name))
    save_safetensors(state, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})

    with open(src_refs_path, encoding="utf-8") as f:
        src = json.load(f)
    ids, mask = torch.tensor(src["input_ids"]), torch.tensor(src["attention_mask"])
    ref = T5Reference(out_dir)  # reads back what was written
    with torch.no_grad():
        y_module = model(ids, mask)
    y_ref = ref.forward(ids, mask)
    print("module tree vs reference forward, all blocks: max abs diff %.3g (output std %.3g)" % ((y_module - y_ref).abs().max().item(), y_ref.std().item()))
    if (y_module - y_ref).abs().max().item() > TOLERANCE:
        raise SystemExit("module tree and reference disagree")
    export(model, ids, mask, os.path.join(out_dir, "onnx", "encoder_model.onnx"))

    refs = {"texts": src["texts"], "input_ids": src["input_ids"], "attention_mask": src["attention_mask"], "subsets": {}}
    for key in GATED_SUBSETS:
        kept = [int(i) for i in key.split(",")]
        y = ref.forward(ids, mask, layers=kept)
        diff = (module_forward(model, ids, mask, kept) - y).abs().max().item()
        print("layers %-6s module tree vs reference %.3g" % (key, diff))
        if diff > TOLERANCE:
            raise SystemExit("module tree and reference disagree")
        refs["subsets"][key] = {"shape": list(y.shape), "last_hidden_state": rounded(y)}
    with open(out_refs_path, "w", encoding="utf-8") as f:
        json.dump(refs, f)
        f.write("\n")
    print("wrote %s and %s" % (out_dir, out_refs_path))


if __name__ == "__main__":
    cmd, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if cmd == "check":
        sys.exit(check(*args[:2]))
    elif cmd == "width":
        width(*args[:3])
    elif cmd == "gated":
        gated(*args[:4])
    elif cmd == "umt5":
        gated(*args[:4], model_type="umt5")
    else:
        raise SystemExit(__doc__)
