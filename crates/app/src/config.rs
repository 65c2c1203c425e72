//! Configuration from the environment. Every setting, its default and its
//! meaning is listed in the README; names are fixed because deployments and
//! tests rely on them.

use std::collections::HashMap;
use std::str::FromStr;

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use domain::ids::UserId;
use domain::money::Rate;

/// Default bind address.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Default platform fee rate.
pub const DEFAULT_PLATFORM_FEE_RATE: &str = "0.20";
/// Default largest price, in major units.
pub const DEFAULT_MAX_AMOUNT_MAJOR: i64 = 1_000_000;
/// Default pool size.
pub const DEFAULT_DB_POOL_SIZE: u32 = 16;
/// Default HTTP worker threads: enough short statements in flight to keep a
/// small PostgreSQL's commits grouped, each worker about 0.35 MiB resident.
pub const DEFAULT_HTTP_WORKERS: u32 = 8;
/// Where PayPal sends a buyer after approval, unless configured.
pub const DEFAULT_PAYPAL_RETURN_URL: &str = "http://localhost:3000/checkout/paypal/return";
/// Where PayPal sends a buyer who cancels, unless configured.
pub const DEFAULT_PAYPAL_CANCEL_URL: &str = "http://localhost:3000/checkout/paypal/cancel";
/// Default seconds between sweeps over open payments.
pub const DEFAULT_RECONCILE_INTERVAL_SECS: u64 = 60;
/// Default age (seconds) from which an open payment is re-checked.
pub const DEFAULT_RECONCILE_AFTER_SECS: i64 = 300;
/// Default minutes after which an unpaid payment expires.
pub const DEFAULT_PAYMENT_EXPIRY_MINUTES: i64 = 60;
/// Default refund window, in days.
pub const DEFAULT_REFUND_WINDOW_DAYS: i64 = 30;
/// Default smallest payout, in major units.
pub const DEFAULT_MIN_PAYOUT: &str = "10.00";
/// Refunds and payouts above this many major units need a second admin.
const DEFAULT_SECOND_APPROVAL_ABOVE: &str = "1000.00";
/// Default days sale earnings stay pending before they can be paid out
/// (covers the usual window for early refunds and card disputes).
pub const DEFAULT_PAYOUT_HOLD_DAYS: i64 = 7;
/// Default milliseconds between rounds of the event delivery worker.
pub const DEFAULT_EVENT_POLL_MS: u64 = 1_000;
/// Default seconds an endpoint has to answer an event.
pub const DEFAULT_EVENT_TIMEOUT_SECS: u64 = 10;
/// Default seconds readiness answers 503 before the server stops accepting.
pub const DEFAULT_SHUTDOWN_DRAIN_SECS: u64 = 2;
/// Default seconds in-flight requests and workers get to finish.
pub const DEFAULT_SHUTDOWN_TIMEOUT_SECS: u64 = 30;
/// Default and least hours an idempotency key is kept.
pub const MIN_IDEMPOTENCY_TTL_HOURS: i64 = 24;
/// Shortest accepted JWT secret, in bytes.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// The service's settings.
#[derive(Clone)]
pub struct Config {
    /// PostgreSQL URL (only `token` works without one).
    pub database_url: Option<String>,
    /// host:port to listen on.
    pub bind: String,
    /// HS256 secret for bearer tokens.
    pub jwt_secret: Vec<u8>,
    /// Required `aud` claim, if any.
    pub jwt_audience: Option<String>,
    /// Key for encrypting payout and gateway credentials (32 bytes).
    pub encryption_key: Option<[u8; 32]>,
    /// Earlier keys, still able to open values they sealed (rotation).
    pub previous_encryption_keys: Vec<[u8; 32]>,
    /// Platform fee rate.
    pub platform_fee_rate: Rate,
    /// Per-instructor fee rates.
    pub instructor_fee_rates: HashMap<UserId, Rate>,
    /// Largest price, in major units.
    pub max_amount_major: i64,
    /// Database pool size.
    pub db_pool_size: u32,
    /// Most statistics reads running at once.
    pub db_stats_reads: u32,
    /// HTTP worker threads (each runs its requests' short storage calls).
    pub http_workers: u32,
    /// Whether the sandbox gateway is enabled.
    pub sandbox_enabled: bool,
    /// Stripe secret key; Stripe payments are on when set.
    pub stripe_secret_key: Option<String>,
    /// Stripe webhook signing secrets (comma-separated in the environment).
    pub stripe_webhook_secrets: Vec<String>,
    /// Stripe API base URL (a Stripe-compatible stand-in, or Stripe's).
    pub stripe_api_base: String,
    /// PayPal REST app credentials; PayPal payments are on when set.
    pub paypal: Option<PaypalSettings>,
    /// Seconds between sweeps over open payments.
    pub reconcile_interval_secs: u64,
    /// Open payments older than this are re-checked with their gateway.
    pub reconcile_after_secs: i64,
    /// Payments still unpaid this many minutes after creation expire.
    pub payment_expiry_minutes: i64,
    /// Days after completion within which a payer may ask for a refund.
    pub refund_window_days: i64,
    /// The fee of a lost dispute, per currency.
    pub dispute_fees: Vec<domain::money::Money>,
    /// Who pays it.
    pub dispute_fee_bearer: domain::dispute::DisputeFeeBearer,
    /// Hours an idempotency key is kept (at least 24).
    pub idempotency_ttl_hours: i64,
    /// Smallest payout, in major units of its currency.
    pub min_payout_major: rust_decimal::Decimal,
    /// Refunds and payouts above this (major units of their currency) need
    /// two admins' approval; `None`: one admin suffices.
    pub second_approval_above: Option<rust_decimal::Decimal>,
    /// Days sale earnings stay pending (0: released by the next sweep).
    pub payout_hold_days: i64,
    /// Milliseconds between event delivery rounds.
    pub event_poll_ms: u64,
    /// Seconds an endpoint has to answer.
    pub event_timeout_secs: u64,
    /// Seconds of draining (readiness 503) before the server stops accepting.
    pub shutdown_drain_secs: u64,
    /// Seconds in-flight requests and workers get to finish.
    pub shutdown_timeout_secs: u64,
    /// PEM certificate chain and key for serving HTTPS directly.
    pub tls_files: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Bearer token `/metrics` wants, if any.
    pub metrics_token: Option<String>,
    /// Requests allowed per minute.
    pub rate_limits: domain::usecases::rate_limits::RateLimitPolicy,
    /// Consecutive gateway outages that open its circuit.
    pub breaker_failures: u32,
    /// Seconds an open circuit fails fast before a trial call.
    pub breaker_cooldown_secs: u64,
}

