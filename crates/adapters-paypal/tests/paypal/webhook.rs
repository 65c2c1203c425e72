//! Webhooks: verified by PayPal, then read.

use domain::payment::PaymentMethod;
use domain::ports::{WebhookAction, WebhookError, WebhookRequest, WebhookVerifier};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::{FakePaypal, ORDER_ID, VERIFY_PATH, WEBHOOK_ID, unavailable};

const TRANSMISSION_ID: &str = "69cd13f0-d67a-11e5-baa3-778b53f4ae55";
const TRANSMISSION_SIG: &str = "lmI95Jx3Y9nhR5SJWlHVIWpg4AgFk7n9bCHSRxbrd8A9zrhdu2rMyFrmz+Zjh3s3boXB07VXCXUZy/UFzUlnGJn0wDugt7FlSvdKeIJenLRemUxYCPVoEZzg9VFNqOa48gMkvF+XTpxBeUx/kWy6B5cp7GkT2+pOowfRK7OaynuxUoKW3JcMWw272VKjLTtTAShncla7tGF+55rxyt2KNZIIqxNMJ48RDZheGU5w1npu9dZHnPgTXB9iomeVRoD8O/jhRpnKsGrDschyNdkeh81BJJMH4Ctc6lnCCquoP/GzCzz33MMsNdid7vL/NIWaCsekQpW26FpWPi/tfj8nLA==";
const CERT_URL: &str = "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270";
const AUTH_ALGO: &str = "SHA256withRSA";
const HEADER_NAMES: [&str; 5] = [
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-cert-url",
    "paypal-auth-algo",
];

/// A transmission time PayPal would send now (deliveries outside a window
/// around now are refused before PayPal is asked).
fn transmission_time() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The five signature headers of a delivery made now.
fn headers() -> Vec<(String, String)> {
    let values =
        [TRANSMISSION_ID.to_owned(), transmission_time(), TRANSMISSION_SIG.into(), CERT_URL.into(), AUTH_ALGO.into()];
    HEADER_NAMES.iter().map(|name| (*name).to_owned()).zip(values).collect()
}

/// A `CHECKOUT.ORDER.APPROVED` delivery body, keys in PayPal's order (not
/// sorted), as PayPal documents the event.
const ORDER_APPROVED: &str = r#"{"id":"WH-COC11055RA711503B-4YM959094A144403T","create_time":"2026-11-26T10:03:49.000Z","resource_type":"checkout-order","event_type":"CHECKOUT.ORDER.APPROVED","summary":"An order has been approved by buyer","resource":{"id":"5O190127TN364715T","intent":"CAPTURE","status":"APPROVED","purchase_units":[{"reference_id":"default","amount":{"currency_code":"USD","value":"49.99"},"custom_id":"pay_0190d2a0c0a27c2f8b5e1f2a3b4c5d6e"}],"payer":{"name":{"given_name":"John","surname":"Doe"},"email_address":"customer@example.com","payer_id":"QYR5Z8XDVJNXQ"},"create_time":"2026-11-26T10:00:00Z","links":[{"href":"https://api-m.paypal.com/v2/checkout/orders/5O190127TN364715T","rel":"self","method":"GET"}]},"links":[{"href":"https://api.paypal.com/v1/notifications/webhooks-events/WH-COC11055RA711503B-4YM959094A144403T","rel":"self","method":"GET"}],"event_version":"1.0","resource_version":"2.0"}"#;

fn capture_event(event_type: &str, resource: Value) -> String {
    json!({
        "id": "WH-58D329510W468432D-8HN650336L201105X",
        "create_time": "2026-11-26T10:05:07.940Z",
        "resource_type": "capture",
        "event_type": event_type,
        "summary": "Payment completed for $ 49.99 USD",
        "resource": resource,
        "event_version": "1.0",
        "resource_version": "2.0"
    })
    .to_string()
}

