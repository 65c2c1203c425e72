//! Payouts end to end through the gateway stand-ins: a PayPal Payouts batch
//! settled by PayPal's verified webhook, and a Stripe Connect transfer
//! reversed by Stripe's signed `transfer.reversed` event (the money comes
//! back to the instructor's balance). Bodies follow PayPal's Payouts v1 spec
//! and Stripe's transfer fixture.

use adapters_stripe::sign;
use domain::usecases::Role;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app_with};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const BATCH: &str = "5UXD2E8A7EBQJ";
const STRIPE_SECRET: &str = "whsec_payouts";

/// A released 100.00 sandbox sale of instructor 100 (80.00 available).
async fn earned(app: &TestApp) {
    app.put_course(1, "100.00", "USD").await;
    let student = app.token(1000, Role::Student);
    let created: Value = app
        .post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "sandbox"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    app.post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "sandbox_success"})).await;
    assert_eq!(app.state.payouts.release_due_earnings(10).await.unwrap(), 1);
}

async fn request(app: &TestApp, method: &str, destination: Value) -> Value {
    let body = json!({"amount": "30.00", "currency": "USD", "method": method, "destination": destination});
    let res = app.post("/api/payments/payouts/", &app.token(100, Role::Instructor), &body).await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn approve(app: &TestApp, payout: &Value) -> Value {
    let path = format!("/api/payments/payouts/{}/approve/", payout["id"].as_str().unwrap());
    let res = app.post(&path, &app.admin(), &json!({})).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn usd_balance(app: &TestApp) -> Value {
    let body: Value =
        app.get("/api/payments/payouts/balance/", &app.token(100, Role::Instructor)).await.json().await.unwrap();
    body["balances"][0].clone()
}

fn paypal_batch(transaction_status: &str) -> Value {
    json!({
        "batch_header": {"payout_batch_id": BATCH, "batch_status": "SUCCESS",
            "sender_batch_header": {"sender_batch_id": "po_x", "email_subject": "You have a payout from Skillpay"},
            "amount": {"currency": "USD", "value": "30.00"}},
        "items": [{"payout_item_id": "8AELMXH8UB2P8", "transaction_status": transaction_status, "payout_batch_id": BATCH,
            "payout_item": {"recipient_type": "EMAIL", "amount": {"currency": "USD", "value": "30.00"},
                "receiver": "teacher@example.com", "sender_item_id": "po_x"}}]
    })
}

#[tokio::test]
async fn a_paypal_payout_is_paid_when_paypals_verified_webhook_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "A21AAtest", "token_type": "Bearer", "expires_in": 32400, "app_id": "APP-1", "nonce": "n", "scope": "s"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payments/payouts"))
        .and(body_string_contains("\"receiver\":\"teacher@example.com\""))
        .and(body_string_contains("\"value\":\"30.00\""))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "batch_header": {"payout_batch_id": BATCH, "batch_status": "PENDING",
                "sender_batch_header": {"sender_batch_id": "po_x", "email_subject": "You have a payout from Skillpay"}},
            "links": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/payments/payouts/{BATCH}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(paypal_batch("SUCCESS")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/notifications/verify-webhook-signature"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"verification_status": "SUCCESS"})))
        .mount(&server)
        .await;
    let uri = server.uri();
    let app = spawn_app_with(&[
        ("PAYPAL_CLIENT_ID", "client-id"),
        ("PAYPAL_CLIENT_SECRET", "client-secret"),
        ("PAYPAL_API_BASE", &uri),
        ("PAYPAL_WEBHOOK_ID", "WH-ID-1"),
        ("SKILLPAY_ENCRYPTION_KEY", KEY),
        ("SKILLPAY_PAYOUT_HOLD_DAYS", "0"),
    ])
    .await;
    earned(&app).await;
    let payout = request(&app, "paypal", json!({"email": "teacher@example.com"})).await;
    let sent = approve(&app, &payout).await;
    assert_eq!((sent["status"].as_str(), sent["transaction_id"].as_str()), (Some("processing"), Some(BATCH)));

    let event = json!({
        "id": "WH-PAYOUT-1", "event_version": "1.0", "create_time": "2026-11-26T10:00:06Z",
        "resource_type": "payouts_item", "event_type": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED",
        "summary": "A payout item has succeeded",
        "resource": {"payout_item_id": "8AELMXH8UB2P8", "transaction_status": "SUCCESS", "payout_batch_id": BATCH}
    })
    .to_string();
    let res = app
        .request(reqwest::Method::POST, "/api/payments/webhooks/paypal/", None)
        .header("content-type", "application/json")
        .header("paypal-transmission-id", "69cd13f0-d67a-11e5-baa3-778b53f4ae56")
        .header("paypal-transmission-time", chrono::Utc::now().to_rfc3339())
        .header("paypal-transmission-sig", "c2lnbmF0dXJl")
        .header("paypal-cert-url", "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42")
        .header("paypal-auth-algo", "SHA256withRSA")
        .body(event)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let read: Value = app
        .get(&format!("/api/payments/payouts/{}/", payout["id"].as_str().unwrap()), &app.admin())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["status"], "paid");
    let balance = usd_balance(&app).await;
    assert_eq!((balance["available"].as_str(), balance["paid_out"].as_str()), (Some("50.00"), Some("30.00")));
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
}

#[tokio::test]
async fn a_reversed_stripe_transfer_fails_the_payout_and_returns_the_money() {
    let server = MockServer::start().await;
    let transfer = |reversed: bool| {
        json!({"id": "tr_1Pay", "object": "transfer", "amount": 3000, "currency": "usd", "destination": "acct_1Teacher",
               "reversed": reversed, "amount_reversed": if reversed { 3000 } else { 0 }, "metadata": {}})
    };
    Mock::given(method("GET"))
        .and(path("/v1/transfers/tr_1Pay"))
        .respond_with(ResponseTemplate::new(200).set_body_json(transfer(true)))
        .mount(&server)
        .await;
    let uri = server.uri();
    let app = spawn_app_with(&[
        ("STRIPE_SECRET_KEY", "sk_test_payouts"),
        ("STRIPE_API_BASE", &uri),
        ("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET),
        ("SKILLPAY_ENCRYPTION_KEY", KEY),
        ("SKILLPAY_PAYOUT_HOLD_DAYS", "0"),
    ])
    .await;
    earned(&app).await;
    let payout = request(&app, "stripe_connect", json!({"account_id": "acct_1Teacher"})).await;
    // The payout's id is the transfer's idempotency key: a retried approval
    // can never transfer twice.
    Mock::given(method("POST"))
        .and(path("/v1/transfers"))
        .and(body_string_contains("destination=acct_1Teacher"))
        .and(body_string_contains("amount=3000"))
        .and(header("Idempotency-Key", payout["id"].as_str().unwrap()))
        .respond_with(ResponseTemplate::new(200).set_body_json(transfer(false)))
        .expect(1)
        .mount(&server)
        .await;
    let paid = approve(&app, &payout).await;
    assert_eq!((paid["status"].as_str(), paid["transaction_id"].as_str()), (Some("paid"), Some("tr_1Pay")));
    assert_eq!(usd_balance(&app).await["paid_out"], "30.00");

    let body = json!({"id": "evt_rev", "object": "event", "type": "transfer.reversed",
        "data": {"object": {"id": "tr_1Pay", "object": "transfer"}}})
    .to_string();
    let signature = sign(body.as_bytes(), STRIPE_SECRET, chrono::Utc::now().timestamp());
    let res = app
        .request(reqwest::Method::POST, "/api/payments/webhooks/stripe/", None)
        .header("Stripe-Signature", signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let read: Value = app
        .get(&format!("/api/payments/payouts/{}/", payout["id"].as_str().unwrap()), &app.admin())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((read["status"].as_str(), read["failure_reason"].as_str()), (Some("failed"), Some("transfer reversed")));
    let balance = usd_balance(&app).await;
    assert_eq!((balance["available"].as_str(), balance["paid_out"].as_str()), (Some("80.00"), Some("0.00")));
    assert_eq!(app.store.account_balance("payout_funds:stripe_connect".into(), "USD".into(), false).await.unwrap(), 0);
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
}
