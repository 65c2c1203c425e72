//! The schema itself: migrations round-trip and SQL holds the invariants
//! even against code that bypasses the domain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters_postgres::testing::TestDb;
use adapters_postgres::{PgStore, PoolSettings, revert_all_migrations, run_migrations};
use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};

#[test]
fn migrations_apply_revert_and_reapply() {
    let db = TestDb::unmigrated();
    let mut conn = PgConnection::establish(db.url()).unwrap();
    let applied = run_migrations(&mut conn).unwrap();
    assert!(applied >= 1);
    assert_eq!(run_migrations(&mut conn).unwrap(), 0, "a second run applies nothing");
    assert_eq!(revert_all_migrations(&mut conn).unwrap(), applied);
    let leftover =
        sql_query("SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'")
            .execute(&mut conn)
            .unwrap();
    assert_eq!(leftover, 0, "down migrations leave tables behind");
    assert_eq!(run_migrations(&mut conn).unwrap(), applied);
}

fn connection(db: &TestDb) -> PgConnection {
    PgConnection::establish(db.url()).unwrap()
}

const PAYMENT: &str = "INSERT INTO payments (id, user_id, course_id, instructor_id, status, payment_method, currency,
    original_amount_minor, discount_amount_minor, amount_minor, platform_fee_minor, instructor_earnings_minor,
    created_at, updated_at) VALUES (gen_random_uuid(), 1, 1, 2, 'pending', 'sandbox', 'USD', 1000, 0, 1000, {fee}, {earn},
    now(), now())";

#[test]
fn a_payment_whose_split_does_not_add_up_is_refused_by_sql() {
    let db = TestDb::new();
    let mut conn = connection(&db);
    sql_query(PAYMENT.replace("{fee}", "200").replace("{earn}", "800")).execute(&mut conn).unwrap();
    let off_by_one = sql_query(PAYMENT.replace("{fee}", "200").replace("{earn}", "799")).execute(&mut conn);
    assert!(off_by_one.is_err());
}

