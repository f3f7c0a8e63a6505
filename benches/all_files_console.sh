#!/usr/bin/env bash
# The real console on a million-file library (issue 6): start `smartimage` in tmux at 120x40 on
# the library `cargo run --release --example all_files_bench` generated, wait for the first
# frame with rows, drive All Files at 80x24 (Dropbox filter, a name filter, last page, first page, mark
# all), then read the console's peak RSS (VmHWM) before quitting. Also prints how long the
# first frame took, as tmux saw it (polling every 20 ms, so ±20 ms).
# Usage: benches/all_files_console.sh [LIBRARY_DIR]   (needs tmux; SMARTIMAGE_BIN=path runs that
# binary instead of building this tree's)
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-${TMPDIR:-/tmp}/smartimage-all-files-1000000}
[ -f "$DIR/library.sqlite3" ] || { echo "no library in $DIR: run the all_files_bench example first" >&2; exit 1; }
if [ -n "${SMARTIMAGE_BIN:-}" ]; then
  BIN=$SMARTIMAGE_BIN   # another build to compare with, e.g. a copy of an earlier commit's binary
else
  cargo build --release --bin smartimage >/dev/null
  BIN=$PWD/target/release/smartimage
fi
SOCK=smartimage-bench-$$
tm() { tmux -L "$SOCK" "$@"; }
trap 'tm kill-server 2>/dev/null || true' EXIT
wait_for() { # text [timeout seconds]
  local deadline=$(( $(date +%s) + ${2:-60} ))
  until tm capture-pane -p -t console | grep -q -- "$1"; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "timed out waiting for $1" >&2; tm capture-pane -p -t console >&2; exit 1; }
    sleep 0.02
  done
}
tm -f /dev/null new-session -d -s console -x 120 -y 40 "bash --norc --noprofile"
tm send-keys -t console "clear" Enter
start=$(date +%s.%N)
tm send-keys -t console "exec $BIN --data-dir '$DIR' --as operator@bench.smartimage.test" Enter
wait_for "Bench Account"
wait_for "sunset\|harbour\|launch\|poster\|team\|portrait\|product\|banner\|city\|forest\|winter\|summer\|logo\|menu\|event\|hero\|studio\|draft\|final\|print"
first=$(date +%s.%N)
PID=$(tm display-message -p -t console '#{pane_pid}')
echo "first frame with rows after $(python3 -c "print(f'{($first - $start) * 1000:.0f} ms')") (process start included)"
# All Files alone (80x24), so its title has room for every filter.
# The account first: collections (and so the batch add at the end) belong to one account.
tm send-keys -t console 1 Down
wait_for "as operator@bench.smartimage.test · Bench Account"
tm resize-window -t console -x 80 -y 24
tm send-keys -t console 3 d
wait_for "Dropbox uploads"
tm send-keys -t console / h a r b o u r Enter
wait_for 'name ∋ "harbour"'
tm send-keys -t console G
sleep 1
tm send-keys -t console g '*'
wait_for "marked"
sleep 1
echo "after browsing and marking all:"
grep -E "VmHWM|VmRSS" "/proc/$PID/status"
# Batch-add everything marked (the Dropbox uploads matching "harbour") to a new collection.
tm send-keys -t console c
wait_for "New collection"
tm send-keys -t console End Enter
tm send-keys -t console -l "Bench $(date +%s)"
tm send-keys -t console Enter
wait_for "Enter/y add"
tm send-keys -t console y
wait_for "already there"
echo "after the batch add:"
grep -E "VmHWM|VmRSS" "/proc/$PID/status"
tm send-keys -t console q
