import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadTask } from '../../../../src/core/data/dataset';
import { loadTokenizer } from '../../../../src/core/data/tokenize';
import { calibrationTexts, variantCalibration } from '../../../../src/core/compensate/variant';
import { fixture, tasksDir } from '../../../helpers';

test('the calibration set of several tasks knows each text’s task and label, whatever batch it lands in', async () => {
  const tok = await loadTokenizer(fixture('tiny-roberta'), { maxLength: 64 });
  const tasks = [await loadTask('sentlen', path.join(tasksDir, 'sentlen'), { limitTrain: 30, limitTest: 5 }), await loadTask('spam', path.join(tasksDir, 'spam'), { limitTrain: 30, limitTest: 5 })];
  const texts = calibrationTexts(tasks, 40);
  const set = variantCalibration(tok, tasks, { batchSize: 7 });
  assert.equal(set.texts, 60, 'CALIBRATION_TEXTS shared equally: 30 + 30 here');
  assert.equal(texts.length, 20 + 20);
  const seen = set.textOf.flatMap((rows) => Array.from(rows)).sort((a, b) => a - b);
  assert.deepEqual(seen, Array.from({ length: 60 }, (_, i) => i), 'every text in exactly one batch row');
  set.textOf.forEach((rows, b) =>
    rows.forEach((t, r) => {
      const ids = Array.from(set.batches[b].inputIds.subarray(r * set.batches[b].seqLen, (r + 1) * set.batches[b].seqLen), Number);
      const i = set.labels!.task[t];
      const j = t - (i === 0 ? 0 : 30);
      assert.equal(set.labels!.label[t], tasks[i].trainY[j], `text ${t}: label of task ${tasks[i].name} row ${j}`);
      assert.deepEqual(ids.slice(0, tok.encode(tasks[i].train[j].text).length), tok.encode(tasks[i].train[j].text), `batch ${b} row ${r} holds text ${t}`);
    }),
  );
});
