#!/usr/bin/env bash
# docs/RESULTS.md §2c: each task alone with --vocab-trim at 20 % and 10 % of roberta-mini's
# parameters (5× and 10× fewer), same limits and feature cache as scripts/results.sh. A budget
# below the smallest possible model (trimmed embeddings alone) is reported and skipped. Several
# copies may run at once: each (task, budget) is claimed by a marker file; ORDER=reverse walks
# from the end.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results-vocab}
CACHE=${CACHE:-results/cache}
CLI=${PROBESCALE_CLI:-bin/probescale.js}
TASKS=(spam bshift sentlen austen fortune_topic)
[ "${ORDER:-}" = reverse ] && TASKS=(fortune_topic austen sentlen bshift spam)
mkdir -p "$OUT"
for t in "${TASKS[@]}"; do
  for b in 0.2 0.1; do
    mkdir "$OUT/.claim-$t-$b" 2>/dev/null || continue
    node "$CLI" optimize models/probescale-roberta-mini --task "$t=data/tasks/$t" --budget "$b" --vocab-trim \
      --limit-train 1000 --limit-test 500 --candidates 4 --cache-dir "$CACHE" --out "$OUT/$t-$b" --force -q \
      || echo "$t at $b: no model written (see the message above; a budget below the smallest model says so)" >&2
  done
done
node scripts/resultsTable.mjs --per-task "$OUT" --budgets 0.2,0.1
