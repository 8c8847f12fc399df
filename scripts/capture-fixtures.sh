#!/usr/bin/env bash
# Re-captures agent fixtures at several widths from the pinned real CLIs
# (see examples/capture_fixtures.rs). Review the new screens, then update
# tests/fixtures/expected.tsv: `corral explain --agent A FILE` shows what
# corral detects on each.
#
# usage: scripts/capture-fixtures.sh [claude|codex|gemini|aider ...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-agents.sh
cargo build --quiet
cargo run --quiet --example capture_fixtures -- "$@"
