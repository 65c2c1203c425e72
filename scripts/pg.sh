#!/usr/bin/env bash
# Manage a local PostgreSQL cluster for Skillpay (development and tests).
#
# The cluster listens on 127.0.0.1 only, keeps its unix socket inside its
# data directory and trusts every local connection (user `skillpay`).
#
# Usage:
#   scripts/pg.sh start DIR PORT   initdb DIR if needed, start it on PORT,
#                                  create database `skillpay`, print its URL
#   scripts/pg.sh stop DIR         stop the cluster in DIR (fast) if running
#   scripts/pg.sh url DIR          print the URL of the running cluster in DIR
#   scripts/pg.sh free-port        print a free TCP port on 127.0.0.1
#
# `start` prints only the URL (postgres://skillpay@127.0.0.1:PORT/skillpay) on
# stdout; progress and errors go to stderr. It is idempotent: if the cluster
# is already running, it just prints the URL.
#
# Environment:
#   PG_FAST=1   start with fsync, synchronous_commit and full_page_writes off
#               (throwaway test clusters only: a crash can corrupt the data)
#   PG_BINDIR   directory holding initdb/pg_ctl (default: `pg_config --bindir`,
#               else the newest /usr/lib/postgresql/*/bin)
#
# initdb refuses to run as root, so as root the server runs as the `postgres`
# system user (or `skillpay-pg`, created on demand if `postgres` does not
# exist); DIR itself is chown'ed to that user, its parents are left alone but
# must be traversable by it. Otherwise the server runs as the current user.
set -euo pipefail

PROG="pg.sh"
DB_USER="skillpay"
DB_NAME="skillpay"

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit "${1:-2}"
}

# --- helpers ---------------------------------------------------------------

# Print a free TCP port on 127.0.0.1.
free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if ! port_in_use "$p"; then
      echo "$p"
      return
    fi
  done
  die "could not find a free port on 127.0.0.1"
}

