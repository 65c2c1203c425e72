//! Purchases through the Stripe adapter against localstripe, a stateful
//! Stripe stand-in speaking Stripe's wire protocol, on loopback.

use std::time::Duration;

use adapters_stripe::sign;
use domain::usecases::Role;
use serde_json::{Value, json};
use skillpay_e2e::{LocalStripe, RACE_SETTINGS, TestApp, spawn_app_with};

const WEBHOOK_SECRET: &str = "whsec_e2e_secret";

async fn app_on(stripe: &LocalStripe) -> TestApp {
    app_on_with(stripe, &[]).await
}

/// [`app_on`] with `extra` settings.
async fn app_on_with(stripe: &LocalStripe, extra: &[(&str, &str)]) -> TestApp {
    let secrets = format!("whsec_old,{WEBHOOK_SECRET}");
    let mut settings = vec![
        ("STRIPE_SECRET_KEY", "sk_test_local"),
        ("STRIPE_API_BASE", &stripe.base),
        ("STRIPE_WEBHOOK_SECRET", &secrets),
    ];
    settings.extend_from_slice(extra);
    let app = spawn_app_with(&settings).await;
    app.put_course(1, "49.99", "USD").await;
    app
}

async fn create(app: &TestApp, student: &str) -> Value {
    let res = app.post("/api/payments/", student, &json!({"course_id": 1, "payment_method": "stripe"})).await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_stripe_purchase_confirmed_server_side_completes_and_balances() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    let student = app.token(1000, Role::Student);
    let created = create(&app, &student).await;
    assert_eq!(created["status"], "pending");
    assert!(created["provider_payment_id"].as_str().unwrap().starts_with("pi_"));
    assert_eq!(created["next_action"]["type"], "stripe_confirm");
    assert!(created["next_action"]["client_secret"].as_str().unwrap().contains("_secret_"));

    let id = created["id"].as_str().unwrap();
    let res =
        app.post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "pm_card_visa"})).await;
    assert_eq!(res.status(), 200);
    let confirmed: Value = res.json().await.unwrap();
    assert_eq!(confirmed["status"], "completed");
    assert_eq!(app.store.account_balance("gateway_clearing:stripe".into(), "USD".into(), false).await.unwrap(), 4999);
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
    // The client secret is handed out once, not shown again.
    let read: Value = app.get(&format!("/api/payments/{id}/"), &student).await.json().await.unwrap();
    assert!(read.get("next_action").is_none());
}

#[tokio::test]
async fn a_declined_card_fails_the_payment() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    let student = app.token(1000, Role::Student);
    let created = create(&app, &student).await;
    let id = created["id"].as_str().unwrap();
    let res = app
        .post(
            &format!("/api/payments/{id}/confirm/"),
            &student,
            &json!({"payment_token": "pm_card_chargeCustomerFail"}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "failed", "{body}");
    assert_eq!(app.count("ledger_journals").await, 0);
    // The declined PaymentIntent was cancelled at Stripe: the buyer's
    // checkout cannot pay it with another card and lose the money.
    let intent = body["provider_payment_id"].as_str().unwrap();
    let at_stripe: Value = stripe.retrieve_intent(intent).await;
    assert_eq!(at_stripe["status"], "canceled", "{at_stripe}");
}

#[tokio::test]
async fn a_browser_confirmation_completes_the_payment_through_the_signed_webhook() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    stripe.register_webhook(&format!("{}/api/payments/webhooks/stripe/", app.base), WEBHOOK_SECRET).await;
    let student = app.token(1000, Role::Student);
    let created = create(&app, &student).await;
    let id = created["id"].as_str().unwrap();
    let intent = created["provider_payment_id"].as_str().unwrap();
    let res = stripe.confirm_as_browser(intent, "pm_card_visa").await;
    assert!(res.status().is_success());
    let mut status = String::new();
    for _ in 0..100 {
        let payment: Value = app.get(&format!("/api/payments/{id}/"), &student).await.json().await.unwrap();
        status = payment["status"].as_str().unwrap().to_owned();
        if status == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "completed");
    // The event's log row is marked processed in its own commit, just
    // after the one that completed the payment.
    let mut processed = 0;
    for _ in 0..100 {
        processed = app.store.scalar("SELECT count(*) AS n FROM payment_webhook_logs WHERE processed").unwrap();
        if processed >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(processed >= 1);
    assert_eq!(app.count("ledger_journals").await, 1);
}

fn signed(body: &str, secret: &str, at: i64) -> String {
    sign(body.as_bytes(), secret, at)
}

