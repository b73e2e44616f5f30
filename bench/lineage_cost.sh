#!/usr/bin/env bash
# bench/lineage_cost.sh [N]: what per-record lineage costs the benchmark
# pipeline (bench/pipeline.json; see bench/README.md).
#
# Runs `sluice run bench/pipeline.json` on the same warm input of N records
# (default 1000000) with lineage off, sampled at 1% and full, interleaved,
# SLUICE_BENCH_REPEAT times (default 3), and prints a Markdown table: median
# wall and CPU time, the paired ratio of wall time to `off`, and the store's
# size per record read (the store is written to the scratch directory, a new
# file per run). Targets (issue 5): full costs at most 25% of throughput,
# sampled 1% at most 3%.
#
# Environment: SLUICE_BENCH_BUILD, SLUICE_BENCH_DIR, SLUICE_BENCH_REPEAT as
# for run.sh. Exit status 0 when every variant wrote the same records, 1 when
# outputs differ, 2 when it could not run.

set -euo pipefail

tool=lineage_cost.sh
default_repeat=3
source "$(dirname "${BASH_SOURCE[0]}")/variants_lib.sh"
variants_setup "${1:-}"

variants=(off sampled full)
results=$work/lineage-cost.txt
: >"$results"

run_variant() {
  local v=$1 r=$2 out=$work/out-lineage-$1.jsonl timing=$work/time.lineage.$1 log=$work/log.lineage.$1
  local store=$work/lineage-$1.db
  rm -f "$out" "$store" "$store-wal" "$store-shm"
  local cmd=("$sluice" run "$root/bench/pipeline.json" --no-progress --console-addr off)
  case $v in
    sampled) cmd+=(--set "lineage={\"mode\": \"sampled\", \"sample_rate\": 0.01, \"path\": \"$store\"}") ;;
    full) cmd+=(--set "lineage={\"mode\": \"full\", \"path\": \"$store\"}") ;;
  esac
  if ! SLUICE_BENCH_INPUT=$input SLUICE_BENCH_OUTPUT=$out \
    /usr/bin/time -f '%e %U %S %M' -o "$timing" "${cmd[@]}" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "variant $v failed"
  fi
  local wall user sys kb bytes=0
  read -r wall user sys kb <"$timing"
  [ -f "$store" ] && bytes=$(du -b -c "$store"* | tail -n 1 | cut -f1)
  echo "$v $wall $user $sys $kb $r $bytes" >>"$results"
}

for ((r = 1; r <= repeat; ++r)); do
  echo "run $r/$repeat: ${variants[*]}" >&2
  for v in "${variants[@]}"; do
    run_variant "$v" "$r"
  done
done

mismatch=0
same_records "$work/out-lineage-off.jsonl" "$work"/out-lineage-{sampled,full}.jsonl || mismatch=1

echo
echo "## lineage cost, N=$n, $repeat runs each, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| lineage | wall s (median) | CPU s (median) | peak RSS MB | wall vs off (paired median) | throughput vs off | store bytes per record |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for v in "${variants[@]}"; do
  rss=$(peak_mb "$v")
  ratio=$(paired "$v" off)
  bytes=$(col "$v" 7)
  printf '| %s | %s | %s | %s | %.3f | %.0f%% | %.1f |\n' "$v" "$(col "$v" 2)" "$(cpu "$v")" "$rss" \
    "$ratio" "$(awk -v r="$ratio" 'BEGIN { print 100 / r }')" "$(awk -v b="$bytes" -v n="$n" 'BEGIN { print b / n }')"
done
exit $mismatch
