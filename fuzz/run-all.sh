#!/usr/bin/env bash
# Runs every target in turn for the given number of seconds (default table below), logging to
# fuzz/logs/<target>.log. Build once first: RUSTC_BOOTSTRAP=1 cargo fuzz build -s none -a
set -uo pipefail
cd "$(dirname "$0")"
mkdir -p logs
plan=(${FUZZ_PLAN:-sops_store_roundtrip:600 sops_load:300 yaml_fast:300 enc_envelope:150 sealed_secrets:180 config:120 sops_config:120 certificate:90 infisical_decode:90})
for item in "${plan[@]}"; do
  t=${item%%:*} secs=${item#*:}
  echo "== $t ${secs}s $(date -u +%H:%M:%S)"
  RUSTC_BOOTSTRAP=1 cargo fuzz run -s none -a "$t" -- -max_total_time="$secs" -timeout=10 \
    -print_final_stats=1 >"logs/$t.log" 2>&1
  echo "   exit $? $(grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' "logs/$t.log" | tr '\n' ' ')"
done
