#!/usr/bin/env bash
# bench/run.sh [N...]: sluice against two hand-written baselines on one job.
#
# For each N (default: 1000000 5000000) it generates N records once, runs
# bench_plain_loop, bench_tbb_flow and `sluice run bench/pipeline.json` on the
# same warm input, checks that the three outputs hold the same records, and
# prints one Markdown table plus the ratios and targets. See bench/README.md.
#
# Environment:
#   SLUICE_BENCH_BUILD   build tree (default: <repo>/build-bench)
#   SLUICE_BENCH_DIR     scratch directory for inputs and outputs
#                        (default: /tmp/sluice-bench)
#   SLUICE_BENCH_REPEAT  runs per program and N; the run with the median wall
#                        time is reported (default: 1)
#
# Exit status: 0 when the outputs agree (whether or not the targets are met:
# a benchmark reports, it does not assert times), 1 when any outputs differ,
# 2 when the benchmark could not run (build, missing tool, a program failed).

set -euo pipefail

die() {
  echo "run.sh: $*" >&2
  exit 2
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SLUICE_BENCH_BUILD:-$root/build-bench}
work=${SLUICE_BENCH_DIR:-/tmp/sluice-bench}
repeat=${SLUICE_BENCH_REPEAT:-1}

sizes=("$@")
if [ ${#sizes[@]} -eq 0 ]; then
  sizes=(1000000 5000000)
fi
for n in "${sizes[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "N must be a positive whole number, got '$n'"
done
[[ $repeat =~ ^[1-9][0-9]*$ ]] || die "SLUICE_BENCH_REPEAT must be a positive whole number, got '$repeat'"

# -- tools ----------------------------------------------------------------------

if ! /usr/bin/time --version >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "run.sh: GNU time is missing; installing the Debian package 'time'" >&2
    apt-get install -y time >/dev/null || die "apt-get install -y time failed"
  else
    die "GNU time (/usr/bin/time) is missing; install it (Debian: apt-get install time)"
  fi
fi

# The TBB baseline needs oneTBB's headers and CMake package (Debian libtbb-dev);
# everything else the benchmark builds with is what ./build.sh installs.
if [ ! -f /usr/lib/x86_64-linux-gnu/cmake/TBB/TBBConfig.cmake ] && ! dpkg -s libtbb-dev >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "run.sh: oneTBB is missing; installing the Debian package 'libtbb-dev'" >&2
    apt-get install -y libtbb-dev >/dev/null || die "apt-get install -y libtbb-dev failed"
  else
    die "oneTBB is missing; install it (Debian: apt-get install libtbb-dev)"
  fi
fi

# -- build ------------------------------------------------------------------------

if [ ! -f "$build/CMakeCache.txt" ] || ! grep -q '^SLUICE_BUILD_BENCH:BOOL=ON' "$build/CMakeCache.txt"; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSLUICE_BUILD_BENCH=ON \
    || die "configuring $build failed"
fi
cmake --build "$build" -j2 || die "building $build failed"
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
if [ "$build_type" != Release ]; then
  echo "run.sh: warning: $build is a '$build_type' build; numbers are meant for Release" >&2
fi

gen=$build/bench/bench_gen
plain=$build/bench/bench_plain_loop
tbb=$build/bench/bench_tbb_flow
sluice=$build/apps/sluice/sluice
for p in "$gen" "$plain" "$tbb"; do
  [ -x "$p" ] || die "$p is missing after the build"
done
[ -x "$sluice" ] || die "the sluice binary is missing at $sluice (the build did not produce apps/sluice/sluice)"

mkdir -p "$work"
results=$work/results.txt
: >"$results"

# -- runs -------------------------------------------------------------------------

# busy_jiffies: CPU time the whole machine has spent busy since boot (user,
# nice, system, irq, softirq, and steal: time the hypervisor gave elsewhere).
busy_jiffies() {
  local _cpu user nice system _idle _iowait irq softirq steal _rest
  read -r _cpu user nice system _idle _iowait irq softirq steal _rest </proc/stat
  echo $((user + nice + system + irq + softirq + steal))
}
hz=$(getconf CLK_TCK)

# run_one NAME N REP INPUT OUTPUT COMMAND...: runs COMMAND under GNU time and
# appends "NAME N wall user sys peak_kb other_cpu rep" to the results, where
# other_cpu is the CPU time the rest of the machine used meanwhile: on two
# cores, anything beyond a few percent of the wall time means the run shared
# the machine and its numbers are low.
run_one() {
  local name=$1 n=$2 r=$3 input=$4 output=$5
  shift 5
  local timing=$work/time.$name.$n log=$work/log.$name.$n
  rm -f "$output"
  local busy_before busy_after
  busy_before=$(busy_jiffies)
  if ! SLUICE_BENCH_INPUT=$input SLUICE_BENCH_OUTPUT=$output \
    /usr/bin/time -f '%e %U %S %M' -o "$timing" "$@" >"$log" 2>&1; then
    echo "run.sh: $name failed on N=$n; the end of its output ($log):" >&2
    tail -n 20 "$log" >&2
    exit 2
  fi
  busy_after=$(busy_jiffies)
  [ -f "$output" ] || die "$name exited 0 on N=$n but wrote no $output"
  local wall user sys kb other
  read -r wall user sys kb <"$timing"
  other=$(awk -v d=$((busy_after - busy_before)) -v hz="$hz" -v u="$user" -v s="$sys" \
    'BEGIN { o = d / hz - u - s; printf "%.2f", (o > 0 ? o : 0) }')
  echo "$name $n $wall $user $sys $kb $other $r" >>"$results"
}

# sorted_digest FILE: the SHA-256 of FILE's lines in byte order.
sorted_digest() {
  LC_ALL=C sort -S 512M "$1" | sha256sum | cut -d' ' -f1
}

programs=(plain_loop tbb_flow sluice)
mismatch=0
declare -A out_count

for n in "${sizes[@]}"; do
  input=$work/input-$n.jsonl
  if [ ! -s "$input" ] || [ "$gen" -nt "$input" ]; then
    echo "generating $n records into $input" >&2
    "$gen" "$n" "$input.tmp" || die "bench_gen failed"
    mv "$input.tmp" "$input"
  fi
  cat "$input" >/dev/null # warm the page cache: every program reads from memory

  for ((r = 1; r <= repeat; ++r)); do
    echo "N=$n run $r/$repeat: plain loop, TBB flow graph, sluice" >&2
    run_one plain_loop "$n" "$r" "$input" "$work/out-plain_loop-$n.jsonl" "$plain" "$input" "$work/out-plain_loop-$n.jsonl"
    run_one tbb_flow "$n" "$r" "$input" "$work/out-tbb_flow-$n.jsonl" "$tbb" "$input" "$work/out-tbb_flow-$n.jsonl"
    run_one sluice "$n" "$r" "$input" "$work/out-sluice-$n.jsonl" "$sluice" run "$root/bench/pipeline.json"
  done

  declare -A digest=()
  for p in "${programs[@]}"; do
    digest[$p]=$(sorted_digest "$work/out-$p-$n.jsonl")
    out_count[$p.$n]=$(wc -l <"$work/out-$p-$n.jsonl")
  done
  if [ "${digest[plain_loop]}" = "${digest[tbb_flow]}" ] && [ "${digest[plain_loop]}" = "${digest[sluice]}" ]; then
    rm -f "$work"/out-*-"$n".jsonl
  else
    mismatch=1
    echo "run.sh: OUTPUTS DIFFER for N=$n (kept in $work for inspection):" >&2
    for p in "${programs[@]}"; do
      echo "  $p: ${out_count[$p.$n]} lines, sorted sha256 ${digest[$p]}" >&2
    done
  fi
done

# -- report -----------------------------------------------------------------------

# median: the middle line of stdin, sorted numerically on field $1 (the
# lower middle for an even count).
median() {
  local lines count
  lines=$(sort -k"$1,$1"g)
  count=$(printf '%s\n' "$lines" | wc -l)
  printf '%s\n' "$lines" | sed -n "$(((count + 1) / 2))p"
}

# pick NAME N: the result line of the run with the median wall time.
pick() {
  grep "^$1 $2 " "$results" | median 3
}

# paired_ratio A B N: the median over repetitions of wall(A) / wall(B), i.e.
# B's speed relative to A's. Pairing runs of the same repetition cancels
# slow drifts in the machine's speed (a VM's host load) that separate
# medians would not.
paired_ratio() {
  awk -v a="$1" -v b="$2" -v n="$3" '
    $2 == n && $1 == a { wa[$8] = $3 }
    $2 == n && $1 == b { wb[$8] = $3 }
    END { for (r in wa) if ((r in wb) && wb[r] > 0) print wa[r] / wb[r] }' "$results" | median 1
}

# max_rss NAME N: the highest peak RSS (KB) over the repetitions.
max_rss() {
  awk -v p="$1" -v n="$2" '$1 == p && $2 == n && $6 > m { m = $6 } END { print m + 0 }' "$results"
}

# median_rss NAME N: the median peak RSS (KB) over the repetitions.
median_rss() {
  awk -v p="$1" -v n="$2" '$1 == p && $2 == n { print $6 }' "$results" | median 1
}

# rss_range NAME N: "lowest-highest" peak RSS in MB over the repetitions.
rss_range() {
  awk -v p="$1" -v n="$2" '$1 == p && $2 == n { if (!c++ || $6 < lo) lo = $6; if ($6 > hi) hi = $6 }
    END { printf "%.1f-%.1f", lo / 1024, hi / 1024 }' "$results"
}

echo
echo "## sluice benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
  "$(awk '/MemTotal/ {printf "%.0f GB RAM", $2 / 1048576}' /proc/meminfo)"
allocators=""
for p in plain_loop tbb_flow sluice; do
  bin=$plain
  [ $p = tbb_flow ] && bin=$tbb
  [ $p = sluice ] && bin=$sluice
  if ldd "$bin" 2>/dev/null | grep -q jemalloc; then a=jemalloc; else a="glibc malloc"; fi
  allocators+="${allocators:+, }$p $a"
done
echo "allocators: $allocators (a mismatch skews the comparison)"
echo "method: same generated input per N, warm page cache, wall clock and CPU (user+sys) and"
echo "peak RSS from GNU time; median of $repeat run(s) per program; outputs compared sorted."
echo "other CPU s: CPU time the rest of the machine used during the run (/proc/stat); more"
echo "than a few percent of the wall time means the run was contended and its numbers are low."
echo
echo "| program | N | records/s | wall s | CPU s | peak RSS MB | records out | other CPU s |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
cores=$(nproc)
contended=()
for n in "${sizes[@]}"; do
  for p in "${programs[@]}"; do
    read -r _ _ wall user sys kb other _ <<<"$(pick "$p" "$n")"
    awk -v p="$p" -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v kb="$kb" -v o="${out_count[$p.$n]}" -v x="$other" \
      'BEGIN { printf "| %s | %d | %.0f | %.2f | %.2f | %.1f | %d | %.2f |\n", p, n, (w > 0 ? n / w : 0), w, u + s, kb / 1024, o, x }'
    # /proc/stat counts in ticks (10 ms), hence the 0.1 s floor.
    if awk -v w="$wall" -v x="$other" -v c="$cores" 'BEGIN { exit !(x > 0.05 * w * c && x > 0.1) }'; then
      contended+=("$p N=$n")
    fi
  done
done

if [ ${#contended[@]} -gt 0 ]; then
  echo
  echo "warning: other work used more than 5% of the machine during: ${contended[*]}."
  echo "Those numbers are low; rerun on a quiet machine."
fi

echo
echo "Speed ratios: records/s of sluice over the baseline's, median over the repetitions of"
echo "the ratio within each repetition. Peak RSS: the highest over the repetitions."
echo
echo "| N | sluice / plain (target >= 1.4) | sluice / TBB (target >= 0.9) | TBB / plain | sluice peak RSS MB (target <= 64) |"
echo "| ---: | ---: | ---: | ---: | ---: |"
declare -A rss_of
for n in "${sizes[@]}"; do
  rss_of[$n]=$(max_rss sluice "$n")
  awk -v n="$n" -v rp="$(paired_ratio plain_loop sluice "$n")" -v rt="$(paired_ratio tbb_flow sluice "$n")" \
    -v tp="$(paired_ratio plain_loop tbb_flow "$n")" -v kb="${rss_of[$n]}" '
    function mark(ok) { return ok ? "met" : "MISSED" }
    BEGIN {
      mb = kb / 1024
      printf "| %d | %.2fx %s | %.2fx %s | %.2fx | %.1f %s |\n", n, rp, mark(rp >= 1.4), rt, mark(rt >= 0.9), tp, mb, mark(mb <= 64)
    }'
done

if [ ${#sizes[@]} -ge 2 ]; then
  small=${sizes[0]} large=${sizes[0]}
  for n in "${sizes[@]}"; do
    if ((n < small)); then small=$n; fi
    if ((n > large)); then large=$n; fi
  done
  echo
  # A memory bound that holds shows as a flat peak, one that leaks grows
  # with N. One run's peak moves by a few MB with timing (how many batches
  # are in flight when the allocator grows), so the sizes are compared by
  # their median run, with 1 MB of slack; the ranges show the spread.
  awk -v s="$small" -v l="$large" -v ks="$(median_rss sluice "$small")" -v kl="$(median_rss sluice "$large")" \
    -v rs="$(rss_range sluice "$small")" -v rl="$(rss_range sluice "$large")" '
    BEGIN {
      printf "sluice peak RSS (median run), N=%d: %.1f MB (runs %s); N=%d: %.1f MB (runs %s); bounded (not higher for larger N, 1 MB slack): %s\n",
        s, ks / 1024, rs, l, kl / 1024, rl, (kl <= ks + 1024 ? "met" : "MISSED")
    }'
fi

echo
if [ $mismatch -ne 0 ]; then
  echo "RESULT: the outputs differ (see above); the numbers do not count."
  exit 1
fi
echo "RESULT: all outputs hold the same records."
