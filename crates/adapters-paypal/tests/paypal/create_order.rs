//! Opening a session creates a PayPal order.

use domain::money::{Currency, Money};
use domain::ports::{GatewayError, NextAction, PaymentGateway};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::{
    CANCEL_URL, FakePaypal, ORDER_ID, ORDERS_PATH, RETURN_URL, TOKEN, approve_url, created_order, error_body, header,
    payer_action_order, payment,
};

async fn mount_create(paypal: &FakePaypal, answer: Value) {
    Mock::given(method("POST"))
        .and(path(ORDERS_PATH))
        .respond_with(ResponseTemplate::new(201).set_body_json(answer))
        .mount(&paypal.server)
        .await;
}

#[tokio::test]
async fn creating_an_order_sends_intent_capture_our_ids_and_the_amount_and_answers_the_approve_link() {
    let paypal = FakePaypal::with_token().await;
    mount_create(&paypal, created_order(ORDER_ID)).await;
    let payment = payment(Money::parse_major("49.99", Currency::USD).unwrap());

    let session = paypal.gateway().create_session(&payment).await.unwrap();

    assert_eq!(session.provider_payment_id, ORDER_ID);
    assert_eq!(session.next_action, NextAction::Redirect { url: approve_url(ORDER_ID) });
    let requests = paypal.requests_to(ORDERS_PATH).await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    let payment_id = payment.id.to_string();
    assert_eq!(header(request, "paypal-request-id"), Some(payment_id.as_str()));
    assert_eq!(header(request, "authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(header(request, "content-type"), Some("application/json"));
    let body: Value = request.body_json().unwrap();
    assert_eq!(body["intent"], "CAPTURE");
    let units = body["purchase_units"].as_array().unwrap();
    assert_eq!(units.len(), 1);
    assert_eq!(units[0]["amount"], serde_json::json!({"currency_code": "USD", "value": "49.99"}));
    assert_eq!(units[0]["custom_id"], payment_id.as_str());
    assert_eq!(units[0]["invoice_id"], payment_id.as_str());
    let experience = &body["payment_source"]["paypal"]["experience_context"];
    assert_eq!(experience["return_url"], RETURN_URL);
    assert_eq!(experience["cancel_url"], CANCEL_URL);
}

#[tokio::test]
async fn amounts_are_sent_in_major_units_with_each_currency_s_digits() {
    let paypal = FakePaypal::with_token().await;
    mount_create(&paypal, created_order(ORDER_ID)).await;
    let gateway = paypal.gateway();
    let cases = [("49.99", Currency::USD), ("500", Currency::JPY), ("1.234", Currency::KWD)];

    for (major, currency) in cases {
        gateway.create_session(&payment(Money::parse_major(major, currency).unwrap())).await.unwrap();
    }

    let sent: Vec<Value> = paypal
        .requests_to(ORDERS_PATH)
        .await
        .iter()
        .map(|request| request.body_json::<Value>().unwrap()["purchase_units"][0]["amount"].clone())
        .collect();
    let expected: Vec<Value> = cases
        .iter()
        .map(|(major, currency)| serde_json::json!({"currency_code": currency.code(), "value": major}))
        .collect();
    assert_eq!(sent, expected);
}

#[tokio::test]
async fn a_payer_action_link_is_where_the_buyer_goes_when_paypal_answers_one() {
    let paypal = FakePaypal::with_token().await;
    mount_create(&paypal, payer_action_order(ORDER_ID)).await;

    let session = paypal.gateway().create_session(&payment(Money::from_minor(4999, Currency::USD))).await.unwrap();

    assert_eq!(session.next_action, NextAction::Redirect { url: approve_url(ORDER_ID) });
}

#[tokio::test]
async fn creating_the_same_payment_twice_reuses_its_request_id() {
    let paypal = FakePaypal::with_token().await;
    mount_create(&paypal, created_order(ORDER_ID)).await;
    let gateway = paypal.gateway();
    let payment = payment(Money::from_minor(4999, Currency::USD));

    gateway.create_session(&payment).await.unwrap();
    gateway.create_session(&payment).await.unwrap();

    let ids: Vec<String> = paypal
        .requests_to(ORDERS_PATH)
        .await
        .iter()
        .map(|request| header(request, "paypal-request-id").unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![payment.id.to_string(); 2]);
}

#[tokio::test]
async fn a_payment_without_a_positive_amount_never_reaches_paypal() {
    let paypal = FakePaypal::with_token().await;

    let answer = paypal.gateway().create_session(&payment(Money::from_minor(0, Currency::USD))).await;

    assert!(matches!(answer, Err(GatewayError::InvalidRequest(_))), "{answer:?}");
    assert!(paypal.all_requests().await.is_empty());
}

#[tokio::test]
async fn a_refused_order_names_paypal_s_error_but_not_the_body_or_token() {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("POST"))
        .and(path(ORDERS_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(error_body(
            "INVALID_REQUEST",
            "INVALID_PARAMETER_VALUE",
            "The value of a field is invalid: https://skillpay.example/paypal/return",
        )))
        .expect(1)
        .mount(&paypal.server)
        .await;

    let answer = paypal.gateway().create_session(&payment(Money::from_minor(4999, Currency::USD))).await;

    let Err(GatewayError::InvalidRequest(message)) = answer else { panic!("{answer:?}") };
    assert_eq!(message, "INVALID_REQUEST/INVALID_PARAMETER_VALUE (HTTP 400)");
    assert!(!message.contains(RETURN_URL) && !message.contains(TOKEN));
}

#[tokio::test]
async fn an_order_answer_without_an_approval_link_is_not_a_session() {
    let paypal = FakePaypal::with_token().await;
    mount_create(&paypal, serde_json::json!({"id": ORDER_ID, "status": "CREATED", "links": []})).await;

    let answer = paypal.gateway().create_session(&payment(Money::from_minor(4999, Currency::USD))).await;

    assert!(matches!(answer, Err(GatewayError::Unavailable(_))), "{answer:?}");
}
