#!/usr/bin/env bash
# bench/metrics_cost.sh [N]: what keeping and reading metrics costs the
# benchmark pipeline (bench/pipeline.json; see bench/README.md).
#
# Runs `sluice run bench/pipeline.json` on the same warm input of N records
# (default 1000000) in these variants, interleaved, SLUICE_BENCH_REPEAT times
# (default 5), and prints a Markdown table with the median wall and CPU time of
# each and its paired ratio to `off`:
#
#   off        --console-addr off: no collector, nobody samples the actors
#              (each replica still keeps its counters and histograms)
#   console    the default: a collector samples every actor each second and
#              serves the console port
#   scraped    metrics.interval_ms=100 and the HTTP endpoint, scraped
#              (GET /metrics) every 100 ms during the run
#   baseline   only with SLUICE_BENCH_BASELINE=<git ref>: sluice built from
#              that commit (e.g. the one before metrics existed) in a
#              worktree under the scratch directory: the cost of the
#              data-path metrics themselves
#
# Environment: SLUICE_BENCH_BUILD, SLUICE_BENCH_DIR, SLUICE_BENCH_REPEAT as
# for run.sh; SLUICE_BENCH_BASELINE as above. Exit status 0 when every
# variant wrote the same records, 1 when outputs differ, 2 when it could
# not run.

set -euo pipefail

tool=metrics_cost.sh
default_repeat=5
baseline_ref=${SLUICE_BENCH_BASELINE:-}
source "$(dirname "${BASH_SOURCE[0]}")/variants_lib.sh"
variants_setup "${1:-}"

variants=(off console scraped)
baseline=""
if [ -n "$baseline_ref" ]; then
  src=$work/baseline-src
  commit=$(git -C "$root" rev-parse --verify "$baseline_ref^{commit}") || die "no commit '$baseline_ref'"
  if [ ! -d "$src" ] || [ "$(git -C "$src" rev-parse HEAD 2>/dev/null)" != "$commit" ]; then
    git -C "$root" worktree remove --force "$src" 2>/dev/null || rm -rf "$src"
    git -C "$root" worktree prune
    git -C "$root" worktree add --detach "$src" "$commit" >/dev/null || die "git worktree add failed"
  fi
  cmake -S "$src" -B "$work/baseline-build" -DCMAKE_BUILD_TYPE=Release >/dev/null \
    || die "configuring the baseline failed"
  cmake --build "$work/baseline-build" -j2 --target sluice >/dev/null || die "building the baseline failed"
  baseline=$work/baseline-build/apps/sluice/sluice
  variants+=(baseline)
fi

results=$work/metrics-cost.txt
: >"$results"
port=19464

# scrape_loop PORT: GET /metrics every 100 ms until killed (bash's /dev/tcp,
# so no HTTP client is needed).
scrape_loop() {
  while sleep 0.1; do
    { exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3 \
        && cat <&3 >/dev/null; exec 3<&- 3>&-; } 2>/dev/null || true
  done
}

run_variant() {
  local v=$1 r=$2 out=$work/out-metrics-$1.jsonl timing=$work/time.metrics.$1 log=$work/log.metrics.$1
  local cmd=("$sluice" run "$root/bench/pipeline.json" --no-progress)
  case $v in
    off) cmd+=(--console-addr off) ;;
    console) cmd+=(--console-addr 127.0.0.1:0) ;;
    scraped) cmd+=(--console-addr 127.0.0.1:0 --metrics-addr "127.0.0.1:$port" --set metrics.interval_ms=100) ;;
    baseline) cmd=("$baseline" run "$root/bench/pipeline.json" --no-progress) ;;
  esac
  rm -f "$out"
  local scraper=""
  if [ "$v" = scraped ]; then
    scrape_loop "$port" &
    scraper=$!
  fi
  if ! SLUICE_BENCH_INPUT=$input SLUICE_BENCH_OUTPUT=$out \
    /usr/bin/time -f '%e %U %S %M' -o "$timing" "${cmd[@]}" >"$log" 2>&1; then
    [ -n "$scraper" ] && kill "$scraper" 2>/dev/null
    tail -n 20 "$log" >&2
    die "variant $v failed"
  fi
  if [ -n "$scraper" ]; then
    kill "$scraper" 2>/dev/null || true
    wait "$scraper" 2>/dev/null || true
  fi
  local wall user sys kb
  read -r wall user sys kb <"$timing"
  echo "$v $wall $user $sys $kb $r" >>"$results"
}

for ((r = 1; r <= repeat; ++r)); do
  echo "run $r/$repeat: ${variants[*]}" >&2
  for v in "${variants[@]}"; do
    run_variant "$v" "$r"
  done
done

mismatch=0
others=()
for v in "${variants[@]}"; do
  others+=("$work/out-metrics-$v.jsonl")
done
same_records "$work/out-metrics-off.jsonl" "${others[@]}" || mismatch=1

echo
echo "## metrics cost, N=$n, $repeat runs each, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| variant | wall s (median) | CPU s (median) | peak RSS MB | wall vs off (paired median) |"
echo "| --- | ---: | ---: | ---: | ---: |"
for v in "${variants[@]}"; do
  printf '| %s | %s | %s | %s | %.3f |\n' "$v" "$(col "$v" 2)" "$(cpu "$v")" "$(peak_mb "$v")" \
    "$(paired "$v" off)"
done
[ -n "$baseline_ref" ] && echo && echo "baseline: $baseline_ref ($(git -C "$root" rev-parse --short "$baseline_ref"))"
exit $mismatch
