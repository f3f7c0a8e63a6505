#!/usr/bin/env bash
# Idle CPU of the running console: a demo library, the console on it in tmux at 120x40, left
# alone until its engine watches and the screen has settled, then its user+system CPU time
# (/proc/PID/stat utime+stime) over WINDOW seconds, as a share of one core. Target: < 1 %.
#
#   cargo build --release --bin smartimage && bash benches/idle_cpu.sh
#
# BIN (default target/release/smartimage) and WINDOW (default 60) may be set.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/smartimage}
WINDOW=${WINDOW:-60}
SETTLE=${SETTLE:-10}
dir=$(mktemp -d)
sock="smartimage-idle-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$dir"' EXIT

"$BIN" demo --headless --data-dir "$dir/demo" >/dev/null
tmux -L "$sock" -f /dev/null new-session -d -s idle -x 120 -y 40 \
    "$BIN --data-dir '$dir/demo' --as operator@demo.smartimage.test"
for _ in $(seq 600); do
    tmux -L "$sock" capture-pane -p -t idle | grep -q "engine watching" && break
    sleep 0.1
done
tmux -L "$sock" capture-pane -p -t idle | grep -q "engine watching" || {
    echo "the console did not start" >&2
    exit 1
}
pid=$(tmux -L "$sock" display-message -p -t idle '#{pane_pid}')
sleep "$SETTLE"
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks)
sleep "$WINDOW"
after=$(ticks)
awk -v t=$((after - before)) -v hz="$hz" -v w="$WINDOW" 'BEGIN {
    printf "idle console: %d ticks (%d/s) of CPU in %d s = %.3f %% of one core\n", t, hz, w, 100 * t / (hz * w)
}'
