#!/usr/bin/env node
/**
 * Builds two word-order tasks from the Jane Austen paragraphs already in data/tasks/austen
 * (public domain, Project Gutenberg via r-cran-janeaustenr): sentences of austen/train.jsonl feed
 * the new train splits and sentences of austen/test.jsonl the new test splits, so no sentence
 * is in both. Seeded (mulberry32, seed 8); rerun to reproduce byte for byte:
 *
 *   node scripts/build-order-tasks.mjs [--out DIR]     (DIR: where the task folders go; default data/tasks)
 *
 * austen_bshift   label 1: two adjacent alphabetic words (neither the first word) swapped; 0: original.
 * austen_coordinv label 1: the two parts around one ", |; " + and|but|or|so|yet|nor|for swapped
 *                 (clauses where the sentence has them; see clauseSwap); 0: original.
 * Each sentence is used once; labels alternate in a shuffled order, so both tasks are balanced.
 * (Both versions of a sentence in one split would put near-twins with opposite labels into
 * different cross-validation folds and push CV accuracy below chance.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(path.dirname(new URL(import.meta.url).pathname), '..');
const SRC = path.join(ROOT, 'data', 'tasks', 'austen');
const outFlag = process.argv.indexOf('--out');
const OUT = outFlag > 0 ? path.resolve(process.argv[outFlag + 1]) : path.join(ROOT, 'data', 'tasks');
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

/**
 * Plain sentences: 6–40 words, capitalised, ending in . ! or ?, no quotes, brackets or dashes.
 * `wide` (coordinv): up to 60 words, semicolons and apostrophes inside words (don't, Emma's) allowed.
 */
function sentences(file, wide = false) {
  const out = new Set();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    // Abbreviations would end a sentence early; mark them so that the filter drops those sentences.
    const text = JSON.parse(line).text.replace(/\s+/g, ' ').replace(/\b(Mrs?|Dr|St)\./g, '$1_');
    for (const s of text.match(/[^.!?]+[.!?]/g) ?? []) {
      const t = s.trim();
      const words = t.split(' ').length;
      const banned = wide ? /["()[\]_:]|--|'(?![a-z])|(?<![a-z])'/i : /["'()[\]_;:]|--|Mr\.|Mrs\.|Dr\.|St\./;
      if (words < 6 || words > (wide ? 60 : 40) || !/^[A-Z]/.test(t) || banned.test(t) || !/^[\x20-\x7e]+$/.test(t)) continue;
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

/** Words seen in lower case somewhere: a clause-initial word not among them is a name and keeps its capital. */
let common = new Set();
/** A coordinating conjunction after a comma or semicolon: the places where two clauses may meet. */
const JOINT = /[,;] (and|but|or|so|yet|nor|for) /g;
const ADVERB = new Set(['then', 'now', 'perhaps', 'indeed', 'therefore', 'still', 'thus', 'surely', 'certainly', 'besides', 'however', 'afterwards', 'soon', 'yet', 'so']);
const SUBJECT = new Set(['i', 'he', 'she', 'it', 'we', 'they', 'you', 'there', 'this', 'that', 'these', 'those', 'the', 'his', 'her', 'their', 'my', 'our', 'your', 'its', 'a', 'an', 'one', 'nothing', 'everything', 'every', 'no', 'some']);

/** Starts like a clause: an optional adverb, then a subject word or a name ("and began the civilities" does not). */
function clauseStart(seg) {
  const w = seg.split(' ');
  const k = ADVERB.has(w[0].toLowerCase()) ? 1 : 0;
  const subject = w[k] ?? '';
  return SUBJECT.has(subject.toLowerCase()) || (/^[A-Z][a-z]+$/.test(subject) && !common.has(subject.toLowerCase()));
}

/** Counts of the swaps made, for the README: how many joints had a clause (subject or name) on both sides. */
export const swapStats = { clauses: 0, other: 0 };

/**
 * Swaps the parts around one joint: among joints with ≥ 3 words on each side, one with a clause
 * on both sides when there is one (else any; "for", "so" and "yet" count as joints only before a
 * clause, elsewhere they are prepositions or adverbs). The parts are not parsed: the others are
 * verb phrases or subordinate clauses, as in coordination inversion before.
 */
function clauseSwap(s, rnd) {
  if (/^(And|But|Or|Nor|Yet|So|For) /.test(s)) return null;
  const body = s.slice(0, -1);
  const joints = [...body.matchAll(JOINT)];
  const segs = [];
  let from = 0;
  for (const j of joints) {
    segs.push(body.slice(from, j.index));
    from = j.index + j[0].length;
  }
  segs.push(body.slice(from));
  const valid = [];
  for (let i = 0; i + 1 < segs.length; i++) {
    if (segs[i].split(' ').length < 3 || segs[i + 1].split(' ').length < 3) continue;
    if (/^(for|so|yet)$/.test(joints[i][1]) && !clauseStart(segs[i + 1])) continue;
    valid.push(i);
  }
  const clauses = valid.filter((i) => clauseStart(segs[i + 1]) && (i === 0 || clauseStart(segs[i])));
  const pool = clauses.length ? clauses : valid;
  if (!pool.length) return null;
  const i = pool[Math.floor(rnd() * pool.length)];
  swapStats[clauses.length ? 'clauses' : 'other']++;
  [segs[i], segs[i + 1]] = [segs[i + 1], segs[i]];
  const [first, next = ''] = segs[i + 1].split(' ');
  // A title before a name ("Lady Middleton", "Sir Thomas") keeps its capital too.
  if (i === 0 && first !== 'I' && common.has(first.toLowerCase()) && !/^[A-Z]/.test(next)) segs[1] = first.toLowerCase() + segs[1].slice(first.length);
  if (i === 0) segs[0] = segs[0][0].toUpperCase() + segs[0].slice(1);
  return segs.reduce((out, seg, k) => out + joints[k - 1][0] + seg) + s.slice(-1);
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
const wide = { train: sentences(path.join(SRC, 'train.jsonl'), true), test: sentences(path.join(SRC, 'test.jsonl'), true) };
const tasks = [
  ['austen_bshift', (part) => build(split[part], bigramShift, CAP[part], rnd)],
  ['austen_coordinv', (part) => build(wide[part], clauseSwap, Infinity, rnd)],
];
for (const [name, make] of tasks) {
  const dir = path.join(OUT, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const part of ['train', 'test']) {
    const rows = make(part);
    fs.writeFileSync(path.join(dir, `${part}.jsonl`), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const ones = rows.filter((r) => r.label === 1).length;
    console.log(`${name}/${part}: ${rows.length} examples (label 0: ${rows.length - ones}, 1: ${ones})`);
  }
}
console.log(`austen_coordinv swaps: ${swapStats.clauses} with a clause on both sides, ${swapStats.other} other parts`);
