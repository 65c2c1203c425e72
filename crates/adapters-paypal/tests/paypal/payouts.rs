//! PayPal Payouts: the batch we send, its idempotency, and how item
//! statuses read.

use domain::money::{Currency, Money};
use domain::payout::PayoutDestination;
use domain::ports::{GatewayError, GatewayPayoutState, PayoutGateway};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::{
    BATCH_ID, FakePaypal, PAYOUTS_PATH, RECEIVER, batch_with_item, created_batch, error_body, header, payout,
    unavailable,
};

fn receiver() -> PayoutDestination {
    PayoutDestination::Paypal { email: RECEIVER.into() }
}

async fn mount_create(paypal: &FakePaypal, answer: ResponseTemplate) {
    Mock::given(method("POST")).and(path(PAYOUTS_PATH)).respond_with(answer).mount(&paypal.server).await;
}

#[tokio::test]
async fn a_payout_is_one_email_item_keyed_by_the_payout_id_and_pending() {
    let paypal = FakePaypal::with_token().await;
    let p = payout(Money::from_minor(987, Currency::USD));
    let id = p.id.to_string();
    mount_create(&paypal, ResponseTemplate::new(201).set_body_json(created_batch(&id, "PENDING"))).await;

    let sent = paypal.payouts().send(&p, &receiver()).await.unwrap();

    assert_eq!(sent.provider_payout_id, BATCH_ID);
    assert_eq!(sent.state, GatewayPayoutState::Pending);
    let requests = paypal.requests_to(PAYOUTS_PATH).await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(header(request, "paypal-request-id"), Some(id.as_str()));
    assert_eq!(header(request, "content-type"), Some("application/json"));
    assert!(header(request, "authorization").unwrap().starts_with("Bearer "));
    assert_eq!(
        request.body_json::<serde_json::Value>().unwrap(),
        json!({
            "sender_batch_header": {"sender_batch_id": id, "email_subject": "You have a payout from Skillpay"},
            "items": [{
                "recipient_type": "EMAIL",
                "amount": {"value": "9.87", "currency": "USD"},
                "receiver": RECEIVER,
                "sender_item_id": id
            }]
        })
    );
}

#[tokio::test]
async fn amounts_are_major_unit_strings_with_the_currency_s_digits() {
    let paypal = FakePaypal::with_token().await;
    mount_create(&paypal, ResponseTemplate::new(201).set_body_json(created_batch("po_x", "PENDING"))).await;
    paypal.payouts().send(&payout(Money::from_minor(500, Currency::JPY)), &receiver()).await.unwrap();
    let body: serde_json::Value = paypal.requests_to(PAYOUTS_PATH).await[0].body_json().unwrap();
    assert_eq!(body["items"][0]["amount"], json!({"value": "500", "currency": "JPY"}));
}

#[tokio::test]
async fn a_batch_already_successful_is_paid_and_a_denied_one_failed() {
    let paypal = FakePaypal::with_token().await;
    mount_create(&paypal, ResponseTemplate::new(201).set_body_json(created_batch("po_x", "SUCCESS"))).await;
    let sent = paypal.payouts().send(&payout(Money::from_minor(987, Currency::USD)), &receiver()).await.unwrap();
    assert_eq!(sent.state, GatewayPayoutState::Paid);

    let paypal = FakePaypal::with_token().await;
    mount_create(&paypal, ResponseTemplate::new(201).set_body_json(created_batch("po_x", "DENIED"))).await;
    let sent = paypal.payouts().send(&payout(Money::from_minor(987, Currency::USD)), &receiver()).await.unwrap();
    assert_eq!(sent.state, GatewayPayoutState::Failed { reason: "denied".into() });
}

#[tokio::test]
async fn a_destination_of_another_method_is_refused_without_calling_paypal() {
    let paypal = FakePaypal::with_token().await;
    mount_create(&paypal, ResponseTemplate::new(500)).await;
    let stripe = PayoutDestination::StripeConnect { account_id: "acct_1PgafTB7WZ01zgkW".into() };
    let answer = paypal.payouts().send(&payout(Money::from_minor(987, Currency::USD)), &stripe).await;
    assert!(matches!(answer, Err(GatewayError::InvalidRequest(_))), "{answer:?}");
    let zero = paypal.payouts().send(&payout(Money::zero(Currency::USD)), &receiver()).await;
    assert!(matches!(zero, Err(GatewayError::InvalidRequest(_))), "{zero:?}");
    assert!(paypal.requests_to(PAYOUTS_PATH).await.is_empty());
}

