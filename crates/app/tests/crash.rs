//! Crash test: the real `skillpay` binary is killed with SIGKILL again and
//! again while hundreds of payment confirmations are in flight. After every
//! restart each payment is either completed with exactly one sale journal
//! and one `payment.completed` outbox row, or untouched (no journal, no
//! event); the ledger verifies; confirming the rest again completes them,
//! never twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adapters_postgres::testing::TestDb;
use adapters_postgres::{PgStore, PoolSettings};
use domain::usecases::{Actor, Role};
use serde_json::{Value, json};

const SECRET: &str = "crash-test-jwt-secret-of-at-least-32-bytes";
const PAYMENTS: usize = 200;

struct Server {
    child: Child,
    base: String,
}

fn start(db: &TestDb) -> Server {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_skillpay"))
        .arg("serve")
        .env("DATABASE_URL", db.url())
        .env("SKILLPAY_JWT_SECRET", SECRET)
        .env("SKILLPAY_BIND", format!("127.0.0.1:{port}"))
        .env("SKILLPAY_RATE_PAYMENTS_PER_USER", "100000")
        .env("SKILLPAY_RATE_PAYMENTS_PER_IP", "100000")
        .env("SKILLPAY_DB_POOL_SIZE", "20")
        .env("SKILLPAY_SANDBOX", "on")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Server { child, base: format!("http://127.0.0.1:{port}") }
}

async fn wait_ready(client: &reqwest::Client, server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(res) = client.get(format!("{}/readyz", server.base)).send().await
            && res.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not become ready");
}

fn token(user: i64, role: Role) -> String {
    let auth = api_actix::auth::AuthConfig::hs256(SECRET.as_bytes(), None);
    auth.mint(Actor::new(domain::ids::UserId::new(user), role), 3_600).unwrap()
}

/// Every payment is completed with exactly one journal and one event, or
/// untouched; answers how many are completed.
fn check(store: &PgStore) -> i64 {
    let torn = store
        .scalar(
            "SELECT count(*) AS n FROM payments p WHERE
               (p.status = 'completed') <> EXISTS (SELECT 1 FROM ledger_journals j WHERE j.payment_id = p.id AND j.kind = 'sale')
               OR (p.status = 'completed') <> EXISTS (SELECT 1 FROM outbox_events e
                   WHERE e.aggregate_id = 'pay_' || replace(p.id::text, '-', '') AND e.event_type = 'payment.completed')
               OR (SELECT count(*) FROM ledger_journals j WHERE j.payment_id = p.id) > 1
               OR (SELECT count(*) FROM outbox_events e WHERE e.aggregate_id = 'pay_' || replace(p.id::text, '-', '')) > 1",
        )
        .unwrap();
    assert_eq!(torn, 0, "a payment was half-written or doubled");
    store.scalar("SELECT count(*) AS n FROM payments WHERE status = 'completed'").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_server_mid_confirmation_never_tears_or_doubles_a_payment() {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let store = PgStore::connect(db.url(), &PoolSettings::default()).unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let admin = token(1, Role::Admin);

    let mut server = start(&db);
    wait_ready(&client, &server).await;
    let course =
        json!({"title": "Crash course", "price": "19.99", "currency": "USD", "instructor_id": 100, "active": true});
    let res = client
        .put(format!("{}/api/payments/catalog/courses/1/", server.base))
        .bearer_auth(&admin)
        .json(&course)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let mut ids = Vec::new();
    // One buyer each: a buyer holds a course once.
    for buyer in 0..PAYMENTS {
        let student = token(1000 + i64::try_from(buyer).unwrap(), Role::Student);
        let created: Value = client
            .post(format!("{}/api/payments/", server.base))
            .bearer_auth(&student)
            .json(&json!({"course_id": 1, "payment_method": "sandbox"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
    }

    // An admin may confirm anyone's payment.
    let confirm_all = |base: String, ids: Vec<String>| {
        let (client, student) = (client.clone(), admin.clone());
        ids.into_iter()
            .map(move |id| {
                let (client, student, url) =
                    (client.clone(), student.clone(), format!("{base}/api/payments/{id}/confirm/"));
                tokio::spawn(async move {
                    let _ = client
                        .post(url)
                        .bearer_auth(student)
                        .json(&json!({"payment_token": "sandbox_success"}))
                        .send()
                        .await;
                })
            })
            .collect::<Vec<_>>()
    };

    let mut completed_before = 0;
    for _round in 0..3 {
        let in_flight = confirm_all(server.base.clone(), ids.clone());
        // Let about twenty more confirmations land, then pull the plug
        // mid-stream, whatever the machine's speed.
        let target = completed_before + 20;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline
            && store.scalar("SELECT count(*) AS n FROM payments WHERE status = 'completed'").unwrap() < target
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        for task in in_flight {
            let _ = task.await;
        }
        let completed = tokio::task::block_in_place(|| check(&store));
        assert!(completed >= completed_before);
        completed_before = completed;
        server = start(&db);
        wait_ready(&client, &server).await;
    }
    // The kills landed mid-stream: some confirmations went through, some
    // were cut off.
    assert!(completed_before > 0, "no confirmation landed before the kills");
    assert!(completed_before < i64::try_from(PAYMENTS).unwrap(), "the kills interrupted no confirmation");

    // After the crashes, confirming again finishes the rest, exactly once each.
    for task in confirm_all(server.base.clone(), ids.clone()) {
        task.await.unwrap();
    }
    let completed = tokio::task::block_in_place(|| check(&store));
    assert_eq!(completed, i64::try_from(PAYMENTS).unwrap());
    let verification = store.verify_ledger().await.unwrap();
    assert_eq!(verification.first_discrepancy, None);
    assert_eq!(verification.journals, i64::try_from(PAYMENTS).unwrap());
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}
