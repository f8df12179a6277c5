import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { committedTasksOf } from '../../../../src/core/commit/committed';

test('committed tasks are read from probescale.tasks; anything malformed means "not a committed folder"', () => {
  const tasks = [{ name: 'spam', classifier: 'classifiers/spam', labels: ['ham', 'spam'], weight: 1 }];
  assert.deepEqual(committedTasksOf({ probescale: { tasks } }), [{ name: 'spam', classifier: 'classifiers/spam', labels: ['ham', 'spam'] }]);
  assert.deepEqual(committedTasksOf({ probescale: { tasks: [{ name: 'x', classifier: 'c' }] } }), [{ name: 'x', classifier: 'c', labels: [] }]);
  for (const config of [{}, { probescale: {} }, { probescale: { tasks: [] } }, { probescale: { tasks: [{ name: 'x' }] } }, { probescale: { tasks: [null] } }, { probescale: 'x' }]) {
    assert.equal(committedTasksOf(config), undefined, JSON.stringify(config));
  }
});
