//! The Stripe adapter against a local stand-in speaking Stripe's wire
//! format (wiremock): request shapes, status mapping, errors, retries and
//! timeouts. No internet.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters_stripe::{StripeConfig, StripeGateway};
use chrono::Utc;
use domain::builders::PaymentBuilder;
use domain::ids::{PaymentId, UserId};
use domain::money::{Currency, Money};
use domain::payment::{Payment, PaymentMethod};
use domain::ports::{GatewayError, GatewayOutcome, NextAction, PaymentGateway, RefundGateway};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn gateway(server: &MockServer, timeout_ms: u64) -> StripeGateway {
    let mut config = StripeConfig::new("sk_test_123".into());
    config.api_base = server.uri();
    config.timeout_ms = timeout_ms;
    config.max_retries = 2;
    StripeGateway::new(config).unwrap()
}

fn payment(amount: Money) -> Payment {
    PaymentBuilder::new()
        .id(PaymentId::from_uuid(uuid::Uuid::now_v7()))
        .user(UserId::new(1))
        .instructor(UserId::new(2))
        .method(PaymentMethod::Stripe)
        .price(amount)
        .platform_fee(Money::zero(amount.currency()))
        .created_at(Utc::now())
        .build()
}

fn intent(status: &str) -> serde_json::Value {
    json!({"id": "pi_123", "object": "payment_intent", "status": status, "amount": 4999, "currency": "usd",
           "client_secret": "pi_123_secret_abc", "last_payment_error": null})
}

#[tokio::test]
async fn creating_a_session_sends_minor_units_our_id_and_an_idempotency_key() {
    let server = MockServer::start().await;
    let p = payment(Money::from_minor(500, Currency::JPY));
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .and(header("authorization", "Bearer sk_test_123"))
        .and(header("idempotency-key", p.id.to_string().as_str()))
        .and(body_string_contains("amount=500"))
        .and(body_string_contains("currency=jpy"))
        .and(body_string_contains(format!("metadata%5Bskillpay_payment_id%5D={}", p.id)))
        .respond_with(ResponseTemplate::new(200).set_body_json(intent("requires_payment_method")))
        .expect(1)
        .mount(&server)
        .await;
    let session = gateway(&server, 2_000).create_session(&p).await.unwrap();
    assert_eq!(session.provider_payment_id, "pi_123");
    match session.next_action {
        NextAction::ClientConfirm { provider: PaymentMethod::Stripe, client_secret } => {
            assert_eq!(client_secret.expose(), "pi_123_secret_abc")
        }
        other => panic!("unexpected next action {other:?}"),
    }
}

#[tokio::test]
async fn server_errors_are_retried_with_the_same_idempotency_key_then_succeed() {
    let server = MockServer::start().await;
    let p = payment(Money::from_minor(4_999, Currency::USD));
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .and(header("idempotency-key", p.id.to_string().as_str()))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .and(header("idempotency-key", p.id.to_string().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(intent("requires_payment_method")))
        .expect(1)
        .mount(&server)
        .await;
    assert!(gateway(&server, 2_000).create_session(&p).await.is_ok());
}

#[tokio::test]
async fn a_gateway_that_keeps_failing_is_unavailable_after_bounded_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(500)).expect(3).mount(&server).await;
    let result = gateway(&server, 2_000).status("pi_123").await;
    assert!(matches!(result, Err(GatewayError::Unavailable(_))), "{result:?}");
}

#[tokio::test]
async fn a_slow_gateway_times_out_as_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(intent("succeeded"))
                .set_delay(std::time::Duration::from_millis(800)),
        )
        .mount(&server)
        .await;
    let result = gateway(&server, 200).status("pi_123").await;
    assert!(matches!(result, Err(GatewayError::Unavailable(_))), "{result:?}");
}

#[tokio::test]
async fn payment_intent_statuses_map_to_outcomes() {
    let server = MockServer::start().await;
    let cases = [
        ("succeeded", GatewayOutcome::Succeeded),
        ("processing", GatewayOutcome::Processing),
        ("canceled", GatewayOutcome::Canceled),
        ("requires_payment_method", GatewayOutcome::AwaitingBuyer),
        ("requires_confirmation", GatewayOutcome::AwaitingBuyer),
    ];
    for (status, expected) in cases {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/v1/payment_intents/pi_123"))
            .respond_with(ResponseTemplate::new(200).set_body_json(intent(status)))
            .mount(&server)
            .await;
        assert_eq!(gateway(&server, 2_000).status("pi_123").await.unwrap(), expected, "{status}");
    }
    server.reset().await;
    let mut declined = intent("requires_payment_method");
    declined["last_payment_error"] =
        json!({"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"});
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(declined)).mount(&server).await;
    assert_eq!(
        gateway(&server, 2_000).status("pi_123").await.unwrap(),
        GatewayOutcome::Declined { reason: "card_error: card_declined (insufficient_funds)".into() }
    );
}

