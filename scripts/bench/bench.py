#!/usr/bin/env python3
"""`just bench`: the API under load next to PostgreSQL replaying the same SQL.

For each scenario and concurrency it runs, in this order, the API under wrk
(A), the scenario's SQL under pgbench (B), B again, then A again: drift of a
shared machine (other load, caches, table growth) then touches both sides
alike. Both sides use the same database, the same schema with its triggers,
and the same number of clients. The figure that matters is the ratio.

Everything it needs is started here and stopped at the end: a throwaway
PostgreSQL cluster (scripts/pg.sh, durable settings unless BENCH_PG_FAST=1),
a Stripe stand-in on loopback (stripe_stub.py), and `skillpay serve`.

Settings (environment):
  BENCH_BIN          the skillpay binary (default target/release/skillpay)
  BENCH_DURATION     seconds of each run (10)
  BENCH_CONCURRENCY  client counts, comma-separated ("8,32")
  BENCH_SCENARIOS    which ones, comma-separated (all: create,create_coupon,webhook)
  BENCH_REPLAY       percent of creations that replay an Idempotency-Key (10)
  BENCH_WEBHOOK_RATE most webhooks a second a run may need (1500); sizes the
                     pool of pending Stripe payments seeded for it
  BENCH_PG_FAST      1: fsync off (measures CPU, not commits)
  BENCH_OUT_DIR      where results go (bench-results)
"""
import csv
import hashlib
import hmac
import json
import os
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
PG_FAST = os.environ.get("BENCH_PG_FAST", "0") == "1"
OUT_DIR = os.path.join(ROOT, os.environ.get("BENCH_OUT_DIR", "bench-results"))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.environ.get("BENCH_BIN", os.path.join(TARGET, "release", "skillpay"))
THREADS = 2  # wrk and pgbench threads: the load generators must not starve the server

INSTRUCTORS, COURSES = 2000, 5000
API_USERS = range(10000, 10200)  # students the API load acts as
JWT_SECRET = "bench-jwt-secret-" + "x" * 32
WEBHOOK_SECRET = "whsec_bench"
COUPON = "BENCH10"

