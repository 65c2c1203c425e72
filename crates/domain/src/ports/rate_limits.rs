//! Port for rate-limit counters shared by every instance.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// Counts hits per key and fixed time window, in storage every instance
/// shares, so a limit holds across instances.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Counts one hit of `key` in the window starting at `window_start`;
    /// answers its hits in the window so far, this one included. Each key
    /// is counted in its own commit, so two requests never wait on each
    /// other's counters in a cycle.
    async fn hit(&self, key: String, window_start: DateTime<Utc>) -> Result<u32, StoreError>;
    /// Answers `key`'s hits in the window starting at `window_start`
    /// without counting one (0 when it has none): for limits that count
    /// only what went wrong, checked before the request is tried.
    async fn hits(&self, key: String, window_start: DateTime<Utc>) -> Result<u32, StoreError>;
    /// Forgets windows that started before `before`; answers how many.
    async fn reap(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
