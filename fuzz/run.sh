#!/usr/bin/env bash
# Runs every cargo-fuzz target of the approval layer for SECONDS each
# (default 1800: 30 minutes), one after another, and prints what each found.
# A soak, like a benchmark: not part of CI (CI keeps the deterministic
# deep-input tests in src/policy and tests/policy_*.rs).
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# cargo-fuzz is installed into a cache outside the repository
# (~/.cache/corral-fuzz) and run with the nightly toolchain (libFuzzer needs
# its sanitizer flags). A crash leaves its input in
# fuzz/artifacts/TARGET/; `cargo +nightly fuzz run TARGET FILE` replays it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
secs="${1:-1800}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(shell_parse policy_decide sed_and_model)
fi
cache="${CORRAL_FUZZ_CACHE:-$HOME/.cache/corral-fuzz}"
export PATH="$cache/bin:$PATH"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install --locked --root "$cache" cargo-fuzz
fi
rustup toolchain list | grep -q nightly || {
  echo "fuzz/run.sh: the nightly toolchain is required (rustup toolchain install nightly)" >&2
  exit 1
}
mkdir -p corpus
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  # Seeds: the hostile and benign commands of the test fixtures.
  if [ "$t" != sed_and_model ]; then
    python3 - "$t" <<'PY'
import sys, tomllib, pathlib, hashlib
t = sys.argv[1]
out = pathlib.Path("corpus") / t
for f in sorted(pathlib.Path("../tests/fixtures/policy").glob("*.toml")):
    data = tomllib.load(open(f, "rb"))
    for c in data.get("case", []) + data.get("deny", []):
        cmd = c["command"].encode()
        (out / hashlib.sha1(cmd).hexdigest()).write_bytes(cmd)
PY
  fi
  echo "== $t: ${secs}s"
  log="corpus/$t.log"
  if cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -max_len=4096 -timeout=25 >"$log" 2>&1; then
    tail -n 3 "$log"
    echo "== $t: no crash ($(ls "corpus/$t" | wc -l) inputs in the corpus)"
  else
    tail -n 40 "$log"
    echo "== $t: FOUND A CRASH (see fuzz/artifacts/$t/)"
    status=1
  fi
done
exit "$status"