/// PayPal settings from the environment.
#[derive(Clone)]
pub struct PaypalSettings {
    /// `PAYPAL_CLIENT_ID`.
    pub client_id: String,
    /// `PAYPAL_CLIENT_SECRET`.
    pub client_secret: String,
    /// `PAYPAL_WEBHOOK_ID`; webhooks fail closed without it.
    pub webhook_id: Option<String>,
    /// `PAYPAL_API_BASE` (PayPal's sandbox by default).
    pub api_base: String,
    /// `PAYPAL_RETURN_URL`: where PayPal sends the buyer after approving.
    pub return_url: String,
    /// `PAYPAL_CANCEL_URL`: where PayPal sends the buyer after cancelling.
    pub cancel_url: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets and the database URL (which may hold a password) are not printed.
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("jwt_audience", &self.jwt_audience)
            .field("platform_fee_rate", &self.platform_fee_rate)
            .field("max_amount_major", &self.max_amount_major)
            .field("db_pool_size", &self.db_pool_size)
            .field("db_stats_reads", &self.db_stats_reads)
            .field("http_workers", &self.http_workers)
            .field("sandbox_enabled", &self.sandbox_enabled)
            .field("stripe", &self.stripe_secret_key.is_some())
            .field("stripe_webhook_secrets", &self.stripe_webhook_secrets.len())
            .field("stripe_api_base", &self.stripe_api_base)
            .field("paypal", &self.paypal.as_ref().map(|p| p.api_base.clone()))
            .finish_non_exhaustive()
    }
}

