//! HTTP calls to Stripe: bearer key, form-encoded bodies, and the shared
//! client of `adapters-http` (a timeout on every call, bounded retries with
//! full jitter on network errors, 429 and 5xx, always with the same
//! `Idempotency-Key` so a retried create can never make a second
//! PaymentIntent).

use adapters_http::{HttpClient, HttpSettings, Method, StatusCode, read_body, transient};
use domain::ports::GatewayError;
use serde::de::DeserializeOwned;

use crate::config::StripeConfig;
use crate::wire::ErrorEnvelope;

/// The idempotency header of Stripe's write endpoints.
const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// The `User-Agent` of every call.
const USER_AGENT: &str = "Skillpay-Stripe/1";
/// First retry waits up to this long; each further retry doubles it.
const BACKOFF_FIRST_MS: u64 = 100;
/// No retry waits longer than this.
const BACKOFF_CAP_MS: u64 = 2_000;
/// Stripe's answers (one object, or a page of at most 100) are far smaller;
/// anything larger is refused rather than buffered.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

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

/// A Stripe API client; clones share one connection pool.
#[derive(Clone)]
pub(crate) struct StripeClient {
    http: HttpClient,
    config: StripeConfig,
}

impl StripeClient {
    pub(crate) fn new(config: StripeConfig) -> Result<Self, GatewayError> {
        let settings = HttpSettings {
            timeout_ms: config.timeout_ms,
            max_retries: config.max_retries,
            backoff_first_ms: BACKOFF_FIRST_MS,
            backoff_cap_ms: BACKOFF_CAP_MS,
            ..HttpSettings::new(USER_AGENT, IDEMPOTENCY_HEADER)
        };
        // A setting reqwest refuses fails here, at start-up, rather than at
        // the first call.
        let http = HttpClient::new(&settings).map_err(|e| GatewayError::Unavailable(format!("Stripe: {e}")))?;
        Ok(Self { http, config })
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
        let mut request = self.http.request(method.clone(), &url).bearer_auth(&self.config.secret_key);
        if method != Method::GET {
            let body = serde_urlencoded::to_string(form)
                .map_err(|_| CallError::Unavailable("request body not encodable".to_owned()))?;
            request = request.body("application/x-www-form-urlencoded", body);
        }
        if let Some(key) = idempotency_key {
            request = request.idempotency_key(key);
        }
        let response = request.send().await.map_err(|failure| {
            tracing::warn!(path, %failure, "Stripe call failed");
            CallError::Unavailable(failure.to_string())
        })?;
        let status = response.status();
        if transient(status) {
            // The retries are spent: the last answer stands.
            tracing::warn!(path, %status, "Stripe call failed");
            return Err(CallError::Unavailable(format!("Stripe answered {status}")));
        }
        let body = read_body(response, MAX_RESPONSE_BYTES).await;
        if status.is_success() {
            let body = body.map_err(|failure| CallError::Unavailable(format!("unreadable answer: {failure}")))?;
            return serde_json::from_slice(&body).map_err(|_| CallError::Unavailable("unreadable answer".to_owned()));
        }
        let error = body.ok().and_then(|body| serde_json::from_slice::<ErrorEnvelope>(&body).ok());
        Err(CallError::Api { status, error })
    }
}
