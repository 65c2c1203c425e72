# Sourced by the suites that drive the real binary (scripts/schemathesis.sh,
# scripts/console-test.sh). Needs DATABASE_URL (scripts/with-test-db.sh).
#
# start_scratch_server NAME: builds the server, creates database
# skillpay_NAME_<pid> next to DATABASE_URL's, migrates it, loads the demo
# data and serves on a free loopback port with the sandbox gateway and
# generous rate limits. Sets $bin, $base (http://localhost:PORT) and
# $server_log; stops the server on exit. Extra settings: export them first.

start_scratch_server() {
  local name="$1"
  : "${DATABASE_URL:?run me inside scripts/with-test-db.sh}"
  cargo build -q -p app
  bin="${CARGO_TARGET_DIR:-target}/debug/skillpay"

  local db="skillpay_${name}_$$"
  psql -q "$DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
  export DATABASE_URL="${DATABASE_URL%/*}/$db"

  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  export SKILLPAY_BIND="127.0.0.1:$port"
  SKILLPAY_JWT_SECRET="$(head -c 32 /dev/urandom | base64)"
  export SKILLPAY_JWT_SECRET
  SKILLPAY_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64)"
  export SKILLPAY_ENCRYPTION_KEY
  export SKILLPAY_LOG_FORMAT=json RUST_LOG="${RUST_LOG:-warn}" SKILLPAY_SANDBOX=on
  # Event receivers of the suites listen on loopback, over http.
  export SKILLPAY_EVENT_ENDPOINTS_ALLOW_PRIVATE="${SKILLPAY_EVENT_ENDPOINTS_ALLOW_PRIVATE:-on}"
  # Generous limits: a suite sends many requests as one user.
  export SKILLPAY_RATE_PAYMENTS_PER_USER=1000000 SKILLPAY_RATE_PAYMENTS_PER_IP=1000000
  export SKILLPAY_RATE_VALIDATIONS_PER_USER=1000000 SKILLPAY_RATE_VALIDATIONS_PER_IP=1000000

  "$bin" migrate >/dev/null
  "$bin" demo-data >/dev/null
  server_log="$(mktemp)"
  "$bin" serve >"$server_log" 2>&1 &
  server_pid=$!
  trap stop_scratch_server EXIT

  # localhost, not 127.0.0.1: browsers keep Secure cookies for localhost.
  base="http://localhost:$port"
  local _
  for _ in $(seq 1 150); do
    scratch_server_ready && return 0
    sleep 0.2
  done
  echo "$name: the server did not get ready" >&2
  cat "$server_log" >&2
  exit 1
}

scratch_server_ready() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$base/readyz" 2>/dev/null
}

stop_scratch_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  rm -f "$server_log"
}
