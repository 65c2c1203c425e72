//! The optional TLS listener: rustls (ring) with the certificate chain and
//! key from PEM files, for serving HTTPS directly; HSTS is then sent on
//! every answer. Usually TLS ends at a proxy in front of the service.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// `Strict-Transport-Security` sent when serving HTTPS: a year.
pub const HSTS: &str = "max-age=31536000";

/// A server configuration from a PEM certificate chain and a PEM key.
pub fn server_config(cert_file: &Path, key_file: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let certs = CertificateDer::pem_file_iter(cert_file)
        .with_context(|| format!("reading the certificate chain {}", cert_file.display()))?
        .collect::<Result<Vec<_>, _>>()
        .context("parsing the certificate chain")?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", cert_file.display());
    let key =
        PrivateKeyDer::from_pem_file(key_file).with_context(|| format!("reading the key {}", key_file.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("choosing TLS versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the key does not match the certificate")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
