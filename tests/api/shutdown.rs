//! The shutdown sequence: readiness turns 503 at once while requests are
//! still served; requests in flight finish; workers stop after their item;
//! afterwards nothing is accepted.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skillpay_e2e::spawn_app_with;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A PayPal stand-in whose webhook verification takes `delay`: a webhook
/// request is then in flight that long.
async fn slow_paypal(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "A21AAtest", "token_type": "Bearer", "expires_in": 32400, "app_id": "APP-1", "nonce": "n", "scope": "s"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/notifications/verify-webhook-signature"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"verification_status": "SUCCESS"})).set_delay(delay),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn shutting_down_drains_finishes_requests_in_flight_and_stops_workers() {
    let paypal = slow_paypal(Duration::from_millis(1_500)).await;
    let uri = paypal.uri();
    let app = spawn_app_with(&[
        ("PAYPAL_CLIENT_ID", "client-id"),
        ("PAYPAL_CLIENT_SECRET", "client-secret"),
        ("PAYPAL_API_BASE", &uri),
        ("PAYPAL_WEBHOOK_ID", "WH-ID-1"),
        ("SKILLPAY_EVENT_POLL_MS", "50"),
    ])
    .await;
    // A second server over the same state, with its workers: the binary's setup.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = app::start_server(app.state.clone(), listener, 10).unwrap();
    let handle = server.handle();
    let serving = tokio::spawn(server);
    let workers = app::lifecycle::Workers::start(&app.state, &app.config);
    assert_eq!(app.client.get(format!("{base}/readyz")).send().await.unwrap().status(), 200);

    let event = json!({"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED", "resource_type": "capture",
        "create_time": "2026-11-26T10:00:00Z", "resource": {"id": "3C679366HH908993F"}})
    .to_string();
    let in_flight = {
        let client = app.client.clone();
        let url = format!("{base}/api/payments/webhooks/paypal/");
        tokio::spawn(async move {
            client
                .post(url)
                .header("content-type", "application/json")
                .header("paypal-transmission-id", "t-1")
                .header("paypal-transmission-time", chrono::Utc::now().to_rfc3339())
                .header("paypal-transmission-sig", "c2ln")
                .header("paypal-cert-url", "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1")
                .header("paypal-auth-algo", "SHA256withRSA")
                .body(event)
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let state = app.state.clone();
    let stopping = tokio::spawn(async move {
        app::lifecycle::shut_down(&state, handle, workers, Duration::from_millis(500), Duration::from_secs(10)).await;
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Draining: not ready, still serving.
    let ready = app.client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let problem: Value = ready.json().await.unwrap();
    assert_eq!(problem["code"], "shutting_down");
    assert_eq!(app.client.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);

    // The request in flight finishes with its real answer.
    let answered = in_flight.await.unwrap().expect("the request in flight was cut off");
    assert_eq!(answered.status(), 200);
    stopping.await.unwrap();
    serving.await.unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "stopped within the timeout");
    assert!(app.client.get(format!("{base}/healthz")).send().await.is_err(), "nothing is accepted after stopping");
}

#[tokio::test]
async fn workers_stop_promptly_between_items() {
    let app = spawn_app_with(&[("SKILLPAY_EVENT_POLL_MS", "50")]).await;
    let workers = app::lifecycle::Workers::start(&app.state, &app.config);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    assert!(workers.stop(Duration::from_secs(5)).await, "workers stopped in time");
    assert!(started.elapsed() < Duration::from_secs(2));
}
