#!/usr/bin/env bash
# Proves docs/operations.md's commands work as written against `make run`'s mesh: all its sh
# blocks, read from the file, run in order in one shell against a fresh `fxmesh dev` on free ports
# (with the relay's short retry tiers that docs/kafka.md's walkthrough gives it), with `buf`
# installed by the doc's own npm command into CACHE_DIR. Every command exits 0 and shows what its
# comment promises. What the commands act on is set up as the docs say it comes about: alice's
# exchanges left CONFIRMING and TRYING by the ledgers' dev faults (docs/cli.md, "Dev faults"), the
# relay dead-lettering their Confirms, and a message that is not a BranchCommand put on the
# commands topic. The doc gives each action twice, once with `fx` and once with `fxmesh`: each of
# the two gets a target of its own, as two readers would. Then the unfinished sagas are listed, the
# resolutions settle theirs, the replays settle the dead-lettered ones, the poison dead letter is
# dismissed, and nothing is left pending.
# Usage: operations_walkthrough_test.sh BIN_DIR SOURCE_DIR [CACHE_DIR]
set -euo pipefail
bin=$1
source_dir=$2
source "$source_dir/tests/docs/walkthrough_lib.sh"
need_kcat

doc=docs/operations.md
# block N: the commands of the doc's Nth sh block, in $block.
block() { mapfile -d '' -t block < <(doc_commands $doc '# Operating fxmesh' "$1"); }
shape=
for n in $(seq 16); do block "$n"; shape+="${#block[@]} "; done
[[ $shape == "4 12 2 5 2 6 4 2 2 6 6 2 4 5 1 0 " ]] ||
  fail "$doc's blocks changed shape ($shape): update this test with them"

block 1 # npm install, then the aliases and $OPS
[[ ${block[0]} == "npm install "* ]] || fail "$doc no longer starts with npm install"
install_buf "${block[0]%%#*}" "${3:-}"
start_mesh FXMESH_TIER_DELAYS_MS=2000,2000
for command in "${block[@]:1}"; do run_doc "$command"; done

# run_ops COMMAND: run_doc, with the doc's placeholders given the targets chosen for them.
saga=
run_ops() {
  local command=$1
  command=${command//<saga id>/$saga}
  command=${command//<saga>/$saga}
  command=${command//<resolution id>/${resolution:-}}
  command=${command//<dead letter id>/${dead_letter:-}}
  command=${command//<metrics address>/127.0.0.1:9051}
  run_doc "$command" "${2:-}"
}
dead_letter_of() { tool dead-letters --saga "$1" | awk 'NR == 2 {print $1}'; }

# docs/cli.md's FAULTS=..., the FX ledger's LedgerFaultService.
mapfile -d '' -t faults < <(doc_commands docs/cli.md '## Dev faults')
[[ ${faults[0]} == FAULTS=*50062* ]] || fail "docs/cli.md's Dev faults block no longer sets FAULTS"
run_ops "${faults[0]}"
# Alice's accounts, and four exchanges of hers that the FX ledger's Confirm fault leaves CONFIRMING:
# the relay gives their Confirms up after its two short tiers.
open_accounts alice
run_ops "fx -d '{\"call\":\"FAULT_CALL_CONFIRM\"}' \$FAULTS/ArmFault"
confirming=()
for n in 1 2 3 4; do confirming+=("$(pending_exchange alice "ops-confirming-$n")"); done

echo "--- Find exchanges that are not finished"
block 2
for command in "${block[@]}"; do
  run_ops "$command"
  # Every listing but the one of sagas older than 5 minutes shows them.
  [[ $command == *GetAlerts* || $command == "fxmesh alerts"* || $command == *older* ]] ||
    expect "$out" "${confirming[3]}" "the listing of unfinished sagas"
done

echo "--- Read one saga's history, trace it, retry it"
saga=${confirming[0]}
block 3
for command in "${block[@]}"; do run_ops "$command"; done
expect "$out" "CONFIRMING" "the history"
block 4
for command in "${block[@]}"; do
  case $command in
    *127.0.0.1:50081*) run_ops "$command" '"name": "Confirm fx attempt 1"' ;; # the relay's
    "fxmesh trace "*)
      run_ops "$command"
      for service in coordinator krw-ledger fx-ledger relay; do
        expect "$out" "\"service\":\"$service\"" "fxmesh trace --json"
      done ;;
    *) run_ops "$command" ;;
  esac
done
block 5
for command in "${block[@]}"; do run_ops "$command"; done

echo "--- Pause and resume a ledger"
block 6
for command in "${block[@]}"; do
  run_ops "$command"
  [[ $command != *ListParticipants ]] || expect "$out" '"paused": true' "ListParticipants"
done
expect "$out" "active" "fxmesh resume"

echo "--- Resolve a stuck saga: mark two CONFIRMING sagas completed, one with each tool"
block 7
for command in "${block[@]}"; do
  case $command in
    *ProposeResolution) saga=${confirming[0]} ;;
    "fxmesh propose "*) saga=${confirming[1]} ;;
    *ApproveResolution) resolution=$fx_resolution ;;
    "fxmesh approve "*) resolution=$tool_resolution ;;
  esac
  run_ops "$command"
  case $command in
    *ProposeResolution) fx_resolution=$(grep -oE '"resolutionId": "[0-9]+"' <<<"$out" | cut -d'"' -f4) ;;
    "fxmesh propose "*) tool_resolution=$(sed -n 's/^resolution id: *//p' <<<"$out") ;;
    *) expect "$out" "APPROVED" "the approval" ;;
  esac
