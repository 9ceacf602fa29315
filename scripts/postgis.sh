#!/usr/bin/env bash
# A local PostgreSQL + PostGIS server for ctxmap's tests and for trying the shared store.
#
#   bash scripts/postgis.sh start    install (as root, from Debian) if missing, start a
#                                    private cluster on 127.0.0.1:$CTXMAP_PG_PORT (54329),
#                                    create role and database ctxmap_test with PostGIS,
#                                    print the connection URL
#   bash scripts/postgis.sh stop     stop that cluster
#   bash scripts/postgis.sh url      print the URL only
#
# The cluster lives in $CTXMAP_PG_DIR (default /var/tmp/ctxmap-pg), owned by the
# 'postgres' user when run as root (PostgreSQL refuses to run as root), else by you.
# It never touches the system's own cluster on port 5432.
# The password is a test password for a local-only server; never reuse it.
set -euo pipefail
PGVER="${CTXMAP_PG_VERSION:-15}"
PORT="${CTXMAP_PG_PORT:-54329}"
DIR="${CTXMAP_PG_DIR:-/var/tmp/ctxmap-pg}"
BIN="/usr/lib/postgresql/$PGVER/bin"
URL="postgresql://ctxmap_test:ctxmap_test@127.0.0.1:$PORT/ctxmap_test"

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_if_missing() {
  if [ -x "$BIN/postgres" ] && [ -f "/usr/share/postgresql/$PGVER/extension/postgis.control" ]; then
    return
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL $PGVER with PostGIS is missing; install it with:" >&2
    echo "  sudo apt-get install -y postgresql postgresql-$PGVER-postgis-3" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    postgresql "postgresql-$PGVER-postgis-3" >/dev/null
}

start() {
  install_if_missing
  mkdir -p "$DIR"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$DIR"; fi
  chmod 700 "$DIR"
  if [ ! -f "$DIR/PG_VERSION" ]; then
    as_owner "$BIN/initdb" -D "$DIR" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  fi
  if ! as_owner "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
    as_owner "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 \
      -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1" start >/dev/null
  fi
  local psql=("$BIN/psql" -h "$DIR" -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qtA)
  as_owner "${psql[@]}" -d postgres <<'SQL' >/dev/null
SELECT 'CREATE ROLE ctxmap_test LOGIN PASSWORD ''ctxmap_test'''
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ctxmap_test')\gexec
SELECT 'CREATE DATABASE ctxmap_test OWNER ctxmap_test'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'ctxmap_test')\gexec
SQL
  as_owner env PGOPTIONS="-c client_min_messages=warning" "${psql[@]}" -d ctxmap_test \
    -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
  echo "$URL"
}

stop() {
  if [ -f "$DIR/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
    as_owner "$BIN/pg_ctl" -D "$DIR" -m fast -w stop >/dev/null
  fi
  echo "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
