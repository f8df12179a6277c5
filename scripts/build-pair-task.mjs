#!/usr/bin/env node
/**
 * A sentence-pair task from the Jane Austen paragraphs in data/tasks/austen (public domain, Project
 * Gutenberg via r-cran-janeaustenr), for measuring what pair tasks (`text_pair`) do in ProbeScale;
 * not shipped in data/tasks. Seeded (mulberry32, seed 9); rerun to reproduce byte for byte:
 *
 *   node scripts/build-pair-task.mjs --out DIR [--kind next|shift]   (writes DIR/train.jsonl and DIR/test.jsonl)
 *
 * next (austen_next): text = a sentence, text_pair = the next sentence of its paragraph (label
 * "next") or a sentence of another paragraph of the same split (label "other").
 * shift (austen_pairshift): text = a sentence, text_pair = the same sentence (label "same") or it
 * with two adjacent alphabetic words (neither the first) swapped (label "shifted").
 * Balanced; each paragraph gives at most one row. austen/train paragraphs feed train and austen/test paragraphs test, so no sentence
 * is in both. Sentences: 6–40 words, capitalised, ending in . ! or ?, quotation marks dropped,
 * semicolons and in-word apostrophes allowed (scripts/build-order-tasks.mjs's wide filter).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(path.dirname(new URL(import.meta.url).pathname), '..');
const SRC = path.join(ROOT, 'data', 'tasks', 'austen');
const outFlag = process.argv.indexOf('--out');
if (outFlag < 0 || !process.argv[outFlag + 1]) {
  console.error('usage: node scripts/build-pair-task.mjs --out DIR');
  process.exit(1);
}
const OUT = path.resolve(process.argv[outFlag + 1]);
const kindFlag = process.argv.indexOf('--kind');
const KIND = kindFlag > 0 ? process.argv[kindFlag + 1] : 'next';
if (KIND !== 'next' && KIND !== 'shift') {
  console.error(`--kind ${KIND}: use next or shift`);
  process.exit(1);
}
const CAP = { train: 3000, test: 800 };

function mulberry32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Each paragraph's sentences in order (the plain filter of build-order-tasks.mjs); paragraphs with two or more. */
function paragraphs(file) {
  const out = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    // Dialogue is most of Austen: its quotation marks are dropped, so a spoken sentence is a sentence.
    const text = JSON.parse(line).text.replace(/"/g, '').replace(/\s+/g, ' ').replace(/\b(Mrs?|Dr|St)\./g, '$1_');
    const ok = (t) => {
      const words = t.split(' ').length;
      return words >= 6 && words <= 40 && /^[A-Z]/.test(t) && !/[()[\]_:]|--|'(?![a-z])|(?<![a-z])'/i.test(t) && /^[\x20-\x7e]+$/.test(t);
    };
    const sents = (text.match(/[^.!?]+[.!?]/g) ?? []).map((s) => s.trim());
    // Adjacent pairs only where both sentences pass the filter, so "next" is always the very next one.
    const pairs = [];
    for (let i = 0; i + 1 < sents.length; i++) if (ok(sents[i]) && ok(sents[i + 1])) pairs.push([sents[i], sents[i + 1]]);
    if (pairs.length) out.push(pairs);
  }
  return out;
}

/** Two adjacent alphabetic words, neither the first, swapped (as build-order-tasks.mjs's bigram shift); null where none. */
function bigramShift(s, rnd) {
  const w = s.split(' ');
  const ok = [];
  for (let i = 1; i + 1 < w.length; i++) if (/^[a-z]+$/i.test(w[i]) && /^[a-z]+$/i.test(w[i + 1]) && w[i].toLowerCase() !== w[i + 1].toLowerCase()) ok.push(i);
  if (!ok.length) return null;
  const i = ok[Math.floor(rnd() * ok.length)];
  [w[i], w[i + 1]] = [w[i + 1], w[i]];
  return w.join(' ');
}

function build(split, rnd) {
  const paras = paragraphs(path.join(SRC, `${split}.jsonl`));
  const order = paras.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const rows = [];
  for (const [n, p] of order.slice(0, CAP[split]).entries()) {
    const [a, b] = paras[p][Math.floor(rnd() * paras[p].length)];
    if (KIND === 'shift') {
      const shifted = n % 2 === 0 ? null : bigramShift(a, rnd);
      rows.push(shifted ? { text: a, text_pair: shifted, label: 'shifted' } : { text: a, text_pair: a, label: 'same' });
    } else if (n % 2 === 0) rows.push({ text: a, text_pair: b, label: 'next' });
    else {
      // Another paragraph's sentence: the second of one of its pairs, so both labels draw from the same kind of sentence.
      let q = p;
      while (q === p) q = Math.floor(rnd() * paras.length);
      rows.push({ text: a, text_pair: paras[q][Math.floor(rnd() * paras[q].length)][1], label: 'other' });
    }
  }
  return rows;
}

const rnd = mulberry32(9);
fs.mkdirSync(OUT, { recursive: true });
for (const split of ['train', 'test']) {
  const rows = build(split, rnd);
  fs.writeFileSync(path.join(OUT, `${split}.jsonl`), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  console.log(`${split}: ${rows.length} rows (${rows.filter((r) => r.label === rows[0].label).length} ${rows[0].label})`);
}
