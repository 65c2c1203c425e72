//! The OAuth2 access token cache.
//!
//! PayPal tokens live for hours and fetching one costs a round trip, so one
//! token serves every call until shortly before it expires. The cache sits
//! behind a tokio `Mutex` held across the fetch: callers arriving while a
//! token is being fetched wait for it instead of fetching their own.

use std::fmt;
use std::time::{Duration, Instant};

/// A token is replaced this long before PayPal says it expires, so a call
/// never starts with a token that dies in flight.
pub(crate) const TOKEN_REFRESH_MARGIN_S: u64 = 60;

/// A bearer token: `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AccessToken(String);

impl AccessToken {
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

/// A token and the moment to stop using it.
#[derive(Debug, Clone)]
pub(crate) struct CachedToken {
    token: AccessToken,
    refresh_at: Instant,
}

impl CachedToken {
    /// A token fetched at `fetched_at` that PayPal says lives `expires_in_s`.
    pub fn new(token: AccessToken, fetched_at: Instant, expires_in_s: u64) -> Self {
        let usable = Duration::from_secs(expires_in_s.saturating_sub(TOKEN_REFRESH_MARGIN_S));
        Self { token, refresh_at: fetched_at + usable }
    }

    /// The token if it may still be used at `now`.
    pub fn usable_at(&self, now: Instant) -> Option<&AccessToken> {
        (now < self.refresh_at).then_some(&self.token)
    }

    /// True if this entry holds `token`.
    pub fn holds(&self, token: &AccessToken) -> bool {
        self.token == *token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_used_until_a_minute_before_it_expires() {
        let start = Instant::now();
        let cached = CachedToken::new(AccessToken::new("t".into()), start, 3_600);
        assert!(cached.usable_at(start + Duration::from_secs(3_539)).is_some());
        assert!(cached.usable_at(start + Duration::from_secs(3_540)).is_none());
    }

    #[test]
    fn a_token_living_under_a_minute_is_never_reused() {
        let start = Instant::now();
        let cached = CachedToken::new(AccessToken::new("t".into()), start, 30);
        assert!(cached.usable_at(start).is_none());
    }

    #[test]
    fn debug_output_hides_the_token() {
        assert_eq!(format!("{:?}", AccessToken::new("A21AAsecret".into())), "AccessToken(***)");
    }
}
