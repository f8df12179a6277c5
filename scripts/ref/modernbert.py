"""
ModernBERT encoder forward in float32 PyTorch, transcribed from Hugging Face's ModernBertModel
(src/transformers/models/modernbert/modeling_modernbert.py, the eager / sdpa padded path, not flash
attention; read at commit 000c33fdfde12e1ffafbfcdb3c926df5727a00b6, and the 4.48-era keys of
configuration_modernbert.py), and the writer of the test/fixtures/tiny-modernbert fixture, its
layer-subset references and its width references.

Architecture (eval mode, pre-norm; "LayerNorm" is nn.LayerNorm with a bias only when norm_bias):
  x = embeddings.norm(tok_embeddings[ids])                 no position or token-type embeddings
  masks (ModernBertModel._update_attention_mask):
    global  [B, 1, S, S]: 0, or float32 min where attention_mask == 0 (_prepare_4d_attention_mask)
    sliding [B, 1, S, S]: the global mask, with float32 min also where |i − j| > local_attention // 2
  per layer i (ModernBertEncoderLayer):
    x = x + attn.Wo(attn(attn_norm(x)))                    attn_norm is Identity for layer 0 only
    x = x + mlp.Wo(act(a) * g),  a, g = mlp.Wi(mlp_norm(x)).chunk(2)   (first half through act)
  attn: qkv = Wqkv(h).view(B, S, 3, heads, head_dim); q, k, v = qkv.transpose(3, 1).unbind(2);
        rotary q and k (rotate_half: [−x₂, x₁] over each head's halves; cos/sin of
        cat(f, f), f = positions 0..S−1 ⊗ inv_freq, inv_freq = 1 / θ^(arange(0, dim, 2) / dim));
        softmax(q·kᵀ · head_dim^−½ + mask) · v; heads merged.
  layer i is global (full attention, θ = global_rope_theta) when i % global_attn_every_n_layers == 0,
  else local (sliding mask, θ = local_rope_theta). A config with `layer_types` / `rope_parameters`
  (as transformers ≥ 5 saves it) is read too: the kind and θ then come from those.
  last_hidden_state = final_norm(x after the last layer)
  attention_bias / mlp_bias add biases to Wqkv, attn.Wo / mlp.Wi, mlp.Wo.
Additive masks are float32 min, not −inf: a padded query whose whole window is padding (a local
layer) gets equal scores for every key (score + min rounds to min) and so averages all S values;
only padded positions see that, they are part of the references all the same.

`forward(weights, config, ids, mask, layers=[...])` runs only the kept layers, in order, each with
its ORIGINAL attention kind, rotary base and norms (the attention norm is left out for the original
layer 0 only, wherever it lands); positions stay 0..S−1. Width pruning (`narrow_weights`): removing
head h of layer b drops rows h·head_dim..(h+1)·head_dim of each of the q, k and v thirds of
attn.Wqkv and those columns of attn.Wo; removing neuron j drops rows j and intermediate+j of mlp.Wi
and column j of mlp.Wo. Nothing is refitted.

Python transformers cannot be installed on this machine, so there are two transcriptions: the
functional `forward` and a module tree named as transformers' is (ModernBertForMaskedLM: `model` =
ModernBertModel with embeddings.tok_embeddings, embeddings.norm, layers.N.attn_norm,
layers.N.attn.Wqkv, layers.N.attn.Wo, layers.N.mlp_norm, layers.N.mlp.Wi, layers.N.mlp.Wo,
final_norm; `head`, `decoder` tied to the word table), checked against each other. Its `model` is
exported with torch.onnx.export as optimum exports a feature extractor (the base model: node scopes
/embeddings/..., /layers.N/attn/Wqkv/MatMul, /final_norm/...).

Sequence classification (`classify`, functional; `ModernBertForSequenceClassification`, module tree;
`classifier` writes test/fixtures/tiny-modernbert-classifier). Followed, from the same file at the
same commit, in eval mode (the Dropouts are identities):
  ModernBertPredictionHead.__init__ / forward:
    self.dense = nn.Linear(config.hidden_size, config.hidden_size, config.classifier_bias)
    self.act = ACT2FN[config.classifier_activation]
    self.norm = nn.LayerNorm(config.hidden_size, eps=config.norm_eps, bias=config.norm_bias)
    return self.norm(self.act(self.dense(hidden_states)))
  ModernBertForSequenceClassification.__init__:
    self.model = ModernBertModel(config)
    self.head = ModernBertPredictionHead(config)
    self.drop = torch.nn.Dropout(config.classifier_dropout)
    self.classifier = nn.Linear(config.hidden_size, config.num_labels)
  ModernBertForSequenceClassification.forward:
    last_hidden_state = outputs[0]
    if self.config.classifier_pooling == "cls":
        last_hidden_state = last_hidden_state[:, 0]
    elif self.config.classifier_pooling == "mean":
        last_hidden_state = (last_hidden_state * attention_mask.unsqueeze(-1)).sum(dim=1) / attention_mask.sum(
            dim=1, keepdim=True
        )
    pooled_output = self.head(last_hidden_state)
    pooled_output = self.drop(pooled_output)
    logits = self.classifier(pooled_output)
So logits = classifier(norm(act(dense(pool(last_hidden_state))))), "mean" over every position whose
attention_mask is 1 (special tokens included); act "gelu" is GELUActivation, exact erf; the
classifier always has a bias; a classifier_pooling other than "cls" / "mean" pools nothing (logits
per position, as HF's code does). The module tree is exported whole, as `optimum-cli export onnx
--task text-classification` exports it (inputs input_ids, attention_mask; output logits
[batch_size, num_labels]; opset 14): node scopes /model/layers.N/attn/Wqkv/MatMul, /head/dense/MatMul
(no dense bias: MatMul), /head/norm/..., /classifier/Gemm.

Usage (Debian: apt-get install python3-torch):
  /usr/bin/python3 scripts/ref/modernbert.py fixture OUT_DIR SRC_DIR SRC_REFS.json OUT_REFS.json
      writes OUT_DIR (config.json as transformers 4.48–4.5x saves ModernBertForMaskedLM, F32
      model.safetensors with seeded random weights, SRC_DIR's tokenizer files, onnx/model.onnx)
      and the layer-subset references on SRC_REFS.json's ids
  /usr/bin/python3 scripts/ref/modernbert.py width DIR REFS.json OUT.json      width cases
  /usr/bin/python3 scripts/ref/modernbert.py check DIR REFS.json              max abs diff per subset; exit 1 above 1e-5
  /usr/bin/python3 scripts/ref/modernbert.py sanity DIR REFS.json             module tree vs forward, window, padding
  /usr/bin/python3 scripts/ref/modernbert.py classifier OUT_DIR BASE_DIR
      writes OUT_DIR as a fine-tuned ModernBertForSequenceClassification of BASE_DIR's model: BASE_DIR's
      config.json with architectures ["ModernBertForSequenceClassification"], id2label {"0": "neg",
      "1": "pos"}, label2id and classifier_pooling "mean"; F32 model.safetensors with BASE_DIR's model.*
      tensors and seeded random head.dense.weight, head.norm.weight, classifier.weight, classifier.bias
      (no decoder.*); BASE_DIR's tokenizer files; onnx/model.onnx of the whole classifier (output logits).
      Regenerate: /usr/bin/python3 scripts/ref/modernbert.py classifier test/fixtures/tiny-modernbert-classifier test/fixtures/tiny-modernbert
  /usr/bin/python3 scripts/ref/modernbert.py biased DIR REFS.json OUT.json       norm/attention/mlp biases on, references with them
  /usr/bin/python3 scripts/ref/modernbert.py random-base OUT_DIR TOKENIZER_DIR    ModernBERT-base's shape, random weights (timing only)
"""
import json
import math
import os
import shutil
import sys

