//! Deliveries PayPal has verified lately, so a repeat of the same
//! transmission (PayPal's retry, or a replay) costs no second verification
//! call.
//!
//! An entry is the transmission id together with a SHA-256 of the body:
//! PayPal's signature covers both, so a request reusing a verified id with
//! another body is not answered from here and goes to PayPal (which refuses
//! it). Only successes are remembered; an entry lives as long as its
//! transmission time is accepted, so the cache never accepts what the time
//! check would refuse. Memory is bounded: when full, expired entries go
//! first, then the oldest.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Entries kept at most (about 1 MiB).
pub(crate) const CAPACITY: usize = 10_000;

type Key = (String, [u8; 32]);

/// Verified deliveries of this instance.
pub(crate) struct VerifiedDeliveries {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<Key, Instant>>,
}

impl VerifiedDeliveries {
    /// A cache whose entries expire after `ttl`.
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self { ttl, capacity, entries: Mutex::new(HashMap::new()) }
    }

    /// Whether this transmission, with this body, was verified within `ttl`.
    pub(crate) fn contains(&self, transmission_id: &str, body: &[u8]) -> bool {
        let key = (transmission_id.to_owned(), digest(body));
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.get(&key).is_some_and(|verified| verified.elapsed() < self.ttl)
    }

    /// Remembers a verified transmission with its body.
    pub(crate) fn insert(&self, transmission_id: &str, body: &[u8]) {
        let key = (transmission_id.to_owned(), digest(body));
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, verified| verified.elapsed() < self.ttl);
        }
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            let oldest = entries.iter().min_by_key(|(_, verified)| **verified).map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert(key, Instant::now());
    }
}

impl std::fmt::Debug for VerifiedDeliveries {
    // Transmission ids are not secret, but ten thousand of them are noise.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedDeliveries").field("ttl", &self.ttl).field("capacity", &self.capacity).finish()
    }
}

fn digest(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verified_transmission_is_remembered_only_with_its_own_body() {
        let cache = VerifiedDeliveries::new(Duration::from_secs(60), 10);
        cache.insert("t-1", b"{\"id\":\"WH-1\"}");
        assert!(cache.contains("t-1", b"{\"id\":\"WH-1\"}"));
        assert!(!cache.contains("t-1", b"{\"id\":\"WH-2\"}"), "another body under a verified id");
        assert!(!cache.contains("t-2", b"{\"id\":\"WH-1\"}"));
    }

    #[test]
    fn entries_expire() {
        let cache = VerifiedDeliveries::new(Duration::ZERO, 10);
        cache.insert("t-1", b"{}");
        assert!(!cache.contains("t-1", b"{}"));
    }

    #[test]
    fn a_full_cache_forgets_its_oldest_entry() {
        let cache = VerifiedDeliveries::new(Duration::from_secs(60), 3);
        for id in ["t-1", "t-2", "t-3", "t-4"] {
            cache.insert(id, b"{}");
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(!cache.contains("t-1", b"{}"));
        assert!(["t-2", "t-3", "t-4"].iter().all(|id| cache.contains(id, b"{}")));
        assert_eq!(cache.entries.lock().unwrap().len(), 3);
    }
}
