#!/usr/bin/env bash
# The Quick start of README.md, on a Debian bookworm machine:
#   ./build.sh example   installs what is missing, builds, runs configs/examples/orders.json
#   ./build.sh test      installs what is missing, builds, runs every test (ctest)
#   ./build.sh build     installs what is missing and builds
# Installing needs root (apt-get); it is quiet when everything is there.
set -euo pipefail
cd "$(dirname "$0")"

what=${1:-example}
case "$what" in example|test|build) ;; *)
  echo "usage: ./build.sh [example|test|build]" >&2; exit 2 ;;
esac

packages=(g++ cmake ninja-build pkg-config libcaf-dev libboost-dev libboost-program-options-dev
          nlohmann-json3-dev libspdlog-dev libfmt-dev libjemalloc-dev libncurses-dev libsqlite3-dev libssl-dev
          libsimdjson-dev)
# Tests also drive `sluice top` in tmux and check /metrics with promtool
# (from the prometheus package).
[ "$what" = test ] && packages+=(catch2 tmux prometheus)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: these packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build_dir=${SLUICE_BUILD_DIR:-build}
tests=OFF; [ "$what" = test ] && tests=ON
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DSLUICE_BUILD_TESTS=$tests ${SLUICE_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j "$(nproc)"

case "$what" in
  example)
    "$build_dir/apps/sluice/sluice" run configs/examples/orders.json
    echo "outputs: configs/examples/out/ (food_totals.jsonl, other.jsonl, orders.dead.jsonl, orders.lineage.db)"
    ;;
  test)
    ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)"
    ;;
esac
