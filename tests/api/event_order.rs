//! Webhook deliveries in every order. The gateway's world is fixed: the
//! payment succeeded, a 20.00 refund went through, a dispute was opened and
//! decided. Skillpay hears of it through four signed events delivered in
//! each of the 24 orders (and redelivered while it answers an error, as
//! Stripe does); every order must end in the same state and ledger.

use adapters_stripe::sign;
use domain::usecases::Role;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app_with};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "whsec_order";

async fn stripe(dispute_status: &str) -> MockServer {
    let server = MockServer::start().await;
    let intent = |status: &str| json!({"id": "pi_o1", "object": "payment_intent", "status": status, "client_secret": "pi_o1_secret_x"});
    let routes = [
        ("POST", "/v1/payment_intents", intent("requires_payment_method")),
        ("POST", "/v1/payment_intents/pi_o1", intent("requires_confirmation")),
        ("POST", "/v1/payment_intents/pi_o1/confirm", intent("succeeded")),
        ("GET", "/v1/payment_intents/pi_o1", intent("succeeded")),
        // The refund is pending when asked for, and has gone through since.
        ("POST", "/v1/refunds", json!({"id": "re_o1", "object": "refund", "status": "pending"})),
        ("GET", "/v1/refunds/re_o1", json!({"id": "re_o1", "object": "refund", "status": "succeeded"})),
        (
            "GET",
            "/v1/disputes/dp_o1",
            json!({"id": "dp_o1", "object": "dispute", "amount": 3000, "currency": "usd", "reason": "fraudulent",
                   "status": dispute_status, "payment_intent": "pi_o1", "evidence_details": {"due_by": 1_900_000_000}}),
        ),
    ];
    for (verb, route, body) in routes {
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    server
}

/// The four events: (id, type, object).
fn events() -> [(&'static str, &'static str, Value); 4] {
    [
        ("evt_paid", "payment_intent.succeeded", json!({"id": "pi_o1", "object": "payment_intent"})),
        ("evt_refunded", "refund.updated", json!({"id": "re_o1", "object": "refund"})),
        ("evt_opened", "charge.dispute.created", json!({"id": "dp_o1", "object": "dispute"})),
        ("evt_closed", "charge.dispute.closed", json!({"id": "dp_o1", "object": "dispute"})),
    ]
}

async fn deliver(app: &TestApp, (id, kind, object): &(&str, &str, Value)) -> u16 {
    let body = json!({"id": id, "object": "event", "type": kind, "data": {"object": object}}).to_string();
    let signature = sign(body.as_bytes(), SECRET, chrono::Utc::now().timestamp());
    app.request(reqwest::Method::POST, "/api/payments/webhooks/stripe/", None)
        .header("Stripe-Signature", signature)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A completed 100.00 payment with a 20.00 refund left processing at Stripe.
async fn world(server: &MockServer) -> (TestApp, String) {
    let app = spawn_app_with(&[
        ("STRIPE_SECRET_KEY", "sk_test_o"),
        ("STRIPE_API_BASE", &server.uri()),
        ("STRIPE_WEBHOOK_SECRET", SECRET),
    ])
    .await;
    app.put_course(1, "100.00", "USD").await;
    let student = app.token(1000, Role::Student);
    let created: Value = app
        .post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "stripe"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    app.post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "pm_card_visa"})).await;
    let refund: Value = app
        .post("/api/payments/refunds/", &app.admin(), &json!({"payment_id": id, "amount": "20.00", "reason": "partly"}))
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
    assert_eq!(approved["status"], "processing");
    (app, id)
}

/// What must not depend on the order: statuses and every kept balance.
async fn outcome(app: &TestApp, payment: &str) -> Value {
    let p: Value = app.get(&format!("/api/payments/{payment}/"), &app.admin()).await.json().await.unwrap();
    let refunds: Value = app.get("/api/payments/refunds/", &app.admin()).await.json().await.unwrap();
    let disputes: Value = app.get("/api/payments/disputes/", &app.admin()).await.json().await.unwrap();
    let mut balances = Vec::new();
    for account in [
        "platform_revenue",
        "instructor_pending:100",
        "instructor_payable:100",
        "dispute_holds",
        "gateway_clearing:stripe",
    ] {
        balances.push(app.store.account_balance(account.into(), "USD".into(), false).await.unwrap());
    }
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
    json!({
        "payment": [p["status"], p["refunded_amount"]],
        "refund": refunds["data"][0]["status"],
        "dispute": [disputes["data"].as_array().unwrap().len(), disputes["data"][0]["status"]],
        "balances": balances,
    })
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for rest in permutations(n - 1) {
        for at in 0..=rest.len() {
            let mut order = rest.clone();
            order.insert(at, n - 1);
            out.push(order);
        }
    }
    out
}

async fn every_order_ends_alike(dispute_status: &str) -> Value {
    let server = stripe(dispute_status).await;
    let mut outcomes = Vec::new();
    for order in permutations(4) {
        let (app, payment) = world(&server).await;
        let events = events();
        let mut pending: Vec<usize> = order.clone();
        // Deliver in this order; redeliver what failed, as the gateway does.
        for _round in 0..4 {
            let mut failed = Vec::new();
            for &index in &pending {
                if deliver(&app, &events[index]).await >= 300 {
                    failed.push(index);
                }
            }
            pending = failed;
        }
        assert!(pending.is_empty(), "order {order:?}: events {pending:?} never processed");
        outcomes.push((order, outcome(&app, &payment).await));
        app.stop().await;
    }
    let first = outcomes[0].1.clone();
    for (order, outcome) in &outcomes {
        assert_eq!(outcome, &first, "order {order:?} ended elsewhere");
    }
    first
}

#[tokio::test]
async fn every_delivery_order_of_a_lost_dispute_ends_in_the_same_state_and_ledger() {
    let end = every_order_ends_alike("lost").await;
    assert_eq!(end["refund"], "processed");
    assert_eq!(end["dispute"], json!([1, "lost"]));
    assert_eq!(end["payment"], json!(["disputed", "20.00"]));
}

#[tokio::test]
async fn every_delivery_order_of_a_won_dispute_ends_in_the_same_state_and_ledger() {
    let end = every_order_ends_alike("won").await;
    assert_eq!(end["refund"], "processed");
    assert_eq!(end["dispute"], json!([1, "won"]));
    assert_eq!(end["payment"], json!(["partially_refunded", "20.00"]));
}
