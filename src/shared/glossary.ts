/**
 * The terms a report uses that a reader cannot guess, defined once for the side view, the report
 * editor, the model card and the CLI.
 */
export const GLOSSARY = {
  selectivity: {
    term: 'sel (selectivity)',
    text: 'Test accuracy minus the accuracy of the same probe trained on shuffled training labels (a control task), in points. High selectivity means the layer encodes the task; low selectivity with high accuracy means a probe this strong could have fitted anything.',
  },
  chanceNormalised: {
    term: 'chance-normalised retention',
    text: 'The share of the above-chance accuracy kept: (pruned − majority) ÷ (unpruned final layer − majority), where majority is always answering the most frequent training label. 100 % keeps everything the full model adds over guessing; 0 % is no better than guessing.',
  },
  splitHalf: {
    term: 'split-half simulation',
    text: 'How the selection rule is chosen without the test split: the training rows are split in two at random, each rule (max-accuracy, one-se, max-loglik, and heuristic: the published heuristic best in cross-validation) picks a subset on one half and is scored on the other, 200 times; the rule with the best held-out accuracy picks the model.',
  },
  noIdeal: {
    term: 'no FLOP ideal',
    text: 'The pruned model keeps no block: it only looks up embeddings, whose time is memory traffic and per-call overhead, not arithmetic, so no ratio of floating-point operations bounds its speed-up (earlier reports printed one in the thousands). The measured speed-ups stand on their own.',
  },
} as const;

export type GlossaryKey = keyof typeof GLOSSARY;

/** `term: text`, for tooltips and plain-text help. */
export function explain(key: GlossaryKey): string {
  return `${GLOSSARY[key].term}: ${GLOSSARY[key].text}`;
}
