#!/usr/bin/env python3
"""Writes the sentencepiece fixtures of test/fixtures/spm and the ids Google's sentencepiece gives.

Two Unigram models are trained on the task texts in data/tasks with sentencepiece's defaults
(nmt_nfkc normalisation, a dummy prefix, extra whitespace removed), one laid out as T5's
spiece.model (<pad> 0, </s> 1, <unk> 2) and one as XLM-R's sentencepiece.bpe.model (<unk> 0,
<s> 1, </s> 2). Each text is then encoded as the slow tokenizers of Python's transformers encode it:

  T5Tokenizer:          sp.encode(a) + [</s>]                  pair: a </s> b </s>
  XLMRobertaTokenizer:  <s> + fairseq(sp.encode(a)) + </s>     pair: <s> a </s> </s> b </s>
                        (fairseq: id + 1, sentencepiece's <unk> 0 becomes 3)

A third, tiny-t5/spiece.model, holds tiny-t5-encoder's own vocabulary (from its tokenizer.json)
with the T5 model's normaliser, so that a real model folder can be tried with only that file.

`--only deberta` (thirty-seventh session) trains a fourth, laid out as DeBERTa-v3's spm.model
([PAD] 0, [CLS] 1, [SEP] 2, [UNK] 3), into deberta-v3/spm.model and deberta-reference.json, leaving
the others as they are. DebertaV2Tokenizer encodes [CLS] + sp.encode(a) + [SEP] (pair: + b + [SEP]),
with do_lower_case the text lower-cased first; [MASK] is not a piece, so it comes after them.
test/unit/core/data/sentencePiece.test.ts checks that the tokenizer.json ProbeScale builds from
these files encodes every text to the same ids. Needs Debian's python3-sentencepiece (apt-get
install python3-sentencepiece); never a test dependency, the output is checked in.

  /usr/bin/python3 scripts/ref/spm_reference.py --out test/fixtures/spm
  /usr/bin/python3 scripts/ref/spm_reference.py --out test/fixtures/spm --only deberta
"""
import argparse
import json
import os
import tempfile

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as model_pb2

# Long texts (spam) are cut to their first characters, to keep reference.json small.
MAX_CHARS = 200
TASKS = ['austen', 'austen_bshift', 'austen_coordinv', 'bshift', 'fortune_topic', 'sentlen', 'spam']

# Texts sentencepiece's normaliser treats specially: accents, CJK, full-width forms, ligatures,
# tabs, non-breaking and ideographic spaces, runs of spaces, leading and trailing spaces, control
# characters, the ▁ character itself, emoji, digits and Roman numerals. (Special tokens written in
# the text are split out by transformers before sentencepiece sees it; the test checks those itself.)
STRESS = [
    'Héllo Wörld! Ça va? 中文字符 and ümlauts, naïve café — “quotes”\ttabs\u00a0and a non-breaking space',
    '  leading spaces, trailing spaces   ',
    'many     spaces\t\tand\ttabs\nand\nnew lines\r\nand carriage returns',
    'ＦＵＬＬ－ＷＩＤＴＨ ｌｅｔｔｅｒｓ ａｎｄ　ｉｄｅｏｇｒａｐｈｉｃ　ｓｐａｃｅｓ １２３',
    'ligatures: ﬁne ﬂow ﬀ; Roman Ⅻ ⅳ; superscripts x² y³; fractions ½ ¼; ㎏ ㍻',
    'control\u0001chars\u0007and\u001fsome\u007fdeletes\u200band zero width\ufeffmarks',
    'the metasymbol ▁ in text, and ▁▁ twice',
    'emoji 😀🎉 and symbols ©®™ § ¶ † ‡ • … ‰ ′ ″',
    'ÀÉÎÕÜ àéîõü ñÑ çÇ ßẞ øØ åÅ æÆ œŒ ı İ',
    'Ελληνικά κείμενα, русский текст, עברית, العربية, हिन्दी, 한국어, 日本語のテキスト',
    'numbers 3.14159, 1,000,000 and -42; dates 2026-12-04; e-mail a.b@c.org; url https://x.y/z?q=1',
    '',
    ' ',
    'a',
    '～tilde～wave〜dash',
]


