//! Checks a PayPal delivery's signature headers must pass before we spend a
//! call to PayPal's verification API on it.
//!
//! Anyone can post to the webhook route, and each verification is a call
//! counted against our PayPal credentials: headers PayPal would never send
//! are refused here, for free. None of this replaces PayPal's verdict; it
//! only turns away what cannot be genuine.

use chrono::{DateTime, Duration, Utc};
use url::{Host, Url};

/// The only algorithm PayPal signs webhooks with.
pub(crate) const AUTH_ALGO: &str = "SHA256withRSA";
/// How far a delivery's transmission time may be from our clock, either
/// way: it bounds how long a captured delivery can be replayed and how long
/// a verified one is remembered. Each delivery attempt is a transmission of
/// its own, stamped when sent.
pub(crate) const TRANSMISSION_WINDOW: Duration = Duration::minutes(15);
/// PayPal's certificates are served from this domain (`api.paypal.com`,
/// `api.sandbox.paypal.com`, `api-m.sandbox.paypal.com`, ...).
const PAYPAL_DOMAIN: &str = "paypal.com";

/// Why a header cannot be PayPal's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LocalCheck {
    #[error("PAYPAL-AUTH-ALGO is not {AUTH_ALGO}")]
    Algorithm,
    #[error("PAYPAL-CERT-URL is not an https URL on PayPal's domain")]
    CertUrl,
    #[error("PAYPAL-TRANSMISSION-TIME is not an RFC 3339 time")]
    TimeFormat,
    #[error("PAYPAL-TRANSMISSION-TIME is outside the accepted window")]
    TimeWindow,
}

/// The algorithm is PayPal's.
pub(crate) fn algorithm(auth_algo: &str) -> Result<(), LocalCheck> {
    if auth_algo == AUTH_ALGO { Ok(()) } else { Err(LocalCheck::Algorithm) }
}

/// The certificate URL is `https://` on `paypal.com` or a subdomain, on the
/// default port and without userinfo. PayPal fetches it itself, but a URL
/// elsewhere is never PayPal's own, whatever API base we talk to.
pub(crate) fn cert_url(text: &str) -> Result<(), LocalCheck> {
    let url = Url::parse(text).map_err(|_| LocalCheck::CertUrl)?;
    let Some(Host::Domain(host)) = url.host() else { return Err(LocalCheck::CertUrl) };
    let host = host.trim_end_matches('.');
    let on_paypal = host == PAYPAL_DOMAIN || host.ends_with(&format!(".{PAYPAL_DOMAIN}"));
    let plain = url.username().is_empty() && url.password().is_none() && url.port().is_none();
    if url.scheme() == "https" && on_paypal && plain { Ok(()) } else { Err(LocalCheck::CertUrl) }
}

/// The transmission time is RFC 3339 and within [`TRANSMISSION_WINDOW`] of
/// `now`, either way (clocks drift both ways).
pub(crate) fn transmission_time(text: &str, now: DateTime<Utc>) -> Result<(), LocalCheck> {
    let sent = DateTime::parse_from_rfc3339(text).map_err(|_| LocalCheck::TimeFormat)?;
    let skew = (now - sent.with_timezone(&Utc)).abs();
    if skew <= TRANSMISSION_WINDOW { Ok(()) } else { Err(LocalCheck::TimeWindow) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sha256_with_rsa_is_accepted() {
        assert_eq!(algorithm("SHA256withRSA"), Ok(()));
        for other in ["sha256withrsa", "SHA1withRSA", "none", "HS256"] {
            assert_eq!(algorithm(other), Err(LocalCheck::Algorithm), "{other}");
        }
    }

    #[test]
    fn certificate_urls_must_be_https_on_paypals_domain() {
        for good in [
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1",
            "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-1",
            "https://paypal.com/cert",
            "https://api.paypal.com./cert",
        ] {
            assert_eq!(cert_url(good), Ok(()), "{good}");
        }
        for bad in [
            "http://api.paypal.com/v1/notifications/certs/CERT-1",
            "https://api.paypal.com:8443/cert",
            "https://user:pw@api.paypal.com/cert",
            "https://user@api.paypal.com/cert",
            "https://evilpaypal.com/cert",
            "https://api.paypal.com.evil.example/cert",
            "https://paypal.com@evil.example/cert",
            "https://127.0.0.1/cert",
            "https://[::1]/cert",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert_eq!(cert_url(bad), Err(LocalCheck::CertUrl), "{bad}");
        }
    }

    #[test]
    fn transmission_times_outside_the_window_are_refused() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z").unwrap().with_timezone(&Utc);
        for good in
            ["2026-12-07T12:00:00Z", "2026-12-07T11:45:00Z", "2026-12-07T12:15:00Z", "2026-12-07T13:10:00+01:00"]
        {
            assert_eq!(transmission_time(good, now), Ok(()), "{good}");
        }
        for late in ["2026-12-07T11:44:59Z", "2026-12-07T12:15:01Z", "2016-02-18T20:01:35Z"] {
            assert_eq!(transmission_time(late, now), Err(LocalCheck::TimeWindow), "{late}");
        }
        for garbled in ["yesterday", "1765108800", "2026-12-07 12:00"] {
            assert_eq!(transmission_time(garbled, now), Err(LocalCheck::TimeFormat), "{garbled}");
        }
    }
}
