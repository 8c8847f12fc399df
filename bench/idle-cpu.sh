#!/usr/bin/env bash
# Idle CPU of corral: four idle shell slots in a 200x50 tmux window; reads
# corral's own utime+stime from /proc before and after a window and prints
# the CPU time used and the share of one core. A measurement, not a test.
#
# usage: bench/idle-cpu.sh [SETTLE_S] [WINDOW_S]   (defaults 5 and 10)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SETTLE="${1:-5}"; WINDOW="${2:-10}"
cargo build --release --quiet
T="$(mktemp -d)"; SOCK="corral-idle-$$"
trap 'tmux -L "$SOCK" kill-server 2>/dev/null || true; rm -rf "$T"' EXIT
cat > "$T/config.toml" <<CFG
[[slot]]
id = "a"
command = "/bin/sh"
[[slot]]
id = "b"
command = "/bin/sh"
[[slot]]
id = "c"
command = "/bin/sh"
[[slot]]
id = "d"
command = "/bin/sh"
CFG
tmux -L "$SOCK" new-session -d -x 200 -y 50 "$PWD/target/release/corral --config $T/config.toml --data-dir $T/data"
sleep 1
PID="$(pgrep -f "target/release/corral --config $T/config.toml" | head -1)"
sleep "$SETTLE"
TCK="$(getconf CLK_TCK)"
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
ctx() { awk '/voluntary_ctxt_switches/ {s += $2} END {print s}' /proc/$PID/task/*/status; }
c0="$(cpu)"; x0="$(ctx)"; sleep "$WINDOW"; c1="$(cpu)"; x1="$(ctx)"
ms=$(( (c1 - c0) * 1000 / TCK ))
echo "corral pid $PID, 4 idle slots, ${WINDOW}s window after ${SETTLE}s settle:"
echo "  cpu time ${ms} ms (${TCK} ticks/s resolution) = $(awk -v m="$ms" -v w="$WINDOW" 'BEGIN{printf "%.3f", m/(w*10)}')% of one core"
echo "  context switches (all threads): $((x1 - x0))"
