#!/usr/bin/env bash
# Proves the image `make image` saved runs as Kubernetes runs it: loaded into a dockerd of its own
# (scripts/image-dockerd.sh), each service (krw-ledger, fx-ledger, coordinator, relay) runs in its
# own container with a read-only root, every capability dropped, uid 10001, no-new-privileges, a
# tmpfs data folder and host networking on free loopback ports; each answers gRPC health SERVING
# and lists its services by reflection (buf curl, as the docs use it); the image's own `fxmesh`
# tool, in a container alike, completes one exchange through the containerised mesh (its Confirms
# travel through Kafka and the relay); then `docker stop --time 30` (SIGTERM) stops each, and each
# must exit 0 or 143 (terminated by SIGTERM) within the manifests' 20 s grace period, never
# SIGKILLed. It also checks what the image is: uid 10001, the OCI labels, no compiler, the CA
# bundle, and every binary's shared libraries present.
# Usage: image_test.sh IMAGE_DIR BIN_DIR [BUF_CACHE_DIR]
#   IMAGE_DIR: where `make image` saved fxmesh-<version>.tar; BIN_DIR: a host build with
#   fxmesh-kafka (the relay's and coordinator's broker, librdkafka's mock cluster, on loopback).
set -euo pipefail

image_dir=$1
bin=$2
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
buf_cache=${3:-$image_dir/buf}
# Kubernetes' terminationGracePeriodSeconds in k8s/ (base and relay Deployments): a service must
# be gone well within it after SIGTERM.
grace_seconds=20

fail() {
  echo "FAILED: $*" >&2
  exit 1
}
# shellcheck source=scripts/image-dockerd.sh
source "$source_dir/scripts/image-dockerd.sh"

version=$(sed -nE 's/^project\(fxmesh VERSION ([0-9][0-9.]*).*/\1/p' "$source_dir/CMakeLists.txt")
image_tar=$image_dir/fxmesh-$version.tar
[[ -s $image_tar ]] || fail "no image at $image_tar: run 'make image' first"
[[ -x $bin/fxmesh-kafka ]] || fail "no $bin/fxmesh-kafka: build it first (make image-test does)"
command -v npm >/dev/null || fail "npm is missing: install Debian's nodejs and npm (make deps)"
image=fxmesh:$version
commit_tag=$(cat "$image_dir/fxmesh-$version.tag")

work=$(mktemp -d)
containers=()
kafka_pid=
cleanup() {
  local name
  for name in "${containers[@]}"; do "$docker" rm -f "$name" >/dev/null 2>&1 || true; done
  [[ -z $kafka_pid ]] || { kill -TERM "$kafka_pid" 2>/dev/null; wait "$kafka_pid" 2>/dev/null; } || true
  image_dockerd_stop
  rm -rf "$work"
}
trap cleanup EXIT

echo "--- buf (npm install @bufbuild/buf in $buf_cache)"
mkdir -p "$buf_cache"
(cd "$buf_cache" && flock 9 && npm install --no-audit --no-fund --silent @bufbuild/buf) \
  9>"$buf_cache/.lock" || fail "npm install @bufbuild/buf failed"
buf=$buf_cache/node_modules/.bin/buf
[[ -x $buf ]] || fail "npm installed no $buf"

image_install_packages docker.io
image_dockerd_start
"$docker" load --input "$image_tar" >/dev/null
echo "--- loaded $image and fxmesh:$commit_tag from $image_tar"

# What the image is.
label() { "$docker" image inspect --format "{{index .Config.Labels \"org.opencontainers.image.$1\"}}" "$image"; }
[[ $(label version) == "$version" ]] || fail "label version is '$(label version)', not $version"
revision=$(label revision)
[[ $revision =~ ^[0-9a-f]{40}(-dirty)?$ ]] || fail "label revision '$revision' is no commit"
[[ $commit_tag == "$version-${revision:0:12}"* ]] ||
  fail "the commit tag $commit_tag does not name the revision label $revision"
"$docker" image inspect "fxmesh:$commit_tag" >/dev/null || fail "no fxmesh:$commit_tag tag"
[[ $(label title) == fxmesh ]] || fail "label title is '$(label title)'"
[[ $(label created) =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T ]] || fail "label created '$(label created)'"
head=$(git -C "$source_dir" rev-parse HEAD 2>/dev/null || echo unknown)
[[ ${revision%-dirty} == "$head" ]] || echo "note: the image is of $revision; HEAD is $head"
user=$("$docker" image inspect --format '{{.Config.User}}' "$image")
[[ $user == 10001:10001 ]] || fail "the image's user is '$user', not 10001:10001"

