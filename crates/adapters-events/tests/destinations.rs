//! Where deliveries may connect, checked on the address dialled: a host
//! name that resolves to loopback at delivery time (as after DNS
//! rebinding: it may have resolved elsewhere at registration) and address
//! literals in any spelling are refused before anything is sent, with a
//! coarse category that names no address.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use adapters_events::{HttpEventSender, SystemResolver};
use domain::destinations::Destinations;
use domain::ports::{EventSender, HostResolver, SendResult, Unresolved};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const REFUSED: &str = "destination address not allowed";

async fn receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).mount(&server).await;
    server
}

fn sender(destinations: Destinations) -> HttpEventSender {
    HttpEventSender::new(Duration::from_secs(2), destinations).unwrap()
}

#[tokio::test]
async fn a_host_name_resolving_to_loopback_is_refused_at_connection_and_nothing_is_sent() {
    let server = receiver().await;
    let port = server.address().port();
    let body = br#"{"id":"evt_1"}"#;
    let strict = sender(Destinations::PublicOnly);
    for url in [format!("http://localhost:{port}/hooks"), format!("http://LocalHost:{port}/hooks")] {
        assert_eq!(strict.send(&url, "s", body, "evt_1", 0).await, SendResult::Failed(REFUSED.into()), "{url}");
    }
    assert!(server.received_requests().await.unwrap().is_empty(), "no request reached the loopback receiver");

    // The same receiver is reached where private destinations are allowed.
    let development = sender(Destinations::PrivateAllowed);
    let url = format!("http://localhost:{port}/hooks");
    assert_eq!(development.send(&url, "s", body, "evt_1", 0).await, SendResult::Answered(204));
}

#[tokio::test]
async fn address_literals_in_any_spelling_are_refused_before_sending() {
    let server = receiver().await;
    let port = server.address().port();
    let strict = sender(Destinations::PublicOnly);
    for host in ["127.0.0.1", "0x7f.1", "2130706433", "[::ffff:127.0.0.1]", "[::1]", "169.254.169.254", "10.0.0.1"] {
        let url = format!("http://{host}:{port}/hooks");
        assert_eq!(strict.send(&url, "s", b"{}", "evt_1", 0).await, SendResult::Failed(REFUSED.into()), "{url}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_system_resolver_answers_every_address_of_a_name_or_unresolved() {
    let loopback = SystemResolver.resolve("localhost").await.unwrap();
    assert!(!loopback.is_empty() && loopback.iter().all(|address| address.is_loopback()), "{loopback:?}");
    // `.invalid` never resolves (RFC 6761).
    assert_eq!(SystemResolver.resolve("no-such-host.invalid").await, Err(Unresolved));
}
