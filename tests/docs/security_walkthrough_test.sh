#!/usr/bin/env bash
# Proves docs/security.md's "Try it" runs as written: `make run DEV_ARGS=--tls` (a fresh
# `fxmesh dev --tls` on free ports), then its commands in order in one shell. The tool without
# certificates is refused with exit 4; with --tls-dir the demo completes and the sagas are listed;
# buf curl with the operator's certificate lists a saga, and with the gateway's is refused with
# permission_denied; with the gateway's and a token from `fxmesh token alice` it gets alice a quote.
# Usage: security_walkthrough_test.sh BIN_DIR SOURCE_DIR [CACHE_DIR]
set -euo pipefail
bin=$1
source_dir=$2
source "$source_dir/tests/docs/walkthrough_lib.sh"

doc=docs/security.md
mapfile -d '' -t start < <(doc_commands $doc '## Try it with `make run`' 1)
mapfile -d '' -t commands < <(doc_commands $doc '## Try it with `make run`' 2)
((${#start[@]} == 1 && ${#commands[@]} == 11)) ||
  fail "$doc's walkthrough blocks changed shape: update this test with them"
read -ra make_run <<<"${start[0]%%#*}"
[[ ${make_run[*]} == "make run DEV_ARGS=--tls" ]] || fail "no 'make run DEV_ARGS=--tls' in $doc"
dev_args=(--tls)
start_mesh
[[ -f .fxmesh/tls/ca.crt && -f .fxmesh/tls/operator.key ]] || fail "fxmesh dev --tls made no certificates"

for command in "${commands[@]}"; do
  case $command in
    "npm install "*) install_buf "${command%%#*}" "${3:-}"; continue ;;
  esac
  run_doc "$command"
  case $command in
    *"|| echo \"refused: exit \$?\""*) expect "$out" "refused: exit 4" "the tool without certificates" ;;
    "fxmesh demo"*) expect "$out" "Done." "the demo over mutual TLS" ;;
    "fxmesh sagas"*) expect "$out" "COMPLETED" "fxmesh sagas over mutual TLS" ;;
    *'$TOKEN'*) expect "$out" '"customerId": "alice"' "buf curl as a gateway with alice's token" ;;
    *'$GATEWAY'*) expect "$out" "gateway/dev may not call /fxmesh.v1.OpsService/ListSagas" "buf curl as a gateway" ;;
  esac
done
grep -q 'PLAINTEXT gRPC' "$work/dev.log" && fail "a service of fxmesh dev --tls served plaintext"
echo "docs/security.md's walkthrough ran as written"
