/**
 * A committed folder's files against the SHA-256 checksums its report recorded: optimize records
 * them, eval checks them first and names what changed without refusing to measure, and older or
 * damaged reports are handled as the report reader handles them.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { claimNote } from '../../../../src/core/commit/committed';
import { sha256File } from '../../../../src/core/commit/checksums';
import { isCancelled } from '../../../../src/core/errors';
import { readReport } from '../../../../src/core/reportData';
import { fixture, repoRoot, tasksDir, tempDir } from '../../../helpers';

const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
const LIMITS = ['--limit-train', '60', '--limit-test', '20', '--c', '1', '--no-cache'];
const task = `sentlen=${path.join(tasksDir, 'sentlen')}`;
const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const cliRun = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

/** Every file under `dir`, relative posix paths. */
function filesUnder(dir: string, sub = ''): string[] {
  return fs.readdirSync(path.join(dir, sub), { withFileTypes: true }).flatMap((e) => {
    const rel = sub ? `${sub}/${e.name}` : e.name;
    return e.isDirectory() ? filesUnder(dir, rel) : [rel];
  });
}

function evalReport(out: string, file: string, extra: string[] = []) {
  const r = cliRun(['eval', out, '--task', task, ...LIMITS, '--out', file, ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return { r, report: JSON.parse(fs.readFileSync(file, 'utf8')) };
}

test('optimize records a SHA-256 per written file; eval checks them, names a changed file and still measures', () => {
  const root = tempDir('ps-sums-');
  const out = path.join(root, 'model');
  try {
    const made = cliRun(['optimize', fixture('tiny-roberta'), '--task', task, '--budget', '0.95', '--candidates', '1', '--baselines', 'none', '--out', out, ...LIMITS]);
    assert.equal(made.status, 0, made.stderr);
    assert.match(made.stderr, /hashed \d+ files \([\d.]+ MB read\) in [\d.]+ s/);
    const committedFile = path.join(out, 'probescale-report.json');
    const committed = JSON.parse(fs.readFileSync(committedFile, 'utf8'));
    const listed = Object.keys(committed.checksums.files).sort();
    assert.deepEqual(listed, filesUnder(out).filter((f) => f !== 'README.md' && f !== 'probescale-report.json').sort(), 'every file but the card and the report');
    assert.ok(listed.includes('onnx/model.onnx') && listed.includes('tokenizer.json') && listed.includes('config.json') && listed.some((f) => f.startsWith('classifiers/')));
    for (const f of listed) assert.deepEqual(committed.checksums.files[f], { bytes: fs.statSync(path.join(out, f)).size, sha256: sha(path.join(out, f)) }, f);

    // Untouched: every file matches, the claim is the committed one.
    const clean = evalReport(out, path.join(root, 'clean.json'));
    assert.match(clean.r.stderr, new RegExp(`all ${listed.length} files of .* match the SHA-256 checksums`));
    assert.deepEqual(clean.report.integrity, { checked: listed.length, differing: [] });
    assert.match(clean.r.stdout, /final \(as shipped\): .* \(as committed\)$/m);

    // One byte of the encoder's weights flipped (the file still parses): a warning naming it, and the measurement goes on.
    const onnx = path.join(out, 'onnx', 'model.onnx');
    const bytes = fs.readFileSync(onnx);
    bytes[bytes.length >> 1] ^= 1;
    fs.writeFileSync(onnx, bytes);
    const edited = evalReport(out, path.join(root, 'edited.json'));
    const expected = committed.checksums.files['onnx/model.onnx'].sha256 as string;
    assert.match(edited.r.stderr, new RegExp(`warn: \\d+ of ${listed.length} files of .* differs? from what was committed .*onnx/model\\.onnx \\(committed ${expected.slice(0, 12)}…, now ${sha(onnx).slice(0, 12)}…\\)`));
    assert.ok(edited.report.integrity.differing.some((d: { path: string; expected: string; actual: string }) => d.path === 'onnx/model.onnx' && d.expected === expected && d.actual === sha(onnx)));
    assert.match(edited.r.stdout, /final \(as shipped\): .* \(the committed report claims [\d.]+ % for the files as committed; \d+ of them differs? now\)$/m);
    assert.ok(edited.report.tasks.sentlen.final, 'eval measured the files as they are');
    fs.rmSync(path.join(out, 'tokenizer.json'));
    assert.match(cliRun(['eval', out, '--task', task, ...LIMITS]).stderr, /tokenizer\.json \(committed [0-9a-f]{12}…, now missing\)/);
    fs.writeFileSync(path.join(out, 'tokenizer.json'), fs.readFileSync(path.join(out, 'classifiers', 'sentlen', 'tokenizer.json')));

    // A report written before checksums: nothing is checked, and said so.
    delete committed.checksums;
    fs.writeFileSync(committedFile, JSON.stringify(committed));
    const older = evalReport(out, path.join(root, 'older.json'));
    assert.match(older.r.stderr, /records no file checksums \(it was written before ProbeScale recorded them\); no file was checked/);
    assert.equal(older.report.integrity.checked, 0);
    assert.match(older.r.stdout, /final \(as shipped\): .* \((as committed|the committed report claims [\d.]+ %)\)$/m, 'the claim is compared as before');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a damaged checksums field is refused by name, by eval and by the report reader alike', () => {
  const root = tempDir('ps-sums-bad-');
  try {
    const report = JSON.parse(fs.readFileSync(fixture('reports-before', 'optimize-tiny-roberta.json'), 'utf8'));
    const file = path.join(root, 'probescale-report.json');
    const good = { bytes: 3, sha256: 'a'.repeat(64) };
    const cases: [unknown, RegExp][] = [
      ['yes', /"checksums" is "yes"; expected an object/],
      [{ algorithm: 'md5', files: {} }, /"checksums\.algorithm" is "md5"; expected "sha256"/],
      [{ algorithm: 'sha256', files: { 'onnx/model.onnx': { bytes: 3, sha256: 'xyz' } } }, /"checksums\.files\["onnx\/model\.onnx"\]\.sha256" is "xyz"; expected 64 lowercase hex digits/],
      [{ algorithm: 'sha256', files: { 'config.json': { ...good, bytes: -1 } } }, /"checksums\.files\["config\.json"\]\.bytes" is -1/],
      [{ algorithm: 'sha256', files: { '../secret': good } }, /"checksums\.files\["\.\.\/secret"\]" names a file outside the folder/],
      [{ algorithm: 'sha256', files: { '/etc/passwd': good } }, /names a file outside the folder/],
    ];
    for (const [checksums, message] of cases) {
      fs.writeFileSync(file, JSON.stringify({ ...report, checksums }));
      assert.throws(() => readReport(file), message, JSON.stringify(checksums));
    }
    fs.writeFileSync(file, JSON.stringify({ ...report, checksums: { algorithm: 'sha256', files: { 'config.json': good } } }));
    assert.doesNotThrow(() => readReport(file));
    delete report.checksums;
    fs.writeFileSync(file, JSON.stringify(report));
    assert.doesNotThrow(() => readReport(file), 'a report without checksums reads');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('eval refuses a committed folder whose report has a damaged checksum, naming the field', () => {
  const root = tempDir('ps-sums-eval-');
  const out = path.join(root, 'model');
  try {
    assert.equal(cliRun(['optimize', fixture('tiny-bert'), '--task', task, '--budget', '0.95', '--candidates', '1', '--baselines', 'none', '--out', out, ...LIMITS, '-q']).status, 0);
    const file = path.join(out, 'probescale-report.json');
    const report = JSON.parse(fs.readFileSync(file, 'utf8'));
    report.checksums.files['config.json'].sha256 = 'not a hash';
    fs.writeFileSync(file, JSON.stringify(report));
    const r = cliRun(['eval', out, '--task', task, ...LIMITS]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /has a damaged field: "checksums\.files\["config\.json"\]\.sha256" is "not a hash"/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('sha256File streams: a file over several chunks hashes as the whole, and a cancel stops it', async () => {
  const dir = tempDir('ps-sha-');
  try {
    const file = path.join(dir, 'big.bin');
    fs.writeFileSync(file, crypto.randomBytes(3 * (1 << 20) + 17));
    assert.equal(await sha256File(file), sha(file));
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(sha256File(file, ac.signal), (e: unknown) => isCancelled(e));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the claim note says when the claim was made for files that differ now', () => {
  const changed = { checked: 5, differing: [{ path: 'onnx/model.onnx', expected: 'a'.repeat(64), actual: 'b'.repeat(64) }] };
  assert.equal(claimNote(0.9, undefined, changed), '');
  assert.equal(claimNote(0.9, 0.9), ' (as committed)');
  assert.equal(claimNote(0.7, 0.9, { checked: 5, differing: [] }), ' (the committed report claims 90.0 %)');
  assert.equal(claimNote(0.9, 0.9, changed), ' (the committed report claims 90.0 % for the files as committed; 1 of them differs now)');
  assert.equal(claimNote(0.7, 0.9, { ...changed, differing: [...changed.differing, { ...changed.differing[0], path: 'x' }] }), ' (the committed report claims 90.0 % for the files as committed; 2 of them differ now)');
});

test('prune writes a SHA-256 per file in probescale-checksums.json; eval checks them and names a changed file', () => {
  const root = tempDir('ps-sums-prune-');
  const out = path.join(root, 'pruned');
  try {
    const made = cliRun(['prune', fixture('tiny-distilbert'), '--layers', '0,2', '--out', out]);
    assert.equal(made.status, 0, made.stderr);
    assert.match(made.stdout, /probescale-checksums\.json/, 'the listing of written files names it');
    const record = JSON.parse(fs.readFileSync(path.join(out, 'probescale-checksums.json'), 'utf8'));
    const listed = Object.keys(record.checksums.files).sort();
    assert.deepEqual(listed, filesUnder(out).filter((f) => f !== 'probescale-checksums.json').sort(), 'every other file of the folder');
    assert.ok(listed.includes('model.safetensors') && listed.includes('onnx/model.onnx') && listed.includes('config.json'));
    for (const f of listed) assert.deepEqual(record.checksums.files[f], { bytes: fs.statSync(path.join(out, f)).size, sha256: sha(path.join(out, f)) }, f);
    assert.match(record.note, /probescale eval/);

    const clean = evalReport(out, path.join(root, 'clean.json'));
    assert.match(clean.r.stderr, new RegExp(`all ${listed.length} files of .* match the SHA-256 checksums its probescale-checksums\\.json recorded`));
    assert.deepEqual(clean.report.integrity, { checked: listed.length, differing: [] });

    const st = path.join(out, 'model.safetensors');
    const bytes = fs.readFileSync(st);
    bytes[bytes.length - 3] ^= 1;
    fs.writeFileSync(st, bytes);
    const edited = evalReport(out, path.join(root, 'edited.json'));
    assert.match(edited.r.stderr, new RegExp(`warn: 1 of ${listed.length} files of .* differs from what was committed \\(SHA-256 in probescale-checksums\\.json\\): model\\.safetensors \\(committed ${record.checksums.files['model.safetensors'].sha256.slice(0, 12)}…, now ${sha(st).slice(0, 12)}…\\)`));
    assert.deepEqual(edited.report.integrity.differing.map((d: { path: string }) => d.path), ['model.safetensors']);
    assert.ok(edited.report.tasks.sentlen.final, 'eval measured the files as they are');
    // An eval report saved into the folder under the committed report's name does not hide the checksums.
    evalReport(out, path.join(out, 'probescale-report.json'));
    assert.match(evalReport(out, path.join(root, 'again.json')).r.stderr, /warn: 1 of \d+ files .* \(SHA-256 in probescale-checksums\.json\): model\.safetensors/);

    // A plain model folder (not written by ProbeScale) is evaluated without a word about checksums.
    const plain = evalReport(fixture('tiny-distilbert'), path.join(root, 'plain.json'));
    assert.doesNotMatch(plain.r.stderr, /checksum/i);
    assert.equal(plain.report.integrity, undefined);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
