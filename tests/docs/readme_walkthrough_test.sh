#!/usr/bin/env bash
# Proves the README's `fxmesh` tool walkthrough runs as written: its commands, read from README.md,
# run in order against a fresh `fxmesh dev` mesh on free ports; each exits 0, the quote and saga ids
# a later command needs are taken from the earlier output (the README's <quote id>, <saga id>),
# and bob ends with 100.00 USD.
# Usage: readme_walkthrough_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin=$1
source_dir=$2
source "$source_dir/tests/docs/walkthrough_lib.sh"
start_mesh

mapfile -d '' -t commands < <(doc_commands README.md '### The same with the `fxmesh` tool')
(( ${#commands[@]} >= 5 )) || fail "no walkthrough found in README.md"

quote_id=
saga_id=
for command in "${commands[@]}"; do
  command=${command//<quote id>/$quote_id}
  command=${command//<saga id>/$saga_id}
  run_doc "$command"
  case $command in
    "fxmesh quote "*) quote_id=$(grep -o 'q-[0-9a-f]\{20\}' <<<"$out" | head -1) ;;
    "fxmesh exchange "*) saga_id=$(grep -o '[0-9a-f]\{32\}' <<<"$out" | head -1) ;;
    "fxmesh accounts show bob-usd"*) shown=$out ;;
  esac
done
[[ -n $quote_id && -n $saga_id ]] || fail "no quote or saga id in the output"
expect "${shown:-}" "100.00 USD" "bob-usd"
echo "the README's fxmesh walkthrough ran as written"