async fn deliver(app: &TestApp, body: &str, signature: Option<String>) -> (u16, Value) {
    let mut request = app.request(reqwest::Method::POST, "/api/payments/webhooks/stripe/", None).body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("Stripe-Signature", signature);
    }
    let res = request.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

fn succeeded_event(event_id: &str, intent: &str) -> String {
    json!({"id": event_id, "object": "event", "type": "payment_intent.succeeded",
           "data": {"object": {"id": intent, "object": "payment_intent", "status": "succeeded"}}})
    .to_string()
}

#[tokio::test]
async fn a_forged_signed_event_cannot_complete_a_payment_stripe_has_not_charged() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    let student = app.token(1000, Role::Student);
    let created = create(&app, &student).await;
    let intent = created["provider_payment_id"].as_str().unwrap();
    // Correctly signed, but Stripe says the intent still awaits payment: the
    // payment is re-read and stays pending.
    let body = succeeded_event("evt_forged", intent);
    let (status, ack) = deliver(&app, &body, Some(signed(&body, WEBHOOK_SECRET, chrono::Utc::now().timestamp()))).await;
    assert_eq!((status, ack["status"].as_str()), (200, Some("processed")));
    let id = created["id"].as_str().unwrap();
    let payment: Value = app.get(&format!("/api/payments/{id}/"), &student).await.json().await.unwrap();
    assert_eq!(payment["status"], "pending");
}

#[tokio::test]
async fn unsigned_or_badly_signed_webhooks_are_refused_and_write_nothing() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    let body = succeeded_event("evt_1", "pi_1");
    let now = chrono::Utc::now().timestamp();
    for signature in [
        None,
        Some(signed(&body, "whsec_wrong", now)),
        // Well outside the 300 s tolerance: on a loaded machine a second or
        // more can pass between `now` here and the server's own clock.
        Some(signed(&body, WEBHOOK_SECRET, now - 360)),
        Some(signed(&body, WEBHOOK_SECRET, now + 360)),
        Some("t=abc,v1=zz".to_owned()),
    ] {
        let (status, problem) = deliver(&app, &body, signature).await;
        assert_eq!(status, 400);
        assert_eq!(problem["code"], "webhook_rejected");
    }
    let tampered = body.replace("evt_1", "evt_2");
    assert_eq!(deliver(&app, &tampered, Some(signed(&body, WEBHOOK_SECRET, now))).await.0, 400);
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM payment_webhook_logs").unwrap(), 0);
    // A rotated-out but still configured secret is accepted.
    assert_eq!(deliver(&app, &body, Some(signed(&body, "whsec_old", now))).await.0, 200);
}

#[tokio::test]
async fn without_a_webhook_secret_stripe_webhooks_fail_closed() {
    let app = skillpay_e2e::spawn_app().await;
    let body = succeeded_event("evt_1", "pi_1");
    let (status, problem) =
        deliver(&app, &body, Some(signed(&body, "whsec_any", chrono::Utc::now().timestamp()))).await;
    assert_eq!(status, 503);
    assert_eq!(problem["code"], "webhook_not_configured");
}

#[tokio::test]
async fn a_thousand_concurrent_copies_of_one_event_are_logged_once_and_processed_once() {
    let stripe = LocalStripe::start().await;
    let app = app_on_with(&stripe, &RACE_SETTINGS).await;
    let student = app.token(1000, Role::Student);
    let created = create(&app, &student).await;
    let intent = created["provider_payment_id"].as_str().unwrap().to_owned();
    assert!(stripe.confirm_as_browser(&intent, "pm_card_visa").await.status().is_success());
    let body = succeeded_event("evt_storm", &intent);
    let signature = signed(&body, WEBHOOK_SECRET, chrono::Utc::now().timestamp());
    let copies = (0..1000).map(|_| deliver(&app, &body, Some(signature.clone())));
    let answers = futures::future::join_all(copies).await;
    assert!(answers.iter().all(|(status, _)| *status == 200), "{:?}", answers.iter().find(|(s, _)| *s != 200));
    let processed = answers.iter().filter(|(_, ack)| ack["status"] == "processed").count();
    assert_eq!(processed, 1);
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM payment_webhook_logs").unwrap(), 1);
    assert_eq!(app.count("ledger_journals").await, 1);
    let id = created["id"].as_str().unwrap();
    let payment: Value = app.get(&format!("/api/payments/{id}/"), &student).await.json().await.unwrap();
    assert_eq!(payment["status"], "completed");
}

