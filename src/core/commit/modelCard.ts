/** The model card (README.md) written into a committed folder. */
import { GLOSSARY } from '../../shared/glossary';
import type { OptimizeReport, SelectionReport, VerifyReport } from '../report';
import { describeRule, describeVocabTrim, formatGap, selectionVerdict } from '../optimize/select';
import { PIPELINE_STAND_IN } from './classifier';
import { inReportOrder } from '../../shared/verdict';
import { SAFETENSORS_NOTE } from '../compensate/commit';
import { q8File } from '../compensate/quantize';
import { committedGraphName } from './outputSize';
import { MODULES_FILE } from '../model/sentenceTransformers';

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const num = (x: number) => x.toLocaleString('en-US');
const formatPoints = (d: number) => `${d >= 0 ? '+' : '−'}${Math.abs(100 * d).toFixed(1)} points`;
const blocks = (k: number[]) => (k.length ? k.join(', ') : '(none)');

/** A file of the committed folder and its size in bytes (null: written after the card, so no size here). */
export interface FolderFile {
  path: string;
  bytes: number | null;
  /** A hard link: the file it shares its bytes with (no extra space on this disk). */
  linkOf?: string;
}

function size(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : bytes >= 1e3 ? `${(bytes / 1e3).toFixed(1)} kB` : `${bytes} B`;
}

/** The "Files" section: every file of the folder with its size. */
function filesSection(files: FolderFile[]): string[] {
  const bytes = (f: FolderFile) => (f.bytes === null ? 'rewritten after verification' : `${size(f.bytes)} (${num(f.bytes)} bytes)`);
  const rows = files.map((f) => `| \`${f.path}\` | ${f.linkOf ? `hard link to \`${f.linkOf}\` (${size(f.bytes!)} shared, no extra space on this disk)` : bytes(f)} |`);
  return ['## Files', '', '| file | size |', '|---|---|', ...rows, ''];
}

export function modelCard(r: OptimizeReport, files?: FolderFile[]): string {
  const lines = [
    ...headerSection(r),
    ...taskScoresSection(r.selection),
    ...baselinesSection(r.selection),
    ...(r.verify ? verificationSection(r.verify) : []),
    ...termsSection(),
    ...useSection(r, files),
    ...(files ? filesSection(files) : []),
    '[`probescale-report.json`](probescale-report.json) has every number above, every measured candidate and the budget advice; in VS Code with ProbeScale it opens as the report editor (the trade-off chart of every measured subset, layer relevance, latency).',
  ];
  return lines.join('\n') + '\n';
}

/** The title, the source and its kept blocks, the parameters, the compensation and the command. */
function headerSection(r: OptimizeReport): string[] {
  const s = r.selection;
  const m = r.model;
  const lines = [
    `# ${m.architecture} pruned by ProbeScale: ${s.kept.length} of ${m.numLayers} blocks`,
    '',
    `Source: \`${m.dir}\` (${m.graphFrom === 'safetensors' ? `graph built from its ${m.weights ?? 'safetensors'} weights` : path(m.onnxFile)}). Kept blocks (0-based, source numbering): **${blocks(s.kept)}**.`,
    `Parameters: ${num(m.params.total)} → **${num(s.params)}** (${pct(s.fraction)} of the source; budget ${s.budget.spec} = ${num(s.budget.params)}).`,
    '',
  ];
  if (s.compensation) {
    lines.push(`Compensation: **${s.compensation.description}**, fitted by ridge least squares on training texts (no gradient training).`, '', s.compensation.safetensors ?? SAFETENSORS_NOTE, '');
  } else if (s.pytorchNote) {
    lines.push(`${s.pytorchNote}.`, '');
  }
  if (r.command) lines.push(`Made with:\n\n\`\`\`\n${r.command}\n\`\`\`\n`);
  return lines;
}

