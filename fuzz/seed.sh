#!/usr/bin/env bash
# Builds starting corpora under fuzz/corpus/<target> from files the real tools made
# (tests/fixtures, /work/shared/fixtures). The corpora themselves are not committed.
set -euo pipefail
cd "$(dirname "$0")"
fx=../tests/fixtures
mk() { mkdir -p "corpus/$1"; }
add() { # target, selector byte (or ""), file
  local t=$1 sel=$2 f=$3 out
  out="corpus/$t/$(sha1sum "$f" | cut -c1-16)-$sel"
  if [ -n "$sel" ]; then { printf "\\x$sel"; head -c 65536 "$f"; } >"$out"; else head -c 65536 "$f" >"$out"; fi
}
for t in sops_store_roundtrip sops_load enc_envelope sops_config config sealed_secrets certificate infisical_decode yaml_fast; do mk $t; done
while IFS= read -r f; do
  case "$f" in
    *.yaml|*.yml) sel=00 ;; *.json) sel=01 ;; *.env) sel=02 ;; *.ini) sel=03 ;; *) continue ;;
  esac
  add sops_store_roundtrip $sel "$f"; add sops_load $sel "$f"
  if [ "$sel" = 00 ]; then add yaml_fast "" "$f"; fi
done < <(find $fx/sops $fx/stores $fx/yaml-store -type f -size -64k 2>/dev/null)
grep -rhoa 'ENC\[AES256_GCM[^]]*\]' $fx/sops 2>/dev/null | sort -u | head -200 | while IFS= read -r e; do
  printf '%s' "$e" >"corpus/enc_envelope/$(printf '%s' "$e" | sha1sum | cut -c1-16)"
done
find $fx -name '.sops.yaml' -type f | while IFS= read -r f; do add sops_config "" "$f"; done
find $fx -name 'overworld-secrets.yaml' -type f | while IFS= read -r f; do add config "" "$f"; done
find $fx/sealed $fx/sealed-core $fx/onboard -type f \( -name '*.yaml' -o -name '*.json' \) -size -64k | while IFS= read -r f; do add sealed_secrets "" "$f"; done
find $fx -name '*cert*.pem' -type f | while IFS= read -r f; do add certificate "" "$f"; done
printf '\x00\xc8{"secrets":[{"secretKey":"A","secretValue":"x","secretPath":"/a"},{"secretKey":"B","secretValueHidden":true,"type":"shared"}]}' >corpus/infisical_decode/listing
printf '\x01\x96{"statusCode":422,"error":"Unprocessable","message":[{"path":["secrets",0]}]}' >corpus/infisical_decode/zod
printf '\x01\x2c{"statusCode":404,"error":"Not Found","message":"Route GET:/api/v4/x not found"}' >corpus/infisical_decode/route
for t in corpus/*; do echo "$t $(ls "$t" | wc -l)"; done
