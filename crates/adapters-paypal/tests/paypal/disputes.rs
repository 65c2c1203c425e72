//! PayPal disputes: reading one (with the capture resolved to its order),
//! providing evidence and accepting the claim.

use chrono::{TimeZone, Utc};
use domain::dispute::DisputeStatus;
use domain::money::{Currency, Money};
use domain::ports::{DisputeEvidence, DisputeGateway, GatewayError};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::{
    CAPTURE_ID, DISPUTE_ID, FakePaypal, ORDER_ID, capture_body, dispute_body, error_body, header, internal_error,
};

fn dispute_path() -> String {
    format!("/v1/customer/disputes/{DISPUTE_ID}")
}

fn capture_path() -> String {
    format!("/v2/payments/captures/{CAPTURE_ID}")
}

/// PayPal answering the dispute in `status` (with `outcome`) and its capture.
async fn mount_dispute(paypal: &FakePaypal, status: &str, outcome: Option<&str>) {
    Mock::given(method("GET"))
        .and(path(dispute_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(dispute_body(status, outcome)))
        .mount(&paypal.server)
        .await;
    Mock::given(method("GET"))
        .and(path(capture_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(capture_body(Some(ORDER_ID))))
        .mount(&paypal.server)
        .await;
}

fn evidence() -> DisputeEvidence {
    DisputeEvidence {
        explanation: "The buyer watched all 12 lessons.".into(),
        product_description: Some("Rust for payments (video course)".into()),
        customer_email: Some("buyer@example.com".into()),
    }
}

#[tokio::test]
async fn a_dispute_names_our_order_not_paypal_s_capture() {
    let paypal = FakePaypal::with_token().await;
    mount_dispute(&paypal, "WAITING_FOR_SELLER_RESPONSE", None).await;

    let dispute = paypal.gateway().dispute(DISPUTE_ID).await.unwrap();

    assert_eq!(dispute.provider_payment_id, ORDER_ID);
    assert_eq!(dispute.amount, Money::from_minor(4_999, Currency::USD));
    assert_eq!(dispute.reason, "merchandise_or_service_not_received");
    assert_eq!(dispute.status, DisputeStatus::NeedsResponse);
    assert_eq!(dispute.evidence_due_by, Some(Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap()));
    assert_eq!(paypal.requests_to(&capture_path()).await.len(), 1);
}

#[tokio::test]
async fn statuses_and_outcomes_map_onto_ours() {
    let cases = [
        ("UNDER_REVIEW", None, DisputeStatus::UnderReview),
        ("WAITING_FOR_BUYER_RESPONSE", None, DisputeStatus::UnderReview),
        ("RESOLVED", Some("RESOLVED_SELLER_FAVOUR"), DisputeStatus::Won),
        ("RESOLVED", Some("RESOLVED_BUYER_FAVOUR"), DisputeStatus::Lost),
        ("RESOLVED", Some("ACCEPTED"), DisputeStatus::Lost),
    ];
    for (status, outcome, expected) in cases {
        let paypal = FakePaypal::with_token().await;
        mount_dispute(&paypal, status, outcome).await;
        assert_eq!(paypal.gateway().dispute(DISPUTE_ID).await.unwrap().status, expected, "{status} {outcome:?}");
    }
    let paypal = FakePaypal::with_token().await;
    mount_dispute(&paypal, "RESOLVED", Some("NONE")).await;
    assert!(matches!(paypal.gateway().dispute(DISPUTE_ID).await, Err(GatewayError::Unavailable(_))));
}

#[tokio::test]
async fn an_unknown_dispute_or_a_capture_without_an_order_is_an_unknown_payment() {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("GET"))
        .and(path("/v1/customer/disputes/PP-D-00000"))
        .respond_with(ResponseTemplate::new(404).set_body_json(error_body(
            "RESOURCE_NOT_FOUND",
            "INVALID_RESOURCE_ID",
            "Requested resource ID was not found.",
        )))
        .mount(&paypal.server)
        .await;
    let gateway = paypal.gateway();
    assert_eq!(gateway.dispute("PP-D-00000").await, Err(GatewayError::UnknownPayment));
    assert_eq!(gateway.dispute("../../v1/oauth2/token").await, Err(GatewayError::UnknownPayment));

    let paypal = FakePaypal::with_token().await;
    Mock::given(method("GET"))
        .and(path(dispute_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(dispute_body("UNDER_REVIEW", None)))
        .mount(&paypal.server)
        .await;
    Mock::given(method("GET"))
        .and(path(capture_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(capture_body(None)))
        .mount(&paypal.server)
        .await;
    assert_eq!(paypal.gateway().dispute(DISPUTE_ID).await, Err(GatewayError::UnknownPayment));
}

#[tokio::test]
async fn reading_a_dispute_retries_server_errors() {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("GET"))
        .and(path(dispute_path()))
        .respond_with(internal_error())
        .up_to_n_times(1)
        .expect(1)
        .mount(&paypal.server)
        .await;
    mount_dispute(&paypal, "UNDER_REVIEW", None).await;
    assert_eq!(paypal.gateway().dispute(DISPUTE_ID).await.unwrap().status, DisputeStatus::UnderReview);
}

#[tokio::test]
async fn evidence_goes_as_a_multipart_input_part_and_the_dispute_is_read_again() {
    let paypal = FakePaypal::with_token().await;
    let evidence_path = format!("{}/provide-evidence", dispute_path());
    Mock::given(method("POST"))
        .and(path(evidence_path.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"links": [
            {"href": format!("https://api-m.sandbox.paypal.com/v1/customer/disputes/{DISPUTE_ID}"), "rel": "self", "method": "GET"}
        ]})))
        .expect(1)
        .mount(&paypal.server)
        .await;
    mount_dispute(&paypal, "UNDER_REVIEW", None).await;

    let after = paypal.gateway().submit_dispute_evidence(DISPUTE_ID, &evidence()).await.unwrap();

    assert_eq!(after.status, DisputeStatus::UnderReview);
    assert_eq!(after.provider_payment_id, ORDER_ID);
    let request = &paypal.requests_to(&evidence_path).await[0];
    let content_type = header(request, "content-type").unwrap();
    let boundary = content_type.strip_prefix("multipart/form-data; boundary=").expect(content_type);
    let body = String::from_utf8(request.body.clone()).unwrap();
    let part = body
        .strip_prefix(&format!("--{boundary}\r\n"))
        .and_then(|rest| rest.strip_suffix(&format!("\r\n--{boundary}--\r\n")))
        .expect(&body);
    let (head, json_text) = part.split_once("\r\n\r\n").unwrap();
    assert_eq!(head, "Content-Disposition: form-data; name=\"input\"\r\nContent-Type: application/json");
    let input: serde_json::Value = serde_json::from_str(json_text).unwrap();
    assert_eq!(
        input,
        json!({"evidences": [{
            "evidence_type": "OTHER",
            "notes": "The buyer watched all 12 lessons.\n\nProduct: Rust for payments (video course)\nCustomer email: buyer@example.com"
        }]})
    );
}

