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

ST="${ST:-.venv/bin/st}"
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-25}"

# Stripe webhooks are verified locally, so the fuzzer reaches that code.
export STRIPE_WEBHOOK_SECRET="whsec_schemathesis_$$"
# shellcheck source=scripts/lib/scratch-server.sh
source scripts/lib/scratch-server.sh
start_scratch_server fuzz

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
  grep -E '"level":"(ERROR|WARN)"' "$server_log" | tail -20 >&2 || true
fi
exit "$status"
