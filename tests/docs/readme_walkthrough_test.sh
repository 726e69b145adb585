#!/usr/bin/env bash
# Proves the README's `fxmesh` tool walkthrough runs as written: its commands, read from README.md,
# run in order against a fresh `fxmesh dev` mesh on free ports; each exits 0, the quote and saga ids
# a later command needs are taken from the earlier output (the README's <quote id>, <saga id>),
# and bob ends with 100.00 USD.
# Usage: readme_walkthrough_test.sh BIN_DIR SOURCE_DIR
# (The README's buf curl walkthrough needs npm and a download; this test runs the fxmesh tool's
# equivalent of it instead.)
set -euo pipefail
bin=$1
source_dir=$2
work=$(mktemp -d)

# An offset at which none of the mesh's ports answers; it moves 50051..50092 above the kernel's
# ephemeral range, where no other test's port-0 socket lands.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
offset=
for _ in $(seq 100); do
  candidate=$((11000 + RANDOM % 4000))
  all_free=1
  for port in 50051 50061 50062 50071 50081 50092 9051 9061 9062 9081; do
    port_free $((port + candidate)) || all_free=
  done
  if [[ -n $all_free ]]; then offset=$candidate; break; fi
done
[[ -n $offset ]] || { echo "no free port offset"; exit 1; }

"$bin/fxmesh" dev --bin "$bin" --data "$work/data" --rates "$source_dir/config/rates.txt" \
  --port-offset "$offset" >"$work/dev.log" 2>&1 &
dev_pid=$!
stop_mesh() {
  kill -TERM "$dev_pid" 2>/dev/null || true
  wait "$dev_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap stop_mesh EXIT
for _ in $(seq 600); do
  grep -q "fxmesh is running" "$work/dev.log" && break
  kill -0 "$dev_pid" 2>/dev/null || { cat "$work/dev.log"; exit 1; }
  sleep 0.2
done
grep -q "fxmesh is running" "$work/dev.log" || { cat "$work/dev.log"; exit 1; }

# The README's alias, pointed at this mesh's ports.
fxmesh() {
  "$bin/fxmesh" --coordinator "127.0.0.1:$((50051 + offset))" \
    --krw-ledger "127.0.0.1:$((50061 + offset))" --fx-ledger "127.0.0.1:$((50062 + offset))" "$@"
}

# The sh block under "### The same with the `fxmesh` tool".
mapfile -t commands < <(awk '/^### The same with the `fxmesh` tool/ {section = 1}
  section && /^```sh/ {block = 1; next}
  block && /^```/ {exit}
  block {print}' "$source_dir/README.md")
(( ${#commands[@]} >= 5 )) || { echo "no walkthrough found in README.md"; exit 1; }

quote_id=
saga_id=
last=
for command in "${commands[@]}"; do
  [[ $command == alias\ fxmesh=* ]] && continue
  command=${command//<quote id>/$quote_id}
  command=${command//<saga id>/$saga_id}
  echo "\$ $command"
  if ! last=$(eval "$command" 2>&1); then
    echo "$last"
    echo "FAILED: the README's command above did not exit 0"
    exit 1
  fi
  echo "$last"
  case $command in
    "fxmesh quote "*) quote_id=$(grep -o 'q-[0-9a-f]\{20\}' <<<"$last" | head -1) ;;
    "fxmesh exchange "*) saga_id=$(grep -o '[0-9a-f]\{32\}' <<<"$last" | head -1) ;;
    "fxmesh accounts show bob-usd"*) shown=$last ;;
  esac
done
[[ -n $quote_id && -n $saga_id ]] || { echo "FAILED: no quote or saga id in the output"; exit 1; }
grep -q "100.00 USD" <<<"${shown:-}" || { echo "FAILED: bob-usd does not show 100.00 USD"; exit 1; }
echo "the README's fxmesh walkthrough ran as written"
