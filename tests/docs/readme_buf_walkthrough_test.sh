#!/usr/bin/env bash
# Proves the README's `buf curl` walkthroughs run as written: the block after "The same by hand,
# call by call" and the one under "Under the hood", read from README.md, run in one shell against a
# fresh `fxmesh dev` mesh on free ports, with `buf` installed by the README's own npm command into
# CACHE_DIR. Every command exits 0 and shows what its comment promises; the first exchange
# completes, alice's balances are the ones the comments compute, ex-3 fails for insufficient funds,
# and the operator calls answer with the sagas.
# Usage: readme_buf_walkthrough_test.sh BIN_DIR SOURCE_DIR [CACHE_DIR]
set -euo pipefail
bin=$1
source_dir=$2
source "$source_dir/tests/docs/walkthrough_lib.sh"

mapfile -d '' -t commands < <(doc_commands README.md 'The same by hand, call by call')
mapfile -d '' -t by_hand < <(doc_commands README.md '### Under the hood: one TCC branch by hand')
((${#commands[@]} >= 15 && ${#by_hand[@]} >= 8)) || fail "no buf curl walkthrough in README.md"

[[ ${commands[0]} == "npm install "* ]] || fail "the walkthrough no longer starts with npm install"
install_buf "${commands[0]%%#*}" "${3:-}"
start_mesh
# The balance a GetAccount comment computes, e.g. "# 1,000,000 - 137,711 KRW" or "# 10000 cents".
balance_promised() {
  local sum
  sum=$(sed -nE 's/.*\/GetAccount +# ([0-9][0-9, +-]*[0-9]) (KRW|cents)$/\1/p' <<<"$1")
  [[ -z $sum ]] || echo $((${sum//,/}))
}

for command in "${commands[@]:1}" "${by_hand[@]}"; do
  run_doc "$command"
  balance=$(balance_promised "$command")
  [[ -z $balance ]] || expect "$out" "\"availableMinor\": \"$balance\"" "GetAccount"
  case $command in
    "exchange ex-1 "*)
      expect "$out" '"status": "EXCHANGE_STATUS_COMPLETED"' "ex-1"
      ex1=$out ;;
    *'"account_id":"alice-krw"}'*/GetAccount*) krw_shown=${krw_shown:-$balance} ;;
    *'"account_id":"alice-usd"}'*/GetAccount*) usd_shown=${usd_shown:-$balance} ;;
    "exchange ex-3 "*)
      expect "$out" '"status": "EXCHANGE_STATUS_FAILED"' "ex-3"
      expect "$out" '"failureReason": "INSUFFICIENT_FUNDS"' "ex-3" ;;
    *'$OPS/ListSagas'*) sagas=$out ;;
    *'$OPS/GetSagaHistory'*)
      [[ $command == *'<a sagaId from above>'* ]] || fail "the placeholder moved"
      expect "$out" "\"sagaId\": \"$last_saga_id\"" "GetSagaHistory"
      history=$out ;;
  esac
done
[[ -n ${ex1:-} && -n ${history:-} ]] || fail "ex-1 or GetSagaHistory did not run"
[[ -n ${krw_shown:-} && -n ${usd_shown:-} ]] || fail "no comment gave alice's balances after ex-1"
for key in ex-1 ex-2 ex-3; do expect "${sagas:-}" "\"idempotencyKey\": \"$key\"" "ListSagas"; done
echo "the README's buf curl walkthroughs ran as written"
