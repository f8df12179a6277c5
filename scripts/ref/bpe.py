"""Byte-level BPE tokenizer (GPT-2 / RoBERTa), written from scratch.

Independent reference for ProbeScale's probing protocol; shares no code with the
TypeScript engine. Reproduces what Python `transformers` does for a RoBERTa
tokenizer (tokenizer.json: ByteLevel pre-tokenizer with add_prefix_space=false,
use_regex=true; BPE model; RobertaProcessing post-processor) for

    tokenizer(text, truncation=True, max_length=128)

i.e. `<s>` + the first (max_length - 2) content tokens + `</s>`.

Usage as a script (self-check against the fixture refs):

    /usr/bin/python3 scripts/ref/bpe.py test/fixtures/tiny-roberta test/fixtures/refs/tiny-roberta.refs.json
"""

import json
import os
import sys
import unicodedata

# The standard GPT-2 pre-tokenizer pattern (used by the HF `tokenizers` ByteLevel
# pre-tokenizer when use_regex=true).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

try:  # Debian: python3-regex
    import regex as _re_mod

    _PAT = _re_mod.compile(GPT2_PATTERN)
    REGEX_BACKEND = "regex"
except ImportError:  # emulate \p{L} / \p{N} with explicit code-point classes
    import re as _re_mod

    def _class_for(prefix):
        ranges = []
        start = prev = None
        for cp in range(sys.maxunicode + 1):
            if unicodedata.category(chr(cp)).startswith(prefix):
                if start is None:
                    start = prev = cp
                elif cp == prev + 1:
                    prev = cp
                else:
                    ranges.append((start, prev))
                    start = prev = cp
        if start is not None:
            ranges.append((start, prev))

        def esc(cp):
            return "\\U%08x" % cp

        return "".join(esc(a) if a == b else esc(a) + "-" + esc(b) for a, b in ranges)

    _L = _class_for("L")
    _N = _class_for("N")
    _PAT = _re_mod.compile(
        r"""'s|'t|'re|'ve|'m|'ll|'d| ?[%s]+| ?[%s]+| ?[^\s%s%s]+|\s+(?!\S)|\s+"""
        % (_L, _N, _L, _N)
    )
    REGEX_BACKEND = "re+unicodedata"


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode character map."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("\xa1"), ord("\xac") + 1))
        + list(range(ord("\xae"), ord("\xff") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


class ByteLevelBPETokenizer:
    def __init__(self, model_dir, max_length=128):
        with open(os.path.join(model_dir, "vocab.json"), encoding="utf-8") as f:
            self.vocab = json.load(f)
        self.ranks = {}
        with open(os.path.join(model_dir, "merges.txt"), encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line or line.startswith("#version"):
                    continue
                a, b = line.split(" ")
                self.ranks[(a, b)] = len(self.ranks)

        cfg = {}
        p = os.path.join(model_dir, "tokenizer_config.json")
        if os.path.exists(p):
            with open(p, encoding="utf-8") as f:
                cfg = json.load(f)
        tj = None
        p = os.path.join(model_dir, "tokenizer.json")
        if os.path.exists(p):
            with open(p, encoding="utf-8") as f:
                tj = json.load(f)
            self._check_tokenizer_json(tj)
        if cfg.get("add_prefix_space", False):
            raise ValueError("add_prefix_space=true is not supported by this reference")

        self.bos_token = cfg.get("bos_token", "<s>")
        self.eos_token = cfg.get("eos_token", "</s>")
        self.pad_token = cfg.get("pad_token", "<pad>")
        self.bos_id = self.vocab[self.bos_token]
        self.eos_id = self.vocab[self.eos_token]
        self.pad_id = self.vocab[self.pad_token]
        # Special/added tokens are matched verbatim in the raw text before pre-tokenization.
        specials = {}
        if tj is not None:
            for t in tj.get("added_tokens", []):
                if t.get("lstrip") or t.get("rstrip") or t.get("single_word") or t.get("normalized"):
                    raise ValueError("unsupported added-token options: %r" % t)
                specials[t["content"]] = t["id"]
        else:
            for k in ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"):
                if k in cfg and cfg[k] in self.vocab:
                    specials[cfg[k]] = self.vocab[cfg[k]]
        self.specials = specials
        # longest first, as a leftmost-longest matcher would
        self._special_list = sorted(specials, key=len, reverse=True)
        self.max_length = min(max_length, cfg.get("model_max_length", max_length))
        self.byte_encoder = bytes_to_unicode()
        self.cache = {}

    @staticmethod
    def _check_tokenizer_json(tj):
        pt = tj.get("pre_tokenizer") or {}
        if pt.get("type") != "ByteLevel" or pt.get("add_prefix_space") or not pt.get("use_regex", True):
            raise ValueError("expected ByteLevel pre-tokenizer (add_prefix_space=false, use_regex=true), got %r" % pt)
        if tj.get("normalizer") is not None:
            raise ValueError("expected no normalizer, got %r" % tj["normalizer"])
        m = tj.get("model") or {}
        if m.get("type") != "BPE" or m.get("continuing_subword_prefix") or m.get("end_of_word_suffix") or m.get("byte_fallback"):
            raise ValueError("unexpected BPE model options: %r" % {k: v for k, v in m.items() if k not in ("vocab", "merges")})
        pp = tj.get("post_processor") or {}
        if pp.get("type") != "RobertaProcessing":
            raise ValueError("expected RobertaProcessing post-processor, got %r" % pp)

    # --- BPE on one pre-token (already mapped to byte-unicode chars) ---
    def _bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = list(token)
        while len(word) > 1:
            best = None
            best_rank = None
            for i in range(len(word) - 1):
                r = self.ranks.get((word[i], word[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best_rank = r
                    best = (word[i], word[i + 1])
            if best is None:
                break
            a, b = best
            new = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == a and word[i + 1] == b:
                    new.append(a + b)
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            word = new
        self.cache[token] = word
        return word

    def _encode_plain(self, text):
        ids = []
        for m in _PAT.finditer(text):
            piece = "".join(self.byte_encoder[b] for b in m.group(0).encode("utf-8"))
            for sub in self._bpe(piece):
                tid = self.vocab.get(sub)
                if tid is None:
                    # unk_token is null in tokenizer.json: unknown pieces are dropped
                    continue
                ids.append(tid)
        return ids

    def encode_content(self, text):
        """Content token ids (no special tokens added, no truncation)."""
        ids = []
        pos = 0
        n = len(text)
        start = 0
        while pos < n:
            hit = None
            if self._special_list:
                for s in self._special_list:
                    if text.startswith(s, pos):
                        hit = s
                        break
            if hit is None:
                pos += 1
                continue
            if start < pos:
                ids.extend(self._encode_plain(text[start:pos]))
            ids.append(self.specials[hit])
            pos += len(hit)
            start = pos
        if start < n:
            ids.extend(self._encode_plain(text[start:]))
        return ids

    def __call__(self, text, truncation=True, max_length=None):
        """Like transformers' tokenizer(text, truncation=True, max_length=...)."""
        max_length = self.max_length if max_length is None else max_length
        ids = self.encode_content(text)
        if truncation:
            ids = ids[: max(0, max_length - 2)]
        ids = [self.bos_id] + ids + [self.eos_id]
        return {"input_ids": ids, "attention_mask": [1] * len(ids)}

    def batch(self, texts, max_length=None):
        """Tokenize and right-pad with <pad> to the longest sequence."""
        encs = [self(t, max_length=max_length) for t in texts]
        L = max(len(e["input_ids"]) for e in encs)
        ids = [e["input_ids"] + [self.pad_id] * (L - len(e["input_ids"])) for e in encs]
        mask = [e["attention_mask"] + [0] * (L - len(e["attention_mask"])) for e in encs]
        return ids, mask


def _selfcheck(model_dir, refs_path):
    with open(refs_path, encoding="utf-8") as f:
        refs = json.load(f)
    tok = ByteLevelBPETokenizer(model_dir)
    ids, mask = tok.batch(refs["texts"])
    ok = ids == refs["input_ids"] and mask == refs["attention_mask"]
    print("regex backend:", REGEX_BACKEND)
    for t, a, b in zip(refs["texts"], ids, refs["input_ids"]):
        print("OK  " if a == b else "DIFF", repr(t), a if a == b else (a, b))
    print("tokenizer exact match:", ok)
    return ok


if __name__ == "__main__":
    md = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/tiny-roberta"
    rp = sys.argv[2] if len(sys.argv) > 2 else "test/fixtures/refs/tiny-roberta.refs.json"
    sys.exit(0 if _selfcheck(md, rp) else 1)
