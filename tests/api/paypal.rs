//! A PayPal purchase end to end: the order is created at a PayPal stand-in
//! (wiremock with bodies shaped like PayPal's Orders v2 and Webhooks v1
//! specs), the buyer approves, PayPal's signed webhook arrives, it is
//! verified through PayPal's verify call, the order is captured and the
//! payment completes.

use domain::usecases::Role;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app_with};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const ORDER: &str = "5O190127TN364715T";

pub(crate) async fn paypal() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"scope": "https://uri.paypal.com/services/payments", "access_token": "A21AAtest", "token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": 32400, "nonce": "n"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/checkout/orders"))
        .and(body_string_contains("\"intent\":\"CAPTURE\""))
        .and(body_string_contains("\"value\":\"49.99\""))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": ORDER, "status": "PAYER_ACTION_REQUIRED",
            "links": [
                {"href": format!("https://api-m.sandbox.paypal.com/v2/checkout/orders/{ORDER}"), "rel": "self", "method": "GET"},
                {"href": format!("https://www.sandbox.paypal.com/checkoutnow?token={ORDER}"), "rel": "payer-action", "method": "GET"}
            ]
        })))
        .mount(&server)
        .await;
    server
}

pub(crate) async fn app_on(paypal: &MockServer, webhook_id: Option<&str>) -> TestApp {
    let mut settings = vec![
        ("PAYPAL_CLIENT_ID", "client-id".to_owned()),
        ("PAYPAL_CLIENT_SECRET", "client-secret".to_owned()),
        ("PAYPAL_API_BASE", paypal.uri()),
    ];
    if let Some(id) = webhook_id {
        settings.push(("PAYPAL_WEBHOOK_ID", id.to_owned()));
    }
    let borrowed: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app_with(&borrowed).await;
    app.put_course(1, "49.99", "USD").await;
    app
}

pub(crate) fn approved_event() -> String {
    json!({
        "id": "WH-2WR32451HC0233532-67976317FL4543714",
        "event_version": "1.0",
        "create_time": "2026-11-26T07:00:00.000Z",
        "resource_type": "checkout-order",
        "event_type": "CHECKOUT.ORDER.APPROVED",
        "summary": "An order has been approved by buyer",
        "resource": {"id": ORDER, "status": "APPROVED", "intent": "CAPTURE"}
    })
    .to_string()
}

pub(crate) async fn deliver(app: &TestApp, body: &str) -> (u16, Value) {
    let res = app
        .request(reqwest::Method::POST, "/api/payments/webhooks/paypal/", None)
        .header("content-type", "application/json")
        .header("paypal-transmission-id", "69cd13f0-d67a-11e5-baa3-778b53f4ae55")
        .header("paypal-transmission-time", chrono::Utc::now().to_rfc3339())
        .header("paypal-transmission-sig", "c2lnbmF0dXJl")
        .header("paypal-cert-url", "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42")
        .header("paypal-auth-algo", "SHA256withRSA")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_approved_paypal_order_is_captured_from_its_verified_webhook() {
    let server = paypal().await;
    Mock::given(method("POST"))
        .and(path("/v1/notifications/verify-webhook-signature"))
        .and(body_string_contains("\"webhook_id\":\"WH-ID-1\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"verification_status": "SUCCESS"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v2/checkout/orders/{ORDER}/capture")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": ORDER, "status": "COMPLETED",
            "purchase_units": [{"reference_id": "default", "payments": {"captures": [{
                "id": "3C679366HH908993F", "status": "COMPLETED",
                "amount": {"currency_code": "USD", "value": "49.99"}, "final_capture": true
            }]}}],
            "links": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    let app = app_on(&server, Some("WH-ID-1")).await;
    let student = app.token(1000, Role::Student);
    let res = app.post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "paypal"})).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["provider_payment_id"], ORDER);
    assert_eq!(created["next_action"]["type"], "redirect");
    assert!(created["next_action"]["url"].as_str().unwrap().contains(ORDER));

    let (status, ack) = deliver(&app, &approved_event()).await;
    assert_eq!((status, ack["status"].as_str()), (200, Some("processed")), "{ack}");
    let id = created["id"].as_str().unwrap();
    let payment: Value = app.get(&format!("/api/payments/{id}/"), &student).await.json().await.unwrap();
    assert_eq!(payment["status"], "completed");
    assert_eq!(app.store.account_balance("gateway_clearing:paypal".into(), "USD".into(), false).await.unwrap(), 4999);
    // The same event again is acknowledged without a second capture.
    let (status, ack) = deliver(&app, &approved_event()).await;
    assert_eq!((status, ack["status"].as_str()), (200, Some("duplicate")));
}

