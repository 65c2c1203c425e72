//! The OAuth2 token: fetched with the app's credentials, cached, refreshed
//! once on a 401.

use adapters_paypal::{LIVE_API_BASE, PaypalClient, PaypalConfig, Secret};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use domain::ports::{GatewayError, PaymentGateway};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::{
    CLIENT_ID, CLIENT_SECRET, FakePaypal, ORDER_ID, ORDERS_PATH, TOKEN, TOKEN_PATH, order_in, token_body, unauthorized,
};

fn order_path() -> String {
    format!("{ORDERS_PATH}/{ORDER_ID}")
}

async fn mount_order(paypal: &FakePaypal) {
    Mock::given(method("GET"))
        .and(path(order_path()))
        .and(header("authorization", format!("Bearer {TOKEN}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(order_in(ORDER_ID, "CREATED")))
        .mount(&paypal.server)
        .await;
}

#[tokio::test]
async fn the_token_is_fetched_once_with_client_credentials_and_reused_across_calls() {
    let paypal = FakePaypal::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(TOKEN, 32_400)))
        .expect(1)
        .mount(&paypal.server)
        .await;
    mount_order(&paypal).await;
    let gateway = paypal.gateway();

    for _ in 0..3 {
        gateway.status(ORDER_ID).await.unwrap();
    }

    let token_requests = paypal.requests_to(TOKEN_PATH).await;
    assert_eq!(token_requests.len(), 1);
    let request = &token_requests[0];
    let credentials = STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    assert_eq!(crate::support::header(request, "authorization"), Some(format!("Basic {credentials}").as_str()));
    assert_eq!(crate::support::header(request, "content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(request.body, b"grant_type=client_credentials");
    assert_eq!(paypal.requests_to(&order_path()).await.len(), 3);
}

#[tokio::test]
async fn clones_of_a_client_share_one_token() {
    let paypal = FakePaypal::with_token().await;
    mount_order(&paypal).await;
    let client = paypal.client();
    let first = adapters_paypal::PaypalGateway::new(client.clone());
    let second = adapters_paypal::PaypalGateway::new(client);

    first.status(ORDER_ID).await.unwrap();
    second.status(ORDER_ID).await.unwrap();

    assert_eq!(paypal.requests_to(TOKEN_PATH).await.len(), 1);
}

#[tokio::test]
async fn concurrent_first_calls_share_one_token_fetch() {
    let paypal = FakePaypal::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body(TOKEN, 32_400))
                .set_delay(std::time::Duration::from_millis(100)),
        )
        .expect(1)
        .mount(&paypal.server)
        .await;
    mount_order(&paypal).await;
    let gateway = paypal.gateway();

    let (first, second, third) =
        tokio::join!(gateway.status(ORDER_ID), gateway.status(ORDER_ID), gateway.status(ORDER_ID));

    assert!(first.is_ok() && second.is_ok() && third.is_ok());
}

#[tokio::test]
async fn a_token_is_fetched_again_within_a_minute_of_its_expiry() {
    let paypal = FakePaypal::start().await;
    // PayPal says 60 s: inside the refresh margin at once.
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(TOKEN, 60)))
        .expect(2)
        .mount(&paypal.server)
        .await;
    mount_order(&paypal).await;
    let gateway = paypal.gateway();

    gateway.status(ORDER_ID).await.unwrap();
    gateway.status(ORDER_ID).await.unwrap();
}

#[tokio::test]
async fn a_401_triggers_exactly_one_token_refresh_and_a_retry() {
    let paypal = FakePaypal::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("A21AA-revoked", 32_400)))
        .up_to_n_times(1)
        .mount(&paypal.server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(TOKEN, 32_400)))
        .mount(&paypal.server)
        .await;
    Mock::given(method("GET"))
        .and(path(order_path()))
        .and(header("authorization", "Bearer A21AA-revoked"))
        .respond_with(unauthorized())
        .expect(1)
        .mount(&paypal.server)
        .await;
    mount_order(&paypal).await;
    let gateway = paypal.gateway();

    assert!(gateway.status(ORDER_ID).await.is_ok());
    assert_eq!(paypal.requests_to(TOKEN_PATH).await.len(), 2);
    assert_eq!(paypal.requests_to(&order_path()).await.len(), 2);

    // The fresh token is cached: no further fetch.
    gateway.status(ORDER_ID).await.unwrap();
    assert_eq!(paypal.requests_to(TOKEN_PATH).await.len(), 2);
}

#[tokio::test]
async fn a_401_that_survives_the_refresh_makes_paypal_unavailable() {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("GET")).and(path(order_path())).respond_with(unauthorized()).mount(&paypal.server).await;

    let answer = paypal.gateway().status(ORDER_ID).await;

    assert!(matches!(answer, Err(GatewayError::Unavailable(_))), "{answer:?}");
    assert_eq!(paypal.requests_to(TOKEN_PATH).await.len(), 2, "exactly one refresh");
    assert_eq!(paypal.requests_to(&order_path()).await.len(), 2);
}

#[tokio::test]
async fn refused_client_credentials_make_paypal_unavailable_and_stay_out_of_the_error() {
    let paypal = FakePaypal::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_client",
            "error_description": format!("Client Authentication failed for {CLIENT_SECRET}")
        })))
        .expect(1)
        .mount(&paypal.server)
        .await;

    let answer = paypal.gateway().status(ORDER_ID).await;

    let Err(GatewayError::Unavailable(message)) = answer else { panic!("{answer:?}") };
    assert!(!message.contains(CLIENT_SECRET) && !message.contains("invalid_client"), "{message}");
    assert!(paypal.requests_to(&order_path()).await.is_empty());
}

#[tokio::test]
async fn a_client_for_the_live_api_builds_with_the_ring_provider() {
    let config = PaypalConfig::live(CLIENT_ID, Secret::new(CLIENT_SECRET), "https://r", "https://c");
    assert_eq!(config.api_base, LIVE_API_BASE);
    let client = PaypalClient::new(config).unwrap();
    assert!(!format!("{client:?}").contains(CLIENT_SECRET));
}

#[tokio::test]
async fn unusable_configurations_are_refused() {
    let base = PaypalConfig::sandbox(CLIENT_ID, Secret::new(CLIENT_SECRET), "https://r", "https://c");
    for config in [
        PaypalConfig { api_base: "ftp://paypal".into(), ..base.clone() },
        PaypalConfig { client_secret: Secret::new(""), ..base.clone() },
        PaypalConfig { timeout_ms: 0, ..base.clone() },
    ] {
        assert!(PaypalClient::new(config).is_err());
    }
}