fn capture_resource() -> Value {
    json!({
        "id": "3C679366HH908993F",
        "status": "COMPLETED",
        "amount": {"currency_code": "USD", "value": "49.99"},
        "final_capture": true,
        "supplementary_data": {"related_ids": {"order_id": ORDER_ID}},
        "custom_id": "pay_0190d2a0c0a27c2f8b5e1f2a3b4c5d6e",
        "create_time": "2026-11-26T10:05:00Z",
        "update_time": "2026-11-26T10:05:00Z"
    })
}

fn delivery(body: &str) -> WebhookRequest {
    let mut headers = headers();
    headers.push(("content-type".to_owned(), "application/json".to_owned()));
    WebhookRequest { headers, body: body.as_bytes().to_vec() }
}

async fn paypal_answering(status: &str) -> FakePaypal {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("POST"))
        .and(path(VERIFY_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"verification_status": status})))
        .mount(&paypal.server)
        .await;
    paypal
}

#[tokio::test]
async fn a_verified_order_approval_asks_to_capture_the_order() {
    let paypal = paypal_answering("SUCCESS").await;

    let request = delivery(ORDER_APPROVED);
    let event = paypal.verifier().verify(&request).await.unwrap();

    assert_eq!(event.provider, PaymentMethod::Paypal);
    assert_eq!(event.event_id, "WH-COC11055RA711503B-4YM959094A144403T");
    assert_eq!(event.event_type, "CHECKOUT.ORDER.APPROVED");
    assert_eq!(event.action, WebhookAction::CapturePayment { provider_payment_id: ORDER_ID.to_owned() });
    assert_eq!(event.payload, serde_json::from_str::<Value>(ORDER_APPROVED).unwrap());

    let requests = paypal.requests_to(VERIFY_PATH).await;
    assert_eq!(requests.len(), 1);
    let sent: Value = requests[0].body_json().unwrap();
    assert_eq!(
        sent,
        json!({
            "auth_algo": AUTH_ALGO,
            "cert_url": CERT_URL,
            "transmission_id": TRANSMISSION_ID,
            "transmission_sig": TRANSMISSION_SIG,
            "transmission_time": request.header("paypal-transmission-time").unwrap(),
            "webhook_id": WEBHOOK_ID,
            "webhook_event": serde_json::from_str::<Value>(ORDER_APPROVED).unwrap()
        })
    );
}

#[tokio::test]
async fn the_event_reaches_paypal_byte_for_byte() {
    let paypal = paypal_answering("SUCCESS").await;

    paypal.verifier().verify(&delivery(ORDER_APPROVED)).await.unwrap();

    let requests = paypal.requests_to(VERIFY_PATH).await;
    let sent = String::from_utf8(requests[0].body.clone()).unwrap();
    assert!(sent.contains(&format!("\"webhook_event\":{ORDER_APPROVED}")), "{sent}");
}

#[tokio::test]
async fn verified_capture_events_ask_to_sync_their_order() {
    let paypal = paypal_answering("SUCCESS").await;
    let verifier = paypal.verifier();

    for event_type in ["PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.PENDING"] {
        let event = verifier.verify(&delivery(&capture_event(event_type, capture_resource()))).await.unwrap();
        assert_eq!(event.action, WebhookAction::SyncPayment { provider_payment_id: ORDER_ID.to_owned() });
    }
}

#[tokio::test]
async fn a_refunded_capture_syncs_its_refund_and_other_events_are_ignored() {
    let paypal = paypal_answering("SUCCESS").await;
    let verifier = paypal.verifier();
    let refund =
        json!({"id": "1JU08902781691411", "status": "COMPLETED", "amount": {"currency_code": "USD", "value": "49.99"}});

    let refunded = verifier.verify(&delivery(&capture_event("PAYMENT.CAPTURE.REFUNDED", refund))).await.unwrap();
    let other = verifier.verify(&delivery(&capture_event("CHECKOUT.ORDER.COMPLETED", json!({})))).await.unwrap();

    assert_eq!(refunded.action, WebhookAction::SyncRefund { provider_refund_id: "1JU08902781691411".to_owned() });
    assert_eq!(other.action, WebhookAction::Ignore);
}

