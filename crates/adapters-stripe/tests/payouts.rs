//! Stripe Connect payouts against a local stand-in speaking Stripe's wire
//! format (wiremock), with bodies shaped like Stripe's Transfer fixture
//! (`shared/specs/stripe/fixtures3.json`). No internet.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters_stripe::{StripeConfig, StripeConnectPayouts};
use chrono::Utc;
use domain::builders::PayoutBuilder;
use domain::ids::{PayoutId, UserId};
use domain::money::{Currency, Money};
use domain::payout::{Payout, PayoutDestination, PayoutMethod, PayoutStatus};
use domain::ports::{GatewayError, GatewayPayoutState, PayoutGateway};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACCOUNT: &str = "acct_1PgafTB7WZ01zgkW";
const TRANSFER: &str = "tr_1Pgc7BB7WZ01zgkWVJfE40RX";

fn payouts(server: &MockServer) -> StripeConnectPayouts {
    let mut config = StripeConfig::new("sk_test_123".into());
    config.api_base = server.uri();
    config.timeout_ms = 2_000;
    config.max_retries = 2;
    StripeConnectPayouts::new(config).unwrap()
}

fn payout(amount: Money) -> Payout {
    PayoutBuilder::new()
        .id(PayoutId::from_uuid(uuid::Uuid::now_v7()))
        .instructor(UserId::new(2))
        .amount(amount)
        .method(PayoutMethod::StripeConnect, "acct_****zgkW")
        .status(PayoutStatus::Approved)
        .created_at(Utc::now())
        .build()
}

fn connected() -> PayoutDestination {
    PayoutDestination::StripeConnect { account_id: ACCOUNT.into() }
}

/// Stripe's Transfer fixture, with our amount and reversal state.
fn transfer(amount: i64, amount_reversed: i64, reversed: bool) -> serde_json::Value {
    json!({
        "id": TRANSFER, "object": "transfer", "amount": amount, "amount_reversed": amount_reversed,
        "balance_transaction": "txn_1PgaxNB7WZ01zgkWEV3TLf40", "created": 1_234_567_890, "currency": "usd",
        "description": null, "destination": ACCOUNT, "destination_payment": "py_QXhWZR8SdWquhf", "livemode": false,
        "metadata": {}, "reversals": {"data": [], "has_more": false, "object": "list",
        "url": format!("/v1/transfers/{TRANSFER}/reversals")}, "reversed": reversed, "source_transaction": null,
        "source_type": "card", "transfer_group": null
    })
}

#[tokio::test]
async fn a_payout_is_a_transfer_in_minor_units_keyed_by_the_payout_id() {
    let server = MockServer::start().await;
    let p = payout(Money::from_minor(1_100, Currency::USD));
    let id = p.id.to_string();
    Mock::given(method("POST"))
        .and(path("/v1/transfers"))
        .and(header("authorization", "Bearer sk_test_123"))
        .and(header("idempotency-key", id.as_str()))
        .and(body_string_contains("amount=1100"))
        .and(body_string_contains("currency=usd"))
        .and(body_string_contains(format!("destination={ACCOUNT}")))
        .and(body_string_contains(format!("metadata%5Bpayout_id%5D={id}")))
        .and(body_string_contains(format!("transfer_group={id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(transfer(1_100, 0, false)))
        .expect(1)
        .mount(&server)
        .await;

    let sent = payouts(&server).send(&p, &connected()).await.unwrap();

    assert_eq!(sent.provider_payout_id, TRANSFER);
    assert_eq!(sent.state, GatewayPayoutState::Paid);
}

#[tokio::test]
async fn zero_decimal_currencies_go_out_as_whole_units() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/transfers"))
        .and(body_string_contains("amount=500"))
        .and(body_string_contains("currency=jpy"))
        .respond_with(ResponseTemplate::new(200).set_body_json(transfer(500, 0, false)))
        .expect(1)
        .mount(&server)
        .await;
    let sent = payouts(&server).send(&payout(Money::from_minor(500, Currency::JPY)), &connected()).await;
    assert_eq!(sent.unwrap().state, GatewayPayoutState::Paid);
}

#[tokio::test]
async fn a_destination_of_another_method_is_refused_without_calling_stripe() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).expect(0).mount(&server).await;
    let g = payouts(&server);
    let amount = Money::from_minor(1_000, Currency::USD);

    let paypal = PayoutDestination::Paypal { email: "teacher@example.com".into() };
    let answer = g.send(&payout(amount), &paypal).await;
    assert!(matches!(&answer, Err(GatewayError::InvalidRequest(m)) if !m.contains("teacher")), "{answer:?}");

    let bank = PayoutDestination::BankTransfer {
        account_holder: "Ada".into(),
        account_number: "DE89370400440532013000".into(),
        bank_code: None,
    };
    let answer = g.send(&payout(amount), &bank).await;
    assert!(matches!(&answer, Err(GatewayError::InvalidRequest(m)) if !m.contains("3704")), "{answer:?}");

    let zero = g.send(&payout(Money::zero(Currency::USD)), &connected()).await;
    assert!(matches!(zero, Err(GatewayError::InvalidRequest(_))), "{zero:?}");
}

