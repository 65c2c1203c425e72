//! The webhook signature parser against arbitrary input: it never panics,
//! accepts exactly what was signed with a configured secret, and refuses
//! any change to the body.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters_stripe::{SignatureError, sign, verify_signature};
use proptest::prelude::*;

const NOW: i64 = 1_800_000_000;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_headers_and_bodies_never_panic_and_never_verify(
        header in any::<String>(),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let result = verify_signature(Some(&header), &body, &["whsec_fuzz".to_owned()], NOW);
        prop_assert!(result.is_err());
    }

    #[test]
    fn header_shaped_noise_never_panics(
        t in any::<i64>(),
        parts in proptest::collection::vec("(t|v1|v0|x)=[0-9a-f]{0,70}", 0..6),
    ) {
        let header = format!("t={t},{}", parts.join(","));
        let result = verify_signature(Some(&header), b"{}", &["whsec_fuzz".to_owned()], NOW);
        prop_assert!(result.is_err());
    }

    #[test]
    fn a_signed_body_verifies_and_any_changed_byte_does_not(
        body in proptest::collection::vec(any::<u8>(), 1..256),
        secret in "whsec_[0-9A-Za-z]{8,40}",
        skew in -300_i64..=300,
        flip in any::<proptest::sample::Index>(),
    ) {
        let header = sign(&body, &secret, NOW + skew);
        let secrets = vec!["whsec_other".to_owned(), secret.clone()];
        prop_assert_eq!(verify_signature(Some(&header), &body, &secrets, NOW), Ok(()));
        let mut changed = body.clone();
        let at = flip.index(changed.len());
        changed[at] ^= 0x01;
        prop_assert_eq!(verify_signature(Some(&header), &changed, &secrets, NOW), Err(SignatureError::Mismatch));
    }
}
