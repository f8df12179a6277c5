"""
Writes test/fixtures/tiny-mpnet and its references, from a PyTorch transcription of Hugging Face's
MPNetModel (src/transformers/models/mpnet/modeling_mpnet.py: embeddings with RoBERTa-style
positions from padding index 1, a relative position bias computed once in the encoder from 32
buckets and added to every layer's attention scores, post-LayerNorm blocks). Python transformers
is not installable on this machine, so the model is transcribed here, module names and operations
as in that file, and exported with torch.onnx.export as optimum exports it (feature extraction:
input_ids and attention_mask in, last_hidden_state out, dynamic batch and sequence axes).

The tokenizer follows transformers' MPNetConverter (convert_slow_tokenizer.py): BERT normalisation
and pre-tokenisation, WordPiece over vocab.txt, "<s> A </s>" and "<s> A </s> </s> B </s>". The
vocabulary is tiny-bert's with MPNet's four leading specials and a trailing <mask>, as
microsoft/mpnet-base lays its vocab.txt out; the reference ids are tiny-bert's (made by Python
transformers) mapped onto it.

Usage (Debian: apt-get install python3-torch):
  /usr/bin/python3 scripts/ref/mpnet.py test/fixtures/tiny-mpnet test/fixtures/refs/tiny-bert.refs.json test/fixtures/refs/tiny-mpnet.refs.json
  /usr/bin/python3 scripts/ref/mpnet.py --last-hidden DIR IDS.json OUT.bin   (float32 last_hidden_state of DIR's safetensors for the ids)
  /usr/bin/python3 scripts/ref/mpnet.py --random-base DIR [--f16-copy DIR16]   (mpnet-base's shape, random weights, with onnx/model.onnx: for timing only; DIR16: the same weights as F16 safetensors alone)
"""
import json
import math
import os
import struct
import sys

import torch
from torch import nn

SPECIALS_FIRST = ["<s>", "<pad>", "</s>", "<unk>"]
SUBSETS = ["0,1,2,3", "0,1", "0,2", "1,3", "3", "0,3"]


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.padding_idx = 1
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=1)
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"], padding_idx=1)
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, input_ids):
        # create_position_ids_from_input_ids (RoBERTa's): cumsum over non-pad tokens, offset by the padding index.
        mask = input_ids.ne(self.padding_idx).int()
        positions = (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + self.padding_idx
        return self.LayerNorm(self.word_embeddings(input_ids) + self.position_embeddings(positions))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c["num_attention_heads"]
        self.size = c["hidden_size"] // self.heads
        h = c["hidden_size"]
        self.q, self.k, self.v, self.o = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.kept_heads = None  # width references: the heads left after pruning (the bias keeps their columns)

    def forward(self, x, mask, position_bias):
        b = x.shape[0]
        q = self.q(x).view(b, -1, self.heads, self.size).transpose(1, 2)
        k = self.k(x).view(b, -1, self.heads, self.size).transpose(1, 2)
        v = self.v(x).view(b, -1, self.heads, self.size).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.size)
        scores = scores + (position_bias if self.kept_heads is None else position_bias[:, self.kept_heads])
        scores = scores + mask
        probs = nn.functional.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return self.o(ctx.view(ctx.size()[:-2] + (self.heads * self.size,)))


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attn = SelfAttention(c)
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, x, mask, position_bias):
        return self.LayerNorm(self.attn(x, mask, position_bias) + x)


class GELUActivation(nn.Module):
    def forward(self, x):
        return nn.functional.gelu(x)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.intermediate_act_fn = GELUActivation()

    def forward(self, x):
        return self.intermediate_act_fn(self.dense(x))


class Output(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["intermediate_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, h, x):
        return self.LayerNorm(self.dense(h) + x)


class Pooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = Output(c)

    def forward(self, x, mask, position_bias):
        a = self.attention(x, mask, position_bias)
        return self.output(self.intermediate(a), a)


def relative_position_bucket(relative_position, num_buckets=32, max_distance=128):
    ret = 0
    n = -relative_position
    num_buckets //= 2
    ret += (n < 0).to(torch.long) * num_buckets
    n = torch.abs(n)
    max_exact = num_buckets // 2
    is_small = n < max_exact
    val_if_large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)).to(torch.long)
    val_if_large = torch.min(val_if_large, torch.full_like(val_if_large, num_buckets - 1))
    ret += torch.where(is_small, n, val_if_large)
    return ret


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.relative_attention_bias = nn.Embedding(c["relative_attention_num_buckets"], c["num_attention_heads"])

    def forward(self, x, mask):
        bsz, qlen = x.size(0), x.size(1)
        context = torch.arange(qlen, dtype=torch.long)[:, None]
        memory = torch.arange(qlen, dtype=torch.long)[None, :]
        bucket = relative_position_bucket(memory - context)
        bias = self.relative_attention_bias(bucket).permute([2, 0, 1]).unsqueeze(0)
        bias = bias.expand((bsz, -1, qlen, qlen)).contiguous()
        for layer in self.layer:
            x = layer(x, mask, bias)
        return x


class MPNetModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)
        self.pooler = Pooler(c)

    def forward(self, input_ids, attention_mask):
        mask = attention_mask[:, None, None, :].to(torch.float32)
        mask = (1.0 - mask) * torch.finfo(torch.float32).min
        return self.encoder(self.embeddings(input_ids), mask)


def narrow(model, ffn_keep, head_keep):
    """Removes heads (their Q, K, V rows, O columns and position-bias columns) and FFN neurons in place; nothing refitted."""
    with torch.no_grad():
        for b, keep in head_keep.items():
            a = model.encoder.layer[int(b)].attention.attn
            idx = torch.tensor([h * a.size + i for h in keep for i in range(a.size)], dtype=torch.long)
            for lin in (a.q, a.k, a.v):
                lin.weight = nn.Parameter(lin.weight[idx])
                lin.bias = nn.Parameter(lin.bias[idx])
            a.o.weight = nn.Parameter(a.o.weight[:, idx])
            a.heads, a.kept_heads = len(keep), list(keep)
        for b, keep in ffn_keep.items():
            layer = model.encoder.layer[int(b)]
            idx = torch.tensor(keep, dtype=torch.long)
            layer.intermediate.dense.weight = nn.Parameter(layer.intermediate.dense.weight[idx])
            layer.intermediate.dense.bias = nn.Parameter(layer.intermediate.dense.bias[idx])
            layer.output.dense.weight = nn.Parameter(layer.output.dense.weight[:, idx])


def width_refs(folder, refs, out_file):
    """The cases of width.py (tiny-roberta's) on this model, as test/unit/core/compensate/graph.test.ts reads them."""
    from width import CASES

    ids, mask = torch.tensor(refs["input_ids"]), torch.tensor(refs["attention_mask"])
    cases = []
    for c in CASES:
        model = load(folder)
        narrow(model, c["ffnKeep"], c["headKeep"])
        model.encoder.layer = nn.ModuleList([model.encoder.layer[i] for i in c["kept"]])
        with torch.no_grad():
            y = model(ids, mask)
        cases.append({**c, "shape": list(y.shape), "last_hidden_state": [round(float(v), 7) for v in y.flatten()]})
    with open(out_file, "w", encoding="utf-8") as f:
        json.dump({"input_ids": refs["input_ids"], "attention_mask": refs["attention_mask"], "cases": cases}, f)
        f.write("\n")


def save_safetensors(state, file, dtype="F32", metadata=None):
    names = sorted(state)
    header, blobs, offset = ({"__metadata__": metadata} if metadata else {}), [], 0
    for n in names:
        t = state[n].detach().contiguous().to(torch.float32)
        b = t.numpy().tobytes() if dtype == "F32" else t.to(torch.float16).view(torch.int16).numpy().tobytes()
        header[n] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(file, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(file):
    with open(file, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, m in header.items():
        if name == "__metadata__":
            continue
        a, b = m["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(m["shape"])
    return out


def init(model):
    g = torch.Generator().manual_seed(20261203)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "relative_attention_bias" in name:
                p.copy_(torch.randn(p.shape, generator=g))  # large enough that a wrong bucket shows at 1e-4
            elif "LayerNorm.weight" in name:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "embeddings" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def tokenizer_json(vocab):
    ids = {t: i for i, t in enumerate(vocab)}
    added = [
        {"id": ids[t], "content": t, "single_word": False, "lstrip": t == "<mask>", "rstrip": False, "normalized": False, "special": True}
        for t in ["<s>", "<pad>", "</s>", "[UNK]", "<mask>"]  # MPNetTokenizer's special tokens
    ]
    added.sort(key=lambda a: a["id"])
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 1}},
                {"SpecialToken": {"id": "</s>", "type_id": 1}},
            ],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}, "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": ids},
    }


def export(model, ids, mask, file, opset):
    torch.onnx.export(
        model,
        (ids, mask),
        file,
        input_names=["input_ids", "attention_mask"],
        output_names=["last_hidden_state"],
        dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"}, "attention_mask": {0: "batch_size", 1: "sequence_length"}, "last_hidden_state": {0: "batch_size", 1: "sequence_length"}},
        opset_version=opset,
        do_constant_folding=True,
    )