import torch
from torch import nn

from mpnet import save_safetensors
from roberta import load_safetensors
from t5 import _export

TOLERANCE = 1e-5
FMIN = torch.finfo(torch.float32).min
SUBSETS = ["0,1,2,3", "0,1", "0,2", "1,3", "3", "0,3", "1,2,3", "2,3"]
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"]

# Width cases: kept layers and, per layer, the FFN neurons and heads kept (layers not named keep all).
CASES = {
    # tiny-modernbert: 4 layers (0 and 3 global, 1 and 2 local), 4 heads of 8, 48 neurons
    (4, 4, 48): [
        {"kept": [0, 1, 2, 3], "ffnKeep": {"1": list(range(0, 48, 2)), "3": [1, 5, 7, 30, 47]}, "headKeep": {"0": [0, 2, 3]}},
        {"kept": [1, 2, 3], "ffnKeep": {"2": list(range(8, 40))}, "headKeep": {"1": [3], "3": [0, 1]}},
        {"kept": [0, 1, 2, 3], "ffnKeep": {"0": list(range(0, 24)), "2": [0, 11, 23, 24, 35, 47]}, "headKeep": {"1": [1, 2], "2": [0], "3": [2, 3]}},
        {"kept": [2, 3], "ffnKeep": {"3": [0]}, "headKeep": {"2": [1, 2], "3": [3]}},
    ],
}


# ---------------------------------------------------------------- config


def layer_kinds(c):
    """'full_attention' or 'sliding_attention' per layer: `layer_types` if given, else i % global_attn_every_n_layers."""
    L = c["num_hidden_layers"]
    if c.get("layer_types"):
        return list(c["layer_types"])
    n = c.get("global_attn_every_n_layers", 3)
    return ["full_attention" if i % n == 0 else "sliding_attention" for i in range(L)]


def rope_theta(c, kind):
    params = (c.get("rope_parameters") or {}).get(kind) or {}
    if params.get("rope_type", "default") != "default" or c.get("rope_scaling"):
        raise ValueError("only the default rotary embedding is transcribed")
    if "rope_theta" in params:
        return float(params["rope_theta"])
    if kind == "full_attention":
        return float(c.get("global_rope_theta", 160000.0))
    return float(c.get("local_rope_theta", 10000.0))


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACTS = {
    "gelu": nn.functional.gelu,  # GELUActivation: exact (erf)
    "gelu_pytorch_tanh": lambda x: nn.functional.gelu(x, approximate="tanh"),
    "gelu_new": gelu_new,
    "relu": torch.relu,
    "silu": nn.functional.silu,
    "swish": nn.functional.silu,
}


def inv_freq(theta, dim):
    # ModernBertRotaryEmbedding.compute_default_rope_parameters
    return 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).to(dtype=torch.float) / dim))


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


# ---------------------------------------------------------------- functional reference


def _strip(weights):
    """Tensor names without the `model.` of ModernBertForMaskedLM / ForSequenceClassification (head, decoder, classifier dropped)."""
    out = {}
    for k, v in weights.items():
        if k.startswith("model."):
            out[k[len("model."):]] = v
        elif not k.startswith(("head.", "decoder.", "classifier.")):
            out[k] = v
    return out