SCENARIOS = {
    "create": {
        "what": "POST /api/payments/ (sandbox, no coupon, 10 % replays)",
        "lua": "create_payment.lua", "coupon": "",
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


class Bench:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []
        self.results = []
        self.checks = []
        self.rss_peak_kib = 0

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
        stub = subprocess.Popen([sys.executable, os.path.join(HERE, "stripe_stub.py"), str(self.stub_port)],
                                stdout=subprocess.PIPE, text=True)
        self.procs.append(stub)
        stub.stdout.readline()  # "ready"
        self.base = f"http://127.0.0.1:{port}"
        self.env = dict(
            os.environ,
            DATABASE_URL=self.url,
            SKILLPAY_BIND=f"127.0.0.1:{port}",
            SKILLPAY_JWT_SECRET=JWT_SECRET,
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
        log(f"catalog: {COURSES} courses by {INSTRUCTORS} instructors")

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
                    status, redeemed_at, updated_at)
                SELECT gen_random_uuid(), coupon_id, user_id, id, discount_amount_minor, 'USD', 'reserved', now(),
                    now()
                FROM p WHERE coupon_id IS NOT NULL""")
        self.db(f"UPDATE coupons SET times_used = times_used + {count // 2} WHERE id = '{self.coupon_id}'")

    # --- one run of each side --------------------------------------------------

    def api_leg(self, name, spec, clients, duration, record=True):
        out = os.path.join(self.tmp, f"wrk-{name}-{clients}-{time.time_ns()}.json")
        env = dict(os.environ, BENCH_OUT=out, BENCH_THREADS=str(THREADS), BENCH_TOKENS=self.tokens_file,
                   BENCH_COURSES=str(COURSES), BENCH_COUPON=spec.get("coupon", ""), BENCH_REPLAY=str(REPLAY),
                   BENCH_LAG=str(4 * clients), BENCH_RUN=f"r{time.time_ns()}")
        if name == "webhook":
            env["BENCH_EVENTS"] = self.webhook_events(duration)
        cmd = ["wrk", f"-t{THREADS}", f"-c{clients}", f"-d{duration}s", "--timeout", "10s",
               "-s", os.path.join(HERE, spec["lua"]), self.base]
        wrk = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        peak = 0
        while wrk.poll() is None:
            peak = max(peak, rss_kib(self.app.pid))
            time.sleep(0.25)
        if wrk.returncode != 0:
            raise SystemExit(f"bench: wrk failed: {wrk.stderr.read()}")
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

    def sql_leg(self, name, spec, clients, duration):
        scripts = spec["sql"]
        args = []
        for i, script in enumerate(scripts):
            # Creations: replays in the same share as the API's.
            weight = "" if len(scripts) == 1 else "@" + str(100 - REPLAY if i == 0 else REPLAY)
            args += ["-f", os.path.join(SQL, script) + weight]
        prefix = os.path.join(self.tmp, f"pgb-{name}-{clients}-{time.time_ns()}")
        cmd = ["pgbench", "-n", "-M", "prepared", f"-c{clients}", f"-j{THREADS}", f"-T{duration}",
               "-D", f"courses={COURSES}", "-D", f"coupon_id={self.coupon_id}",
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
                "errors": failed + aborted, "requests": len(lat)}

    # --- scenarios -------------------------------------------------------------

    def scenario(self, name):
        spec = SCENARIOS[name]
        log(f"scenario {name}: {spec['what']}")
        if name == "webhook":
            legs = 2 * len(CONCURRENCY)
            self.webhook_pool = WEBHOOK_RATE * (DURATION * legs + 2)
            self.webhook_cursor = 0
            log(f"seeding {self.webhook_pool} pending Stripe payments for each side")
            self.seed_pending_stripe("pi_api_", self.webhook_pool, (API_USERS.start, API_USERS.stop))
            self.seed_pending_stripe("pi_base_", self.webhook_pool, (900000, 901000))
            self.db("VACUUM ANALYZE payments")
            self.db("VACUUM ANALYZE coupon_redemptions")
        # Warm-up: connections opened, caches filled; not recorded.
        self.api_leg(name, spec, CONCURRENCY[0], 2, record=False)
        for clients in CONCURRENCY:
            legs = []
            for side in ("api", "sql", "sql", "api"):
                leg = self.api_leg(name, spec, clients, DURATION) if side == "api" else \
                    self.sql_leg(name, spec, clients, DURATION)
                log(f"  {name} c={clients} {side}: {leg['rps']:.0f}/s p50 {leg['p50_ms']:.1f} ms "
                    f"p99 {leg['p99_ms']:.1f} ms errors {leg['errors']}")
                legs.append(leg)
            api = [x for x in legs if x["side"] == "api"]
            sql = [x for x in legs if x["side"] == "sql"]
            mean = lambda xs, k: statistics.fmean(x[k] for x in xs)  # noqa: E731
            row = {
                "scenario": name, "concurrency": clients,
                "api_rps": mean(api, "rps"), "baseline_tps": mean(sql, "rps"),
                "api_p50_ms": mean(api, "p50_ms"), "api_p99_ms": mean(api, "p99_ms"),
                "baseline_p50_ms": mean(sql, "p50_ms"), "baseline_p99_ms": mean(sql, "p99_ms"),
                "api_errors": sum(x["errors"] for x in api), "baseline_errors": sum(x["errors"] for x in sql),
                "rss_peak_mib": max(x["rss_peak_mib"] for x in api), "legs": legs,
            }
            row["ratio"] = row["api_rps"] / row["baseline_tps"] if row["baseline_tps"] else 0.0
            self.results.append(row)
        self.check(name)

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
        if name == "webhook":
            completed = int(self.db("SELECT count(*) FROM payments WHERE provider_payment_id LIKE 'pi_api_%' "
                                    "AND status = 'completed'"))
            processed = sum(leg["detail"]["processed"] for r in self.results for leg in r["legs"]
                            if leg["side"] == "api" and r["scenario"] == name)
            self.checks.append({"check": "webhook: each processed event completed one payment",
                                "ok": completed >= processed, "detail": f"{completed} completed, {processed} processed"})
        dup = int(self.db("SELECT count(*) FROM (SELECT payment_id FROM ledger_journals WHERE kind = 'sale' "
                          "GROUP BY payment_id HAVING count(*) > 1) d"))
        self.checks.append({"check": f"{name}: no payment with two sale journals", "ok": dup == 0,
                            "detail": f"{dup} duplicates"})
        p = subprocess.run([BIN, "ledger", "verify"], env=self.env, text=True, capture_output=True)
        self.checks.append({"check": f"{name}: skillpay ledger verify", "ok": p.returncode == 0,
                            "detail": (p.stdout + p.stderr).strip().splitlines()[-1] if (p.stdout + p.stderr).strip()
                            else ""})

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
        print(f"server memory: idle {self.idle_rss_kib / 1024:.1f} MiB, peak under load {self.rss_peak_kib / 1024:.1f} MiB")
        for c in self.checks:
            print(f"check {'ok  ' if c['ok'] else 'FAIL'} {c['check']}: {c['detail']}")

        os.makedirs(OUT_DIR, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        meta = {"duration_s": DURATION, "concurrency": CONCURRENCY, "replay_percent": REPLAY, "pg_fast": PG_FAST,
                "cpus": os.cpu_count(), "idle_rss_mib": self.idle_rss_kib / 1024,
                "peak_rss_mib": self.rss_peak_kib / 1024}
        base = os.path.join(OUT_DIR, f"bench-{stamp}")
        with open(base + ".json", "w") as f:
            json.dump({"meta": meta, "results": self.results, "checks": self.checks}, f, indent=2)
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
    names = os.environ.get("BENCH_SCENARIOS", ",".join(SCENARIOS)).split(",")
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"bench: unknown scenario(s) {unknown}; known: {list(SCENARIOS)}")
    tmp = tempfile.mkdtemp(prefix="skillpay-bench.")
    os.chmod(tmp, 0o711)  # PostgreSQL may run as another user (postgres, when we are root)
    bench = Bench(tmp)
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
