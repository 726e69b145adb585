#!/usr/bin/env bash
# `make bench`: runs every scenario of fxmesh-bench (bench/; docs/benchmarks.md says what each is)
# against a throw-away PostgreSQL server restarted with fsync and synchronous_commit on, then writes
# the raw figures (bench/results/latest.json), two pictures (bench/results/throughput.png and
# latency.png) and the results section of docs/benchmarks.md.
#   run-benchmarks.sh [BUILD_DIR]
# Knobs, from the environment: SCENARIOS (comma-separated; default all), CONCURRENCY (closed-loop
# sweep, default 1,4,16,64,256), SECONDS_EACH (5), WARMUP_SECONDS (1), RUNS (3), OPEN_LOOP
# (fractions of saturation, default 0.5,0.8), OUT_JSON (default bench/results/latest.json),
# CUSTOMERS_1M (customers of fxmesh-sqlite-1m-accounts, default 1000000),
# RECOVERY (0 skips the recovery measurement), RECOVERY_SAGAS (1000), RSS (0 skips the
# per-service memory measurement; it runs each concurrency of RSS_CONCURRENCY, default 64,256, for
# SECONDS_EACH).
set -euo pipefail
build_dir=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
out_json=${OUT_JSON:-$root/bench/results/latest.json}
png=$root/bench/results/throughput.png
latency_png=$root/bench/results/latency.png
doc=$root/docs/benchmarks.md
work=$(mktemp -d)
chmod 755 "$work"
trap '"$root/scripts/test-postgres.sh" stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

command -v gnuplot >/dev/null || { echo "gnuplot not found; run 'make deps'" >&2; exit 1; }
mkdir -p "$(dirname "$out_json")" "$(dirname "$png")"

# The test server runs with fsync off (tests/CMakeLists.txt); the bench measures durable commits,
# so it restarts the server with fsync and synchronous_commit on, and with prepared transactions
# for the two-phase-commit baseline (32 workers, each with at most two prepared at once).
"$root/scripts/test-postgres.sh" start "$work/pg" >/dev/null
"$root/scripts/test-postgres.sh" stop-server "$work/pg"
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
as_owner "$bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w -t 30 \
  -o "-p $(cat "$work/pg/port") -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=200 \
      -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_prepared_transactions=64" \
  start >/dev/null
url=$(cat "$work/pg/url")
[ "$(psql "$url" -Atc 'SHOW fsync')" = on ] || { echo "PostgreSQL runs without fsync" >&2; exit 1; }
for db in bench_krw bench_fx bench_coordinator bench_2pc_krw bench_2pc_usd bench_monolith; do
  psql "$url" -qc "CREATE DATABASE $db" >/dev/null
done

knobs=()
for knob in SCENARIOS CONCURRENCY SECONDS_EACH WARMUP_SECONDS RUNS OPEN_LOOP CUSTOMERS_1M; do
  [ -n "${!knob:-}" ] && knobs+=("$knob=${!knob}")
done
command="make bench${knobs:+ ${knobs[*]}}"
echo "fxmesh-bench on $(nproc) cores: $command"
status=0
"$root/$build_dir/bench/fxmesh-bench" \
  ${SCENARIOS:+--scenarios="$SCENARIOS"} ${CUSTOMERS_1M:+--customers_1m="$CUSTOMERS_1M"} \
  --concurrency="${CONCURRENCY:-1,4,16,64,256}" --open_loop="${OPEN_LOOP:-0.5,0.8}" \
  --seconds_each="${SECONDS_EACH:-5}" --warmup_seconds="${WARMUP_SECONDS:-1}" --runs="${RUNS:-3}" \
  --postgres_url="$url" --commit="$(git -C "$root" rev-parse --short HEAD)" --command="$command" \
  --out_json="$out_json" --out_markdown="$work/results.md" --out_gnuplot="$work/throughput.gp" \
  --png="$png" --latency_png="$latency_png" || status=$?

gnuplot "$work/throughput.gp"

