//! HTTP calls to Stripe: bearer key, form-encoded bodies, a timeout on
//! every call, and bounded retries with full jitter on network errors, 429
//! and 5xx, always with the same `Idempotency-Key` so a retried create can
//! never make a second PaymentIntent.

use std::sync::Arc;
use std::time::Duration;

use domain::ports::GatewayError;
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use thread_local::ThreadLocal;

use crate::config::StripeConfig;
use crate::wire::ErrorEnvelope;

/// First retry waits up to this long; each further retry doubles it.
const BACKOFF_BASE_MS: u64 = 100;
/// No retry waits longer than this.
const BACKOFF_CAP_MS: u64 = 2_000;

/// A failed call, before mapping to the domain.
#[derive(Debug)]
pub(crate) enum CallError {
    /// Stripe answered with an error status and body.
    Api { status: StatusCode, error: Option<ErrorEnvelope> },
    /// Nothing usable came back (network, timeout, 5xx after retries).
    Unavailable(String),
}

impl CallError {
    pub(crate) fn into_gateway_error(self) -> GatewayError {
        match self {
            CallError::Api { status: StatusCode::NOT_FOUND, .. } => GatewayError::UnknownPayment,
            // Another request with the same Idempotency-Key is still in
            // flight at Stripe: not a refusal; asking again later helps.
            CallError::Api { status: StatusCode::CONFLICT, .. } => {
                GatewayError::Unavailable("a request with this idempotency key is in progress".to_owned())
            }
            CallError::Api { status, error } if status.is_client_error() && status != StatusCode::UNAUTHORIZED => {
                let summary = error.map(|e| e.error.summary()).unwrap_or_else(|| status.to_string());
                GatewayError::InvalidRequest(summary)
            }
            CallError::Api { status, .. } => GatewayError::Unavailable(format!("Stripe answered {status}")),
            CallError::Unavailable(cause) => GatewayError::Unavailable(cause),
        }
    }
}

/// A Stripe API client.
#[derive(Clone)]
pub(crate) struct StripeClient {
    /// One HTTP client, and so one connection pool, per thread. hyper
    /// drives a pooled connection on the runtime of the thread that opened
    /// it, and the server's HTTP workers are single-threaded runtimes that
    /// wait on short database calls in place: a connection shared between
    /// workers would make a call from one worker wait until the worker that
    /// opened the connection is free to write the request and read the
    /// answer.
    http: Arc<ThreadLocal<reqwest::Client>>,
    config: StripeConfig,
}

fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Full jitter: a uniform wait between zero and the capped exponential.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE_MS.saturating_mul(1_u64 << attempt.min(16)).min(BACKOFF_CAP_MS);
    Duration::from_millis(rand::rng().random_range(0..=ceiling))
}

impl StripeClient {
    pub(crate) fn new(config: StripeConfig) -> Result<Self, GatewayError> {
        // reqwest is built without a default TLS provider: install ring's
        // (an error only means one is installed already).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Self { http: Arc::new(ThreadLocal::new()), config };
        // This thread's client now: a setting reqwest refuses fails here,
        // at start-up, rather than at the first call.
        client.http()?;
        Ok(client)
    }

    /// This thread's HTTP client.
    fn http(&self) -> Result<&reqwest::Client, GatewayError> {
        self.http.get_or_try(|| {
            reqwest::Client::builder()
                .timeout(Duration::from_millis(self.config.timeout_ms))
                .connect_timeout(Duration::from_millis(self.config.timeout_ms))
                .build()
                .map_err(|e| GatewayError::Unavailable(format!("HTTP client: {e}")))
        })
    }

    /// Calls `method path` with a form body, retrying what may be retried.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        form: &[(String, String)],
        idempotency_key: Option<&str>,
    ) -> Result<T, CallError> {
        let url = format!("{}{}", self.config.api_base.trim_end_matches('/'), path);
        let body = serde_urlencoded::to_string(form).map_err(|e| CallError::Unavailable(e.to_string()))?;
        let mut attempt = 0;
        loop {
            // Asked on every attempt: after an await the task may run on
            // another thread (outside the HTTP workers).
            let http = self.http().map_err(|e| CallError::Unavailable(e.to_string()))?;
            let mut request = http.request(method.clone(), &url).bearer_auth(&self.config.secret_key);
            if method != Method::GET {
                request = request.header("content-type", "application/x-www-form-urlencoded").body(body.clone());
            }
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            let outcome = request.send().await;
            let retry_reason = match outcome {
                Ok(response) if response.status().is_success() => {
                    return response
                        .json::<T>()
                        .await
                        .map_err(|e| CallError::Unavailable(format!("unreadable answer: {e}")));
                }
                Ok(response) if retryable(response.status()) => format!("Stripe answered {}", response.status()),
                Ok(response) => {
                    let status = response.status();
                    let error = response.json::<ErrorEnvelope>().await.ok();
                    return Err(CallError::Api { status, error });
                }
                Err(e) if e.is_timeout() => "timed out".to_owned(),
                Err(e) => format!("network error: {}", e.without_url()),
            };
            if attempt >= self.config.max_retries {
                tracing::warn!(path, attempts = attempt + 1, reason = %retry_reason, "Stripe call failed");
                return Err(CallError::Unavailable(retry_reason));
            }
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A keep-alive HTTP/1.1 stand-in on loopback answering every request
    /// `{}`; its base URL.
    fn answer_everything() -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                std::thread::spawn(move || {
                    let mut request = Vec::new();
                    let mut buf = [0_u8; 1024];
                    while let Ok(n @ 1..) = stream.read(&mut buf) {
                        request.extend_from_slice(&buf[..n]);
                        if request.windows(4).any(|w| w == b"\r\n\r\n") {
                            request.clear();
                            let answer =
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                            stream.write_all(answer.as_bytes()).unwrap();
                        }
                    }
                });
            }
        });
        base
    }

    fn one_thread_runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    /// The server's HTTP workers are single-threaded runtimes that wait on
    /// short database calls in place. A call from one must not need another
    /// to be free, as it would if they shared a pooled connection (hyper
    /// drives each on the runtime that opened it).
    #[test]
    fn a_call_does_not_wait_for_the_thread_that_opened_an_earlier_connection() {
        let config = StripeConfig {
            api_base: answer_everything(),
            timeout_ms: 2_000,
            max_retries: 0,
            ..StripeConfig::new("sk_test_threads".to_owned())
        };
        let client = StripeClient::new(config).unwrap();
        let (opened, connection_idle) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let other = client.clone();
        let worker = std::thread::spawn(move || {
            one_thread_runtime().block_on(async {
                let first = other.call::<serde_json::Value>(Method::GET, "/v1/payment_intents/pi_1", &[], None);
                first.await.unwrap();
                opened.send(()).unwrap();
                // Blocks the runtime's only thread, as a database call does.
                released.recv().unwrap();
            });
        });
        connection_idle.recv().unwrap();
        let second = client.call::<serde_json::Value>(Method::GET, "/v1/payment_intents/pi_2", &[], None);
        let answered = one_thread_runtime().block_on(second);
        release.send(()).unwrap();
        worker.join().unwrap();
        assert!(answered.is_ok(), "the second call waited for the blocked thread: {:?}", answered.err());
    }

    #[test]
    fn backoff_stays_within_its_cap() {
        for attempt in 0..40 {
            assert!(backoff(attempt) <= Duration::from_millis(BACKOFF_CAP_MS));
        }
    }
}
