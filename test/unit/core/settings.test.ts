import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_CANDIDATES, DEFAULT_SETTINGS, DEFAULT_TARGET_RETENTION, PROVIDERS, SETTING_RANGES } from '../../../src/core/settings';
import { repoRoot } from '../../helpers';
import { SELECTION_RULES } from '../../../src/core/optimize/select';
import { BASELINE_NAMES, COMPENSATED_BASELINES, parseBaselines } from '../../../src/core/optimize/baselineNames';
import { COMPENSATIONS } from '../../../src/core/compensate/mode';
import { DEFAULT_UNIT_SCORE, UNIT_SCORES } from '../../../src/core/compensate/scores';
import { parseEmbeddingRank } from '../../../src/core/compensate/embeddingRank';

test("package.json's setting defaults and choices are the core's", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  const props = pkg.contributes.configuration.properties;
  assert.equal(props['probescale.targetRetention'].default, DEFAULT_TARGET_RETENTION);
  assert.equal(props['probescale.candidates'].default, DEFAULT_CANDIDATES);
  assert.equal(props['probescale.maxLength'].default, DEFAULT_SETTINGS.maxLength);
  assert.equal(props['probescale.batchSize'].default, DEFAULT_SETTINGS.batchSize);
  assert.equal(props['probescale.pooling'].default, DEFAULT_SETTINGS.pooling);
  assert.equal(props['probescale.provider'].default, DEFAULT_SETTINGS.provider);
  assert.deepEqual(props['probescale.provider'].enum, [...PROVIDERS]);
  assert.deepEqual(props['probescale.selectionRule'].enum, ['auto', ...SELECTION_RULES]);
  assert.equal(props['probescale.selectionRule'].enumDescriptions.length, SELECTION_RULES.length + 1);
  assert.equal(parseBaselines(props['probescale.baselines'].default), 'all');
  for (const name of BASELINE_NAMES.filter((n) => !COMPENSATED_BASELINES.includes(n))) assert.ok(props['probescale.baselines'].markdownDescription.includes(`\`${name}\``), `the setting names ${name}`);
  assert.deepEqual(props['probescale.compensate'].enum, COMPENSATIONS);
  assert.equal(props['probescale.compensate'].default, 'none');
  assert.equal(props['probescale.compensate'].enumDescriptions.length, COMPENSATIONS.length);
  assert.deepEqual(props['probescale.widthScore'].enum, [...UNIT_SCORES]);
  assert.equal(props['probescale.widthScore'].default, DEFAULT_UNIT_SCORE);
  assert.equal(props['probescale.widthScore'].enumDescriptions.length, UNIT_SCORES.length);
  for (const [key, r] of Object.entries(SETTING_RANGES)) assert.deepEqual([props[`probescale.${key}`].minimum, props[`probescale.${key}`].maximum], [r.min, r.max], key);
  assert.equal(props['probescale.embeddingRank'].default, '', 'off by default');
  for (const example of ['`32`', '`16,32,64`', '`auto`']) {
    assert.ok(props['probescale.embeddingRank'].markdownDescription.includes(example), example);
    parseEmbeddingRank(example.slice(1, -1));
  }
});
