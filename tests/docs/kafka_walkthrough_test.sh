#!/usr/bin/env bash
# Proves docs/kafka.md's hand-run commands work as written against `make run`'s mesh: a fresh
# `fxmesh dev` on free ports, started with the environment the walkthrough gives it, set up with
# the README's buf curl walkthroughs (the `fx`, `quote` and `exchange` helpers, alice's accounts,
# and the TCC branch by hand) and then the outbox reader, the relay's "Try it", the compensation, the retry and dead
# letter, and the fault injection blocks, read from docs/kafka.md and run in order in one shell.
# Every command exits 0 and shows what its comment promises; the topics, read by the walkthrough's
# own consumers, carry what the prose says they carry.
# Usage: kafka_walkthrough_test.sh BIN_DIR SOURCE_DIR [CACHE_DIR]
set -euo pipefail
bin=$1
source_dir=$2
source "$source_dir/tests/docs/walkthrough_lib.sh"
need_kcat

doc=docs/kafka.md
watch='### Watch a compensation, a retry and a dead letter flow through the topics'
mapfile -d '' -t readme < <(doc_commands README.md 'The same by hand, call by call')
mapfile -d '' -t by_hand < <(doc_commands README.md '### Under the hood: one TCC branch by hand')
mapfile -d '' -t outbox < <(doc_commands $doc '## The outbox')
mapfile -d '' -t try_it < <(doc_commands $doc 'Try it with `make run`')
mapfile -d '' -t start < <(doc_commands $doc "$watch" 1)
mapfile -d '' -t compensation < <(doc_commands $doc "$watch" 2)
mapfile -d '' -t dead_letter < <(doc_commands $doc "$watch" 3)
mapfile -d '' -t replay < <(doc_commands $doc "$watch" 4)
mapfile -d '' -t faults < <(doc_commands $doc '### Fault injection')
((${#outbox[@]} == 1 && ${#try_it[@]} == 6 && ${#start[@]} == 3 && ${#compensation[@]} == 2 &&
  ${#dead_letter[@]} == 4 && ${#replay[@]} == 3 && ${#faults[@]} == 4)) ||
  fail "$doc's walkthrough blocks changed shape: update this test with them"
[[ ${readme[0]} == "npm install "* ]] || fail "the README's walkthrough no longer starts with npm"

install_buf "${readme[0]%%#*}" "${3:-}"
# "FXMESH_TIER_DELAYS_MS=2000,2000 make run": the mesh, with the environment that line gives it.
read -ra make_run <<<"${start[0]%%#*}"
[[ ${make_run[-2]} == make && ${make_run[-1]} == run ]] || fail "no 'make run' in $doc"
start_mesh "${make_run[@]:0:${#make_run[@]}-2}"
krw_pid=$(service_pid krw-ledger)
# A failure while the walkthrough has the KRW ledger stopped must not leave it stopped.
before_stop() { kill -CONT "$krw_pid"; }
# The walkthrough signals the process its pgrep names: that must be this mesh's KRW ledger and
# nothing else on the machine.
check_pgrep() {
  local pattern
  pattern=$(grep -oE "pgrep -f '[^']*'" <<<"$(at_mesh_ports "$1")" | cut -d"'" -f2)
  [[ -n $pattern && $(pgrep -f "$pattern" | tr '\n' ' ') == "$krw_pid " ]] ||
    fail "the pgrep in '$1' names other processes than this mesh's KRW ledger ($krw_pid)"
}

# After both of the README's buf curl walkthroughs, as a reader who followed them would be: every
# walkthrough has saga ids and keys of its own, so each runs as written after the others.
for command in "${readme[@]:1}" "${by_hand[@]}" "${start[@]:1}" "${outbox[@]}"; do
  run_doc "$command"
done
watcher=$work/consumer.1
events=$work/consumer.2

# The relay's own "Try it": its result for S, read back until the relay has published it.
same_line=$'[^\n]*'
for command in "${try_it[@]}"; do
  case $command in
    kcat*fxmesh.branch.results*)
      read_results=$command
      run_doc "$command" "$S ${same_line}OUTCOME_APPLIED" ;;
    kcat*fxmesh.branch.dlq*) read_dead_letters=$command; run_doc "$command" ;;
    *) run_doc "$command" ;;
  esac
done

for command in "${compensation[@]}"; do run_doc "$command"; done
cancelled=$last_saga_id
run_doc "fx -d '{\"saga_id\":\"$cancelled\"}' \$OPS/GetSagaHistory" '"state": "SAGA_STATE_CANCELLED"'

for command in "${dead_letter[@]}"; do
  [[ $command != *pgrep* ]] || check_pgrep "$command"
  run_doc "$command"
done
dead=$S
for command in "${replay[@]}"; do
  [[ $command != *pgrep* ]] || check_pgrep "$command"
  case $command in
    */ListDeadLetters*) run_doc "$command" "\"sagaId\": \"$dead\"" ;;
    *) run_doc "$command" ;;
  esac
done
expect "$out" '"replayedBy": "kim"' "ReplayDeadLetters"

# The replayed command's result, then the dead letter's headers as the prose quotes them.
run_doc "$read_results" "$dead ${same_line}\"attempt\":1,${same_line}OUTCOME_APPLIED"
run_doc "$read_dead_letters"
header=$(grep -o 'fxmesh-error=[^`]*' "$source_dir/$doc")
expect "$out" "$dead $header" "the dead letter's headers"

stop_consumers
echo "--- what the walkthrough's consumers read"
cat "$watcher" "$events"
shows() { grep -E "$1" "$2" >/dev/null || fail "the consumer did not show $1"; }
krw="\"branch\":\"krw\""
fx="\"branch\":\"fx\""
shows "^fxmesh.branch.commands $cancelled .*$krw.*BRANCH_OP_CANCEL" "$watcher"
shows "^fxmesh.branch.commands $cancelled .*$fx.*BRANCH_OP_CANCEL" "$watcher"
shows "^fxmesh.branch.results $cancelled .*$krw.*OUTCOME_NULL_COMPENSATION" "$watcher"
shows "^fxmesh.branch.results $cancelled .*$fx.*OUTCOME_APPLIED" "$watcher"
shows "^fxmesh.branch.retry.5s $dead .*\"attempt\":2" "$watcher"
shows "^fxmesh.branch.retry.30s $dead .*\"attempt\":3" "$watcher"
shows "^fxmesh.branch.dlq $dead " "$watcher"
shows "^fxmesh.branch.results $dead .*\"attempt\":1,.*OUTCOME_APPLIED" "$watcher"
shows "^$cancelled .*traceparent=00-$cancelled-.*SAGA_STATE_CANCELLED" "$events"

# Fault injection last, since it slows Kafka down; then the brokers are made whole again, so the
# mesh stops in seconds.
for command in "${faults[@]}"; do run_doc "$command"; done
expect "$out" '"latencyMs": 500' "Describe"
control=$(at_mesh_ports http://127.0.0.1:50071/fxmesh.v1.KafkaControlService)
run_doc "fx -d '{\"broker_id\":2,\"up\":true}' $control/SetBrokerUp"
run_doc "fx -d '{\"broker_id\":1,\"latency_ms\":0}' $control/SetBrokerLatency"
echo "docs/kafka.md's walkthrough ran as written"