run() { "$docker" run --rm --network host "$image" "$@"; }
[[ $(run id -u):$(run id -g) == 10001:10001 ]] || fail "a container runs as $(run id), not 10001"
if run sh -c 'command -v g++ || command -v gcc || command -v c++ || command -v cc'; then
  fail "the image has a compiler"
fi
run test -s /etc/ssl/certs/ca-certificates.crt || fail "no CA bundle in the image"
missing=$(run sh -c 'ldd /usr/local/bin/fxmesh*' | grep 'not found' || true)
[[ -z $missing ]] || fail "shared libraries missing from the image: $missing"
echo "ok: labels (version $version, revision $revision), uid 10001, no compiler, CA bundle, libraries"

# Free loopback ports, held by nothing once returned (host networking: the containers bind them).
free_ports() {
  /usr/bin/python3 -c '
import socket, sys
held = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in held: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))' "$1"
}
read -r krw fx coordinator relay kafka_control kafka_port m_krw m_fx m_coord m_relay \
  <<<"$(free_ports 10)"

"$bin/fxmesh-kafka" --listen="127.0.0.1:$kafka_control" --bootstrap_port="$kafka_port" \
  --bootstrap_file="$work/kafka-bootstrap" >"$work/kafka.log" 2>&1 &
kafka_pid=$!
for _ in $(seq 100); do [[ -s $work/kafka-bootstrap ]] && break; sleep 0.2; done
brokers=$(head -1 "$work/kafka-bootstrap" 2>/dev/null) || true
[[ -n $brokers ]] || { cat "$work/kafka.log"; fail "the embedded Kafka wrote no bootstrap address"; }

# run_service NAME BINARY [NAME=VALUE...]: starts BINARY from the image as a Deployment would.
run_service() {
  local name=$1 binary=$2
  shift 2
  local env=() pair
  for pair in "$@"; do env+=(--env "$pair"); done
  local container="fxmesh-image-test-$$-$name"
  containers+=("$container")
  "$docker" run --detach --name "$container" --network host \
    --read-only --cap-drop ALL --user 10001:10001 --security-opt no-new-privileges \
    --tmpfs /var/lib/fxmesh:rw,noexec,nosuid,size=64m,uid=10001,gid=10001,mode=0750 \
    "${env[@]}" "$image" "$binary" >/dev/null
}

# grpc ADDRESS ARGS...: buf curl over plaintext HTTP/2, as the docs' `fx` alias.
grpc() {
  local address=$1
  shift
  "$buf" curl --protocol grpc --http2-prior-knowledge "$@" "http://$address"
}

# serving NAME PORT WANTED_SERVICE: waits until health says SERVING, then lists by reflection.
serving() {
  local name=$1 port=$2 wanted=$3 out=
  for _ in $(seq 150); do
    out=$(grpc "127.0.0.1:$port/grpc.health.v1.Health/Check" -d '{}' 2>&1) && break
    [[ $("$docker" inspect --format '{{.State.Running}}' "fxmesh-image-test-$$-$name") == true ]] || {
      "$docker" logs "fxmesh-image-test-$$-$name" 2>&1 | tail -20
      fail "$name exited at start"
    }
    sleep 0.2
  done
  [[ $out == *'"status": "SERVING"'* ]] || fail "$name's health answered: $out"
  local services
  services=$(grpc "127.0.0.1:$port" --list-services) || fail "$name: reflection failed"
  [[ $services == *grpc.health.v1.Health* && $services == *"$wanted"* ]] ||
    fail "$name lists by reflection: $services (no $wanted)"
  echo "ok: $name SERVING on 127.0.0.1:$port; reflection lists $(echo $services)"
}

started=$(date +%s)
run_service krw-ledger fxmesh-krw-ledger FXMESH_LISTEN="127.0.0.1:$krw" \
  FXMESH_DB=sqlite:/var/lib/fxmesh/krw-ledger.db FXMESH_METRICS_LISTEN="127.0.0.1:$m_krw"
run_service fx-ledger fxmesh-fx-ledger FXMESH_LISTEN="127.0.0.1:$fx" \
  FXMESH_DB=sqlite:/var/lib/fxmesh/fx-ledger.db FXMESH_METRICS_LISTEN="127.0.0.1:$m_fx"