@torch.no_grad()
def forward(weights, config, input_ids, attention_mask, layers=None):
    """last_hidden_state [B, S, hidden] of the kept layers (original indices, in order), after final_norm."""
    c = config
    w = _strip(weights)
    H = c["hidden_size"]
    hd = H // c["num_attention_heads"]
    eps = c.get("norm_eps", 1e-5)
    act = ACTS[c.get("hidden_activation", "gelu")]
    kinds = layer_kinds(c)
    half = c.get("local_attention", 128) // 2
    ids = torch.as_tensor(input_ids, dtype=torch.long)
    mask = torch.as_tensor(attention_mask, dtype=torch.long)
    B, S = ids.shape

    def norm(x, name):
        return nn.functional.layer_norm(x, (H,), w[name + ".weight"], w.get(name + ".bias"), eps)

    def lin(x, name):
        y = x @ w[name + ".weight"].T
        return y + w[name + ".bias"] if name + ".bias" in w else y

    x = norm(w["embeddings.tok_embeddings.weight"][ids], "embeddings.norm")
    pad = torch.where(mask[:, None, None, :] != 0, torch.tensor(0.0), torch.tensor(FMIN)).expand(B, 1, S, S)
    r = torch.arange(S)
    near = (r[:, None] - r[None, :]).abs() <= half
    masks = {"full_attention": pad, "sliding_attention": torch.where(near, pad, torch.tensor(FMIN))}
    pos = torch.arange(S, dtype=torch.float32)
    for i in range(c["num_hidden_layers"]) if layers is None else layers:
        kind = kinds[i]
        f = pos[:, None] * inv_freq(rope_theta(c, kind), hd)[None, :]
        emb = torch.cat((f, f), dim=-1)
        cos, sin = emb.cos(), emb.sin()  # [S, hd], broadcast over batch and heads
        p = "layers.%d." % i
        h = x if i == 0 else norm(x, p + "attn_norm")
        qkv = lin(h, p + "attn.Wqkv")
        nh = qkv.shape[-1] // (3 * hd)  # fewer after width pruning
        q, k, v = qkv.view(B, S, 3, nh, hd).permute(2, 0, 3, 1, 4)  # each [B, nh, S, hd]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        scores = torch.matmul(q, k.transpose(2, 3)) * hd**-0.5 + masks[kind]
        probs = nn.functional.softmax(scores, dim=-1, dtype=torch.float32)
        ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, S, nh * hd)
        x = x + lin(ctx, p + "attn.Wo")
        a, g = lin(norm(x, p + "mlp_norm"), p + "mlp.Wi").chunk(2, dim=-1)
        x = x + lin(act(a) * g, p + "mlp.Wo")
    return norm(x, "final_norm")


@torch.no_grad()
def classify(weights, config, input_ids, attention_mask, layers=None):
    """Logits [B, num_labels] of ModernBertForSequenceClassification in eval mode, on `forward`'s last_hidden_state."""
    c = config
    H = c["hidden_size"]
    mask = torch.as_tensor(attention_mask, dtype=torch.long)
    y = forward(weights, c, input_ids, attention_mask, layers=layers)
    pooling = c.get("classifier_pooling", "cls")
    if pooling == "cls":
        x = y[:, 0]
    elif pooling == "mean":
        m = mask.to(torch.float32)
        x = (y * m[:, :, None]).sum(dim=1) / m.sum(dim=1, keepdim=True)
    else:
        x = y
    x = x @ weights["head.dense.weight"].T
    if "head.dense.bias" in weights:
        x = x + weights["head.dense.bias"]
    x = ACTS[c.get("classifier_activation", "gelu")](x)
    x = nn.functional.layer_norm(x, (H,), weights["head.norm.weight"], weights.get("head.norm.bias"), c.get("norm_eps", 1e-5))
    return x @ weights["classifier.weight"].T + weights["classifier.bias"]


def head_rows(H, hd, keep):
    """Rows of Wqkv kept with heads `keep`: in each of the q, k, v thirds, h·hd..(h+1)·hd."""
    return torch.tensor([part * H + h * hd + i for part in range(3) for h in keep for i in range(hd)], dtype=torch.long)


def narrow_weights(weights, config, ffn_keep, head_keep):
    """The weights with heads and FFN neurons removed (keeps listed per original layer index)."""
    w = dict(weights)
    pre = "model." if any(k.startswith("model.") for k in w) else ""
    H, I = config["hidden_size"], config["intermediate_size"]
    hd = H // config["num_attention_heads"]
    for b, keep in head_keep.items():
        p = "%slayers.%s.attn." % (pre, b)
        rows = head_rows(H, hd, keep)
        cols = torch.tensor([h * hd + i for h in keep for i in range(hd)], dtype=torch.long)
        w[p + "Wqkv.weight"] = w[p + "Wqkv.weight"][rows]
        if p + "Wqkv.bias" in w:
            w[p + "Wqkv.bias"] = w[p + "Wqkv.bias"][rows]
        w[p + "Wo.weight"] = w[p + "Wo.weight"][:, cols]
    for b, keep in ffn_keep.items():
        p = "%slayers.%s.mlp." % (pre, b)
        rows = torch.tensor(list(keep) + [I + j for j in keep], dtype=torch.long)
        w[p + "Wi.weight"] = w[p + "Wi.weight"][rows]
        if p + "Wi.bias" in w:
            w[p + "Wi.bias"] = w[p + "Wi.bias"][rows]
        w[p + "Wo.weight"] = w[p + "Wo.weight"][:, torch.tensor(keep, dtype=torch.long)]
    return w


def zeroed_weights(weights, config, ffn_keep, head_keep):
    """The un-narrowed weights with the removed units' output columns (attn.Wo, mlp.Wo) zeroed: what removal must equal."""
    w = dict(weights)
    pre = "model." if any(k.startswith("model.") for k in w) else ""
    H, I = config["hidden_size"], config["intermediate_size"]
    heads = config["num_attention_heads"]
    hd = H // heads
    for b, keep in head_keep.items():
        n = "%slayers.%s.attn.Wo.weight" % (pre, b)
        w[n] = w[n].clone()
        w[n][:, [h * hd + i for h in range(heads) if h not in keep for i in range(hd)]] = 0
    for b, keep in ffn_keep.items():
        n = "%slayers.%s.mlp.Wo.weight" % (pre, b)
        w[n] = w[n].clone()
        w[n][:, [j for j in range(I) if j not in keep]] = 0
    return w


# ---------------------------------------------------------------- HF module tree (for torch.onnx.export)


def LayerNorm(c):
    """nn.LayerNorm(hidden_size, eps=norm_eps, bias=norm_bias); torch 1.13 has no `bias=`, so the bias is dropped by hand."""
    m = nn.LayerNorm(c["hidden_size"], eps=c.get("norm_eps", 1e-5))
    if not c.get("norm_bias", False):
        m.bias = None
    return m


class ACTModule(nn.Module):
    def __init__(self, name):
        super().__init__()
        self.fn = ACTS[name]

    def forward(self, x):
        return self.fn(x)


class ModernBertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.tok_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=c.get("pad_token_id"))
        self.norm = LayerNorm(c)
        self.drop = nn.Dropout(c.get("embedding_dropout", 0.0))

    def forward(self, input_ids):
        return self.drop(self.norm(self.tok_embeddings(input_ids)))


class ModernBertMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.Wi = nn.Linear(c["hidden_size"], int(c["intermediate_size"]) * 2, bias=c.get("mlp_bias", False))
        self.act = ACTModule(c.get("hidden_activation", "gelu"))
        self.drop = nn.Dropout(c.get("mlp_dropout", 0.0))
        self.Wo = nn.Linear(c["intermediate_size"], c["hidden_size"], bias=c.get("mlp_bias", False))

    def forward(self, hidden_states):
        input, gate = self.Wi(hidden_states).chunk(2, dim=-1)
        return self.Wo(self.drop(self.act(input) * gate))


class ModernBertRotaryEmbedding(nn.Module):
    """One inv_freq buffer per layer kind (not saved), cos / sin in float32."""

    def __init__(self, c):
        super().__init__()
        dim = c["hidden_size"] // c["num_attention_heads"]
        for kind in sorted(set(layer_kinds(c))):
            self.register_buffer("%s_inv_freq" % kind, inv_freq(rope_theta(c, kind), dim), persistent=False)

    @torch.no_grad()
    def forward(self, x, position_ids, layer_type):
        inv = getattr(self, "%s_inv_freq" % layer_type)
        inv_freq_expanded = inv[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        position_ids_expanded = position_ids[:, None, :].float()
        freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(dtype=x.dtype), emb.sin().to(dtype=x.dtype)


def apply_rotary_pos_emb(q, k, cos, sin, unsqueeze_dim=1):
    cos = cos.unsqueeze(unsqueeze_dim)
    sin = sin.unsqueeze(unsqueeze_dim)
    return (q * cos) + (rotate_half(q) * sin), (k * cos) + (rotate_half(k) * sin)


def eager_attention_forward(module, qkv, attention_mask, sliding_window_mask, local_attention, bs, dim, position_embeddings):
    # qkv: [batch_size, seqlen, 3, nheads, headdim]
    cos, sin = position_embeddings
    query, key, value = qkv.transpose(3, 1).unbind(dim=2)
    query, key = apply_rotary_pos_emb(query, key, cos, sin)
    scale = module.head_dim**-0.5
    attn_weights = torch.matmul(query, key.transpose(2, 3)) * scale
    if local_attention != (-1, -1):
        attention_mask = sliding_window_mask
    attn_weights = attn_weights + attention_mask
    attn_weights = nn.functional.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query.dtype)
    attn_output = torch.matmul(attn_weights, value)
    attn_output = attn_output.transpose(1, 2).contiguous()
    return attn_output.view(bs, -1, dim)