def write_json(file, value):
    with open(file, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
        f.write("\n")


def make(out, bert_refs_file, refs_file):
    here = os.path.dirname(os.path.abspath(bert_refs_file))
    with open(os.path.join(here, "..", "tiny-bert", "vocab.txt"), encoding="utf-8") as f:
        bert_vocab = f.read().split("\n")
    if bert_vocab[-1] == "":
        bert_vocab.pop()
    vocab = SPECIALS_FIRST + bert_vocab + ["<mask>"]
    c = {
        "architectures": ["MPNetModel"],
        "model_type": "mpnet",
        "vocab_size": len(vocab),
        "hidden_size": 32,
        "num_hidden_layers": 4,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 130,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-05,
        "relative_attention_num_buckets": 32,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
    }
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    torch.manual_seed(0)
    model = MPNetModel(c).eval()
    init(model)
    write_json(os.path.join(out, "config.json"), c)
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    write_json(os.path.join(out, "tokenizer.json"), tokenizer_json(vocab))
    specials = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "[UNK]", "pad_token": "<pad>", "mask_token": "<mask>"}
    write_json(os.path.join(out, "special_tokens_map.json"), specials)
    write_json(os.path.join(out, "tokenizer_config.json"), {"tokenizer_class": "MPNetTokenizer", "model_max_length": 128, "do_lower_case": True, **specials})
    save_safetensors(model.state_dict(), os.path.join(out, "model.safetensors"))

    with open(bert_refs_file, encoding="utf-8") as f:
        bert = json.load(f)
    remap = {0: 1, 1: 5, 2: 0, 3: 2}  # [PAD] [UNK] [CLS] [SEP] → <pad> [UNK] <s> </s>
    input_ids = [[remap.get(i, i + 4) for i in row] for row in bert["input_ids"]]
    ids = torch.tensor(input_ids)
    mask = torch.tensor(bert["attention_mask"])
    export(model, ids, mask, os.path.join(out, "onnx", "model.onnx"), 17)
    # Opset 12 (LayerNorm as ReduceMean, Sub, Pow, Sqrt, Div; Unsqueeze axes as attributes), as older exports of MPNet are.
    exports = os.path.join(os.path.dirname(out), "exports")
    os.makedirs(exports, exist_ok=True)
    export(model, ids, mask, os.path.join(exports, "tiny-mpnet-opset12.onnx"), 12)
    refs = {"texts": bert["texts"], "input_ids": input_ids, "attention_mask": bert["attention_mask"], "subsets": {}}
    layers = list(model.encoder.layer)
    with torch.no_grad():
        for key in SUBSETS:
            model.encoder.layer = nn.ModuleList([layers[int(i)] for i in key.split(",")])
            y = model(ids, mask)
            refs["subsets"][key] = {"shape": list(y.shape), "last_hidden_state": [round(float(v), 6) for v in y.flatten()]}
    model.encoder.layer = nn.ModuleList(layers)
    with open(refs_file, "w", encoding="utf-8") as f:
        json.dump(refs, f)
        f.write("\n")
    width_refs(out, refs, refs_file.replace(".refs.json", ".width.json"))


def load(folder):
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
        c = json.load(f)
    model = MPNetModel(c).eval()
    state = {k[len("mpnet."):] if k.startswith("mpnet.") else k: v for k, v in load_safetensors(os.path.join(folder, "model.safetensors")).items()}
    model.load_state_dict(state)
    return model


def last_hidden(folder, ids_file, out_file):
    model = load(folder)
    with open(ids_file, encoding="utf-8") as f:
        ids = torch.tensor(json.load(f))
    with torch.no_grad():
        y = model(ids, ids.ne(1).long())
    with open(out_file, "wb") as f:
        f.write(y.contiguous().numpy().astype("float32").tobytes())


def random_base(out, f16_copy=None):
    """An MPNet of microsoft/mpnet-base's shape with random weights (timing does not depend on the values); no tokenizer.
    With f16_copy, also a folder of its config and the weights as F16 safetensors (no export)."""
    c = {"architectures": ["MPNetModel"], "model_type": "mpnet", "vocab_size": 30527, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
         "intermediate_size": 3072, "hidden_act": "gelu", "max_position_embeddings": 514, "layer_norm_eps": 1e-05, "relative_attention_num_buckets": 32,
         "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2}
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    torch.manual_seed(0)
    model = MPNetModel(c).eval()
    with torch.no_grad():
        for n, p in model.named_parameters():
            # Random biases too: torch.onnx.export stores identical initializers (all-zero biases) once, and shared weights cannot be narrowed.
            if "LayerNorm.weight" in n:
                p.copy_(1 + 0.02 * torch.randn(p.shape))
            else:
                p.normal_(0, 0.02)
    write_json(os.path.join(out, "config.json"), c)
    save_safetensors(model.state_dict(), os.path.join(out, "model.safetensors"))
    model = load(out)
    ids = torch.randint(5, 8000, (2, 16))
    export(model, ids, torch.ones_like(ids), os.path.join(out, "onnx", "model.onnx"), 17)
    if f16_copy:
        os.makedirs(f16_copy, exist_ok=True)
        write_json(os.path.join(f16_copy, "config.json"), c)
        save_safetensors(load_safetensors(os.path.join(out, "model.safetensors")), os.path.join(f16_copy, "model.safetensors"), "F16")


if __name__ == "__main__":
    if sys.argv[1] == "--last-hidden":
        last_hidden(*sys.argv[2:5])
    elif sys.argv[1] == "--random-base":
        random_base(sys.argv[2], sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--f16-copy" else None)
    else:
        make(*sys.argv[1:4])
