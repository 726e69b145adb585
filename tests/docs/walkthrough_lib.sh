# Sourced by the walkthrough tests: a fresh `fxmesh dev` mesh on free ports, the docs' sh blocks
# read from the files, and a runner that runs their commands as written, in one shell, on that mesh.
# The sourcing script sets `bin` (the binaries) and `source_dir` (the repository), and `set -euo
# pipefail`. The mesh's data lives in $work/.fxmesh/data, where `make run` keeps it, and the runner
# works in $work, so the docs' `.fxmesh/data/...` and `build/src/fxmesh` paths hold as written.

shopt -s expand_aliases # the docs' `alias fx=...`
work=$(mktemp -d)
mesh_ports=(50051 50061 50062 50071 50081 50092 9051 9061 9062 9081)
background_pids=()
dev_args=() # more arguments of `fxmesh dev`, set before start_mesh
dev_pid=
trap stop_mesh EXIT

fail() {
  echo "FAILED: $*"
  exit 1
}

# start_mesh [NAME=VALUE...]: starts `fxmesh dev` with these environment variables at an offset
# where none of its ports answers; the offset moves 50051..50092 above the kernel's ephemeral
# range, where no other test's port-0 socket lands. Returns once the mesh serves.
start_mesh() {
  port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
  offset=
  for _ in $(seq 100); do
    local candidate=$((11000 + RANDOM % 4000)) all_free=1 port
    for port in "${mesh_ports[@]}"; do port_free $((port + candidate)) || all_free=; done
    if [[ -n $all_free ]]; then offset=$candidate; break; fi
  done
  [[ -n $offset ]] || fail "no free port offset"
  (cd "$work" && exec env "$@" "$bin/fxmesh" dev --bin "$bin" \
    --rates "$source_dir/config/rates.txt" --port-offset "$offset" "${dev_args[@]}") \
    >"$work/dev.log" 2>&1 &
  dev_pid=$!
  for _ in $(seq 600); do
    grep -q "fxmesh is running" "$work/dev.log" && break
    kill -0 "$dev_pid" 2>/dev/null || { cat "$work/dev.log"; fail "fxmesh dev exited"; }
    sleep 0.2
  done
  grep -q "fxmesh is running" "$work/dev.log" || { cat "$work/dev.log"; fail "no mesh in 120 s"; }
  # The docs' `alias fxmesh=build/src/fxmesh`, where `make run` builds it: the tool, pointed at this
  # mesh's ports. Only `health` and `trace` take the relay's address, after the command.
  mkdir -p "$work/build/src"
  cat >"$work/build/src/fxmesh" <<EOF
#!/usr/bin/env bash
case \$1 in health | trace) set -- "\$@" --relay 127.0.0.1:$((50081 + offset)) ;; esac
exec "$bin/fxmesh" --coordinator 127.0.0.1:$((50051 + offset)) \\
  --krw-ledger 127.0.0.1:$((50061 + offset)) --fx-ledger 127.0.0.1:$((50062 + offset)) "\$@"
EOF
  chmod +x "$work/build/src/fxmesh"
  cd "$work"
}

stop_mesh() {
  if declare -F before_stop >/dev/null; then before_stop || true; fi
  local pid
  for pid in "${background_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  [[ -z $dev_pid ]] || kill -TERM "$dev_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  cd /
  rm -rf "$work"
}

# service_pid NAME: the pid of this mesh's service NAME (krw-ledger, relay, ...), from the log.
service_pid() {
  sed -n "s/^fxmesh dev | $1 is serving\( again\)\? (pid \([0-9]*\))$/\2/p" "$work/dev.log" | tail -1
}

# doc_commands FILE PREFIX [N]: the commands of the Nth (default first) sh block after the first
# line of FILE that starts with PREFIX, NUL-separated. A command keeps its `\` continuation lines,
# the lines of a compound command it opens (`case ... esac`), and an indented comment line after
# it (its expected output); blank and comment lines go.
doc_commands() {
  local line command=
  while IFS= read -r -d '' line; do
    command+=${command:+$'\n'}$line
    # Placeholders such as `<saga id>` make a syntax error too, but not this one.
    [[ $(bash -n <<<"$command" 2>&1) == *"unexpected end of file"* ]] && continue
    printf '%s\0' "$command"
    command=
  done < <(doc_lines "$@")
  [[ -z $command ]] || printf '%s\0' "$command"
}

