//! Statistics reads take turns: at most `stats_reads` of them run at once,
//! and the others wait for a turn as long as for a connection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use adapters_postgres::testing::TestDb;
use adapters_postgres::{PgStore, PoolSettings};
use chrono::NaiveDate;
use diesel::RunQueryDsl;
use domain::ports::{StatsQueries, StoreError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statistics_read_beyond_the_turns_waits_then_answers_unavailable_and_the_turn_comes_back() {
    let db = TestDb::new();
    let settings = PoolSettings { stats_reads: 1, acquire_timeout_ms: 300, ..PoolSettings::default() };
    let store = PgStore::connect(db.url(), &settings).unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();

    // Another session locks the aggregates: a read that starts waits on it.
    let mut locker = store.connection().unwrap();
    diesel::sql_query("BEGIN").execute(&mut locker).unwrap();
    diesel::sql_query("LOCK TABLE payment_stats_daily IN ACCESS EXCLUSIVE MODE").execute(&mut locker).unwrap();
    let first = tokio::spawn({
        let store = store.clone();
        async move { store.range(day, day).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!first.is_finished(), "the first read should be waiting on the lock");

    // The only turn is the first read's: the second waits for it, then gives up.
    match store.range(day, day).await {
        Err(StoreError::Unavailable(reason)) => assert!(reason.contains("statistics read turn"), "{reason}"),
        other => panic!("expected no turn for a second read, got {other:?}"),
    }

    // The lock released, the first read answers and its turn is free again.
    diesel::sql_query("COMMIT").execute(&mut locker).unwrap();
    assert_eq!(first.await.unwrap().unwrap(), Default::default());
    assert_eq!(store.range(day, day).await.unwrap(), Default::default());
}