# True if something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Absolute, normalised path (DIR need not exist).
abspath() {
  case "$1" in
    /*) realpath -m -- "$1" ;;
    *) realpath -m -- "$PWD/$1" ;;
  esac
}

# Locate the server binaries: sets BIN. $1 (optional) is the major version
# an existing data directory was initialised with.
find_bindir() {
  local want="${1:-}" d cand=()
  if [ -n "${PG_BINDIR:-}" ]; then
    [ -x "$PG_BINDIR/initdb" ] && [ -x "$PG_BINDIR/pg_ctl" ] ||
      die "PG_BINDIR=$PG_BINDIR does not contain initdb and pg_ctl"
    BIN="$PG_BINDIR"
    return
  fi
  if [ -n "$want" ] && [ -x "/usr/lib/postgresql/$want/bin/pg_ctl" ]; then
    BIN="/usr/lib/postgresql/$want/bin"
    return
  fi
  if command -v pg_config >/dev/null 2>&1; then
    d="$(pg_config --bindir 2>/dev/null || true)"
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      BIN="$d"
      return
    fi
  fi
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && cand+=("$d")
  done
  if [ "${#cand[@]}" -gt 0 ]; then
    BIN="$(printf '%s\n' "${cand[@]}" | sort -V | tail -n 1)"
    return
  fi
  die "PostgreSQL server binaries (initdb, pg_ctl) not found.
  Install them with:  apt-get update && apt-get install -y postgresql libpq-dev
  (or run \`just setup\`), or point PG_BINDIR at the directory holding them."
}

# Decide which OS user runs the server: sets PG_USER and AS_ROOT.
pick_user() {
  if [ "$(id -u)" -ne 0 ]; then
    PG_USER="$(id -un)"
    AS_ROOT=0
    return
  fi
  AS_ROOT=1
  if id -u postgres >/dev/null 2>&1; then
    PG_USER="postgres"
  else
    if ! id -u skillpay-pg >/dev/null 2>&1; then
      log "creating system user skillpay-pg to run PostgreSQL"
      useradd --system --no-create-home --shell /usr/sbin/nologin skillpay-pg
    fi
    PG_USER="skillpay-pg"
  fi
}

# Locale for the server tools: C.UTF-8 when the system has it.
pick_locale() {
  if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
    PG_LOCALE="C.UTF-8"
  else
    PG_LOCALE=""
  fi
}

# Run a command as the server user, from / (the caller's cwd may be
# unreadable for that user), with a locale that exists.
as_pg() {
  local lc="${PG_LOCALE:-C}"
  if [ "$AS_ROOT" -eq 1 ]; then
    (cd / && runuser -u "$PG_USER" -- env LC_ALL="$lc" LANG="$lc" "$@")
  else
    (cd / && env LC_ALL="$lc" LANG="$lc" "$@")
  fi
}

# Fail clearly if the server user cannot reach the parent of $1.
check_traversable() {
  local dir="$1" parent p="" part
  [ "$AS_ROOT" -eq 1 ] || return 0
  parent="$(dirname -- "$dir")"
  as_pg test -x "$parent" 2>/dev/null && return 0
  # Find the first ancestor that is not traversable, for the message.
  local bad="$parent"
  IFS=/ read -r -a parts <<<"${parent#/}"
  if ! as_pg test -x / 2>/dev/null; then
    bad="/"
  else
    for part in "${parts[@]}"; do
      [ -n "$part" ] || continue
      p="$p/$part"
      if ! as_pg test -x "$p" 2>/dev/null; then
        bad="$p"
        break
      fi
    done
  fi
  die "PostgreSQL runs as user '$PG_USER', which cannot enter '$bad'
  ($(stat -c '%A %U:%G' -- "$bad" 2>/dev/null || echo 'permissions unknown')), so it cannot use '$dir'.
  Use a data directory whose parents are traversable (e.g. DIR=\$(mktemp -d) itself,
  or a path under /tmp), or allow it with:  chmod o+x '$bad'"
}

# Port the cluster in $1 is running on (from postmaster.pid).
running_port() {
  sed -n '4p' "$1/postmaster.pid" 2>/dev/null | tr -d '[:space:]'
}

is_running() {
  local dir="$1"
  [ -f "$dir/postmaster.pid" ] || return 1
  as_pg "$BIN/pg_ctl" status -D "$dir" >/dev/null 2>&1
}

url_for() {
  printf 'postgres://%s@127.0.0.1:%s/%s\n' "$DB_USER" "$1" "$DB_NAME"
}

ensure_database() {
  local port="$1" exists
  exists="$(PGCONNECT_TIMEOUT=10 "$BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U "$DB_USER" -d postgres \
    -v ON_ERROR_STOP=1 -tAc "select 1 from pg_database where datname = '$DB_NAME'")" ||
    die "could not connect to the cluster on 127.0.0.1:$port"
  if [ "$exists" != "1" ]; then
    log "creating database $DB_NAME"
    PGCONNECT_TIMEOUT=10 "$BIN/createdb" -h 127.0.0.1 -p "$port" -U "$DB_USER" "$DB_NAME" >&2 ||
      die "createdb $DB_NAME failed"
  fi
}

# Write DIR/skillpay.conf (included from postgresql.conf) for this start.
write_conf() {
  local dir="$1" port="$2" conf="$1/skillpay.conf" qdir
  qdir="${dir//\'/\'\'}"
  {
    echo "# Written by scripts/pg.sh on every start; edits are overwritten."
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$qdir'"
    echo "max_connections = 300"
    if [ "${PG_FAST:-}" = "1" ]; then
      echo "# PG_FAST=1: throwaway cluster, durability traded for speed."
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } >"$conf"
  chmod 0600 "$conf"
  [ "$AS_ROOT" -eq 0 ] || chown "$PG_USER" "$conf"
}

# --- subcommands -----------------------------------------------------------

cmd_start() {
  [ $# -eq 2 ] || usage
  local dir port ver="" owner out sock
  dir="$(abspath "$1")"
  port="$2"
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] ||
    die "invalid port '$port'"

  pick_user
  pick_locale
  [ -f "$dir/PG_VERSION" ] && ver="$(tr -d '[:space:]' <"$dir/PG_VERSION")"
  find_bindir "$ver"

  # Already running: just make sure the database exists and print the URL.
  if [ -n "$ver" ] && is_running "$dir"; then
    local rport
    rport="$(running_port "$dir")"
    [ "$rport" = "$port" ] ||
      die "the cluster in $dir is already running on port $rport, not $port (stop it first: scripts/pg.sh stop $dir)"
    log "cluster in $dir already running on 127.0.0.1:$port"
    ensure_database "$port"
    url_for "$port"
    return 0
  fi

  # Unix socket paths are limited to 107 bytes.
  sock="$dir/.s.PGSQL.$port"
  [ "${#sock}" -le 100 ] || die "data directory path too long for a unix socket inside it: $dir"

  if port_in_use "$port"; then
    die "port $port on 127.0.0.1 is already in use by another process"
  fi

  if [ -z "$ver" ]; then
    # New cluster: DIR must be missing or empty.
    if [ -e "$dir" ] && [ -n "$(ls -A -- "$dir" 2>/dev/null)" ]; then
      die "$dir exists, is not empty and is not a PostgreSQL data directory"
    fi
    (umask 022 && mkdir -p -- "$(dirname -- "$dir")")
    check_traversable "$dir"
    mkdir -p -- "$dir"
    [ "$AS_ROOT" -eq 0 ] || chown "$PG_USER:" "$dir"
    chmod 0700 "$dir"
    local locale_args=(--no-locale)
    [ -z "$PG_LOCALE" ] || locale_args=(--locale="$PG_LOCALE")
    local sync_args=()
    [ "${PG_FAST:-}" != "1" ] || sync_args=(--no-sync)
    log "initialising cluster in $dir (as $PG_USER, $BIN)"
    out="$(as_pg "$BIN/initdb" -D "$dir" --auth=trust -U "$DB_USER" --encoding=UTF8 \
      "${locale_args[@]}" "${sync_args[@]}" 2>&1)" || {
      printf '%s\n' "$out" >&2
      die "initdb failed for $dir"
    }
    printf "\ninclude_if_exists = 'skillpay.conf'\n" >>"$dir/postgresql.conf"
  else
    check_traversable "$dir"
    owner="$(stat -c '%U' -- "$dir")"
    [ "$owner" = "$PG_USER" ] ||
      die "$dir is owned by '$owner' but the server runs as '$PG_USER'"
    grep -q "^include_if_exists = 'skillpay.conf'" "$dir/postgresql.conf" ||
      die "$dir was not initialised by scripts/pg.sh (no skillpay.conf include)"
  fi

  write_conf "$dir" "$port"
  log "starting PostgreSQL on 127.0.0.1:$port (log: $dir/server.log${PG_FAST:+, PG_FAST=$PG_FAST})"
  if ! as_pg "$BIN/pg_ctl" start -D "$dir" -w -t 60 -s -l "$dir/server.log" >&2; then
    log "pg_ctl start failed; last lines of $dir/server.log:"
    tail -n 30 "$dir/server.log" >&2 2>/dev/null || true
    die "could not start PostgreSQL in $dir"
  fi
  ensure_database "$port"
  url_for "$port"
}

cmd_stop() {
  [ $# -eq 1 ] || usage
  local dir ver
  dir="$(abspath "$1")"
  if [ ! -f "$dir/PG_VERSION" ]; then
    log "no cluster in $dir; nothing to stop"
    return 0
  fi
  ver="$(tr -d '[:space:]' <"$dir/PG_VERSION")"
  pick_user
  pick_locale
  find_bindir "$ver"
  if is_running "$dir"; then
    log "stopping cluster in $dir"
    as_pg "$BIN/pg_ctl" stop -D "$dir" -m fast -w -t 60 -s >&2 ||
      die "could not stop the cluster in $dir"
  else
    log "cluster in $dir is not running"
  fi
}

cmd_url() {
  [ $# -eq 1 ] || usage
  local dir ver
  dir="$(abspath "$1")"
  [ -f "$dir/PG_VERSION" ] || die "no cluster in $dir (start it with: scripts/pg.sh start $1 PORT)"
  ver="$(tr -d '[:space:]' <"$dir/PG_VERSION")"
  pick_user
  pick_locale
  find_bindir "$ver"
  is_running "$dir" || die "the cluster in $dir is not running (start it with: scripts/pg.sh start $1 PORT)"
  url_for "$(running_port "$dir")"
}

case "${1:-}" in
  start) shift && cmd_start "$@" ;;
  stop) shift && cmd_stop "$@" ;;
  url) shift && cmd_url "$@" ;;
  free-port)
    [ $# -eq 1 ] || usage
    free_port
    ;;
  -h | --help | help) usage 0 ;;
  *) usage ;;
esac
