/**
 * Structure-aware fuzzing of a model folder's JSON files (config.json, tokenizer.json,
 * tokenizer_config.json, special_tokens_map.json, and sentence-transformers' modules.json, its
 * Pooling config, prompts and max length where the folder has them): each case parses one file, changes a node reached by a random walk (deletes it, gives it
 * another type, an extreme number, a `__proto__` key …), writes it back and opens the folder as a
 * job does: the model (its graph built from safetensors where the folder has no ONNX export), the
 * tokenizer with the model's table size, a text and a pair run through the model, the
 * sentence-transformers settings. Byte mutations of JSON mostly stop at JSON.parse; these reach the code behind it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { graphVocabRows, openModel } from '../src/core/model/modelInfo';
import { loadTokenizer } from '../src/core/data/tokenize';
import { Extractor } from '../src/core/extract/extractor';
import { copySentenceTransformerFiles, modelLowercase, modelMaxLength, modelPooling, modelPrompt, namedPrompt, promptPoolingWarning, readSentenceTransformers } from '../src/core/model/sentenceTransformers';
import { Rng } from '../src/core/util/rng';
import { normalizeReport } from '../src/core/reportData';
import { checkReportData } from '../src/shared/validate';
import { verdictOfSelection } from '../src/shared/verdict';
import {
  exportFileName,
  HEAT_METRICS,
  heatmap,
  heatmapMarkdown,
  heatmapSvg,
  latencyMarkdown,
  latencyRows,
  latencySvg,
  reportLabel,
  TradeoffAxis,
  tradeoffChoices,
  tradeoffMarkdown,
  tradeoffSeries,
  tradeoffSvg,
} from '../src/shared/reportCharts';
import type { FuzzTarget } from './fuzz';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const REPLACEMENTS: Json[] = [null, true, false, 0, -1, 1, 0.5, 1e9, 2 ** 31, 2 ** 53 + 2, -1e308, 1e308, '', 'x', '[UNK]', '</s>', [], {}, [null], { __proto__: { polluted: 1 } } as unknown as Json, 'a'.repeat(5000)];

/** A node of a parsed JSON document and where it hangs: `key` of `parent`, or the root. */
interface Spot {
  parent: Json[] | { [key: string]: Json } | null;
  key: string | number;
  value: Json;
  path: string;
}

/** A random walk from the root: at each level it stops with probability 1/3 (not at the root) or goes into a random child. */
function walk(root: Json, rng: Rng): Spot {
  let spot: Spot = { parent: null, key: '', value: root, path: '' };
  for (;;) {
    const v = spot.value;
    const keys = Array.isArray(v) ? v.map((_, i) => i) : v !== null && typeof v === 'object' ? Object.keys(v) : [];
    if (!keys.length || (spot.parent !== null && rng.int(3) === 0)) return spot;
    const key = keys[rng.int(keys.length)];
    const child = (v as Record<string | number, Json>)[key];
    spot = { parent: v as Spot['parent'], key, value: child, path: `${spot.path}${typeof key === 'number' ? `[${key}]` : `.${key}`}` };
  }
}

/** One structural change of `doc` (in place; a new root when the root itself is replaced) and its description. */
function change(doc: Json, rng: Rng): { doc: Json; what: string } {
  const s = walk(doc, rng);
  const kind = rng.int(6);
  const set = (value: Json): Json => {
    if (s.parent === null) return value;
    (s.parent as Record<string | number, Json>)[s.key] = value;
    return doc;
  };
  if (kind === 0 && s.parent !== null) {
    if (Array.isArray(s.parent)) s.parent.splice(Number(s.key), 1);
    else delete s.parent[s.key as string];
    return { doc, what: `delete ${s.path}` };
  }
  if (kind === 1 && typeof s.value === 'number') {
    const v = [-s.value, s.value * 1000, s.value + 0.5, s.value - 1, s.value + 1][rng.int(5)];
    return { doc: set(v), what: `${s.path} := ${v}` };
  }
  if (kind === 2 && Array.isArray(s.value) && s.value.length) {
    s.value.push(s.value[rng.int(s.value.length)]);
    return { doc, what: `repeat an element of ${s.path}` };
  }
  if (kind === 3 && typeof s.value === 'string') {
    const v = ['', s.value.toUpperCase(), s.value + s.value, `${s.value}\u0000`, String(rng.int(100))][rng.int(5)];
    return { doc: set(v), what: `${s.path} := ${JSON.stringify(v).slice(0, 40)}` };
  }
  const v = REPLACEMENTS[rng.int(REPLACEMENTS.length)];
  return { doc: set(JSON.parse(JSON.stringify(v)) as Json), what: `${s.path} := ${JSON.stringify(v).slice(0, 40)}` };
}

