//! The SMTP connection: lettre reads the URL (scheme, credentials, TLS
//! mode); a private certificate authority, when the relay's certificate
//! is not signed by a public one, is added to the roots TLS trusts.

use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};

use crate::SetupError;

/// How long connecting may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// How long one whole SMTP conversation may take before the send counts
/// as failed (and is retried later).
pub(crate) const CONVERSATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A transport to the server `url` names, trusting `ca_pem` too when given.
pub(crate) fn transport(url: &str, ca_pem: Option<&[u8]>) -> Result<AsyncSmtpTransport<Tokio1Executor>, SetupError> {
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|_| SetupError::SmtpUrl)?;
    if let Some(pem) = ca_pem {
        builder = builder.tls(tls_trusting(url, pem)?);
    }
    Ok(builder.timeout(Some(CONNECT_TIMEOUT)).build())
}

/// The TLS mode the URL asks for, with `pem`'s certificate among the roots.
fn tls_trusting(url: &str, pem: &[u8]) -> Result<Tls, SetupError> {
    let parsed = url::Url::parse(url).map_err(|_| SetupError::SmtpUrl)?;
    let host = parsed.host_str().ok_or(SetupError::SmtpUrl)?.trim_matches(['[', ']']).to_owned();
    // lettre takes a file without any certificate as an empty list.
    if !std::str::from_utf8(pem).is_ok_and(|text| text.contains("-----BEGIN CERTIFICATE-----")) {
        return Err(SetupError::SmtpCa);
    }
    let certificate = Certificate::from_pem(pem).map_err(|_| SetupError::SmtpCa)?;
    let parameters =
        TlsParameters::builder(host).add_root_certificate(certificate).build().map_err(|_| SetupError::SmtpCa)?;
    let asked = parsed.query_pairs().find(|(key, _)| key == "tls").map(|(_, value)| value.into_owned());
    match (parsed.scheme(), asked.as_deref()) {
        ("smtps", _) => Ok(Tls::Wrapper(parameters)),
        ("smtp", Some("required")) => Ok(Tls::Required(parameters)),
        ("smtp", Some("opportunistic")) => Ok(Tls::Opportunistic(parameters)),
        // A certificate authority for a connection without TLS is a
        // mistake in the settings, not something to ignore.
        _ => Err(SetupError::SmtpCaWithoutTls),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const NOT_PEM: &[u8] = b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";

    #[test]
    fn a_certificate_authority_needs_a_certificate_and_a_tls_url() {
        let ca = rcgen::generate_simple_self_signed(vec!["mail.internal".to_owned()]).unwrap().cert.pem();
        let required = "smtp://relay:pw@mail.internal:587?tls=required";
        assert!(matches!(transport(required, Some(NOT_PEM)), Err(SetupError::SmtpCa)));
        assert!(matches!(transport(required, Some(b"")), Err(SetupError::SmtpCa)));
        assert!(transport(required, Some(ca.as_bytes())).is_ok());
        assert!(transport("smtps://relay:pw@mail.internal", Some(ca.as_bytes())).is_ok());
        let plain = transport("smtp://mail.internal:25", Some(ca.as_bytes()));
        assert!(matches!(plain, Err(SetupError::SmtpCaWithoutTls)));
        assert!(transport("smtp://mail.internal:25", None).is_ok());
        assert!(matches!(transport("not a url", None), Err(SetupError::SmtpUrl)));
    }
}
