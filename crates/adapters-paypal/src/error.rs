//! Errors of the adapter and how they become the domain's errors.
//!
//! Policy: an error carries only what is safe to log and show an operator:
//! the HTTP status, PayPal's error `name` and first detail `issue` (short
//! upper-case codes), or a fixed description of a transport failure. Never a
//! request or response body, a token, a secret or a reqwest error's text.

use adapters_http::StatusCode;
use domain::ports::{GatewayError, WebhookError};
use serde::Deserialize;

/// Longest PayPal error code we copy into a message.
const MAX_CODE_LEN: usize = 64;

/// The client could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// A configuration value is unusable.
    #[error("invalid PayPal configuration: {0}")]
    InvalidConfig(&'static str),
    /// The HTTP client could not be created (TLS set-up failed).
    #[error("the HTTP client could not be created")]
    Http,
}

/// PayPal's error body (`error_400`, `error_422`, ... in the specs), reduced
/// to the codes we act on or report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// `name`, e.g. `UNPROCESSABLE_ENTITY`.
    pub name: Option<String>,
    /// The first `details[].issue`, e.g. `ORDER_NOT_APPROVED`.
    pub issue: Option<String>,
    /// PayPal's correlation id, for support requests (not a secret).
    pub debug_id: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    name: Option<String>,
    debug_id: Option<String>,
    #[serde(default)]
    details: Vec<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    issue: Option<String>,
}

impl ApiError {
    /// Reads an error answer; a body that is not PayPal's error shape still
    /// gives an error with its status.
    pub fn parse(status: StatusCode, body: &[u8]) -> Self {
        let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
        let (name, debug_id, issue) = match parsed {
            Some(b) => (b.name, b.debug_id, b.details.into_iter().find_map(|d| d.issue)),
            None => (None, None, None),
        };
        Self {
            status: status.as_u16(),
            name: name.as_deref().and_then(code),
            issue: issue.as_deref().and_then(code),
            debug_id: debug_id.as_deref().and_then(correlation_id),
        }
    }

    /// `UNPROCESSABLE_ENTITY/ORDER_NOT_APPROVED (HTTP 422)`: short, and made
    /// only of codes.
    pub fn summary(&self) -> String {
        let name = self.name.as_deref().unwrap_or("UNKNOWN_ERROR");
        match &self.issue {
            Some(issue) => format!("{name}/{issue} (HTTP {})", self.status),
            None => format!("{name} (HTTP {})", self.status),
        }
    }
}

/// PayPal's codes are upper-case words (`ORDER_NOT_APPROVED`); anything
/// else is dropped, so a surprising body can never smuggle text (or a secret
/// it echoed) into our messages.
fn code(raw: &str) -> Option<String> {
    let plain = !raw.is_empty()
        && raw.len() <= MAX_CODE_LEN
        && raw.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    plain.then(|| raw.to_owned())
}

/// PayPal's debug ids are short alphanumeric strings; anything else is dropped.
fn correlation_id(raw: &str) -> Option<String> {
    let plain = !raw.is_empty() && raw.len() <= MAX_CODE_LEN && raw.chars().all(|c| c.is_ascii_alphanumeric());
    plain.then(|| raw.to_owned())
}

/// A PayPal call that did not give a usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CallError {
    /// PayPal refused the request (4xx other than 401 and 429).
    #[error("PayPal refused the request: {}", .0.summary())]
    Api(ApiError),
    /// PayPal refused our credentials or a freshly fetched token.
    #[error("PayPal authentication failed")]
    Unauthorized,
    /// PayPal answered 429 or 5xx on every attempt.
    #[error("PayPal answered HTTP {0} on every attempt")]
    Server(u16),
    /// No usable answer: connection failure or timeout on the last attempt,
    /// or an answer too large to read.
    #[error("PayPal could not be reached: {0}")]
    Transport(adapters_http::Failure),
    /// A success answer we cannot read.
    #[error("PayPal's answer could not be read: {0}")]
    Unreadable(&'static str),
}

impl From<CallError> for GatewayError {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Api(api) => match api.status {
                404 => GatewayError::UnknownPayment,
                // Another request with our PayPal-Request-Id is still running:
                // asking again later helps, the request itself is fine.
                409 => GatewayError::Unavailable(api.summary()),
                _ => GatewayError::InvalidRequest(api.summary()),
            },
            CallError::Unauthorized | CallError::Server(_) | CallError::Transport(_) | CallError::Unreadable(_) => {
                GatewayError::Unavailable(error.to_string())
            }
        }
    }
}

impl From<CallError> for WebhookError {
    fn from(error: CallError) -> Self {
        match error {
            // PayPal would not even check these values: fail closed.
            CallError::Api(api) => WebhookError::InvalidSignature(format!("verification refused: {}", api.summary())),
            CallError::Unauthorized | CallError::Server(_) | CallError::Transport(_) | CallError::Unreadable(_) => {
                WebhookError::Unavailable(error.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_error_and_issue_only() {
        let body = br#"{"name":"UNPROCESSABLE_ENTITY","details":[{"issue":"ORDER_NOT_APPROVED","description":"Payer has not yet approved"}],"message":"The requested action could not be performed","debug_id":"90957fca61718"}"#;
        let error = ApiError::parse(StatusCode::UNPROCESSABLE_ENTITY, body);
        assert_eq!(error.summary(), "UNPROCESSABLE_ENTITY/ORDER_NOT_APPROVED (HTTP 422)");
        assert_eq!(error.issue.as_deref(), Some("ORDER_NOT_APPROVED"));
        assert_eq!(error.debug_id.as_deref(), Some("90957fca61718"));
    }

    #[test]
    fn a_body_that_is_not_paypal_json_still_gives_the_status() {
        let error = ApiError::parse(StatusCode::BAD_REQUEST, b"<html>secret stuff</html>");
        assert_eq!(error.summary(), "UNKNOWN_ERROR (HTTP 400)");
    }

    #[test]
    fn anything_but_an_upper_case_code_is_dropped() {
        let body = br#"{"name":"token A21AA-abc","details":[{"issue":"Bearer A21AAxyz"}],"debug_id":"x y"}"#;
        let error = ApiError::parse(StatusCode::BAD_REQUEST, body);
        assert_eq!(error, ApiError { status: 400, ..ApiError::default() });
        assert_eq!(error.summary(), "UNKNOWN_ERROR (HTTP 400)");
    }

    #[test]
    fn not_found_means_unknown_payment_and_conflict_means_try_later() {
        let api = |status| CallError::Api(ApiError { status, ..ApiError::default() });
        assert_eq!(GatewayError::from(api(404)), GatewayError::UnknownPayment);
        assert!(matches!(GatewayError::from(api(409)), GatewayError::Unavailable(_)));
        assert!(matches!(GatewayError::from(api(400)), GatewayError::InvalidRequest(_)));
        assert!(matches!(GatewayError::from(CallError::Server(503)), GatewayError::Unavailable(_)));
    }
}
