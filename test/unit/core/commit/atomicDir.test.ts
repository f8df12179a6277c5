import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanDeadProcessFolders, preflightOutput, writeFileAtomic, writeFolderAtomically } from '../../../../src/core/commit/atomicDir';
import { COMPENSATED_TMP } from '../../../../src/core/compensate/variant';
import { BadInputError, CancelledError, messageIn } from '../../../../src/core/errors';
import { cliFlag } from '../../../../src/cli/main';
import { fixture, repoRoot, tempDir } from '../../../helpers';

test('a commit removes temporaries of dead processes beside it, keeps live ones, and leaves nothing when cancelled', async () => {
  const dir = tempDir('ps-atomic-');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
  const names = { dead: `.other.probescale-tmp-${dead}-0a1b2c3d`, live: `.other.probescale-tmp-${live.pid}-0a1b2c3d`, unrelated: '.other.probescale-tmp-notapid' };
  for (const n of Object.values(names)) fs.mkdirSync(path.join(dir, n));
  try {
    const ac = new AbortController();
    await assert.rejects(
      writeFolderAtomically(path.join(dir, 'out'), false, async (tmp) => {
        fs.writeFileSync(path.join(tmp, 'x'), 'x');
        ac.abort();
      }, { signal: ac.signal }),
      CancelledError,
    );
    assert.deepEqual(fs.readdirSync(dir).sort(), [names.live, names.unrelated].sort(), 'the dead run’s temporary is gone, the cancelled one left nothing');
    await writeFolderAtomically(path.join(dir, 'out'), false, async (tmp) => fs.writeFileSync(path.join(tmp, 'x'), 'x'));
    assert.equal(fs.statSync(path.join(dir, 'out')).mode & 0o777, 0o777 & ~process.umask());
  } finally {
    live.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the private folders of killed compensated builds are removed by the next run; live, own and unrelated ones are kept', () => {
  const dir = tempDir('ps-deadtmp-');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
  const names = {
    dead: `${COMPENSATED_TMP}${dead}-Ab12Cd`,
    live: `${COMPENSATED_TMP}${live.pid}-Ab12Cd`,
    own: `${COMPENSATED_TMP}${process.pid}-Ab12Cd`,
    oldStyle: `${COMPENSATED_TMP}Ab12Cd`,
    other: `something-${dead}-Ab12Cd`,
  };
  for (const n of Object.values(names)) fs.mkdirSync(path.join(dir, n));
  fs.writeFileSync(path.join(dir, names.dead, 'model.onnx'), 'x');
  try {
    assert.deepEqual(cleanDeadProcessFolders(dir, COMPENSATED_TMP), [names.dead]);
    assert.deepEqual(fs.readdirSync(dir).sort(), [names.live, names.own, names.oldStyle, names.other].sort());
    assert.deepEqual(cleanDeadProcessFolders(path.join(dir, 'missing'), COMPENSATED_TMP), []);
  } finally {
    live.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('replacing (--force) takes an earlier model folder or an empty one, never a folder of other files', async () => {
  const dir = tempDir('ps-atomic-');
  const write = (name: string) => writeFolderAtomically(path.join(dir, name), true, async (tmp) => fs.writeFileSync(path.join(tmp, 'config.json'), '{}'));
  try {
    // A project folder: `--out . --force` from inside it used to delete it all.
    fs.mkdirSync(path.join(dir, 'project', 'src'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'project', 'src', 'main.c'), 'int main;');
    fs.writeFileSync(path.join(dir, 'project', 'notes.txt'), 'notes');
    await assert.rejects(write('project'), (e: unknown) => /^--out .*project: the folder holds files that are not a model folder \(notes\.txt, src\); --force replaces an earlier model folder \(config\.json with onnx\/ or safetensors weights\) or an empty folder, never others\. Choose a new path, or empty it first\.$/.test(messageIn(e, cliFlag)));
    await assert.rejects(writeFolderAtomically(path.join(dir, 'project'), false, async () => undefined), /holds files that are not a model folder/, 'not offered --force where it would refuse');
    assert.equal(fs.readFileSync(path.join(dir, 'project', 'src', 'main.c'), 'utf8'), 'int main;', 'nothing was touched');
    // An earlier model folder (ONNX or safetensors) and an empty folder are replaced.
    for (const [name, files] of [['onnx-model', ['config.json', 'onnx/model.onnx']], ['st-model', ['config.json', 'model.safetensors']], ['empty', []]] as [string, string[]][]) {
      for (const f of files) {
        fs.mkdirSync(path.dirname(path.join(dir, name, f)), { recursive: true });
        fs.writeFileSync(path.join(dir, name, f), 'x');
      }
      fs.mkdirSync(path.join(dir, name), { recursive: true });
      await write(name);
      assert.deepEqual(fs.readdirSync(path.join(dir, name)), ['config.json'], name);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a folder that appears at the output while the job runs is never replaced without --force, nor a non-model folder with it', async () => {
  const dir = tempDir('ps-atomic-');
  const out = path.join(dir, 'out');
  const ours = async (tmp: string) => fs.writeFileSync(path.join(tmp, 'config.json'), '{"ours":true}');
  // Someone else's folder lands at the output while this job fills its temporary.
  const appearing = (files: Record<string, string>) => async (tmp: string) => {
    fs.mkdirSync(out);
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(out, f), text);
    await ours(tmp);
  };
  const leftovers = () => fs.readdirSync(dir).filter((n) => n.includes('probescale-tmp'));
  try {
    // Without --force: another run's model folder, and a folder of the user's files, both stay.
    for (const files of [{ 'config.json': '{"theirs":true}' }, { 'notes.txt': 'mine' }] as Record<string, string>[]) {
      await assert.rejects(writeFolderAtomically(out, false, appearing(files)), (e: unknown) => /^--out .*out: the folder already exists \(it appeared while the job ran\); choose another path or allow replacing it \(--force\)\.$/.test(messageIn(e, cliFlag)));
      assert.deepEqual(Object.fromEntries(fs.readdirSync(out).map((f) => [f, fs.readFileSync(path.join(out, f), 'utf8')])), files, 'their folder is untouched');
      assert.deepEqual(leftovers(), [], 'no temporary left');
      fs.rmSync(out, { recursive: true });
    }
    // With --force: a model folder that appeared is replaced; a folder of other files is not.
    await writeFolderAtomically(out, true, appearing({ 'config.json': '{"theirs":true}', 'model.safetensors': 'x' }));
    assert.deepEqual(fs.readdirSync(out), ['config.json']);
    assert.equal(fs.readFileSync(path.join(out, 'config.json'), 'utf8'), '{"ours":true}');
    fs.rmSync(out, { recursive: true });
    await assert.rejects(writeFolderAtomically(out, true, appearing({ 'notes.txt': 'mine' })), /holds files that are not a model folder \(notes\.txt\)/);
    assert.equal(fs.readFileSync(path.join(out, 'notes.txt'), 'utf8'), 'mine');
    assert.deepEqual(leftovers(), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('three prunes to one output at once: one writes it, the others are refused and leave nothing', () => {
  const dir = tempDir('ps-race-');
  const out = path.join(dir, 'out');
  const cli = path.join(repoRoot, 'out', 'src', 'cli', 'main.js');
  const script = `const { spawn } = require('node:child_process');
let left = 3; const codes = [];
for (let i = 0; i < 3; i++) spawn(process.execPath, [${JSON.stringify(cli)}, 'prune', ${JSON.stringify(fixture('tiny-bert'))}, '--layers', '0', '--out', ${JSON.stringify(out)}, '-q'], { stdio: ['ignore', 'ignore', 'pipe'] })
  .on('exit', (c) => { codes.push(c); if (--left === 0) console.log(JSON.stringify(codes.sort())); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  const codes = JSON.parse(r.stdout) as number[];
  assert.equal(codes.filter((c) => c === 0).length, 1, `exactly one run wrote the folder: ${r.stdout}`);
  assert.deepEqual(codes.filter((c) => c !== 0 && c !== 1), [], r.stdout);
  assert.ok(fs.existsSync(path.join(out, 'config.json')));
  assert.deepEqual(fs.readdirSync(dir), ['out'], 'no temporary or moved-aside folder left');
});

test('the folder holding the output deleted while the output is written: a BadInputError saying so, not ENOENT', async () => {
  const dir = tempDir('ps-atomic-');
  const out = path.join(dir, 'sub', 'out');
  await assert.rejects(
    writeFolderAtomically(out, false, async (tmp) => {
      fs.writeFileSync(path.join(tmp, 'a'), 'a');
      fs.rmSync(path.join(dir, 'sub'), { recursive: true });
      fs.writeFileSync(path.join(tmp, 'b'), 'b');
    }),
    (e: unknown) => e instanceof BadInputError && /^--out .*sub\/out: the folder .*sub, where the output was being written, was deleted or moved while the job wrote it \(ENOENT: .*\)\. Nothing of it was left; run the job again\.$/.test(messageIn(e, cliFlag)),
  );
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('an output name near the file system’s 255-byte limit is written (its temporary name is shortened); one over it is refused as too long', async () => {
  const dir = tempDir('ps-atomic-');
  for (const name of ['m'.repeat(240), 'é'.repeat(127), 'm'.repeat(255)]) {
    const out = path.join(dir, name);
    await writeFolderAtomically(out, false, async (tmp) => fs.writeFileSync(path.join(tmp, 'config.json'), '{}'));
    assert.deepEqual(fs.readdirSync(out), ['config.json'], `${Buffer.byteLength(name)} bytes`);
    writeFileAtomic(path.join(out, 'r'.repeat(250)), 'x');
    assert.equal(fs.readFileSync(path.join(out, 'r'.repeat(250)), 'utf8'), 'x');
  }
  assert.equal(fs.readdirSync(dir).filter((n) => n.includes('probescale-tmp')).length, 0, 'no temporary left');
  const tooLong = path.join(dir, 'm'.repeat(256));
  await assert.rejects(writeFolderAtomically(tooLong, false, async () => undefined), (e: unknown) => /^--out .*: the name .* is 256 bytes long; file systems allow at most 255\. Choose a shorter name\.$/.test(messageIn(e, cliFlag)));
});

test('a report written to a device, a named pipe or a link to one (--out /dev/null, /dev/stdout) goes into it; the node itself is never replaced', { skip: process.platform !== 'linux' || process.getuid?.() !== 0 ? 'needs mknod (root on Linux)' : false }, async () => {
  const dir = tempDir('ps-devices-');
  const nul = path.join(dir, 'null');
  assert.equal(spawnSync('mknod', [nul, 'c', '1', '3']).status, 0);
  fs.symlinkSync(nul, path.join(dir, 'link-to-null'));
  for (const target of [nul, path.join(dir, 'link-to-null')]) {
    assert.equal(preflightOutput(target, 'file', true, []), path.resolve(target));
    writeFileAtomic(target, 'report');
    writeFileAtomic(target, (tmp) => fs.writeFileSync(tmp, 'report'));
  }
  assert.ok(fs.statSync(nul).isCharacterDevice(), 'still the device');
  assert.ok(fs.lstatSync(path.join(dir, 'link-to-null')).isSymbolicLink(), 'still the link');
  // A named pipe: the reader gets the report.
  const fifo = path.join(dir, 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const reader = spawn('cat', [fifo]);
  let read = '';
  reader.stdout.on('data', (d: Buffer) => (read += d.toString()));
  const closed = new Promise((resolve) => reader.on('close', resolve));
  writeFileAtomic(fifo, 'through the pipe');
  await closed;
  assert.equal(read, 'through the pipe');
  assert.ok(fs.statSync(fifo).isFIFO());
  assert.deepEqual(fs.readdirSync(dir).sort(), ['fifo', 'link-to-null', 'null'], 'no temporary beside them');
  // A folder cannot be written onto a device.
  await assert.rejects(writeFolderAtomically(nul, true, async () => undefined), /a file of that name exists/);
});
