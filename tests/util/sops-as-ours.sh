#!/bin/sh
# HARNESS SELF-CHECK ONLY — not part of the product and never used by CI.
#
# Stands in for overworld-secrets by forwarding every argument to the real sops, whose CLI our
# encrypt/decrypt/filestatus mirror. Pointing the integration tests at it proves the sops interop
# suites are right (sops must pass against its own fixtures) before our engine exists:
#
#   OVERWORLD_BIN=$PWD/tests/util/sops-as-ours.sh scripts/test.sh sops_interop
#
# The tests run children with a cleared environment, so the oracle is found next to this file
# (target/oracles, installed by scripts/test.sh) unless OVERWORLD_SOPS_BIN is set.
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
exec "${OVERWORLD_SOPS_BIN:-$here/../../target/oracles/bin/sops}" "$@"
