//! The HTTP core shared by the gateway, payouts and the webhook verifier: one
//! `adapters-http` client (one connection pool, timeouts, retries with full
//! jitter, the `PayPal-Request-Id` header), one token cache, and the one-time
//! token refresh on a 401.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use adapters_http::{HttpClient, HttpSettings, Method, StatusCode, read_body, transient};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use crate::config::{MAX_BACKOFF_MS, PaypalConfig};
use crate::error::{ApiError, CallError, SetupError};
use crate::token::{AccessToken, CachedToken};
use crate::wire::TokenResponse;

/// The idempotency header of PayPal's write endpoints.
pub(crate) const REQUEST_ID_HEADER: &str = "PayPal-Request-Id";
/// PayPal answers a JSON body of at most this size; anything larger is not
/// an answer we expect and is refused rather than buffered.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// The `User-Agent` of every call.
const USER_AGENT: &str = "Skillpay-PayPal/1";
/// `POST /v1/oauth2/token`.
const TOKEN_PATH: &str = "/v1/oauth2/token";
const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";
/// The boundary of the multipart bodies we send (see
/// [`Call::post_multipart_json`]).
const MULTIPART_BOUNDARY: &str = "skillpay-part-boundary-5b1c0e";
const MULTIPART: &str = "multipart/form-data; boundary=skillpay-part-boundary-5b1c0e";

/// A client for PayPal's REST API; cheap to clone (clones share the
/// connection pool and the token cache).
#[derive(Clone)]
pub struct PaypalClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpClient,
    config: PaypalConfig,
    /// `api_base` without a trailing slash.
    base: String,
    token: Mutex<Option<CachedToken>>,
}

impl fmt::Debug for PaypalClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaypalClient").field("api_base", &self.inner.base).finish_non_exhaustive()
    }
}

/// One request, kept whole so every retry sends the same bytes and the same
/// `PayPal-Request-Id`.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    method: Method,
    path: String,
    body: Option<(&'static str, Vec<u8>)>,
    request_id: Option<String>,
    representation: bool,
}

impl Call {
    /// A `GET` of `path` (starting with `/`).
    pub fn get(path: String) -> Self {
        Self { method: Method::GET, path, body: None, request_id: None, representation: false }
    }

    /// A `POST` of `body` as JSON to `path`.
    pub fn post_json(path: String, body: &impl Serialize) -> Result<Self, CallError> {
        let bytes = serde_json::to_vec(body).map_err(|_| CallError::Unreadable("request body not serialisable"))?;
        Ok(Self { method: Method::POST, path, body: Some((JSON, bytes)), request_id: None, representation: false })
    }

    /// A `POST` of `multipart/form-data` to `path` with one part, `name`,
    /// holding `body` as JSON (PayPal's dispute evidence takes its JSON
    /// only this way).
    ///
    /// Built by hand rather than with reqwest's `multipart` feature so every
    /// retry sends the same bytes, like every other call. The fixed boundary
    /// is safe: a delimiter starts with CR LF, which compact JSON never
    /// contains (serde_json escapes them inside strings).
    pub fn post_multipart_json(path: String, name: &'static str, body: &impl Serialize) -> Result<Self, CallError> {
        let json = serde_json::to_vec(body).map_err(|_| CallError::Unreadable("request body not serialisable"))?;
        if json.contains(&b'\r') || json.contains(&b'\n') {
            return Err(CallError::Unreadable("request body not serialisable"));
        }
        let mut bytes = Vec::with_capacity(json.len() + 160);
        bytes.extend_from_slice(format!("--{MULTIPART_BOUNDARY}\r\n").as_bytes());
        bytes.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n").as_bytes());
        bytes.extend_from_slice(format!("Content-Type: {JSON}\r\n\r\n").as_bytes());
        bytes.extend_from_slice(&json);
        bytes.extend_from_slice(format!("\r\n--{MULTIPART_BOUNDARY}--\r\n").as_bytes());
        Ok(Self { method: Method::POST, path, body: Some((MULTIPART, bytes)), request_id: None, representation: false })
    }

