//! Key rotation: `PgStore::reseal` moves every sealed value (payout
//! destinations, event endpoint secrets, gateway credentials) under the
//! current key, so that the previous key can leave the configuration; it
//! never overwrites a value the running service wrote meanwhile.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Duration;

use adapters_postgres::testing::TestDb;
use adapters_postgres::{Keyring, PgStore, PoolSettings, ResealReport};
use chrono::Utc;
use diesel::sql_types::{Bytea, Text};
use diesel::{Connection, RunQueryDsl};
use domain::events::EventEndpoint;
use domain::gateway_config::{GatewayConfig, GatewayCredentials, GatewayMode};
use domain::ids::{EndpointId, PayoutId, UserId};
use domain::payment::PaymentMethod;
use domain::payout::PayoutDestination;
use domain::ports::{EventDeliveryStore, GatewayConfigRepository, PayoutRepository};
use domain::usecases::{Actor, Role};
use uuid::Uuid;

const OLD: [u8; 32] = [7; 32];
const NEW: [u8; 32] = [9; 32];
const STRANGER: [u8; 32] = [5; 32];

fn store(db: &TestDb, current: [u8; 32], previous: &[[u8; 32]]) -> PgStore {
    PgStore::connect(db.url(), &PoolSettings { max_connections: 4, ..PoolSettings::default() })
        .unwrap()
        .with_keyring(Keyring::new(current, previous).unwrap())
}

fn admin() -> Actor {
    Actor::new(UserId::new(1), Role::Admin)
}

fn destination(n: usize) -> PayoutDestination {
    PayoutDestination::Paypal { email: format!("teacher{n}@example.com") }
}

/// A requested payout whose destination `key` sealed, as the payout store
/// seals it (table, column, row and key id in the associated data).
fn insert_payout(store: &PgStore, key: [u8; 32], destination: &PayoutDestination) -> PayoutId {
    let id = Uuid::now_v7();
    let plain = serde_json::to_vec(destination).unwrap();
    let (key_id, sealed) =
        Keyring::new(key, &[]).unwrap().seal(&plain, &format!("payouts/destination_encrypted/{id}")).unwrap();
    diesel::sql_query(
        "INSERT INTO payouts (id, instructor_id, amount_minor, currency, method, status, destination_encrypted, \
         destination_masked, destination_key_id, created_at, updated_at) \
         VALUES ($1, 100, 2500, 'USD', 'paypal', 'requested', $2, 't***@example.com', $3, now(), now())",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<Bytea, _>(sealed)
    .bind::<Text, _>(key_id)
    .execute(&mut store.connection().unwrap())
    .unwrap();
    PayoutId::from_uuid(id)
}

fn gateway_config(secret_key: &str) -> GatewayConfig {
    GatewayConfig {
        id: Uuid::now_v7(),
        provider: PaymentMethod::Stripe,
        mode: GatewayMode::Test,
        is_active: true,
        credentials: GatewayCredentials::new(BTreeMap::from([("secret_key".to_owned(), secret_key.to_owned())])),
        api_base: None,
        updated_at: Utc::now(),
    }
}

async fn create_endpoint(store: &PgStore, secret: &str) -> EndpointId {
    let endpoint = EventEndpoint {
        id: EndpointId::from_uuid(Uuid::now_v7()),
        url: "https://platform.example.com/hooks".to_owned(),
        event_types: Vec::new(),
        livemode: true,
        active: true,
        created_at: Utc::now(),
    };
    store.create_endpoint(endpoint, secret.to_owned(), admin()).await.unwrap().id
}

/// The endpoint secret as the delivery worker reads it: an event routed to
/// the endpoint and claimed.
async fn delivered_secret(store: &PgStore) -> String {
    store
        .scalar(
            "WITH e AS (INSERT INTO outbox_events (id, event_type, aggregate_id, payload, created_at) \
             VALUES (gen_random_uuid(), 'payment.completed', 'pay_1', '{\"livemode\": true}', now()) RETURNING 1) \
             SELECT count(*) AS n FROM e",
        )
        .unwrap();
    let now = Utc::now();
    assert_eq!(store.route(now, 10).await.unwrap(), 1);
    let claimed = store.claim_due(now, now + chrono::Duration::seconds(60), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    claimed[0].secret.clone()
}

fn report<'a>(reports: &'a [ResealReport], column: &str) -> &'a ResealReport {
    reports.iter().find(|r| r.column == column).unwrap_or_else(|| panic!("no report for {column}: {reports:?}"))
}

/// (resealed, already current, failed) of one column.
fn counts(reports: &[ResealReport], column: &str) -> (u64, u64, usize) {
    let r = report(reports, column);
    (r.resealed, r.already_current, r.failed.len())
}

