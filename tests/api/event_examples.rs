//! docs/event-examples.md shows one event of every type exactly as an
//! endpoint receives it, taken from this test's own purchases, refunds,
//! payouts, disputes and reconciliation. The test fails when a documented
//! example no longer has the shape of what Skillpay sends (a field added,
//! renamed, removed or of another kind) or a type has no example;
//! `SKILLPAY_WRITE_EVENT_EXAMPLES=1` writes the file afresh from the run.

use std::collections::BTreeMap;

use chrono::Duration;
use domain::ids::EventId;
use domain::outbox::EventType;
use domain::reconciliation::SettledGateway;
use domain::usecases::Role;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app_with};

use crate::disputes::{deliver, dispute_is, paid_app, stripe, stripe_moves_to};
use crate::settlement::{Books, a_month_of_stripe, app_on, today};

/// base64 of 32 bytes: seals payout destinations.
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const DOC: &str = "docs/event-examples.md";
const WRITE: &str = "SKILLPAY_WRITE_EVENT_EXAMPLES";

/// The first event of each type an app wrote, as an endpoint receives it.
async fn collect(app: &TestApp, into: &mut BTreeMap<String, Value>) {
    app.state.receipts.number_pending().await.unwrap();
    for event in app.store.outbox_events().await.unwrap() {
        let body = domain::events::event_body(
            EventId::from_uuid(event.id),
            &event.event_type,
            event.created_at,
            &event.payload,
        );
        into.entry(event.event_type).or_insert_with(|| serde_json::from_slice(&body).unwrap());
    }
}

