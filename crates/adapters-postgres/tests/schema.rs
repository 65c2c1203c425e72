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
    let reverted = adapters_postgres::revert_migrations_through(&mut conn, "2026-12-07-000024").unwrap();
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

    assert_eq!(run_migrations(&mut conn).unwrap(), reverted);

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

#[derive(diesel::QueryableByName, Debug, PartialEq, Eq)]
struct Balance {
    #[diesel(sql_type = diesel::sql_types::Text)]
    account: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    livemode: bool,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    balance: i64,
}

/// The ledger-mode migration on a database holding a test sale, a live
/// sale and a paid payout: journals take their payment's or payout's mode,
/// kept balances are split by mode and still match the entries, coupon
/// uses take their payment's mode, and afterwards the database refuses a
/// journal or coupon use of another mode than what it belongs to.
#[test]
fn the_ledger_mode_migration_splits_the_books_and_the_database_refuses_a_mix() {
    let db = TestDb::new();
    let mut conn = connection(&db);
    let reverted = adapters_postgres::revert_migrations_through(&mut conn, "2026-12-07-000025").unwrap();
    let run =
        |conn: &mut PgConnection, sql: &str| diesel::connection::SimpleConnection::batch_execute(conn, sql).unwrap();
    for (id, method, livemode) in [(1, "sandbox", false), (2, "stripe", true)] {
        run(
            &mut conn,
            &format!(
                "INSERT INTO payments (id, user_id, course_id, instructor_id, status, payment_method, currency, \
                     original_amount_minor, discount_amount_minor, amount_minor, platform_fee_minor, \
                     instructor_earnings_minor, created_at, updated_at, completed_at, livemode) \
                 VALUES ('00000000-0000-0000-0000-00000000000{id}', 1, 1, 2, 'completed', '{method}', 'USD', 1000, \
                     0, 1000, 200, 800, now(), now(), now(), {livemode})"
            ),
        );
        run(
            &mut conn,
            &format!(
                "INSERT INTO ledger_journals (id, kind, payment_id, currency, posted_at) \
                 VALUES ('00000000-0000-0000-0000-0000000000a{id}', 'sale', '00000000-0000-0000-0000-00000000000{id}', \
                     'USD', now());
                 INSERT INTO ledger_entries (journal_id, account, currency, amount_minor) VALUES
                     ('00000000-0000-0000-0000-0000000000a{id}', 'gateway_clearing:{method}', 'USD', 1000),
                     ('00000000-0000-0000-0000-0000000000a{id}', 'instructor_payable:2', 'USD', -800),
                     ('00000000-0000-0000-0000-0000000000a{id}', 'platform_revenue', 'USD', -200);"
            ),
        );
    }
    // Before the modes, one balance mixed both sales.
    run(
        &mut conn,
        "INSERT INTO ledger_balances (account, currency, shard, balance_minor, updated_at) VALUES
             ('platform_revenue', 'USD', 3, -400, now()), ('instructor_payable:2', 'USD', 5, -1600, now()),
             ('gateway_clearing:sandbox', 'USD', 0, 1000, now()), ('gateway_clearing:stripe', 'USD', 0, 1000, now())",
    );
    run(
        &mut conn,
        "INSERT INTO coupons (id, code, discount_type, percent_off, created_at, updated_at, times_used) \
         VALUES ('00000000-0000-0000-0000-0000000000c1', 'MODES', 'percentage', 10, now(), now(), 2);
         INSERT INTO coupon_redemptions (id, coupon_id, user_id, payment_id, discount_amount_minor, currency, status, \
             redeemed_at, updated_at) VALUES
             (gen_random_uuid(), '00000000-0000-0000-0000-0000000000c1', 1, '00000000-0000-0000-0000-000000000001', \
                 100, 'USD', 'confirmed', now(), now()),
             (gen_random_uuid(), '00000000-0000-0000-0000-0000000000c1', 1, '00000000-0000-0000-0000-000000000002', \
                 100, 'USD', 'confirmed', now(), now())",
    );

    assert_eq!(run_migrations(&mut conn).unwrap(), reverted);

    let balances: Vec<Balance> = sql_query(
        "SELECT account, livemode, sum(balance_minor)::bigint AS balance FROM ledger_balances \
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .load(&mut conn)
    .unwrap();
    let expected = [
        ("gateway_clearing:sandbox", false, 1000),
        ("gateway_clearing:stripe", true, 1000),
        ("instructor_payable:2", false, -800),
        ("instructor_payable:2", true, -800),
        ("platform_revenue", false, -200),
        ("platform_revenue", true, -200),
    ]
    .map(|(account, livemode, balance)| Balance { account: account.to_owned(), livemode, balance });
    assert_eq!(balances, expected, "each mode's balances, recomputed from its journals' entries");

    #[derive(diesel::QueryableByName)]
    struct Modes {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        matching: bool,
    }
    let journals: Modes = sql_query(
        "SELECT bool_and(j.livemode = p.livemode) AND bool_and(r.livemode = p.livemode) AS matching \
         FROM payments p JOIN ledger_journals j ON j.payment_id = p.id JOIN coupon_redemptions r ON r.payment_id = p.id",
    )
    .get_result(&mut conn)
    .unwrap();
    assert!(journals.matching, "journals and coupon uses took their payment's mode");

    let mixed_journal = sql_query(
        "INSERT INTO ledger_journals (id, kind, payment_id, currency, posted_at, livemode) \
         VALUES (gen_random_uuid(), 'refund', '00000000-0000-0000-0000-000000000001', 'USD', now(), true)",
    )
    .execute(&mut conn);
    assert!(mixed_journal.is_err(), "a live journal of a test payment is refused by the database");
    let mixed_use = sql_query(
        "INSERT INTO coupon_redemptions (id, coupon_id, user_id, payment_id, discount_amount_minor, currency, status, \
             redeemed_at, updated_at, livemode) \
         VALUES (gen_random_uuid(), '00000000-0000-0000-0000-0000000000c1', 1, \
             '00000000-0000-0000-0000-000000000002', 100, 'USD', 'confirmed', now(), now(), false)",
    )
    .execute(&mut conn);
    assert!(mixed_use.is_err(), "a test coupon use of a live payment is refused by the database");
    run(
        &mut conn,
        "INSERT INTO payouts (id, instructor_id, amount_minor, currency, method, status, destination_encrypted, \
             destination_masked, destination_key_id, created_at, updated_at, livemode) \
         VALUES ('00000000-0000-0000-0000-0000000000b1', 2, 1000, 'USD', 'paypal', 'requested', '', '', '', now(), \
             now(), false)",
    );
    let mixed_payout_journal = sql_query(
        "INSERT INTO ledger_journals (id, kind, payout_id, currency, posted_at, livemode) \
         VALUES (gen_random_uuid(), 'payout_reserve', '00000000-0000-0000-0000-0000000000b1', 'USD', now(), true)",
    )
    .execute(&mut conn);
    assert!(mixed_payout_journal.is_err(), "a live journal of a test payout is refused by the database");
}

/// The endpoint mode migration on a database with an endpoint and
/// deliveries to it: the endpoint becomes live, a delivery still pending of
/// a test-mode event is ended (dead, with the reason), and the others are
/// left as they were.
#[test]
fn the_endpoint_mode_migration_makes_endpoints_live_and_ends_pending_deliveries_of_test_events() {
    let db = TestDb::new();
    let mut conn = connection(&db);
    let reverted = adapters_postgres::revert_migrations_through(&mut conn, "2026-12-07-000026").unwrap();
    sql_query(
        "INSERT INTO event_endpoints (id, url, secret_sealed, secret_key_id, created_at) \
         VALUES ('00000000-0000-0000-0000-0000000000e1', 'https://platform.example/hooks', '\\x00', 'k', now())",
    )
    .execute(&mut conn)
    .unwrap();
    // (delivery, event payload, status before)
    let deliveries = [
        (1, r#"{"id": "pay_1", "livemode": false}"#, "pending"),
        (2, r#"{"id": "pay_2", "livemode": true}"#, "pending"),
        (3, r#"{"id": "cpn_3"}"#, "pending"),
        (4, r#"{"id": "pay_4", "livemode": false}"#, "delivered"),
    ];
    for (n, payload, status) in deliveries {
        sql_query(format!(
            "WITH event AS (INSERT INTO outbox_events (id, event_type, aggregate_id, payload, created_at, routed_at) \
                 VALUES ('00000000-0000-0000-0000-00000000000{n}', 'payment.completed', 'obj_{n}', '{payload}', \
                 now(), now()) RETURNING id, created_at) \
             INSERT INTO event_deliveries (id, event_id, endpoint_id, event_type, aggregate_id, event_created_at, \
                 status, attempts, next_attempt_at, locked_until, created_at) \
             SELECT '00000000-0000-0000-0000-0000000000d{n}', id, '00000000-0000-0000-0000-0000000000e1', \
                 'payment.completed', 'obj_{n}', created_at, '{status}', 1, now(), now(), now() FROM event"
        ))
        .execute(&mut conn)
        .unwrap();
    }

    assert_eq!(run_migrations(&mut conn).unwrap(), reverted);

    #[derive(diesel::QueryableByName)]
    struct After {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        livemode: bool,
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        locked: bool,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        last_error: Option<String>,
    }
    let after: Vec<After> = sql_query(
        "SELECT e.livemode, d.status, d.locked_until IS NOT NULL AS locked, d.last_error \
         FROM event_deliveries d JOIN event_endpoints e ON e.id = d.endpoint_id ORDER BY d.id",
    )
    .load(&mut conn)
    .unwrap();
    assert!(after.iter().all(|a| a.livemode), "the endpoint from before is live");
    let seen: Vec<(&str, bool, bool)> =
        after.iter().map(|a| (a.status.as_str(), a.locked, a.last_error.is_some())).collect();
    assert_eq!(
        seen,
        [
            ("dead", false, true),      // a test event, still pending: never sent to a live endpoint
            ("pending", true, false),   // a live event
            ("pending", true, false),   // an event of no mode goes to both
            ("delivered", true, false), // already delivered: history stays
        ]
    );
    let unnamed = sql_query(
        "INSERT INTO event_endpoints (id, url, secret_sealed, secret_key_id, created_at) \
         VALUES (gen_random_uuid(), 'https://platform.example/other', '\\x00', 'k', now())",
    )
    .execute(&mut conn);
    assert!(unnamed.is_err(), "a new endpoint names its mode");
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
    let reverted = adapters_postgres::revert_migrations_through(&mut conn, "2026-12-07-000027").unwrap();
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

    assert_eq!(run_migrations(&mut conn).unwrap(), reverted);
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

#[test]
fn the_object_refs_migration_indexes_the_ids_older_webhooks_name() {
    let db = TestDb::new();
    let mut conn = connection(&db);
    let reverted = adapters_postgres::revert_migrations_through(&mut conn, "2026-12-07-000033").unwrap();
    sql_query(
        r#"INSERT INTO payment_webhook_logs (id, gateway, event_id, event_type, payload, processed, attempts, created_at)
           VALUES (gen_random_uuid(), 'stripe', 'evt_old', 'charge.refunded',
                   '{"id": "evt_old", "data": {"object": {"id": "ch_9", "payment_intent": "pi_9",
                     "refunds": {"data": [{"id": "re_9"}]}, "description": "pi_8", "metadata": {"order_id": "o_1"}}}}',
                   true, 1, now())"#,
    )
    .execute(&mut conn)
    .unwrap();
    assert_eq!(run_migrations(&mut conn).unwrap(), reverted);

    #[derive(diesel::QueryableByName)]
    struct Refs {
        #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
        object_refs: Vec<String>,
    }
    let mut refs =
        sql_query("SELECT object_refs FROM payment_webhook_logs").get_result::<Refs>(&mut conn).unwrap().object_refs;
    refs.sort();
    // The same ids a new row records (`object_refs` in src/webhooks.rs):
    // text that merely mentions an id (the description) is not one.
    assert_eq!(refs, ["ch_9", "evt_old", "o_1", "pi_9", "re_9"]);
}

/// The receipts migration on a database with past sales: each completed
/// sale and each processed refund of it gets its document, quietly (no
/// event, no e-mail about old purchases), numbered in the order of the
/// sales; a sale never completed gets none.
#[test]
fn the_receipts_migration_gives_past_sales_quiet_receipts_numbered_in_their_order() {
    let db = TestDb::new();
    let mut conn = connection(&db);
    let reverted = adapters_postgres::revert_migrations_through(&mut conn, "2026-12-07-000036").unwrap();
    for (id, status, minutes_ago) in [(1, "completed", 30), (2, "refunded", 60), (3, "failed", 10)] {
        let completed =
            if status == "failed" { "NULL".to_owned() } else { format!("now() - interval '{minutes_ago} minutes'") };
        sql_query(format!(
            "INSERT INTO payments (id, user_id, course_id, instructor_id, status, payment_method, currency, \
                 original_amount_minor, discount_amount_minor, amount_minor, platform_fee_minor, \
                 instructor_earnings_minor, created_at, updated_at, completed_at, livemode, refunded_amount_minor) \
             VALUES ('00000000-0000-0000-0000-00000000000{id}', 1, 1, 2, '{status}', 'stripe', 'USD', 1000, 0, \
                 1000, 200, 800, now(), now(), {completed}, true, {})",
            if status == "refunded" { 1000 } else { 0 }
        ))
        .execute(&mut conn)
        .unwrap();
    }
    sql_query(
        "INSERT INTO refunds (id, payment_id, amount_minor, currency, platform_fee_reversed_minor, status, reason, \
             requested_by, created_at, updated_at, processed_at, livemode) \
         VALUES (gen_random_uuid(), '00000000-0000-0000-0000-000000000002', 1000, 'USD', 200, 'processed', 'old', 1, \
             now(), now(), now(), true)",
    )
    .execute(&mut conn)
    .unwrap();

    assert_eq!(run_migrations(&mut conn).unwrap(), reverted);
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count = |conn: &mut diesel::PgConnection, sql: &str| sql_query(sql).get_result::<Count>(conn).unwrap().n;
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM receipts WHERE quiet AND kind = 'receipt'"), 2);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM receipts WHERE quiet AND kind = 'credit_note'"), 1);
    let store = PgStore::connect(db.url(), &PoolSettings::default()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let numbered =
        runtime.block_on(domain::ports::ReceiptStore::number_pending(&store, chrono::Utc::now(), 500)).unwrap();
    assert_eq!(numbered, 3);
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM outbox_events WHERE event_type LIKE '%.issued'"),
        0,
        "quietly"
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT sequence AS n FROM receipts WHERE payment_id = '00000000-0000-0000-0000-000000000002' \
             AND kind = 'receipt'"
        ),
        1,
        "the older sale first"
    );
}