/** Each task's test scores, the weighted retention, the embedding-only check and the vocabulary trim. */
function taskScoresSection(s: SelectionReport): string[] {
  const lines = [
    '## Task scores (test split)',
    '',
    '| task | pruned acc | pruned F1 | unpruned final | unpruned best layer | retention vs final | vs best layer | chance-normalised |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, t] of Object.entries(s.perTask)) {
    lines.push(`| ${name} | ${pct(t.test.accuracy)} | ${pct(t.test.macroF1)} | ${pct(t.reference.final.accuracy)} | ${pct(t.reference.bestLayer.test.accuracy)} (layer ${t.reference.bestLayer.layer}) | ${pct(t.retention.vsFinal)} | ${pct(t.retention.vsBestLayer)} | ${t.retention.chanceNormalized === null ? '– (unpruned at chance)' : pct(t.retention.chanceNormalized)} |`);
  }
  const chanceNormalised = s.retention.chanceNormalized === null ? 'no chance-normalised figure (a task\'s unpruned final layer is not above its majority class)' : `${pct(s.retention.chanceNormalized)} chance-normalised`;
  lines.push(
    '',
    `Weighted retention: ${pct(s.retention.vsFinal)} of the unpruned final layer, ${pct(s.retention.vsBestLayer)} of its best layer, ${chanceNormalised}. ${describeRule(s.rule.name, s.rule.requested, s.rule.simulation, s.rule.candidatesInBudget)}`,
    '',
    `${s.embeddingOnly.message}`,
    '',
  );
  if (s.vocabTrim) {
    const finalAccuracy = Object.fromEntries(Object.entries(s.perTask).map(([k, t]) => [k, t.reference.final.accuracy]));
    lines.push(`${describeVocabTrim(s.vocabTrim, finalAccuracy)} \`model.safetensors\` keeps the full vocabulary.`, '');
  }
  return lines;
}

/** The baselines table at the same budget, the verdict and the † footnotes. */
function baselinesSection(s: SelectionReport): string[] {
  const lines = [
    '## Baselines at the same budget (test split, weighted accuracy)',
    '',
    '| method | kept blocks | parameters | validation | test | retention vs final | ProbeScale − this (points ± paired SE) |',
    '|---|---|---|---|---|---|---|',
    `| **ProbeScale** | ${blocks(s.kept)} | ${num(s.params)} | ${pct(s.objective.validation)} | ${pct(s.objective.test)} | ${pct(s.retention.vsFinal)} | |`,
  ];
  // The same order as the panel and the CLI.
  for (const b of inReportOrder(s.baselines)) {
    lines.push(`| ${b.name}${b.note ? ' †' : ''} | ${blocks(b.kept)}${b.compensation ? ` (${b.compensation.description})` : ''} | ${num(b.params)} | ${pct(b.validation)} | ${pct(b.testObjective)} | ${pct(b.meanRetention.vsFinal)} | ${formatGap(b.vsSelected.objective)} |`);
  }
  // Not measured: no version of them fits (the verdict below says why).
  for (const u of s.unfitBaselines ?? []) lines.push(`| ${u.name} | does not fit the budget | | | | | |`);
  const v = selectionVerdict(s);
  lines.push('', `${v.ok ? '✓' : '!'} ${v.headline} ${v.detail}`, '');
  const noted = inReportOrder(s.baselines).filter((b) => b.note);
  if (noted.length) {
    // The † rows: where a heuristic could not follow its published rule within the budget.
    for (const b of noted) lines.push(`† ${b.name}: ${b.note}.`);
    lines.push('');
  }
  return lines;
}

/** The scores re-measured on a fresh load of the folder, the quantized graph's, and the latency. */
function verificationSection(v: VerifyReport): string[] {
  const lines = ['## Verification (fresh load of this folder)', ''];
  for (const [name, t] of Object.entries(v.perTask)) lines.push(`- ${name}: claimed ${pct(t.claimed.accuracy)}, re-measured ${pct(t.measured.accuracy)} ${t.equal ? '(equal)' : '(DIFFERENT)'}`);
  for (const [name, t] of Object.entries(v.quantized?.perTask ?? {})) lines.push(`- ${name}, quantized (\`${v.quantized!.file}\`, one text per run): ${pct(t.measured.accuracy)}, ${formatPoints(t.difference)} vs the float classifier`);
  const ti = v.timing;
  lines.push(`- latency (${ti.provider}, median): batch 1 ${ti.batch1.originalMs.toFixed(2)} → ${ti.batch1.prunedMs.toFixed(2)} ms (×${ti.batch1.speedup.toFixed(2)}); batch 32 ${ti.batch32.originalMs.toFixed(1)} → ${ti.batch32.prunedMs.toFixed(1)} ms (×${ti.batch32.speedup.toFixed(2)}); ${ti.idealSpeedup === null || ti.efficiency === null ? `no FLOP ideal: ${GLOSSARY.noIdeal.text}` : `ideal (FLOP ratio at length ${ti.seqLen}) ×${ti.idealSpeedup.toFixed(2)}, efficiency ${pct(ti.efficiency)}`}`);
  lines.push('');
  return lines;
}

