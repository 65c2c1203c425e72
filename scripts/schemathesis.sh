#!/usr/bin/env bash
# Fuzz the running API from its own OpenAPI document with schemathesis.
#
# Usage (inside scripts/with-test-db.sh, which provides DATABASE_URL):
#   scripts/schemathesis.sh [extra `st run` options]
#
# Builds the server, creates a scratch database next to DATABASE_URL's, loads
# the demo data, serves on a free loopback port with the sandbox gateway,
# and runs `st run` with every check (tests/schemathesis/schemathesis.toml)
# once as an admin and once as a student.
# Stops the server and exits non-zero when schemathesis finds a failure.
# Checks left out are listed, with their reasons, in
# tests/schemathesis/schemathesis.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${DATABASE_URL:?run me inside scripts/with-test-db.sh}"
ST="${ST:-.venv/bin/st}"
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-25}"

cargo build -q -p app
bin="${CARGO_TARGET_DIR:-target}/debug/skillpay"

db="skillpay_fuzz_$$"
psql -q "$DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
export DATABASE_URL="${DATABASE_URL%/*}/$db"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export SKILLPAY_BIND="127.0.0.1:$port"
export SKILLPAY_JWT_SECRET="schemathesis-only-secret-$$-$RANDOM"
export SKILLPAY_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64)"
# Stripe webhooks are verified locally, so the fuzzer reaches that code.
export STRIPE_WEBHOOK_SECRET="whsec_schemathesis_$$"
export SKILLPAY_LOG_FORMAT=json RUST_LOG="${RUST_LOG:-warn}"
# Generous limits: the fuzzer sends thousands of requests as one user.
export SKILLPAY_RATE_PAYMENTS_PER_USER=1000000 SKILLPAY_RATE_PAYMENTS_PER_IP=1000000
export SKILLPAY_RATE_VALIDATIONS_PER_USER=1000000 SKILLPAY_RATE_VALIDATIONS_PER_IP=1000000

"$bin" migrate >/dev/null
"$bin" demo-data >/dev/null
log="$(mktemp)"
"$bin" serve >"$log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

base="http://127.0.0.1:$port"
ready() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$base/readyz" 2>/dev/null
}
for _ in $(seq 1 150); do
  ready && break
  sleep 0.2
done
ready || { echo "schemathesis: the server did not get ready" >&2; cat "$log" >&2; exit 1; }

status=0
for role in admin student; do
  case "$role" in
    admin) user=1 ;;
    student) user=1000 ;;
  esac
  token="$("$bin" token --user-id "$user" --role "$role")"
  echo "schemathesis: as $role (user $user)"
  "$ST" --config-file tests/schemathesis/schemathesis.toml run "$base/api/openapi.json" \
    --header "Authorization: Bearer $token" \
    --max-examples "$EXAMPLES" \
    --seed 1 \
    --no-color \
    "$@" || status=1
done
if [ "$status" -ne 0 ]; then
  echo "schemathesis: failures found; server errors, if any:" >&2
  grep -E '"level":"(ERROR|WARN)"' "$log" | tail -20 >&2 || true
fi
exit "$status"
