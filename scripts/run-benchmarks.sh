#!/usr/bin/env bash
# `make bench`: runs fxmesh-bench on SQLite files and on a throw-away PostgreSQL server, and prints
# the figures docs/benchmarks.md records. SECONDS_EACH and CLIENTS tune a run.
set -euo pipefail
build_dir=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
chmod 755 "$work"
trap '"$root/scripts/test-postgres.sh" stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

"$root/scripts/test-postgres.sh" start "$work/pg" >/dev/null
url=$(cat "$work/pg/url")
for db in bench_krw bench_fx bench_coordinator; do
  psql "$url" -qc "CREATE DATABASE $db" >/dev/null
done
mkdir -p "$work/sqlite"
echo "fxmesh-bench on $(nproc) cores, ${CLIENTS:-16} clients, ${SECONDS_EACH:-10} s each"
"$root/$build_dir/bench/fxmesh-bench" --db_dir="$work/sqlite" --postgres_url="$url" \
  --seconds="${SECONDS_EACH:-10}" --clients="${CLIENTS:-16}"
