//! Port for idempotent requests: a client's `Idempotency-Key` and the HTTP
//! answer kept for replay when the same request comes again.
//!
//! Replay is an HTTP matter (a status and the body bytes as sent), so it
//! lives with the web adapters rather than in the domain. The HTTP meaning
//! (what replays, what is a conflict) is `api-actix`'s; this port only
//! promises an atomic claim per owner and key.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ids::UserId;
use domain::ports::StoreError;

/// A client-chosen `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// Why an idempotency key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Idempotency-Key must be 1 to 255 visible ASCII characters")]
pub struct InvalidIdempotencyKey;

/// Longest accepted idempotency key.
pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 255;

impl IdempotencyKey {
    /// Checks a key.
    pub fn parse(text: &str) -> Result<Self, InvalidIdempotencyKey> {
        let ok =
            !text.is_empty() && text.len() <= IDEMPOTENCY_KEY_MAX_CHARS && text.bytes().all(|b| b.is_ascii_graphic());
        if ok { Ok(Self(text.to_owned())) } else { Err(InvalidIdempotencyKey) }
    }
    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// How long a claim on a key holds without a sign of life from the request
/// that made it. The request renews it while it runs, so a claim lapses
/// only when its request died (the process was killed, or lost the
/// database for a whole lease): a retry may then take the key over. The
/// lease bounds how long such a key stays blocked, never how long a live
/// request may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimLease(std::time::Duration);

impl ClaimLease {
    /// Default lease, in seconds.
    pub const DEFAULT_SECS: u64 = 60;

    /// A lease of `secs` seconds (at least one).
    pub fn from_secs(secs: u64) -> Self {
        Self(std::time::Duration::from_secs(secs.max(1)))
    }

    /// Its length.
    pub fn length(self) -> std::time::Duration {
        self.0
    }

    /// How often a running request renews its claim: a third of the lease,
    /// so that two renewals in a row may fail (a busy pool, a slow
    /// statement) before the claim lapses.
    pub fn renew_every(self) -> std::time::Duration {
        self.0 / 3
    }
}

impl Default for ClaimLease {
    fn default() -> Self {
        Self::from_secs(Self::DEFAULT_SECS)
    }
}

/// The state of an idempotency key when a request arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// First use: the caller proceeds and must `complete` or `abandon`.
    Started,
    /// Done before with the same request: replay this response.
    Replay(StoredResponse),
    /// The same key is being processed right now (its claim's lease runs).
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

/// Keeps idempotency keys per user (kept at least 24 hours).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` for `owner`'s request with `fingerprint`, atomically,
    /// for `lease` from now. A claim of the same request whose lease ran
    /// out is taken over (`Started`); one whose lease runs is `InProgress`.
    async fn begin(
        &self,
        owner: UserId,
        key: IdempotencyKey,
        fingerprint: String,
        lease: ClaimLease,
    ) -> Result<IdempotencyBegin, StoreError>;
    /// Extends a claim still in progress to `lease` from now: its request
    /// is still running. A completed or released key is left alone.
    async fn renew(&self, owner: UserId, key: IdempotencyKey, lease: ClaimLease) -> Result<(), StoreError>;
    /// Stores the response for replay.
    async fn complete(&self, owner: UserId, key: IdempotencyKey, response: StoredResponse) -> Result<(), StoreError>;
    /// Forgets the claim (the request failed in a way worth retrying).
    async fn abandon(&self, owner: UserId, key: IdempotencyKey) -> Result<(), StoreError>;
    /// Deletes keys claimed before `before`; answers how many.
    async fn reap(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::{ClaimLease, IDEMPOTENCY_KEY_MAX_CHARS, IdempotencyKey, InvalidIdempotencyKey};
    use std::time::Duration;

    #[test]
    fn a_claim_is_renewed_three_times_per_lease_and_lasts_at_least_a_second() {
        assert_eq!(ClaimLease::default().length(), Duration::from_secs(60));
        assert_eq!(ClaimLease::default().renew_every(), Duration::from_secs(20));
        assert_eq!(ClaimLease::from_secs(0).length(), Duration::from_secs(1));
    }

    #[test]
    fn a_key_is_one_to_255_visible_ascii_characters() {
        let longest = "k".repeat(IDEMPOTENCY_KEY_MAX_CHARS);
        for good in ["a", "order-42_retry:1", "~!@#$%^&*()", longest.as_str()] {
            assert_eq!(IdempotencyKey::parse(good).map(|k| k.as_str().to_owned()), Ok(good.to_owned()));
        }
        let too_long = "k".repeat(IDEMPOTENCY_KEY_MAX_CHARS + 1);
        for bad in ["", " ", "two words", "tab\there", "new\nline", "caf\u{e9}", too_long.as_str()] {
            assert_eq!(IdempotencyKey::parse(bad), Err(InvalidIdempotencyKey), "{bad:?}");
        }
    }
}
