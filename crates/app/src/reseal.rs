//! `skillpay reseal`: every secret at rest sealed again under the current
//! key, so that the previous keys can leave the configuration.

use adapters_postgres::{Keyring, ResealReport};
use anyhow::Context;

use crate::config::{KeySettings, Secret};

/// The keyring of `keys`: the current key seals, the previous ones still
/// open; the current key is required.
pub fn keyring(keys: KeySettings) -> anyhow::Result<Keyring> {
    let Secret(current) = keys.encryption_key.context("SKILLPAY_ENCRYPTION_KEY is not set")?;
    let previous = keys.encryption_key_previous.map(|Secret(keys)| keys).unwrap_or_default();
    Keyring::new(current, &previous).context("SKILLPAY_ENCRYPTION_KEY is not a usable key")
}

/// One line per sealed column, for the command line.
pub fn line(report: &ResealReport) -> String {
    let mut line = format!(
        "{}: resealed {}, already current {}, failed to open {}",
        report.column,
        report.resealed,
        report.already_current,
        report.failed.len()
    );
    if report.still_changing > 0 {
        line.push_str(&format!(", still changing {} (run again)", report.still_changing));
    }
    line
}