def task_texts(root, per_task):
    rows = []
    for task in TASKS:
        for split, n in (('train', per_task), ('test', per_task // 3)):
            with open(os.path.join(root, task, f'{split}.jsonl'), encoding='utf8') as f:
                for i, line in enumerate(f):
                    if i >= n:
                        break
                    r = json.loads(line)
                    rows.append([r['text'][:MAX_CHARS], (r.get('text_pair') or None) and r['text_pair'][:MAX_CHARS]])
    return rows


def train(corpus, prefix, ids):
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, model_type='unigram', vocab_size=2000,
        character_coverage=1.0, seed_sentencepiece_size=50000, num_threads=2, **ids)
    return spm.SentencePieceProcessor(model_file=prefix + '.model')


def corpus_file(tasks, tmp):
    corpus = os.path.join(tmp, 'corpus.txt')
    with open(corpus, 'w', encoding='utf8') as f:
        for task in TASKS:
            with open(os.path.join(tasks, task, 'train.jsonl'), encoding='utf8') as g:
                for line in g:
                    r = json.loads(line)
                    for t in (r['text'], r.get('text_pair')):
                        if t:
                            f.write(t.replace('\n', ' ') + '\n')
    return corpus


def deberta(args, rows):
    with tempfile.TemporaryDirectory() as tmp:
        sp = train(corpus_file(args.tasks, tmp), os.path.join(tmp, 'deberta'),
                   dict(pad_id=0, bos_id=1, eos_id=2, unk_id=3, pad_piece='[PAD]', bos_piece='[CLS]', eos_piece='[SEP]', unk_piece='[UNK]'))
        os.makedirs(os.path.join(args.out, 'deberta-v3'), exist_ok=True)
        os.replace(os.path.join(tmp, 'deberta.model'), os.path.join(args.out, 'deberta-v3', 'spm.model'))
    def row(a, b):
        return {'text': a, 'pair': b, 'ids': [1] + sp.encode(a) + [2], 'lower': [1] + sp.encode(a.lower()) + [2]}

    out = [row(a, b) for a, b in rows]
    for b in sorted({b for _, b in rows if b is not None} - {a for a, _ in rows}):
        out.append(row(b, None))
    with open(os.path.join(args.out, 'deberta-reference.json'), 'w', encoding='utf8') as f:
        json.dump({'sentencepiece': spm.__version__, 'pieces': sp.get_piece_size(), 'rows': out}, f, ensure_ascii=False, separators=(',', ':'))
    print(f'{len(out)} texts; DeBERTa vocabulary {sp.get_piece_size()}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tasks', default='data/tasks')
    ap.add_argument('--out', default='test/fixtures/spm')
    ap.add_argument('--per-task', type=int, default=80)
    ap.add_argument('--tiny-t5', default='test/fixtures/tiny-t5-encoder/tokenizer.json',
                    help="a T5 tokenizer.json whose Unigram vocabulary is written as tiny-t5/spiece.model")
    ap.add_argument('--only', choices=['all', 'deberta'], default='all')
    args = ap.parse_args()

    rows = task_texts(args.tasks, args.per_task) + [[s, 'a second TEXT, in CAPITALS'] for s in STRESS]
    if args.only == 'deberta':
        return deberta(args, rows)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, 'corpus.txt')
        with open(corpus, 'w', encoding='utf8') as f:
            for task in TASKS:
                with open(os.path.join(args.tasks, task, 'train.jsonl'), encoding='utf8') as g:
                    for line in g:
                        r = json.loads(line)
                        for t in (r['text'], r.get('text_pair')):
                            if t:
                                f.write(t.replace('\n', ' ') + '\n')
        t5 = train(corpus, os.path.join(tmp, 't5'), dict(pad_id=0, eos_id=1, unk_id=2, bos_id=-1))
        xlmr = train(corpus, os.path.join(tmp, 'xlmr'), dict(unk_id=0, bos_id=1, eos_id=2, pad_id=-1))
        os.makedirs(os.path.join(args.out, 't5'), exist_ok=True)
        os.makedirs(os.path.join(args.out, 'xlm-roberta'), exist_ok=True)
        os.replace(os.path.join(tmp, 't5.model'), os.path.join(args.out, 't5', 'spiece.model'))
        os.replace(os.path.join(tmp, 'xlmr.model'), os.path.join(args.out, 'xlm-roberta', 'sentencepiece.bpe.model'))

    # tiny-t5-encoder's own vocabulary as a spiece.model (its pieces and scores; the T5 fixture's
    # normaliser), so that a real model folder can be tried with only a SentencePiece file.
    with open(args.tiny_t5, encoding='utf8') as f:
        tiny_vocab = json.load(f)['model']['vocab']
    proto = model_pb2.ModelProto()
    with open(os.path.join(args.out, 't5', 'spiece.model'), 'rb') as f:
        proto.ParseFromString(f.read())
    del proto.pieces[:]
    kinds = {'<pad>': 3, '</s>': 3, '<unk>': 2}  # sentencepiece's CONTROL and UNKNOWN
    for piece, score in tiny_vocab:
        proto.pieces.add(piece=piece, score=score, type=kinds.get(piece, 1))
    proto.trainer_spec.vocab_size = len(tiny_vocab)
    os.makedirs(os.path.join(args.out, 'tiny-t5'), exist_ok=True)
    with open(os.path.join(args.out, 'tiny-t5', 'spiece.model'), 'wb') as f:
        f.write(proto.SerializeToString())
    tiny = spm.SentencePieceProcessor(model_file=os.path.join(args.out, 'tiny-t5', 'spiece.model'))

    def t5_ids(a):
        return t5.encode(a) + [1]

    def fairseq(text):
        return [i + 1 if i != 0 else 3 for i in xlmr.encode(text)]

    def xlmr_ids(a):
        return [0] + fairseq(a) + [2]

    # Pairs are not written: the slow tokenizers build them from the two texts' own encodings
    # (the docstring's templates), which the test checks from these.
    def row(a, b):
        return {'text': a, 'pair': b, 't5': t5_ids(a), 'xlm-roberta': xlmr_ids(a), 'tiny-t5': tiny.encode(a) + [1]}

    out = [row(a, b) for a, b in rows]
    for b in sorted({b for _, b in rows if b is not None} - {a for a, _ in rows}):
        out.append(row(b, None))
    with open(os.path.join(args.out, 'reference.json'), 'w', encoding='utf8') as f:
        json.dump({'sentencepiece': spm.__version__, 'rows': out}, f, ensure_ascii=False, separators=(',', ':'))
    print(f'{len(out)} texts; T5 vocabulary {t5.get_piece_size()}, XLM-R {xlmr.get_piece_size()}, tiny-t5 {tiny.get_piece_size()}')


if __name__ == '__main__':
    main()
