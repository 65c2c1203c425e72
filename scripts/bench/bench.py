#!/usr/bin/env python3
"""`just bench`: the API under load next to PostgreSQL replaying the same SQL.

For each scenario and concurrency it runs, in this order, the API under wrk
(A), the scenario's SQL under pgbench (B), B again, then A again: drift of a
shared machine (other load, caches, table growth) then touches both sides
alike. Both sides use the same database, the same schema with its triggers,
and the same number of clients. The figure that matters is the ratio.

Everything it needs is started here and stopped at the end: a throwaway
PostgreSQL cluster (scripts/pg.sh, durable settings unless BENCH_PG_FAST=1),
a Stripe stand-in on loopback (examples/stripe_stub.rs), and `skillpay serve`.

Settings (environment):
  BENCH_BIN          the skillpay binary (default target/release/skillpay)
  BENCH_STUB         the Stripe stand-in (default target/release/examples/stripe_stub)
  BENCH_DURATION     seconds of each run (10)
  BENCH_CONCURRENCY  client counts, comma-separated ("8,32")
  BENCH_SCENARIOS    which ones, comma-separated, in the order given; "write"
                     and "read" stand for their group (default: all, writes
                     first: create,create_ticket,create_coupon,webhook,
                     webhook_without_receipts,balance_1k,
                     balance_100k,stats_1m,list_own)
  BENCH_TICKET_EVENTS     events create_ticket sells tickets to (5000)
  BENCH_TICKETS_PER_BUYER their tickets per buyer (1; 100 with one event)
  BENCH_REPLAY       percent of creations that replay an Idempotency-Key (10)
  BENCH_WEBHOOK_RATE most webhooks a second a run may need (1500); sizes the
                     pool of pending Stripe payments seeded for it
  BENCH_STATS_PAYMENTS payments seeded for stats_1m (1000000)
  BENCH_FOLD           0: leave the statistics shards unfolded (default 1)
  BENCH_SOLO         seconds of the one-client runs after each read
                     scenario (5; 0 skips them)
  BENCH_PG_FAST      1: fsync off (measures CPU, not commits)
  BENCH_PACED        percent of the API's rate at 8 clients offered to both
                     sides in the equal-load legs (50; 0 skips them)
  BENCH_PACED_ROUNDS A-B-B-A rounds of the equal-load legs (3), each leg half
                     of BENCH_DURATION; each side's latencies are pooled
  BENCH_OUT_DIR      where results go (bench-results)
"""
import csv
import decimal
import hashlib
import hmac
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SQL = os.path.join(HERE, "sql")

DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "8,32").split(",")]
REPLAY = int(os.environ.get("BENCH_REPLAY", "10"))
WEBHOOK_RATE = int(os.environ.get("BENCH_WEBHOOK_RATE", "1500"))
STATS_PAYMENTS = int(os.environ.get("BENCH_STATS_PAYMENTS", "1000000"))
STATS_CHUNK = 1000  # payments per transaction of the stats_1m seed (see seed_stats)
# Fold the statistics shards of past days after seeding, as the sweeper
# would (BENCH_FOLD=0 measures the aggregates unfolded).
FOLD = os.environ.get("BENCH_FOLD", "1") != "0"
SOLO = int(os.environ.get("BENCH_SOLO", "5"))
PG_FAST = os.environ.get("BENCH_PG_FAST", "0") == "1"
PACED = int(os.environ.get("BENCH_PACED", "50"))
PACED_CLIENTS = 8
# Equal load is where sub-millisecond gaps are read, so it alternates more
# often, in shorter runs: drift of the shared machine then falls on both
# sides alike, and one run's hiccup is a small part of its side's pool.
PACED_ROUNDS = max(1, int(os.environ.get("BENCH_PACED_ROUNDS", "3")))
PACED_SECONDS = max(2, DURATION // 2)
OUT_DIR = os.path.join(ROOT, os.environ.get("BENCH_OUT_DIR", "bench-results"))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.environ.get("BENCH_BIN", os.path.join(TARGET, "release", "skillpay"))
# The Stripe stand-in (examples/stripe_stub.rs), built next to the binary.
STUB = os.environ.get("BENCH_STUB", os.path.join(TARGET, "release", "examples", "stripe_stub"))
PACER = os.environ.get("BENCH_PACER", os.path.join(TARGET, "release", "examples", "paced_load"))
THREADS = 2  # wrk and pgbench threads: the load generators must not starve the server

INSTRUCTORS, COURSES = 2000, 5000
# Events of the create_ticket scenario, each with this many seats (never
# near full), and tickets per buyer. BENCH_TICKET_EVENTS=1 BENCH_TICKETS_PER_BUYER=100
# puts every buyer at one event: its 8 seat rows are all the contention.
EVENTS = int(os.environ.get("BENCH_TICKET_EVENTS", "5000"))
EVENT_SEATS = 1_000_000
TICKETS_PER_BUYER = int(os.environ.get("BENCH_TICKETS_PER_BUYER", "1"))
API_USERS = range(10000, 10200)  # students the API load acts as
JWT_SECRET = "bench-jwt-secret-" + "x" * 32
WEBHOOK_SECRET = "whsec_bench"
COUPON = "BENCH10"
# Read scenarios: instructors with a known history (outside the catalog's
# 100..2099), the students whose own payments are listed, the range asked of
# the statistics (the year stats_1m fills).
BALANCE_INSTRUCTORS = {"balance_1k": (5001, 1000), "balance_100k": (5002, 100000)}
LIST_USERS = range(60000, 60200)
LIST_PAYMENTS_EACH = 300
STATS_FROM, STATS_TO = "2026-01-01", "2026-12-31"

SCENARIOS = {
    "create": {
        "what": "POST /api/payments/ (sandbox, no coupon, 10 % replays)",
        "lua": "create_payment.lua", "coupon": "",
        "sql": ["create_payment.sql", "replay.sql"],
    },
    # Tickets to events with a capacity: each purchase takes its seat in
    # the payment's transaction, from one of the event's seat rows. Against
    # the same baseline as "create", so its ratio next to create's is what
    # seats cost; events far from full must not queue on one counter.
    "create_ticket": {
        "what": f"POST /api/payments/ (sandbox, a ticket to one of {EVENTS} events of {EVENT_SEATS:,} seats, "
                "10 % replays)",
        "lua": "create_payment.lua", "coupon": "", "item": "event",
        "sql": ["create_payment.sql", "replay.sql"],
    },
    "create_coupon": {
        "what": "POST /api/payments/ (sandbox, coupon BENCH10, 10 % replays)",
        "lua": "create_payment.lua", "coupon": COUPON,
        "sql": ["create_payment_coupon.sql", "replay.sql"],
    },
    "webhook": {
        "what": "POST /api/payments/webhooks/stripe/ payment_intent.succeeded (completes a pending payment)",
        "lua": "webhook.lua", "sql": ["complete_payment.sql"],
    },
    # What receipts cost a completion: the same webhooks with the trigger
    # that writes each completed payment's unnumbered receipt switched off
    # (both sides). The numbering itself runs after the commit, off this path.
    "webhook_without_receipts": {
        "what": "the webhook scenario with the receipt trigger off (what a receipt row costs a completion)",
        "lua": "webhook.lua", "sql": ["complete_payment.sql"], "without_receipts": True,
    },
    "balance_1k": {
        "what": "GET /api/payments/payouts/balance/ as an instructor with 1,000 completed sales",
        "lua": "read.lua", "sql": ["balance.sql"], "read": True,
        "path": "/api/payments/payouts/balance/",
    },
    "balance_100k": {
        "what": "GET /api/payments/payouts/balance/ as an instructor with 100,000 completed sales",
        "lua": "read.lua", "sql": ["balance.sql"], "read": True,
        "path": "/api/payments/payouts/balance/",
    },
    "stats_1m": {
        "what": f"GET /api/payments/stats/ (admin, {STATS_FROM} to {STATS_TO}) over {STATS_PAYMENTS:,} payments",
        "lua": "read.lua", "sql": ["stats.sql"], "read": True,
        "path": f"/api/payments/stats/?from={STATS_FROM}&to={STATS_TO}&livemode=true",
    },
    "list_own": {
        "what": f"GET /api/payments/?limit=20 (first page) as {len(LIST_USERS)} students with "
                f"{LIST_PAYMENTS_EACH} payments each",
        "lua": "read.lua", "sql": ["list_own.sql"], "read": True,
        "path": "/api/payments/?limit=20",
    },
}
GROUPS = {
    "write": [n for n, s in SCENARIOS.items() if not s.get("read")],
    "read": [n for n, s in SCENARIOS.items() if s.get("read")],
}


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


class Psql:
    def __init__(self, url):
        self.url = url

    def __call__(self, sql):
        return run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", self.url, "-c", sql]).strip()


def free_port():
    return int(run(["bash", os.path.join(ROOT, "scripts", "pg.sh"), "free-port"]).strip())


def wait_ready(base, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("bench: the server did not become ready; see its log")


def http(method, url, token, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def token(user, role):
    env = dict(os.environ, SKILLPAY_JWT_SECRET=JWT_SECRET)
    return run([BIN, "token", "--user-id", str(user), "--role", role, "--ttl-secs", "86400"], env=env).strip()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def percentile(values, q):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(q / 100 * len(values)))]


def tokens_in(path):
    """The tokens of a "user token" file, in order."""
    with open(path) as f:
        return [line.split()[1] for line in f if line.strip()]


def abba(label, api_leg, sql_leg, digits, before_leg):
    """Runs the API (A) and the SQL (B) as A-B-B-A, logging each run.
    `before_leg` runs before each (a checkpoint: see `Bench.checkpoint`)."""
    legs = []
    for side in ("api", "sql", "sql", "api"):
        before_leg()
        leg = api_leg() if side == "api" else sql_leg()
        log(f"  {label} {side}: {leg['rps']:.0f}/s p50 {leg['p50_ms']:.{digits}f} ms "
            f"p99 {leg['p99_ms']:.{digits}f} ms errors {leg['errors']}")
        legs.append(leg)
    return legs


def pooled(legs):
    """Each side's p50 and p99 over the latencies of all its runs, which
    leave the legs (kept with their own p50 and p99) once pooled."""
    pool = {"api": [], "sql": []}
    for leg in legs:
        pool[leg["side"]] += leg.pop("latencies_us")
    return {"api_p50_ms": percentile(pool["api"], 50) / 1000, "api_p99_ms": percentile(pool["api"], 99) / 1000,
            "baseline_p50_ms": percentile(pool["sql"], 50) / 1000,
            "baseline_p99_ms": percentile(pool["sql"], 99) / 1000}


def summary(legs):
    """Each side's runs averaged, their errors summed."""
    api = [x for x in legs if x["side"] == "api"]
    sql = [x for x in legs if x["side"] == "sql"]
    mean = lambda xs, k: statistics.fmean(x[k] for x in xs)  # noqa: E731
    return {"api_rps": mean(api, "rps"), "baseline_tps": mean(sql, "rps"),
            "api_p50_ms": mean(api, "p50_ms"), "api_p99_ms": mean(api, "p99_ms"),
            "baseline_p50_ms": mean(sql, "p50_ms"), "baseline_p99_ms": mean(sql, "p99_ms"),
            "api_errors": sum(x["errors"] for x in api), "baseline_errors": sum(x["errors"] for x in sql),
            "rss_peak_mib": max(x["rss_peak_mib"] for x in api), "legs": legs}


class Bench:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []
        self.results = []
        self.checks = []
        self.solo = []
        self.paced = []
        self.read_tokens = {}
        self.read_vars = {}
        self.stats_seed_s = None
        self.rss_peak_kib = 0
        self.webhook_pool = 0
        self.names = []

    # --- set-up --------------------------------------------------------------

    def start_postgres(self):
        pg_dir = os.path.join(self.tmp, "pg")
        env = dict(os.environ, PG_FAST="1" if PG_FAST else "0")
        self.pg_dir = pg_dir
        url = run(["bash", os.path.join(ROOT, "scripts", "pg.sh"), "start", pg_dir, str(free_port())], env=env).strip()
        self.db = Psql(url)
        self.url = url
        log(f"PostgreSQL at {url} ({'fsync off' if PG_FAST else 'durable: fsync and synchronous_commit on'})")

    def start_app(self):
        self.stub_port, port = free_port(), free_port()
        if not os.path.exists(STUB):
            sys.exit(f"bench: no Stripe stand-in at {STUB}: cargo build --release --example stripe_stub")
        stub = subprocess.Popen([STUB, str(self.stub_port)], stdout=subprocess.PIPE, text=True)
        self.procs.append(stub)
        stub.stdout.readline()  # "ready"
        self.base = f"http://127.0.0.1:{port}"
        self.env = dict(
            os.environ,
            DATABASE_URL=self.url,
            SKILLPAY_BIND=f"127.0.0.1:{port}",
            SKILLPAY_JWT_SECRET=JWT_SECRET,
            SKILLPAY_SANDBOX="on",
            STRIPE_SECRET_KEY="sk_test_bench",
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            STRIPE_API_BASE=f"http://127.0.0.1:{self.stub_port}",
            # The load comes from one address and a few hundred users: the
            # limits are raised to their maximum so they count but never refuse.
            SKILLPAY_RATE_PAYMENTS_PER_USER="1000000",
            SKILLPAY_RATE_PAYMENTS_PER_IP="1000000",
            # Keep the background sweep out of the measured minutes.
            SKILLPAY_RECONCILE_INTERVAL_SECS="3600",
            RUST_LOG=os.environ.get("RUST_LOG", "info"),
        )
        run([BIN, "migrate"], env=self.env)
        self.seed_catalog()
        self.app_log = open(os.path.join(self.tmp, "app.log"), "w")
        app = subprocess.Popen([BIN, "serve"], env=self.env, stdout=self.app_log, stderr=subprocess.STDOUT)
        self.procs.append(app)
        self.app = app
        wait_ready(self.base)
        self.idle_rss_kib = rss_kib(app.pid)
        self.admin = token(1, "admin")
        coupon = http("POST", self.base + "/api/payments/coupons/", self.admin,
                      {"code": COUPON, "discount_type": "percentage", "discount_value": "10"},
                      {"Idempotency-Key": "bench-coupon"})
        self.coupon_id = self.db(f"SELECT id FROM coupons WHERE code = '{COUPON}'")
        log(f"coupon {coupon['code']} ({coupon['id']}); minting {len(API_USERS)} student tokens")
        self.tokens_file = os.path.join(self.tmp, "tokens.txt")
        with open(self.tokens_file, "w") as f:
            for user in API_USERS:
                f.write(f"{user} {token(user, 'student')}\n")
        # One answered key per baseline user, for the baseline's replays.
        self.db("INSERT INTO idempotency_keys (owner_id, key, fingerprint, status, response_status, response_body, "
                "created_at, completed_at) SELECT u, 'replay', "
                "'1ef411125320432fa7f1e8367323a0c9096b82be0d941cbd38953d64a1039683', 'completed', 201, "
                "convert_to(repeat('x', 900), 'UTF8'), now(), now() FROM generate_series(900000, 900999) u")

    def seed_catalog(self):
        # Thousands of instructors and courses, prices 9.99 to 199.98 USD.
        self.db(f"INSERT INTO catalog_items (kind, item_id, title, price_minor, currency, instructor_id, active, "
                f"updated_at) SELECT 'course', g, 'Course ' || g, 999 + (g * 7919) % 19000, 'USD', "
                f"100 + g % {INSTRUCTORS}, true, now() FROM generate_series(1, {COURSES}) g")
        # Events with seats spread over 8 rows each, as the catalog API
        # writes them (docs/payments.md#event-seats).
        self.db(f"INSERT INTO catalog_items (kind, item_id, title, price_minor, currency, instructor_id, active, "
                f"updated_at, capacity, tickets_per_buyer) SELECT 'event', g, 'Event ' || g, 1500 + (g * 7919) % 9000, "
                f"'USD', 100 + g % {INSTRUCTORS}, true, now(), {EVENT_SEATS}, {TICKETS_PER_BUYER} "
                f"FROM generate_series(1, {EVENTS}) g")
        self.db(f"INSERT INTO event_seats (event_id, shard, free) SELECT g, s, {EVENT_SEATS // 8} "
                f"FROM generate_series(1, {EVENTS}) g, generate_series(0, 7) s")
        log(f"catalog: {COURSES} courses by {INSTRUCTORS} instructors, {EVENTS} events of {EVENT_SEATS:,} seats")

    def seed_pending_stripe(self, prefix, count, users):
        """Pending Stripe payments as `POST /api/payments/` leaves them (even
        numbers with a reserved BENCH10 use), so webhooks can complete them."""
        lo, hi = users
        self.db("CREATE SEQUENCE IF NOT EXISTS bench_complete_seq")
        # In chunks of their own transactions: the stats trigger adds every
        # row to one of a few kept aggregate rows, and updating one row many
        # thousand times in one transaction gets slower with every update.
        for first in range(1, count + 1, 5000):
            last = min(count, first + 4999)
            self.db(f"""
                WITH p AS (
                    INSERT INTO payments (id, user_id, course_id, instructor_id, status, payment_method,
                        provider_payment_id, currency, original_amount_minor, discount_amount_minor, amount_minor,
                        platform_fee_minor, instructor_earnings_minor, coupon_id, coupon_code, billing, ip_address,
                        user_agent, created_at, updated_at)
                    SELECT gen_random_uuid(), {lo} + g % ({hi} - {lo}), c.item_id, c.instructor_id, 'pending',
                        'stripe', '{prefix}' || g, 'USD', c.price_minor, d, c.price_minor - d, f,
                        c.price_minor - d - f, CASE WHEN g % 2 = 0 THEN '{self.coupon_id}'::uuid END,
                        CASE WHEN g % 2 = 0 THEN '{COUPON}' END, '{{}}', '127.0.0.1', 'bench', now(), now()
                    FROM generate_series({first}, {last}) g
                    JOIN catalog_items c ON c.kind = 'course' AND c.item_id = 1 + g % {COURSES}
                    CROSS JOIN LATERAL (SELECT CASE WHEN g % 2 = 0 THEN (c.price_minor + 5) / 10 ELSE 0 END AS d) dd
                    CROSS JOIN LATERAL (SELECT ((c.price_minor - d) * 20 + 50) / 100 AS f) ff
                    RETURNING id, user_id, coupon_id, discount_amount_minor)
                INSERT INTO coupon_redemptions (id, coupon_id, user_id, payment_id, discount_amount_minor, currency,
                    status, redeemed_at, updated_at, use_shard)
                SELECT gen_random_uuid(), coupon_id, user_id, id, discount_amount_minor, 'USD', 'reserved', now(),
                    now(), get_byte(uuid_send(id), 15) % 16
                FROM p WHERE coupon_id IS NOT NULL""")
        # BENCH10 has no limits: its uses are counted on its count rows.
        self.db(f"""
            INSERT INTO coupon_use_counts (coupon_id, shard, uses)
            SELECT coupon_id, use_shard, count(*) FROM coupon_redemptions
            WHERE coupon_id = '{self.coupon_id}' AND status = 'reserved' AND use_shard IS NOT NULL
                AND payment_id IN (SELECT id FROM payments WHERE provider_payment_id LIKE '{prefix}%')
            GROUP BY coupon_id, use_shard
            ON CONFLICT (coupon_id, shard) DO UPDATE SET uses = coupon_use_counts.uses + excluded.uses""")

    # --- data for the read scenarios -------------------------------------------

    def seed_balance(self, instructor, sales):
        """An instructor with `sales` completed Stripe sales over the past year,
        each with its sale journal and, past the 7-day hold, its earnings
        release journal; one paid payout (4,000 USD, reserve and paid
        journals) per 100 sales. Kept balances get the journals' sums, on the
        16 shards, as the server's own writes would leave them (the trigger on
        payouts keeps the amount paid out)."""
        course = 100000 + instructor  # not in the catalog: the balance never reads it
        year = f"(interval '365 days' / {sales})"

        def src(a, b):
            return f"""
            SELECT g, md5('bal-{instructor}-' || g)::uuid AS pid, price, fee, price - fee AS earn, t,
                   t < now() - interval '7 days' AS released, (g % 16)::smallint AS shard
            FROM generate_series({a}, {b}) g,
                 LATERAL (SELECT 999 + (g * 7919) % 19000 AS price) pr,
                 LATERAL (SELECT (price * 20 + 50) / 100 AS fee) f,
                 LATERAL (SELECT now() - interval '1 minute' - ((g * 7919) % {sales}) * {year} AS t) tt"""

        upsert = ("ON CONFLICT (account, currency, livemode, shard) DO UPDATE SET "
                  "balance_minor = ledger_balances.balance_minor + excluded.balance_minor, "
                  "updated_at = excluded.updated_at")
        # In chunks of their own transactions (the stats triggers add every
        # sale to a few kept rows; see seed_pending_stripe).
        for a in range(1, sales + 1, 5000):
            b = min(sales, a + 4999)
            self.db(f"""
                INSERT INTO payments (id, user_id, course_id, instructor_id, status, payment_method,
                    provider_payment_id, currency, original_amount_minor, discount_amount_minor, amount_minor,
                    platform_fee_minor, instructor_earnings_minor, billing, ip_address, user_agent, created_at,
                    updated_at, completed_at, earnings_released_at)
                SELECT pid, 70000 + g % 5000, {course}, {instructor}, 'completed', 'stripe',
                    'pi_bal_{instructor}_' || g, 'USD', price, 0, price, fee, earn, '{{}}', '127.0.0.1', 'bench',
                    t, t, t, CASE WHEN released THEN t + interval '7 days' END
                FROM ({src(a, b)}) s;
                INSERT INTO ledger_journals (id, kind, payment_id, currency, posted_at)
                SELECT md5('sale-' || pid)::uuid, 'sale', pid, 'USD', t FROM ({src(a, b)}) s
                UNION ALL
                SELECT md5('release-' || pid)::uuid, 'earnings_release', pid, 'USD', t + interval '7 days'
                FROM ({src(a, b)}) s WHERE released;
                WITH e AS (
                    SELECT v.* FROM ({src(a, b)}) s CROSS JOIN LATERAL (VALUES
                        (md5('sale-' || pid)::uuid, 'gateway_clearing:stripe', price, shard, true),
                        (md5('sale-' || pid)::uuid, 'instructor_pending:{instructor}', -earn, shard, true),
                        (md5('sale-' || pid)::uuid, 'platform_revenue', -fee, shard, true),
                        (md5('release-' || pid)::uuid, 'instructor_pending:{instructor}', earn, shard, released),
                        (md5('release-' || pid)::uuid, 'instructor_payable:{instructor}', -earn, shard, released)
                    ) v(journal_id, account, amount, shard, keep) WHERE v.keep),
                ins AS (INSERT INTO ledger_entries (journal_id, account, currency, amount_minor)
                        SELECT journal_id, account, 'USD', amount FROM e)
                INSERT INTO ledger_balances (account, currency, shard, balance_minor, updated_at)
                SELECT account, 'USD', shard, sum(amount), now() FROM e GROUP BY account, shard
                {upsert}""")
        payouts, amount = max(1, sales // 100), 400000
        pay = f"""
            SELECT k, md5('payout-{instructor}-' || k)::uuid AS id, (k % 16)::smallint AS shard,
                   now() - interval '8 days' - k * (interval '350 days' / {payouts}) AS t
            FROM generate_series(0, {payouts - 1}) k"""
        self.db(f"""
            INSERT INTO payouts (id, instructor_id, amount_minor, currency, method, status, destination_encrypted,
                destination_masked, destination_key_id, transaction_id, created_at, updated_at, paid_at)
            SELECT id, {instructor}, {amount}, 'USD', 'stripe_connect', 'paid', '\\x00'::bytea, 'acct_...bench',
                'bench', 'po_bench_{instructor}_' || k, t, t + interval '2 days', t + interval '2 days'
            FROM ({pay}) p;
            INSERT INTO ledger_journals (id, kind, payout_id, currency, posted_at)
            SELECT md5('reserve-' || id)::uuid, 'payout_reserve', id, 'USD', t FROM ({pay}) p
            UNION ALL
            SELECT md5('paid-' || id)::uuid, 'payout_paid', id, 'USD', t + interval '2 days' FROM ({pay}) p;
            WITH e AS (
                SELECT v.* FROM ({pay}) p CROSS JOIN LATERAL (VALUES
                    (md5('reserve-' || id)::uuid, 'instructor_payable:{instructor}', {amount}, shard),
                    (md5('reserve-' || id)::uuid, 'payouts_in_transit:{instructor}', -{amount}, shard),
                    (md5('paid-' || id)::uuid, 'payouts_in_transit:{instructor}', {amount}, shard),
                    (md5('paid-' || id)::uuid, 'payout_funds:stripe_connect', -{amount}, shard)
                ) v(journal_id, account, amount, shard)),
            ins AS (INSERT INTO ledger_entries (journal_id, account, currency, amount_minor)
                    SELECT journal_id, account, 'USD', amount FROM e)
            INSERT INTO ledger_balances (account, currency, shard, balance_minor, updated_at)
            SELECT account, 'USD', shard, sum(amount), now() FROM e GROUP BY account, shard
            {upsert}""")
        for table in ("payments", "payouts", "ledger_journals", "ledger_entries", "ledger_balances",
                      "instructor_paid_out"):
            self.db(f"VACUUM ANALYZE {table}")

    def expected_balance(self, instructor):
        """Pending, available and paid out (minor units), from the payments
        and payouts themselves rather than from the kept balances."""
        row = self.db(f"""
            SELECT coalesce(sum(instructor_earnings_minor) FILTER (WHERE earnings_released_at IS NULL), 0),
                   coalesce(sum(instructor_earnings_minor) FILTER (WHERE earnings_released_at IS NOT NULL), 0)
                   - (SELECT coalesce(sum(amount_minor), 0) FROM payouts
                      WHERE instructor_id = {instructor} AND status = 'paid'),
                   (SELECT coalesce(sum(amount_minor), 0) FROM payouts
                    WHERE instructor_id = {instructor} AND status = 'paid')
            FROM payments WHERE instructor_id = {instructor} AND status = 'completed'""")
        return [int(x) for x in row.split("|")]

    def seed_stats(self, count):
        """`count` payments over 2026 as `just bench-stats` seeds them
        (examples/bench_stats.rs: 5,000 courses, 1,000 instructors, 50,000
        payers, one in ten failed, one in twenty partly refunded with its
        processed refund). Every row goes through the triggers that keep the
        aggregates, in transactions of STATS_CHUNK payments each.

        Why small transactions: a live service commits each payment on its
        own, and PostgreSQL prunes the old versions of an aggregate row once
        no transaction can see them. One transaction of 50,000 payments
        updated each aggregate row hundreds of times and kept every version:
        the daily aggregates of a year (2,583 rows, 35 pages packed) took
        3,381 pages that VACUUM cannot give back, and the statistics
        statement read all of them (docs/performance.md)."""
        started = time.time()
        self.db(f"""
            DO $$
            BEGIN
              FOR a IN 1..{count} BY {STATS_CHUNK} LOOP
                INSERT INTO payments (id, user_id, course_id, instructor_id, status, payment_method, currency,
                    original_amount_minor, discount_amount_minor, amount_minor, platform_fee_minor,
                    instructor_earnings_minor, refunded_amount_minor, created_at, updated_at, completed_at,
                    earnings_released_at)
                SELECT md5('stats-' || g)::uuid, 1000 + g % 50000, 1 + g % 5000, 100 + g % 1000,
                    CASE WHEN g % 10 = 0 THEN 'failed' WHEN g % 20 = 1 THEN 'partially_refunded' ELSE 'completed' END,
                    (ARRAY['stripe', 'paypal', 'sandbox'])[1 + g % 3], 'USD', 5000, 0, 5000, 1000, 4000,
                    CASE WHEN g % 20 = 1 THEN 1000 ELSE 0 END, t, t, CASE WHEN g % 10 = 0 THEN NULL ELSE t END,
                    CASE WHEN g % 10 = 0 THEN NULL ELSE t END
                FROM generate_series(a, least(a + {STATS_CHUNK - 1}, {count})) g,
                    LATERAL (SELECT timestamptz '2026-01-01 00:00+00' + (g % 365) * interval '1 day'
                             + (g % 86400) * interval '1 second' AS t) s;
                INSERT INTO refunds (id, payment_id, amount_minor, currency, platform_fee_reversed_minor, status,
                    reason, requested_by, created_at, updated_at, processed_at, livemode)
                SELECT md5('stats-refund-' || g)::uuid, p.id, 1000, 'USD', 200, 'processed', 'bench', 1,
                    p.created_at, p.created_at, p.created_at, p.livemode
                FROM generate_series(a, least(a + {STATS_CHUNK - 1}, {count})) g
                JOIN payments p ON p.id = md5('stats-' || g)::uuid
                WHERE g % 20 = 1;
                COMMIT;
              END LOOP;
            END $$""")
        seeded = time.time() - started
        if FOLD:
            # What the server's sweeper does on its next tick: the shards of
            # past days and months folded into one row per key.
            folded = self.db("SELECT fold_stats_shards((now() AT TIME ZONE 'UTC')::date - 1, "
                             "date_trunc('month', now() AT TIME ZONE 'UTC')::date)")
            log(f"folded past statistics shards into {folded} rows")
        for table in ("payments", "refunds", "payment_stats_daily", "instructor_stats_monthly"):
            self.db(f"VACUUM ANALYZE {table}")
        self.stats_seed_s = {"payments": count, "insert_s": round(seeded, 1),
                             "with_vacuum_s": round(time.time() - started, 1)}
        log(f"seeded {count} payments in {seeded:.0f} s ({time.time() - started:.0f} s with VACUUM ANALYZE)")

    def seed_list(self):
        """LIST_PAYMENTS_EACH payments for each of the LIST_USERS students over
        the past year, of catalog courses: most completed (earnings already
        released), one in ten failed, one in ten expired."""
        total = len(LIST_USERS) * LIST_PAYMENTS_EACH
        year = f"(interval '365 days' / {total})"
        for a in range(1, total + 1, 20000):
            b = min(total, a + 19999)
            self.db(f"""
                INSERT INTO payments (id, user_id, course_id, instructor_id, status, payment_method,
                    provider_payment_id, currency, original_amount_minor, discount_amount_minor, amount_minor,
                    platform_fee_minor, instructor_earnings_minor, billing, ip_address, user_agent, created_at,
                    updated_at, completed_at, earnings_released_at)
                SELECT md5('list-' || g)::uuid, {LIST_USERS.start} + g % {len(LIST_USERS)}, c.item_id,
                    c.instructor_id, st, 'stripe', 'pi_list_' || g, 'USD', c.price_minor, 0, c.price_minor, f,
                    c.price_minor - f, '{{}}', '127.0.0.1', 'bench', t, t,
                    CASE WHEN st = 'completed' THEN t END, CASE WHEN st = 'completed' THEN t END
                FROM generate_series({a}, {b}) g
                JOIN catalog_items c ON c.kind = 'course' AND c.item_id = 1 + (g * 7) % {COURSES}
                CROSS JOIN LATERAL (SELECT (c.price_minor * 20 + 50) / 100 AS f,
                    CASE WHEN g % 10 = 0 THEN 'failed' WHEN g % 10 = 5 THEN 'expired' ELSE 'completed' END AS st,
                    now() - interval '1 minute' - ((g * 7919) % {total}) * {year} AS t) x""")
        self.db("VACUUM ANALYZE payments")

    def prepare_read(self, name):
        """Seeds what a read scenario reads, mints the tokens its requests
        rotate through and sets its baseline's pgbench variables."""
        path = os.path.join(self.tmp, f"tokens-{name}.txt")
        if name in BALANCE_INSTRUCTORS:
            instructor, sales = BALANCE_INSTRUCTORS[name]
            started = time.time()
            self.seed_balance(instructor, sales)
            log(f"seeded instructor {instructor}: {sales} sales, {max(1, sales // 100)} paid payouts, "
                f"their journals and kept balances ({time.time() - started:.0f} s)")
            accounts = {k: f"{k}:{instructor}" for k in ("instructor_pending", "instructor_payable",
                                                         "payouts_in_transit")}
            users, role = [instructor], "instructor"
            variables = {"instructor": instructor, "accounts": "{" + ",".join(accounts.values()) + "}"}
        elif name == "stats_1m":
            log(f"seeding {STATS_PAYMENTS} payments over {STATS_FROM[:4]}")
            self.seed_stats(STATS_PAYMENTS)
            users, role, variables = [1, 2, 3, 4], "admin", {"from": STATS_FROM, "to": STATS_TO}
        else:  # list_own
            self.seed_list()
            log(f"seeded {LIST_PAYMENTS_EACH} payments for each of {len(LIST_USERS)} students")
            users, role, variables = list(LIST_USERS), "student", {}
        with open(path, "w") as f:
            for user in users:
                f.write(f"{user} {token(user, role)}\n")
        self.read_tokens[name] = path
        self.read_vars[name] = variables

    # --- one run of each side --------------------------------------------------

    def watch(self, cmd, what, env=None):
        """Runs a load tool to its end while sampling the server's resident
        memory; returns the peak (KiB)."""
        tool = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        peak = 0
        while tool.poll() is None:
            peak = max(peak, rss_kib(self.app.pid))
            time.sleep(0.25)
        if tool.returncode != 0:
            raise SystemExit(f"bench: {what} failed: {tool.stderr.read()}")
        return peak

    def api_leg(self, name, spec, clients, duration, record=True, threads=THREADS):
        out = os.path.join(self.tmp, f"wrk-{name}-{clients}-{time.time_ns()}.json")
        env = dict(os.environ, BENCH_OUT=out, BENCH_THREADS=str(threads), BENCH_TOKENS=self.tokens_file,
                   BENCH_COURSES=str(EVENTS if spec.get("item") == "event" else COURSES),
                   BENCH_ITEM=spec.get("item", "course"), BENCH_COUPON=spec.get("coupon", ""), BENCH_REPLAY=str(REPLAY),
                   BENCH_LAG=str(4 * clients), BENCH_RUN=f"r{time.time_ns()}")
        if spec.get("lua") == "webhook.lua":
            env["BENCH_EVENTS"] = self.webhook_events(duration)
        if spec.get("read"):
            env.update(BENCH_TOKENS=self.read_tokens[name], BENCH_PATH=spec["path"])
        cmd = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{duration}s", "--timeout", "10s",
               "-s", os.path.join(HERE, spec["lua"]), self.base]
        peak = self.watch(cmd, "wrk", env)
        with open(out) as f:
            r = json.load(f)
        if not record:
            return r
        self.rss_peak_kib = max(self.rss_peak_kib, peak)
        secs = r["duration_us"] / 1e6
        errors = sum(r["errors"].values())
        return {"side": "api", "rps": r["requests"] / secs, "p50_ms": r["p50_us"] / 1000, "p99_ms": r["p99_us"] / 1000,
                "errors": errors, "requests": r["requests"], "rss_peak_mib": peak / 1024, "detail": r}

    def webhook_events(self, duration):
        """Signed payment_intent.succeeded events for the next pending API payments."""
        count = WEBHOOK_RATE * duration
        start = self.webhook_cursor
        self.webhook_cursor += count
        if self.webhook_cursor > self.webhook_pool:
            raise SystemExit("bench: the webhook pool is used up; raise BENCH_WEBHOOK_RATE")
        path = os.path.join(self.tmp, f"events-{start}.txt")
        now = int(time.time())
        key = WEBHOOK_SECRET.encode()
        with open(path, "w") as f:
            for n in range(start + 1, start + count + 1):
                body = (f'{{"id":"evt_api_{n}","object":"event","type":"payment_intent.succeeded",'
                        f'"data":{{"object":{{"id":"pi_api_{n}","object":"payment_intent"}}}}}}')
                sig = hmac.new(key, f"{now}.{body}".encode(), hashlib.sha256).hexdigest()
                f.write(f"t={now},v1={sig}\t{body}\n")
        return path

    def sql_leg(self, name, spec, clients, duration, threads=THREADS, rate=None):
        """pgbench replaying the scenario's SQL; paced at `rate` a second
        (an equal-load run, whose latencies are kept for pooling) or as fast
        as its clients go."""
        scripts = spec["sql"]
        args = []
        for i, script in enumerate(scripts):
            # Creations: replays in the same share as the API's.
            weight = "" if len(scripts) == 1 else "@" + str(100 - REPLAY if i == 0 else REPLAY)
            args += ["-f", os.path.join(SQL, script) + weight]
        prefix = os.path.join(self.tmp, f"pgb-{name}-{clients}-{time.time_ns()}")
        variables = {"courses": COURSES, "coupon_id": self.coupon_id, **self.read_vars.get(name, {})}
        # With --rate, pgbench times each transaction from when it was
        # scheduled (its log's latency includes the wait for a client).
        paced = [f"--rate={rate}"] if rate else []
        cmd = ["pgbench", "-n", "-M", "prepared", f"-c{clients}", f"-j{threads}", f"-T{duration}", *paced,
               *(a for k, v in variables.items() for a in ("-D", f"{k}={v}")),
               "-l", "--log-prefix", prefix, *args, self.url]
        p = subprocess.run(cmd, text=True, capture_output=True)
        out = p.stdout + p.stderr
        tps = next((float(line.split()[2]) for line in out.splitlines() if line.startswith("tps =")), 0.0)
        failed = next((int(line.split(":")[1].split()[0]) for line in out.splitlines()
                       if line.startswith("number of failed transactions")), 0)
        aborted = out.count("aborted in command")
        lat = []
        d = os.path.dirname(prefix)
        for fn in os.listdir(d):
            if fn.startswith(os.path.basename(prefix) + "."):
                with open(os.path.join(d, fn)) as f:
                    lat += [int(line.split()[2]) for line in f if line.strip()]
                os.unlink(os.path.join(d, fn))
        if p.returncode != 0 and not lat:
            raise SystemExit(f"bench: pgbench failed:\n{out}")
        return {"side": "sql", "rps": tps, "p50_ms": percentile(lat, 50) / 1000, "p99_ms": percentile(lat, 99) / 1000,
                "errors": failed + aborted, "requests": len(lat), **({"latencies_us": lat} if rate else {})}

    def paced_requests(self, name, spec, count, duration):
        """`count` raw HTTP requests for an equal-load leg, made as the
        scenario's wrk script makes them (creations with 10 % replays of a
        key sent at least half a second before, fresh signed webhooks, reads
        rotating through their users)."""
        host = self.base.split("//", 1)[1]

        def raw(method, target, headers, body=""):
            head = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            if body:
                head += f"Content-Length: {len(body.encode())}\r\n"
            return (head + "\r\n" + body).encode()

        reqs = []
        rnd = random.Random(count)
        if spec.get("lua") == "webhook.lua":
            with open(self.webhook_events(duration)) as f:
                for line in f:
                    sig, body = line.rstrip("\n").split("\t", 1)
                    reqs.append(raw("POST", "/api/payments/webhooks/stripe/",
                                    {"Stripe-Signature": sig, "Content-Type": "application/json"}, body))
                    if len(reqs) == count:
                        break
        elif spec.get("read"):
            tokens = tokens_in(self.read_tokens[name])
            reqs = [raw("GET", spec["path"], {"Authorization": f"Bearer {tokens[i % len(tokens)]}"})
                    for i in range(count)]
        else:
            tokens = tokens_in(self.tokens_file)
            run_tag, lag = f"p{time.time_ns()}", max(4 * PACED_CLIENTS, count // (2 * duration))
            for i in range(count):
                if i >= lag and rnd.randrange(100) < REPLAY:
                    reqs.append(reqs[rnd.randrange(i - lag + 1)])
                    continue
                coupon = f',"coupon_code":"{spec["coupon"]}"' if spec.get("coupon") else ""
                if spec.get("item") == "event":
                    item = f'"event_id":{rnd.randrange(1, EVENTS + 1)}'
                else:
                    item = f'"course_id":{rnd.randrange(1, COURSES + 1)}'
                body = f'{{{item}{coupon},"payment_method":"sandbox"}}'
                reqs.append(raw("POST", "/api/payments/", {
                    "Authorization": f"Bearer {rnd.choice(tokens)}", "Content-Type": "application/json",
                    "Idempotency-Key": f"{run_tag}-{i}"}, body))
        path = os.path.join(self.tmp, f"paced-{name}-{time.time_ns()}.http")
        with open(path, "wb") as f:
            for r in reqs:
                f.write(f"{len(r)}\n".encode() + r)
        return path

    def paced_api_leg(self, name, spec, rate, duration):
        """The API offered `rate` requests a second (examples/paced_load.rs)."""
        requests = self.paced_requests(name, spec, int(rate * duration * 1.5) + 100, duration)
        out = os.path.join(self.tmp, f"paced-{name}-{time.time_ns()}.json")
        cmd = [PACER, self.base.split("//", 1)[1], requests, str(PACED_CLIENTS), str(rate), str(duration), out]
        peak = self.watch(cmd, "paced_load")
        with open(out) as f:
            r = json.load(f)
        if r["exhausted"]:
            raise SystemExit(f"bench: paced_load ran out of requests in {name}")
        self.rss_peak_kib = max(self.rss_peak_kib, peak)
        latencies = r.pop("latencies_us")
        return {"side": "api", "rps": r["requests"] / (r["duration_us"] / 1e6), "p50_ms": r["p50_us"] / 1000,
                "p99_ms": r["p99_us"] / 1000, "errors": r["non_2xx"] + r["io_errors"], "requests": r["requests"],
                "rss_peak_mib": peak / 1024, "detail": r, "latencies_us": latencies}

    def equal_load(self, name, spec, api_rps):
        """Both sides offered the same rate (PACED % of the API's throughput
        at 8 clients), PACED_ROUNDS rounds of A-B-B-A: the latency each adds
        at equal load, from each side's latencies pooled over its runs."""
        rate = max(1, round(api_rps * PACED / 100))
        legs = []
        for _ in range(PACED_ROUNDS):
            legs += abba(f"{name} at {rate}/s", lambda: self.paced_api_leg(name, spec, rate, PACED_SECONDS),
                         lambda: self.sql_leg(name, spec, PACED_CLIENTS, PACED_SECONDS, threads=1, rate=rate), 2,
                         self.checkpoint)
        row = {"scenario": name, "concurrency": PACED_CLIENTS, "rate": rate, **summary(legs), **pooled(legs)}
        row["added_p50_ms"] = row["api_p50_ms"] - row["baseline_p50_ms"]
        row["added_p99_ms"] = row["api_p99_ms"] - row["baseline_p99_ms"]
        self.paced.append(row)

    # --- scenarios -------------------------------------------------------------

    def scenario(self, name):
        spec = SCENARIOS[name]
        log(f"scenario {name}: {spec['what']}")
        if spec.get("lua") == "webhook.lua" and not self.webhook_pool:
            # Seconds of API runs: two at each concurrency, the warm-up, and
            # the equal-load ones; once for every webhook scenario run (they
            # share one pool, each continuing where the last stopped).
            seconds = 2 * DURATION * len(CONCURRENCY) + 2
            if PACED and PACED_CLIENTS in CONCURRENCY:
                seconds += 2 * PACED_ROUNDS * PACED_SECONDS
            runs = sum(1 for n in self.names if SCENARIOS[n].get("lua") == "webhook.lua")
            self.webhook_pool = WEBHOOK_RATE * seconds * runs
            self.webhook_cursor = 0
            log(f"seeding {self.webhook_pool} pending Stripe payments for each side")
            self.seed_pending_stripe("pi_api_", self.webhook_pool, (API_USERS.start, API_USERS.stop))
            self.seed_pending_stripe("pi_base_", self.webhook_pool, (900000, 901000))
            self.db("VACUUM ANALYZE payments")
            self.db("VACUUM ANALYZE coupon_redemptions")
        if spec.get("without_receipts"):
            self.db("ALTER TABLE payments DISABLE TRIGGER payments_receipt")
        if spec.get("read"):
            self.prepare_read(name)
        # Warm-up: connections opened, caches filled; not recorded.
        self.api_leg(name, spec, CONCURRENCY[0], 2, record=False, threads=min(THREADS, CONCURRENCY[0]))
        for clients in CONCURRENCY:
            threads = min(THREADS, clients)
            legs = abba(f"{name} c={clients}", lambda: self.api_leg(name, spec, clients, DURATION, threads=threads),
                        lambda: self.sql_leg(name, spec, clients, DURATION, threads=threads), 1,
                        self.checkpoint)
            row = {"scenario": name, "concurrency": clients, **summary(legs)}
            row["ratio"] = row["api_rps"] / row["baseline_tps"] if row["baseline_tps"] else 0.0
            self.results.append(row)
            if PACED and clients == PACED_CLIENTS:
                self.equal_load(name, spec, row["api_rps"])
        if spec.get("read") and SOLO > 0:
            # One client: the latency of the request alone, no queue in front.
            api = self.api_leg(name, spec, 1, SOLO, threads=1)
            sql = self.sql_leg(name, spec, 1, SOLO, threads=1)
            log(f"  {name} c=1: api p50 {api['p50_ms']:.2f} ms, sql p50 {sql['p50_ms']:.2f} ms")
            self.solo.append({"scenario": name, "api_rps": api["rps"], "api_p50_ms": api["p50_ms"],
                              "api_p99_ms": api["p99_ms"], "baseline_tps": sql["rps"], "baseline_p50_ms": sql["p50_ms"],
                              "baseline_p99_ms": sql["p99_ms"], "api_errors": api["errors"],
                              "baseline_errors": sql["errors"], "legs": [api, sql]})
        if spec.get("without_receipts"):
            self.db("ALTER TABLE payments ENABLE TRIGGER payments_receipt")
        self.check(name)

    def checkpoint(self):
        """A checkpoint before each run, so that every run starts from the
        same state: no checkpoint of PostgreSQL's own timing (every 5 minutes,
        its writes spread over minutes) falls into one run and not another,
        and every run pays the same full-page writes after it."""
        self.db("CHECKPOINT")

    def check(self, name):
        """After every scenario: no duplicate payment, no second sale journal,
        the ledger balanced (`skillpay ledger verify`)."""
        users = f"user_id >= {API_USERS.start} AND user_id < {API_USERS.stop}"
        if name.startswith("create"):
            payments = int(self.db(f"SELECT count(*) FROM payments WHERE {users} AND payment_method = 'sandbox'"))
            keys = int(self.db(f"SELECT count(*) FROM idempotency_keys WHERE owner_id >= {API_USERS.start} "
                               f"AND owner_id < {API_USERS.stop} AND response_status = 201"))
            created = sum(leg["detail"]["created"] for r in self.results for leg in r["legs"]
                          if leg["side"] == "api" and r["scenario"].startswith("create"))
            replayed = sum(leg["detail"]["replayed"] for r in self.results for leg in r["legs"]
                           if leg["side"] == "api" and r["scenario"] == name)
            # Warm-up runs create payments too, so keys (one per payment) are
            # the exact count; the 201s counted by wrk must not exceed it.
            ok = payments == keys and created <= payments
            self.checks.append({"check": f"{name}: one payment per Idempotency-Key ({replayed} replays answered)",
                                "ok": ok, "detail": f"{payments} payments, {keys} answered keys, {created} fresh 201s"})
        if SCENARIOS[name].get("item") == "event":
            wrong = int(self.db(f"SELECT count(*) FROM (SELECT e.event_id FROM event_seats e GROUP BY e.event_id "
                                f"HAVING sum(e.free) + coalesce((SELECT sum(h.seats) FROM seat_holds h "
                                f"WHERE h.event_id = e.event_id), 0) <> {EVENT_SEATS}) x"))
            held = int(self.db("SELECT coalesce(sum(seats), 0) FROM seat_holds"))
            tickets = int(self.db("SELECT count(*) FROM payments WHERE event_id IS NOT NULL AND status = 'pending'"))
            self.checks.append({"check": f"{name}: every ticket holds one seat, every event's seats add up",
                                "ok": wrong == 0 and held == tickets,
                                "detail": f"{tickets} tickets, {held} seats held, {wrong} events off"})
        if SCENARIOS[name].get("lua") == "webhook.lua":
            completed = int(self.db("SELECT count(*) FROM payments WHERE provider_payment_id LIKE 'pi_api_%' "
                                    "AND status = 'completed'"))
            processed = sum(leg["detail"]["processed"] for r in self.results for leg in r["legs"]
                            if leg["side"] == "api" and SCENARIOS[r["scenario"]].get("lua") == "webhook.lua")
            self.checks.append({"check": f"{name}: each processed event completed one payment",
                                "ok": completed >= processed, "detail": f"{completed} completed, {processed} processed"})
        if SCENARIOS[name].get("read"):
            self.check_read(name)
        paced = [leg for r in self.paced if r["scenario"] == name for leg in r["legs"] if leg["side"] == "api"]
        if paced:
            bad = sum(leg["errors"] for leg in paced)
            self.checks.append({"check": f"{name}: every equal-load request answered 2xx", "ok": bad == 0,
                                "detail": f"{sum(leg['requests'] for leg in paced)} answered, {bad} otherwise"})
        dup = int(self.db("SELECT count(*) FROM (SELECT payment_id FROM ledger_journals WHERE kind = 'sale' "
                          "GROUP BY payment_id HAVING count(*) > 1) d"))
        self.checks.append({"check": f"{name}: no payment with two sale journals", "ok": dup == 0,
                            "detail": f"{dup} duplicates"})
        p = subprocess.run([BIN, "ledger", "verify"], env=self.env, text=True, capture_output=True)
        self.checks.append({"check": f"{name}: skillpay ledger verify", "ok": p.returncode == 0,
                            "detail": (p.stdout + p.stderr).strip().splitlines()[-1] if (p.stdout + p.stderr).strip()
                            else ""})

    def check_read(self, name):
        """A read scenario: every request answered 200, and the answer is
        the one the data gives."""
        legs = [leg for r in self.results if r["scenario"] == name for leg in r["legs"] if leg["side"] == "api"]
        legs += [leg for r in self.solo if r["scenario"] == name for leg in r["legs"] if leg["side"] == "api"]
        ok = sum(leg["detail"]["ok"] for leg in legs)
        other = sum(leg["detail"]["non_200"] for leg in legs)
        self.checks.append({"check": f"{name}: every request answered 200", "ok": other == 0,
                            "detail": f"{ok} answered 200, {other} otherwise"})
        with open(self.read_tokens[name]) as f:
            user, tok = f.readline().split()
        answer = http("GET", self.base + SCENARIOS[name]["path"], tok)
        if name in BALANCE_INSTRUCTORS:
            pending, available, paid = self.expected_balance(int(user))
            usd = next(b for b in answer["balances"] if b["currency"] == "USD")
            got = [int(decimal.Decimal(usd[k]) * 100) for k in ("pending", "available", "paid_out")]
            self.checks.append({"check": f"{name}: the balance equals the sums of the payments and payouts",
                                "ok": got == [pending, available, paid] and decimal.Decimal(usd["in_transit"]) == 0,
                                "detail": f"pending/available/paid out {got} (minor), from the rows "
                                          f"{[pending, available, paid]}"})
        elif name == "stats_1m":
            counted = int(self.db(f"SELECT count(*) FROM payments WHERE currency = 'USD' "
                                  f"AND created_at >= timestamptz '{STATS_FROM} 00:00+00' "
                                  f"AND created_at < timestamptz '{STATS_TO} 00:00+00' + interval '1 day'"))
            usd = next(c for c in answer["currencies"] if c["currency"] == "USD")
            got = usd["totals"]["payments"]
            self.checks.append({"check": f"{name}: the answer counts every payment in the range",
                                "ok": got == counted, "detail": f"answer {got}, a count of the payments {counted}"})
        else:
            own = [p["user_id"] for p in answer["data"]]
            self.checks.append({"check": f"{name}: a first page of 20 of the student's own payments, more to come",
                                "ok": len(own) == 20 and set(own) == {int(user)} and bool(answer["next_cursor"]),
                                "detail": f"{len(own)} items, payers {sorted(set(own))}, "
                                          f"next_cursor {'set' if answer['next_cursor'] else 'null'}"})

    # --- output ------------------------------------------------------------------

    def report(self):
        head = ["scenario", "conc", "API rps", "SQL tps", "ratio", "API p50", "API p99", "SQL p99", "errors API/SQL"]
        rows = [[r["scenario"], str(r["concurrency"]), f"{r['api_rps']:.0f}", f"{r['baseline_tps']:.0f}",
                 f"{r['ratio']:.2f}", f"{r['api_p50_ms']:.1f} ms", f"{r['api_p99_ms']:.1f} ms",
                 f"{r['baseline_p99_ms']:.1f} ms", f"{r['api_errors']}/{r['baseline_errors']}"] for r in self.results]
        widths = [max(len(x) for x in col) for col in zip(head, *rows)]
        line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
        print(line(head))
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for row in rows:
            print(line(row))
        print()
        if self.paced:
            print(f"equal load: both sides offered {PACED} % of the API's rate at {PACED_CLIENTS} clients, "
                  f"{PACED_ROUNDS} rounds of A-B-B-A runs of {PACED_SECONDS} s, latency from each request's "
                  "scheduled start, p50 / p99 of each side's runs pooled")
            for r in self.paced:
                print(f"  {r['scenario']} at {r['rate']}/s: API {r['api_p50_ms']:.2f} / {r['api_p99_ms']:.2f} ms, "
                      f"SQL {r['baseline_p50_ms']:.2f} / {r['baseline_p99_ms']:.2f} ms, added "
                      f"{r['added_p50_ms']:+.2f} / {r['added_p99_ms']:+.2f} ms, "
                      f"errors {r['api_errors']}/{r['baseline_errors']}")
        if self.solo:
            print(f"one client ({SOLO} s each side), p50 / p99: API, SQL baseline")
            for r in self.solo:
                print(f"  {r['scenario']}: API {r['api_p50_ms']:.2f} / {r['api_p99_ms']:.2f} ms "
                      f"({r['api_rps']:.0f}/s), SQL {r['baseline_p50_ms']:.2f} / {r['baseline_p99_ms']:.2f} ms "
                      f"({r['baseline_tps']:.0f}/s), errors {r['api_errors']}/{r['baseline_errors']}")
        if self.stats_seed_s:
            print(f"stats_1m data: {self.stats_seed_s['payments']} payments inserted in "
                  f"{self.stats_seed_s['insert_s']} s ({self.stats_seed_s['with_vacuum_s']} s with VACUUM ANALYZE)")
        print(f"server memory: idle {self.idle_rss_kib / 1024:.1f} MiB, peak under load {self.rss_peak_kib / 1024:.1f} MiB")
        for c in self.checks:
            print(f"check {'ok  ' if c['ok'] else 'FAIL'} {c['check']}: {c['detail']}")

        os.makedirs(OUT_DIR, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        meta = {"duration_s": DURATION, "concurrency": CONCURRENCY, "replay_percent": REPLAY, "pg_fast": PG_FAST,
                "stats_payments": STATS_PAYMENTS, "stats_seed": self.stats_seed_s, "one_client_s": SOLO,
                "equal_load_percent": PACED, "equal_load_rounds": PACED_ROUNDS, "equal_load_seconds": PACED_SECONDS,
                "cpus": os.cpu_count(), "idle_rss_mib": self.idle_rss_kib / 1024,
                "peak_rss_mib": self.rss_peak_kib / 1024}
        base = os.path.join(OUT_DIR, f"bench-{stamp}")
        with open(base + ".json", "w") as f:
            json.dump({"meta": meta, "results": self.results, "equal_load": self.paced, "one_client": self.solo,
                       "checks": self.checks}, f,
                      indent=2)
        fields = ["scenario", "concurrency", "api_rps", "baseline_tps", "ratio", "api_p50_ms", "api_p99_ms",
                  "baseline_p50_ms", "baseline_p99_ms", "api_errors", "baseline_errors", "rss_peak_mib"]
        with open(base + ".csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            w.writeheader()
            w.writerows(self.results)
        with open(base + ".svg", "w") as f:
            f.write(svg(self.results))
        log(f"wrote {base}.json, .csv and .svg")
        return all(c["ok"] for c in self.checks)

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(timeout=40)
            except subprocess.TimeoutExpired:
                p.kill()
        if getattr(self, "pg_dir", None):
            subprocess.run(["bash", os.path.join(ROOT, "scripts", "pg.sh"), "stop", self.pg_dir],
                           capture_output=True)


def svg(results):
    """Two panels, throughput and p99 by concurrency; solid lines the API,
    dashed the SQL baseline, one colour per scenario."""
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    names = list(dict.fromkeys(r["scenario"] for r in results))
    xs = sorted({r["concurrency"] for r in results})
    w, h, pad = 460, 300, 50
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * w + 40}" height="{h + 40 + 18 * len(names)}" '
             f'font-family="sans-serif" font-size="11">', '<rect width="100%" height="100%" fill="white"/>']
    for panel, (title, api_key, sql_key) in enumerate([("requests / s", "api_rps", "baseline_tps"),
                                                       ("p99 latency, ms", "api_p99_ms", "baseline_p99_ms")]):
        ox = 20 + panel * (w + 20)
        ymax = max([r[api_key] for r in results] + [r[sql_key] for r in results] + [1]) * 1.1
        X = lambda c: ox + pad + (xs.index(c) * (w - 2 * pad) / max(1, len(xs) - 1))  # noqa: E731
        Y = lambda v: 20 + (h - pad) * (1 - v / ymax)  # noqa: E731
        parts.append(f'<text x="{ox + w / 2}" y="14" text-anchor="middle" font-weight="bold">{title}</text>')
        parts.append(f'<line x1="{ox + pad}" y1="{Y(0)}" x2="{ox + w - pad}" y2="{Y(0)}" stroke="black"/>')
        parts.append(f'<line x1="{ox + pad}" y1="20" x2="{ox + pad}" y2="{Y(0)}" stroke="black"/>')
        for i in range(5):
            v = ymax * i / 4
            parts.append(f'<text x="{ox + pad - 4}" y="{Y(v) + 4}" text-anchor="end">{v:.0f}</text>')
        for c in xs:
            parts.append(f'<text x="{X(c)}" y="{Y(0) + 14}" text-anchor="middle">{c} clients</text>')
        for i, name in enumerate(names):
            rs = sorted((r for r in results if r["scenario"] == name), key=lambda r: r["concurrency"])
            for key, dash in ((api_key, ""), (sql_key, ' stroke-dasharray="5,4"')):
                pts = " ".join(f"{X(r['concurrency']):.1f},{Y(r[key]):.1f}" for r in rs)
                parts.append(f'<polyline points="{pts}" fill="none" stroke="{colours[i % 6]}" '
                             f'stroke-width="2"{dash}/>')
                for r in rs:
                    parts.append(f'<circle cx="{X(r["concurrency"]):.1f}" cy="{Y(r[key]):.1f}" r="3" '
                                 f'fill="{colours[i % 6]}"/>')
    for i, name in enumerate(names):
        y = h + 30 + 18 * i
        parts.append(f'<line x1="30" y1="{y - 4}" x2="60" y2="{y - 4}" stroke="{colours[i % 6]}" stroke-width="2"/>')
        parts.append(f'<text x="66" y="{y}">{name}: API (solid), SQL baseline (dashed)</text>')
    parts.append("</svg>\n")
    return "\n".join(parts)


def main():
    if not os.access(BIN, os.X_OK):
        raise SystemExit(f"bench: no binary at {BIN} (cargo build --release -p app)")
    names = []
    for n in os.environ.get("BENCH_SCENARIOS", ",".join(SCENARIOS)).split(","):
        names += GROUPS.get(n.strip(), [n.strip()])
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"bench: unknown scenario(s) {unknown}; known: {list(SCENARIOS)} and {list(GROUPS)}")
    tmp = tempfile.mkdtemp(prefix="skillpay-bench.")
    os.chmod(tmp, 0o711)  # PostgreSQL may run as another user (postgres, when we are root)
    bench = Bench(tmp)
    bench.names = names
    try:
        bench.start_postgres()
        bench.start_app()
        for name in names:
            bench.scenario(name)
        ok = bench.report()
    finally:
        bench.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
