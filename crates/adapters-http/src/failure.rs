//! What can go wrong, named by kind only.

/// A request that got no HTTP answer. The text is fixed per kind: reqwest's
/// own text names the URL, and URLs hold ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// No answer within the time limit (of the last attempt).
    #[error("timed out")]
    TimedOut,
    /// The connection could not be opened.
    #[error("connection failed")]
    ConnectionFailed,
    /// The request was cut off or otherwise failed on the way; the gateway
    /// may or may not have seen it.
    #[error("request failed")]
    RequestFailed,
    /// The request was malformed (never sent).
    #[error("request could not be built")]
    NotBuilt,
    /// The answer's body was larger than the caller accepts.
    #[error("answer too large")]
    TooLarge,
    /// The client's resolver refused every way to the host
    /// ([`RefusedDestination`]); nothing was sent.
    #[error("destination address not allowed")]
    DestinationRefused,
}

/// What a resolver given to [`HttpClient::with_resolver`](crate::HttpClient::with_resolver)
/// answers for a host it will not let the client reach: the request then
/// fails as [`Failure::DestinationRefused`], not as a connection failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("destination address not allowed")]
pub struct RefusedDestination;

impl Failure {
    /// The kind of a reqwest failure.
    pub(crate) fn of(error: &reqwest::Error) -> Self {
        if refused_by_resolver(error) {
            Self::DestinationRefused
        } else if error.is_timeout() {
            Self::TimedOut
        } else if error.is_connect() {
            Self::ConnectionFailed
        } else if error.is_builder() {
            Self::NotBuilt
        } else {
            Self::RequestFailed
        }
    }
}

/// Whether the resolver's [`RefusedDestination`] is among the causes
/// (reqwest wraps it in its own connection and DNS errors).
fn refused_by_resolver(error: &reqwest::Error) -> bool {
    let mut cause = std::error::Error::source(error);
    while let Some(error) = cause {
        if error.is::<RefusedDestination>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// The client could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// A setting is unusable.
    #[error("invalid HTTP settings: {0}")]
    InvalidSettings(&'static str),
    /// reqwest refused to build the client (TLS set-up failed).
    #[error("the HTTP client could not be created")]
    Client,
}
