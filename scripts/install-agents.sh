#!/usr/bin/env bash
# Install the pinned real agent CLIs that the end-to-end tests drive, into a
# cache outside the repository. Idempotent: a CLI already at its pinned version
# is left alone. Prints nothing but progress on stderr.
#
# usage: scripts/install-agents.sh
# env:   CORRAL_TEST_CACHE  cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/corral-test)
set -euo pipefail

CLAUDE_VERSION="2.1.329"

CACHE="${CORRAL_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/corral-test}"
PREFIX="$CACHE/npm"
mkdir -p "$PREFIX"

log() { printf '[install-agents] %s\n' "$*" >&2; }

need() { command -v "$1" >/dev/null 2>&1 || { log "missing $1: install it first (Debian: apt-get install $2)"; exit 1; }; }
need node nodejs
need npm npm
need python3 python3

claude_bin="$PREFIX/bin/claude"
if [ -x "$claude_bin" ] && "$claude_bin" --version 2>/dev/null | grep -qF "$CLAUDE_VERSION"; then
  log "claude $CLAUDE_VERSION already in $PREFIX"
else
  # Ask for the exact version: under node 20, npm would otherwise pick an older
  # release whose `engines` fits. The EBADENGINE warning is expected.
  log "installing @anthropic-ai/claude-code@$CLAUDE_VERSION into $PREFIX"
  npm install -g --no-fund --no-audit --prefix "$PREFIX" "@anthropic-ai/claude-code@$CLAUDE_VERSION" >&2
  "$claude_bin" --version >&2
fi