/** The folder's JSON files, found under `dir` (sentence-transformers' module folders included). */
function jsonFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json')).sort();
}

/**
 * A target over a copy of the model folder `source` in `scratchDir` (without its onnx/ folder when
 * `fromSafetensors`). Its "bytes" are a JSON record of one file's new text; reading writes it, opens
 * the folder, and puts the file back.
 */
export function modelJsonTarget(name: string, source: string, scratchDir: string, fromSafetensors = false, extra: Record<string, unknown> = {}): FuzzTarget {
  const dir = path.join(scratchDir, name);
  fs.cpSync(source, dir, { recursive: true, filter: (f) => !(fromSafetensors && path.basename(f) === 'onnx') });
  for (const [file, json] of Object.entries(extra)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), JSON.stringify(json, null, 2));
  }
  const copies = path.join(scratchDir, `${name}-copies`);
  const cache = path.join(scratchDir, `${name}-graphs`);
  const files = jsonFiles(dir);
  const originals = new Map(files.map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
  return {
    name,
    seed: Buffer.from(JSON.stringify({ file: files[0], text: originals.get(files[0]) })),
    hotspots: [],
    mutate(rng) {
      const file = files[rng.int(files.length)];
      let doc = JSON.parse(originals.get(file)!) as Json;
      const whats: string[] = [];
      for (let k = 1 + rng.int(3); k > 0; k--) {
        const c = change(doc, rng);
        doc = c.doc;
        whats.push(c.what);
      }
      return { what: `${file}: ${whats.join('; ')}`, bytes: Buffer.from(JSON.stringify({ file, text: JSON.stringify(doc, null, 1) })) };
    },
    async read(bytes) {
      const { file, text } = JSON.parse(bytes.toString('utf8')) as { file: string; text: string };
      fs.writeFileSync(path.join(dir, file), text);
      try {
        const info = openModel(dir, { graphCacheDir: cache });
        try {
          const tok = await loadTokenizer(dir, { maxLength: 24, embeddingRows: graphVocabRows(info.model) });
          const ex = await Extractor.create(info, tok, { poolings: ['mean', 'first'], cacheDir: null, threads: 1 });
          try {
            await ex.extract([{ text: 'The quick brown fox jumps over the lazy dog.' }, { text: 'a question?', textPair: 'an answer.' }], 'fuzz');
          } finally {
            await ex.release();
          }
        } finally {
          info.model.close();
        }
        readSentenceTransformers(dir);
        modelPooling(dir);
        modelMaxLength(dir, 24);
        modelPrompt(dir);
        promptPoolingWarning(dir);
        modelLowercase(dir);
        if (extra['config_sentence_transformers.json']) namedPrompt(dir, 'query');
        // What a commit copies beside the pruned model.
        fs.mkdirSync(copies, { recursive: true });
        copySentenceTransformerFiles(dir, copies);
      } finally {
        fs.writeFileSync(path.join(dir, file), originals.get(file)!);
        fs.rmSync(cache, { recursive: true, force: true });
        fs.rmSync(copies, { recursive: true, force: true });
      }
    },
  };
}