# Recovery: the real processes, sagas in flight, the coordinator killed with SIGKILL and restarted
# (tests/binaries/recovery_bench.cc). RECOVERY_SAGAS (default 1000) sagas; RECOVERY=0 skips it.
if [ "${RECOVERY:-1}" != 0 ]; then
  recovery_json=$(dirname "$out_json")/recovery.json
  rm -f "$recovery_json"
  FXMESH_RECOVERY_SAGAS=${RECOVERY_SAGAS:-1000} FXMESH_RECOVERY_JSON=$recovery_json \
    "$root/$build_dir/tests/fxmesh-recovery-bench" || status=$?
  if [ -s "$recovery_json" ]; then
    python3 - "$recovery_json" >>"$work/results.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
met = "yes" if r["restart_to_all_terminal_s"] <= 10 else "no"
print()
print("### Recovery after SIGKILL")
print()
print(f"The real ledger and coordinator processes on SQLite; {r['sagas']} exchanges started while the "
      "fx ledger was stopped (SIGSTOP), so each saga waited on its fx Try; the coordinator was "
      "killed with SIGKILL with every saga created, the fx ledger resumed, and the coordinator "
      "restarted on the same database ([recovery_bench.cc](../tests/binaries/recovery_bench.cc)). "
      "Raw figures: [recovery.json](../bench/results/recovery.json).")
print()
print("| sagas | in flight at the kill | restart to serving | restart to all terminal | target | met | completed | cancelled |")
print("|---|---|---|---|---|---|---|---|")
print(f"| {r['sagas']} | {r['in_flight_at_kill']} | {r['restart_to_serving_s']:.2f} s | "
      f"{r['restart_to_all_terminal_s']:.2f} s | at most 10 s | {met} | {r['completed']} | {r['cancelled']} |")
PY
  fi
fi
# Each service's memory: the real processes at saturation, their VmHWM from /proc
# (tests/binaries/rss_bench.cc). RSS=0 skips it.
if [ "${RSS:-1}" != 0 ]; then
  rss_json=$(dirname "$out_json")/rss.json
  rm -f "$rss_json"
  FXMESH_RSS_SECONDS=${SECONDS_EACH:-5} FXMESH_RSS_CONCURRENCY=${RSS_CONCURRENCY:-64,256} \
    FXMESH_RSS_JSON=$rss_json "$root/$build_dir/tests/fxmesh-rss-bench" || status=$?
  if [ -s "$rss_json" ]; then
    python3 - "$rss_json" >>"$work/results.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print()
print("### Each service's memory at saturation")
print()
print("The real krw ledger, fx ledger and coordinator processes on SQLite, without Kafka (the "
      "coordinator settles through its in-process relay), driven from another process by the "
      f"bench's load generator: GetQuote then Exchange for {r['customers']} customers in a closed "
      f"loop, {r['seconds_each']:g} s at each concurrency after {r['warmup_seconds']:g} s of "
      "warm-up. Peak resident memory is each process's VmHWM from /proc/<pid>/status at the end "
      "([rss_bench.cc](../tests/binaries/rss_bench.cc)). Raw figures: "
      "[rss.json](../bench/results/rss.json).")
print()
print("| service | peak RSS MiB | RSS at the end MiB | idle RSS MiB | target | met |")
print("|---|---|---|---|---|---|")
for s in r["services"]:
    print(f"| {s['service']} | {s['peak_rss_kib'] / 1024:.1f} | {s['rss_kib'] / 1024:.1f} | "
          f"{s['idle_rss_kib'] / 1024:.1f} | at most {r['target_mib']} MiB | "
          f"{'yes' if s['met'] else 'no'} |")
print()
print("Throughput of this deployment (three processes, the load generator in a fourth):")
print()
print("| load | completed /s | p50 ms | p99 ms | pending | failed |")
print("|---|---|---|---|---|---|")
for p in r["points"]:
    print(f"| closed loop, {p['concurrency']} | {p['throughput_per_s']:.0f} | {p['p50_ms']:.2f} | "
          f"{p['p99_ms']:.2f} | {p['pending']} | {p['failed']} |")
PY
  fi
fi
# The results replace what lies between the markers; the rest of the page is written by hand.
awk -v results="$work/results.md" '
  /<!-- bench:begin/ { print; while ((getline line < results) > 0) print line; skipping = 1; next }
  /<!-- bench:end/ { skipping = 0 }
  !skipping { print }' "$doc" >"$work/benchmarks.md"
cp "$work/benchmarks.md" "$doc"
echo "wrote $out_json, $png, $latency_png and $doc"
exit $status
