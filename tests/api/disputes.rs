//! Disputes driven by Stripe's signed webhooks, against a Stripe stand-in
//! (wiremock) whose dispute object changes as the bank decides. Each event
//! re-reads the dispute, so any delivery order ends in the same state.

use adapters_stripe::sign;
use domain::usecases::Role;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app_with};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "whsec_disputes";

fn intent(status: &str) -> Value {
    json!({"id": "pi_d1", "object": "payment_intent", "status": status, "client_secret": "pi_d1_secret_x"})
}

pub(crate) async fn stripe() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(intent("requires_payment_method")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents/pi_d1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(intent("requires_confirmation")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents/pi_d1/confirm"))
        .respond_with(ResponseTemplate::new(200).set_body_json(intent("succeeded")))
        .mount(&server)
        .await;
    server
}

/// Stripe's dispute object now says `status` (newest mount wins).
pub(crate) async fn dispute_is(server: &MockServer, status: &str, priority: u8) {
    Mock::given(method("GET"))
        .and(path("/v1/disputes/dp_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "dp_1", "object": "dispute", "amount": 4999, "currency": "usd", "reason": "fraudulent",
            "status": status, "payment_intent": "pi_d1", "evidence_details": {"due_by": 1_900_000_000}
        })))
        .with_priority(priority)
        .mount(server)
        .await;
}

pub(crate) async fn paid_app(server: &MockServer) -> (TestApp, String) {
    let app = spawn_app_with(&[
        ("STRIPE_SECRET_KEY", "sk_test_d"),
        ("STRIPE_API_BASE", &server.uri()),
        ("STRIPE_WEBHOOK_SECRET", SECRET),
        ("SKILLPAY_DISPUTE_FEE", "USD:15.00"),
    ])
    .await;
    app.put_course(1, "49.99", "USD").await;
    let student = app.token(1000, Role::Student);
    let created: Value = app
        .post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "stripe"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let done: Value = app
        .post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "pm_card_visa"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["status"], "completed");
    (app, id)
}

pub(crate) async fn deliver(app: &TestApp, event_id: &str, kind: &str) -> u16 {
    let event = json!({"id": event_id, "object": "event", "type": kind, "data": {"object": {"id": "dp_1", "object": "dispute"}}});
    app.deliver_stripe_event(&event, SECRET).await
}

/// Platform revenue, the instructor's (pending and available together:
/// sales are pending, reversals come off available), dispute holds and
/// Stripe clearing.
async fn balances(app: &TestApp) -> [i64; 4] {
    let balance = |account: &'static str| async move {
        app.store.account_balance(account.into(), "USD".into(), false).await.unwrap()
    };
    [
        balance("platform_revenue").await,
        balance("instructor_pending:100").await + balance("instructor_payable:100").await,
        balance("dispute_holds").await,
        balance("gateway_clearing:stripe").await,
    ]
}

