//! Confirming captures the approved order.

use domain::ports::{GatewayError, GatewayOutcome, PaymentGateway};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::{FakePaypal, ORDER_ID, ORDERS_PATH, captured_order, error_body, header, order_in, unprocessable};

fn capture_path() -> String {
    format!("{ORDERS_PATH}/{ORDER_ID}/capture")
}

async fn mount_capture(paypal: &FakePaypal, answer: ResponseTemplate) {
    Mock::given(method("POST")).and(path(capture_path())).respond_with(answer).expect(1).mount(&paypal.server).await;
}

async fn confirm(paypal: &FakePaypal) -> Result<GatewayOutcome, GatewayError> {
    // The capture use case passes no token: PayPal needs none.
    paypal.gateway().confirm(ORDER_ID, "").await
}

#[tokio::test]
async fn a_completed_capture_succeeds() {
    let paypal = FakePaypal::with_token().await;
    mount_capture(&paypal, ResponseTemplate::new(201).set_body_json(captured_order(ORDER_ID, "COMPLETED"))).await;

    assert_eq!(confirm(&paypal).await, Ok(GatewayOutcome::Succeeded));

    let requests = paypal.requests_to(&capture_path()).await;
    let request = &requests[0];
    assert_eq!(header(request, "paypal-request-id"), Some(format!("capture-{ORDER_ID}").as_str()));
    assert_eq!(header(request, "prefer"), Some("return=representation"));
    assert_eq!(header(request, "content-type"), Some("application/json"));
    assert_eq!(request.body, b"{}");
}

#[tokio::test]
async fn a_declined_capture_is_declined() {
    let paypal = FakePaypal::with_token().await;
    mount_capture(&paypal, ResponseTemplate::new(201).set_body_json(captured_order(ORDER_ID, "DECLINED"))).await;

    assert_eq!(confirm(&paypal).await, Ok(GatewayOutcome::Declined { reason: "PayPal capture declined".to_owned() }));
}

#[tokio::test]
async fn a_pending_capture_is_processing() {
    let paypal = FakePaypal::with_token().await;
    mount_capture(&paypal, ResponseTemplate::new(201).set_body_json(captured_order(ORDER_ID, "PENDING"))).await;

    assert_eq!(confirm(&paypal).await, Ok(GatewayOutcome::Processing));
}

#[tokio::test]
async fn an_order_the_buyer_has_not_approved_awaits_the_buyer() {
    let paypal = FakePaypal::with_token().await;
    mount_capture(&paypal, unprocessable("ORDER_NOT_APPROVED")).await;

    assert_eq!(confirm(&paypal).await, Ok(GatewayOutcome::AwaitingBuyer));
}

#[tokio::test]
async fn a_declined_funding_source_is_declined() {
    let paypal = FakePaypal::with_token().await;
    mount_capture(&paypal, unprocessable("INSTRUMENT_DECLINED")).await;

    assert_eq!(
        confirm(&paypal).await,
        Ok(GatewayOutcome::Declined { reason: "PayPal: INSTRUMENT_DECLINED".to_owned() })
    );
}

#[tokio::test]
async fn an_order_already_captured_is_read_again_for_its_verdict() {
    let paypal = FakePaypal::with_token().await;
    mount_capture(&paypal, unprocessable("ORDER_ALREADY_CAPTURED")).await;
    Mock::given(method("GET"))
        .and(path(format!("{ORDERS_PATH}/{ORDER_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(captured_order(ORDER_ID, "COMPLETED")))
        .expect(1)
        .mount(&paypal.server)
        .await;

    assert_eq!(confirm(&paypal).await, Ok(GatewayOutcome::Succeeded));
}

#[tokio::test]
async fn other_refusals_are_invalid_requests() {
    let paypal = FakePaypal::with_token().await;
    mount_capture(&paypal, unprocessable("DUPLICATE_INVOICE_ID")).await;

    assert_eq!(
        confirm(&paypal).await,
        Err(GatewayError::InvalidRequest("UNPROCESSABLE_ENTITY/DUPLICATE_INVOICE_ID (HTTP 422)".to_owned()))
    );
}

#[tokio::test]
async fn capturing_an_unknown_order_is_an_unknown_payment() {
    let paypal = FakePaypal::with_token().await;
    mount_capture(
        &paypal,
        ResponseTemplate::new(404).set_body_json(error_body(
            "RESOURCE_NOT_FOUND",
            "INVALID_RESOURCE_ID",
            "Specified resource ID does not exist. Please check the resource ID and try again.",
        )),
    )
    .await;

    assert_eq!(confirm(&paypal).await, Err(GatewayError::UnknownPayment));
}

#[tokio::test]
async fn an_id_that_is_no_order_id_never_reaches_paypal() {
    let paypal = FakePaypal::with_token().await;

    let answer = paypal.gateway().confirm("../../v1/oauth2/token", "").await;

    assert_eq!(answer, Err(GatewayError::UnknownPayment));
    assert!(paypal.all_requests().await.is_empty());
}

#[tokio::test]
async fn an_approved_order_without_capture_in_the_answer_is_processing() {
    let paypal = FakePaypal::with_token().await;
    mount_capture(&paypal, ResponseTemplate::new(201).set_body_json(order_in(ORDER_ID, "APPROVED"))).await;

    assert_eq!(confirm(&paypal).await, Ok(GatewayOutcome::Processing));
}