async fn ok(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let res = app.post(path, token, &body).await;
    let status = res.status();
    let answer: Value = res.json().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

/// A created sandbox payment of course 1 by `user`, and its id.
async fn created(app: &TestApp, user: i64, extra: Value) -> String {
    let mut body = json!({"course_id": 1, "payment_method": "sandbox"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let payment = ok(app, "/api/payments/", &app.token(user, Role::Student), body).await;
    payment["id"].as_str().unwrap().to_owned()
}

async fn confirmed(app: &TestApp, user: i64, id: &str, token: &str) -> Value {
    let path = format!("/api/payments/{id}/confirm/");
    let res = app.post(&path, &app.token(user, Role::Student), &json!({"payment_token": token})).await;
    res.json().await.unwrap()
}

/// Payments of every outcome, refunds approved, rejected and waiting for a
/// second admin, and payouts of every outcome, in the sandbox.
async fn sandbox_life(into: &mut BTreeMap<String, Value>) {
    let app = spawn_app_with(&[
        ("SKILLPAY_ENCRYPTION_KEY", KEY),
        ("SKILLPAY_PAYOUT_HOLD_DAYS", "0"),
        ("SKILLPAY_SECOND_APPROVAL_ABOVE", "USD:50.00"),
    ])
    .await;
    app.put_course(1, "60.00", "USD").await;
    app.create_coupon(json!({"code": "LAUNCH", "discount_type": "percentage", "discount_value": "25", "max_uses": 1}))
        .await;
    let rule = json!({"name": "second use of a card within a day", "subject": "card_fingerprint",
        "signal": "attempts", "limit": 1, "window_seconds": 86400, "action": "review"});
    ok(&app, "/api/payments/admin/fraud/rules/", &app.admin(), rule).await;

    let sale = created(&app, 1000, json!({"coupon_code": "LAUNCH", "billing_email": "ada@example.com"})).await;
    assert_eq!(confirmed(&app, 1000, &sale, "sandbox_success:ada1").await["status"], "completed");
    let held = created(&app, 1001, json!({})).await;
    assert_eq!(confirmed(&app, 1001, &held, "sandbox_success:ada1").await["status"], "in_review");
    let declined = created(&app, 1002, json!({})).await;
    assert_eq!(confirmed(&app, 1002, &declined, "sandbox_decline").await["status"], "failed");
    let cancelled = created(&app, 1003, json!({})).await;
    ok(&app, &format!("/api/payments/{cancelled}/cancel/"), &app.token(1003, Role::Student), json!({})).await;
    let expired = created(&app, 1004, json!({})).await;
    app.state.payments.expire(expired.parse().unwrap()).await.unwrap();

    // The buyer asks for their money back; an admin approves.
    let student = app.token(1000, Role::Student);
    let refund =
        ok(&app, "/api/payments/refunds/", &student, json!({"payment_id": sale, "reason": "changed mind"})).await;
    let approve = format!("/api/payments/refunds/{}/approve/", refund["id"].as_str().unwrap());
    ok(&app, &approve, &app.admin(), json!({"note": "within 14 days"})).await;

    // Rejected, and one above the two-admin threshold.
    let second = app.sandbox_sale(1, "60.00").await;
    let refund = ok(
        &app,
        "/api/payments/refunds/",
        &app.admin(),
        json!({"payment_id": second, "amount": "20.00",
        "reason": "partial"}),
    )
    .await;
    let reject = format!("/api/payments/refunds/{}/reject/", refund["id"].as_str().unwrap());
    ok(&app, &reject, &app.admin(), json!({"reason": "outside the refund window"})).await;
    let large =
        ok(&app, "/api/payments/refunds/", &app.admin(), json!({"payment_id": second, "reason": "goodwill"})).await;
    let approve = format!("/api/payments/refunds/{}/approve/", large["id"].as_str().unwrap());
    assert_eq!(app.post(&approve, &app.admin(), &json!({})).await.status(), 409, "a second admin must approve");

    // Payouts: paid, rejected, cancelled, failed.
    for _ in 0..3 {
        app.sandbox_sale(1, "60.00").await;
    }
    app.state.payouts.release_due_earnings(100).await.unwrap();
    let instructor = app.token(100, Role::Instructor);
    let bank = json!({"account_holder": "Ada Lovelace", "account_number": "DE89 3704 0044 0532 0130 00"});
    let request = json!({"amount": "15.00", "currency": "USD", "method": "bank_transfer", "destination": bank});
    let mut payouts = Vec::new();
    for _ in 0..4 {
        let payout = ok(&app, "/api/payments/payouts/", &instructor, request.clone()).await;
        payouts.push(format!("/api/payments/payouts/{}/", payout["id"].as_str().unwrap()));
    }
    ok(&app, &format!("{}approve/", payouts[0]), &app.admin(), json!({})).await;
    ok(&app, &format!("{}mark-paid/", payouts[0]), &app.admin(), json!({"reference": "WIRE-2026-0042"})).await;
    ok(&app, &format!("{}reject/", payouts[1]), &app.admin(), json!({"reason": "account under review"})).await;
    ok(&app, &format!("{}cancel/", payouts[2]), &instructor, json!({})).await;
    ok(&app, &format!("{}approve/", payouts[3]), &app.admin(), json!({})).await;
    ok(&app, &format!("{}mark-failed/", payouts[3]), &app.admin(), json!({"reason": "account closed"})).await;
    collect(&app, into).await;
}

/// A Stripe refund the bank refuses, then a dispute from opening to close.
async fn stripe_life(into: &mut BTreeMap<String, Value>) {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let server = stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "re_f1", "object": "refund",
            "status": "failed", "failure_reason": "expired_or_canceled_card", "amount": 1000, "currency": "usd"})))
        .mount(&server)
        .await;
    let (app, payment) = paid_app(&server).await;
    let refund = ok(
        &app,
        "/api/payments/refunds/",
        &app.admin(),
        json!({"payment_id": payment, "amount": "10.00", "reason": "one lesson"}),
    )
    .await;
    let approve = format!("/api/payments/refunds/{}/approve/", refund["id"].as_str().unwrap());
    app.post(&approve, &app.admin(), &json!({})).await;

    dispute_is(&server, "needs_response", 5).await;
    assert_eq!(deliver(&app, "evt_open", "charge.dispute.created").await, 200);
    let list: Value = app.get("/api/payments/disputes/", &app.admin()).await.json().await.unwrap();
    let id = list["data"][0]["id"].as_str().unwrap().to_owned();
    stripe_moves_to(&server, "", "under_review", 4).await;
    let body = json!({"explanation": "The student watched 9 of 10 lessons."});
    ok(&app, &format!("/api/payments/disputes/{id}/evidence/"), &app.admin(), body).await;
    stripe_moves_to(&server, "/close", "lost", 3).await;
    ok(&app, &format!("/api/payments/disputes/{id}/accept/"), &app.admin(), json!({})).await;
    collect(&app, into).await;
}

