#!/usr/bin/env bash
# Install the pinned real agent CLIs that the end-to-end tests drive, into a
# cache outside the repository. Idempotent: a CLI already at its pinned version
# is left alone. Prints nothing but progress on stderr.
#
# usage: scripts/install-agents.sh
# env:   CORRAL_TEST_CACHE  cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/corral-test)
set -euo pipefail

CLAUDE_VERSION="2.1.329"
CODEX_VERSION="0.169.0"
GEMINI_VERSION="0.61.0"
OPENCODE_VERSION="1.18.33"
AIDER_VERSION="0.86.2"

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

# npm_cli NAME PACKAGE VERSION BIN: install an npm CLI into its own prefix.
npm_cli() {
  local name="$1" pkg="$2" ver="$3" bin="$4" prefix="$CACHE/$1"
  if [ -x "$prefix/bin/$bin" ] && "$prefix/bin/$bin" --version 2>/dev/null | grep -qF "$ver"; then
    log "$name $ver already in $prefix"
  else
    log "installing $pkg@$ver into $prefix"
    mkdir -p "$prefix"
    npm install -g --no-fund --no-audit --prefix "$prefix" "$pkg@$ver" >&2
    "$prefix/bin/$bin" --version >&2
  fi
}
npm_cli codex @openai/codex "$CODEX_VERSION" codex
npm_cli gemini @google/gemini-cli "$GEMINI_VERSION" gemini
npm_cli opencode opencode-ai "$OPENCODE_VERSION" opencode

venv="$CACHE/aider-venv"
if [ -x "$venv/bin/aider" ] && "$venv/bin/aider" --version 2>/dev/null | grep -qF "$AIDER_VERSION"; then
  log "aider $AIDER_VERSION already in $venv"
else
  log "installing aider-chat==$AIDER_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "aider-chat==$AIDER_VERSION" >&2
  "$venv/bin/aider" --version >&2
fi