serving krw-ledger "$krw" fxmesh.v1.LedgerService
serving fx-ledger "$fx" fxmesh.v1.LedgerService
run_service coordinator fxmesh-coordinator FXMESH_LISTEN="127.0.0.1:$coordinator" \
  FXMESH_DB=sqlite:/var/lib/fxmesh/coordinator.db FXMESH_METRICS_LISTEN="127.0.0.1:$m_coord" \
  FXMESH_KRW_LEDGER="127.0.0.1:$krw" FXMESH_FX_LEDGER="127.0.0.1:$fx" \
  FXMESH_KAFKA_BROKERS="$brokers"
run_service relay fxmesh-relay FXMESH_LISTEN="127.0.0.1:$relay" \
  FXMESH_METRICS_LISTEN="127.0.0.1:$m_relay" FXMESH_KRW_LEDGER="127.0.0.1:$krw" \
  FXMESH_FX_LEDGER="127.0.0.1:$fx" FXMESH_KAFKA_BROKERS="$brokers"
serving coordinator "$coordinator" fxmesh.v1.ExchangeService
serving relay "$relay" fxmesh.v1.TraceService
echo "ok: the mesh serves $(($(date +%s) - started))s after the first container started"

# The README's tool walkthrough, with the image's own `fxmesh` in a container like the services.
tool() {
  "$docker" run --rm --network host --read-only --cap-drop ALL --user 10001:10001 \
    --security-opt no-new-privileges "$image" fxmesh --coordinator "127.0.0.1:$coordinator" \
    --krw-ledger "127.0.0.1:$krw" --fx-ledger "127.0.0.1:$fx" "$@"
}
tool accounts open bob-krw KRW --owner bob >/dev/null
tool accounts open bob-usd USD --owner bob >/dev/null
tool deposit bob-krw 1,000,000 KRW --request-id dep-bob-1 >/dev/null
tool deposit position:USD 100,000 USD --request-id fund-usd-2 >/dev/null
quote=$(tool quote KRW USD --buy 100 | grep -o 'q-[0-9a-f]\{20\}' | head -1)
[[ -n $quote ]] || fail "fxmesh quote printed no quote id"
exchange=$(tool exchange --quote "$quote" --from bob-krw --to bob-usd --customer bob --key bob-ex-1) ||
  fail "fxmesh exchange: $exchange"
[[ $exchange == *COMPLETED* ]] || fail "the exchange did not complete: $exchange"
account=$(tool accounts show bob-usd)
[[ $account == *100.00* ]] || fail "bob-usd does not hold 100.00 USD: $account"
# Its two Confirms went out through Kafka and the relay container executed them.
relay_commands=$(/usr/bin/python3 -c '
import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
print(int(sum(float(line.split()[-1]) for line in text.splitlines()
              if line.startswith("fxmesh_relay_commands_total"))))' \
  "http://127.0.0.1:$m_relay/metrics") || fail "the relay's /metrics did not answer"
((relay_commands >= 2)) || fail "the relay executed $relay_commands commands, not the 2 Confirms"
echo "ok: one exchange COMPLETED through the containers; bob-usd holds 100.00 USD;" \
  "the relay executed $relay_commands commands"

# SIGTERM, as Kubernetes stops a pod: the relay and the coordinator first, then the ledgers.
for name in relay coordinator fx-ledger krw-ledger; do
  container="fxmesh-image-test-$$-$name"
  begin=$(date +%s.%N)
  "$docker" stop --time 30 "$container" >/dev/null
  seconds=$(awk -v begin="$begin" -v end="$(date +%s.%N)" 'BEGIN { printf "%.1f", end - begin }')
  code=$("$docker" inspect --format '{{.State.ExitCode}}' "$container")
  oom=$("$docker" inspect --format '{{.State.OOMKilled}}' "$container")
  [[ $code == 0 || $code == 143 ]] || {
    "$docker" logs "$container" 2>&1 | tail -20
    fail "$name exited $code after SIGTERM (137 is SIGKILL: it did not stop in 30 s)"
  }
  [[ $oom == false ]] || fail "$name was killed for memory"
  awk -v s="$seconds" -v g="$grace_seconds" 'BEGIN { exit !(s < g) }' ||
    fail "$name took ${seconds}s to stop, not within the ${grace_seconds}s grace period"
  echo "ok: $name stopped on SIGTERM in ${seconds}s, exit code $code"
done
echo "image test passed: $image ($commit_tag)"
