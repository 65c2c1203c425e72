//! When to retry a call and how long to wait first.
//!
//! Waits use "full jitter" (a uniform draw between zero and an exponentially
//! growing ceiling): many app instances retrying after the same PayPal hiccup
//! spread out instead of hitting PayPal again in lockstep.

use std::time::Duration;

use rand::Rng;
use reqwest::StatusCode;

use crate::config::MAX_BACKOFF_MS;

/// True for answers that say "try again": rate limiting and server errors.
/// Every retried request carries the same `PayPal-Request-Id`, so PayPal
/// performs a write at most once however often we ask.
pub(crate) fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// The ceiling of the wait before retry number `retry` (0 for the first
/// retry): `base × 2^retry`, capped at [`MAX_BACKOFF_MS`].
pub(crate) fn backoff_ceiling_ms(base_ms: u64, retry: u32) -> u64 {
    let factor = 1_u64.checked_shl(retry).unwrap_or(u64::MAX);
    base_ms.saturating_mul(factor).min(MAX_BACKOFF_MS)
}

/// The wait before retry number `retry`: uniform in `[0, ceiling]`.
pub(crate) fn backoff(base_ms: u64, retry: u32) -> Duration {
    let ceiling = backoff_ceiling_ms(base_ms, retry);
    // `rng()` is a thread-local generator; it is used and dropped here, never
    // held across an await.
    Duration::from_millis(rand::rng().random_range(0..=ceiling))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_and_server_errors_are_retried_client_errors_are_not() {
        for status in [429, 500, 502, 503, 504] {
            assert!(is_retryable(StatusCode::from_u16(status).unwrap()), "{status}");
        }
        for status in [200, 201, 400, 401, 404, 409, 422] {
            assert!(!is_retryable(StatusCode::from_u16(status).unwrap()), "{status}");
        }
    }

    #[test]
    fn the_ceiling_doubles_per_retry_and_is_capped() {
        assert_eq!(backoff_ceiling_ms(200, 0), 200);
        assert_eq!(backoff_ceiling_ms(200, 1), 400);
        assert_eq!(backoff_ceiling_ms(200, 3), 1_600);
        assert_eq!(backoff_ceiling_ms(200, 10), MAX_BACKOFF_MS);
        assert_eq!(backoff_ceiling_ms(200, 200), MAX_BACKOFF_MS);
        assert_eq!(backoff_ceiling_ms(u64::MAX, 1), MAX_BACKOFF_MS);
    }

    #[test]
    fn every_wait_stays_within_its_ceiling() {
        for retry in 0..8 {
            for _ in 0..50 {
                assert!(backoff(100, retry) <= Duration::from_millis(backoff_ceiling_ms(100, retry)));
            }
        }
        assert_eq!(backoff(0, 3), Duration::ZERO);
    }
}