/** tiny-bert's sentence-transformers files, as sentence-transformers 3 saves them: mean pooling, normalised, a prompt named "query". */
const SENTENCE_TRANSFORMERS: Record<string, unknown> = {
  'modules.json': [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
    { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
  ],
  'sentence_bert_config.json': { max_seq_length: 20, do_lower_case: true },
  'config_sentence_transformers.json': { __version__: { sentence_transformers: '3.3.1' }, prompts: { query: 'query: ', passage: 'passage: ' }, default_prompt_name: 'query', similarity_fn_name: 'cosine' },
  '1_Pooling/config.json': { word_embedding_dimension: 32, pooling_mode_cls_token: false, pooling_mode_mean_tokens: true, pooling_mode_max_tokens: false, pooling_mode_mean_sqrt_len_tokens: false, pooling_mode_weightedmean_tokens: false, pooling_mode_lasttoken: false, include_prompt: true },
};

/**
 * The JSON targets over the repository's tiny model fixtures: each with its ONNX export, BERT,
 * RoBERTa and ModernBERT built from safetensors, and BERT as a sentence-transformers folder.
 */
export function modelJsonTargets(repoRoot: string, scratchDir: string): FuzzTarget[] {
  const fx = (name: string) => path.join(repoRoot, 'test', 'fixtures', name);
  return [
    ...['tiny-bert', 'tiny-roberta', 'tiny-distilbert', 'tiny-t5-encoder', 'tiny-mpnet'].map((f) => modelJsonTarget(`json-${f}`, fx(f), scratchDir)),
    ...['tiny-bert', 'tiny-roberta', 'tiny-modernbert', 'tiny-nomic-bert'].map((f) => modelJsonTarget(`json-${f}-safetensors`, fx(f), scratchDir, true)),
    modelJsonTarget('json-tiny-bert-sentence-transformers', fx('tiny-bert'), scratchDir, false, SENTENCE_TRANSFORMERS),
  ];
}

/**
 * A report file changed in structure, read as the side view and the report editor read one from
 * disk (normalizeReport), then checked by the page's own validator and drawn: every heatmap, every
 * trade-off view the page offers, the latency chart, their SVG and Markdown exports. What the host
 * accepts the page must accept, and no chart may hold NaN.
 */
export function reportJsonTarget(file: string): FuzzTarget {
  const original = JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
  const name = `json-report-${path.basename(file, '.json')}`;
  return {
    name,
    seed: Buffer.from(JSON.stringify(original)),
    hotspots: [],
    mutate(rng) {
      let doc = JSON.parse(JSON.stringify(original)) as Json;
      const whats: string[] = [];
      for (let k = 1 + rng.int(3); k > 0; k--) {
        const c = change(doc, rng);
        doc = c.doc;
        whats.push(c.what);
      }
      return { what: whats.join('; '), bytes: Buffer.from(JSON.stringify(doc)) };
    },
    read(bytes) {
      const data = normalizeReport(JSON.parse(bytes.toString('utf8')), 'r.json');
      const invalid = checkReportData(data);
      if (invalid) throw new Error(`the page's validator refuses what the host read: ${invalid}`);
      const drawn: string[] = [];
      for (const m of HEAT_METRICS) {
        const h = heatmap(data, m.id);
        if (h) drawn.push(heatmapSvg(h), heatmapMarkdown(h));
      }
      const choices = tradeoffChoices(data);
      const axes: TradeoffAxis[] = choices.retention ? ['accuracy', 'vsFinal', 'vsBest'] : ['accuracy'];
      for (const task of [null, ...(choices.perTask ? choices.tasks : [])]) {
        for (const axis of axes) {
          const series = tradeoffSeries(data, { task, axis });
          if (series) drawn.push(tradeoffSvg([{ name: 'r', series }]), tradeoffMarkdown(series));
        }
      }
      const latency = latencyRows(data);
      if (latency) drawn.push(latencySvg(latency), latencyMarkdown(latency));
      if (data.selection) {
        const v = verdictOfSelection(data.selection);
        drawn.push(v.headline, v.detail);
      }
      drawn.push(reportLabel(data), exportFileName(data, 'tradeoff', 'svg'));
      const nan = drawn.find((d) => /NaN|Infinity/.test(d));
      if (nan !== undefined) throw new Error(`a chart or text holds NaN or Infinity: ${nan.slice(Math.max(0, nan.search(/NaN|Infinity/) - 80), nan.search(/NaN|Infinity/) + 40)}`);
    },
  };
}

/** The report targets: an optimize report and one made by an older version. */
export function reportJsonTargets(repoRoot: string): FuzzTarget[] {
  return ['tiny-roberta-optimize.json', 'older-spam-0.35.json'].map((f) => reportJsonTarget(path.join(repoRoot, 'test', 'fixtures', 'reports', f)));
}
