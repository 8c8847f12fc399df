#!/usr/bin/env bash
# Runs every test of corral: unit tests, real-screen fixtures, render
# snapshots, in-process PTY flows, the binary driven in an outer PTY, and the
# real Claude Code CLI against corral's mock API, and the web page in a real
# Chromium. Installs the pinned agent CLIs and the browser into a cache
# outside the repository first (scripts/install-agents.sh, install-browser.sh).
# Nothing is skipped: a missing tool fails the run with a message.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

for tool in cargo git python3 node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "scripts/test.sh: $tool is required" >&2; exit 1; }
done

scripts/install-agents.sh
# Chromium and its WebDriver for the web page's tests: their paths go to the
# tests through the environment.
browser_env="$(scripts/install-browser.sh)"
while IFS= read -r line; do export "${line?}"; done <<<"$browser_env"
cargo test --locked --all-targets "$@"