    /// With PayPal's idempotency key.
    pub fn request_id(self, request_id: String) -> Self {
        Self { request_id: Some(request_id), ..self }
    }

    /// Asks for the full resource in the answer (`Prefer:
    /// return=representation`), not just id, status and links.
    pub fn representation(self) -> Self {
        Self { representation: true, ..self }
    }

    fn token() -> Self {
        Self {
            method: Method::POST,
            path: TOKEN_PATH.to_owned(),
            body: Some((FORM, b"grant_type=client_credentials".to_vec())),
            request_id: None,
            representation: false,
        }
    }
}

/// An HTTP answer read in full.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    body: Vec<u8>,
}

impl Reply {
    /// The body as `T`; `what` names it in the error.
    pub fn json<T: DeserializeOwned>(&self, what: &'static str) -> Result<T, CallError> {
        serde_json::from_slice(&self.body).map_err(|_| CallError::Unreadable(what))
    }

    /// PayPal's error in this answer.
    pub fn api_error(&self) -> ApiError {
        let error = ApiError::parse(self.status, &self.body);
        tracing::info!(
            status = error.status,
            name = error.name.as_deref(),
            issue = error.issue.as_deref(),
            debug_id = error.debug_id.as_deref(),
            "PayPal refused a request"
        );
        error
    }

    /// The answer if it is a success, else PayPal's error.
    pub fn success(self) -> Result<Self, CallError> {
        if self.status.is_success() { Ok(self) } else { Err(CallError::Api(self.api_error())) }
    }
}

/// How a request authenticates.
enum Auth<'a> {
    /// The app's own credentials (token endpoint only).
    Client,
    /// An access token.
    Bearer(&'a AccessToken),
}

impl PaypalClient {
    /// A client for `config`. Installs rustls's ring crypto provider for the
    /// process if none is installed yet.
    pub fn new(config: PaypalConfig) -> Result<Self, SetupError> {
        let base = config.api_base.trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(SetupError::InvalidConfig("api_base must be an http(s) URL"));
        }
        if config.client_id.is_empty() || config.client_secret.expose().is_empty() {
            return Err(SetupError::InvalidConfig("client_id and client_secret are required"));
        }
        if config.timeout_ms == 0 {
            return Err(SetupError::InvalidConfig("timeout_ms must be positive"));
        }
        let settings = HttpSettings {
            timeout_ms: config.timeout_ms,
            max_retries: config.max_retries,
            backoff_first_ms: config.backoff_base_ms,
            backoff_cap_ms: MAX_BACKOFF_MS,
            ..HttpSettings::new(USER_AGENT, REQUEST_ID_HEADER)
        };
        let http = HttpClient::new(&settings).map_err(|error| match error {
            adapters_http::SetupError::InvalidSettings(what) => SetupError::InvalidConfig(what),
            adapters_http::SetupError::Client => SetupError::Http,
        })?;
        Ok(Self { inner: Arc::new(Inner { http, config, base, token: Mutex::new(None) }) })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &PaypalConfig {
        &self.inner.config
    }

    /// Sends an authenticated call and answers PayPal's reply, whatever its
    /// status, except: a 401 that persists after one token refresh becomes
    /// [`CallError::Unauthorized`]; retries that all failed become
    /// [`CallError::Server`] or [`CallError::Transport`].
    pub(crate) async fn send(&self, call: &Call) -> Result<Reply, CallError> {
        let token = self.access_token().await?;
        let reply = self.send_with_retries(call, Auth::Bearer(&token)).await?;
        if reply.status != StatusCode::UNAUTHORIZED {
            return Ok(reply);
        }
        // PayPal can revoke a token before its expiry (credentials rotated,
        // token invalidated on its side): fetch a new one, once.
        tracing::info!("PayPal refused the access token; fetching a new one");
        self.forget_token(&token).await;
        let token = self.access_token().await?;
        let reply = self.send_with_retries(call, Auth::Bearer(&token)).await?;
        if reply.status == StatusCode::UNAUTHORIZED {
            return Err(CallError::Unauthorized);
        }
        Ok(reply)
    }

