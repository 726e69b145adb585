#!/usr/bin/env bash
# `make run`: starts the fxmesh services that exist so far on loopback with SQLite files under
# .fxmesh/data (kept between runs), prefixes their log lines by service, waits until each is
# serving, prints how to call them, and stops them all gracefully on Ctrl-C.
set -euo pipefail
build_dir=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
data=${FXMESH_DATA:-$root/.fxmesh/data}
mkdir -p "$data"

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo
  echo "stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "stopped; data kept in $data"
}
trap stop_all INT TERM EXIT

color() { if [ -t 1 ]; then printf '\033[%sm%s\033[0m' "$1" "$2"; else printf '%s' "$2"; fi; }

# start NAME COLOR BINARY ARGS...: runs a service with its log lines prefixed by its name.
start() {
  local name=$1 shade=$2 binary=$3
  shift 3
  local prefix
  prefix=$(color "$shade" "$(printf '%-11s|' "$name")")
  "$root/$build_dir/src/$binary" "$@" > >(sed -u "s/^/$prefix /") 2>&1 &
  pids+=($!)
}

wait_serving() {
  local port=$1 name=$2
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$name did not start listening on port $port; see its log lines above" >&2
  exit 1
}

# The embedded Kafka keeps its messages in memory; its brokers' ports are chosen at start-up and
# written to a file the coordinator reads.
rm -f "$data/kafka-bootstrap"
start kafka 34 fxmesh-kafka --listen=127.0.0.1:50071 --bootstrap_file="$data/kafka-bootstrap"
for _ in $(seq 1 100); do [ -s "$data/kafka-bootstrap" ] && break; sleep 0.1; done
[ -s "$data/kafka-bootstrap" ] || { echo "the embedded Kafka did not start; see its log lines above" >&2; exit 1; }
kafka_brokers=$(cat "$data/kafka-bootstrap")

start krw-ledger 36 fxmesh-krw-ledger --listen=127.0.0.1:50061 --db="sqlite:$data/krw-ledger.db" \
  --metrics_listen=127.0.0.1:9061
start fx-ledger 35 fxmesh-fx-ledger --listen=127.0.0.1:50062 --db="sqlite:$data/fx-ledger.db" \
  --metrics_listen=127.0.0.1:9062
wait_serving 50061 krw-ledger
wait_serving 50062 fx-ledger
start coordinator 33 fxmesh-coordinator --listen=127.0.0.1:50051 --db="sqlite:$data/coordinator.db" \
  --rates="$root/config/rates.txt" --krw_ledger=127.0.0.1:50061 --fx_ledger=127.0.0.1:50062 \
  --kafka_brokers="$kafka_brokers" --metrics_listen=127.0.0.1:9051
wait_serving 50051 coordinator
start relay 32 fxmesh-relay --listen=127.0.0.1:50081 --kafka_brokers="$kafka_brokers" \
  --krw_ledger=127.0.0.1:50061 --fx_ledger=127.0.0.1:50062 --metrics_listen=127.0.0.1:9081
wait_serving 50081 relay

cat <<BANNER

$(color 32 "fxmesh is running")
  coordinator 127.0.0.1:50051   ExchangeService, OpsService   data: $data/coordinator.db
  krw-ledger  127.0.0.1:50061   KRW              data: $data/krw-ledger.db
  fx-ledger   127.0.0.1:50062   USD EUR JPY CNY  data: $data/fx-ledger.db
  relay       127.0.0.1:50081   (health only; works from Kafka)
  kafka       $kafka_brokers   (control: 127.0.0.1:50071)

Prometheus metrics (docs/operations.md lists them):
  curl -s 127.0.0.1:9051/metrics   # coordinator; 9061 krw-ledger, 9062 fx-ledger, 9081 relay

Saga events as they happen:
  kcat -b $kafka_brokers -t fxmesh.saga.events -C -f '%k %s\n' 

Try it with a reflection client (README.md, "Try it"):
  npm install @bufbuild/buf
  npx buf curl --protocol grpc --http2-prior-knowledge --list-methods http://127.0.0.1:50051

Ctrl-C stops everything; data is kept for the next run.
BANNER

wait