#[tokio::test]
async fn verified_dispute_and_payout_events_sync_their_object() {
    let paypal = paypal_answering("SUCCESS").await;
    let verifier = paypal.verifier();
    let dispute = json!({"dispute_id": "PP-D-27803", "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
        "status": "WAITING_FOR_SELLER_RESPONSE", "disputed_transactions": [{"seller_transaction_id": "3C679366HH908993F"}]});
    let item = json!({"payout_item_id": "8AELMXH8UB2P8", "transaction_status": "RETURNED",
        "payout_batch_id": "FYXMPQTX4JC9N", "payout_item": {"receiver": "teacher@example.com"}});
    let batch = json!({"batch_header": {"payout_batch_id": "FYXMPQTX4JC9N", "batch_status": "DENIED"}});

    let disputed = verifier.verify(&delivery(&capture_event("CUSTOMER.DISPUTE.CREATED", dispute))).await.unwrap();
    let returned = verifier.verify(&delivery(&capture_event("PAYMENT.PAYOUTS-ITEM.RETURNED", item))).await.unwrap();
    let denied = verifier.verify(&delivery(&capture_event("PAYMENT.PAYOUTSBATCH.DENIED", batch))).await.unwrap();

    assert_eq!(disputed.action, WebhookAction::SyncDispute { provider_dispute_id: "PP-D-27803".to_owned() });
    let sync = WebhookAction::SyncPayout {
        method: domain::payout::PayoutMethod::Paypal,
        provider_payout_id: "FYXMPQTX4JC9N".to_owned(),
    };
    assert_eq!(returned.action, sync);
    assert_eq!(denied.action, sync);
}

#[tokio::test]
async fn a_failed_verification_is_an_invalid_signature() {
    let paypal = paypal_answering("FAILURE").await;

    let answer = paypal.verifier().verify(&delivery(ORDER_APPROVED)).await;

    assert!(matches!(answer, Err(WebhookError::InvalidSignature(_))), "{answer:?}");
}

#[tokio::test]
async fn a_missing_signature_header_is_refused_without_asking_paypal() {
    let paypal = paypal_answering("SUCCESS").await;
    let verifier = paypal.verifier();

    for missing in HEADER_NAMES {
        let mut request = delivery(ORDER_APPROVED);
        request.headers.retain(|(name, _)| name != missing);
        let answer = verifier.verify(&request).await;
        assert!(matches!(&answer, Err(WebhookError::InvalidSignature(m)) if m.contains(missing)), "{answer:?}");
    }
    assert!(paypal.all_requests().await.is_empty());
}

#[tokio::test]
async fn a_body_that_is_not_json_is_refused_without_asking_paypal() {
    let paypal = paypal_answering("SUCCESS").await;

    let answer = paypal.verifier().verify(&delivery("id=WH-1&event_type=CHECKOUT.ORDER.APPROVED")).await;

    assert!(matches!(answer, Err(WebhookError::InvalidSignature(_))), "{answer:?}");
    assert!(paypal.all_requests().await.is_empty());
}

#[tokio::test]
async fn without_a_webhook_id_webhooks_are_not_configured() {
    let mut paypal = paypal_answering("SUCCESS").await;
    paypal.config.webhook_id = None;

    assert_eq!(paypal.verifier().verify(&delivery(ORDER_APPROVED)).await, Err(WebhookError::NotConfigured));
    assert!(paypal.all_requests().await.is_empty());
}

#[tokio::test]
async fn verification_during_a_paypal_outage_is_unavailable() {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("POST")).and(path(VERIFY_PATH)).respond_with(unavailable()).mount(&paypal.server).await;

    let answer = paypal.verifier().verify(&delivery(ORDER_APPROVED)).await;

    assert!(matches!(answer, Err(WebhookError::Unavailable(_))), "{answer:?}");
}