#[tokio::test]
async fn a_paypal_webhook_paypal_does_not_verify_is_refused_and_nothing_is_captured() {
    let server = paypal().await;
    Mock::given(method("POST"))
        .and(path("/v1/notifications/verify-webhook-signature"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"verification_status": "FAILURE"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v2/checkout/orders/{ORDER}/capture")))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let app = app_on(&server, Some("WH-ID-1")).await;
    let student = app.token(1000, Role::Student);
    app.post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "paypal"})).await;
    let (status, problem) = deliver(&app, &approved_event()).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("webhook_rejected")));
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM payment_webhook_logs").unwrap(), 0);
}

#[tokio::test]
async fn without_a_webhook_id_paypal_webhooks_fail_closed() {
    let server = paypal().await;
    let app = app_on(&server, None).await;
    let (status, problem) = deliver(&app, &approved_event()).await;
    assert_eq!((status, problem["code"].as_str()), (503, Some("webhook_not_configured")));
}

#[tokio::test]
async fn an_approval_whose_webhook_was_lost_is_captured_by_the_sweep() {
    use chrono::Duration as Span;
    use domain::usecases::reconciliation::SweepPolicy;
    let server = paypal().await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/checkout/orders/{ORDER}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": ORDER, "status": "APPROVED", "intent": "CAPTURE", "links": []})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v2/checkout/orders/{ORDER}/capture")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": ORDER, "status": "COMPLETED",
            "purchase_units": [{"payments": {"captures": [{"id": "3C679366HH908993F", "status": "COMPLETED"}]}}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let app = app_on(&server, Some("WH-ID-1")).await;
    let student = app.token(1000, Role::Student);
    let created: Value = app
        .post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "paypal"}))
        .await
        .json()
        .await
        .unwrap();
    let policy = SweepPolicy {
        check_after: Span::zero(),
        expire_after: Span::hours(1),
        lease: Span::zero(),
        batch: 10,
        ..SweepPolicy::default()
    };
    let report = app.state.payments.sweep_open_payments(policy).await.unwrap();
    assert_eq!((report.checked, report.settled), (1, 1), "{report:?}");
    let id = created["id"].as_str().unwrap();
    let payment: Value = app.get(&format!("/api/payments/{id}/"), &student).await.json().await.unwrap();
    assert_eq!(payment["status"], "completed");
}

/// The stand-in verifies every webhook, captures the order into
/// `captured` and answers `captured` when the order is read.
pub(crate) async fn verifying_and_capturing(server: &MockServer, captured: Value) {
    Mock::given(method("POST"))
        .and(path("/v1/notifications/verify-webhook-signature"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"verification_status": "SUCCESS"})))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v2/checkout/orders/{ORDER}/capture")))
        .respond_with(ResponseTemplate::new(201).set_body_json(captured.clone()))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/checkout/orders/{ORDER}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(captured))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_pending_paypal_refund_is_settled_by_its_webhook() {
    let server = paypal().await;
    let captured = json!({
        "id": ORDER, "status": "COMPLETED",
        "purchase_units": [{"payments": {"captures": [{"id": "3C679366HH908993F", "status": "COMPLETED"}]}}],
        "links": []
    });
    verifying_and_capturing(&server, captured).await;
    Mock::given(method("POST"))
        .and(path("/v2/payments/captures/3C679366HH908993F/refund"))
        .and(body_string_contains("\"value\":\"10.00\""))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": "1JU08902781691411", "status": "PENDING", "links": []})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/payments/refunds/1JU08902781691411"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "1JU08902781691411", "status": "COMPLETED", "links": []})),
        )
        .mount(&server)
        .await;
    let app = app_on(&server, Some("WH-ID-1")).await;
    let student = app.token(1000, Role::Student);
    let created: Value = app
        .post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "paypal"}))
        .await
        .json()
        .await
        .unwrap();
    deliver(&app, &approved_event()).await;
    let id = created["id"].as_str().unwrap();
    let refund: Value = app
        .post("/api/payments/refunds/", &student, &json!({"payment_id": id, "amount": "10.00", "reason": "part"}))
        .await
        .json()
        .await
        .unwrap();
    let refund_id = refund["id"].as_str().unwrap();
    let approved: Value = app
        .post(&format!("/api/payments/refunds/{refund_id}/approve/"), &app.admin(), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(approved["status"], "processing", "{approved}");
    assert_eq!(app.count("ledger_journals").await, 1, "nothing is reversed before PayPal settles");

    let refunded = json!({
        "id": "WH-REFUND-1", "event_version": "1.0", "event_type": "PAYMENT.CAPTURE.REFUNDED",
        "resource_type": "refund", "resource": {"id": "1JU08902781691411", "status": "COMPLETED"}
    })
    .to_string();
    let (status, ack) = deliver(&app, &refunded).await;
    assert_eq!((status, ack["status"].as_str()), (200, Some("processed")), "{ack}");
    let settled: Value = app.get(&format!("/api/payments/refunds/{refund_id}/"), &student).await.json().await.unwrap();
    assert_eq!(settled["status"], "processed");
    assert_eq!(app.store.account_balance("gateway_clearing:paypal".into(), "USD".into(), false).await.unwrap(), 3999);
    let payment: Value = app.get(&format!("/api/payments/{id}/"), &student).await.json().await.unwrap();
    assert_eq!(
        (payment["status"].as_str(), payment["refunded_amount"].as_str()),
        (Some("partially_refunded"), Some("10.00"))
    );
}

