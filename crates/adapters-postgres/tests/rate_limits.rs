//! Rate-limit counters on a real PostgreSQL under concurrent requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters_postgres::testing::TestDb;
use adapters_postgres::{PgStore, PoolSettings};
use domain::ports::RateLimitStore;
use futures::future::join_all;

#[tokio::test]
async fn concurrent_hits_on_a_shared_address_count_every_request_once() {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let store = PgStore::connect(db.url(), &PoolSettings { max_connections: 12, ..PoolSettings::default() }).unwrap();
    let window = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let (requests, users) = (40_usize, 5_usize);
    // Every request counts its user's key, then the one address all share.
    let answers = join_all((0..requests).map(|n| {
        let store = store.clone();
        async move {
            let user = store.hit(format!("create_payment:user:{}", n % users), window).await.unwrap();
            let address = store.hit("create_payment:ip:192.0.2.1".to_owned(), window).await.unwrap();
            [user, address]
        }
    }))
    .await;

    let mut address_counts: Vec<u32> = answers.iter().map(|hits| hits[1]).collect();
    address_counts.sort_unstable();
    let expected: Vec<u32> = (1..=u32::try_from(requests).unwrap()).collect();
    assert_eq!(address_counts, expected, "each request saw its own count of the shared address");
    for user in 0..users {
        let mut user_counts: Vec<u32> =
            answers.iter().enumerate().filter(|(n, _)| n % users == user).map(|(_, hits)| hits[0]).collect();
        user_counts.sort_unstable();
        let expected: Vec<u32> = (1..=u32::try_from(requests / users).unwrap()).collect();
        assert_eq!(user_counts, expected, "user {user}");
    }
    let stored =
        tokio::task::spawn_blocking(move || store.scalar("SELECT sum(hits)::bigint AS n FROM rate_limit_counters"))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(stored, i64::try_from(requests * 2).unwrap());
}

#[tokio::test]
async fn each_key_counts_on_its_own_and_afresh_in_each_window() {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let store = PgStore::connect(db.url(), &PoolSettings::default()).unwrap();
    let window = chrono::DateTime::from_timestamp(1_800_000_060, 0).unwrap();
    let (user, address) = ("validate_coupon:user:7".to_owned(), "validate_coupon:ip:192.0.2.9".to_owned());
    for _ in 0..3 {
        store.hit(address.clone(), window).await.unwrap();
    }
    assert_eq!(store.hit(user.clone(), window).await.unwrap(), 1);
    assert_eq!(store.hit(address.clone(), window).await.unwrap(), 4);
    assert_eq!(store.hit(address, window).await.unwrap(), 5);
    assert_eq!(store.hit(user.clone(), window).await.unwrap(), 2);
    // Another window counts afresh.
    let next = window + chrono::Duration::minutes(1);
    assert_eq!(store.hit(user, next).await.unwrap(), 1);
}

#[tokio::test]
async fn reading_a_count_counts_nothing() {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let store = PgStore::connect(db.url(), &PoolSettings::default()).unwrap();
    let window = chrono::DateTime::from_timestamp(1_800_000_120, 0).unwrap();
    let key = "webhook_failure:paypal:ip:192.0.2.7".to_owned();
    assert_eq!(store.hits(key.clone(), window).await.unwrap(), 0, "a key never hit");
    store.hit(key.clone(), window).await.unwrap();
    store.hit(key.clone(), window).await.unwrap();
    for _ in 0..3 {
        assert_eq!(store.hits(key.clone(), window).await.unwrap(), 2);
    }
    assert_eq!(store.hits(key, window + chrono::Duration::minutes(1)).await.unwrap(), 0, "another window");
}
