//! The `mocks` feature exports mocks of these ports, as a web adapter's
//! unit tests use them: programmed answers and checked arguments.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use domain::actor::{Actor, Role};
use domain::ids::UserId;
use futures::executor::block_on;
use mockall::predicate::eq;
use web_ports::console::{ConsoleSession, ConsoleStore, MockConsoleStore};
use web_ports::idempotency::{
    ClaimLease, IdempotencyBegin, IdempotencyKey, IdempotencyStore, MockIdempotencyStore, StoredResponse,
};

#[test]
fn the_idempotency_store_mock_replays_what_it_is_told_for_the_owner_it_is_told() {
    let key = IdempotencyKey::parse("order-1").unwrap();
    let kept = StoredResponse { status: 201, body: b"{\"id\":\"pay_1\"}".to_vec() };
    let mut store = MockIdempotencyStore::new();
    let answer = IdempotencyBegin::Replay(kept.clone());
    store
        .expect_begin()
        .with(eq(UserId::new(7)), eq(key.clone()), eq("fingerprint".to_owned()), eq(ClaimLease::default()))
        .times(1)
        .returning(move |_, _, _, _| Ok(answer.clone()));

    let begun = block_on(store.begin(UserId::new(7), key, "fingerprint".to_owned(), ClaimLease::default())).unwrap();

    assert_eq!(begun, IdempotencyBegin::Replay(kept));
}

#[test]
fn the_console_store_mock_finds_the_session_it_is_given() {
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
    let session = ConsoleSession {
        actor: Actor::new(UserId::new(1), Role::Admin),
        csrf_token: "csrf".to_owned(),
        expires_at: now + chrono::Duration::hours(8),
        idle_timeout: None,
    };
    let mut store = MockConsoleStore::new();
    let found = session.clone();
    store.expect_find_session().with(eq(vec![1_u8, 2, 3]), eq(now)).returning(move |_, _| Ok(Some(found.clone())));

    assert_eq!(block_on(store.find_session(vec![1, 2, 3], now)).unwrap(), Some(session));
}
