//! A client with a resolver of the caller's: the addresses it answers are
//! the ones dialled, a refusal fails the request as its own kind without a
//! connection, and proxies from the environment are not used.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use adapters_http::dns::{Addrs, Name, Resolve, Resolving};
use adapters_http::{Failure, HttpClient, HttpSettings, Method, RefusedDestination};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Answers `to` for every name, or refuses every name.
struct Fixed {
    to: Option<SocketAddr>,
}

impl Resolve for Fixed {
    fn resolve(&self, _name: Name) -> Resolving {
        let to = self.to;
        Box::pin(async move {
            match to {
                Some(address) => Ok(Box::new(std::iter::once(address)) as Addrs),
                None => Err(Box::new(RefusedDestination) as Box<dyn std::error::Error + Send + Sync>),
            }
        })
    }
}

fn client(to: Option<SocketAddr>) -> HttpClient {
    let settings = HttpSettings { timeout_ms: 2_000, max_retries: 2, ..HttpSettings::new("Test/1", "Idempotency-Key") };
    HttpClient::with_resolver(&settings, Arc::new(Fixed { to })).unwrap()
}

#[tokio::test]
async fn the_resolver_s_addresses_are_the_ones_dialled() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).mount(&server).await;
    let at = *server.address();
    let url = format!("http://receiver.invalid:{}/hooks", at.port());
    let answer = client(Some(at)).request(Method::POST, &url).send().await.unwrap();
    assert_eq!(answer.status(), 204);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_refused_destination_fails_at_once_as_its_own_kind() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).mount(&server).await;
    let url = format!("http://localhost:{}/hooks", server.address().port());
    let failure = client(None).request(Method::POST, &url).send().await.unwrap_err();
    assert_eq!(failure, Failure::DestinationRefused);
    assert_eq!(failure.to_string(), "destination address not allowed");
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing was sent, and nothing retried");
}
