//! Signed links to a receipt, for e-mails that cannot carry the buyer's
//! token: `/receipts/{payment_id}/?expires={unix time}&signature={hex}`,
//! the signature an HMAC-SHA256 of the payment id and the expiry with a key
//! derived from the token secret (see docs/receipts.md).

use chrono::{DateTime, Duration, Utc};
use domain::ids::PaymentId;
use ring::hmac;

/// What the key is derived for: changing it ends every link.
const PURPOSE: &[u8] = b"skillpay receipt links v1";

/// Signs and checks receipt links.
#[derive(Clone)]
pub struct ReceiptLinks {
    key: hmac::Key,
    validity: Duration,
}

impl std::fmt::Debug for ReceiptLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptLinks").field("validity", &self.validity).finish_non_exhaustive()
    }
}

impl ReceiptLinks {
    /// Links keyed from `secret` (the token secret), valid for `validity`.
    pub fn new(secret: &[u8], validity: Duration) -> Self {
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), PURPOSE);
        Self { key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()), validity }
    }

    /// The path of a link to `payment`'s receipt, valid from `now` for the
    /// configured time.
    pub fn path(&self, payment: PaymentId, now: DateTime<Utc>) -> String {
        let expires = (now + self.validity).timestamp();
        format!("/receipts/{payment}/?expires={expires}&signature={}", self.signature(payment, expires))
    }

    /// Whether `signature` signs `payment` and `expires`, and `expires` is
    /// still ahead of `now`. Compared in constant time.
    pub fn admits(&self, payment: PaymentId, expires: i64, signature: &str, now: DateTime<Utc>) -> bool {
        let Ok(given) = hex::decode(signature) else {
            return false;
        };
        expires > now.timestamp() && hmac::verify(&self.key, &message(payment, expires), &given).is_ok()
    }

    fn signature(&self, payment: PaymentId, expires: i64) -> String {
        hex::encode(hmac::sign(&self.key, &message(payment, expires)).as_ref())
    }
}

fn message(payment: PaymentId, expires: i64) -> Vec<u8> {
    format!("receipt:{payment}:{expires}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_admitted_until_it_expires_and_not_once_altered() {
        let links = ReceiptLinks::new(b"0123456789abcdef0123456789abcdef", Duration::days(30));
        let payment = PaymentId::from_uuid(uuid::Uuid::from_u128(7));
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let path = links.path(payment, now);
        let query = path.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let expires: i64 =
            query.split('&').find_map(|p| p.strip_prefix("expires=")).and_then(|e| e.parse().ok()).unwrap_or(0);
        let signature = query.split('&').find_map(|p| p.strip_prefix("signature=")).unwrap_or_default();
        assert!(links.admits(payment, expires, signature, now));
        assert!(!links.admits(payment, expires, signature, now + Duration::days(31)), "expired");
        assert!(!links.admits(payment, expires + 1, signature, now), "another expiry");
        let other = PaymentId::from_uuid(uuid::Uuid::from_u128(8));
        assert!(!links.admits(other, expires, signature, now), "another payment");
        let foreign = ReceiptLinks::new(b"another secret of thirty-two bytes", Duration::days(30));
        assert!(!foreign.admits(payment, expires, signature, now), "another key");
        assert!(!links.admits(payment, expires, "zz", now));
    }
}