#[test]
fn an_unbalanced_journal_is_refused_at_commit() {
    let db = TestDb::new();
    let mut conn = connection(&db);
    let result = conn.transaction::<_, diesel::result::Error, _>(|conn| {
        sql_query("INSERT INTO ledger_journals (id, kind, currency, posted_at) VALUES ('00000000-0000-0000-0000-000000000001', 'sale', 'USD', now())")
            .execute(conn)?;
        sql_query("INSERT INTO ledger_entries (journal_id, account, currency, amount_minor) VALUES
            ('00000000-0000-0000-0000-000000000001', 'platform_revenue', 'USD', -100),
            ('00000000-0000-0000-0000-000000000001', 'gateway_clearing:sandbox', 'USD', 99)")
            .execute(conn)?;
        Ok(())
    });
    let error = result.expect_err("an unbalanced journal committed").to_string();
    assert!(error.contains("does not balance"), "{error}");
    let journals = sql_query("SELECT 1 FROM ledger_journals").execute(&mut conn).unwrap();
    assert_eq!(journals, 0);
}

#[test]
fn ledger_entries_cannot_be_changed_or_deleted() {
    let db = TestDb::new();
    let mut conn = connection(&db);
    sql_query("INSERT INTO ledger_journals (id, kind, currency, posted_at) VALUES ('00000000-0000-0000-0000-000000000002', 'sale', 'USD', now())")
        .execute(&mut conn)
        .unwrap();
    sql_query(
        "INSERT INTO ledger_entries (journal_id, account, currency, amount_minor) VALUES
        ('00000000-0000-0000-0000-000000000002', 'platform_revenue', 'USD', -5),
        ('00000000-0000-0000-0000-000000000002', 'gateway_clearing:sandbox', 'USD', 5)",
    )
    .execute(&mut conn)
    .unwrap();
    assert!(sql_query("UPDATE ledger_entries SET amount_minor = 6 WHERE amount_minor = 5").execute(&mut conn).is_err());
    assert!(sql_query("DELETE FROM ledger_entries").execute(&mut conn).is_err());
}

#[test]
fn a_coupon_cannot_be_used_more_often_than_its_limit_even_by_direct_sql() {
    let db = TestDb::new();
    let mut conn = connection(&db);
    sql_query(
        "INSERT INTO coupons (id, code, discount_type, percent_off, max_uses, times_used, created_at, updated_at)
        VALUES (gen_random_uuid(), 'LIMIT', 'percentage', 10, 2, 2, now(), now())",
    )
    .execute(&mut conn)
    .unwrap();
    assert!(sql_query("UPDATE coupons SET times_used = times_used + 1").execute(&mut conn).is_err());
}

#[tokio::test]
async fn a_store_on_an_unreachable_database_reports_unavailable_quickly() {
    use domain::ports::{HealthCheck, StoreError};
    let settings = PoolSettings { acquire_timeout_ms: 500, ..PoolSettings::default() };
    // Port 9 (discard) on loopback: nothing listens there.
    let store = PgStore::connect("postgres://skillpay@127.0.0.1:9/skillpay", &settings).unwrap();
    let started = std::time::Instant::now();
    let result = store.ping().await;
    assert!(matches!(result, Err(StoreError::Unavailable(_))), "{result:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// The statistics triggers decide with `payment_is_settled` (migration
/// `000008_stats`, its own copy of the list) which payments count as sales;
/// the statistics' statement sums the days with the domain's
/// `SETTLED_STATUS_NAMES`. Both must name the same statuses.
#[test]
fn the_triggers_and_the_statistics_call_the_same_statuses_settled() {
    #[derive(diesel::QueryableByName)]
    struct Settled {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        settled: bool,
    }
    let db = TestDb::new();
    let mut conn = connection(&db);
    for name in domain::payment::PaymentStatus::NAMES {
        let row: Settled = sql_query(
            "SELECT payment_is_settled(jsonb_populate_record(NULL::payments, \
                 jsonb_build_object('status', $1::text, 'completed_at', now()))) AS settled",
        )
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result(&mut conn)
        .unwrap();
        assert_eq!(row.settled, domain::stats::SETTLED_STATUS_NAMES.contains(&name), "{name}");
    }
}

/// The mode migration on a database holding both kinds of money: sandbox
/// payments and their refunds become test money, everything else live,
/// and afterwards a refund can only take its payment's mode.
#[test]
fn the_mode_migration_makes_sandbox_money_test_money_and_the_rest_live() {
    let db = TestDb::new();
    let mut conn = connection(&db);
    adapters_postgres::revert_migrations_after(&mut conn, "2026-12-07-000023").unwrap();
    for (id, method) in [(1, "sandbox"), (2, "stripe"), (3, "paypal")] {
        sql_query(format!(
            "INSERT INTO payments (id, user_id, course_id, instructor_id, status, payment_method, currency, \
                 original_amount_minor, discount_amount_minor, amount_minor, platform_fee_minor, \
                 instructor_earnings_minor, created_at, updated_at, completed_at) \
             VALUES ('00000000-0000-0000-0000-00000000000{id}', 1, 1, 2, 'completed', '{method}', 'USD', 1000, 0, \
                 1000, 200, 800, now(), now(), now())"
        ))
        .execute(&mut conn)
        .unwrap();
        sql_query(format!(
            "INSERT INTO refunds (id, payment_id, amount_minor, currency, platform_fee_reversed_minor, status, reason, \
                 requested_by, created_at, updated_at) \
             VALUES (gen_random_uuid(), '00000000-0000-0000-0000-00000000000{id}', 100, 'USD', 20, 'requested', \
                 'before the modes', 1, now(), now())"
        ))
        .execute(&mut conn)
        .unwrap();
    }

    assert!(run_migrations(&mut conn).unwrap() >= 1);

    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        method: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        payment: bool,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        refund: bool,
    }
    let modes: Vec<Mode> = sql_query(
        "SELECT p.payment_method AS method, p.livemode AS payment, r.livemode AS refund \
         FROM payments p JOIN refunds r ON r.payment_id = p.id ORDER BY p.id",
    )
    .load(&mut conn)
    .unwrap();
    let seen: Vec<(String, bool, bool)> = modes.into_iter().map(|m| (m.method, m.payment, m.refund)).collect();
    assert_eq!(
        seen,
        [("sandbox".to_owned(), false, false), ("stripe".to_owned(), true, true), ("paypal".to_owned(), true, true)]
    );
    let mixed = sql_query(
        "INSERT INTO refunds (id, payment_id, amount_minor, currency, platform_fee_reversed_minor, status, reason, \
             requested_by, created_at, updated_at, livemode) \
         VALUES (gen_random_uuid(), '00000000-0000-0000-0000-000000000001', 100, 'USD', 20, 'requested', 'mixed', 1, \
             now(), now(), true)",
    )
    .execute(&mut conn);
    assert!(mixed.is_err(), "a live refund of a test payment is refused by the database");
    let mixed_dispute = sql_query(
        "INSERT INTO payment_disputes (id, payment_id, provider_dispute_id, amount_minor, currency, reason, status, \
             created_at, updated_at, fee_held_minor, livemode) \
         VALUES (gen_random_uuid(), '00000000-0000-0000-0000-000000000001', 'dp_mixed', 100, 'USD', 'fraudulent', \
             'needs_response', now(), now(), 20, true)",
    )
    .execute(&mut conn);
    assert!(mixed_dispute.is_err(), "a live dispute of a test payment is refused by the database");
}

/// The statistics migration on a database holding both modes' money, a
/// fee one instructor bore (its journal says so), a fee the platform bore
/// and a processed refund: the aggregates are rebuilt per mode with the
/// fees apart, exactly as the payments and refunds say, and the triggers
/// follow a fee lowered afterwards.
#[test]
fn the_stats_migration_rebuilds_the_aggregates_per_mode_with_the_gateway_fees_and_their_bearers() {
    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Daily {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        livemode: bool,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        payments: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        amount: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        gateway_fee: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        platform_gateway_fee: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        refunded_fee: i64,
    }
    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Monthly {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        livemode: bool,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        sales: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        gross: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        instructor_gateway_fee: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        refunded_fee: i64,
    }
    let db = TestDb::new();
    let mut conn = connection(&db);
    adapters_postgres::revert_migrations_after(&mut conn, "2026-12-07-000026").unwrap();
    // (id, method, status, amount, refunded, fee, live)
    for (id, method, status, amount, refunded, fee, live) in [
        (1, "stripe", "partially_refunded", 1000, 100, "30", true),
        (2, "paypal", "completed", 1000, 0, "40", true),
        (3, "sandbox", "completed", 1000, 0, "NULL", false),
        (4, "sandbox", "failed", 500, 0, "NULL", false),
    ] {
        let completed = if status == "failed" { "NULL" } else { "now()" };
        sql_query(format!(
            "INSERT INTO payments (id, user_id, course_id, instructor_id, status, payment_method, currency, \
                 original_amount_minor, discount_amount_minor, amount_minor, platform_fee_minor, \
                 instructor_earnings_minor, refunded_amount_minor, gateway_fee_minor, livemode, created_at, \
                 updated_at, completed_at) \
             VALUES ('00000000-0000-0000-0000-00000000000{id}', 1, 1, 2, '{status}', '{method}', 'USD', {amount}, 0, \
                 {amount}, {amount} / 5, {amount} - {amount} / 5, {refunded}, {fee}, {live}, now(), now(), {completed})"
        ))
        .execute(&mut conn)
        .unwrap();
    }
    sql_query(
        "INSERT INTO refunds (id, payment_id, amount_minor, currency, platform_fee_reversed_minor, status, reason, \
             requested_by, created_at, updated_at, processed_at, livemode) \
         VALUES (gen_random_uuid(), '00000000-0000-0000-0000-000000000001', 100, 'USD', 20, 'processed', \
             'before the modes', 1, now(), now(), now(), true)",
    )
    .execute(&mut conn)
    .unwrap();
    // The instructor bore the Stripe payment's fee.
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        sql_query(
            "INSERT INTO ledger_journals (id, kind, payment_id, currency, posted_at) VALUES \
             ('00000000-0000-0000-0000-0000000000f1', 'gateway_fee', '00000000-0000-0000-0000-000000000001', 'USD', now())",
        )
        .execute(conn)?;
        sql_query(
            "INSERT INTO ledger_entries (journal_id, account, currency, amount_minor) VALUES \
             ('00000000-0000-0000-0000-0000000000f1', 'instructor_payable:2', 'USD', 30), \
             ('00000000-0000-0000-0000-0000000000f1', 'gateway_clearing:stripe', 'USD', -30)",
        )
        .execute(conn)?;
        Ok(())
    })
    .unwrap();

    assert!(run_migrations(&mut conn).unwrap() >= 1);
    assert_eq!(stats_mismatches(&mut conn), 0, "rebuilt exactly");

    let daily = |conn: &mut PgConnection| -> Vec<Daily> {
        sql_query(
            "SELECT livemode, sum(payments)::bigint AS payments, sum(amount_minor)::bigint AS amount, \
                 sum(gateway_fee_minor)::bigint AS gateway_fee, \
                 sum(platform_gateway_fee_minor)::bigint AS platform_gateway_fee, \
                 sum(refunded_fee_minor)::bigint AS refunded_fee \
             FROM payment_stats_daily GROUP BY livemode ORDER BY livemode",
        )
        .load(conn)
        .unwrap()
    };
    let monthly = |conn: &mut PgConnection| -> Vec<Monthly> {
        sql_query(
            "SELECT livemode, sum(sales)::bigint AS sales, sum(gross_minor)::bigint AS gross, \
                 sum(instructor_gateway_fee_minor)::bigint AS instructor_gateway_fee, \
                 sum(refunded_fee_minor)::bigint AS refunded_fee \
             FROM instructor_stats_monthly GROUP BY livemode ORDER BY livemode",
        )
        .load(conn)
        .unwrap()
    };
    let test_daily =
        Daily { livemode: false, payments: 2, amount: 1500, gateway_fee: 0, platform_gateway_fee: 0, refunded_fee: 0 };
    assert_eq!(
        daily(&mut conn),
        [
            test_daily,
            Daily {
                livemode: true,
                payments: 2,
                amount: 2000,
                gateway_fee: 70,
                platform_gateway_fee: 40,
                refunded_fee: 20
            }
        ]
    );
    let test_monthly = Monthly { livemode: false, sales: 1, gross: 1000, instructor_gateway_fee: 0, refunded_fee: 0 };
    assert_eq!(
        monthly(&mut conn),
        [test_monthly, Monthly { livemode: true, sales: 2, gross: 2000, instructor_gateway_fee: 30, refunded_fee: 20 }]
    );

    // A fee lowered later (a refund gave part of it back) moves the sums.
    sql_query("UPDATE payments SET gateway_fee_minor = 25 WHERE id = '00000000-0000-0000-0000-000000000002'")
        .execute(&mut conn)
        .unwrap();
    sql_query("UPDATE payments SET gateway_fee_minor = 10 WHERE id = '00000000-0000-0000-0000-000000000001'")
        .execute(&mut conn)
        .unwrap();
    let live = daily(&mut conn).pop().unwrap();
    assert_eq!((live.gateway_fee, live.platform_gateway_fee), (35, 25));
    assert_eq!(monthly(&mut conn).pop().unwrap().instructor_gateway_fee, 10);
    assert_eq!(stats_mismatches(&mut conn), 0, "the aggregates agree with a scan of the payments and refunds");
}

fn stats_mismatches(conn: &mut PgConnection) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Mismatches {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    sql_query(adapters_postgres::testing::STATS_MISMATCHES_SQL).get_result::<Mismatches>(conn).unwrap().n
}
