/**
 * Parameters as VS Code users meet them: a setting (`setting probescale.maxLength`) or a field
 * of a picker or form. Core errors name parameters host-neutrally (core/errors.ts); the
 * extension shows them in these words. No `vscode` import, so unit tests read it.
 */
import { PARAM_WORDS, Param } from '../core/errors';
import type { SECTION, SettingKeys } from './settingKeys';

type SettingKey = (typeof SettingKeys)[keyof typeof SettingKeys];

/** Parameters read from the setting of the same name; the rest but `select` come from pickers and forms. */
const SAME_NAME = ['provider', 'maxLength', 'batchSize', 'pooling', 'prompt', 'promptName', 'limitTrain', 'limitTest', 'targetRetention', 'candidates', 'vocabTrim', 'vocabUnseen', 'baselines', 'compensate', 'widthScore', 'embeddingRank', 'cacheDir', 'noCache'] as const satisfies readonly (Param & SettingKey)[];
const SETTING_OF: Partial<Record<Param, SettingKey>> = { ...Object.fromEntries(SAME_NAME.map((k) => [k, k])), select: 'selectionRule', columns: 'taskColumns', testSplit: 'taskTestSplits', from: 'graphSource' };

/** Form and picker wording where it differs from the plain words. */
const FORM_WORDS: Partial<Record<Param, string>> = { force: 'Replace when asked' };

// The type says it is settingKeys.ts's SECTION; the value is written here so no vscode loads.
const section: typeof SECTION = 'probescale';

export function extensionWords(p: Param): string {
  const key = SETTING_OF[p];
  return key ? `setting ${section}.${key}` : (FORM_WORDS[p] ?? PARAM_WORDS[p]);
}
