//! How one gateway's (or event delivery's) HTTP calls are made.

/// Default time limit of the connection and of one whole attempt.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Default retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// Default ceiling of the wait before the first retry; it doubles per retry.
pub const DEFAULT_BACKOFF_FIRST_MS: u64 = 100;
/// Default ceiling no wait exceeds, whatever the retry number.
pub const DEFAULT_BACKOFF_CAP_MS: u64 = 2_000;

/// What to do with a 3xx answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// Follow it (reqwest's policy: at most 10 hops).
    Follow,
    /// Answer it as it is: for event delivery, a redirect is an answer, not a
    /// delivery.
    Refuse,
}

/// Settings of one [`HttpClient`](crate::HttpClient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Time limit of the connection, and of one whole attempt (connect, send,
    /// read the body). Must be positive.
    pub timeout_ms: u64,
    /// Retries after the first attempt; 0 sends once.
    pub max_retries: u32,
    /// Ceiling of the wait before the first retry; doubled per retry.
    pub backoff_first_ms: u64,
    /// No wait is longer than this. A `backoff_first_ms` above it is lowered
    /// to it.
    pub backoff_cap_ms: u64,
    /// The `User-Agent` of every request.
    pub user_agent: String,
    /// Whether 3xx answers are followed.
    pub redirects: Redirects,
    /// The header that carries a request's idempotency key
    /// ([`Request::idempotency_key`](crate::Request::idempotency_key)).
    pub idempotency_header: &'static str,
}

impl HttpSettings {
    /// The default limits, following redirects, with this user agent and
    /// idempotency header.
    pub fn new(user_agent: impl Into<String>, idempotency_header: &'static str) -> Self {
        Self {
            timeout_ms: DEFAULT_TIMEOUT_MS,
            max_retries: DEFAULT_MAX_RETRIES,
            backoff_first_ms: DEFAULT_BACKOFF_FIRST_MS,
            backoff_cap_ms: DEFAULT_BACKOFF_CAP_MS,
            user_agent: user_agent.into(),
            redirects: Redirects::Follow,
            idempotency_header,
        }
    }
}
