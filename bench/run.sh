#!/usr/bin/env bash
# corral beside tmux in the same run (see bench/README.md).
# usage: bench/run.sh [RUNS [FILTER]]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v tmux >/dev/null 2>&1 || { echo "bench/run.sh: installing tmux (Debian)" >&2; apt-get install -y tmux >&2; }
cargo build --release --quiet
cargo build --release --quiet --example bench
exec target/release/examples/bench "$@"
