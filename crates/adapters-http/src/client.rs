//! The shared client and the requests it sends.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderName};
use reqwest::redirect::Policy;
use reqwest::{Method, Response};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, RequestBuilder};
use reqwest_retry::RetryTransientMiddleware;

use crate::failure::{Failure, SetupError};
use crate::retry::{TransientFailures, failure_of, policy};
use crate::settings::{HttpSettings, Redirects};

/// One gateway's HTTP client: one connection pool, its limits and retries.
/// Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct HttpClient {
    http: ClientWithMiddleware,
    idempotency_header: HeaderName,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient").field("idempotency_header", &self.idempotency_header).finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for `settings`. Installs rustls's ring crypto provider for
    /// the process if none is installed yet (reqwest is built without one,
    /// which keeps aws-lc out of the build).
    pub fn new(settings: &HttpSettings) -> Result<Self, SetupError> {
        Self::build(settings, |builder| builder)
    }

    /// A client for `settings` that resolves host names with `resolver` and
    /// never goes through a proxy (`HTTPS_PROXY` and the like are ignored):
    /// the addresses `resolver` answers are the ones dialled, so it can
    /// refuse some with [`RefusedDestination`](crate::RefusedDestination).
    /// Address literals (`https://10.0.0.1/`) are dialled without
    /// resolving: callers check those before sending.
    pub fn with_resolver(
        settings: &HttpSettings,
        resolver: Arc<dyn reqwest::dns::Resolve>,
    ) -> Result<Self, SetupError> {
        Self::build(settings, |builder| builder.dns_resolver(resolver).no_proxy())
    }

    fn build(
        settings: &HttpSettings,
        configure: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> Result<Self, SetupError> {
        if settings.timeout_ms == 0 {
            return Err(SetupError::InvalidSettings("timeout_ms must be positive"));
        }
        let idempotency_header = HeaderName::from_bytes(settings.idempotency_header.as_bytes())
            .map_err(|_| SetupError::InvalidSettings("idempotency_header is not a header name"))?;
        // An error only means another part of the process installed a
        // provider first, which serves as well.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let timeout = Duration::from_millis(settings.timeout_ms);
        let redirect = match settings.redirects {
            Redirects::Follow => Policy::default(),
            Redirects::Refuse => Policy::none(),
        };
        let builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(redirect)
            .user_agent(settings.user_agent.as_str());
        let client = configure(builder).build().map_err(|_| SetupError::Client)?;
        let retries = RetryTransientMiddleware::new_with_policy_and_strategy(policy(settings), TransientFailures);
        Ok(Self { http: ClientBuilder::new(client).with(retries).build(), idempotency_header })
    }

    /// A `method` request to `url`; an unusable URL fails at
    /// [`Request::send`] as [`Failure::NotBuilt`].
    pub fn request(&self, method: Method, url: &str) -> Request {
        Request { builder: self.http.request(method, url), idempotency_header: self.idempotency_header.clone() }
    }
}

/// A request being built. Its body is bytes, so every retry sends the same.
#[must_use = "a request does nothing until sent"]
pub struct Request {
    builder: RequestBuilder,
    idempotency_header: HeaderName,
}

impl Request {
    /// Adds a header.
    pub fn header(self, name: &str, value: &str) -> Self {
        Self { builder: self.builder.header(name, value), ..self }
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer_auth(self, token: &str) -> Self {
        Self { builder: self.builder.bearer_auth(token), ..self }
    }

    /// `Authorization: Basic <user:password>`.
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        Self { builder: self.builder.basic_auth(user, Some(password)), ..self }
    }

    /// The body and its `Content-Type`.
    pub fn body(self, content_type: &str, bytes: impl Into<Vec<u8>>) -> Self {
        Self { builder: self.builder.header(CONTENT_TYPE, content_type).body(bytes.into()), ..self }
    }

    /// The idempotency key, in the header the client's settings name; every
    /// retry carries it.
    pub fn idempotency_key(self, key: &str) -> Self {
        let header = self.idempotency_header.clone();
        Self { builder: self.builder.header(header, key), ..self }
    }

    /// Sends the request, retrying what may be retried. Any HTTP answer is
    /// `Ok`, an error status too (after the retries, for 429 and 5xx); `Err`
    /// is a request that got no answer on its last attempt.
    pub async fn send(self) -> Result<Response, Failure> {
        self.builder.send().await.map_err(|error| failure_of(&error))
    }
}

/// The body of `response`, refused if it grows beyond `max_bytes` (an answer
/// that large is not one the caller expects, and is not buffered).
pub async fn read_body(mut response: Response, max_bytes: usize) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|error| Failure::of(&error))? {
        if body.len().saturating_add(chunk.len()) > max_bytes {
            return Err(Failure::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