#[tokio::test]
async fn a_declined_confirmation_is_a_decline_not_an_error() {
    let server = MockServer::start().await;
    let mut attached = intent("requires_confirmation");
    attached["payment_method"] = json!("pm_card_chargeDeclined");
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents/pi_123"))
        .and(body_string_contains("payment_method=pm_card_chargeDeclined"))
        .respond_with(ResponseTemplate::new(200).set_body_json(attached))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents/pi_123/confirm"))
        .respond_with(ResponseTemplate::new(402).set_body_json(
            json!({"error": {"type": "card_error", "code": "card_declined", "message": "Your card was declined."}}),
        ))
        .mount(&server)
        .await;
    let outcome = gateway(&server, 2_000).confirm("pi_123", "pm_card_chargeDeclined").await.unwrap();
    assert_eq!(outcome, GatewayOutcome::Declined { reason: "card_error: card_declined".into() });
}

#[tokio::test]
async fn a_payment_methods_card_fingerprint_is_read_before_confirming() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_methods/pm_card"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "pm_card", "object": "payment_method",
            "type": "card", "card": {"brand": "visa", "last4": "4242", "fingerprint": "Xt5EWLLDS7FJjR1c"}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_methods/pm_gone"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"type": "invalid_request_error", "code": "resource_missing"}})),
        )
        .mount(&server)
        .await;
    let g = gateway(&server, 2_000);
    assert_eq!(g.card_fingerprint("pm_card").await, Ok(Some("Xt5EWLLDS7FJjR1c".into())));
    assert_eq!(g.card_fingerprint("pm_gone").await, Ok(None), "the confirmation answers for an unknown method");
    assert_eq!(g.card_fingerprint("tok_visa").await, Ok(None), "not a PaymentMethod: not read");
}

#[tokio::test]
async fn unknown_intents_and_bad_requests_map_to_their_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_intents/pi_gone"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"type": "invalid_request_error", "code": "resource_missing"}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(
                json!({"error": {"type": "invalid_request_error", "code": "parameter_invalid_integer"}}),
            ),
        )
        .mount(&server)
        .await;
    let g = gateway(&server, 2_000);
    assert_eq!(g.status("pi_gone").await, Err(GatewayError::UnknownPayment));
    assert_eq!(g.status("../v1/charges").await, Err(GatewayError::UnknownPayment));
    let created = g.create_session(&payment(Money::from_minor(1, Currency::USD))).await;
    assert_eq!(created, Err(GatewayError::InvalidRequest("invalid_request_error: parameter_invalid_integer".into())));
}

#[tokio::test]
async fn refunds_are_made_and_read_back_in_minor_units() {
    use domain::ports::GatewayRefundState;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .and(header("idempotency-key", "refund-re_1"))
        .and(body_string_contains("payment_intent=pi_123"))
        .and(body_string_contains("amount=1050"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "re_9", "object": "refund", "status": "pending"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/refunds/re_9"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "re_9", "status": "failed", "failure_reason": "expired_or_canceled_card"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .and(header("idempotency-key", "refund-re_busy"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({"error": {"type": "idempotency_error"}})))
        .mount(&server)
        .await;
    let g = gateway(&server, 2_000);
    let made = g.refund("pi_123", Money::from_minor(1_050, Currency::USD), "re_1").await.unwrap();
    assert_eq!((made.provider_refund_id.as_str(), made.state), ("re_9", GatewayRefundState::Pending));
    assert_eq!(
        g.refund_status("re_9").await.unwrap(),
        GatewayRefundState::Failed { reason: "expired_or_canceled_card".into() }
    );
    // A concurrent request with the same key is not a refusal.
    let busy = g.refund("pi_123", Money::from_minor(1, Currency::USD), "re_busy").await;
    assert!(matches!(busy, Err(GatewayError::Unavailable(_))), "{busy:?}");
}
