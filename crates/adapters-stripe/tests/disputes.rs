//! Stripe disputes against a local stand-in (wiremock): reading, submitting
//! evidence and accepting, with bodies shaped like Stripe's Dispute fixture
//! (`shared/specs/stripe/fixtures3.json`). No internet.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters_stripe::{StripeConfig, StripeGateway};
use domain::dispute::DisputeStatus;
use domain::money::{Currency, Money};
use domain::ports::{DisputeEvidence, DisputeGateway, GatewayError};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DISPUTE: &str = "dp_1Pgc71B7WZ01zgkWMevJiAUx";

fn gateway(server: &MockServer) -> StripeGateway {
    let mut config = StripeConfig::new("sk_test_123".into());
    config.api_base = server.uri();
    config.timeout_ms = 2_000;
    config.max_retries = 2;
    StripeGateway::new(config).unwrap()
}

/// Stripe's Dispute fixture in `status`, on PaymentIntent `pi_123`.
fn dispute(status: &str) -> serde_json::Value {
    json!({
        "id": DISPUTE, "object": "dispute", "amount": 1000, "balance_transactions": [],
        "charge": "ch_1PgafuB7WZ01zgkWXYmPNZs8", "created": 1_234_567_890, "currency": "usd",
        "evidence": {"uncategorized_text": null, "product_description": null, "customer_email_address": null},
        "evidence_details": {"due_by": 1_723_679_999, "has_evidence": false, "past_due": false, "submission_count": 0},
        "is_charge_refundable": true, "livemode": false, "metadata": {}, "payment_intent": "pi_123",
        "reason": "product_not_received", "status": status
    })
}

fn evidence() -> DisputeEvidence {
    DisputeEvidence {
        explanation: "The buyer watched all 12 lessons.".into(),
        product_description: Some("Rust for payments (video course)".into()),
        customer_email: Some("buyer@example.com".into()),
    }
}

#[tokio::test]
async fn a_dispute_is_read_with_amount_reason_status_and_due_date() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/disputes/{DISPUTE}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(dispute("needs_response")))
        .mount(&server)
        .await;
    let read = gateway(&server).dispute(DISPUTE).await.unwrap();
    assert_eq!(read.provider_payment_id, "pi_123");
    assert_eq!(read.amount, Money::from_minor(1_000, Currency::USD));
    assert_eq!(read.reason, "product_not_received");
    assert_eq!(read.status, DisputeStatus::NeedsResponse);
    assert_eq!(read.evidence_due_by.unwrap().timestamp(), 1_723_679_999);
}

#[tokio::test]
async fn evidence_is_submitted_at_once_and_the_dispute_read_from_the_answer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/disputes/{DISPUTE}")))
        .and(body_string_contains("evidence%5Buncategorized_text%5D=The+buyer+watched+all+12+lessons."))
        .and(body_string_contains("evidence%5Bproduct_description%5D=Rust+for+payments+%28video+course%29"))
        .and(body_string_contains("evidence%5Bcustomer_email_address%5D=buyer%40example.com"))
        .and(body_string_contains("submit=true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(dispute("under_review")))
        .expect(1)
        .mount(&server)
        .await;

    let after = gateway(&server).submit_dispute_evidence(DISPUTE, &evidence()).await.unwrap();

    assert_eq!(after.status, DisputeStatus::UnderReview);
    let requests = server.received_requests().await.unwrap();
    let key = requests[0].headers.get("idempotency-key").unwrap().to_str().unwrap();
    assert!(key.starts_with(&format!("dispute-evidence-{DISPUTE}-")), "{key}");
    assert!(!key.contains("buyer"), "the key must not carry the evidence: {key}");
}

#[tokio::test]
async fn evidence_without_optional_fields_sends_only_the_explanation() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/disputes/{DISPUTE}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(dispute("under_review")))
        .expect(1)
        .mount(&server)
        .await;
    let bare =
        DisputeEvidence { explanation: "Access was used.".into(), product_description: None, customer_email: None };
    gateway(&server).submit_dispute_evidence(DISPUTE, &bare).await.unwrap();
    let body = String::from_utf8(server.received_requests().await.unwrap()[0].body.clone()).unwrap();
    assert_eq!(body, "evidence%5Buncategorized_text%5D=Access+was+used.&submit=true");
}

#[tokio::test]
async fn accepting_closes_the_dispute_and_answers_it_lost() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/disputes/{DISPUTE}/close")))
        .and(header("idempotency-key", format!("dispute-close-{DISPUTE}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(dispute("lost")))
        .expect(1)
        .mount(&server)
        .await;
    let after = gateway(&server).accept_dispute(DISPUTE).await.unwrap();
    assert_eq!(after.status, DisputeStatus::Lost);
}

#[tokio::test]
async fn refused_and_unknown_disputes_map_to_their_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/disputes/{DISPUTE}")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "type": "invalid_request_error", "message": "This dispute is already closed"
        }})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/disputes/dp_gone/close"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"type": "invalid_request_error", "code": "resource_missing"}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/disputes/dp_busy/close"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;
    let g = gateway(&server);
    let refused = g.submit_dispute_evidence(DISPUTE, &evidence()).await;
    assert_eq!(refused, Err(GatewayError::InvalidRequest("invalid_request_error".into())));
    assert_eq!(g.accept_dispute("dp_gone").await, Err(GatewayError::UnknownPayment));
    assert!(matches!(g.accept_dispute("dp_busy").await, Err(GatewayError::Unavailable(_))));
    assert_eq!(g.accept_dispute("dp/../x").await, Err(GatewayError::UnknownPayment));
}
