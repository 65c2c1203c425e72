# Skillpay developer tasks. `just` alone lists them.
#
# `just` itself is not packaged in Debian: `pip install rust-just` (or let
# .ci/run put it into .venv/bin).

set shell := ["bash", "-euo", "pipefail", "-c"]

# Local development PostgreSQL cluster (see scripts/pg.sh).
dev_pg_dir := ".data/pg"
dev_pg_port := env("SKILLPAY_DEV_PG_PORT", "54329")

# List the recipes.
default:
    @{{ just_executable() }} --justfile {{ justfile() }} --list

# Install what is missing (PostgreSQL server, libpq-dev; the Python test tools in .venv); idempotent.
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    have_pg_server() {
        local d
        if command -v pg_config >/dev/null 2>&1; then
            d="$(pg_config --bindir 2>/dev/null || true)"
            [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && return 0
        fi
        for d in /usr/lib/postgresql/*/bin; do
            [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && return 0
        done
        return 1
    }
    have_deb() {
        dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
    }
    missing=()
    have_pg_server || missing+=(postgresql)
    have_deb libpq-dev || missing+=(libpq-dev)
    # The console's browser tests (`just test` only): Debian's Chromium,
    # driven from Node.js.
    if [ "${SKILLPAY_SETUP_BROWSER:-0}" = 1 ]; then
        [ -x /usr/bin/chromium ] || missing+=(chromium)
        command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
        # pdftotext and pdftoppm read the receipts' PDFs in the tests.
        command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
    fi
    # Test tools from PyPI live in .venv: localstripe (the Stripe stand-in),
    # schemathesis (fuzzes the API from its OpenAPI document),
    # openapi-spec-validator and openapi-python-client (check that document
    # as strict tools and client generators read it), aiosmtpd (the SMTP
    # server the e-mail tests deliver to).
    python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
    install_python_tools() {
        [ -x .venv/bin/python ] || python3 -m venv .venv
        .venv/bin/python -c 'import localstripe, schemathesis, openapi_spec_validator, openapi_python_client, aiosmtpd' 2>/dev/null && return 0
        echo "setup: installing localstripe, schemathesis, openapi-spec-validator, openapi-python-client and aiosmtpd into .venv (pip)" >&2
        .venv/bin/pip install --quiet --disable-pip-version-check localstripe 'schemathesis>=4.32,<5' \
            'openapi-spec-validator>=0.9,<0.10' 'openapi-python-client>=0.29,<0.30' 'aiosmtpd>=1.4,<2'
    }
    install_system_packages() {
        command -v apt-get >/dev/null 2>&1 || {
            echo "setup: missing ${missing[*]} and no apt-get here: install them by hand" >&2
            exit 1
        }
        sudo=()
        if [ "$(id -u)" -ne 0 ]; then
            command -v sudo >/dev/null 2>&1 || {
                echo "setup: missing ${missing[*]}; run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
                exit 1
            }
            sudo=(sudo)
        fi
        echo "setup: installing ${missing[*]} (apt-get)" >&2
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    }
    [ "${#missing[@]}" -eq 0 ] || install_system_packages
    install_python_tools

# `setup`, plus Chromium and Node.js for the console's browser tests.
setup-browser:
    SKILLPAY_SETUP_BROWSER=1 {{ just_executable() }} --justfile {{ justfile() }} setup

# Check formatting and clippy lints (warnings are errors).
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-features --all-targets -- -D warnings

# Lint, then run all tests (unit, integration, e2e, doc, OpenAPI document check, schemathesis, console in Chromium) against a throwaway PostgreSQL.
test: setup-browser lint
    bash scripts/with-test-db.sh bash -c 'cargo test --workspace --all-features --all-targets && cargo test --workspace --all-features --doc && bash scripts/openapi-check.sh && bash scripts/schemathesis.sh && bash scripts/console-test.sh'

# Drive the admin console in headless Chromium (also part of `just test`); screenshots in tests/console/screenshots/.
test-console: setup-browser
    bash scripts/with-test-db.sh bash scripts/console-test.sh

# Fuzz the running API from its OpenAPI document (also part of `just test`).
fuzz-api: setup
    bash scripts/with-test-db.sh bash scripts/schemathesis.sh

# Format the code.
fmt:
    cargo fmt --all

# Build and run the server on the dev database (migrate + demo data first).
run: setup
    #!/usr/bin/env bash
    # Uses $DATABASE_URL if set, else starts the dev cluster in .data/pg on
    # $SKILLPAY_DEV_PG_PORT (54329). Ctrl-C stops the server (it gets the
    # signal directly: this script execs it); the dev PostgreSQL is left
    # running on purpose, so the next `just run` starts fast: stop it with
    # `just db-stop`.
    set -euo pipefail
    cargo build -p app
    mkdir -p .data
    if [ -z "${DATABASE_URL:-}" ]; then
        DATABASE_URL="$(bash scripts/pg.sh start {{ dev_pg_dir }} {{ dev_pg_port }})"
        export DATABASE_URL
    fi
    # Development secrets: generated once, kept in .data/ (git-ignored).
    dev_secret() {
        local var="$1" file="$2"
        if [ -z "${!var:-}" ]; then
            if [ ! -s "$file" ]; then
                (umask 077 && head -c 32 /dev/urandom | base64 >"$file")
            fi
            export "$var=$(cat "$file")"
        fi
    }
    dev_secret SKILLPAY_JWT_SECRET .data/dev-jwt-secret
    dev_secret SKILLPAY_ENCRYPTION_KEY .data/dev-encryption-key
    # Logs for people at the terminal; JSON is the default elsewhere.
    export SKILLPAY_LOG_FORMAT="${SKILLPAY_LOG_FORMAT:-text}"
    # A development server takes test payments through the sandbox.
    export SKILLPAY_SANDBOX="${SKILLPAY_SANDBOX:-on}"
    # ... and sends its events to receivers on this machine (http, loopback).
    export SKILLPAY_EVENT_ENDPOINTS_ALLOW_PRIVATE="${SKILLPAY_EVENT_ENDPOINTS_ALLOW_PRIVATE:-on}"
    # E-mail goes to .eml files in .data/mail/ (no SMTP server), and mail
    # about its test money may go to the demo's example.com addresses.
    export SKILLPAY_MAIL_DIR="${SKILLPAY_MAIL_DIR:-.data/mail}"
    export SKILLPAY_MAIL_TEST_ALLOW="${SKILLPAY_MAIL_TEST_ALLOW:-@example.com}"
    export SKILLPAY_MAIL_ADMINS="${SKILLPAY_MAIL_ADMINS:-admin@example.com}"
    bin="${CARGO_TARGET_DIR:-target}/debug/skillpay"
    "$bin" migrate
    "$bin" demo-data
    exec "$bin" serve

# Start the dev PostgreSQL cluster (.data/pg) and print its URL.
db-start: setup
    @bash scripts/pg.sh start {{ dev_pg_dir }} {{ dev_pg_port }}

# Stop the dev PostgreSQL cluster.
db-stop:
    @bash scripts/pg.sh stop {{ dev_pg_dir }}

# Print the URL of the running dev PostgreSQL cluster.
db-url:
    @bash scripts/pg.sh url {{ dev_pg_dir }}

# Time statistics and earnings over 1,000,000 payments (BENCH_PAYMENTS to change)
# against scanning the payments table; starts its own PostgreSQL.
bench-stats: setup
    bash scripts/with-test-db.sh cargo run --release -p skillpay-e2e --example bench_stats

# Load-test the API next to PostgreSQL replaying the same SQL (A-B-B-A, 8 and 32
# clients); table on stdout, JSON/CSV/SVG in bench-results/. See docs/performance.md.
bench: setup
    bash scripts/bench/run.sh

# Regenerate crates/adapters-postgres/src/schema.rs from the migrations (needs diesel_cli).
schema:
    #!/usr/bin/env bash
    set -euo pipefail
    command -v diesel >/dev/null || cargo install diesel_cli --no-default-features --features postgres --locked
    bash scripts/with-test-db.sh bash -c 'cd crates/adapters-postgres && diesel migration run --database-url "$DATABASE_URL" && diesel print-schema --database-url "$DATABASE_URL" > src/schema.rs'
