#!/usr/bin/env bash
# Compensated candidates of roberta-mini measured for RESULTS §5: each line of SPECS builds one
# compensated folder (fit on the task's training texts only) and measures it with
# `probescale eval` (probe C chosen by CV on the training rows; every test row).
#   SPECS="bshift 2,3 --bridges" LIMIT=2000 scripts/results-compensate.sh
# Appends "task kept options params acc" to $OUT/compensate.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/compensate}
LIMIT=${LIMIT:-2000}
MODEL=models/probescale-roberta-mini
mkdir -p "$OUT"
while IFS= read -r spec; do
  [ -z "$spec" ] && continue
  read -r task kept opts <<< "$spec"
  name="$task-${kept//,/_}$(echo "${opts:-}" | tr -d ' -')"
  node out/scripts/compensate-run.js "$MODEL" "data/tasks/$task" "$kept" "$OUT/$name" --limit-train "$LIMIT" ${opts:-} > "$OUT/$name.fit.json"
  node out/src/cli/main.js eval "$OUT/$name" --task "$task=data/tasks/$task" --limit-train "$LIMIT" --no-cache --out "$OUT/$name.eval.json" -q > /dev/null
  node -e '
    const [r, f, spec] = [require(process.argv[1]), require(process.argv[2]), process.argv[3]];
    const t = Object.values(r.tasks)[0];
    console.log([spec, r.model.params.total, (100 * r.model.params.total / 11608320).toFixed(1) + "%", (100 * t.final.accuracy).toFixed(1), f.seconds + "s"].join("\t"));
  ' "$PWD/$OUT/$name.eval.json" "$PWD/$OUT/$name.fit.json" "$spec" | tee -a "$OUT/compensate.tsv"
  rm -rf "${OUT:?}/$name"
done <<< "$SPECS"
