#!/usr/bin/env bash
# Per-task optimisation for docs/RESULTS.md: each task alone at 35/50/70 % of roberta-mini's
# parameters (same limits and cache as scripts/results.sh, which should run first so shared
# candidates come from the feature cache).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results}
CLI=${PROBESCALE_CLI:-bin/probescale.js}
for t in spam bshift sentlen austen fortune_topic; do
  for b in 0.35 0.5 0.7; do
    node "$CLI" optimize models/probescale-roberta-mini --task "$t=data/tasks/$t" --budget "$b" \
      --limit-train 1000 --limit-test 500 --candidates 4 --cache-dir "$OUT/cache" --out "$OUT/$t-$b" --force -q
  done
done
node scripts/resultsTable.mjs --per-task "$OUT"
