//! Replaying a logged gateway webhook: its action is acted on again
//! through the webhook use case, re-reading the gateway, so a replay
//! settles what the gateway now says and never moves money twice.

use domain::ids::UserId;
use domain::usecases::webhooks::{ReplayWebhookError, WebhookOutcome};
use domain::usecases::{Actor, Role};
use serde_json::{Value, json};
use skillpay_e2e::{LocalStripe, TestApp, spawn_app_with};
use web_ports::console::{WebhookLogQuery, WebhookLogStatus};

const WEBHOOK_SECRET: &str = "whsec_replay_secret";
const ADMIN: Actor = Actor::new(UserId::new(1), Role::Admin);

/// The app on `stripe` (and a 49.99 course 1), with `extra` settings.
async fn app_on(stripe: &LocalStripe, extra: &[(&str, &str)]) -> TestApp {
    let mut settings = vec![
        ("STRIPE_SECRET_KEY", "sk_test_local"),
        ("STRIPE_API_BASE", stripe.base.as_str()),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
    ];
    settings.extend_from_slice(extra);
    let app = spawn_app_with(&settings).await;
    app.put_course(1, "49.99", "USD").await;
    app
}

/// A Stripe purchase of course 1 by `student`: the payment as answered.
async fn stripe_purchase(app: &TestApp, student: &str) -> Value {
    let res = app.post("/api/payments/", student, &json!({"course_id": 1, "payment_method": "stripe"})).await;
    res.json().await.unwrap()
}

/// Delivers a signed `payment_intent.succeeded` for `intent`; the status.
async fn deliver_succeeded(app: &TestApp, event_id: &str, intent: &str) -> u16 {
    let event = json!({"id": event_id, "object": "event", "type": "payment_intent.succeeded",
        "data": {"object": {"id": intent, "object": "payment_intent"}}});
    app.deliver_stripe_event(&event, WEBHOOK_SECRET).await
}

#[tokio::test]
async fn a_replayed_event_settles_what_stripe_now_says_once_and_only_admins_may_replay() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe, &[]).await;
    let student = app.token(1000, Role::Student);
    let created = stripe_purchase(&app, &student).await;
    let (id, intent) = (created["id"].as_str().unwrap(), created["provider_payment_id"].as_str().unwrap());

    // The event arrives before Stripe has charged: processed, nothing paid.
    assert_eq!(deliver_succeeded(&app, "evt_early", intent).await, 200);
    let payment: Value = app.get(&format!("/api/payments/{id}/"), &student).await.json().await.unwrap();
    assert_eq!(payment["status"], "pending");

    // Stripe charges the card; no webhook reaches us this time.
    assert!(stripe.confirm_as_browser(intent, "pm_card_visa").await.status().is_success());
    let logged = app.state.console.webhook_logs(WebhookLogQuery::default()).await.unwrap();
    let log_id = logged.items[0].id;
    let student_actor = Actor::new(UserId::new(1000), Role::Student);
    assert!(matches!(app.state.webhooks.replay(student_actor, log_id).await, Err(ReplayWebhookError::Forbidden(_))));
    assert_eq!(app.state.webhooks.replay(ADMIN, uuid::Uuid::nil()).await, Err(ReplayWebhookError::NotFound));

    assert_eq!(app.state.webhooks.replay(ADMIN, log_id).await, Ok(WebhookOutcome::Processed));
    let payment: Value = app.get(&format!("/api/payments/{id}/"), &student).await.json().await.unwrap();
    assert_eq!(payment["status"], "completed", "the replay re-read Stripe");
    // Replayed again, concurrently: still one sale journal.
    let (a, b) = tokio::join!(app.state.webhooks.replay(ADMIN, log_id), app.state.webhooks.replay(ADMIN, log_id));
    for outcome in [a, b] {
        assert!(matches!(outcome, Ok(WebhookOutcome::Processed | WebhookOutcome::InProgress)), "{outcome:?}");
    }
    assert_eq!(app.count("ledger_journals").await, 1);
    // The payment's timeline names the webhook (by the intent in its
    // payload) and the completion event.
    let payment_id: domain::ids::PaymentId = id.parse().unwrap();
    let timeline = app.state.console.payment_timeline(payment_id).await.unwrap();
    let what: Vec<&str> = timeline.iter().map(|t| t.what.as_str()).collect();
    assert!(what.contains(&"webhook stripe payment_intent.succeeded"), "{what:?}");
    assert!(what.contains(&"payment.completed"), "{what:?}");
    let now = chrono::Utc::now();
    let none = app.state.console.object_timeline(id.to_owned(), Some("pi_never_sent".to_owned()), now).await.unwrap();
    assert!(none.iter().all(|t| !t.what.starts_with("webhook")), "no webhook names that id: {none:?}");
    // Webhooks are found by the ids they name (an indexed array), within
    // the object's lifetime: none from over a day before it was created.
    let named = app.state.console.object_timeline(id.to_owned(), Some(intent.to_owned()), now).await.unwrap();
    assert!(named.iter().any(|t| t.what == "webhook stripe payment_intent.succeeded"), "{named:?}");
    let later = now + chrono::Duration::days(2);
    let bounded = app.state.console.object_timeline(id.to_owned(), Some(intent.to_owned()), later).await.unwrap();
    assert!(bounded.iter().all(|t| !t.what.starts_with("webhook")), "{bounded:?}");
    let line = &app.state.console.webhook_logs(WebhookLogQuery::default()).await.unwrap().items[0];
    assert!(line.processed && line.error.is_none());
    assert!(line.attempts >= 3, "each replay counts as an attempt ({})", line.attempts);
    let processed = WebhookLogQuery { status: Some(WebhookLogStatus::Processed), ..Default::default() };
    assert_eq!(app.state.console.webhook_logs(processed).await.unwrap().items.len(), 1);
    let failed = WebhookLogQuery { status: Some(WebhookLogStatus::Failed), ..Default::default() };
    assert!(app.state.console.webhook_logs(failed).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn a_replay_that_fails_again_is_recorded_on_the_log_row() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe, &[("SKILLPAY_BREAKER_FAILURES", "100")]).await;
    let student = app.token(1000, Role::Student);
    let created = stripe_purchase(&app, &student).await;
    let intent = created["provider_payment_id"].as_str().unwrap().to_owned();
    // Stripe goes away: re-reading the intent fails, for the delivery and
    // for its replay, and each failure is kept on the log row.
    drop(stripe);
    assert_eq!(deliver_succeeded(&app, "evt_down", &intent).await, 500);
    let log_id = app.state.console.webhook_logs(WebhookLogQuery::default()).await.unwrap().items[0].id;
    let replayed = app.state.webhooks.replay(ADMIN, log_id).await;
    assert!(matches!(replayed, Err(ReplayWebhookError::ProcessingFailed(_))), "{replayed:?}");
    let line = &app.state.console.webhook_logs(WebhookLogQuery::default()).await.unwrap().items[0];
    assert!(!line.processed && line.error.is_some());
    assert_eq!(line.attempts, 2);
    let failed = WebhookLogQuery { status: Some(WebhookLogStatus::Failed), ..Default::default() };
    assert_eq!(app.state.console.webhook_logs(failed).await.unwrap().items.len(), 1);
    let payment: Value =
        app.get(&format!("/api/payments/{}/", created["id"].as_str().unwrap()), &student).await.json().await.unwrap();
    assert_eq!(payment["status"], "pending");
}