    /// The cached token, or a new one. The lock is held across the fetch so
    /// concurrent callers share one fetch.
    async fn access_token(&self) -> Result<AccessToken, CallError> {
        let mut slot = self.inner.token.lock().await;
        if let Some(token) = slot.as_ref().and_then(|cached| cached.usable_at(Instant::now())) {
            return Ok(token.clone());
        }
        let fetched_at = Instant::now();
        let reply = self.send_with_retries(&Call::token(), Auth::Client).await?;
        if !reply.status.is_success() {
            // The token endpoint's errors (`invalid_client`, ...) all mean our
            // credentials are wrong or not allowed: nothing a caller can fix.
            tracing::warn!(status = reply.status.as_u16(), "PayPal refused the client credentials");
            return Err(CallError::Unauthorized);
        }
        let answer: TokenResponse = reply.json("token answer")?;
        if answer.access_token.is_empty() {
            return Err(CallError::Unreadable("token answer"));
        }
        let token = AccessToken::new(answer.access_token);
        *slot = Some(CachedToken::new(token.clone(), fetched_at, answer.expires_in));
        Ok(token)
    }

    /// Drops `stale` from the cache unless another caller already replaced
    /// it (so concurrent 401s cause one refresh, not one each).
    async fn forget_token(&self, stale: &AccessToken) {
        let mut slot = self.inner.token.lock().await;
        if slot.as_ref().is_some_and(|cached| cached.holds(stale)) {
            *slot = None;
        }
    }

    /// Sends `call` once through the shared client, which retries
    /// connection errors, timeouts, 429 and 5xx with the same bytes and
    /// `PayPal-Request-Id`; a 429 or 5xx after the retries is
    /// [`CallError::Server`]. The body is read in full, within
    /// [`MAX_RESPONSE_BYTES`].
    async fn send_with_retries(&self, call: &Call, auth: Auth<'_>) -> Result<Reply, CallError> {
        let config = &self.inner.config;
        let url = format!("{}{}", self.inner.base, call.path);
        let mut request = self.inner.http.request(call.method.clone(), &url).header("accept", JSON);
        request = match auth {
            Auth::Client => request.basic_auth(&config.client_id, config.client_secret.expose()),
            Auth::Bearer(token) => request.bearer_auth(token.expose()),
        };
        if let Some(request_id) = &call.request_id {
            request = request.idempotency_key(request_id);
        }
        if call.representation {
            request = request.header("Prefer", "return=representation");
        }
        if let Some((content_type, body)) = &call.body {
            request = request.body(content_type, body.clone());
        }
        let response = request.send().await.map_err(CallError::Transport)?;
        let status = response.status();
        if transient(status) {
            return Err(CallError::Server(status.as_u16()));
        }
        let body = read_body(response, MAX_RESPONSE_BYTES).await.map_err(CallError::Transport)?;
        Ok(Reply { status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_multipart_content_type_names_the_boundary_the_body_uses() {
        assert_eq!(MULTIPART, format!("multipart/form-data; boundary={MULTIPART_BOUNDARY}"));
        let call =
            Call::post_multipart_json("/x".to_owned(), "input", &serde_json::json!({"notes": "a\r\nb"})).unwrap();
        let Some((content_type, body)) = call.body else { panic!("no body") };
        assert_eq!(content_type, MULTIPART);
        let text = String::from_utf8(body).unwrap();
        assert_eq!(
            text,
            format!(
                "--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name=\"input\"\r\n\
                 Content-Type: application/json\r\n\r\n{{\"notes\":\"a\\r\\nb\"}}\r\n--{MULTIPART_BOUNDARY}--\r\n"
            )
        );
    }
}