class ModernBertAttention(nn.Module):
    def __init__(self, c, layer_id):
        super().__init__()
        self.num_heads = c["num_attention_heads"]
        self.head_dim = c["hidden_size"] // c["num_attention_heads"]
        self.all_head_size = self.head_dim * self.num_heads
        self.Wqkv = nn.Linear(c["hidden_size"], 3 * self.all_head_size, bias=c.get("attention_bias", False))
        if layer_kinds(c)[layer_id] == "sliding_attention":
            self.local_attention = (c["local_attention"] // 2, c["local_attention"] // 2)
        else:
            self.local_attention = (-1, -1)
        self.Wo = nn.Linear(c["hidden_size"], c["hidden_size"], bias=c.get("attention_bias", False))
        self.out_drop = nn.Identity()

    def forward(self, hidden_states, attention_mask, sliding_window_mask, position_embeddings):
        qkv = self.Wqkv(hidden_states)
        bs = hidden_states.shape[0]
        qkv = qkv.view(bs, -1, 3, self.num_heads, self.head_dim)
        out = eager_attention_forward(self, qkv, attention_mask, sliding_window_mask, self.local_attention, bs, self.all_head_size, position_embeddings)
        return self.out_drop(self.Wo(out))


class ModernBertEncoderLayer(nn.Module):
    def __init__(self, c, layer_id):
        super().__init__()
        self.attn_norm = nn.Identity() if layer_id == 0 else LayerNorm(c)
        self.attn = ModernBertAttention(c, layer_id)
        self.mlp_norm = LayerNorm(c)
        self.mlp = ModernBertMLP(c)
        self.attention_type = layer_kinds(c)[layer_id]

    def forward(self, hidden_states, attention_mask, sliding_window_mask, position_embeddings):
        attn_out = self.attn(self.attn_norm(hidden_states), attention_mask, sliding_window_mask, position_embeddings)
        hidden_states = hidden_states + attn_out
        return hidden_states + self.mlp(self.mlp_norm(hidden_states))


def _prepare_4d_attention_mask(mask, dtype):
    bsz, src_len = mask.size()
    expanded_mask = mask[:, None, None, :].expand(bsz, 1, src_len, src_len).to(dtype)
    inverted_mask = 1.0 - expanded_mask
    return inverted_mask.masked_fill(inverted_mask.to(torch.bool), torch.finfo(dtype).min)


class ModernBertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.embeddings = ModernBertEmbeddings(c)
        self.layers = nn.ModuleList([ModernBertEncoderLayer(c, i) for i in range(c["num_hidden_layers"])])
        self.final_norm = LayerNorm(c)
        self.rotary_emb = ModernBertRotaryEmbedding(c)
        self.kept = None  # layer subset (original indices) run by forward; None: all

    def _update_attention_mask(self, attention_mask):
        global_attention_mask = _prepare_4d_attention_mask(attention_mask, torch.float32)
        rows = torch.arange(global_attention_mask.shape[2]).unsqueeze(0)
        distance = torch.abs(rows - rows.T)
        window_mask = (distance <= self.config["local_attention"] // 2).unsqueeze(0).unsqueeze(0)
        # HF: window_mask.logical_not(); torch 1.13 cannot export aten::logical_not, `~` (aten::bitwise_not → Not) is the same on bool.
        sliding_window_mask = global_attention_mask.masked_fill(~window_mask, torch.finfo(torch.float32).min)
        return global_attention_mask, sliding_window_mask

    def forward(self, input_ids, attention_mask):
        seq_len = input_ids.shape[1]
        position_ids = torch.arange(seq_len).unsqueeze(0)
        attention_mask, sliding_window_mask = self._update_attention_mask(attention_mask)
        hidden_states = self.embeddings(input_ids)
        position_embeddings = {}
        for layer_type in sorted(set(layer_kinds(self.config))):
            position_embeddings[layer_type] = self.rotary_emb(hidden_states, position_ids, layer_type)
        layers = self.layers if self.kept is None else [self.layers[i] for i in self.kept]
        for encoder_layer in layers:
            hidden_states = encoder_layer(hidden_states, attention_mask, sliding_window_mask, position_embeddings[encoder_layer.attention_type])
        return self.final_norm(hidden_states)


class ModernBertPredictionHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"], c.get("classifier_bias", False))
        self.act = ACTModule(c.get("classifier_activation", "gelu"))
        self.norm = LayerNorm(c)

    def forward(self, hidden_states):
        return self.norm(self.act(self.dense(hidden_states)))


class ModernBertForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model = ModernBertModel(c)
        self.head = ModernBertPredictionHead(c)
        self.decoder = nn.Linear(c["hidden_size"], c["vocab_size"], bias=c.get("decoder_bias", True))
        self.decoder.weight = self.model.embeddings.tok_embeddings.weight  # tie_word_embeddings

    def forward(self, input_ids, attention_mask):
        return self.decoder(self.head(self.model(input_ids, attention_mask)))


def pool(last_hidden_state, attention_mask, pooling):
    """ModernBertForSequenceClassification.forward's pooling: "cls" position 0, "mean" masked mean; anything else none."""
    if pooling == "cls":
        return last_hidden_state[:, 0]
    if pooling == "mean":
        return (last_hidden_state * attention_mask.unsqueeze(-1)).sum(dim=1) / attention_mask.sum(dim=1, keepdim=True)
    return last_hidden_state


class ModernBertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_labels = len(c["id2label"])
        self.config = c
        self.model = ModernBertModel(c)
        self.head = ModernBertPredictionHead(c)
        self.drop = nn.Dropout(c.get("classifier_dropout", 0.0))
        self.classifier = nn.Linear(c["hidden_size"], self.num_labels)

    def forward(self, input_ids, attention_mask):
        last_hidden_state = pool(self.model(input_ids, attention_mask), attention_mask, self.config.get("classifier_pooling", "cls"))
        return self.classifier(self.drop(self.head(last_hidden_state)))


def module_from(c, weights):
    m = ModernBertForMaskedLM(c).eval()
    state = dict(weights)
    state.setdefault("decoder.weight", state["model.embeddings.tok_embeddings.weight"])
    m.load_state_dict(state, strict=True)
    return m


def narrow_module(model, ffn_keep, head_keep):
    """Second implementation of the width cases, on the module tree (checked against `narrow_weights`)."""
    with torch.no_grad():
        for b, keep in head_keep.items():
            a = model.model.layers[int(b)].attn
            rows = head_rows(a.all_head_size, a.head_dim, keep)
            a.Wqkv.weight = nn.Parameter(a.Wqkv.weight[rows])
            if a.Wqkv.bias is not None:
                a.Wqkv.bias = nn.Parameter(a.Wqkv.bias[rows])
            a.Wo.weight = nn.Parameter(a.Wo.weight[:, torch.tensor([h * a.head_dim + i for h in keep for i in range(a.head_dim)])])
            a.num_heads, a.all_head_size = len(keep), len(keep) * a.head_dim
        for b, keep in ffn_keep.items():
            mlp = model.model.layers[int(b)].mlp
            I = mlp.Wo.weight.shape[1]
            rows = torch.tensor(list(keep) + [I + j for j in keep], dtype=torch.long)
            mlp.Wi.weight = nn.Parameter(mlp.Wi.weight[rows])
            if mlp.Wi.bias is not None:
                mlp.Wi.bias = nn.Parameter(mlp.Wi.bias[rows])
            mlp.Wo.weight = nn.Parameter(mlp.Wo.weight[:, torch.tensor(keep, dtype=torch.long)])


@torch.no_grad()
def module_forward(model, ids, mask, kept=None):
    base = model.model
    base.kept = kept
    try:
        return base(torch.as_tensor(ids), torch.as_tensor(mask))
    finally:
        base.kept = None


# ---------------------------------------------------------------- fixture


def read_config(model_dir):
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        return json.load(f)


def load_dir(model_dir):
    return read_config(model_dir), load_safetensors(os.path.join(model_dir, "model.safetensors"))


def rounded(t):
    return [float("%.7g" % float(v)) for v in t.flatten()]


def tokenizer_ids(src_dir):
    """(vocabulary size, {bos, eos, cls, sep, pad}_token_id) of SRC_DIR's tokenizer."""
    with open(os.path.join(src_dir, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    with open(os.path.join(src_dir, "special_tokens_map.json"), encoding="utf-8") as f:
        specials = json.load(f)
    ids = dict(tok["model"]["vocab"])
    ids.update({a["content"]: a["id"] for a in tok.get("added_tokens", [])})

    def token_id(role):
        t = specials[role]
        return ids[t["content"] if isinstance(t, dict) else t]

    size = max(ids.values()) + 1
    return size, {k + "_token_id": token_id(k + "_token") for k in ("bos", "eos", "cls", "sep", "pad")}


def fixture_config(src_dir):
    vocab, special = tokenizer_ids(src_dir)
    # The keys of answerdotai/ModernBERT-base's config.json (saved by transformers 4.47/4.48 for
    # ModernBertForMaskedLM), at this fixture's shape; the rest are the ModernBertConfig defaults.
    c = {
        "architectures": ["ModernBertForMaskedLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "classifier_activation": "gelu",
        "classifier_bias": False,
        "classifier_dropout": 0.0,
        "classifier_pooling": "mean",
        "decoder_bias": True,
        "deterministic_flash_attn": False,
        "embedding_dropout": 0.0,
        "global_attn_every_n_layers": 3,
        "global_rope_theta": 160000.0,
        "gradient_checkpointing": False,
        "hidden_activation": "gelu",
        "hidden_size": 32,
        "initializer_cutoff_factor": 2.0,
        "initializer_range": 0.02,
        "intermediate_size": 48,
        "layer_norm_eps": 1e-05,
        "local_attention": 8,
        "local_rope_theta": 10000.0,
        "max_position_embeddings": 64,
        "mlp_bias": False,
        "mlp_dropout": 0.0,
        "model_type": "modernbert",
        "norm_bias": False,
        "norm_eps": 1e-05,
        "num_attention_heads": 4,
        "num_hidden_layers": 4,
        "position_embedding_type": "absolute",
        "sparse_pred_ignore_index": -100,
        "sparse_prediction": False,
        "torch_dtype": "float32",
        "transformers_version": "4.48.0",
        "vocab_size": vocab,
    }
    c.update(special)
    return c


def init_weights(model):
    """Seeded random weights of O(1) activations, norms around 1; every tensor distinct (torch.onnx.export would store equal ones once)."""
    g = torch.Generator().manual_seed(20261205)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "tok_embeddings" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            elif name.endswith("attn.Wqkv.weight"):
                p.copy_(0.25 * torch.randn(p.shape, generator=g))  # scores of std ≈ 2: peaked enough that window and rotation show
            elif name.endswith("mlp.Wi.weight"):
                p.copy_(p.shape[1] ** -0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def export(base, ids, mask, path):
    _export(base, ids, mask, path)


def onnx_check(path, config, weights, cases):
    """max abs diff of onnxruntime on `path` vs `forward`, or None without onnxruntime."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    worst = 0.0
    for ids, mask in cases:
        y = s.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
        worst = max(worst, (torch.from_numpy(y) - forward(weights, config, ids, mask)).abs().max().item())
    return worst


def fixture(out_dir, src_dir, src_refs_path, out_refs_path):
    torch.set_num_threads(2)
    c = fixture_config(src_dir)
    os.makedirs(os.path.join(out_dir, "onnx"), exist_ok=True)
    torch.manual_seed(0)
    model = ModernBertForMaskedLM(c).eval()
    init_weights(model)
    state = {k: v for k, v in model.state_dict().items() if k != "decoder.weight"}  # tied to the word table
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(c, f, indent=2, sort_keys=True)
        f.write("\n")
    for name in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(src_dir, name), os.path.join(out_dir, name))
    save_safetensors(state, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})

    with open(src_refs_path, encoding="utf-8") as f:
        src = json.load(f)
    ids, mask = torch.tensor(src["input_ids"]), torch.tensor(src["attention_mask"])
    c2, weights = load_dir(out_dir)  # reads back what was written
    assert c2 == c
    y_ref = forward(weights, c, ids, mask)
    y_module = module_forward(model, ids, mask)
    d = (y_module - y_ref).abs().max().item()
    print("module tree vs functional forward, all layers: max abs diff %.3g (output std %.3g)" % (d, y_ref.std().item()))
    if d > TOLERANCE:
        raise SystemExit("module tree and reference disagree")
    onnx_path = os.path.join(out_dir, "onnx", "model.onnx")
    export(model.model, ids, mask, onnx_path)
    od = onnx_check(onnx_path, c, weights, [(ids, mask), (ids[2:3, :5], mask[2:3, :5]), (ids[1:, :14], mask[1:, :14])])
    print("onnx/model.onnx vs functional forward: %s" % ("not run (no onnxruntime for this interpreter)" if od is None else "max abs diff %.3g" % od))
    if od is not None and od > TOLERANCE:
        raise SystemExit("ONNX export and reference disagree")

    refs = {"texts": src["texts"], "input_ids": src["input_ids"], "attention_mask": src["attention_mask"], "subsets": {}}
    for key in SUBSETS:
        kept = [int(i) for i in key.split(",")]
        y = forward(weights, c, ids, mask, layers=kept)
        diff = (module_forward(model, ids, mask, kept) - y).abs().max().item()
        print("layers %-8s module tree vs reference %.3g" % (key, diff))
        if diff > TOLERANCE:
            raise SystemExit("module tree and reference disagree")
        refs["subsets"][key] = {"shape": list(y.shape), "last_hidden_state": rounded(y)}
    with open(out_refs_path, "w", encoding="utf-8") as f:
        json.dump(refs, f)
        f.write("\n")
    print("wrote %s and %s" % (out_dir, out_refs_path))


# ---------------------------------------------------------------- width, check, sanity


def width(model_dir, refs_path, out_path):
    torch.set_num_threads(2)
    c, weights = load_dir(model_dir)
    shape = (c["num_hidden_layers"], c["num_attention_heads"], c["intermediate_size"])
    if shape not in CASES:
        raise SystemExit("no width cases for num_hidden_layers %d, num_attention_heads %d, intermediate_size %d" % shape)
    with open(refs_path, encoding="utf-8") as f:
        refs = json.load(f)
    ids, mask = torch.tensor(refs["input_ids"]), torch.tensor(refs["attention_mask"])
    cases = []
    for case in CASES[shape]:
        y = forward(narrow_weights(weights, c, case["ffnKeep"], case["headKeep"]), c, ids, mask, layers=case["kept"])
        module = module_from(c, weights)
        narrow_module(module, case["ffnKeep"], case["headKeep"])
        diff = (module_forward(module, ids, mask, case["kept"]) - y).abs().max().item()
        full = forward(weights, c, ids, mask, layers=case["kept"])
        zeroed = forward(zeroed_weights(weights, c, case["ffnKeep"], case["headKeep"]), c, ids, mask, layers=case["kept"])
        zdiff = (zeroed - y).abs().max().item()
        print("kept %-12s heads %-34s ffn layers %-10s module vs reference %.3g, zeroed-columns model vs reference %.3g, change from un-narrowed %.3g" % (
            case["kept"], json.dumps(case["headKeep"]), list(case["ffnKeep"]), diff, zdiff, (y - full).abs().max().item()))
        if diff > TOLERANCE or zdiff > TOLERANCE:
            raise SystemExit("module tree, zeroed-columns model and reference disagree")
        cases.append({**case, "shape": list(y.shape), "last_hidden_state": rounded(y)})
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"input_ids": refs["input_ids"], "attention_mask": refs["attention_mask"], "cases": cases}, f)
        f.write("\n")
    print("wrote %d cases to %s" % (len(cases), out_path))


def check(model_dir, refs_path):
    torch.set_num_threads(2)
    c, weights = load_dir(model_dir)
    with open(refs_path, encoding="utf-8") as f:
        refs = json.load(f)
    worst = 0.0
    for key, r in refs["subsets"].items():
        y = forward(weights, c, refs["input_ids"], refs["attention_mask"], layers=[int(i) for i in key.split(",")])
        assert list(y.shape) == r["shape"], (key, list(y.shape), r["shape"])
        diff = (y.flatten() - torch.tensor(r["last_hidden_state"], dtype=torch.float32)).abs().max().item()
        worst = max(worst, diff)
        print("layers %-8s shape %s  max abs diff %.3g" % (key, r["shape"], diff))
    ok = worst <= TOLERANCE
    print("%s: max abs diff %.3g (tolerance %g)" % ("OK" if ok else "FAIL", worst, TOLERANCE))
    return 0 if ok else 1


def sanity(model_dir, refs_path):
    """The module tree vs the functional forward; how much the sliding window changes the output; padding invariance."""
    torch.set_num_threads(2)
    c, weights = load_dir(model_dir)
    with open(refs_path, encoding="utf-8") as f:
        refs = json.load(f)
    ids, mask = torch.tensor(refs["input_ids"]), torch.tensor(refs["attention_mask"])
    valid = mask.bool()
    module = module_from(c, weights)
    wide = dict(c, local_attention=1000)
    for key in SUBSETS:
        kept = [int(i) for i in key.split(",")]
        y = forward(weights, c, ids, mask, layers=kept)
        m = (module_forward(module, ids, mask, kept) - y).abs().max().item()
        win = (forward(weights, wide, ids, mask, layers=kept) - y)[valid].abs().max().item()
        pad = 0.0
        for b in range(ids.shape[0]):
            n = int(mask[b].sum())
            alone = forward(weights, c, ids[b : b + 1, :n], mask[b : b + 1, :n], layers=kept)
            pad = max(pad, (alone[0] - y[b, :n]).abs().max().item())
        print("layers %-8s module tree vs forward %.3g | local_attention 1000 vs %d, max change over real tokens %.3g | row alone vs in padded batch %.3g" % (
            key, m, c["local_attention"], win, pad))


def classifier_config(base_dir):
    """BASE_DIR's config.json as ModernBertForSequenceClassification saves it after fine-tuning on 2 labels."""
    c = read_config(base_dir)
    c.update({
        "architectures": ["ModernBertForSequenceClassification"],
        "id2label": {"0": "neg", "1": "pos"},
        "label2id": {"neg": 0, "pos": 1},
        "classifier_pooling": "mean",
    })
    return c


def example_batch(vocab, bos, eos, pad, lengths, seed):
    """Seeded token ids [len(lengths), max(lengths)]: bos, random ids, eos, right padding; and the mask."""
    g = torch.Generator().manual_seed(seed)
    S = max(lengths)
    ids = torch.full((len(lengths), S), pad, dtype=torch.long)
    mask = torch.zeros((len(lengths), S), dtype=torch.long)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.randint(3, vocab, (n,), generator=g)
        ids[b, 0], ids[b, n - 1] = bos, eos
        mask[b, :n] = 1
    return ids, mask


def export_classifier(model, ids, mask, path):
    """As `optimum-cli export onnx --task text-classification` exports it: inputs input_ids, attention_mask, output logits."""
    torch.onnx.export(
        model,
        (ids, mask),
        path,
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_axes={
            "input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size"},
        },
        opset_version=14,
        do_constant_folding=True,
    )


def classifier(out_dir, base_dir):
    """test/fixtures/tiny-modernbert-classifier: BASE_DIR's encoder with a seeded random sequence-classification head."""
    torch.set_num_threads(2)
    c = classifier_config(base_dir)
    _, base = load_dir(base_dir)
    encoder = {k: v for k, v in base.items() if k.startswith("model.")}
    os.makedirs(os.path.join(out_dir, "onnx"), exist_ok=True)
    torch.manual_seed(0)
    model = ModernBertForSequenceClassification(c).eval()
    H, g = c["hidden_size"], torch.Generator().manual_seed(20261206)
    state = dict(encoder)
    for name, p in model.state_dict().items():
        if name.startswith("model."):
            continue
        if name == "head.dense.weight":
            state[name] = H**-0.5 * torch.randn(p.shape, generator=g)
        elif name.endswith("norm.weight"):
            state[name] = 1 + 0.2 * torch.randn(p.shape, generator=g)
        elif name.endswith("bias"):
            state[name] = 0.1 * torch.randn(p.shape, generator=g)
        else:
            state[name] = 0.3 * torch.randn(p.shape, generator=g)
    model.load_state_dict(state, strict=True)
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(c, f, indent=2, sort_keys=True)
        f.write("\n")
    for name in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(base_dir, name), os.path.join(out_dir, name))
    save_safetensors(state, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})

    c2, weights = load_dir(out_dir)  # reads back what was written
    assert c2 == c and sorted(weights) == sorted(state)
    ids, mask = example_batch(c["vocab_size"], c["bos_token_id"], c["eos_token_id"], c["pad_token_id"], [13, 6, 9, 3], 7)
    cases = [(ids, mask), (ids[2:3, :9], mask[2:3, :9]), (ids[1:, :6], mask[1:, :6])]
    worst = 0.0
    for i, m in cases:
        y_ref = classify(weights, c, i, m)
        with torch.no_grad():
            y_module = model(i, m)
        assert list(y_module.shape) == [i.shape[0], 2]
        worst = max(worst, (y_module - y_ref).abs().max().item())
        h = (forward(weights, c, i, m) - forward(base, read_config(base_dir), i, m)).abs().max().item()
        assert h == 0.0, h  # the encoder is BASE_DIR's
    print("module tree vs functional classify: max abs diff %.3g; logits %s" % (worst, [[round(v, 4) for v in r] for r in classify(weights, c, ids, mask).tolist()]))
    if worst > TOLERANCE:
        raise SystemExit("module tree and reference disagree")
    onnx_path = os.path.join(out_dir, "onnx", "model.onnx")
    export_classifier(model, ids, mask, onnx_path)
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None
    if ort is None:
        print("onnx/model.onnx vs functional classify: not run (no onnxruntime for this interpreter)")
    else:
        s = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        od = max((torch.from_numpy(s.run(None, {"input_ids": i.numpy(), "attention_mask": m.numpy()})[0]) - classify(weights, c, i, m)).abs().max().item() for i, m in cases)
        print("onnx/model.onnx vs functional classify: max abs diff %.3g" % od)
        if od > TOLERANCE:
            raise SystemExit("ONNX export and reference disagree")
    print("wrote %s" % out_dir)


def random_base(out, tokenizer_dir):
    """A model of answerdotai/ModernBERT-base's shape (22 layers, hidden 768, GLU 1152, 12 heads,
    vocabulary 50368, local_attention 128) with seeded random F32 weights, written as ModernBertForMaskedLM
    saves them, with `tokenizer_dir`'s tokenizer files: for timing and memory only, its accuracy means nothing."""
    os.makedirs(out, exist_ok=True)
    for f in TOKENIZER_FILES:
        if os.path.exists(os.path.join(tokenizer_dir, f)):
            shutil.copy(os.path.join(tokenizer_dir, f), out)
    src = json.load(open(os.path.join(tokenizer_dir, "config.json"), encoding="utf-8"))
    H, I, L, V = 768, 1152, 22, 50368
    config = dict(architectures=["ModernBertForMaskedLM"], model_type="modernbert", hidden_size=H, intermediate_size=I, num_attention_heads=12,
                  num_hidden_layers=L, global_attn_every_n_layers=3, local_attention=128, global_rope_theta=160000.0, local_rope_theta=10000.0,
                  max_position_embeddings=8192, norm_eps=1e-05, norm_bias=False, attention_bias=False, mlp_bias=False, hidden_activation="gelu",
                  vocab_size=V, pad_token_id=src.get("pad_token_id", 1), bos_token_id=src.get("bos_token_id", 0), eos_token_id=src.get("eos_token_id", 2),
                  cls_token_id=src.get("bos_token_id", 0), sep_token_id=src.get("eos_token_id", 2), classifier_pooling="mean")
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    g = torch.Generator().manual_seed(0)
    weights = {"model.embeddings.tok_embeddings.weight": torch.randn(V, H, generator=g), "model.embeddings.norm.weight": 1 + 0.1 * torch.randn(H, generator=g)}
    for i in range(L):
        p = "model.layers.%d." % i
        if i:
            weights[p + "attn_norm.weight"] = 1 + 0.1 * torch.randn(H, generator=g)
        weights[p + "attn.Wqkv.weight"] = H ** -0.5 * torch.randn(3 * H, H, generator=g)
        weights[p + "attn.Wo.weight"] = H ** -0.5 * torch.randn(H, H, generator=g)
        weights[p + "mlp_norm.weight"] = 1 + 0.1 * torch.randn(H, generator=g)
        weights[p + "mlp.Wi.weight"] = H ** -0.5 * torch.randn(2 * I, H, generator=g)
        weights[p + "mlp.Wo.weight"] = I ** -0.5 * torch.randn(H, I, generator=g)
    weights["model.final_norm.weight"] = 1 + 0.1 * torch.randn(H, generator=g)
    save_safetensors(weights, os.path.join(out, "model.safetensors"))
    print("wrote %s: %d parameters" % (out, sum(t.numel() for t in weights.values())))


def biased(base_dir, refs_path, out_path):
    """References for BASE_DIR with norm_bias, attention_bias and mlp_bias set: a seeded random bias for
    every Linear and LayerNorm of the encoder (their values are written into OUT too, so a test adds
    them to BASE_DIR's weights itself), and the last_hidden_state of layer subsets on REFS' ids."""
    config, weights = load_dir(base_dir)
    c = dict(config, norm_bias=True, attention_bias=True, mlp_bias=True)
    g = torch.Generator().manual_seed(5)
    biases = {}
    for k, v in weights.items():
        if k.startswith("model.") and k.endswith(".weight") and "tok_embeddings" not in k:
            biases[k[: -len(".weight")] + ".bias"] = (0.3 * torch.randn(v.shape[0], generator=g)).to(torch.float32)
    w = dict(weights, **biases)
    with open(refs_path, encoding="utf-8") as f:
        refs = json.load(f)
    out = {"config": {"norm_bias": True, "attention_bias": True, "mlp_bias": True}, "biases": {k: [float(x) for x in v] for k, v in biases.items()},
           "input_ids": refs["input_ids"], "attention_mask": refs["attention_mask"], "subsets": {}}
    for key in ["0,1,2,3", "1,3"]:
        kept = [int(i) for i in key.split(",")]
        y = forward(w, c, refs["input_ids"], refs["attention_mask"], layers=kept)
        plain = forward(weights, config, refs["input_ids"], refs["attention_mask"], layers=kept)
        print("layers %-8s biases change the output by %.3g" % (key, (y - plain).abs().max().item()))
        out["subsets"][key] = {"shape": list(y.shape), "last_hidden_state": rounded(y)}
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f)
        f.write("\n")
    print("wrote %d biases and %d subsets to %s" % (len(biases), len(out["subsets"]), out_path))


if __name__ == "__main__":
    cmd, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if cmd == "fixture":
        fixture(*args[:4])
    elif cmd == "width":
        width(*args[:3])
    elif cmd == "check":
        sys.exit(check(*args[:2]))
    elif cmd == "sanity":
        sanity(*args[:2])
    elif cmd == "classifier":
        classifier(*args[:2])
    elif cmd == "biased":
        biased(*args[:3])
    elif cmd == "random-base":
        random_base(*args[:2])
    else:
        raise SystemExit(__doc__)
