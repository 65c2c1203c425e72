//! Reading an order's state, and cancelling.

use domain::ports::{GatewayError, GatewayOutcome, PaymentGateway};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::{FakePaypal, ORDER_ID, ORDERS_PATH, captured_order, error_body, order_in};

#[tokio::test]
async fn each_order_status_reads_as_its_verdict() {
    let paypal = FakePaypal::with_token().await;
    let cases = [
        ("CREATED", order_in("1CREATED", "CREATED"), GatewayOutcome::AwaitingBuyer),
        ("SAVED", order_in("2SAVED", "SAVED"), GatewayOutcome::AwaitingBuyer),
        ("PAYER_ACTION_REQUIRED", order_in("3PAYERACTION", "PAYER_ACTION_REQUIRED"), GatewayOutcome::AwaitingBuyer),
        ("APPROVED", order_in("4APPROVED", "APPROVED"), GatewayOutcome::AwaitingCapture),
        ("VOIDED", order_in("5VOIDED", "VOIDED"), GatewayOutcome::Canceled),
        ("COMPLETED", captured_order("6COMPLETED", "COMPLETED"), GatewayOutcome::Succeeded),
        ("COMPLETED", captured_order("7REFUNDED", "REFUNDED"), GatewayOutcome::Succeeded),
        ("COMPLETED", captured_order("8PENDING", "PENDING"), GatewayOutcome::Processing),
        (
            "COMPLETED",
            captured_order("9DECLINED", "DECLINED"),
            GatewayOutcome::Declined { reason: "PayPal capture declined".to_owned() },
        ),
        (
            "COMPLETED",
            captured_order("10FAILED", "FAILED"),
            GatewayOutcome::Declined { reason: "PayPal capture failed".to_owned() },
        ),
    ];
    for (_, body, _) in &cases {
        let id = body["id"].as_str().unwrap();
        Mock::given(method("GET"))
            .and(path(format!("{ORDERS_PATH}/{id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&paypal.server)
            .await;
    }
    let gateway = paypal.gateway();

    for (status, body, expected) in cases {
        let id = body["id"].as_str().unwrap();
        assert_eq!(gateway.status(id).await, Ok(expected), "{status} ({id})");
    }
}

#[tokio::test]
async fn an_order_paypal_does_not_know_is_an_unknown_payment() {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("GET"))
        .and(path(format!("{ORDERS_PATH}/{ORDER_ID}")))
        .respond_with(ResponseTemplate::new(404).set_body_json(error_body(
            "RESOURCE_NOT_FOUND",
            "INVALID_RESOURCE_ID",
            "Specified resource ID does not exist. Please check the resource ID and try again.",
        )))
        .expect(1)
        .mount(&paypal.server)
        .await;

    assert_eq!(paypal.gateway().status(ORDER_ID).await, Err(GatewayError::UnknownPayment));
}

#[tokio::test]
async fn a_status_newer_than_our_spec_changes_nothing() {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("GET"))
        .and(path(format!("{ORDERS_PATH}/{ORDER_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(order_in(ORDER_ID, "SOMETHING_NEW")))
        .mount(&paypal.server)
        .await;

    assert!(matches!(paypal.gateway().status(ORDER_ID).await, Err(GatewayError::Unavailable(_))));
}

#[tokio::test]
async fn cancelling_asks_nothing_of_paypal_since_orders_cannot_be_cancelled() {
    let paypal = FakePaypal::with_token().await;

    assert_eq!(paypal.gateway().cancel(ORDER_ID).await, Ok(()));
    assert!(paypal.all_requests().await.is_empty());
}

#[tokio::test]
async fn a_captures_fee_and_seller_protection_are_read_from_its_order() {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("GET"))
        .and(path(format!("{ORDERS_PATH}/{ORDER_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(captured_order(ORDER_ID, "COMPLETED")))
        .mount(&paypal.server)
        .await;
    let payment = domain::builders::PaymentBuilder::new().provider_payment_id(ORDER_ID).build();
    let facts = paypal.gateway().charge_facts(&payment).await.unwrap().unwrap();
    assert_eq!(facts.fee, domain::money::Money::from_minor(195, domain::money::Currency::USD));
    assert_eq!(facts.risk.seller_protection.as_deref(), Some("ELIGIBLE"));
    assert_eq!((facts.risk.level, facts.risk.card_fingerprint), (None, None));
}
