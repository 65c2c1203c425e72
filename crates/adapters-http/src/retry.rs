//! Which failures are retried, how long to wait first, and what a failure
//! after the retries was.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest_middleware::Error;
use reqwest_retry::{RetryError, Retryable, RetryableStrategy};
use retry_policies::Jitter;
use retry_policies::policies::ExponentialBackoff;

use crate::failure::Failure;
use crate::settings::HttpSettings;

/// True for answers that say "try again later": rate limiting and server
/// errors. Callers use it to tell "refused" from "unavailable" when the last
/// of the retries answered one of these.
pub fn transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Retries connection errors, timeouts, requests cut off on the way (the
/// outcome is unknown, and the same idempotency key makes a retry safe), 429
/// and 5xx. Narrower than reqwest-retry's default, which also retries 408.
pub(crate) struct TransientFailures;

impl RetryableStrategy for TransientFailures {
    fn handle(&self, outcome: &Result<reqwest::Response, Error>) -> Option<Retryable> {
        match outcome {
            Ok(response) if transient(response.status()) => Some(Retryable::Transient),
            Ok(_) => None,
            Err(error) => match failure_of(error) {
                Failure::TimedOut | Failure::ConnectionFailed | Failure::RequestFailed => Some(Retryable::Transient),
                Failure::NotBuilt | Failure::TooLarge | Failure::DestinationRefused => Some(Retryable::Fatal),
            },
        }
    }
}

/// Full jitter over a capped exponential: the wait before retry `n` is
/// uniform in `[0, min(cap, first × 2^n)]`.
pub(crate) fn policy(settings: &HttpSettings) -> ExponentialBackoff {
    let cap = Duration::from_millis(settings.backoff_cap_ms);
    let first = Duration::from_millis(settings.backoff_first_ms).min(cap);
    ExponentialBackoff::builder()
        .retry_bounds(first, cap)
        .jitter(Jitter::Full)
        .base(2)
        .build_with_max_retries(settings.max_retries)
}

/// The kind of a failure that came through the middleware: the retry layer
/// wraps the last attempt's reqwest error in its own.
pub(crate) fn failure_of(error: &Error) -> Failure {
    match error {
        Error::Reqwest(error) => Failure::of(error),
        Error::Middleware(error) => match error.downcast_ref::<RetryError>() {
            Some(RetryError::WithRetries { err, .. } | RetryError::Error(err)) => failure_of(err),
            // The retry layer refuses a request it cannot clone; ours always
            // can (bodies are bytes).
            None => Failure::NotBuilt,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use retry_policies::{RetryDecision, RetryPolicy};

    use super::*;

    fn settings(first_ms: u64, cap_ms: u64, max_retries: u32) -> HttpSettings {
        HttpSettings {
            backoff_first_ms: first_ms,
            backoff_cap_ms: cap_ms,
            max_retries,
            ..HttpSettings::new("test", "Idempotency-Key")
        }
    }

    /// The wait the policy chose before retry `n`, or `None` for "give up".
    fn wait(policy: &ExponentialBackoff, n: u32) -> Option<Duration> {
        let asked = SystemTime::now();
        match policy.should_retry(asked, n) {
            RetryDecision::Retry { execute_after } => {
                Some(execute_after.duration_since(asked).unwrap_or(Duration::ZERO))
            }
            RetryDecision::DoNotRetry => None,
        }
    }

    /// The most any draw before retry `n` may wait, with a little slack for
    /// the clock read between choosing and measuring.
    fn within(ceiling_ms: u64) -> Duration {
        Duration::from_millis(ceiling_ms) + Duration::from_millis(50)
    }

    #[test]
    fn rate_limits_and_server_errors_are_transient_client_errors_are_not() {
        for status in [429, 500, 502, 503, 504] {
            assert!(transient(StatusCode::from_u16(status).unwrap()), "{status}");
        }
        for status in [200, 201, 301, 400, 401, 404, 408, 409, 422] {
            assert!(!transient(StatusCode::from_u16(status).unwrap()), "{status}");
        }
    }

    #[test]
    fn the_ceiling_starts_at_the_first_wait_doubles_and_is_capped() {
        let policy = policy(&settings(200, 5_000, 40));
        assert_eq!(policy.min_retry_interval, Duration::from_millis(200));
        assert_eq!(policy.max_retry_interval, Duration::from_millis(5_000));
        assert_eq!(policy.base, 2);
        assert_eq!(policy.jitter, Jitter::Full);
        // Waits are drawn, so many draws: each within its ceiling, and the
        // ceiling grows (some wait before retry 3 exceeds the first ceiling).
        let draws = |n| (0..200).filter_map(|_| wait(&policy, n)).collect::<Vec<_>>();
        for (n, ceiling_ms) in [(0, 200), (1, 400), (3, 1_600), (10, 5_000), (39, 5_000)] {
            let waits = draws(n);
            assert_eq!(waits.len(), 200);
            assert!(waits.iter().all(|w| *w <= within(ceiling_ms)), "retry {n}: {waits:?}");
        }
        assert!(draws(3).iter().any(|w| *w > within(200)), "the ceiling did not grow");
    }

    #[test]
    fn a_first_wait_above_the_cap_is_lowered_to_it_and_zero_waits_nothing() {
        assert_eq!(policy(&settings(9_000, 1_000, 2)).min_retry_interval, Duration::from_millis(1_000));
        let none = policy(&settings(0, 5_000, 2));
        assert!((0..20).all(|_| wait(&none, 1) <= Some(Duration::from_millis(50))));
    }

    #[test]
    fn it_gives_up_after_max_retries() {
        let policy = policy(&settings(1, 10, 2));
        assert!(wait(&policy, 0).is_some());
        assert!(wait(&policy, 1).is_some());
        assert_eq!(wait(&policy, 2), None);
        assert_eq!(wait(&policy_without_retries(), 0), None);
    }

    fn policy_without_retries() -> ExponentialBackoff {
        policy(&settings(100, 2_000, 0))
    }
}