#[tokio::test]
async fn after_a_reseal_the_new_key_alone_opens_every_sealed_value() {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let old = store(&db, OLD, &[]);
    let payouts: Vec<_> = (0..5).map(|n| (insert_payout(&old, OLD, &destination(n)), destination(n))).collect();
    old.put(gateway_config("sk_test_sealed_under_the_old_key"), admin()).await.unwrap();
    create_endpoint(&old, "whsec_sealed_under_the_old_key").await;

    // Without a reseal, dropping the old key loses every value.
    let new_only = store(&db, NEW, &[]);
    assert!(new_only.destination(payouts[0].0).await.is_err());
    assert!(new_only.active(PaymentMethod::Stripe).await.is_err());

    // Pages of two rows, so that the walk goes on across pages.
    let rotating = store(&db, NEW, &[OLD]);
    let first = rotating.reseal(2).await.unwrap();
    assert_eq!(counts(&first, "payouts.destination_encrypted"), (5, 0, 0));
    assert_eq!(counts(&first, "event_endpoints.secret_sealed"), (1, 0, 0));
    assert_eq!(counts(&first, "payment_gateway_configs.credentials_encrypted"), (1, 0, 0));
    assert!(first.iter().all(ResealReport::is_complete));

    // A second run finds nothing left to do.
    let again = rotating.reseal(2).await.unwrap();
    assert_eq!(counts(&again, "payouts.destination_encrypted"), (0, 5, 0));
    assert_eq!(counts(&again, "event_endpoints.secret_sealed"), (0, 1, 0));
    assert_eq!(counts(&again, "payment_gateway_configs.credentials_encrypted"), (0, 1, 0));

    for (id, expected) in &payouts {
        assert_eq!(new_only.destination(*id).await.unwrap().as_ref(), Some(expected));
    }
    let config = new_only.active(PaymentMethod::Stripe).await.unwrap().unwrap();
    assert_eq!(config.credentials.get("secret_key"), Some("sk_test_sealed_under_the_old_key"));
    assert_eq!(delivered_secret(&new_only).await, "whsec_sealed_under_the_old_key");
}

#[tokio::test]
async fn every_column_that_holds_sealed_values_is_walked() {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let reports = store(&db, NEW, &[]).reseal(500).await.unwrap();
    let mut walked: Vec<String> = reports.iter().map(|r| r.column.clone()).collect();
    walked.sort();
    // Sealed columns are bytea named for what they hold; a new one that
    // the reseal does not know would keep an old key needed forever.
    let mut conn = db_connection(&db);
    let mut declared: Vec<String> = diesel::sql_query(
        "SELECT table_name || '.' || column_name AS name FROM information_schema.columns \
         WHERE table_schema = 'public' AND data_type = 'bytea' \
         AND (column_name LIKE '%sealed%' OR column_name LIKE '%encrypted%') ORDER BY 1",
    )
    .load::<Named>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|row| row.name)
    .collect();
    declared.sort();
    assert_eq!(walked, declared);
}

#[derive(diesel::QueryableByName)]
struct Named {
    #[diesel(sql_type = Text)]
    name: String,
}

fn db_connection(db: &TestDb) -> diesel::PgConnection {
    diesel::PgConnection::establish(db.url()).unwrap()
}

#[tokio::test]
async fn a_value_the_service_rewrites_during_a_reseal_is_not_overwritten() {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let old = store(&db, OLD, &[]);
    let id = old.put(gateway_config("sk_test_first"), admin()).await.unwrap().id;

    // An instance already on the new key stores new credentials, and its
    // transaction is still open when the reseal reaches the row.
    let (written_tx, written) = mpsc::channel();
    let (commit_tx, commit) = mpsc::channel::<()>();
    let mut conn = db_connection(&db);
    let writer = tokio::task::spawn_blocking(move || {
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            let plain = serde_json::to_vec(&BTreeMap::from([("secret_key", "sk_test_second")])).unwrap();
            let (key_id, sealed) = Keyring::new(NEW, &[])
                .unwrap()
                .seal(&plain, &format!("payment_gateway_configs/credentials_encrypted/{id}"))
                .unwrap();
            diesel::sql_query(
                "UPDATE payment_gateway_configs SET credentials_encrypted = $1, key_id = $2 WHERE id = $3",
            )
            .bind::<Bytea, _>(sealed)
            .bind::<Text, _>(key_id)
            .bind::<diesel::sql_types::Uuid, _>(id)
            .execute(conn)?;
            written_tx.send(()).unwrap();
            commit.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    tokio::task::spawn_blocking(move || written.recv().unwrap()).await.unwrap();

    let rotating = store(&db, NEW, &[OLD]);
    let reseal = tokio::spawn(async move { rotating.reseal(500).await });
    // The reseal read the committed (old) value and now waits on the row.
    let watcher = store(&db, NEW, &[]);
    let waiting = "SELECT count(*) AS n FROM pg_stat_activity \
                   WHERE datname = current_database() AND wait_event_type = 'Lock'";
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while watcher.scalar(waiting).unwrap() == 0 {
        assert!(std::time::Instant::now() < deadline, "the reseal never reached the row");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    commit_tx.send(()).unwrap();
    writer.await.unwrap();

    let reports = reseal.await.unwrap().unwrap();
    // Its swap found another value and wrote nothing; read again, the row
    // is already under the current key.
    assert_eq!(counts(&reports, "payment_gateway_configs.credentials_encrypted"), (0, 1, 0));
    let config = watcher.active(PaymentMethod::Stripe).await.unwrap().unwrap();
    assert_eq!(config.credentials.get("secret_key"), Some("sk_test_second"));
}

#[tokio::test]
async fn a_value_no_configured_key_opens_is_reported_and_left_as_it_is() {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let lost = insert_payout(&store(&db, STRANGER, &[]), STRANGER, &destination(1));
    let fine = insert_payout(&store(&db, OLD, &[]), OLD, &destination(2));

    let reports = store(&db, NEW, &[OLD]).reseal(500).await.unwrap();
    let payouts = report(&reports, "payouts.destination_encrypted");
    assert_eq!((payouts.resealed, payouts.already_current), (1, 0));
    assert_eq!(payouts.failed.len(), 1);
    assert_eq!(payouts.failed[0].0, lost.uuid());
    assert!(payouts.failed[0].1.contains("unknown key id"), "{:?}", payouts.failed);
    assert!(!payouts.is_complete());

    // Left as it was: its own key still opens it.
    assert!(store(&db, STRANGER, &[]).destination(lost).await.unwrap().is_some());
    assert!(store(&db, NEW, &[]).destination(fine).await.unwrap().is_some());
}
