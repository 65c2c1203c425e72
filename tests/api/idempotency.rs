use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use domain::gateway_config::GatewayMode;
use domain::payment::{Payment, PaymentMethod};
use domain::ports::{GatewayDescriptor, GatewayError, GatewayOutcome, GatewaySession, NextAction, PaymentGateway};
use domain::usecases::Role;
use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app, spawn_app_for_races, spawn_app_with_gateways};

async fn create(app: &TestApp, token: &str, key: &str, body: &Value) -> (u16, String) {
    let res = app
        .request(Method::POST, "/api/payments/", Some(token))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn ten_identical_retries_make_one_payment_and_identical_answers() {
    let app = spawn_app().await;
    app.put_course(1, "19.99", "USD").await;
    let token = app.token(42, Role::Student);
    let body = json!({"course_id": 1, "payment_method": "sandbox"});
    let mut answers = Vec::new();
    for _ in 0..10 {
        answers.push(create(&app, &token, "retry-me", &body).await);
    }
    assert_eq!(answers[0].0, 201);
    assert!(answers.iter().all(|a| a == &answers[0]), "answers differ");
    assert_eq!(app.count("payments").await, 1);
}

#[tokio::test]
async fn the_same_key_with_a_different_body_is_refused() {
    let app = spawn_app().await;
    app.put_course(1, "19.99", "USD").await;
    app.put_course(2, "29.99", "USD").await;
    let token = app.token(42, Role::Student);
    let (first, _) = create(&app, &token, "k1", &json!({"course_id": 1, "payment_method": "sandbox"})).await;
    assert_eq!(first, 201);
    let (second, body) = create(&app, &token, "k1", &json!({"course_id": 2, "payment_method": "sandbox"})).await;
    assert_eq!(second, 422);
    assert!(body.contains("idempotency_key_reused"));
    assert_eq!(app.count("payments").await, 1);
    // Keys are per user: another user may use the same key.
    let (other, _) =
        create(&app, &app.token(43, Role::Student), "k1", &json!({"course_id": 2, "payment_method": "sandbox"})).await;
    assert_eq!(other, 201);
}

#[tokio::test]
async fn fifty_concurrent_requests_with_one_key_make_one_payment() {
    let app = spawn_app_for_races().await;
    app.put_course(1, "19.99", "USD").await;
    let token = app.token(42, Role::Student);
    let body = json!({"course_id": 1, "payment_method": "sandbox"});
    let answers = join_all((0..50).map(|_| create(&app, &token, "race", &body))).await;
    let created: Vec<_> = answers.iter().filter(|(s, _)| *s == 201).collect();
    assert!(!created.is_empty());
    assert!(created.iter().all(|a| a.1 == created[0].1), "replays differ from the first answer");
    assert!(answers.iter().all(|(s, _)| *s == 201 || *s == 409), "{answers:?}");
    assert_eq!(app.count("payments").await, 1);
}

#[tokio::test]
async fn client_errors_are_replayed_and_malformed_keys_refused() {
    let app = spawn_app().await;
    let token = app.token(42, Role::Student);
    let body = json!({"course_id": 999, "payment_method": "sandbox"});
    let first = create(&app, &token, "missing-course", &body).await;
    assert_eq!(first.0, 404);
    app.put_course(999, "5.00", "USD").await;
    // The same request replays the first (stored) answer.
    assert_eq!(create(&app, &token, "missing-course", &body).await, first);
    let (status, text) = create(&app, &token, "bad key with spaces", &body).await;
    assert_eq!(status, 400);
    assert!(text.contains("idempotency_key_invalid"));
}

/// A wallet gateway whose sessions take `delay` to open (a gateway timing
/// out and retrying), counting the sessions opened.
struct SlowGateway {
    delay: Duration,
    sessions: AtomicUsize,
}

#[async_trait]
impl PaymentGateway for SlowGateway {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Wallet
    }
    async fn create_session(&self, payment: &Payment) -> Result<GatewaySession, GatewayError> {
        tokio::time::sleep(self.delay).await;
        self.sessions.fetch_add(1, Ordering::SeqCst);
        Ok(GatewaySession {
            provider_payment_id: format!("slow_{}", payment.id.uuid().simple()),
            next_action: NextAction::ConfirmWithToken {
                provider: PaymentMethod::Wallet,
                tokens: vec!["ok"],
                authenticate: false,
            },
        })
    }
    async fn confirm(&self, _: &str, _: &str) -> Result<GatewayOutcome, GatewayError> {
        Ok(GatewayOutcome::Succeeded)
    }
    async fn cancel(&self, _: &str) -> Result<(), GatewayError> {
        Ok(())
    }
    async fn status(&self, _: &str) -> Result<GatewayOutcome, GatewayError> {
        Ok(GatewayOutcome::AwaitingBuyer)
    }
}

#[tokio::test]
async fn a_retry_while_a_gateway_call_outlasts_the_lease_is_told_to_wait_and_nothing_is_paid_twice() {
    // A one-second lease, renewed every third of a second while the
    // purchase runs; the gateway takes three leases to answer.
    let gateway = Arc::new(SlowGateway { delay: Duration::from_secs(3), sessions: AtomicUsize::new(0) });
    let descriptor = GatewayDescriptor::new(GatewayMode::Test, gateway.clone());
    let app = spawn_app_with_gateways(&[("SKILLPAY_IDEMPOTENCY_LEASE_SECS", "1")], vec![descriptor]).await;
    app.put_course(1, "19.99", "USD").await;
    let token = app.token(42, Role::Student);
    let body = json!({"course_id": 1, "payment_method": "wallet"});

    // The retry comes two leases after the claim, the first request still
    // waiting on the gateway.
    let retry = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        create(&app, &token, "slow-checkout", &body).await
    };
    let (first, retried) = tokio::join!(create(&app, &token, "slow-checkout", &body), retry);
    assert_eq!(retried.0, 409, "{}", retried.1);
    assert!(retried.1.contains("idempotency_request_in_progress"), "{}", retried.1);
    assert_eq!(first.0, 201, "{}", first.1);

    // Once the first has answered, the same request replays its answer.
    assert_eq!(create(&app, &token, "slow-checkout", &body).await, first);
    assert_eq!(app.count("payments").await, 1);
    assert_eq!(gateway.sessions.load(Ordering::SeqCst), 1);
}
