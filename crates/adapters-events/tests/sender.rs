//! The sender against a local endpoint: the body arrives as sent, signed,
//! with the event id; statuses and failures come back as they are.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use adapters_events::{EVENT_ID_HEADER, HttpEventSender, SIGNATURE_HEADER, verify};
use domain::destinations::Destinations;
use domain::ports::{EventSender, SendResult};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn events_arrive_signed_and_answers_come_back_as_they_are() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ok"))
        .and(header(EVENT_ID_HEADER, "evt_1"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    // Sent once: retries are the delivery worker's, spread over time.
    Mock::given(method("POST"))
        .and(path("/down"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/moved"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/ok"))
        .mount(&server)
        .await;
    // The stand-in listens on loopback, as development receivers do.
    let sender = HttpEventSender::new(Duration::from_millis(500), Destinations::PrivateAllowed).unwrap();
    let body = br#"{"id":"evt_1","type":"payment.completed"}"#;
    let url = |p: &str| format!("{}{p}", server.uri());

    assert_eq!(sender.send(&url("/ok"), "whsec_x", body, "evt_1", 1_800_000_000).await, SendResult::Answered(204));
    let received = &server.received_requests().await.unwrap()[0];
    assert_eq!(received.body, body);
    let signature = received.headers.get(SIGNATURE_HEADER).unwrap().to_str().unwrap();
    assert!(verify(body, "whsec_x", signature, 1_800_000_010, 300));

    assert_eq!(sender.send(&url("/down"), "s", body, "evt_1", 0).await, SendResult::Answered(503));
    assert_eq!(sender.send(&url("/moved"), "s", body, "evt_1", 0).await, SendResult::Answered(301), "not followed");
    assert_eq!(sender.send(&url("/slow"), "s", body, "evt_1", 0).await, SendResult::Failed("timed out".into()));
    let closed = "http://127.0.0.1:9/nothing-listens";
    assert_eq!(sender.send(closed, "s", body, "evt_1", 0).await, SendResult::Failed("connection failed".into()));
}