/// A month of Stripe's books read against the ledger.
async fn reconciliation(into: &mut BTreeMap<String, Value>) {
    let books = Books::start().await;
    let (app, stripe, transfers) = app_on(&books).await;
    a_month_of_stripe(&app, &stripe, &transfers, &books).await;
    let (since, until) = (today() - Duration::days(30), today() + Duration::days(1));
    app.state.settlement.reconcile_days(SettledGateway::Stripe, since, until).await.unwrap();
    collect(&app, into).await;
}

/// What a JSON value looks like: its fields and their kinds, not values.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(items) => Value::Array(items.first().map(shape).into_iter().collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => json!("null"),
    }
}

/// The documented examples, by type.
fn documented(text: &str) -> BTreeMap<String, Value> {
    text.split("\n## `")
        .skip(1)
        .filter_map(|section| {
            let (name, rest) = section.split_once('`')?;
            let json = rest.split("```json\n").nth(1)?.split("\n```").next()?;
            Some((name.to_owned(), serde_json::from_str(json).unwrap_or(Value::Null)))
        })
        .collect()
}

fn write(examples: &BTreeMap<String, Value>) -> String {
    let mut text = String::from(
        "# Event examples\n\n\
         One event of every type, exactly as an endpoint receives it (the\n\
         body of the `POST`; see [events.md](events.md) for what each means and\n\
         how it is delivered). They are taken from the end-to-end test\n\
         `tests/api/event_examples.rs`, which fails when an example here no\n\
         longer has the shape of what Skillpay sends. After changing an\n\
         object, write them afresh with\n\
         `SKILLPAY_WRITE_EVENT_EXAMPLES=1 bash scripts/with-test-db.sh cargo test --all-features --test api -- event_examples`.\n",
    );
    for event_type in EventType::ALL {
        let name = event_type.as_str();
        if let Some(example) = examples.get(name) {
            let pretty = serde_json::to_string_pretty(example).unwrap();
            text.push_str(&format!("\n## `{name}`\n\n```json\n{pretty}\n```\n"));
        }
    }
    text
}

#[tokio::test]
async fn every_event_type_is_documented_with_an_example_of_the_shape_sent() {
    let mut sent = BTreeMap::new();
    sandbox_life(&mut sent).await;
    stripe_life(&mut sent).await;
    reconciliation(&mut sent).await;
    let missing: Vec<&str> =
        EventType::ALL.iter().map(EventType::as_str).filter(|name| !sent.contains_key(*name)).collect();
    assert!(missing.is_empty(), "the scenarios sent no {missing:?}");

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DOC);
    if std::env::var(WRITE).is_ok_and(|v| v == "1") {
        std::fs::write(&path, write(&sent)).unwrap();
    }
    let docs = documented(&std::fs::read_to_string(&path).unwrap_or_default());
    let stale: Vec<&str> = sent
        .iter()
        .filter(|(name, example)| docs.get(*name).map(shape) != Some(shape(example)))
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(stale.is_empty(), "{DOC} has no example of the shape sent for {stale:?}: run with {WRITE}=1");
}
