# bench/variants_lib.sh: what bench/metrics_cost.sh and bench/lineage_cost.sh
# share (sourced, not run). The caller sets `tool` (its name in messages) and
# `default_repeat`, and passes N as the first argument of `variants_setup`.
#
# After variants_setup: root, build, work, repeat, n, sluice, input (N
# generated records, warm in the page cache), results (an empty file that
# run lines go to: "VARIANT WALL USER SYS PEAK_KB REP ...").

die() {
  echo "$tool: $*" >&2
  exit 2
}

variants_setup() {
  root=$(cd "$(dirname "${BASH_SOURCE[1]}")/.." && pwd)
  build=${SLUICE_BENCH_BUILD:-$root/build-bench}
  work=${SLUICE_BENCH_DIR:-/tmp/sluice-bench}
  repeat=${SLUICE_BENCH_REPEAT:-$default_repeat}
  n=${1:-1000000}
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "N must be a positive whole number, got '$n'"
  [[ $repeat =~ ^[1-9][0-9]*$ ]] || die "SLUICE_BENCH_REPEAT must be a positive whole number"
  /usr/bin/time --version >/dev/null 2>&1 || die "GNU time (/usr/bin/time) is missing (Debian: apt-get install time)"
  # Configured every time (quick when nothing changed; repairs a tree whose
  # first configure failed, e.g. before libtbb-dev was installed).
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSLUICE_BUILD_BENCH=ON >/dev/null \
    || die "configuring $build failed (bench/README.md lists what it needs)"
  cmake --build "$build" -j2 >/dev/null || die "building $build failed"
  sluice=$build/apps/sluice/sluice
  local gen=$build/bench/bench_gen
  [ -x "$sluice" ] && [ -x "$gen" ] || die "the build did not produce sluice and bench_gen"
  mkdir -p "$work"
  input=$work/input-$n.jsonl
  if [ ! -s "$input" ] || [ "$gen" -nt "$input" ]; then
    echo "generating $n records into $input" >&2
    "$gen" "$n" "$input.tmp" || die "bench_gen failed"
    mv "$input.tmp" "$input"
  fi
  cat "$input" >/dev/null
}

# same_records REFERENCE FILE...: 0 when every FILE holds REFERENCE's lines
# (in any order); names the ones that do not.
same_records() {
  local ref d status=0 f
  ref=$(LC_ALL=C sort -S 512M "$1" | sha256sum)
  shift
  for f in "$@"; do
    d=$(LC_ALL=C sort -S 512M "$f" | sha256sum)
    if [ "$d" != "$ref" ]; then
      echo "$tool: $f holds different records" >&2
      status=1
    fi
  done
  return $status
}

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# col VARIANT COLUMN: the median of that column over the variant's runs.
col() { awk -v v="$1" -v c="$2" '$1 == v { print $c }' "$results" | median; }
# cpu VARIANT: the median user + system time.
cpu() { awk -v v="$1" '$1 == v { print $3 + $4 }' "$results" | median; }
# paired VARIANT BASE: median over repetitions of wall(VARIANT) / wall(BASE)
# (pairs of the same repetition cancel slow drifts of the machine).
paired() {
  awk -v v="$1" -v b="$2" '$1 == b { o[$6] = $2 } $1 == v { w[$6] = $2 }
    END { for (r in w) if (o[r] > 0) print w[r] / o[r] }' "$results" | median
}
# peak_mb VARIANT: the highest peak RSS over its runs, in MB.
peak_mb() { awk -v v="$1" '$1 == v && $5 > m { m = $5 } END { printf "%.1f", m / 1024 }' "$results"; }
