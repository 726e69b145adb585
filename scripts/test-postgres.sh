#!/usr/bin/env bash
# Starts or stops a throw-away PostgreSQL server for the tests: initdb into DIR, listen on a free
# loopback port, write the connection url to DIR/url. As root it runs the server as the postgres
# user (PostgreSQL refuses to run as root). Used as a CTest fixture; see tests/CMakeLists.txt.
#   test-postgres.sh start DIR [PASSWORD_FILE] | stop DIR
#     With PASSWORD_FILE the user postgres has the password on its first line, and every
#     connection must give it (scram-sha-256); without, the server trusts every local connection.
#   test-postgres.sh stop-server DIR | start-server DIR   (keep the data and the port: an outage)
set -euo pipefail
action=$1
dir=$2

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found; run 'make deps'" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
  start)
    if [ -f "$dir/data/postmaster.pid" ]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    auth=(-A trust)
    if [ -n "${3:-}" ]; then
      # initdb runs as the server's owner, who may not read the caller's folders: give it a copy.
      cp "$3" "$dir/initdb-password"
      [ "$(id -u)" -eq 0 ] && chown postgres "$dir/initdb-password"
      auth=(-A scram-sha-256 --pwfile "$dir/initdb-password")
    fi
    as_owner "$bin/initdb" -D "$dir/data" "${auth[@]}" -U postgres -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
      { rm -f "$dir/initdb-password"; cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$dir/initdb-password"
    # A port nobody answers on is free; a lost race shows up as a failed start, so try a few.
    for attempt in 1 2 3 4 5 6 7 8; do
      port=$((20000 + RANDOM % 40000))
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
      if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
          -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
          start >/dev/null; then
        echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$dir/url"
        echo "$port" >"$dir/port"
        echo "test PostgreSQL on port $port ($dir)"
        exit 0
      fi
    done
    cat "$dir/server.log" >&2
    exit 1
    ;;
  stop)
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    rm -rf "$dir"
    ;;
  stop-server)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
  start-server)
    port=$(cat "$dir/port")
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
      start >/dev/null
    ;;
  *)
    echo "usage: $0 start|stop|stop-server|start-server DIR" >&2
    exit 2
    ;;
esac