/// An order captured as `3C679366HH908993F` and listing `refunds`.
fn captured_order(refunds: Value) -> Value {
    json!({
        "id": ORDER, "status": "COMPLETED",
        "purchase_units": [{"payments": {
            "captures": [{"id": "3C679366HH908993F", "status": "COMPLETED"}],
            "refunds": refunds
        }}],
        "links": []
    })
}

fn paypal_refund(id: &str, value: &str) -> Value {
    json!({"id": id, "status": "COMPLETED", "amount": {"currency_code": "USD", "value": value},
           "links": [{"href": "https://api-m.sandbox.paypal.com/v2/payments/captures/3C679366HH908993F", "rel": "up", "method": "GET"}]})
}

#[tokio::test]
async fn a_refund_in_paypals_dashboard_and_then_a_reversal_reach_the_ledger() {
    let server = paypal().await;
    Mock::given(method("POST"))
        .and(path("/v1/notifications/verify-webhook-signature"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"verification_status": "SUCCESS"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v2/checkout/orders/{ORDER}/capture")))
        .respond_with(ResponseTemplate::new(201).set_body_json(captured_order(json!([]))))
        .mount(&server)
        .await;
    // PayPal's order lists the dashboard refund first, then the reversal
    // of the rest too.
    let dashboard = paypal_refund("7RD12345AB678901C", "15.00");
    let reversal = paypal_refund("9RV12345AB678901C", "34.99");
    Mock::given(method("GET"))
        .and(path(format!("/v2/checkout/orders/{ORDER}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(captured_order(json!([dashboard.clone()]))))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/checkout/orders/{ORDER}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(captured_order(json!([dashboard.clone(), reversal]))))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/payments/refunds/7RD12345AB678901C"))
        .respond_with(ResponseTemplate::new(200).set_body_json(dashboard))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/payments/captures/3C679366HH908993F"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "3C679366HH908993F", "status": "PARTIALLY_REFUNDED",
            "supplementary_data": {"related_ids": {"order_id": ORDER}}
        })))
        .mount(&server)
        .await;
    let app = app_on(&server, Some("WH-ID-1")).await;
    let student = app.token(1000, Role::Student);
    let created: Value = app
        .post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "paypal"}))
        .await
        .json()
        .await
        .unwrap();
    deliver(&app, &approved_event()).await;
    let id = created["id"].as_str().unwrap();

    // The refund webhook names only the refund: PayPal leads to the order.
    let refunded = json!({
        "id": "WH-DASHBOARD-1", "event_version": "1.0", "event_type": "PAYMENT.CAPTURE.REFUNDED",
        "resource_type": "refund", "resource": {"id": "7RD12345AB678901C", "status": "COMPLETED"}
    });
    assert_eq!(deliver(&app, &refunded.to_string()).await.0, 200);
    let payment: Value = app.get(&format!("/api/payments/{id}/"), &student).await.json().await.unwrap();
    assert_eq!(payment["refunded_amount"], "15.00", "{payment}");

    // The reversal names the capture and its order.
    let reversed = json!({
        "id": "WH-REVERSED-1", "event_version": "1.0", "event_type": "PAYMENT.CAPTURE.REVERSED",
        "resource_type": "capture",
        "resource": {"id": "3C679366HH908993F", "status": "REFUNDED", "supplementary_data": {"related_ids": {"order_id": ORDER}}}
    });
    assert_eq!(deliver(&app, &reversed.to_string()).await.0, 200);

    let payment: Value = app.get(&format!("/api/payments/{id}/"), &student).await.json().await.unwrap();
    assert_eq!((payment["status"].as_str(), payment["refunded_amount"].as_str()), (Some("refunded"), Some("49.99")));
    let refunds: Value =
        app.get(&format!("/api/payments/refunds/?payment_id={id}"), &app.admin()).await.json().await.unwrap();
    let origins: Vec<&str> =
        refunds["data"].as_array().unwrap().iter().map(|r| r["origin"].as_str().unwrap()).collect();
    assert_eq!(origins, vec!["gateway", "gateway"]);
    assert_eq!(app.store.account_balance("gateway_clearing:paypal".into(), "USD".into(), false).await.unwrap(), 0);
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
}
