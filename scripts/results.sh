#!/usr/bin/env bash
# Reproduces docs/RESULTS.md: ProbeScale vs every baseline on roberta-mini at 35/50/70 % of the
# parameters, five tasks, then renders the table. About an hour on 2 CPU cores; the feature
# cache (--cache-dir) makes reruns and shared candidates cheap.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results}
mkdir -p "$OUT"
TASKS=(--task spam=data/tasks/spam --task bshift=data/tasks/bshift --task sentlen=data/tasks/sentlen --task austen=data/tasks/austen --task fortune_topic=data/tasks/fortune_topic)
for b in 0.35 0.5 0.7; do
  node "${PROBESCALE_CLI:-bin/probescale.js}" optimize models/probescale-roberta-mini "${TASKS[@]}" --budget "$b" \
    --limit-train 1000 --limit-test 500 --candidates 4 --cache-dir "$OUT/cache" --out "$OUT/roberta-mini-$b" --force
done
node scripts/resultsTable.mjs "$OUT"/roberta-mini-0.35 "$OUT"/roberta-mini-0.5 "$OUT"/roberta-mini-0.7
