#!/usr/bin/env bash
# Re-captures agent fixtures at several widths from the pinned real CLIs
# (see examples/capture_fixtures.rs). Review the new screens, then update
# tests/fixtures/expected.tsv: `corral explain --agent A FILE` shows what
# corral detects on each.
#
# usage: scripts/capture-fixtures.sh [claude|codex|gemini|aider ...]
#        scripts/capture-fixtures.sh --long [AGENT ...] [--only NAME[,NAME]]
#          [--sizes COLSxROWS[,COLSxROWS]] [--out DIR]
#          (permission dialogs of long commands, by default long, canary and
#          word at 40x30, 60x30, 80x24, 120x40; typical and medium are short
#          ones for the minimum pane; --out DIR writes DIR/<agent>/ instead of
#          tests/fixtures/<agent>/; ground truth in
#          tests/fixtures/expected-long.tsv, layouts in
#          tests/fixtures/LONG-DIALOGS.md)
#        scripts/capture-fixtures.sh --moments [AGENT ...]
#          [--sizes COLSxROWS[,COLSxROWS]] [--out DIR]
#          (passing moments, by default at 40x30, 80x24, 120x40, 200x50:
#          Codex streaming its answer with no status line, Codex idle after
#          an answer quoting its status line, Aider's "Add command output to
#          the chat?"; named <agent>-<moment>@<cols>x<rows>, the text of
#          one told by its title -<cols>x<rows>.txt with the title in
#          tests/fixtures/<agent>/<agent>-titles.tsv)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-agents.sh
cargo build --quiet
cargo run --quiet --example capture_fixtures -- "$@"
