#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster.
#
# Usage: scripts/with-test-db.sh CMD [ARGS...]
#
# Starts a fresh cluster (PG_FAST=1) in a temporary directory on a free port,
# exports DATABASE_URL and SKILLPAY_TEST_DATABASE_URL (same URL), runs CMD,
# then always stops the cluster and removes the directory (also on Ctrl-C or
# SIGTERM), and exits with CMD's exit code.
#
# If SKILLPAY_TEST_DATABASE_URL is already set, no cluster is started: CMD runs
# against that database (DATABASE_URL is set to it too).
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ -n "${SKILLPAY_TEST_DATABASE_URL:-}" ]; then
  export DATABASE_URL="$SKILLPAY_TEST_DATABASE_URL"
  exec "$@"
fi

TMP_DIR=""
PG_DIR=""

# shellcheck disable=SC2329 # invoked by the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$PG_DIR" ]; then
    bash "$HERE/pg.sh" stop "$PG_DIR" || true
  fi
  if [ -n "$TMP_DIR" ]; then
    rm -rf -- "$TMP_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/skillpay-testdb.XXXXXX")"
# The server may run as another user (`postgres` when we are root): let it
# traverse (not list) the temporary directory.
chmod 0711 "$TMP_DIR"
PG_DIR="$TMP_DIR/pg"

port="$(bash "$HERE/pg.sh" free-port)"
url="$(PG_FAST=1 bash "$HERE/pg.sh" start "$PG_DIR" "$port")"
export DATABASE_URL="$url"
export SKILLPAY_TEST_DATABASE_URL="$url"
echo "with-test-db: DATABASE_URL=$url" >&2

set +e
"$@"
rc=$?
set -e
exit "$rc"
