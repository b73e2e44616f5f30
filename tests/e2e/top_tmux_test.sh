#!/usr/bin/env bash
# `sluice top` on a real terminal: a streaming `sluice run` publishes its
# console, `sluice top` attaches inside a detached tmux session (80x24), and
# the pane is read back with capture-pane: stage names, a rate on the source
# row, sorting, expanding, resizing, the run going away, quitting. Also
# `sluice top --once --json` and a port nothing listens on.
#
# usage: top_tmux_test.sh SLUICE_BINARY SOURCE_DIR TOP_JSON_CHECK
set -u
sluice=$1
src=$2
json_check=$3

if ! command -v tmux >/dev/null 2>&1; then
  echo "FAIL: 'tmux' is not installed; this test needs it (Debian package: tmux)"
  exit 1
fi

work=$(mktemp -d)
sock="sluice-test-$$"
run_pid=""
tm() { tmux -u -L "$sock" "$@"; }
cleanup() {
  tm kill-server >/dev/null 2>&1
  if [ -n "$run_pid" ]; then kill -9 "$run_pid" >/dev/null 2>&1; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pane() { tm capture-pane -p -t top 2>/dev/null; }
fail() {
  echo "FAIL: $*"
  echo "--- pane:"; pane
  echo "--- sluice run stderr:"; cat "$work/run.err" 2>/dev/null
  exit 1
}
# wait_pane REGEX SECONDS: until the pane matches (grep -E), or fail.
wait_pane() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    pane | grep -Eq -- "$1" && return 0
    sleep 0.1
  done
  fail "the pane never showed /$1/ within $2 s"
}
# line_of WORD: the number of the first pane line with the stage WORD.
line_of() { pane | grep -nE "(^| )$1( |$)" | head -n1 | cut -d: -f1; }

# -- a streaming run with its console on a free port ---------------------------
cd "$work" || exit 1
"$sluice" run --no-progress --console-addr 127.0.0.1:0 "$src/configs/examples/stream.json" \
  >"$work/run.out" 2>"$work/run.err" &
run_pid=$!
addr=""
for ((i = 0; i < 150; i++)); do
  addr=$(sed -n 's/.*console on \([^ ]*\) .*/\1/p' "$work/run.err" | head -n1)
  [ -n "$addr" ] && break
  kill -0 "$run_pid" 2>/dev/null || fail "sluice run ended before announcing its console"
  sleep 0.1
done
[ -n "$addr" ] || fail "sluice run did not announce 'console on HOST:PORT' within 15 s"
echo "run console at $addr"

# -- one snapshot as JSON, and as text ------------------------------------------
"$sluice" top "$addr" --once --json >"$work/once.json" 2>"$work/once.err" \
  || fail "sluice top --once --json exited $?: $(cat "$work/once.err")"
summary=$("$json_check" "$work/once.json" 2>&1) \
  || fail "sluice top --once --json did not print a snapshot: $summary"
[ "$summary" = "pipeline=stream stages=4" ] \
  || fail "--once --json: expected pipeline 'stream' with 4 stages, got: $summary"
"$sluice" top "$addr" --once >"$work/once.txt" 2>&1 || fail "sluice top --once exited $?"
for stage in orders big per_category show; do
  grep -q " $stage" "$work/once.txt" || fail "sluice top --once does not list $stage"
done

# -- nothing listening ------------------------------------------------------------
"$sluice" top 127.0.0.1:1 >"$work/none.out" 2>"$work/none.err"
rc=$?
[ "$rc" = 1 ] || fail "sluice top 127.0.0.1:1 exited $rc, expected 1"
grep -q "127.0.0.1:1" "$work/none.err" || fail "the error does not name the address: $(cat "$work/none.err")"
grep -q "no \`sluice run\` seems to be listening" "$work/none.err" \
  || fail "the error does not say nothing listens: $(cat "$work/none.err")"

# -- the live console in an 80x24 terminal ---------------------------------------
tm new-session -d -s top -x 80 -y 24 -e LANG=C.UTF-8 -e TERM=screen \
  "'$sluice' top '$addr'; echo \$? >'$work/top.rc'"
wait_pane 'per_category' 10
# The source row: STAGE STATE IN/S OUT/S ...; its out/s is not zero once a
# refresh interval has passed (the run samples every second).
wait_pane '(^| )orders +[a-z]+ +[0-9.kMG]+ +[0-9.]*[1-9][0-9.]*[kMG]? ' 10
for stage in orders big per_category show; do
  pane | grep -qE "(^| )$stage( |$)" || fail "the pane does not show the stage $stage"
done
pane | grep -q 'stream' || fail "the header does not name the pipeline"
echo "--- 80x24:"; pane

# s: sort by stage id, A to Z (big before orders); S: reversed (show first).
[ "$(line_of orders)" -lt "$(line_of big)" ] || fail "pipeline order should list orders before big"
tm send-keys -t top s
wait_pane 'STAGE(▲|\^)' 5
[ "$(line_of big)" -lt "$(line_of orders)" ] || fail "sorted by stage, big should come before orders"
[ "$(line_of per_category)" -lt "$(line_of show)" ] || fail "sorted by stage, per_category should come before show"
tm send-keys -t top S
wait_pane 'STAGE(▼|v)' 5
[ "$(line_of show)" -lt "$(line_of per_category)" ] || fail "reversed, show should come first"
[ "$(line_of orders)" -lt "$(line_of big)" ] || fail "reversed, orders should come before big"

# e: expand the selected stage (the first row) into its replicas.
tm send-keys -t top e
wait_pane '(└ |`-)#0' 5
echo "--- sorted by stage, reversed, first stage expanded:"; pane

# A bigger terminal: everything redrawn at 100x30.
tm resize-window -t top -x 100 -y 30
for ((i = 0; i < 50; i++)); do
  [ "$(pane | wc -l)" -ge 30 ] && pane | awk 'length > 80 { found = 1 } END { exit !found }' && break
  sleep 0.1
done
[ "$(pane | wc -l)" -ge 30 ] || fail "after the resize the pane is not 30 lines"
pane | awk 'length > 80 { found = 1 } END { exit !found }' || fail "after the resize no line uses the width"
pane | grep -q ' RST' || fail "at 100 columns the restarts column should be back"
echo "--- 100x30:"; pane

# The run stops (SIGTERM drains it); top keeps the last picture and says so.
kill -TERM "$run_pid"
for ((i = 0; i < 300; i++)); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$run_pid" 2>/dev/null && fail "sluice run did not stop within 30 s of SIGTERM"
wait "$run_pid"
run_pid=""
wait_pane "pipeline process at $addr is gone" 10
wait_pane 'press q to quit' 2
for stage in orders big per_category show; do
  pane | grep -qE "(^| )$stage( |$)" || fail "after the run ended the pane lost the stage $stage"
done
tm has-session -t top 2>/dev/null || fail "sluice top ended when the run went away"
[ -e "$work/top.rc" ] && fail "sluice top exited when the run went away"
echo "--- after the run ended:"; pane

# q quits with 0 and the session's only process ends with it.
tm send-keys -t top q
for ((i = 0; i < 50; i++)); do tm has-session -t top 2>/dev/null || break; sleep 0.1; done
tm has-session -t top 2>/dev/null && fail "sluice top still runs 5 s after q"
[ "$(cat "$work/top.rc" 2>/dev/null)" = 0 ] || fail "sluice top exited $(cat "$work/top.rc" 2>/dev/null), expected 0"
echo "PASS"
