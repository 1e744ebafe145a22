#!/usr/bin/env bash
# A local PostgreSQL for the store tests and the benchmark, on a unix socket only.
#
#   scripts/postgres.sh install   # Debian/Ubuntu: apt-get install postgresql (server binaries)
#   scripts/postgres.sh start     # starts a cluster in $PG_DIR, prints TEST_POSTGRES_URL=...
#   scripts/postgres.sh stop      # stops it and deletes $PG_DIR
#
# The tests do not need this: without TEST_POSTGRES_URL they start (and remove) their own
# throwaway cluster. Use it to keep one server across runs:
#   eval "$(scripts/postgres.sh start)" && uv run pytest tests/store
# As root, the server runs as the `postgres` system user (PostgreSQL refuses to run as root).
set -euo pipefail

PG_DIR="${PG_DIR:-/tmp/receptionist-pg}"
PORT="${PG_PORT:-5432}"

find_bin() {
  if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return; fi
  ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  install)
    if [ -n "$(find_bin initdb)" ]; then echo "PostgreSQL server binaries present: $(find_bin initdb)"; exit 0; fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
    echo "installed: $(find_bin initdb)"
    ;;
  start)
    INITDB="$(find_bin initdb)"; PG_CTL="$(find_bin pg_ctl)"
    if [ -z "$INITDB" ] || [ -z "$PG_CTL" ]; then
      echo "PostgreSQL server binaries not found: run scripts/postgres.sh install" >&2; exit 1
    fi
    USER_NAME="$(id -un)"
    if [ "$(id -u)" = 0 ]; then USER_NAME=postgres; fi
    if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
      mkdir -p "$PG_DIR"
      if [ "$(id -u)" = 0 ]; then chown postgres: "$PG_DIR"; fi
      as_owner "$INITDB" -D "$PG_DIR/data" -U "$USER_NAME" --auth=trust -E UTF8 --no-sync >/dev/null
    fi
    if ! as_owner "$PG_CTL" -D "$PG_DIR/data" status >/dev/null 2>&1; then
      as_owner "$PG_CTL" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
        -o "-k $PG_DIR -c listen_addresses='' -p $PORT -c fsync=off" start >/dev/null
    fi
    echo "export TEST_POSTGRES_URL='postgresql+asyncpg://$USER_NAME@/postgres?host=$PG_DIR&port=$PORT'"
    ;;
  stop)
    PG_CTL="$(find_bin pg_ctl)"
    if [ -f "$PG_DIR/data/PG_VERSION" ]; then
      as_owner "$PG_CTL" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_DIR"
    ;;
  *)
    echo "usage: $0 install|start|stop" >&2; exit 2
    ;;
esac