function termsSection(): string[] {
  const terms = (['chanceNormalised', 'splitHalf'] as const).map((k) => `- **${GLOSSARY[k].term}**: ${GLOSSARY[k].text}`);
  return ['## Terms', '', ...terms, ''];
}

/**
 * How a user runs a classifier: transformers.js' text-classification pipeline for one text; for a
 * task of text pairs, its tokenizer (with `text_pair`) and model, since the pipeline reads no pairs.
 */
function exampleCode(r: OptimizeReport): string[] {
  const names = Object.keys(r.selection.perTask);
  const single = names.find((n) => !r.tasks[n]?.textPairs);
  const pairs = names.filter((n) => r.tasks[n]?.textPairs);
  const prompted = (text: string) => `${r.settings.prompt ? `${JSON.stringify(r.settings.prompt)} + ` : ''}${text}`;
  const input = (text: string) => (r.settings.lowercase ? `(${prompted(text)}).toLowerCase()` : prompted(text));
  const lines: string[] = [];
  if (single !== undefined) {
    lines.push('```js', "import { pipeline } from '@huggingface/transformers';", `const classify = await pipeline('text-classification', '<this folder>/classifiers/${single}');`, `console.log(await classify(${input("'some text'")}));`, '```', '');
  }
  if (pairs.length) {
    lines.push(
      `${pairs.map((n) => `\`${n}\``).join(', ')} ${pairs.length > 1 ? 'read' : 'reads'} text pairs, which \`pipeline('text-classification')\` does not take (given \`{ text, text_pair }\`, transformers.js 4.3 tokenizes an empty text): call the classifier's tokenizer with \`text_pair\` and its model:`,
      '',
      '```js',
      "import { AutoTokenizer, AutoModelForSequenceClassification } from '@huggingface/transformers';",
      `const dir = '<this folder>/classifiers/${pairs[0]}';`,
      'const tokenizer = await AutoTokenizer.from_pretrained(dir);',
      'const model = await AutoModelForSequenceClassification.from_pretrained(dir);',
      `const { logits } = await model(tokenizer(${input("'first text'")}, { text_pair: ${r.settings.lowercase ? "'second text'.toLowerCase()" : "'second text'"}, truncation: true }));`,
      'const scores = Array.from(logits.data);',
      'console.log(model.config.id2label[scores.indexOf(Math.max(...scores))]);',
      '```',
      '',
    );
  }
  return lines;
}

/** How to load the folder, and what about its files a user should know before copying it. */
/** `a`, `b`, `c`, or for a longer list its first three and how many there are. */
function namesInBrief(names: string[]): string {
  const shown = names.slice(0, names.length > 4 ? 3 : 4).map((o) => `\`${o}\``);
  return names.length > 4 ? `${shown.join(', ')} … ${names.length} in all` : shown.join(', ');
}

/** What the pruned encoder returns, against the source's outputs. */
function encoderOutputsSentence(m: OptimizeReport['model']): string {
  if (m.taskHead) return `the source's inputs; the source ends in a task head (outputs ${m.taskHead.map((o) => `\`${o}\``).join(', ')}), which is not kept: this encoder outputs \`last_hidden_state\`, and config.json names the base model without the head's labels`;
  if (m.blockOutputs) return `same inputs as the source, and its outputs except those of dropped blocks: the source also returns outputs computed inside each block (${namesInBrief(m.blockOutputs)}), and this encoder those of the kept blocks, under the same names`;
  return 'same inputs and outputs as the source: a drop-in replacement';
}

