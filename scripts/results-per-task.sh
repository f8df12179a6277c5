#!/usr/bin/env bash
# Per-task optimisation for docs/RESULTS.md: each task alone at 35/50/70 % of roberta-mini's
# parameters (same limits and cache as scripts/results.sh, which should run first so shared
# candidates come from the feature cache). Several copies may run at once (probe fitting uses
# one core): each (task, budget) is claimed by a marker file; ORDER=reverse walks from the end.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results}
CLI=${PROBESCALE_CLI:-bin/probescale.js}
CACHE=${CACHE:-$OUT/cache}
# LIMITS="--limit-train 2000" (no --limit-test: every test row) is the replication in RESULTS §2d.
read -r -a LIMITS <<< "${LIMITS:---limit-train 1000 --limit-test 500}"
TASKS=(spam bshift sentlen austen fortune_topic)
[ "${ORDER:-}" = reverse ] && TASKS=(fortune_topic austen sentlen bshift spam)
mkdir -p "$OUT"
for t in "${TASKS[@]}"; do
  for b in 0.35 0.5 0.7; do
    mkdir "$OUT/.claim-$t-$b" 2>/dev/null || continue
    node "$CLI" optimize models/probescale-roberta-mini --task "$t=data/tasks/$t" --budget "$b" \
      "${LIMITS[@]}" --candidates 4 --cache-dir "$CACHE" --out "$OUT/$t-$b" --force -q
  done
done
node scripts/resultsTable.mjs --per-task "$OUT"
