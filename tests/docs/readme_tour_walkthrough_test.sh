#!/usr/bin/env bash
# Proves the README's quickest tour runs as written: its commands, read from README.md under
# "## Try it", run in order in one shell against a fresh `fxmesh dev` mesh on free ports; each exits
# 0. `fxmesh demo` tells its whole story, `fxmesh sagas` lists the demo's sagas newest last, the
# <a saga id> of the trace and the history is the newest of them (the demo's stuck exchange that two
# operators cancelled), its waterfall has spans from all four services, and the metrics count as
# many sagas in each state as `fxmesh sagas` shows, zeros included.
# Usage: readme_tour_walkthrough_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin=$1
source_dir=$2
source "$source_dir/tests/docs/walkthrough_lib.sh"

mapfile -d '' -t commands < <(doc_commands README.md '## Try it')
((${#commands[@]} == 6)) || fail "README.md's quickest tour changed shape: update this test with it"
start_mesh

saga_id=
for command in "${commands[@]}"; do
  command=${command//<a saga id>/$saga_id}
  run_doc "$command"
  case $command in
    "fxmesh demo "*)
      expect "$out" "Done." "the demo"
      demo_sagas=$(grep -oE '^   saga [0-9a-f]{32}' <<<"$out" | cut -c9- | awk '!seen[$0]++') ;;
    "fxmesh sagas "*)
      sagas=$out
      saga_id=$(grep -oE '^[0-9a-f]{32}' <<<"$out" | tail -1) ;;
    "fxmesh trace "*)
      for service in coordinator krw-ledger fx-ledger relay; do
        grep -q "^$service " <<<"$out" || fail "the waterfall has no span of the $service"
      done ;;
    "fxmesh history "*) expect "$out" "state:         CANCELLED" "the stuck exchange's history" ;;
    "curl "*) metrics=$out ;;
  esac
done

[[ -n ${demo_sagas:-} && -n ${sagas:-} && -n ${metrics:-} ]] || fail "a step of the tour did not run"
[[ $(grep -oE '^[0-9a-f]{32}' <<<"$sagas") == "$demo_sagas" ]] ||
  fail "fxmesh sagas does not list the demo's sagas, newest last"
for state in CREATED TRYING CONFIRMING CANCELLING COMPLETED CANCELLED; do
  count=$(grep -cE "^[0-9a-f]{32}  +$state " <<<"$sagas" || true)
  expect "$metrics" "fxmesh_sagas{state=\"$state\"} $count" "the metrics"
done
echo "the README's quickest tour ran as written"
