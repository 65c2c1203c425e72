//! Rate limits on the requests that cost a gateway call or reveal coupon
//! codes: payment creation and coupon validation, per user and per client
//! address, and webhooks that fail verification, per gateway and client
//! address; in fixed windows counted in shared storage.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::ids::UserId;
use crate::ports::{Clock, RateLimitStore, StoreError};

/// What is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum LimitedAction {
    /// `POST /api/payments/`.
    CreatePayment,
    /// `POST /api/payments/coupons/validate/`.
    ValidateCoupon,
}

impl LimitedAction {
    fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// Requests allowed per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitPolicy {
    /// The window.
    pub window: Duration,
    /// Payment creations per user.
    pub payments_per_user: u32,
    /// Payment creations per client address.
    pub payments_per_ip: u32,
    /// Coupon validations per user.
    pub validations_per_user: u32,
    /// Coupon validations per client address.
    pub validations_per_ip: u32,
    /// Webhooks failing verification per gateway and client address.
    pub webhook_failures_per_ip: u32,
}

impl Default for RateLimitPolicy {
    fn default() -> Self {
        Self {
            window: Duration::minutes(1),
            payments_per_user: 30,
            payments_per_ip: 300,
            validations_per_user: 60,
            validations_per_ip: 600,
            webhook_failures_per_ip: 60,
        }
    }
}

/// Why a request was not let through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitError {
    /// Too many requests; retry after this many seconds.
    #[error("too many requests; retry in {retry_after_secs} s")]
    Limited {
        /// Seconds until the window ends.
        retry_after_secs: i64,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The bucket an address counts in: an IPv4 address on its own, an IPv6
/// address by its /64 (one subscriber's network hands out a whole /64, so
/// counting each address would let one client take 2^64 buckets).
pub fn address_bucket(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(prefix))
        }
    }
}

/// The counter of `gateway`'s failed webhooks from `ip`'s bucket.
fn webhook_failure_key(gateway: &str, ip: IpAddr) -> String {
    format!("webhook_failure:{gateway}:ip:{}", address_bucket(ip))
}

/// Rate limits.
#[derive(Clone)]
pub struct RateLimits {
    store: Arc<dyn RateLimitStore>,
    clock: Arc<dyn Clock>,
    policy: RateLimitPolicy,
}

impl RateLimits {
    /// Limits counted in `store`.
    pub fn new(store: Arc<dyn RateLimitStore>, clock: Arc<dyn Clock>, policy: RateLimitPolicy) -> Self {
        Self { store, clock, policy }
    }

    /// Counts a request of `user` from `ip`; refuses it when either is over
    /// its limit for the current window. The user's counter is checked
    /// first and a request refused for its user is not counted against its
    /// address: one account cannot use up the bucket that everyone behind
    /// the same campus NAT shares.
    pub async fn check(&self, action: LimitedAction, user: UserId, ip: Option<IpAddr>) -> Result<(), RateLimitError> {
        let (now, window_start) = self.window();
        let (per_user, per_ip) = match action {
            LimitedAction::CreatePayment => (self.policy.payments_per_user, self.policy.payments_per_ip),
            LimitedAction::ValidateCoupon => (self.policy.validations_per_user, self.policy.validations_per_ip),
        };
        let mut keys = vec![(format!("{}:user:{user}", action.as_str()), per_user)];
        if let Some(ip) = ip {
            keys.push((format!("{}:ip:{}", action.as_str(), address_bucket(ip)), per_ip));
        }
        for (key, limit) in keys {
            if self.store.hit(key, window_start).await? > limit {
                return Err(RateLimitError::Limited { retry_after_secs: self.retry_after(now, window_start) });
            }
        }
        Ok(())
    }

    /// Refuses a webhook for `gateway` from `ip` when that address has
    /// already failed verification its limit of times this window. Nothing
    /// is counted here: a gateway's genuine deliveries are never limited,
    /// only addresses that keep sending what does not verify (each of
    /// which may have cost a call to the gateway).
    pub async fn check_webhook_failures(&self, gateway: &str, ip: IpAddr) -> Result<(), RateLimitError> {
        let (now, window_start) = self.window();
        let failures = self.store.hits(webhook_failure_key(gateway, ip), window_start).await?;
        if failures >= self.policy.webhook_failures_per_ip {
            return Err(RateLimitError::Limited { retry_after_secs: self.retry_after(now, window_start) });
        }
        Ok(())
    }

    /// Counts a webhook for `gateway` from `ip` that failed verification.
    pub async fn count_webhook_failure(&self, gateway: &str, ip: IpAddr) -> Result<(), StoreError> {
        let (_, window_start) = self.window();
        self.store.hit(webhook_failure_key(gateway, ip), window_start).await.map(|_| ())
    }

