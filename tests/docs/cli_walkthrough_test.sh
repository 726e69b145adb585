#!/usr/bin/env bash
# Proves docs/cli.md's sh blocks run as written: read from the file, run in order in one shell
# against a fresh `fxmesh dev` mesh on free ports, after docs/operations.md's first block (which
# installs `buf` with npm into CACHE_DIR and sets the `fx` and `fxmesh` aliases the blocks use).
# Every command exits 0 and shows what its comment promises. `fxmesh help` lists the commands; the
# exit code script, run as one command since its `case` reads the exchange's exit status, exchanges
# alice's KRW and says `done`; the maker-checker pair marks completed a saga that the FX ledger's
# Confirm fault left CONFIRMING; and the dev fault block's Try fault refuses the Trys of an exchange
# made while it is armed, which completes once the fault is cleared, as the prose after it says.
# Usage: cli_walkthrough_test.sh BIN_DIR SOURCE_DIR [CACHE_DIR]
set -euo pipefail
bin=$1
source_dir=$2
source "$source_dir/tests/docs/walkthrough_lib.sh"

doc=docs/cli.md
mapfile -d '' -t setup < <(doc_commands docs/operations.md '# Operating fxmesh')
mapfile -d '' -t help < <(doc_commands $doc '# The `fxmesh` command-line tool')
mapfile -d '' -t exit_codes < <(doc_commands $doc '## Exit codes')
mapfile -d '' -t resolution < <(doc_commands $doc '### `propose SAGA_ID')
mapfile -d '' -t faults < <(doc_commands $doc '## Dev faults')
mapfile -d '' -t after < <(doc_commands $doc '## Dev faults' 2)
((${#help[@]} == 2 && ${#exit_codes[@]} == 3 && ${#resolution[@]} == 2 && ${#faults[@]} == 5 &&
  ${#after[@]} == 0)) || fail "$doc's blocks changed shape: update this test with them"
[[ ${setup[0]} == "npm install "* ]] || fail "docs/operations.md no longer starts with npm install"

install_buf "${setup[0]%%#*}" "${3:-}"
start_mesh
for command in "${setup[@]:1}"; do run_doc "$command"; done

for command in "${help[@]}"; do run_doc "$command"; done
expect "$out" "fxmesh exchange --quote" "fxmesh help exchange"

open_accounts alice
# The exchange and the `case` that reads its exit status are one script.
printf -v script '%s\n' "${exit_codes[@]}"
run_doc "$script"
[[ ${out##*$'\n'} == "done" ]] || fail "the exit code script did not end with done"

# A saga left CONFIRMING by the FX ledger's Confirm fault: what `propose` is for.
run_doc "${faults[0]}" # FAULTS=...
run_doc "fx -d '{\"call\":\"FAULT_CALL_CONFIRM\"}' \$FAULTS/ArmFault"
saga=$(pending_exchange alice cli-confirming)
run_doc "fx -d '{}' \$FAULTS/ClearFaults"
run_doc "${resolution[0]//<saga id>/$saga}"
resolution_id=$(sed -n 's/^resolution id: *//p' <<<"$out")
run_doc "${resolution[1]//<resolution id>/$resolution_id}"
expect "$out" "APPROVED" "fxmesh approve"
run_doc "fxmesh history $saga" "state: +COMPLETED"

for command in "${faults[@]:1}"; do
  run_doc "$command"
  case $command in
    */ArmFault*)
      # The prose after the block: an exchange made now stays PENDING in TRYING, and its history
      # shows each refused Try.
      saga=$(pending_exchange alice cli-trying)
      run_doc "fxmesh sagas --active" "$saga +TRYING"
      run_doc "fxmesh history $saga" "UNAVAILABLE: dev fault armed on Try \(LedgerFaultService\)" ;;
    */GetFaults*) expect "$out" '"call": "FAULT_CALL_TRY"' "GetFaults" ;;
    *'{"call":"FAULT_CALL_TRY"}'*/ClearFaults*) run_doc "fxmesh history $saga" "state: +COMPLETED" ;;
  esac
done
expect "$out" "{}" "the last ClearFaults"
echo "$doc's walkthrough ran as written"
