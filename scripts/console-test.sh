#!/usr/bin/env bash
# Drives the admin console in headless Chromium against the real binary.
#
# Usage (inside scripts/with-test-db.sh, which provides DATABASE_URL):
#   scripts/console-test.sh
#
# Needs Debian's chromium and Node.js with npm (`just setup` installs
# chromium; playwright-core comes from npm into tests/console/node_modules).
# Screenshots of every page land in tests/console/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || { echo "console-test: $CHROMIUM is missing (apt-get install chromium)" >&2; exit 1; }
if [ ! -d tests/console/node_modules/playwright-core ]; then
  (cd tests/console && npm ci --no-audit --no-fund --loglevel=error)
fi

# Earnings are available at once (the sweep below releases them), and a
# refund above 1000.00 needs two admins.
export SKILLPAY_PAYOUT_HOLD_DAYS=0 SKILLPAY_SECOND_APPROVAL_ABOVE=1000.00
# Stripe webhooks are accepted (signed with this secret) so one can be
# replayed. They are served with Stripe, whose API nothing here calls: the
# replayed event is one Skillpay only logs.
export STRIPE_WEBHOOK_SECRET="whsec_console_$$" CONSOLE_STRIPE_WEBHOOK_SECRET="whsec_console_$$"
export STRIPE_SECRET_KEY="sk_test_console" STRIPE_API_BASE="http://127.0.0.1:9"
# shellcheck source=scripts/lib/scratch-server.sh
source scripts/lib/scratch-server.sh
start_scratch_server console
"$bin" reconcile >/dev/null

export CONSOLE_BASE_URL="$base" CHROMIUM
CONSOLE_ADMIN_TOKEN="$("$bin" token --user-id 1 --role admin)"
CONSOLE_SECOND_ADMIN_TOKEN="$("$bin" token --user-id 2 --role admin)"
CONSOLE_STUDENT_TOKEN="$("$bin" token --user-id 1000 --role student)"
CONSOLE_INSTRUCTOR_TOKEN="$("$bin" token --user-id 100 --role instructor)"
CONSOLE_INSTRUCTOR_LINK="$("$bin" admin-link --user-id 100 --role instructor --base-url "$base")"
export CONSOLE_ADMIN_TOKEN CONSOLE_SECOND_ADMIN_TOKEN CONSOLE_STUDENT_TOKEN CONSOLE_INSTRUCTOR_TOKEN CONSOLE_INSTRUCTOR_LINK
mkdir -p tests/console/screenshots
status=0
(cd tests/console && node --test --test-concurrency=1 console.test.mjs) || status=1
# The coupon the console created and deactivated is in the money audit log
# (written by the database in each change's transaction) with its admin.
trail="$(psql -tA "$DATABASE_URL" -c "SELECT string_agg(operation || ':' || coalesce(actor_id::text, '-') || ':' \
  || coalesce(actor_role, '-'), ',' ORDER BY id) FROM audit_log WHERE object_kind = 'coupon' AND after->>'code' = 'CONSOLE15'")"
if [ "$trail" != "insert:1:admin,update:1:admin" ]; then
  echo "console-test: the console's coupon changes are not audited with their admin: '$trail'" >&2
  status=1
fi
# The server's log of the whole run must hold no credential the tests typed
# and no session token.
if grep -qE "consolesecretvalue|$CONSOLE_ADMIN_TOKEN" "$server_log"; then
  echo "console-test: a secret reached the server's log" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "console-test: failed; server warnings and errors:" >&2
  grep -E '"level":"(ERROR|WARN)"' "$server_log" | tail -20 >&2 || true
fi
exit "$status"