async fn payment_status(app: &TestApp, id: &str) -> String {
    let p: Value = app.get(&format!("/api/payments/{id}/"), &app.admin()).await.json().await.unwrap();
    p["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_opened_dispute_holds_the_money_and_a_lost_one_reverses_it_with_the_fee() {
    let server = stripe().await;
    let (app, payment) = paid_app(&server).await;
    dispute_is(&server, "needs_response", 5).await;
    assert_eq!(deliver(&app, "evt_open", "charge.dispute.created").await, 200);
    assert_eq!(payment_status(&app, &payment).await, "disputed");
    // revenue, payable, holds, clearing: fee 10.00 and earnings 39.99 held.
    assert_eq!(balances(&app).await, [0, 0, -4999, 4999]);
    let list: Value = app.get("/api/payments/disputes/", &app.admin()).await.json().await.unwrap();
    assert_eq!(list["data"][0]["status"], "needs_response");
    assert_eq!(list["data"][0]["amount"], "49.99");
    assert!(list["data"][0]["evidence_due_by"].is_string());

    dispute_is(&server, "lost", 1).await;
    assert_eq!(deliver(&app, "evt_lost", "charge.dispute.closed").await, 200);
    assert_eq!(payment_status(&app, &payment).await, "disputed");
    // The money went to the bank; the platform also paid Stripe's 15.00 fee.
    assert_eq!(balances(&app).await, [1500, 0, 0, -1500]);
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
    let events = app.store.scalar("SELECT count(*) AS n FROM outbox_events WHERE event_type LIKE 'dispute.%'").unwrap();
    assert_eq!(events, 2);
    // A late "updated" event changes nothing.
    assert_eq!(deliver(&app, "evt_late", "charge.dispute.updated").await, 200);
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM ledger_journals").unwrap(), 3);
}

#[tokio::test]
async fn events_out_of_order_end_where_the_gateway_is_a_won_dispute_returns_the_payment() {
    let server = stripe().await;
    let (app, payment) = paid_app(&server).await;
    // The bank decided before any event arrived; the "closed" event comes
    // first, the "created" one after.
    dispute_is(&server, "won", 5).await;
    assert_eq!(deliver(&app, "evt_closed", "charge.dispute.closed").await, 200);
    assert_eq!(deliver(&app, "evt_created", "charge.dispute.created").await, 200);
    assert_eq!(payment_status(&app, &payment).await, "completed");
    // Held, then released: back to the sale's balances.
    assert_eq!(balances(&app).await, [-1000, -3999, 0, 4999]);
    let dispute: Value = app.get("/api/payments/disputes/", &app.admin()).await.json().await.unwrap();
    assert_eq!(dispute["data"][0]["status"], "won");
    assert!(dispute["data"][0]["resolved_at"].is_string());
    assert_eq!(app.get("/api/payments/disputes/", &app.token(1000, Role::Student)).await.status(), 403);
}

#[tokio::test]
async fn a_hold_is_released_when_the_charge_is_refunded_and_unknown_disputes_are_acknowledged() {
    let server = stripe().await;
    let (app, payment) = paid_app(&server).await;
    dispute_is(&server, "needs_response", 5).await;
    deliver(&app, "evt_open", "charge.dispute.created").await;
    assert_eq!(balances(&app).await, [0, 0, -4999, 4999]);
    dispute_is(&server, "charge_refunded", 1).await;
    assert_eq!(deliver(&app, "evt_refunded", "charge.dispute.closed").await, 200);
    assert_eq!(balances(&app).await, [-1000, -3999, 0, 4999]);
    assert_eq!(payment_status(&app, &payment).await, "completed");
    let dispute: Value = app.get("/api/payments/disputes/", &app.admin()).await.json().await.unwrap();
    assert_eq!(dispute["data"][0]["status"], "warning_closed");
    // A dispute Stripe does not show us (another integration's) is acknowledged.
    let body = json!({"id": "evt_other", "object": "event", "type": "charge.dispute.created",
                      "data": {"object": {"id": "dp_unknown", "object": "dispute"}}})
    .to_string();
    let signature = sign(body.as_bytes(), SECRET, chrono::Utc::now().timestamp());
    let res = app
        .request(reqwest::Method::POST, "/api/payments/webhooks/stripe/", None)
        .header("Stripe-Signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// Stripe answers `POST /v1/disputes/dp_1{suffix}` with the dispute in
/// `status`, and from then on reads it so.
pub(crate) async fn stripe_moves_to(server: &MockServer, suffix: &str, status: &str, priority: u8) {
    let body = json!({
        "id": "dp_1", "object": "dispute", "amount": 4999, "currency": "usd", "reason": "fraudulent",
        "status": status, "payment_intent": "pi_d1", "evidence_details": {"due_by": 1_900_000_000}
    });
    Mock::given(method("POST"))
        .and(path(format!("/v1/disputes/dp_1{suffix}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
    dispute_is(server, status, priority).await;
}

#[tokio::test]
async fn admins_submit_evidence_and_accept_disputes_at_the_gateway() {
    let server = stripe().await;
    let (app, _payment) = paid_app(&server).await;
    dispute_is(&server, "needs_response", 5).await;
    assert_eq!(deliver(&app, "evt_open", "charge.dispute.created").await, 200);
    let list: Value = app.get("/api/payments/disputes/", &app.admin()).await.json().await.unwrap();
    let id = list["data"][0]["id"].as_str().unwrap().to_owned();

    let evidence = format!("/api/payments/disputes/{id}/evidence/");
    let res = app.post(&evidence, &app.admin(), &json!({"explanation": " "})).await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "explanation");
    let body = json!({"explanation": "The student watched 9 of 10 lessons.", "customer_email": "s@example.com"});
    assert_eq!(app.post(&evidence, &app.token(100, Role::Instructor), &body).await.status(), 403);

    stripe_moves_to(&server, "", "under_review", 4).await;
    let reviewed: Value = app.post(&evidence, &app.admin(), &body).await.json().await.unwrap();
    assert_eq!(reviewed["status"], "under_review");
    let sent = server.received_requests().await.unwrap();
    let form = sent.iter().find(|r| r.method.as_str() == "POST" && r.url.path() == "/v1/disputes/dp_1").unwrap();
    let form = String::from_utf8_lossy(&form.body);
    assert!(form.contains("submit=true") && form.contains("uncategorized_text"), "{form}");

    stripe_moves_to(&server, "/close", "lost", 3).await;
    let lost: Value =
        app.post(&format!("/api/payments/disputes/{id}/accept/"), &app.admin(), &json!({})).await.json().await.unwrap();
    assert_eq!(lost["status"], "lost");
    // Lost: held money gone, 15.00 fee paid by the platform.
    assert_eq!(balances(&app).await, [1500, 0, 0, -1500]);
    let res = app.post(&evidence, &app.admin(), &body).await;
    assert_eq!(res.status(), 409, "a decided dispute takes no more evidence");
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
}

async fn sandbox_sale(app: &TestApp, course: i64, price: &str) -> String {
    app.sandbox_sale(course, price).await
}

#[tokio::test]
async fn admins_open_and_resolve_disputes_the_gateways_do_not_know() {
    let app = skillpay_e2e::spawn_app().await;
    let lost = sandbox_sale(&app, 1, "100.00").await;
    let won = sandbox_sale(&app, 2, "50.00").await;
    let open = |payment: &str, amount: &str| json!({"payment_id": payment, "amount": amount, "reason": "bank recall"});

    let res = app.post("/api/payments/disputes/", &app.token(1000, Role::Student), &open(&lost, "30.00")).await;
    assert_eq!(res.status(), 403);
    let res = app.post("/api/payments/disputes/", &app.admin(), &open(&lost, "100.01")).await;
    assert_eq!(res.status(), 422);
    let res = app.post("/api/payments/disputes/", &app.admin(), &open(&lost, "30.00")).await;
    assert_eq!(res.status(), 201);
    let dispute: Value = res.json().await.unwrap();
    assert_eq!((dispute["status"].as_str(), dispute["amount"].as_str()), (Some("needs_response"), Some("30.00")));
    let payment: Value = app.get(&format!("/api/payments/{lost}/"), &app.admin()).await.json().await.unwrap();
    assert_eq!(payment["status"], "disputed");
    let held = app.store.account_balance("dispute_holds".into(), "USD".into(), false).await.unwrap();
    assert_eq!(held, -3000);

    let id = dispute["id"].as_str().unwrap();
    let res =
        app.post(&format!("/api/payments/disputes/{id}/evidence/"), &app.admin(), &json!({"explanation": "x"})).await;
    assert_eq!(res.status(), 409, "no gateway knows an admin's dispute");
    let res =
        app.post(&format!("/api/payments/disputes/{id}/resolve/"), &app.admin(), &json!({"outcome": "maybe"})).await;
    assert_eq!(res.status(), 422);
    let decided: Value = app
        .post(&format!("/api/payments/disputes/{id}/resolve/"), &app.admin(), &json!({"outcome": "lost"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(decided["status"], "lost");
    let res =
        app.post(&format!("/api/payments/disputes/{id}/resolve/"), &app.admin(), &json!({"outcome": "won"})).await;
    assert_eq!(res.status(), 409, "decided once");

    let other: Value =
        app.post("/api/payments/disputes/", &app.admin(), &open(&won, "50.00")).await.json().await.unwrap();
    let path = format!("/api/payments/disputes/{}/resolve/", other["id"].as_str().unwrap());
    let released: Value = app.post(&path, &app.admin(), &json!({"outcome": "won"})).await.json().await.unwrap();
    assert_eq!(released["status"], "won");
    let payment: Value = app.get(&format!("/api/payments/{won}/"), &app.admin()).await.json().await.unwrap();
    assert_eq!(payment["status"], "completed", "a won dispute returns the payment");
    // Only the lost 30.00 left: holds empty, clearing down by it.
    assert_eq!(app.store.account_balance("dispute_holds".into(), "USD".into(), false).await.unwrap(), 0);
    assert_eq!(
        app.store.account_balance("gateway_clearing:sandbox".into(), "USD".into(), false).await.unwrap(),
        12_000
    );
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
}