#[tokio::test]
async fn a_refused_transfer_is_an_invalid_request_with_stripe_s_codes_only() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/transfers"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "type": "invalid_request_error", "code": "balance_insufficient",
            "message": "You have insufficient available funds in your Stripe account."
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let answer = payouts(&server).send(&payout(Money::from_minor(1_100, Currency::USD)), &connected()).await;
    assert_eq!(answer, Err(GatewayError::InvalidRequest("invalid_request_error: balance_insufficient".into())));
}

#[tokio::test]
async fn server_errors_are_retried_with_the_same_idempotency_key() {
    let server = MockServer::start().await;
    let p = payout(Money::from_minor(1_100, Currency::USD));
    let id = p.id.to_string();
    Mock::given(method("POST"))
        .and(path("/v1/transfers"))
        .and(header("idempotency-key", id.as_str()))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/transfers"))
        .and(header("idempotency-key", id.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(transfer(1_100, 0, false)))
        .expect(1)
        .mount(&server)
        .await;
    let sent = payouts(&server).send(&p, &connected()).await.unwrap();
    assert_eq!(sent.state, GatewayPayoutState::Paid);
}

#[tokio::test]
async fn a_stripe_that_keeps_failing_is_unavailable_after_bounded_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).expect(3).mount(&server).await;
    let answer = payouts(&server).send(&payout(Money::from_minor(1_100, Currency::USD)), &connected()).await;
    assert!(matches!(answer, Err(GatewayError::Unavailable(_))), "{answer:?}");
}

#[tokio::test]
async fn a_reversed_transfer_fails_the_payout_and_an_intact_one_is_paid() {
    let server = MockServer::start().await;
    let g = payouts(&server);
    let reversed = GatewayPayoutState::Failed { reason: "transfer reversed".into() };
    for (body, expected) in [
        (transfer(1_100, 0, false), GatewayPayoutState::Paid),
        (transfer(1_100, 1_100, true), reversed.clone()),
        (transfer(1_100, 100, false), reversed),
    ] {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path(format!("/v1/transfers/{TRANSFER}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
        assert_eq!(g.payout_status(TRANSFER).await.unwrap(), expected);
    }
}

#[tokio::test]
async fn an_unknown_transfer_is_an_unknown_payment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/transfers/tr_gone"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"type": "invalid_request_error", "code": "resource_missing"}})),
        )
        .mount(&server)
        .await;
    let g = payouts(&server);
    assert_eq!(g.payout_status("tr_gone").await, Err(GatewayError::UnknownPayment));
    assert_eq!(g.payout_status("../v1/balance").await, Err(GatewayError::UnknownPayment));
}
