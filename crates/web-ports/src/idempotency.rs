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

/// The state of an idempotency key when a request arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// First use: the caller proceeds and must `complete` or `abandon`.
    Started,
    /// Done before with the same request: replay this response.
    Replay(StoredResponse),
    /// The same key is being processed right now.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

/// Keeps idempotency keys per user (kept at least 24 hours).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` for `owner`'s request with `fingerprint`, atomically.
    async fn begin(
        &self,
        owner: UserId,
        key: IdempotencyKey,
        fingerprint: String,
    ) -> Result<IdempotencyBegin, StoreError>;
    /// Stores the response for replay.
    async fn complete(&self, owner: UserId, key: IdempotencyKey, response: StoredResponse) -> Result<(), StoreError>;
    /// Forgets the claim (the request failed in a way worth retrying).
    async fn abandon(&self, owner: UserId, key: IdempotencyKey) -> Result<(), StoreError>;
    /// Deletes keys claimed before `before`; answers how many.
    async fn reap(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::{IDEMPOTENCY_KEY_MAX_CHARS, IdempotencyKey, InvalidIdempotencyKey};

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
