//! Statistics reads take turns: at most `stats_reads` of them run at once,
//! and the others wait for a turn as long as for a connection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use adapters_postgres::testing::TestDb;
use adapters_postgres::{PgStore, PoolSettings};
use chrono::NaiveDate;
use diesel::RunQueryDsl;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, PooledConnection};
use domain::gateway_config::GatewayMode;
use domain::ports::{StatsQueries, StoreError};
use domain::stats::RangeAggregates;
use tokio::task::JoinHandle;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
}

/// A store with one statistics read turn, given up on after 300 ms.
fn one_turn_store(db: &TestDb) -> PgStore {
    let settings = PoolSettings { stats_reads: 1, acquire_timeout_ms: 300, ..PoolSettings::default() };
    PgStore::connect(db.url(), &settings).unwrap()
}

/// Another session locks the aggregates until `COMMIT` on the connection
/// it answers: a read that starts meanwhile waits on the lock.
fn lock_the_aggregates(store: &PgStore) -> PooledConnection<ConnectionManager<PgConnection>> {
    let mut locker = store.connection().unwrap();
    // The lock outlasts any statement limit the store's sessions have.
    diesel::sql_query("SET statement_timeout = 0").execute(&mut locker).unwrap();
    diesel::sql_query("BEGIN").execute(&mut locker).unwrap();
    diesel::sql_query("LOCK TABLE payment_stats_daily IN ACCESS EXCLUSIVE MODE").execute(&mut locker).unwrap();
    locker
}

/// A read started in the background, and waiting on the lock by the time
/// this answers.
async fn a_read_waiting_on_the_lock(store: &PgStore) -> JoinHandle<Result<RangeAggregates, StoreError>> {
    let read = tokio::spawn({
        let store = store.clone();
        async move { store.range(GatewayMode::Live, day(), day()).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!read.is_finished(), "the read should be waiting on the lock");
    read
}

/// A read's answer when every turn is taken.
fn assert_no_turn(answer: Result<RangeAggregates, StoreError>) {
    match answer {
        Err(StoreError::Unavailable(reason)) => assert!(reason.contains("statistics read turn"), "{reason}"),
        other => panic!("expected no turn for a second read, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statistics_read_beyond_the_turns_waits_then_answers_unavailable_and_the_turn_comes_back() {
    let db = TestDb::new();
    let store = one_turn_store(&db);
    let mut locker = lock_the_aggregates(&store);
    let first = a_read_waiting_on_the_lock(&store).await;

    // The only turn is the first read's: the second waits for it, then gives up.
    assert_no_turn(store.range(GatewayMode::Live, day(), day()).await);

    // The lock released, the first read answers and its turn is free again.
    diesel::sql_query("COMMIT").execute(&mut locker).unwrap();
    assert_eq!(first.await.unwrap().unwrap(), Default::default());
    assert_eq!(store.range(GatewayMode::Live, day(), day()).await.unwrap(), Default::default());
}

/// A read whose caller stops waiting keeps its turn until its statement
/// has ended: the turn limits the statements PostgreSQL runs, not the
/// requests still listening.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_statistics_read_keeps_its_turn_until_its_statement_ends() {
    let db = TestDb::new();
    let store = one_turn_store(&db);
    let mut locker = lock_the_aggregates(&store);
    let first = a_read_waiting_on_the_lock(&store).await;
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());

    // Its statement still waits on the lock, holding the only turn.
    assert_no_turn(store.range(GatewayMode::Live, day(), day()).await);
    diesel::sql_query("COMMIT").execute(&mut locker).unwrap();
    assert_eq!(store.range(GatewayMode::Live, day(), day()).await.unwrap(), Default::default());
}

/// Aggregates of two days in two currencies, and a lost dispute.
fn seed_aggregates(store: &PgStore) {
    let mut conn = store.connection().unwrap();
    diesel::sql_query(
        "INSERT INTO payment_stats_daily (livemode, day, status, payment_method, currency, shard, payments, \
             amount_minor, discount_minor, platform_fee_minor, earnings_minor, refunded_minor) \
         VALUES (true, '2026-03-01', 'completed', 'stripe', 'USD', 0, 2, 2000, 100, 400, 1600, 500), \
                (true, '2026-03-01', 'failed', 'paypal', 'USD', 1, 1, 900, 0, 0, 0, 0), \
                (true, '2026-03-02', 'disputed', 'sandbox', 'JPY', 0, 1, 7000, 0, 1400, 5600, 0), \
                (false, '2026-03-01', 'completed', 'sandbox', 'EUR', 0, 5, 5000, 0, 1000, 4000, 0)",
    )
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(
        "INSERT INTO payments (id, user_id, course_id, instructor_id, status, payment_method, currency, \
             original_amount_minor, discount_amount_minor, amount_minor, platform_fee_minor, \
             instructor_earnings_minor, created_at, updated_at) \
         VALUES ('00000000-0000-0000-0000-000000000001', 1, 1, 2, 'completed', 'stripe', 'USD', 1000, 0, 1000, \
             200, 800, '2026-03-01', '2026-03-01')",
    )
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(
        "INSERT INTO payment_disputes (id, payment_id, amount_minor, currency, reason, status, created_at, \
             updated_at, livemode) \
         VALUES (gen_random_uuid(), '00000000-0000-0000-0000-000000000001', 1000, 'USD', 'fraudulent', 'lost', \
             '2026-03-02 23:59:59+00', '2026-03-02 23:59:59+00', true)",
    )
    .execute(&mut conn)
    .unwrap();
}

/// A range's read groups the aggregates by status and method and by day,
/// and counts the disputes opened in its days, lost apart.
#[tokio::test]
async fn a_range_read_answers_its_days_aggregates_and_disputes() {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let store = PgStore::connect(db.url(), &PoolSettings::default()).unwrap();
    tokio::task::spawn_blocking({
        let store = store.clone();
        move || seed_aggregates(&store)
    })
    .await
    .unwrap();

    let (from, to) = (NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
    let read = store.range(GatewayMode::Live, from, to).await.unwrap();
    assert_eq!((read.by_status.len(), read.by_day.len(), read.disputes.len()), (3, 3, 1), "{read:#?}");
    let dispute = &read.disputes[0];
    assert_eq!((dispute.disputes, dispute.amount.minor(), dispute.lost), (1, 1000, true));
    // Test money is its own key: none of the live rows, and no dispute.
    let test = store.range(GatewayMode::Test, from, to).await.unwrap();
    assert_eq!((test.by_status.len(), test.by_day.len(), test.disputes.len()), (1, 1, 0), "{test:#?}");
    assert_eq!(test.by_status[0].amount.minor(), 5000);
    let first_day = store.range(GatewayMode::Live, from, from).await.unwrap();
    assert!(first_day.disputes.is_empty(), "the dispute was opened on the second day: {first_day:#?}");
    assert_eq!(first_day.by_status.len(), 2);
}

/// The service's statement limit holds on statistics reads too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statement_limit_holds_on_statistics_reads() {
    let db = TestDb::new();
    let settings = PoolSettings { statement_timeout_ms: 200, ..PoolSettings::default() };
    let store = PgStore::connect(db.url(), &settings).unwrap();
    let mut locker = lock_the_aggregates(&store);
    match store.range(GatewayMode::Live, day(), day()).await {
        Err(StoreError::Unavailable(reason)) => assert!(reason.contains("statement timeout"), "{reason}"),
        other => panic!("expected the statement limit, got {other:?}"),
    }
    diesel::sql_query("COMMIT").execute(&mut locker).unwrap();
}
