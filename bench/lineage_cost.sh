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

die() {
  echo "lineage_cost.sh: $*" >&2
  exit 2
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SLUICE_BENCH_BUILD:-$root/build-bench}
work=${SLUICE_BENCH_DIR:-/tmp/sluice-bench}
repeat=${SLUICE_BENCH_REPEAT:-3}
n=${1:-1000000}
[[ $n =~ ^[1-9][0-9]*$ ]] || die "N must be a positive whole number, got '$n'"
[[ $repeat =~ ^[1-9][0-9]*$ ]] || die "SLUICE_BENCH_REPEAT must be a positive whole number"
/usr/bin/time --version >/dev/null 2>&1 || die "GNU time (/usr/bin/time) is missing (Debian: apt-get install time)"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSLUICE_BUILD_BENCH=ON >/dev/null \
  || die "configuring $build failed (bench/README.md lists what it needs)"
cmake --build "$build" -j2 >/dev/null || die "building $build failed"
sluice=$build/apps/sluice/sluice
gen=$build/bench/bench_gen
[ -x "$sluice" ] && [ -x "$gen" ] || die "the build did not produce sluice and bench_gen"

mkdir -p "$work"
input=$work/input-$n.jsonl
if [ ! -s "$input" ] || [ "$gen" -nt "$input" ]; then
  echo "generating $n records into $input" >&2
  "$gen" "$n" "$input.tmp" || die "bench_gen failed"
  mv "$input.tmp" "$input"
fi
cat "$input" >/dev/null

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
ref=$(LC_ALL=C sort -S 512M "$work/out-lineage-off.jsonl" | sha256sum)
for v in "${variants[@]}"; do
  if [ "$(LC_ALL=C sort -S 512M "$work/out-lineage-$v.jsonl" | sha256sum)" != "$ref" ]; then
    echo "lineage_cost.sh: variant $v wrote different records than off" >&2
    mismatch=1
  fi
done

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
col() { awk -v v="$1" -v c="$2" '$1 == v { print $c }' "$results" | median; }
cpu() { awk -v v="$1" '$1 == v { print $3 + $4 }' "$results" | median; }
paired() {
  awk -v v="$1" '$1 == "off" { o[$6] = $2 } $1 == v { w[$6] = $2 }
    END { for (r in w) if (o[r] > 0) print w[r] / o[r] }' "$results" | median
}

echo
echo "## lineage cost, N=$n, $repeat runs each, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| lineage | wall s (median) | CPU s (median) | peak RSS MB | wall vs off (paired median) | throughput vs off | store bytes per record |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for v in "${variants[@]}"; do
  rss=$(awk -v v="$v" '$1 == v && $5 > m { m = $5 } END { printf "%.1f", m / 1024 }' "$results")
  ratio=$(paired "$v")
  bytes=$(col "$v" 7)
  printf '| %s | %s | %s | %s | %.3f | %.0f%% | %.1f |\n' "$v" "$(col "$v" 2)" "$(cpu "$v")" "$rss" \
    "$ratio" "$(awk -v r="$ratio" 'BEGIN { print 100 / r }')" "$(awk -v b="$bytes" -v n="$n" 'BEGIN { print b / n }')"
done
exit $mismatch