function useSection(r: OptimizeReport, files?: FolderFile[]): string[] {
  const m = r.model;
  const lines = [
    '## Use',
    '',
    `\`onnx/\` holds the pruned encoder (${encoderOutputsSentence(m)}). Each \`classifiers/<task>/\` folder is a complete text classifier (pruned encoder + pooling + probe head → \`logits\`, \`id2label\` in its config):`,
    '',
    ...exampleCode(r),
  ];
  const pre = [];
  if (r.settings.prompt) pre.push(`The probes read every text with the prompt ${JSON.stringify(r.settings.prompt)} before it (\`probescale.prompt\` in each classifier's config.json): put it before your texts, as above; the pipeline does not.`);
  if (r.settings.lowercase) pre.push("The probes read every text lowercased, as the source's sentence-transformers config says (do_lower_case; `probescale.lowercase` in each classifier's config.json): lowercase your texts, as above; the pipeline does not.");
  if (r.settings.maxLength !== undefined) pre.push(`Each classifier's tokenizer cuts inputs at ${r.settings.maxLength} tokens (\`model_max_length\` in its tokenizer_config.json), where the probes were trained. transformers.js cuts a longer text by dropping its end, closing special token included, where Python \`transformers\` and ProbeScale's scores keep that token: on such texts its input differs by one token.`);
  if (pre.length) lines.push(pre.join(' '), '');
  if (r.verify?.quantized) {
    // The classifiers' file is model_quantized.onnx; the encoder's follows its graph's name (T5: encoder_model_quantized.onnx).
    const encoder = `onnx/${q8File(committedGraphName('model.onnx', m.architecture))}`;
    const where = encoder === r.verify.quantized.file ? `\`onnx/\` and each classifier folder also have \`${r.verify.quantized.file}\`` : `The encoder also has \`${encoder}\` and each classifier folder \`${r.verify.quantized.file}\``;
    lines.push(`${where}, quantized from the compensated float graph (${r.verify.quantized.method}; the source's own quantized variant holds the old weights): pass \`{ dtype: 'q8' }\` to \`pipeline\` to load it; its accuracy is under Verification.`, '');
  }
  const standIn = PIPELINE_STAND_IN[m.architecture];
  if (standIn) {
    lines.push(`transformers.js has no ${m.architecture} sequence-classification class, so each classifier's config.json says \`model_type: "${standIn}"\` (that class runs the graph's inputs → \`logits\` as they are); \`probescale.sourceModelType\` records \`${m.architecture}\`. The encoder folder's own config.json is unchanged.`, '');
  }
  if (files?.some((f) => f.path === MODULES_FILE)) {
    const modules = [...new Set(files.flatMap((f) => (f.path.includes('/') && !/^(onnx|classifiers)\//.test(f.path) ? [f.path.split('/')[0]] : [])))];
    const torch = files.some((f) => f.path === 'model.safetensors' || f.path === 'model.safetensors.index.json');
    lines.push(
      `A sentence-transformers folder: \`${MODULES_FILE}\`${modules.length ? ` and its modules (${modules.map((m) => `\`${m}/\``).join(', ')})` : ''} are the source's, unchanged (pruning keeps the hidden width they read), so \`SentenceTransformer('<this folder>'${torch ? '' : ", backend='onnx'"})\` embeds with the pruned encoder and the source's pooling${torch ? " (`backend='onnx'` reads `onnx/model.onnx`)" : '; the folder has no PyTorch weights, so the ONNX backend is the one that loads it'}.`,
      '',
    );
  }
  if (files?.some((f) => f.linkOf)) {
    lines.push("The classifiers share the encoder's weights: each `classifiers/<task>/onnx/model.onnx` holds its pooling and head and reads the encoder's weights from `model.onnx_data` beside it, a hard link to the encoder's file (ONNX Runtime reads external data only from a graph's own folder and refuses symbolic links). On this disk the weights are stored once; a copy that does not keep hard links (an upload, a zip) stores them once per classifier.", '');
  }
  if (r.checksums) {
    lines.push('`probescale-report.json` lists a SHA-256 per file of this folder (`checksums`); `probescale eval` checks them first and names any file that changed since the commit.', '');
  }
  return lines;
}

function path(f: string): string {
  return f.split(/[\\/]/).slice(-2).join('/');
}
