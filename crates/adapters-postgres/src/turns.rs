//! Turns per key: at most a set number of units of work about one key
//! (one coupon) hold a connection at once; the others wait for a turn
//! without one.
//!
//! Why: a purchase with a coupon takes a lock on the coupon's row. If
//! another session holds a stronger lock on it (an admin's edit, a long
//! migration), every purchase with that coupon waits on PostgreSQL, and
//! each waits holding a pooled connection. Unlimited, a popular coupon
//! would so take the whole pool and stall every other request of the
//! instance, reads of unrelated rows included. With turns, those extra
//! purchases wait here, asynchronously, and the rest of the pool keeps
//! serving everyone else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::ports::StoreError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

/// Past this many keys remembered, keys nobody holds a turn of are
/// forgotten (the map would otherwise grow with every coupon ever used).
const FORGET_ABOVE: usize = 1_024;

/// Turns per key, `per_key` of each.
#[derive(Debug)]
pub(crate) struct KeyedTurns {
    per_key: usize,
    wait: Duration,
    keys: Mutex<HashMap<Uuid, Arc<Semaphore>>>,
}

impl KeyedTurns {
    /// `per_key` turns for each key (at least one); a unit of work waits
    /// up to `wait` for one.
    pub(crate) fn new(per_key: usize, wait: Duration) -> KeyedTurns {
        KeyedTurns { per_key: per_key.max(1), wait, keys: Mutex::new(HashMap::new()) }
    }

    /// A turn of `key`, once free; unavailable after waiting `wait`.
    pub(crate) async fn take(&self, key: Uuid, what: &str) -> Result<OwnedSemaphorePermit, StoreError> {
        let semaphore = self.semaphore(key);
        tokio::time::timeout(self.wait, semaphore.acquire_owned())
            .await
            .map_err(|_| StoreError::Unavailable(format!("{what} stayed busy: every turn of it was taken")))?
            .map_err(|_| StoreError::Unavailable(format!("{what}: turns are closed")))
    }

    fn semaphore(&self, key: Uuid) -> Arc<Semaphore> {
        // A poisoned lock only means a panic elsewhere mid-update of the
        // map, which is still a usable map.
        let mut keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if keys.len() > FORGET_ABOVE {
            // Held only by the map: no turn of it is out or awaited.
            keys.retain(|_, semaphore| Arc::strong_count(semaphore) > 1);
        }
        keys.entry(key).or_insert_with(|| Arc::new(Semaphore::new(self.per_key))).clone()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn a_key_gives_its_turns_then_others_wait_and_other_keys_do_not() {
        let turns = KeyedTurns::new(2, Duration::from_millis(50));
        let (hot, cold) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let first = turns.take(hot, "the coupon").await.unwrap();
        let _second = turns.take(hot, "the coupon").await.unwrap();
        match turns.take(hot, "the coupon").await {
            Err(StoreError::Unavailable(reason)) => assert!(reason.contains("the coupon stayed busy"), "{reason}"),
            other => panic!("expected no third turn, got {other:?}"),
        }
        assert!(turns.take(cold, "the coupon").await.is_ok(), "another key has turns of its own");
        drop(first);
        assert!(turns.take(hot, "the coupon").await.is_ok(), "a turn given back is taken again");
    }

    #[tokio::test]
    async fn keys_nobody_holds_are_forgotten_past_the_limit() {
        let turns = KeyedTurns::new(1, Duration::from_millis(50));
        let held = turns.take(Uuid::from_u128(0), "the coupon").await.unwrap();
        for n in 1..=(FORGET_ABOVE as u128 + 1) {
            drop(turns.take(Uuid::from_u128(n), "the coupon").await.unwrap());
        }
        drop(turns.take(Uuid::from_u128(u128::MAX), "the coupon").await.unwrap());
        let keys = turns.keys.lock().unwrap();
        // Left: the held key, and the keys taken since the last forgetting.
        assert!(keys.len() <= 3, "keys nobody holds were kept: {} remain", keys.len());
        assert!(keys.contains_key(&Uuid::from_u128(0)));
        drop(held);
    }
}
