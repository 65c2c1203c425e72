//! Gateway configurations kept in the database: per provider and mode,
//! credentials write-only (stored sealed, never shown back), one active
//! configuration per provider. Environment variables remain the simplest
//! way to configure a single deployment; an active stored configuration
//! takes precedence over them, from the next request after it is stored.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::payment::PaymentMethod;

/// Test or live credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum GatewayMode {
    /// The gateway's test mode (Stripe test keys, PayPal sandbox).
    Test,
    /// Real money.
    Live,
}

impl GatewayMode {
    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }

    /// Parses `test` or `live`.
    pub fn parse(text: &str) -> Option<GatewayMode> {
        text.parse().ok()
    }

    /// The mode of money marked `livemode`.
    pub const fn of(livemode: bool) -> GatewayMode {
        if livemode { GatewayMode::Live } else { GatewayMode::Test }
    }

    /// Whether it is live money.
    pub const fn is_live(self) -> bool {
        matches!(self, GatewayMode::Live)
    }
}

/// Credential values by name. Debug output shows names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct GatewayCredentials(BTreeMap<String, String>);

impl GatewayCredentials {
    /// Credentials from name/value pairs.
    pub fn new(values: BTreeMap<String, String>) -> Self {
        Self(values)
    }

    /// One value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The names present.
    pub fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }

    /// Every value, for sealing.
    pub fn values(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

impl fmt::Debug for GatewayCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// The credential names each provider takes, and which are required.
pub fn credential_names(provider: PaymentMethod) -> Option<(&'static [&'static str], &'static [&'static str])> {
    match provider {
        PaymentMethod::Stripe => Some((&["secret_key", "webhook_secret"], &["secret_key"])),
        PaymentMethod::Paypal => Some((&["client_id", "client_secret", "webhook_id"], &["client_id", "client_secret"])),
        PaymentMethod::Sandbox | PaymentMethod::BankTransfer | PaymentMethod::Wallet => None,
    }
}

/// The gateway's own API, the only one live money may be sent to: a stored
/// live configuration cannot point real credentials at another host, nor
/// at any host in plaintext.
pub fn official_api_base(provider: PaymentMethod) -> Option<&'static str> {
    match provider {
        PaymentMethod::Stripe => Some("https://api.stripe.com"),
        PaymentMethod::Paypal => Some("https://api-m.paypal.com"),
        PaymentMethod::Sandbox | PaymentMethod::BankTransfer | PaymentMethod::Wallet => None,
    }
}

/// The mode a Stripe secret key works in, by its prefix (`sk_live_`,
/// `rk_live_`; `sk_test_`, `rk_test_`); `None` for any other text.
pub fn stripe_key_mode(key: &str) -> Option<GatewayMode> {
    if key.starts_with("sk_live_") || key.starts_with("rk_live_") {
        Some(GatewayMode::Live)
    } else if key.starts_with("sk_test_") || key.starts_with("rk_test_") {
        Some(GatewayMode::Test)
    } else {
        None
    }
}

/// The mode a provider's credentials say they work in, when they say it
/// (Stripe's secret key does, by [`stripe_key_mode`]). `None` when the
/// credentials do not tell.
pub fn credentials_mode(provider: PaymentMethod, credentials: &GatewayCredentials) -> Option<GatewayMode> {
    match provider {
        PaymentMethod::Stripe => stripe_key_mode(credentials.get("secret_key")?),
        PaymentMethod::Paypal | PaymentMethod::Sandbox | PaymentMethod::BankTransfer | PaymentMethod::Wallet => None,
    }
}

/// A gateway configuration with its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Its id.
    pub id: Uuid,
    /// Stripe or PayPal.
    pub provider: PaymentMethod,
    /// Test or live.
    pub mode: GatewayMode,
    /// Served when true.
    pub is_active: bool,
    /// Write-only secrets.
    pub credentials: GatewayCredentials,
    /// Non-secret settings (`api_base`).
    pub api_base: Option<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What may be shown of a configuration: no credential values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfigSummary {
    /// Its id.
    pub id: Uuid,
    /// Stripe or PayPal.
    pub provider: PaymentMethod,
    /// Test or live.
    pub mode: GatewayMode,
    /// Served when true.
    pub is_active: bool,
    /// Names of the credentials set.
    pub credential_names: Vec<String>,
    /// Non-secret settings.
    pub api_base: Option<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<&GatewayConfig> for GatewayConfigSummary {
    fn from(c: &GatewayConfig) -> Self {
        GatewayConfigSummary {
            id: c.id,
            provider: c.provider,
            mode: c.mode,
            is_active: c.is_active,
            credential_names: c.credentials.names(),
            api_base: c.api_base.clone(),
            updated_at: c.updated_at,
        }
    }
}