# doc_lines FILE PREFIX [N]: doc_commands before compound commands are joined: a command per line
# with its continuation and comment lines.
doc_lines() {
  awk -v prefix="$2" -v nth="${3:-1}" '
    !found && index($0, prefix) == 1 {found = 1}
    found && !inside && /^```sh/ {inside = 1; blocks++; next}
    inside && /^```/ {inside = 0; if (blocks == nth) exit; next}
    !inside || blocks != nth {next}
    continued {command = command "\n" $0; continued = /\\$/; next}
    /^ +#/ && command != "" {command = command "\n" $0; next}
    /^[[:space:]]*(#|$)/ {next}
    {if (command != "") printf "%s%c", command, 0; command = $0; continued = /\\$/}
    END {if (command != "") printf "%s%c", command, 0}' "$source_dir/$1"
}

# at_mesh_ports TEXT: TEXT with the mesh's default loopback ports moved by the offset.
at_mesh_ports() {
  local text=$1 port
  for port in "${mesh_ports[@]}"; do
    text=${text//127.0.0.1:$port/127.0.0.1:$((port + offset))}
  done
  printf '%s' "$text"
}

# expect TEXT WANTED [WHAT]: fails unless TEXT contains WANTED.
expect() {
  [[ $1 == *"$2"* ]] || fail "${3:-the output} does not show $2"
}

# The promises a command's comments make about its output: ALL_CAPS_NAMES and "json": values.
promises() {
  grep -o '[[:space:]]#.*' <<<"$1" | grep -oE '\b[A-Z]+(_[A-Z]+)+\b|"[A-Za-z]+": ("[^"]*"|true|false|[0-9]+)' || true
}

# run_doc COMMAND [UNTIL]: runs a doc's command in this shell, so its variables, functions and
# aliases stay for the next, at the mesh's ports, with "<a sagaId from above>" the last saga id
# printed. It must exit 0 and its output (in $out) show what its comments promise. With UNTIL
# (a regex), it is run again, for up to 60 s, until its output matches: what it reads comes from
# the relay, in its own time. A Kafka consumer without -e never ends: it runs in the background
# with its output in $work/consumer.N (N from 1, in order), until stop_consumers.
run_doc() {
  local command
  command=$(at_mesh_ports "$1")
  command=${command//<a sagaId from above>/${last_saga_id:-}}
  echo "\$ $command"
  if [[ $command == kcat\ * && $command =~ \ (-G|-C)\  && ! $command =~ \ -e\  ]]; then
    # A person starts such a consumer well before the step it watches; this runner starts that
    # step at once, before a new consumer group may have its partitions. Reading from the start
    # of the topics, the consumer misses nothing of what came after it either.
    echo "auto.offset.reset=earliest" >"$work/kcat.conf"
    (export KCAT_CONFIG=$work/kcat.conf && eval "exec $command") \
      >"$work/consumer.$((${#background_pids[@]} + 1))" 2>&1 &
    background_pids+=($!)
    return
  fi
  local status deadline=$((SECONDS + 60))
  while :; do
    status=0
    eval "$command" >"$work/out" 2>&1 || status=$?
    out=$(<"$work/out")
    [[ $status -ne 0 || -z ${2:-} || $out =~ $2 ]] && break
    ((SECONDS < deadline)) || { echo "$out"; fail "the output never matched $2"; }
    sleep 1
  done
  echo "$out"
  ((status == 0)) || fail "the command above exited $status"
  local promise
  while IFS= read -r promise; do
    [[ -z $promise ]] || expect "$out" "$promise" "the output, against its comment,"
  done < <(promises "$command")
  local ids
  ids=$(grep -oE '"sagaId": "[0-9a-f]{32}"' <<<"$out" || true)
  [[ -z $ids ]] || last_saga_id=$(tail -1 <<<"$ids" | cut -d'"' -f4)
}

# stop_consumers: ends the background consumers, so their output files are complete.
stop_consumers() {
  local pid
  for pid in "${background_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${background_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  background_pids=()
}

# tool ARGUMENTS...: the fxmesh tool on this mesh, for what a walkthrough needs set up first.
tool() { "$work/build/src/fxmesh" "$@"; }

# open_accounts CUSTOMER: CUSTOMER-krw with 1,000,000 KRW and CUSTOMER-usd, and 100,000 USD more
# in the bank's USD position, for exchanges of CUSTOMER's.
open_accounts() {
  tool accounts open "$1-krw" KRW --owner "$1" >/dev/null
  tool accounts open "$1-usd" USD --owner "$1" >/dev/null
  tool deposit "$1-krw" 1,000,000 KRW --request-id "$1-setup-krw" >/dev/null
  tool deposit position:USD 100,000 USD --request-id "$1-setup-usd" >/dev/null
}

# pending_exchange CUSTOMER KEY: exchanges 13,772 KRW of CUSTOMER's for 10.00 USD, which a ledger's
# armed dev fault leaves unfinished (PENDING, exit 5); prints the saga id.
pending_exchange() {
  local quote status=0
  quote=$(tool quote KRW USD --buy 10 | sed -n 's/^quote id: *//p')
  tool exchange --quote "$quote" --from "$1-krw" --to "$1-usd" --customer "$1" --key "$2" \
    --timeout 2 >"$work/exchange" 2>&1 || status=$?
  ((status == 5)) || { cat "$work/exchange"; fail "exchange $2 exited $status, not 5 (PENDING)"; } >&2
  sed -n 's/^saga id: *//p' "$work/exchange"
}

# need_kcat: fails unless the docs' Kafka client is installed.
need_kcat() {
  command -v kcat >/dev/null || fail "kcat is missing: install Debian's kcat (make deps does, as root)"
}

# install_buf COMMAND [CACHE_DIR]: runs the README's `npm install @bufbuild/buf` in CACHE_DIR
# (default ~/.cache/fxmesh-walkthrough), outside the source tree and kept between runs, and links
# its node_modules here for `npx buf`.
install_buf() {
  local cache=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/fxmesh-walkthrough}
  command -v npm >/dev/null ||
    fail "npm is missing: install Debian's nodejs and npm (make deps does, as root)"
  mkdir -p "$cache"
  echo "\$ $1   (in $cache)"
  (cd "$cache" && flock 9 && eval "$1") 9>"$cache/.lock" || fail "the command above did not exit 0"
  ln -s "$cache/node_modules" "$work/node_modules"
}