#[tokio::test]
async fn the_sweep_settles_payments_whose_webhook_never_came_and_expires_abandoned_ones() {
    use chrono::Duration as Span;
    use domain::usecases::reconciliation::SweepPolicy;
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    app.create_coupon(json!({"code": "HELD", "discount_type": "percentage", "discount_value": "10", "max_uses": 5}))
        .await;
    // Three buyers: a buyer holds a course once.
    let paid = create(&app, &app.token(1000, Role::Student)).await;
    let abandoned = create(&app, &app.token(1001, Role::Student)).await;
    let body = json!({"course_id": 1, "payment_method": "sandbox", "coupon_code": "HELD"});
    let sandbox: Value = app.post("/api/payments/", &app.token(1002, Role::Student), &body).await.json().await.unwrap();
    // Paid at Stripe, but no webhook is registered: only the sweep can learn it.
    let intent = paid["provider_payment_id"].as_str().unwrap();
    assert!(stripe.confirm_as_browser(intent, "pm_card_visa").await.status().is_success());

    let policy = SweepPolicy {
        check_after: Span::zero(),
        expire_after: Span::hours(1),
        lease: Span::zero(),
        batch: 50,
        ..SweepPolicy::default()
    };
    let report = app.state.payments.sweep_open_payments(policy).await.unwrap();
    assert_eq!((report.checked, report.settled, report.expired), (3, 1, 0), "{report:?}");
    let status = |payment: &Value| {
        let path = format!("/api/payments/{}/", payment["id"].as_str().unwrap());
        let app = &app;
        async move {
            app.get(&path, &app.admin()).await.json::<Value>().await.unwrap()["status"].as_str().unwrap().to_owned()
        }
    };
    assert_eq!(status(&paid).await, "completed");
    assert_eq!(status(&abandoned).await, "pending");

    let expire_now = SweepPolicy { expire_after: Span::zero(), ..policy };
    let report = app.state.payments.sweep_open_payments(expire_now).await.unwrap();
    assert_eq!((report.checked, report.expired), (2, 2), "{report:?}");
    assert_eq!(status(&abandoned).await, "expired");
    assert_eq!(status(&sandbox).await, "expired");
    // The abandoned PaymentIntent was cancelled at Stripe, and the coupon
    // use held by the sandbox payment was given back.
    let at_stripe: Value = app
        .client
        .get(format!("{}/v1/payment_intents/{}", stripe.base, abandoned["provider_payment_id"].as_str().unwrap()))
        .bearer_auth("sk_test_local")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(at_stripe["status"], "canceled");
    assert_eq!(app.store.scalar("SELECT times_used::bigint AS n FROM coupons WHERE code = 'HELD'").unwrap(), 0);
    // Nothing is left to sweep.
    assert_eq!(app.state.payments.sweep_open_payments(expire_now).await.unwrap().checked, 0);
}

#[tokio::test]
async fn a_late_failure_event_never_downgrades_a_completed_payment() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    let student = app.token(1000, Role::Student);
    let created = create(&app, &student).await;
    let id = created["id"].as_str().unwrap();
    app.post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "pm_card_visa"})).await;
    let intent = created["provider_payment_id"].as_str().unwrap();
    let late = json!({"id": "evt_late_failure", "object": "event", "type": "payment_intent.payment_failed",
                      "data": {"object": {"id": intent, "object": "payment_intent", "status": "requires_payment_method"}}})
    .to_string();
    let (status, _) = deliver(&app, &late, Some(signed(&late, WEBHOOK_SECRET, chrono::Utc::now().timestamp()))).await;
    assert_eq!(status, 200);
    let payment: Value = app.get(&format!("/api/payments/{id}/"), &student).await.json().await.unwrap();
    assert_eq!(payment["status"], "completed");
    assert_eq!(app.count("ledger_journals").await, 1);
}

#[tokio::test]
async fn a_stripe_payment_is_refunded_at_stripe() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    let student = app.token(1000, Role::Student);
    let created = create(&app, &student).await;
    let id = created["id"].as_str().unwrap();
    app.post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "pm_card_visa"})).await;
    let refund: Value = app
        .post("/api/payments/refunds/", &student, &json!({"payment_id": id, "amount": "10.00", "reason": "partial"}))
        .await
        .json()
        .await
        .unwrap();
    let approved: Value = app
        .post(&format!("/api/payments/refunds/{}/approve/", refund["id"].as_str().unwrap()), &app.admin(), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(approved["status"], "processed", "{approved}");
    assert!(approved["provider_refund_id"].as_str().unwrap().starts_with("re_"));
    assert_eq!(app.store.account_balance("gateway_clearing:stripe".into(), "USD".into(), false).await.unwrap(), 3999);
}

