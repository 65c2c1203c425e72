//! Times `GET /api/payments/stats/` and `GET /api/payments/instructor/earnings/`
//! over 1,000,000 payments against a scan of the payments table answering
//! the same question; prints the figures and their ratio.
//!
//! Run with `just bench-stats` (needs nothing running: it starts its own
//! PostgreSQL). `BENCH_PAYMENTS` changes the number of payments.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use domain::usecases::Role;
use skillpay_e2e::spawn_app;

const ROUNDS: usize = 15;

/// Payments per transaction of the seed. A live service commits each
/// payment on its own, and PostgreSQL prunes an aggregate row's old
/// versions once no transaction can see them; one transaction of the whole
/// million kept every version of every aggregate row, and the statistics
/// read a table a hundred times its size (docs/performance.md).
const CHUNK: i64 = 1_000;

/// Payments `first..=last` of a year of sales of 5,000 courses by 1,000
/// instructors: one in ten failed, one in twenty partly refunded.
fn payments_sql(first: i64, last: i64) -> String {
    format!(
        "INSERT INTO payments (id, user_id, course_id, instructor_id, status, payment_method, currency, \
             original_amount_minor, discount_amount_minor, amount_minor, platform_fee_minor, \
             instructor_earnings_minor, refunded_amount_minor, created_at, updated_at, completed_at, \
             earnings_released_at) \
         SELECT md5('stats-' || g)::uuid, 1000 + g % 50000, 1 + g % 5000, 100 + g % 1000, \
             CASE WHEN g % 10 = 0 THEN 'failed' WHEN g % 20 = 1 THEN 'partially_refunded' ELSE 'completed' END, \
             (ARRAY['stripe', 'paypal', 'sandbox'])[1 + g % 3], 'USD', 5000, 0, 5000, 1000, 4000, \
             CASE WHEN g % 20 = 1 THEN 1000 ELSE 0 END, t, t, CASE WHEN g % 10 = 0 THEN NULL ELSE t END, \
             CASE WHEN g % 10 = 0 THEN NULL ELSE t END \
         FROM generate_series({first}, {last}) g, \
              LATERAL (SELECT timestamptz '2026-01-01' + (g % 365) * interval '1 day' + (g % 86400) * interval '1 second' AS t) s"
    )
}

/// The processed refunds of the partly refunded payments `first..=last`.
fn refunds_sql(first: i64, last: i64) -> String {
    format!(
        "INSERT INTO refunds (id, payment_id, amount_minor, currency, platform_fee_reversed_minor, \
             status, reason, requested_by, created_at, updated_at, processed_at, livemode) \
         SELECT md5('stats-refund-' || g)::uuid, p.id, 1000, 'USD', 200, 'processed', 'bench', 1, \
             p.created_at, p.created_at, p.created_at, p.livemode \
         FROM generate_series({first}, {last}) g JOIN payments p ON p.id = md5('stats-' || g)::uuid \
         WHERE g % 20 = 1"
    )
}

/// What the server's sweeper does on its next tick: the shards of days
/// before yesterday and of months before this one folded into one row.
const FOLD_SQL: &str = "SELECT fold_stats_shards((now() AT TIME ZONE 'UTC')::date - 1, \
     date_trunc('month', now() AT TIME ZONE 'UTC')::date)";

/// The platform question answered by scanning payments.
const SCAN_STATS_SQL: &str = "SELECT status, payment_method, currency, (created_at AT TIME ZONE 'UTC')::date AS day, \
        count(*), sum(amount_minor), sum(discount_amount_minor), sum(platform_fee_minor), sum(refunded_amount_minor) \
     FROM payments WHERE livemode AND created_at >= '2026-01-01' AND created_at < '2027-01-01' GROUP BY 1, 2, 3, 4";

/// The instructor question answered by scanning payments and refunds.
const SCAN_EARNINGS_SQL: &str = "SELECT date_trunc('month', p.completed_at), p.course_id, count(*), sum(p.amount_minor), \
        sum(p.platform_fee_minor), sum(p.instructor_earnings_minor), sum(r.amount_minor) \
     FROM payments p LEFT JOIN refunds r ON r.payment_id = p.id AND r.status = 'processed' \
     WHERE p.instructor_id = 100 AND p.livemode AND p.completed_at IS NOT NULL GROUP BY 1, 2";

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main]
async fn main() {
    let payments: i64 = std::env::var("BENCH_PAYMENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let app = spawn_app().await;
    let store = app.store.clone();
    let started = Instant::now();
    tokio::task::spawn_blocking(move || {
        let mut conn = store.connection().unwrap();
        diesel::sql_query("SET statement_timeout = 0").execute(&mut conn).unwrap();
        // Each statement commits on its own.
        for first in (1..=payments).step_by(CHUNK as usize) {
            let last = (first + CHUNK - 1).min(payments);
            diesel::sql_query(payments_sql(first, last)).execute(&mut conn).unwrap();
            diesel::sql_query(refunds_sql(first, last)).execute(&mut conn).unwrap();
        }
        diesel::sql_query(FOLD_SQL).execute(&mut conn).unwrap();
        diesel::sql_query("VACUUM ANALYZE").execute(&mut conn).unwrap();
    })
    .await
    .unwrap();
    println!(
        "seeded {payments} payments (aggregates kept by triggers, past shards folded) in {:.1?}",
        started.elapsed()
    );

    let admin = app.admin();
    let instructor = app.token(100, Role::Instructor);
    let endpoints = [
        (
            "stats, one year",
            "/api/payments/stats/?from=2026-01-01&to=2026-12-31&livemode=true",
            admin.as_str(),
            SCAN_STATS_SQL,
        ),
        (
            "earnings of one instructor, one year",
            "/api/payments/instructor/earnings/?from=2026-01-01&to=2026-12-31&livemode=true",
            instructor.as_str(),
            SCAN_EARNINGS_SQL,
        ),
    ];
    for (name, path, token, scan) in endpoints {
        let mut api = Vec::new();
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let res = app.get(path, token).await;
            assert_eq!(res.status(), 200);
            res.bytes().await.unwrap();
            api.push(t.elapsed());
        }
        let store = app.store.clone();
        let scans = tokio::task::spawn_blocking(move || {
            let mut conn = store.connection().unwrap();
            diesel::sql_query("SET statement_timeout = 0").execute(&mut conn).unwrap();
            (0..3)
                .map(|_| {
                    let t = Instant::now();
                    diesel::sql_query(format!("SELECT count(*) FROM ({scan}) q")).execute(&mut conn).unwrap();
                    t.elapsed()
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
        let (api, scan) = (median(api), median(scans));
        println!(
            "{name}: API median {api:.1?} over {ROUNDS} requests; scanning payments {scan:.1?}; scan / API = {}",
            scan.as_micros() / api.as_micros().max(1)
        );
    }
    app.stop().await;
}