    fn window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let now = self.clock.now();
        (now, now.duration_trunc(self.policy.window).unwrap_or(now))
    }

    fn retry_after(&self, now: DateTime<Utc>, window_start: DateTime<Utc>) -> i64 {
        (window_start + self.policy.window - now).num_seconds().max(1)
    }

    /// Forgets counters of windows over before `now` minus ten windows.
    pub async fn reap(&self) -> Result<u64, StoreError> {
        let before: DateTime<Utc> = self.clock.now() - self.policy.window * 10;
        self.store.reap(before).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;

    #[derive(Default)]
    struct Counters(Mutex<HashMap<(String, DateTime<Utc>), u32>>);

    #[async_trait]
    impl RateLimitStore for Counters {
        async fn hit(&self, key: String, window_start: DateTime<Utc>) -> Result<u32, StoreError> {
            let mut map = self.0.lock().unwrap();
            let hits = map.entry((key, window_start)).or_default();
            *hits += 1;
            Ok(*hits)
        }
        async fn hits(&self, key: String, window_start: DateTime<Utc>) -> Result<u32, StoreError> {
            Ok(self.0.lock().unwrap().get(&(key, window_start)).copied().unwrap_or(0))
        }
        async fn reap(&self, _before: DateTime<Utc>) -> Result<u64, StoreError> {
            Ok(0)
        }
    }

    struct At(DateTime<Utc>);

    impl Clock for At {
        fn now(&self) -> DateTime<Utc> {
            self.0
        }
    }

    #[test]
    fn a_user_over_the_limit_waits_for_the_window_to_end_and_others_are_not_affected() {
        let now = DateTime::from_timestamp(1_800_000_015, 0).unwrap();
        let policy = RateLimitPolicy { payments_per_user: 2, ..RateLimitPolicy::default() };
        let limits = RateLimits::new(Arc::new(Counters::default()), Arc::new(At(now)), policy);
        let check =
            |user| futures::executor::block_on(limits.check(LimitedAction::CreatePayment, UserId::new(user), None));
        assert!(check(1).is_ok());
        assert!(check(1).is_ok());
        // The window started 15 s ago (windows align to the minute).
        assert_eq!(check(1), Err(RateLimitError::Limited { retry_after_secs: 45 }));
        assert!(check(2).is_ok());
        let validate = futures::executor::block_on(limits.check(LimitedAction::ValidateCoupon, UserId::new(1), None));
        assert!(validate.is_ok(), "limits are per action");
    }

    #[test]
    fn one_address_is_limited_across_users() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let policy = RateLimitPolicy { validations_per_ip: 3, ..RateLimitPolicy::default() };
        let limits = RateLimits::new(Arc::new(Counters::default()), Arc::new(At(now)), policy);
        let ip = Some("203.0.113.9".parse().unwrap());
        for user in 1..=3 {
            assert!(
                futures::executor::block_on(limits.check(LimitedAction::ValidateCoupon, UserId::new(user), ip)).is_ok()
            );
        }
        let fourth = futures::executor::block_on(limits.check(LimitedAction::ValidateCoupon, UserId::new(4), ip));
        assert!(matches!(fourth, Err(RateLimitError::Limited { .. })));
    }

    #[test]
    fn requests_refused_for_their_user_do_not_count_against_the_address() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let policy = RateLimitPolicy { payments_per_user: 2, payments_per_ip: 5, ..RateLimitPolicy::default() };
        let limits = RateLimits::new(Arc::new(Counters::default()), Arc::new(At(now)), policy);
        let nat = Some("203.0.113.9".parse().unwrap());
        let create =
            |user| futures::executor::block_on(limits.check(LimitedAction::CreatePayment, UserId::new(user), nat));
        let refused = (0..50).filter(|_| create(1).is_err()).count();
        assert_eq!(refused, 48, "one user gets its 2");
        // The address has counted 2 of its 5: three more users get through.
        assert!((2..=4).all(|user| create(user).is_ok()));
        assert!(create(5).is_err(), "the address's limit still holds");
    }

    #[test]
    fn only_failed_webhooks_count_and_each_gateway_and_address_has_its_own_limit() {
        let now = DateTime::from_timestamp(1_800_000_010, 0).unwrap();
        let policy = RateLimitPolicy { webhook_failures_per_ip: 2, ..RateLimitPolicy::default() };
        let limits = RateLimits::new(Arc::new(Counters::default()), Arc::new(At(now)), policy);
        let (forger, other) = ("203.0.113.9".parse().unwrap(), "198.51.100.4".parse().unwrap());
        let check = |gateway, ip| futures::executor::block_on(limits.check_webhook_failures(gateway, ip));
        let fail = |gateway, ip| futures::executor::block_on(limits.count_webhook_failure(gateway, ip)).unwrap();
        for _ in 0..10 {
            assert!(check("paypal", forger).is_ok(), "checking counts nothing");
        }
        fail("paypal", forger);
        assert!(check("paypal", forger).is_ok());
        fail("paypal", forger);
        assert_eq!(check("paypal", forger), Err(RateLimitError::Limited { retry_after_secs: 50 }));
        assert!(check("stripe", forger).is_ok(), "limits are per gateway");
        assert!(check("paypal", other).is_ok(), "and per address");
    }

    #[test]
    fn ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4() {
        let bucket = |text: &str| address_bucket(text.parse().unwrap());
        assert_eq!(bucket("2001:db8:1:2:aaaa::1"), bucket("2001:db8:1:2:ffff:1:2:3"));
        assert_eq!(bucket("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_ne!(bucket("2001:db8:1:2::1"), bucket("2001:db8:1:3::1"));
        assert_eq!(bucket("::ffff:198.51.100.4"), "198.51.100.4");
    }
}
