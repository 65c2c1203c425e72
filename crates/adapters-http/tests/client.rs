//! The shared client against a local stand-in (wiremock) that counts
//! attempts and records what each carried.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::time::Duration;

use adapters_http::{Failure, HttpClient, HttpSettings, Method, Redirects, SetupError, read_body};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY_HEADER: &str = "Idempotency-Key";

/// Quick retries so the tests stay fast.
fn settings() -> HttpSettings {
    HttpSettings {
        timeout_ms: 2_000,
        backoff_first_ms: 1,
        backoff_cap_ms: 5,
        ..HttpSettings::new("Test/1", KEY_HEADER)
    }
}

fn client(settings: &HttpSettings) -> HttpClient {
    HttpClient::new(settings).unwrap()
}

async fn received(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|value| value.to_str().ok())
}

#[tokio::test]
async fn a_503_then_a_200_is_retried_with_the_same_bytes_and_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/things"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST")).and(path("/v1/things")).respond_with(ResponseTemplate::new(200)).mount(&server).await;

    let answer = client(&settings())
        .request(Method::POST, &format!("{}/v1/things", server.uri()))
        .idempotency_key("pay_123")
        .body("application/x-www-form-urlencoded", "amount=4999&currency=usd")
        .send()
        .await
        .unwrap();

    assert_eq!(answer.status(), 200);
    let requests = received(&server).await;
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(header(request, KEY_HEADER), Some("pay_123"));
        assert_eq!(header(request, "user-agent"), Some("Test/1"));
        assert_eq!(request.body, b"amount=4999&currency=usd");
    }
}

#[tokio::test]
async fn a_400_is_answered_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(400)).expect(1).mount(&server).await;

    let answer = client(&settings()).request(Method::POST, &server.uri()).idempotency_key("k").send().await.unwrap();

    assert_eq!(answer.status(), 400);
}

#[tokio::test]
async fn a_persistent_429_is_tried_max_retries_plus_one_times_and_its_last_answer_returned() {
    let server = MockServer::start().await;
    let settings = HttpSettings { max_retries: 3, ..settings() };
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(429)).expect(4).mount(&server).await;

    let answer = client(&settings).request(Method::GET, &server.uri()).send().await.unwrap();

    assert_eq!(answer.status(), 429);
}

#[tokio::test]
async fn without_retries_a_503_is_sent_once() {
    let server = MockServer::start().await;
    let settings = HttpSettings { max_retries: 0, ..settings() };
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).expect(1).mount(&server).await;

    let answer = client(&settings).request(Method::POST, &server.uri()).send().await.unwrap();

    assert_eq!(answer.status(), 503);
}

#[tokio::test]
async fn a_slow_answer_times_out_on_every_attempt_and_says_only_that() {
    let server = MockServer::start().await;
    let settings = HttpSettings { timeout_ms: 200, max_retries: 1, ..settings() };
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .expect(2)
        .mount(&server)
        .await;

    let failure = client(&settings).request(Method::GET, &format!("{}/v1/pi_secret", server.uri())).send().await;

    assert_eq!(failure.unwrap_err(), Failure::TimedOut);
    assert_eq!(Failure::TimedOut.to_string(), "timed out");
}

#[tokio::test]
async fn a_refused_connection_is_named_without_the_url() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/payment_intents/pi_secret", closed.local_addr().unwrap());
    drop(closed);

    let failure = client(&settings()).request(Method::GET, &url).send().await.unwrap_err();

    assert_eq!(failure, Failure::ConnectionFailed);
    assert_eq!(failure.to_string(), "connection failed");
}

#[tokio::test]
async fn redirects_are_followed_or_answered_as_the_settings_say() {
    let server = MockServer::start().await;
    Mock::given(path("/moved"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/here"))
        .mount(&server)
        .await;
    Mock::given(path("/here")).respond_with(ResponseTemplate::new(204)).mount(&server).await;
    let url = format!("{}/moved", server.uri());

    let followed = client(&settings()).request(Method::GET, &url).send().await.unwrap();
    let refused = HttpSettings { redirects: Redirects::Refuse, ..settings() };
    let answered = client(&refused).request(Method::GET, &url).send().await.unwrap();

    assert_eq!(followed.status(), 204);
    assert_eq!(answered.status(), 301);
}

#[tokio::test]
async fn a_body_beyond_the_limit_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 2_048]))
        .mount(&server)
        .await;
    let http = client(&settings());

    let small = read_body(http.request(Method::GET, &server.uri()).send().await.unwrap(), 2_048).await;
    let large = read_body(http.request(Method::GET, &server.uri()).send().await.unwrap(), 2_047).await;

    assert_eq!(small.map(|body| body.len()), Ok(2_048));
    assert_eq!(large, Err(Failure::TooLarge));
}

#[test]
fn unusable_settings_are_refused_at_start_up() {
    let no_time = HttpSettings { timeout_ms: 0, ..settings() };
    let bad_header = HttpSettings { idempotency_header: "Idempotency Key", ..settings() };

    assert_eq!(HttpClient::new(&no_time).unwrap_err(), SetupError::InvalidSettings("timeout_ms must be positive"));
    assert!(matches!(HttpClient::new(&bad_header), Err(SetupError::InvalidSettings(_))));
}
