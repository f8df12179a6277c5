"""RoBERTa encoder forward pass in plain PyTorch (float32), written from scratch.

Independent reference for ProbeScale's probing protocol; shares no code with the
TypeScript engine. Reads `config.json` and `model.safetensors` (header parsed by
hand: 8-byte little-endian header length, JSON header, raw tensor data). fp16 /
bf16 / fp32 weights are all cast to float32.

Architecture (HF RobertaModel, eval mode, post-LN):
  embeddings = LayerNorm(word[ids] + position[pos] + token_type[0]),
      pos = cumsum(mask) * mask + padding_idx     (padding_idx = pad_token_id)
  per layer:  a = LayerNorm(x + Dense(SelfAttention(x, additive mask)))
              x = LayerNorm(a + Dense(GELU_erf(Dense(a))))
Returns hidden states h_0 (embedding output) .. h_L.

Self-check against the fixture refs:

    /usr/bin/python3 scripts/ref/roberta.py test/fixtures/tiny-roberta test/fixtures/refs/tiny-roberta.refs.json
"""

import json
import math
import os
import struct
import sys

import numpy as np
import torch

_DTYPES = {
    "F16": np.float16,
    "F32": np.float32,
    "F64": np.float64,
    "I64": np.int64,
    "I32": np.int32,
}


def load_safetensors(path):
    """Return {name: float32 torch.Tensor} from a .safetensors file."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = data[a:b]
        dt = info["dtype"]
        if dt == "BF16":
            u16 = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u16.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(_DTYPES[dt]).newbyteorder("<"))
        arr = arr.astype(np.float32).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


class RobertaReference:
    def __init__(self, model_dir, weights_path=None):
        with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
            self.cfg = json.load(f)
        cfg = self.cfg
        if cfg.get("model_type") not in ("roberta", None):
            raise ValueError("not a RoBERTa config: %r" % cfg.get("model_type"))
        act = cfg.get("hidden_act", "gelu")
        if act != "gelu":
            raise ValueError("only exact (erf) gelu is implemented, config has %r" % act)
        if cfg.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are implemented")
        self.H = cfg["hidden_size"]
        self.nh = cfg["num_attention_heads"]
        self.hd = self.H // self.nh
        self.L = cfg["num_hidden_layers"]
        self.eps = cfg.get("layer_norm_eps", 1e-12)
        self.pad = cfg.get("pad_token_id", 1)
        w = load_safetensors(weights_path or os.path.join(model_dir, "model.safetensors"))
        # Accept both bare RobertaModel names and RobertaForMaskedLM ("roberta." prefix).
        self.w = {}
        for k, v in w.items():
            if k.startswith("roberta."):
                k = k[len("roberta."):]
            self.w[k] = v

    def _ln(self, x, prefix):
        return torch.nn.functional.layer_norm(
            x, (self.H,), self.w[prefix + ".weight"], self.w[prefix + ".bias"], self.eps
        )

    def _lin(self, x, prefix):
        return x @ self.w[prefix + ".weight"].T + self.w[prefix + ".bias"]

    @torch.no_grad()
    def forward(self, input_ids, attention_mask, layers=None):
        """input_ids, attention_mask: LongTensor [B, S]. Returns list of L+1 tensors [B, S, H].

        `layers` (optional): indices of the encoder blocks to run, in order (a layer-pruned
        model); default all. The result then has len(layers)+1 entries."""
        w = self.w
        ids = torch.as_tensor(input_ids, dtype=torch.long)
        mask = torch.as_tensor(attention_mask, dtype=torch.long)
        B, S = ids.shape
        # RoBERTa position ids: computed from non-pad tokens of input_ids
        # (HF create_position_ids_from_input_ids uses input_ids != padding_idx);
        # with right padding by <pad> this equals cumsum(mask) * mask + padding_idx.
        nonpad = (ids != self.pad).long()
        pos = torch.cumsum(nonpad, dim=1) * nonpad + self.pad
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][pos]
            + w["embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)]
        )
        x = self._ln(x, "embeddings.LayerNorm")
        hidden = [x]
        neg = torch.finfo(torch.float32).min
        add_mask = (1.0 - mask.to(torch.float32))[:, None, None, :] * neg  # [B,1,1,S]
        scale = 1.0 / math.sqrt(self.hd)
        for i in (range(self.L) if layers is None else layers):
            p = "encoder.layer.%d." % i
            # Heads of this layer from its weights (fewer than num_attention_heads after head pruning).
            nh = w[p + "attention.self.query.weight"].shape[0] // self.hd

            def heads(t):
                return t.view(B, S, nh, self.hd).transpose(1, 2)  # [B,nh,S,hd]

            q = heads(self._lin(x, p + "attention.self.query"))
            k = heads(self._lin(x, p + "attention.self.key"))
            v = heads(self._lin(x, p + "attention.self.value"))
            scores = (q @ k.transpose(-1, -2)) * scale + add_mask
            probs = torch.softmax(scores, dim=-1)
            ctx = (probs @ v).transpose(1, 2).reshape(B, S, nh * self.hd)
            a = self._ln(x + self._lin(ctx, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            f = self._lin(a, p + "intermediate.dense")
            f = 0.5 * f * (1.0 + torch.erf(f / math.sqrt(2.0)))
            x = self._ln(a + self._lin(f, p + "output.dense"), p + "output.LayerNorm")
            hidden.append(x)
        return hidden


def _selfcheck(model_dir, refs_path, tol=1e-4):
    with open(refs_path, encoding="utf-8") as f:
        refs = json.load(f)
    m = RobertaReference(model_dir)
    ok = True
    worst = 0.0
    # subset keys are the kept encoder layers (all four texts each time); "0,1,2,3" = full model
    ids = torch.tensor(refs["input_ids"])
    mask = torch.tensor(refs["attention_mask"])
    for key, sub in refs["subsets"].items():
        layers = [int(s) for s in key.split(",")] if key.strip() else []
        shape = sub["shape"]
        out = m.forward(ids[:, : shape[1]], mask[:, : shape[1]], layers=layers)[-1]
        ref = torch.tensor(sub["last_hidden_state"], dtype=torch.float32).view(*shape)
        d_all = (out - ref).abs().max().item()
        d_real = ((out - ref).abs() * mask[:, : shape[1], None]).max().item()
        worst = max(worst, d_all)
        good = d_all <= tol
        ok &= good
        print("layers %-8s shape %s: max|diff| all positions %.3g, non-pad positions %.3g -> %s"
              % (key, list(out.shape), d_all, d_real, "OK" if good else "FAIL"))
    print("forward match (tol %g): %s, max abs diff %.3g" % (tol, ok, worst))
    return ok


if __name__ == "__main__":
    torch.set_num_threads(2)
    md = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/tiny-roberta"
    rp = sys.argv[2] if len(sys.argv) > 2 else "test/fixtures/refs/tiny-roberta.refs.json"
    sys.exit(0 if _selfcheck(md, rp) else 1)
