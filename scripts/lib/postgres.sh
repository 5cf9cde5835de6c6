# shellcheck shell=bash
# Sourced by scripts/dev, scripts/test and scripts/bench, after common.sh. Provides ensure_database: uses DATABASE_URL when it is
# set, else starts a private throwaway PostgreSQL cluster under the target directory with the system's
# initdb/pg_ctl (installing Debian's postgresql package when they are missing) and exports
# DATABASE_URL for it. initdb refuses to run as root, so as root the cluster belongs to an
# unprivileged user (postgres, created by the Debian package).

PG_ROOT="${PG_ROOT:-${TARGET_DIR:-$(pwd)/target}/postgres}"  # callers set their own

find_pg_bindir() {
  local dir
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return 0
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  return 1
}

install_postgres() {
  log "PostgreSQL binaries not found: installing Debian's postgresql package"
  apt_install postgresql
}

# Runs a command as the cluster's owner: ourselves, or the postgres user when we are root.
as_pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    # From /, which the owner can always enter (the checkout may be under /root).
    (cd / && runuser -u "$PG_OWNER" -- "$@")
  else
    "$@"
  fi
}

# ensure_database NAME: sets DATABASE_URL to database NAME on a running server.
ensure_database() {
  local name="$1"
  if [ -n "${DATABASE_URL:-}" ]; then
    log "using DATABASE_URL from the environment"
    export DATABASE_URL
    return 0
  fi
  local bindir
  bindir="$(find_pg_bindir)" || { install_postgres; bindir="$(find_pg_bindir)"; } \
    || { echo "PostgreSQL binaries still missing after installing postgresql" >&2; return 1; }

  PG_OWNER="$(id -un)"
  if [ "$(id -u)" -eq 0 ]; then
    PG_OWNER=postgres
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
  fi

  mkdir -p "$PG_ROOT"
  if [ "$(id -u)" -eq 0 ]; then
    chown "$PG_OWNER" "$PG_ROOT"
    # The postgres user must reach the cluster through every directory above it; a checkout
    # under /root (mode 700) does not allow that, so the cluster moves to /tmp, keyed by checkout.
    if ! runuser -u "$PG_OWNER" -- test -w "$PG_ROOT"; then
      PG_ROOT="/tmp/depbadge-$(printf '%s' "$PG_ROOT" | md5sum | cut -c1-12)"
      log "$PG_OWNER cannot reach the checkout; the cluster goes to $PG_ROOT"
      mkdir -p "$PG_ROOT" && chown "$PG_OWNER" "$PG_ROOT" && chmod 700 "$PG_ROOT"
    fi
  fi
  local data="$PG_ROOT/data"

  if [ ! -s "$data/PG_VERSION" ]; then
    log "creating a throwaway PostgreSQL cluster in $data"
    rm -rf "$data"
    as_pg_owner "$bindir/initdb" -D "$data" -U depbadge --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi

  local port
  if as_pg_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    port="$(sed -n 4p "$data/postmaster.pid" | tr -d ' ')"
    log "PostgreSQL already running on port $port"
  else
    port="${PGPORT_DEV:-$(free_port)}"
    log "starting PostgreSQL on 127.0.0.1:$port"
    as_pg_owner "$bindir/pg_ctl" -D "$data" -l "$PG_ROOT/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null \
      || { cat "$PG_ROOT/server.log" >&2; return 1; }
  fi
  PG_BINDIR="$bindir"
  PG_DATA="$data"
  export DATABASE_URL="postgres://depbadge@127.0.0.1:$port/$name"
  "$bindir/psql" "postgres://depbadge@127.0.0.1:$port/postgres" -qtAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1 \
    || "$bindir/psql" "postgres://depbadge@127.0.0.1:$port/postgres" -qc "CREATE DATABASE \"$name\"" >/dev/null
}

# After a failure: what the throwaway cluster was doing, for whoever reads the end of a CI log
# (once, every database test timed out on connecting and nothing else said why).
database_diagnostics() {
  [ -n "${PG_DATA:-}" ] || return 0
  log "PostgreSQL after the failure: pg_ctl status, connections by database and state, the log's tail"
  as_pg_owner "$PG_BINDIR/pg_ctl" -D "$PG_DATA" status 2>&1 | head -n 3 || true
  "$PG_BINDIR/psql" "${DATABASE_URL%/*}/postgres" -qtAc \
    "SELECT count(*), datname, state FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 2, 3 ORDER BY 1 DESC LIMIT 10" 2>&1 || true
  tail -n 40 "$(dirname "$PG_DATA")/server.log" 2>&1 | cut -c1-300 || true
}

stop_database() {
  if [ -n "${PG_DATA:-}" ]; then
    log "stopping the throwaway PostgreSQL cluster"
    as_pg_owner "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

# fresh_database NAME: DATABASE_URL set to a new, empty database NAME on the server ensure_database
# finds (DATABASE_URL's, or the throwaway cluster's), dropped first if it exists.
fresh_database() {
  local name="$1"
  ensure_database "$name"
  local server="${DATABASE_URL%/*}" psql="${PG_BINDIR:+$PG_BINDIR/}psql"
  command -v "$psql" >/dev/null 2>&1 || ensure_command psql postgresql-client
  "$psql" "$server/postgres" -qtAc "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null
  "$psql" "$server/postgres" -qtAc "CREATE DATABASE \"$name\"" >/dev/null
  export DATABASE_URL="$server/$name"
}
