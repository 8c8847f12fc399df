#!/usr/bin/env bash
# Install Debian's Chromium and its WebDriver, for the tests of `corral web`'s
# page, into a cache outside the repository: the packages (and the libraries
# this machine lacks) are downloaded with apt and unpacked there, without
# touching the system. Idempotent. Prints the paths on stdout as
#   CORRAL_CHROMIUM=...  CORRAL_CHROMEDRIVER=...  CORRAL_BROWSER_LIBS=...
#
# usage: scripts/install-browser.sh
# env:   CORRAL_TEST_CACHE  cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/corral-test)
set -euo pipefail

CACHE="${CORRAL_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/corral-test}"
ROOT="$CACHE/chromium"
APT="$CACHE/apt"
log() { printf '[install-browser] %s\n' "$*" >&2; }

chrome="$ROOT/usr/lib/chromium/chromium"
driver="$ROOT/usr/bin/chromedriver"
libs="$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu:$ROOT/usr/lib/chromium:$ROOT/usr/lib/x86_64-linux-gnu/pulseaudio"

if [ -x "$chrome" ] && [ -x "$driver" ] && [ -f "$ROOT/.complete" ]; then
  log "chromium already in $ROOT"
else
  command -v apt-get >/dev/null 2>&1 || { log "needs apt-get (Debian)"; exit 1; }
  mkdir -p "$APT/lists/partial" "$APT/archives/partial" "$ROOT"
  # apt with its own lists and archive: nothing of the system's changes.
  opts=(-o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT" -o "Dir::Cache::archives=$APT/archives"
        -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1")
  log "reading the package lists"
  apt-get "${opts[@]}" -qq update >&2
  # Every package chromium and its driver need, less those installed here.
  mapfile -t want < <(apt-cache "${opts[@]}" depends --recurse --no-recommends --no-suggests \
      --no-conflicts --no-breaks --no-replaces --no-enhances chromium chromium-driver \
    | grep -v '^ ' | grep -v '^<' | sort -u)
  missing=()
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  log "downloading ${#missing[@]} packages"
  (cd "$APT/archives" && apt-get "${opts[@]}" -qq download "${missing[@]}" >&2)
  for deb in "$APT/archives"/*.deb; do
    dpkg-deb -x "$deb" "$ROOT"
  done
  touch "$ROOT/.complete"
  log "$(LD_LIBRARY_PATH="$libs" "$chrome" --version) in $ROOT"
fi
echo "CORRAL_CHROMIUM=$chrome"
echo "CORRAL_CHROMEDRIVER=$driver"
echo "CORRAL_BROWSER_LIBS=$libs"