#[tokio::test]
async fn refused_evidence_is_an_invalid_request_and_the_dispute_is_not_read() {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("POST"))
        .and(path(format!("{}/provide-evidence", dispute_path())))
        .respond_with(ResponseTemplate::new(422).set_body_json(error_body(
            "UNPROCESSABLE_ENTITY",
            "NOT_ELIGIBLE_TO_PROVIDE_EVIDENCE",
            "Evidence cannot be provided now.",
        )))
        .expect(1)
        .mount(&paypal.server)
        .await;
    let answer = paypal.gateway().submit_dispute_evidence(DISPUTE_ID, &evidence()).await;
    assert_eq!(
        answer,
        Err(GatewayError::InvalidRequest("UNPROCESSABLE_ENTITY/NOT_ELIGIBLE_TO_PROVIDE_EVIDENCE (HTTP 422)".into()))
    );
    assert!(paypal.requests_to(&dispute_path()).await.is_empty());
}

#[tokio::test]
async fn accepting_the_claim_sends_a_note_and_answers_the_dispute_lost() {
    let paypal = FakePaypal::with_token().await;
    let accept_path = format!("{}/accept-claim", dispute_path());
    Mock::given(method("POST"))
        .and(path(accept_path.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"links": [
            {"href": format!("https://api-m.sandbox.paypal.com/v1/customer/disputes/{DISPUTE_ID}"), "rel": "self", "method": "GET"}
        ]})))
        .expect(1)
        .mount(&paypal.server)
        .await;
    mount_dispute(&paypal, "RESOLVED", Some("ACCEPTED")).await;

    let after = paypal.gateway().accept_dispute(DISPUTE_ID).await.unwrap();

    assert_eq!(after.status, DisputeStatus::Lost);
    let request = &paypal.requests_to(&accept_path).await[0];
    assert_eq!(header(request, "content-type"), Some("application/json"));
    let body: serde_json::Value = request.body_json().unwrap();
    assert_eq!(body, json!({"note": "The merchant accepts the claim."}));
}
