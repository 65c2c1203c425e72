//! Timeouts and bounded retries with the same idempotency key.

use std::net::TcpListener;

use domain::ports::{GatewayError, GatewayOutcome, PaymentGateway};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::{
    FakePaypal, ORDER_ID, ORDERS_PATH, SLOW, captured_order, header, internal_error, order_in, unavailable,
};

fn capture_path() -> String {
    format!("{ORDERS_PATH}/{ORDER_ID}/capture")
}

#[tokio::test]
async fn two_503s_then_a_201_succeed_with_one_request_id_throughout() {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("POST"))
        .and(path(capture_path()))
        .respond_with(unavailable())
        .up_to_n_times(2)
        .expect(2)
        .mount(&paypal.server)
        .await;
    Mock::given(method("POST"))
        .and(path(capture_path()))
        .respond_with(ResponseTemplate::new(201).set_body_json(captured_order(ORDER_ID, "COMPLETED")))
        .expect(1)
        .mount(&paypal.server)
        .await;

    assert_eq!(paypal.gateway().confirm(ORDER_ID, "").await, Ok(GatewayOutcome::Succeeded));

    let requests = paypal.requests_to(&capture_path()).await;
    assert_eq!(requests.len(), 3);
    let capture_id = format!("capture-{ORDER_ID}");
    for request in &requests {
        assert_eq!(header(request, "paypal-request-id"), Some(capture_id.as_str()));
        assert_eq!(request.body, requests[0].body);
    }
}

#[tokio::test]
async fn a_persistent_500_is_unavailable_after_max_retries_plus_one_attempts() {
    let paypal = FakePaypal::with_token().await;
    let attempts = u64::from(paypal.config.max_retries) + 1;
    Mock::given(method("POST"))
        .and(path(capture_path()))
        .respond_with(internal_error())
        .expect(attempts)
        .mount(&paypal.server)
        .await;

    let answer = paypal.gateway().confirm(ORDER_ID, "").await;

    assert_eq!(answer, Err(GatewayError::Unavailable("PayPal answered HTTP 500 on every attempt".to_owned())));
}

#[tokio::test]
async fn a_429_is_retried() {
    let paypal = FakePaypal::with_token().await;
    let order_path = format!("{ORDERS_PATH}/{ORDER_ID}");
    Mock::given(method("GET"))
        .and(path(&order_path))
        .respond_with(ResponseTemplate::new(429).set_body_json(serde_json::json!({
            "name": "RATE_LIMIT_REACHED",
            "message": "Too many requests. Blocked due to rate limiting.",
            "debug_id": "90957fca61718"
        })))
        .up_to_n_times(1)
        .mount(&paypal.server)
        .await;
    Mock::given(method("GET"))
        .and(path(&order_path))
        .respond_with(ResponseTemplate::new(200).set_body_json(order_in(ORDER_ID, "APPROVED")))
        .mount(&paypal.server)
        .await;

    assert_eq!(paypal.gateway().status(ORDER_ID).await, Ok(GatewayOutcome::AwaitingCapture));
    assert_eq!(paypal.requests_to(&order_path).await.len(), 2);
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("POST"))
        .and(path(capture_path()))
        .respond_with(crate::support::unprocessable("ORDER_NOT_APPROVED"))
        .expect(1)
        .mount(&paypal.server)
        .await;

    assert_eq!(paypal.gateway().confirm(ORDER_ID, "").await, Ok(GatewayOutcome::AwaitingBuyer));
}

#[tokio::test]
async fn a_server_slower_than_the_timeout_is_unavailable() {
    let mut paypal = FakePaypal::with_token().await;
    paypal.config.timeout_ms = 200;
    paypal.config.max_retries = 1;
    Mock::given(method("GET"))
        .and(path(format!("{ORDERS_PATH}/{ORDER_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(order_in(ORDER_ID, "APPROVED")).set_delay(SLOW))
        .expect(2)
        .mount(&paypal.server)
        .await;

    let started = std::time::Instant::now();
    let answer = paypal.gateway().status(ORDER_ID).await;

    assert_eq!(answer, Err(GatewayError::Unavailable("PayPal could not be reached: timed out".to_owned())));
    assert!(started.elapsed() < SLOW, "gave up before the slow answer came: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    let mut paypal = FakePaypal::start().await;
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    paypal.config.api_base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);

    let answer = paypal.gateway().status(ORDER_ID).await;

    assert_eq!(answer, Err(GatewayError::Unavailable("PayPal could not be reached: connection failed".to_owned())));
}