fn parse_fee_overrides(text: &str) -> anyhow::Result<HashMap<UserId, Rate>> {
    let mut rates = HashMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (user, rate) = pair.split_once('=').ok_or_else(|| anyhow!("expected INSTRUCTOR_ID=RATE, got {pair:?}"))?;
        let user: UserId = user.trim().parse().map_err(|_| anyhow!("bad instructor id in {pair:?}"))?;
        let rate = Rate::from_str(rate.trim()).map_err(|_| anyhow!("bad rate in {pair:?}: use 0 to 1"))?;
        rates.insert(user, rate);
    }
    Ok(rates)
}

impl Config {
    /// Reads the settings through `var` (the process environment in
    /// production, a map in tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let database_url = var("DATABASE_URL");
        let jwt_secret = var("SKILLPAY_JWT_SECRET").context("SKILLPAY_JWT_SECRET is not set")?.into_bytes();
        if jwt_secret.len() < MIN_JWT_SECRET_BYTES {
            bail!("SKILLPAY_JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes");
        }
        let key = |name: &str, text: &str| -> anyhow::Result<[u8; 32]> {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| anyhow!("{name} must be base64"))?;
            <[u8; 32]>::try_from(bytes).map_err(|_| anyhow!("{name} must be base64 of 32 bytes"))
        };
        let encryption_key =
            var("SKILLPAY_ENCRYPTION_KEY").map(|text| key("SKILLPAY_ENCRYPTION_KEY", &text)).transpose()?;
        let previous_encryption_keys = var("SKILLPAY_ENCRYPTION_KEY_PREVIOUS")
            .map(|list| {
                list.split(',')
                    .filter(|k| !k.trim().is_empty())
                    .map(|k| key("SKILLPAY_ENCRYPTION_KEY_PREVIOUS", k))
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .transpose()?
            .unwrap_or_default();
        let platform_fee_rate =
            Rate::from_str(var("SKILLPAY_PLATFORM_FEE_RATE").as_deref().unwrap_or(DEFAULT_PLATFORM_FEE_RATE))
                .map_err(|_| anyhow!("SKILLPAY_PLATFORM_FEE_RATE must be a decimal from 0 to 1"))?;
        let instructor_fee_rates = parse_fee_overrides(var("SKILLPAY_INSTRUCTOR_FEE_RATES").as_deref().unwrap_or(""))
            .context("SKILLPAY_INSTRUCTOR_FEE_RATES")?;
        let max_amount_major = positive(&var, "SKILLPAY_MAX_AMOUNT", DEFAULT_MAX_AMOUNT_MAJOR)?;
        let db_pool_size = positive(&var, "SKILLPAY_DB_POOL_SIZE", DEFAULT_DB_POOL_SIZE)?;
        let db_stats_reads = positive(&var, "SKILLPAY_DB_STATS_READS", adapters_postgres::DEFAULT_STATS_READS)?;
        let http_workers = positive(&var, "SKILLPAY_HTTP_WORKERS", DEFAULT_HTTP_WORKERS)?;
        let sandbox_enabled = match var("SKILLPAY_SANDBOX").as_deref() {
            None | Some("on") | Some("true") | Some("1") => true,
            Some("off") | Some("false") | Some("0") => false,
            Some(_) => bail!("SKILLPAY_SANDBOX must be on or off"),
        };
        let stripe_webhook_secrets = var("STRIPE_WEBHOOK_SECRET")
            .map(|list| list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        let paypal = match (var("PAYPAL_CLIENT_ID"), var("PAYPAL_CLIENT_SECRET")) {
            (Some(client_id), Some(client_secret)) => Some(PaypalSettings {
                client_id,
                client_secret,
                webhook_id: var("PAYPAL_WEBHOOK_ID"),
                api_base: var("PAYPAL_API_BASE").unwrap_or_else(|| adapters_paypal::SANDBOX_API_BASE.to_owned()),
                return_url: var("PAYPAL_RETURN_URL").unwrap_or_else(|| DEFAULT_PAYPAL_RETURN_URL.to_owned()),
                cancel_url: var("PAYPAL_CANCEL_URL").unwrap_or_else(|| DEFAULT_PAYPAL_CANCEL_URL.to_owned()),
            }),
            (None, None) => None,
            _ => bail!("PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET go together"),
        };
        let reconcile_interval_secs = u64::try_from(positive(&var, "SKILLPAY_RECONCILE_INTERVAL_SECS", 60_i64)?)
            .unwrap_or(DEFAULT_RECONCILE_INTERVAL_SECS);
        let reconcile_after_secs = positive(&var, "SKILLPAY_RECONCILE_AFTER_SECS", DEFAULT_RECONCILE_AFTER_SECS)?;
        let payment_expiry_minutes = positive(&var, "SKILLPAY_PAYMENT_EXPIRY_MINUTES", DEFAULT_PAYMENT_EXPIRY_MINUTES)?;
        let dispute_fees = var("SKILLPAY_DISPUTE_FEE")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|pair| {
                        let (code, amount) = pair
                            .split_once(':')
                            .ok_or_else(|| anyhow!("SKILLPAY_DISPUTE_FEE: expected CUR:AMOUNT, got {pair:?}"))?;
                        let currency = domain::money::Currency::from_code(code.trim())
                            .map_err(|e| anyhow!("SKILLPAY_DISPUTE_FEE: {e}"))?;
                        domain::money::Money::parse_major(amount.trim(), currency)
                            .map_err(|e| anyhow!("SKILLPAY_DISPUTE_FEE: {e}"))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .transpose()?
            .unwrap_or_default();
        let dispute_fee_bearer = match var("SKILLPAY_DISPUTE_FEE_BEARER").as_deref() {
            None | Some("platform") => domain::dispute::DisputeFeeBearer::Platform,
            Some("instructor") => domain::dispute::DisputeFeeBearer::Instructor,
            Some(_) => bail!("SKILLPAY_DISPUTE_FEE_BEARER must be platform or instructor"),
        };
        let refund_window_days = positive(&var, "SKILLPAY_REFUND_WINDOW_DAYS", DEFAULT_REFUND_WINDOW_DAYS)?;
        let idempotency_ttl_hours = positive(&var, "SKILLPAY_IDEMPOTENCY_TTL_HOURS", MIN_IDEMPOTENCY_TTL_HOURS)?;
        if idempotency_ttl_hours < MIN_IDEMPOTENCY_TTL_HOURS {
            bail!("SKILLPAY_IDEMPOTENCY_TTL_HOURS must be at least {MIN_IDEMPOTENCY_TTL_HOURS}");
        }
        let min_payout_major = match var("SKILLPAY_MIN_PAYOUT") {
            None => rust_decimal::Decimal::from_str(DEFAULT_MIN_PAYOUT)?,
            Some(text) => rust_decimal::Decimal::from_str(text.trim())
                .ok()
                .filter(|v| v.is_sign_positive() && !v.is_zero() && v.scale() <= 4)
                .context("SKILLPAY_MIN_PAYOUT must be a positive decimal amount such as 10.00")?,
        };
        let second_approval_above = match var("SKILLPAY_SECOND_APPROVAL_ABOVE").as_deref().map(str::trim) {
            None => Some(rust_decimal::Decimal::from_str(DEFAULT_SECOND_APPROVAL_ABOVE)?),
            Some("off") => None,
            Some(text) => Some(
                rust_decimal::Decimal::from_str(text)
                    .ok()
                    .filter(|v| !v.is_sign_negative() && v.scale() <= 4)
                    .context("SKILLPAY_SECOND_APPROVAL_ABOVE must be an amount such as 1000.00, or off")?,
            ),
        };
        let payout_hold_days = match var("SKILLPAY_PAYOUT_HOLD_DAYS") {
            None => DEFAULT_PAYOUT_HOLD_DAYS,
            Some(text) => text
                .parse()
                .ok()
                .filter(|v: &i64| (0..=365).contains(v))
                .context("SKILLPAY_PAYOUT_HOLD_DAYS must be a whole number of days from 0 to 365")?,
        };
        let event_poll_ms =
            u64::try_from(positive(&var, "SKILLPAY_EVENT_POLL_MS", 1_000_i64)?).unwrap_or(DEFAULT_EVENT_POLL_MS);
        let event_timeout_secs = u64::try_from(positive(&var, "SKILLPAY_EVENT_TIMEOUT_SECS", 10_i64)?)
            .ok()
            .filter(|secs| *secs <= 30)
            .context("SKILLPAY_EVENT_TIMEOUT_SECS must be 1 to 30")?;
        let number_in = |name: &str, default: u64, range: std::ops::RangeInclusive<u64>| -> anyhow::Result<u64> {
            match var(name) {
                None => Ok(default),
                Some(text) => text.parse().ok().filter(|v| range.contains(v)).with_context(|| {
                    format!("{name} must be a whole number from {} to {}", range.start(), range.end())
                }),
            }
        };
        let shutdown_drain_secs = number_in("SKILLPAY_SHUTDOWN_DRAIN_SECS", DEFAULT_SHUTDOWN_DRAIN_SECS, 0..=60)?;
        let shutdown_timeout_secs =
            number_in("SKILLPAY_SHUTDOWN_TIMEOUT_SECS", DEFAULT_SHUTDOWN_TIMEOUT_SECS, 1..=300)?;
        let breaker_failures = u32::try_from(number_in("SKILLPAY_BREAKER_FAILURES", 5, 1..=100)?).unwrap_or(5);
        let breaker_cooldown_secs = number_in("SKILLPAY_BREAKER_COOLDOWN_SECS", 30, 1..=600)?;
        let per_minute = |name: &str, default: u32| -> anyhow::Result<u32> {
            Ok(u32::try_from(number_in(name, u64::from(default), 1..=1_000_000)?).unwrap_or(default))
        };
        let defaults = domain::usecases::rate_limits::RateLimitPolicy::default();
        let rate_limits = domain::usecases::rate_limits::RateLimitPolicy {
            window: chrono::Duration::minutes(1),
            payments_per_user: per_minute("SKILLPAY_RATE_PAYMENTS_PER_USER", defaults.payments_per_user)?,
            payments_per_ip: per_minute("SKILLPAY_RATE_PAYMENTS_PER_IP", defaults.payments_per_ip)?,
            validations_per_user: per_minute("SKILLPAY_RATE_VALIDATIONS_PER_USER", defaults.validations_per_user)?,
            validations_per_ip: per_minute("SKILLPAY_RATE_VALIDATIONS_PER_IP", defaults.validations_per_ip)?,
        };
        let tls_files = match (var("SKILLPAY_TLS_CERT_FILE"), var("SKILLPAY_TLS_KEY_FILE")) {
            (Some(cert), Some(key)) => Some((cert.into(), key.into())),
            (None, None) => None,
            _ => bail!("SKILLPAY_TLS_CERT_FILE and SKILLPAY_TLS_KEY_FILE go together"),
        };
        Ok(Config {
            tls_files,
            metrics_token: var("SKILLPAY_METRICS_TOKEN"),
            rate_limits,
            breaker_failures,
            breaker_cooldown_secs,
            shutdown_drain_secs,
            shutdown_timeout_secs,
            event_poll_ms,
            event_timeout_secs,
            min_payout_major,
            second_approval_above,
            payout_hold_days,
            idempotency_ttl_hours,
            dispute_fees,
            dispute_fee_bearer,
            refund_window_days,
            previous_encryption_keys,
            reconcile_interval_secs,
            reconcile_after_secs,
            payment_expiry_minutes,
            paypal,
            stripe_secret_key: var("STRIPE_SECRET_KEY"),
            stripe_webhook_secrets,
            stripe_api_base: var("STRIPE_API_BASE").unwrap_or_else(|| adapters_stripe::DEFAULT_API_BASE.to_owned()),
            database_url,
            bind: var("SKILLPAY_BIND").unwrap_or_else(|| DEFAULT_BIND.to_owned()),
            jwt_secret,
            jwt_audience: var("SKILLPAY_JWT_AUDIENCE"),
            encryption_key,
            platform_fee_rate,
            instructor_fee_rates,
            max_amount_major,
            db_pool_size,
            db_stats_reads,
            http_workers,
            sandbox_enabled,
        })
    }

    /// Reads the process environment.
    pub fn from_env() -> anyhow::Result<Config> {
        Self::from_vars(env_var)
    }
}

/// The integer setting `name`, `default` when unset; anything but a
/// positive integer is refused, naming the setting.
fn positive<T>(var: &impl Fn(&str) -> Option<String>, name: &str, default: T) -> anyhow::Result<T>
where
    T: FromStr + PartialOrd + Default,
{
    match var(name) {
        None => Ok(default),
        Some(text) => text
            .parse()
            .ok()
            .filter(|v| *v > T::default())
            .with_context(|| format!("{name} must be a positive integer")),
    }
}

/// A setting from the process environment; set but empty counts as unset.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| map.get(name).cloned()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_apply_when_only_the_required_settings_are_given() {
        let config =
            Config::from_vars(vars(&[("DATABASE_URL", "postgres://x/y"), ("SKILLPAY_JWT_SECRET", SECRET)])).unwrap();
        assert_eq!(config.bind, DEFAULT_BIND);
        assert_eq!(config.platform_fee_rate, Rate::from_str("0.20").unwrap());
        assert_eq!(config.max_amount_major, DEFAULT_MAX_AMOUNT_MAJOR);
        assert_eq!((config.db_pool_size, config.http_workers), (DEFAULT_DB_POOL_SIZE, DEFAULT_HTTP_WORKERS));
        assert_eq!(config.db_stats_reads, adapters_postgres::DEFAULT_STATS_READS);
        assert!(config.sandbox_enabled);
    }

    #[test]
    fn bad_settings_are_refused_with_their_name() {
        let base = [("DATABASE_URL", "postgres://x/y"), ("SKILLPAY_JWT_SECRET", SECRET)];
        for (name, value) in [
            ("SKILLPAY_PLATFORM_FEE_RATE", "1.5"),
            ("SKILLPAY_ENCRYPTION_KEY", "c2hvcnQ="),
            ("SKILLPAY_INSTRUCTOR_FEE_RATES", "7:0.1"),
            ("SKILLPAY_MAX_AMOUNT", "-1"),
            ("SKILLPAY_SANDBOX", "maybe"),
            ("SKILLPAY_HTTP_WORKERS", "0"),
            ("SKILLPAY_DB_STATS_READS", "0"),
        ] {
            let mut pairs = base.to_vec();
            pairs.push((name, value));
            let error = Config::from_vars(vars(&pairs)).err().map(|e| format!("{e:#}")).unwrap_or_default();
            assert!(error.contains(name), "{name}: {error}");
        }
        let short = Config::from_vars(vars(&[("DATABASE_URL", "x"), ("SKILLPAY_JWT_SECRET", "short")]));
        assert!(short.is_err());
        let no_secret = Config::from_vars(vars(&[("DATABASE_URL", "x")]));
        assert!(no_secret.err().map(|e| e.to_string()).unwrap_or_default().contains("SKILLPAY_JWT_SECRET"));
    }

    #[test]
    fn instructor_fee_rates_parse() {
        let rates = parse_fee_overrides("7=0.10, 9=0").unwrap();
        assert_eq!(rates.get(&UserId::new(7)), Some(&Rate::from_str("0.10").unwrap()));
        assert_eq!(rates.len(), 2);
    }
}
