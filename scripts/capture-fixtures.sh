#!/usr/bin/env bash
# Re-captures agent fixtures at several widths from the pinned real CLIs
# (see examples/capture_fixtures.rs). Review the new screens, then update
# tests/fixtures/expected.tsv: `corral explain --agent A FILE` shows what
# corral detects on each.
#
# usage: scripts/capture-fixtures.sh [claude|codex|gemini|aider ...]
#        scripts/capture-fixtures.sh --long [AGENT ...] [--only long|canary|word]
#          (permission dialogs of long commands at 40x30, 60x30, 80x24, 120x40;
#          ground truth in tests/fixtures/expected-long.tsv, layouts in
#          tests/fixtures/LONG-DIALOGS.md)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-agents.sh
cargo build --quiet
cargo run --quiet --example capture_fixtures -- "$@"