#[tokio::test]
async fn stripe_events_larger_than_other_bodies_are_read_up_to_a_mebibyte() {
    // Stripe's webhooks are served with Stripe; nothing here calls it.
    let app = skillpay_e2e::spawn_app_with(&[
        ("STRIPE_SECRET_KEY", "sk_test_unused"),
        ("STRIPE_API_BASE", "http://127.0.0.1:9"),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
    ])
    .await;
    let event = |id: &str, padding: usize| {
        json!({"id": id, "object": "event", "type": "customer.created",
               "data": {"object": {"id": "cus_1", "object": "customer", "metadata": {"note": "x".repeat(padding)}}}})
        .to_string()
    };
    let now = chrono::Utc::now().timestamp();
    let large = event("evt_large", 300 * 1024);
    let (status, ack) = deliver(&app, &large, Some(signed(&large, WEBHOOK_SECRET, now))).await;
    assert_eq!((status, ack["status"].as_str()), (200, Some("processed")), "a 300 KiB event");
    let huge = event("evt_huge", 1024 * 1024);
    let (status, problem) = deliver(&app, &huge, Some(signed(&huge, WEBHOOK_SECRET, now))).await;
    assert_eq!((status, problem["code"].as_str()), (413, Some("payload_too_large")));
    // Other requests keep their 64 KiB.
    let body = json!({"course_id": 1, "payment_method": "sandbox", "note": "x".repeat(70 * 1024)});
    let res = app.post("/api/payments/", &app.token(1000, domain::usecases::Role::Student), &body).await;
    assert_eq!(res.status(), 413);
}

#[tokio::test]
async fn a_signed_event_with_a_nul_character_is_logged_not_retried_forever() {
    // Stripe's webhooks are served with Stripe; nothing here calls it.
    let app = skillpay_e2e::spawn_app_with(&[
        ("STRIPE_SECRET_KEY", "sk_test_unused"),
        ("STRIPE_API_BASE", "http://127.0.0.1:9"),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
    ])
    .await;
    let body = r#"{"id":"evt_nul","object":"event","type":"customer.created","data":{"object":{"id":"cus_1","name":"a\u0000b"}}}"#;
    let (status, ack) = deliver(&app, body, Some(signed(body, WEBHOOK_SECRET, chrono::Utc::now().timestamp()))).await;
    assert_eq!((status, ack["status"].as_str()), (200, Some("processed")));
}

#[tokio::test]
async fn a_dead_stripe_opens_its_circuit_and_then_fails_fast() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let stripe = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&stripe)
        .await;
    let uri = stripe.uri();
    let app = skillpay_e2e::spawn_app_with(&[
        ("STRIPE_SECRET_KEY", "sk_test_breaker"),
        ("STRIPE_API_BASE", &uri),
        ("SKILLPAY_BREAKER_FAILURES", "2"),
        ("SKILLPAY_BREAKER_COOLDOWN_SECS", "600"),
    ])
    .await;
    app.put_course(1, "10.00", "USD").await;
    let student = app.token(1000, Role::Student);
    let body = json!({"course_id": 1, "payment_method": "stripe"});
    let buy = || app.post("/api/payments/", &student, &body);
    for _ in 0..2 {
        assert_eq!(buy().await.status(), 502);
    }
    let calls = stripe.received_requests().await.unwrap().len();
    let started = std::time::Instant::now();
    let res = buy().await;
    assert_eq!(res.status(), 502);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "gateway_unavailable");
    assert_eq!(stripe.received_requests().await.unwrap().len(), calls, "the open circuit did not call Stripe");
    assert!(started.elapsed() < std::time::Duration::from_millis(500), "failed fast");
    // Other gateways are not affected.
    let sandbox = app.post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "sandbox"})).await;
    assert_eq!(sandbox.status(), 201);
}

#[tokio::test]
async fn the_sweep_reads_the_fee_from_the_charges_balance_transaction() {
    use domain::usecases::reconciliation::SweepPolicy;
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    let student = app.token(1000, Role::Student);
    let created = create(&app, &student).await;
    let id = created["id"].as_str().unwrap();
    app.post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "pm_card_visa"})).await;

    let report = app.state.payments.sweep_open_payments(SweepPolicy::default()).await.unwrap();

    assert_eq!((report.fees_recorded, report.failed.len()), (1, 0), "{report:?}");
    let read: Value = app.get(&format!("/api/payments/{id}/"), &student).await.json().await.unwrap();
    // localstripe's balance transactions carry a fee of 0.
    assert_eq!(read["gateway_fee"], "0.00", "{read}");
}
