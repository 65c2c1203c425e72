#!/usr/bin/env bash
# `just bench`: builds the release binary, makes sure the load tools are
# there, then runs scripts/bench/bench.py (which starts and stops its own
# PostgreSQL, Stripe stand-in and server). Settings: see bench.py.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

apt_install() {
  # Debian packages only (no downloads from elsewhere); needs root or sudo.
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "bench: installing $* (apt-get)" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
    { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}

# wrk: the HTTP load generator (Lua scripts give every request its own
# Idempotency-Key or signed webhook).
command -v wrk >/dev/null || apt_install wrk
# pgbench ships with the PostgreSQL server binaries (or postgresql-contrib).
if ! command -v pgbench >/dev/null; then
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pgbench" ] && PATH="$PATH:$d" && break
  done
fi
command -v pgbench >/dev/null || apt_install postgresql-contrib
command -v psql >/dev/null || apt_install postgresql-client

cargo build --release -p app
cargo build --release --example stripe_stub --example paced_load
exec python3 "$HERE/bench.py"
