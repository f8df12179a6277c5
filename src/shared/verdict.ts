/**
 * The one-line verdict of an optimize report, worded from the paired test differences: a gap
 * within one paired standard error is a tie and is said as one; a task whose pruned accuracy
 * keeps under half of the unpruned model's above-chance accuracy is called out as near chance.
 * The side view, the report editor, the CLI and the model card all print this text.
 */
import { nameList, NAMES_LISTED, SENTENCE_CHARS, shortName } from './bounded';
import type { SelectionData } from './protocol';

export interface VerdictInput {
  /** ProbeScale minus each baseline on the same test rows (fractions), with the paired SE. */
  baselines: { name: string; gap?: { diff: number; se: number } }[];
  /** Per task: pruned test accuracy, majority-class accuracy, unpruned final-layer accuracy. */
  perTask: Record<string, { test: number; majority: number; final: number }>;
  /** Baselines asked for that do not fit the budget (not measured), with why. */
  unfit?: { name: string; reason: string }[];
}

export interface Verdict {
  /** No baseline is ahead by more than one SE, no task is near chance, and the unpruned model is above chance on every task. */
  ok: boolean;
  headline: string;
  /** Counts and the rule, one sentence. */
  detail: string;
}

/**
 * Under a probe table: the advice for a task where no layer's test accuracy is above the majority
 * class (the probes learn nothing from it as given); null where one is. The CLI and the side view
 * print it alike.
 */
export function unlearnedAdvice(name: string, majority: number, layers: readonly { accuracy: number }[]): string | null {
  // A report without a majority (hand-made, NaN) says nothing about it.
  if (!Number.isFinite(majority) || layers.length === 0 || layers.some((l) => l.accuracy > majority)) return null;
  return `no layer is above the majority class (${pts(majority)} %) on the test rows: the probes learn nothing from ${shortName(name)} as given. Check its labels, or give it more training rows.`;
}

/** Below this share of the unpruned model's above-chance accuracy a task is "near chance". */
export const NEAR_CHANCE_SHARE = 0.5;

const pts = (x: number) => (100 * x).toFixed(1);

export function verdict(v: VerdictInput): Verdict {
  const paired = v.baselines.filter((b) => b.gap);
  const ahead = paired.filter((b) => b.gap!.diff > b.gap!.se).length;
  const behind = paired.filter((b) => b.gap!.diff < -b.gap!.se);
  const tied = paired.length - ahead - behind.length;
  const n = paired.length;
  let headline: string;
  const unfit = v.unfit ?? [];
  if (v.baselines.length === 0 && unfit.length) headline = `No baseline fits the budget (${nameList(unfit.map((u) => u.name))}: not measured), so it cannot say how the pick compares with the published heuristics`;
  else if (v.baselines.length === 0) headline = 'No baselines were measured for this report (baselines: none), so it cannot say how the pick compares with the published heuristics';
  else if (n === 0) headline = 'No paired comparison with the baselines in this report';
  else if (behind.length > 0) headline = `Behind ${behind.length} of ${n} baselines (${nameList(behind.map((b) => b.name))}) by more than one paired SE; tied with ${tied}, ahead of ${ahead}`;
  else if (ahead === 0) headline = `Tied with all ${n} baselines: every gap is within one paired SE`;
  else headline = `Ahead of ${ahead} of ${n} baselines by more than one paired SE, tied with ${tied}, behind none`;
  const near = Object.entries(v.perTask).filter(([, t]) => t.final > t.majority && (t.test - t.majority) / (t.final - t.majority) < NEAR_CHANCE_SHARE);
  // Each task named up to NAMES_LISTED; a hand-made report's hundreds are counted.
  for (const [name, t] of near.slice(0, NAMES_LISTED)) {
    const kept = (t.test - t.majority) / (t.final - t.majority);
    headline += kept <= 0
      ? `; ${shortName(name)} falls to chance: ${pts(t.test)} %, at or below the majority class's ${pts(t.majority)} % (unpruned ${pts(t.final)} %)`
      : `; ${shortName(name)} falls near chance: ${pts(t.test)} % vs majority ${pts(t.majority)} % (unpruned ${pts(t.final)} %, ${(100 * kept).toFixed(0)} % of its above-chance accuracy kept)`;
  }
  if (near.length > NAMES_LISTED) headline += `; ${near.length - NAMES_LISTED} more tasks fall near chance`;
  // A task the unpruned model does not learn has nothing to keep: every comparison on it is a tie at chance.
  const unlearned = Object.entries(v.perTask).filter(([, t]) => t.final <= t.majority);
  if (unlearned.length) {
    const [name, t] = unlearned[0];
    const more = unlearned.length > 1 ? ` (and ${unlearned.length - 1} more task${unlearned.length > 2 ? 's' : ''})` : '';
    headline += `; the unpruned model is not above chance on ${shortName(name)}${more}: ${pts(t.final)} % vs the majority class's ${pts(t.majority)} %, so there is no accuracy there to keep (check its labels, or give it more training rows)`;
  }
  if (v.baselines.length && unfit.length) headline += `; ${unfit.length} more baseline${unfit.length > 1 ? 's do' : ' does'} not fit the budget`;
  const nearChance = `a task is near chance when it keeps under ${100 * NEAR_CHANCE_SHARE} % of the unpruned model's above-chance accuracy.`;
  const measured = v.baselines.length === 0 ? `A${nearChance.slice(1)}` : `Test accuracy, task-weighted, on the same rows: ${ahead} ahead, ${tied} tied, ${behind.length} behind (tied = the gap is within one paired standard error); ${nearChance}`;
  const detail = unfit.length ? `${measured} ${unfitText(unfit)}.` : measured;
  return { ok: n > 0 && behind.length === 0 && near.length === 0 && unlearned.length === 0, headline: `${headline}.`, detail };
}

/**
 * The baselines that do not fit the budget, grouped by why: "drop-top, gromov do not fit the budget:
 * it keeps the whole word table, …" (what every surface says instead of a row of numbers).
 */
export function unfitText(unfit: readonly { name: string; reason: string }[]): string {
  const byReason = new Map<string, string[]>();
  for (const u of unfit) byReason.set(u.reason, [...(byReason.get(u.reason) ?? []), u.name]);
  const groups = [...byReason];
  const text = groups.slice(0, NAMES_LISTED).map(([reason, names]) => `${nameList(names)} ${names.length > 1 ? 'do' : 'does'} not fit the budget: ${shortName(names.length > 1 ? reason.replace(/^it keeps /, 'each keeps ') : reason, SENTENCE_CHARS)}`);
  return [...text, ...(groups.length > NAMES_LISTED ? [`${groups.length - NAMES_LISTED} more for other reasons`] : [])].join('; ');
}

/** The verdict of a selection as the webview receives it (src/shared/protocol.ts). */
export function verdictOfSelection(sel: SelectionData): Verdict {
  return verdict({
    baselines: sel.baselines.map((b) => ({ name: b.name, ...(b.gap ? { gap: b.gap } : {}) })),
    ...(sel.unfitBaselines ? { unfit: sel.unfitBaselines } : {}),
    perTask: Object.fromEntries(Object.entries(sel.perTask).map(([k, t]) => [k, { test: t.test.accuracy, majority: t.majority, final: t.reference.final.accuracy }])),
  });
}

/** The order every surface lists baselines in: highest task-weighted test accuracy first, then fewer parameters. */
export function inReportOrder<T extends { testObjective: number; params: number }>(baselines: readonly T[]): T[] {
  return [...baselines].sort((a, b) => b.testObjective - a.testObjective || a.params - b.params);
}