done
for saga in "${confirming[@]:0:2}"; do
  run_ops "fxmesh history $saga" "state: +COMPLETED"
done

echo "--- Propose to cancel two sagas the FX ledger's Try fault leaves TRYING"
run_ops "fx -d '{\"call\":\"FAULT_CALL_TRY\"}' \$FAULTS/ArmFault"
trying=("$(pending_exchange alice ops-trying-1)" "$(pending_exchange alice ops-trying-2)")
block 8
for command in "${block[@]}"; do
  case $command in
    *ProposeResolution) saga=${trying[0]} ;;
    "fxmesh propose "*) saga=${trying[1]} ;;
  esac
  run_ops "$command"
  expect "$out" "PROPOSED" "the proposal"
done
run_ops "fx -d '{\"call\":\"FAULT_CALL_TRY\"}' \$FAULTS/ClearFaults"
saga=${confirming[0]}
block 9
for command in "${block[@]}"; do
  run_ops "$command"
  expect "$out" "approve_resolution" "the audit log"
done

echo "--- Dead letters: the four Confirms, and a message that is not a BranchCommand"
# Bytes that are not even text, as an operator once put on the topic with kcat.
printf '\x00\xff\xfe binary' | kcat -b "$(cat .fxmesh/data/kafka-bootstrap)" -t fxmesh.branch.commands -P
run_ops "fxmesh alerts --json" '"deadLettersPending":"5"'
saga=${confirming[2]}
block 10
for command in "${block[@]}"; do
  run_ops "$command"
  expect "$out" "$saga" "the listing of dead letters"
  if [[ $command == *'{}'*/ListDeadLetters ]]; then
    for dead_saga in "${confirming[@]}"; do expect "$out" "$dead_saga" "ListDeadLetters"; done
    expect "$out" '"payload": "\\x00\\xff\\xfe binary"' "ListDeadLetters"
  fi
done
poison=$(tool dead-letters | awk '$2 == "-" {print $1}')
[[ -n $poison ]] || fail "no dead letter of the message that is not a BranchCommand"

# Fix the cause, then replay: the dead letters of the first two sagas one by one, the third saga's
# by its id, then all that are left, which are the fourth saga's and the poison one (skipped).
run_ops "fx -d '{}' \$FAULTS/ClearFaults"
block 11
for command in "${block[@]}"; do
  case $command in
    *'"dead_letter_id"'*) dead_letter=$(dead_letter_of "${confirming[0]}") ;;
    "fxmesh replay <dead letter id>"*) dead_letter=$(dead_letter_of "${confirming[1]}") ;;
    *) saga=${confirming[2]} ;;
  esac
  run_ops "$command"
  case $command in
    *'"all":true'*) expect "$out" "dead letter $poison: not a BranchCommand" "the replay of all" ;;
    *'"saga_id"'* | *'"dead_letter_id"'*) expect "$out" '"replayedBy": "kim"' "the replay" ;;
  esac
done
for saga in "${confirming[@]:2}"; do
  run_ops "fxmesh history $saga" "state: +COMPLETED"
done

dead_letter=$poison
block 12
for command in "${block[@]}"; do run_ops "$command"; done
expect "$out" '"dismissedBy": "lee"' "ApproveDismissal"
run_ops "fxmesh alerts --json" '"deadLettersPending":"0"'

echo "--- Reconcile, health, metrics"
for n in 13 14 15; do
  block "$n"
  for command in "${block[@]}"; do run_ops "$command"; done
done
expect "$out" 'fxmesh_alerts{alert="dead_letters_pending"} 0' "the coordinator's metrics"
echo "$doc's walkthrough ran as written"