#[tokio::test]
async fn a_refused_payout_names_paypal_s_codes_and_never_the_receiver() {
    let paypal = FakePaypal::with_token().await;
    let refusal =
        error_body("INSUFFICIENT_FUNDS", "INSUFFICIENT_FUNDS", &format!("Not enough money to pay {RECEIVER}"));
    mount_create(&paypal, ResponseTemplate::new(422).set_body_json(refusal)).await;

    let answer = paypal.payouts().send(&payout(Money::from_minor(987, Currency::USD)), &receiver()).await;

    assert_eq!(answer, Err(GatewayError::InvalidRequest("INSUFFICIENT_FUNDS/INSUFFICIENT_FUNDS (HTTP 422)".into())));
}

#[tokio::test]
async fn server_errors_are_retried_with_the_same_request_id_and_body() {
    let paypal = FakePaypal::with_token().await;
    let p = payout(Money::from_minor(987, Currency::USD));
    let id = p.id.to_string();
    Mock::given(method("POST"))
        .and(path(PAYOUTS_PATH))
        .respond_with(unavailable())
        .up_to_n_times(2)
        .expect(2)
        .mount(&paypal.server)
        .await;
    mount_create(&paypal, ResponseTemplate::new(201).set_body_json(created_batch(&id, "PENDING"))).await;

    let sent = paypal.payouts().send(&p, &receiver()).await.unwrap();

    assert_eq!(sent.provider_payout_id, BATCH_ID);
    let requests = paypal.requests_to(PAYOUTS_PATH).await;
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(header(request, "paypal-request-id"), Some(id.as_str()));
        assert_eq!(request.body, requests[0].body);
    }
}

#[tokio::test]
async fn a_persistent_outage_is_unavailable() {
    let paypal = FakePaypal::with_token().await;
    let attempts = u64::from(paypal.config.max_retries) + 1;
    Mock::given(method("GET"))
        .and(path(format!("{PAYOUTS_PATH}/{BATCH_ID}")))
        .respond_with(unavailable())
        .expect(attempts)
        .mount(&paypal.server)
        .await;
    let answer = paypal.payouts().payout_status(BATCH_ID).await;
    assert_eq!(answer, Err(GatewayError::Unavailable("PayPal answered HTTP 503 on every attempt".into())));
}

#[tokio::test]
async fn each_item_status_class_reads_as_paid_failed_or_pending() {
    let paypal = FakePaypal::with_token().await;
    let payouts = paypal.payouts();
    let failed = |reason: &str| GatewayPayoutState::Failed { reason: reason.to_owned() };
    let cases = [
        ("SUCCESS", "SUCCESS", GatewayPayoutState::Paid),
        ("SUCCESS", "FAILED", failed("failed")),
        ("SUCCESS", "RETURNED", failed("returned")),
        ("SUCCESS", "REVERSED", failed("reversed")),
        ("SUCCESS", "BLOCKED", failed("blocked")),
        ("SUCCESS", "REFUNDED", failed("refunded")),
        ("PROCESSING", "PENDING", GatewayPayoutState::Pending),
        ("SUCCESS", "UNCLAIMED", GatewayPayoutState::Pending),
        ("PROCESSING", "ONHOLD", GatewayPayoutState::Pending),
    ];
    for (batch_status, item_status, expected) in cases {
        paypal.server.reset().await;
        Mock::given(method("POST"))
            .and(path(crate::support::TOKEN_PATH))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(crate::support::token_body(crate::support::TOKEN, 32_400)),
            )
            .mount(&paypal.server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{PAYOUTS_PATH}/{BATCH_ID}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(batch_with_item(batch_status, item_status)))
            .expect(1)
            .mount(&paypal.server)
            .await;
        let state = payouts.payout_status(BATCH_ID).await.unwrap();
        assert_eq!(state, expected, "{item_status}");
        if let GatewayPayoutState::Failed { reason } = &state {
            assert!(!reason.contains('@'), "{reason}");
        }
    }
}

#[tokio::test]
async fn an_unknown_batch_is_an_unknown_payment() {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("GET"))
        .and(path(format!("{PAYOUTS_PATH}/NOSUCHBATCH")))
        .respond_with(ResponseTemplate::new(404).set_body_json(error_body(
            "INVALID_RESOURCE_ID",
            "INVALID_RESOURCE_ID",
            "Requested resource ID was not found.",
        )))
        .mount(&paypal.server)
        .await;
    let payouts = paypal.payouts();
    assert_eq!(payouts.payout_status("NOSUCHBATCH").await, Err(GatewayError::UnknownPayment));
    assert_eq!(payouts.payout_status("../v1/oauth2/token").await, Err(GatewayError::UnknownPayment));
}
