#!/usr/bin/env node
/**
 * Builds two word-order tasks from the Jane Austen paragraphs already in data/tasks/austen
 * (public domain, Project Gutenberg via r-cran-janeaustenr): sentences of austen/train.jsonl feed
 * the new train splits and sentences of austen/test.jsonl the new test splits, so no sentence
 * is in both. Seeded (mulberry32, seed 8); rerun to reproduce byte for byte:
 *
 *   node scripts/build-order-tasks.mjs
 *
 * austen_bshift   label 1: two adjacent alphabetic words (neither the first word) swapped; 0: original.
 * austen_coordinv label 1: the two clauses around the one ", and|but|or|so " swapped; 0: original.
 * Each sentence is used once; labels alternate in a shuffled order, so both tasks are balanced.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(path.dirname(new URL(import.meta.url).pathname), '..');
const SRC = path.join(ROOT, 'data', 'tasks', 'austen');
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

function shuffle(a, rnd) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Plain sentences: 6–40 words, capitalised, ending in . ! or ?, no quotes, brackets or dashes. */
function sentences(file) {
  const out = new Set();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    // Abbreviations would end a sentence early; mark them so that the filter drops those sentences.
    const text = JSON.parse(line).text.replace(/\s+/g, ' ').replace(/\b(Mrs?|Dr|St)\./g, '$1_');
    for (const s of text.match(/[^.!?]+[.!?]/g) ?? []) {
      const t = s.trim();
      const words = t.split(' ').length;
      if (words < 6 || words > 40 || !/^[A-Z]/.test(t) || /["'()[\]_;:]|--|Mr\.|Mrs\.|Dr\.|St\./.test(t) || !/^[\x20-\x7e]+$/.test(t)) continue;
      out.add(t);
    }
  }
  return [...out].sort();
}

function bigramShift(s, rnd) {
  const w = s.split(' ');
  const ok = [];
  for (let i = 1; i + 1 < w.length; i++) if (/^[a-z]+$/i.test(w[i]) && /^[a-z]+$/i.test(w[i + 1]) && w[i].toLowerCase() !== w[i + 1].toLowerCase()) ok.push(i);
  if (!ok.length) return null;
  const i = ok[Math.floor(rnd() * ok.length)];
  [w[i], w[i + 1]] = [w[i + 1], w[i]];
  return w.join(' ');
}

const CONJ = /, (and|but|or|so) /g;
/** Words seen in lower case somewhere: a clause-initial word not among them is a name and keeps its capital. */
let common = new Set();
function clauseSwap(s) {
  const m = [...s.matchAll(CONJ)];
  if (m.length !== 1) return null;
  const a = s.slice(0, m[0].index);
  const b = s.slice(m[0].index + m[0][0].length, -1);
  const end = s.slice(-1);
  if (a.includes(',') || b.includes(',') || a.split(' ').length < 3 || b.split(' ').length < 3) return null;
  const first = a.split(' ')[0];
  const lower = (x) => (first !== 'I' && common.has(first.toLowerCase()) ? x[0].toLowerCase() + x.slice(1) : x);
  return `${b[0].toUpperCase()}${b.slice(1)}, ${m[0][1]} ${lower(a)}${end}`;
}

/** Alternating labels over a shuffled sentence list; `alter` makes the label-1 text (null: unusable). */
function build(list, alter, cap, rnd) {
  const rows = [];
  for (const s of shuffle([...list], rnd)) {
    if (rows.length >= cap) break;
    const changed = alter(s, rnd);
    if (changed === null || changed === s) continue;
    const label = rows.length % 2;
    rows.push({ text: label ? changed : s, label });
  }
  return rows;
}

const rnd = mulberry32(8);
const split = { train: sentences(path.join(SRC, 'train.jsonl')), test: sentences(path.join(SRC, 'test.jsonl')) };
common = new Set([...split.train, ...split.test].flatMap((s) => s.split(' ').slice(1)).filter((w) => /^[a-z]+$/.test(w)));
for (const [name, alter] of [['austen_bshift', bigramShift], ['austen_coordinv', clauseSwap]]) {
  const dir = path.join(ROOT, 'data', 'tasks', name);
  fs.mkdirSync(dir, { recursive: true });
  for (const part of ['train', 'test']) {
    const rows = build(split[part], alter, CAP[part], rnd);
    fs.writeFileSync(path.join(dir, `${part}.jsonl`), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const ones = rows.filter((r) => r.label === 1).length;
    console.log(`${name}/${part}: ${rows.length} examples (label 0: ${rows.length - ones}, 1: ${ones}) from ${split[part].length} sentences`);
  }
}
