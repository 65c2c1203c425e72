//! Short storage calls run on the calling thread where that thread allows
//! it, and never wait there for a connection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use adapters_postgres::testing::TestDb;
use adapters_postgres::{PgStore, PoolSettings, short_storage_calls_wait_here};
use domain::ports::RateLimitStore;

/// A runtime like an HTTP worker's: one thread, and here one blocking
/// thread only, so a call that needs it waits while it is busy.
fn one_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().max_blocking_threads(1).build().unwrap()
}

fn window() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

/// Whether a short call made while the runtime's only blocking thread is
/// busy for two seconds answered before that thread was free again.
fn answered_while_the_blocking_thread_was_busy(store: &PgStore, runtime: &tokio::runtime::Runtime) -> bool {
    runtime.block_on(async {
        // A connection opened (and back in the pool) beforehand.
        store.hit_all(vec!["warm".into()], window()).await.unwrap();
        let blocker_done = Arc::new(AtomicBool::new(false));
        let done = blocker_done.clone();
        let blocker = tokio::task::spawn_blocking(move || {
            std::thread::sleep(Duration::from_secs(2));
            done.store(true, Ordering::SeqCst);
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let hits = store.hit_all(vec!["short".into()], window()).await.unwrap();
        let answered_first = !blocker_done.load(Ordering::SeqCst);
        blocker.await.unwrap();
        assert_eq!(hits.len(), 1);
        answered_first
    })
}

#[test]
fn a_short_call_runs_on_a_thread_that_allows_it_and_on_a_blocking_thread_otherwise() {
    let db = TestDb::new();
    let store = PgStore::connect(db.url(), &PoolSettings { max_connections: 2, ..PoolSettings::default() }).unwrap();

    // This thread has not allowed it: the call waits for the blocking thread.
    assert!(!answered_while_the_blocking_thread_was_busy(&store, &one_thread_runtime()));

    // A thread that has: the call needs no blocking thread.
    let store_for_worker = store.clone();
    let on_worker = std::thread::spawn(move || {
        short_storage_calls_wait_here();
        answered_while_the_blocking_thread_was_busy(&store_for_worker, &one_thread_runtime())
    });
    assert!(on_worker.join().unwrap());
}

#[test]
fn a_thread_that_allows_short_calls_never_waits_there_for_a_connection() {
    let db = TestDb::new();
    let store = PgStore::connect(db.url(), &PoolSettings { max_connections: 1, ..PoolSettings::default() }).unwrap();
    short_storage_calls_wait_here();
    let runtime = one_thread_runtime();
    runtime.block_on(async {
        store.hit_all(vec!["warm".into()], window()).await.unwrap();
        // The pool's only connection is taken for 500 ms.
        let held = store.connection().unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            drop(held);
        });
        // The call waits for it on a blocking thread, so this thread goes on
        // running its other tasks meanwhile.
        let ticks = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counted = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        let hits = store.hit_all(vec!["waited".into()], window()).await.unwrap();
        ticker.abort();
        release.join().unwrap();
        assert_eq!(hits, vec![1]);
        assert!(ticks.load(Ordering::SeqCst) >= 10, "the thread ran other tasks while the call waited");
    });
}
