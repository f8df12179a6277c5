import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanDeadProcessFolders, writeFolderAtomically } from '../../../../src/core/commit/atomicDir';
import { COMPENSATED_TMP } from '../../../../src/core/compensate/variant';
import { CancelledError, messageIn } from '../../../../src/core/errors';
import { cliFlag } from '../../../../src/cli/main';
import { tempDir } from '../../../helpers';

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