#[tokio::test]
async fn a_verified_event_without_an_id_is_malformed() {
    let paypal = paypal_answering("SUCCESS").await;

    let answer = paypal.verifier().verify(&delivery(r#"{"event_type":"CHECKOUT.ORDER.APPROVED"}"#)).await;

    assert!(matches!(answer, Err(WebhookError::Malformed(_))), "{answer:?}");
}

/// A stand-in whose verify call must never be reached.
async fn paypal_never_asked() -> FakePaypal {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("POST"))
        .and(path(VERIFY_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"verification_status": "SUCCESS"})))
        .expect(0)
        .mount(&paypal.server)
        .await;
    paypal
}

fn with_header(name: &str, value: &str) -> WebhookRequest {
    let mut request = delivery(ORDER_APPROVED);
    request.headers.retain(|(header, _)| header != name);
    request.headers.push((name.to_owned(), value.to_owned()));
    request
}

#[tokio::test]
async fn headers_paypal_never_sends_are_refused_without_asking_paypal() {
    let paypal = paypal_never_asked().await;
    let verifier = paypal.verifier();
    let an_hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let in_an_hour = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let forged = [
        ("paypal-auth-algo", "SHA1withRSA"),
        ("paypal-cert-url", "https://attacker.example/v1/notifications/certs/CERT-1"),
        ("paypal-cert-url", "http://api.paypal.com/v1/notifications/certs/CERT-1"),
        ("paypal-cert-url", "https://api.paypal.com:4443/v1/notifications/certs/CERT-1"),
        ("paypal-cert-url", "https://api.paypal.com@attacker.example/cert"),
        ("paypal-cert-url", "https://api.paypal.com.attacker.example/cert"),
        ("paypal-transmission-time", "2016-02-18T20:01:35Z"),
        ("paypal-transmission-time", &an_hour_ago),
        ("paypal-transmission-time", &in_an_hour),
        ("paypal-transmission-time", "not a time"),
    ];

    for (name, value) in forged {
        let answer = verifier.verify(&with_header(name, value)).await;
        assert!(matches!(answer, Err(WebhookError::InvalidSignature(_))), "{name}: {value}: {answer:?}");
    }
    assert!(paypal.requests_to(VERIFY_PATH).await.is_empty());
}

#[tokio::test]
async fn a_repeated_verified_delivery_is_not_verified_twice() {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("POST"))
        .and(path(VERIFY_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"verification_status": "SUCCESS"})))
        .expect(1)
        .mount(&paypal.server)
        .await;
    let verifier = paypal.verifier();
    let request = delivery(ORDER_APPROVED);

    let first = verifier.verify(&request).await.unwrap();
    let again = verifier.clone().verify(&request).await.unwrap();

    assert_eq!(first, again);
}

#[tokio::test]
async fn a_verified_transmission_id_with_another_body_is_asked_about_again() {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("POST"))
        .and(path(VERIFY_PATH))
        .and(body_string_contains("WH-COC11055RA711503B"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"verification_status": "SUCCESS"})))
        .expect(1)
        .mount(&paypal.server)
        .await;
    Mock::given(method("POST"))
        .and(path(VERIFY_PATH))
        .and(body_string_contains("WH-FORGED"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"verification_status": "FAILURE"})))
        .expect(1)
        .mount(&paypal.server)
        .await;
    let verifier = paypal.verifier();
    verifier.verify(&delivery(ORDER_APPROVED)).await.unwrap();

    let forged = ORDER_APPROVED.replace("WH-COC11055RA711503B-4YM959094A144403T", "WH-FORGED");
    let answer = verifier.verify(&delivery(&forged)).await;

    assert!(matches!(answer, Err(WebhookError::InvalidSignature(_))), "{answer:?}");
}

#[tokio::test]
async fn a_delivery_paypal_refused_is_asked_about_again() {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("POST"))
        .and(path(VERIFY_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"verification_status": "FAILURE"})))
        .expect(2)
        .mount(&paypal.server)
        .await;
    let verifier = paypal.verifier();

    for _ in 0..2 {
        let answer = verifier.verify(&delivery(ORDER_APPROVED)).await;
        assert!(matches!(answer, Err(WebhookError::InvalidSignature(_))), "{answer:?}");
    }
}
