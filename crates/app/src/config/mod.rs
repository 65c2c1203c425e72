//! Configuration: the settings, each declared once in [`Settings`] (a flag
//! and an environment variable, its default, help and parser), then tied
//! together into a [`Config`]. The README's table lists them; a test keeps
//! the two in step.

mod parse;
mod settings;

use std::collections::HashMap;

use anyhow::{Context, bail};
use domain::ids::UserId;
use domain::money::Rate;
use domain::per_currency::PerCurrency;
use domain::usecases::rate_limits::RateLimitPolicy;

pub use self::parse::Secret;
pub use self::settings::{DatabaseSetting, KeySettings, LogSettings, Settings, empty_variables_unset};

/// Default bind address.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Default platform fee rate.
pub const DEFAULT_PLATFORM_FEE_RATE: &str = "0.20";
/// Default largest price per currency (`*`: every other currency, in its
/// major units).
pub const DEFAULT_MAX_AMOUNT: &str = "USD:1000000.00,EUR:1000000.00,GBP:1000000.00,JPY:150000000,*:1000000";
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
/// Default seconds between re-reads of the stored gateway configurations
/// (another instance may have stored one).
pub const DEFAULT_GATEWAY_REFRESH_SECS: u64 = 30;
/// Default age (seconds) from which an open payment is re-checked.
pub const DEFAULT_RECONCILE_AFTER_SECS: i64 = 300;
/// Default minutes after which an unpaid payment expires.
pub const DEFAULT_PAYMENT_EXPIRY_MINUTES: i64 = 60;
/// Default refund window, in days.
pub const DEFAULT_REFUND_WINDOW_DAYS: i64 = 30;
/// Default smallest payout per currency.
pub const DEFAULT_MIN_PAYOUT: &str = "USD:10.00,EUR:10.00,GBP:10.00,JPY:1500,*:10.00";
/// Default consecutive gateway outages that open its circuit.
pub const DEFAULT_BREAKER_FAILURES: u32 = 5;
/// Default seconds an open circuit fails fast.
pub const DEFAULT_BREAKER_COOLDOWN_SECS: u64 = 30;
/// Refunds and payouts above these amounts need a second admin; in a
/// currency not named, every amount does.
pub const DEFAULT_SECOND_APPROVAL_ABOVE: &str = "USD:1000.00,EUR:1000.00,GBP:1000.00,JPY:150000";
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
    /// Required `iss` claim, if any.
    pub jwt_issuer: Option<String>,
    /// Key for encrypting payout and gateway credentials (32 bytes).
    pub encryption_key: Option<[u8; 32]>,
    /// Earlier keys, still able to open values they sealed (rotation).
    pub previous_encryption_keys: Vec<[u8; 32]>,
    /// Platform fee rate.
    pub platform_fee_rate: Rate,
    /// Per-instructor fee rates.
    pub instructor_fee_rates: HashMap<UserId, Rate>,
    /// Largest price per currency (every currency has one).
    pub max_amount: PerCurrency,
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
    /// Seconds between re-reads of the stored gateway configurations.
    pub gateway_refresh_secs: u64,
    /// Open payments older than this are re-checked with their gateway.
    pub reconcile_after_secs: i64,
    /// Payments still unpaid this many minutes after creation expire.
    pub payment_expiry_minutes: i64,
    /// Hours a payment held for review waits before the sweep refunds it.
    pub review_deadline_hours: i64,
    /// Days events are kept for a new endpoint's backfill.
    pub event_retention_days: i64,
    /// Days a signed receipt link stays valid.
    pub receipt_link_days: i64,
    /// The SMTP server (may hold a password: never printed); `None`:
    /// `.eml` files in `mail_dir`.
    pub smtp_url: Option<String>,
    /// A private certificate authority the SMTP server's certificate is
    /// signed by.
    pub smtp_ca_file: Option<String>,
    /// Where `.eml` files go without an SMTP server.
    pub mail_dir: String,
    /// The sender of e-mail.
    pub mail_from: String,
    /// Who receives e-mail, beyond contact records.
    pub mail: domain::usecases::mail::MailPolicy,
    /// The service's public address, for links in e-mail.
    pub public_url: String,
    /// How unpaid payments may hold limited coupons' uses.
    pub coupon_holds: domain::coupon::CouponHoldPolicy,
    /// Days after completion within which a payer may ask for a refund.
    pub refund_window_days: i64,
    /// The fee of a lost dispute, per currency.
    pub dispute_fees: Vec<domain::money::Money>,
    /// Who pays it.
    pub dispute_fee_bearer: domain::dispute::DisputeFeeBearer,
    /// Who bears the gateways' processing fees.
    pub gateway_fee_bearer: domain::ledger::FeeBearer,
    /// Hours an idempotency key is kept (at least 24).
    pub idempotency_ttl_hours: i64,
    /// Seconds an idempotency claim holds between renewals by its request.
    pub idempotency_lease_secs: u64,
    /// Smallest payout per currency (every currency has one).
    pub min_payout: PerCurrency,
    /// Refunds and payouts above these amounts need two admins' approval
    /// (in a currency not named, every amount); `None`: one admin suffices.
    pub second_approval_above: Option<PerCurrency>,
    /// Hours over which one admin's sole approvals add up.
    pub second_approval_window_hours: i64,
    /// Days sale earnings stay pending (0: released by the next sweep).
    pub payout_hold_days: i64,
    /// Milliseconds between event delivery rounds.
    pub event_poll_ms: u64,
    /// Seconds an endpoint has to answer.
    pub event_timeout_secs: u64,
    /// Where event endpoints may point: public https hosts only, unless
    /// development allows private ones.
    pub event_destinations: domain::destinations::Destinations,
    /// Seconds of draining (readiness 503) before the server stops accepting.
    pub shutdown_drain_secs: u64,
    /// Seconds in-flight requests and workers get to finish.
    pub shutdown_timeout_secs: u64,
    /// PEM certificate chain and key for serving HTTPS directly.
    pub tls_files: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Bearer token `/metrics` wants, if any (required with a live gateway).
    pub metrics_token: Option<String>,
    /// Whether `/api/docs/` and `/api/openapi.json` are served.
    pub api_docs: bool,
    /// Proxies whose forwarding headers name the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
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
            .field("jwt_issuer", &self.jwt_issuer)
            .field("platform_fee_rate", &self.platform_fee_rate)
            .field("max_amount", &self.max_amount.to_string())
            .field("db_pool_size", &self.db_pool_size)
            .field("db_stats_reads", &self.db_stats_reads)
            .field("http_workers", &self.http_workers)
            .field("sandbox_enabled", &self.sandbox_enabled)
            .field("event_destinations", &self.event_destinations)
            .field("stripe", &self.stripe_secret_key.is_some())
            .field("stripe_webhook_secrets", &self.stripe_webhook_secrets.len())
            .field("stripe_api_base", &self.stripe_api_base)
            .field("paypal", &self.paypal.as_ref().map(|p| p.api_base.clone()))
            .finish_non_exhaustive()
    }
}

impl TryFrom<Settings> for Config {
    type Error = anyhow::Error;

    /// The rules that tie settings together, each parsed on its own before.
    fn try_from(settings: Settings) -> anyhow::Result<Config> {
        let jwt_secret = settings.jwt_secret.context("SKILLPAY_JWT_SECRET is not set")?.0;
        let paypal = match (settings.paypal_client_id, settings.paypal_client_secret) {
            (Some(client_id), Some(Secret(client_secret))) => Some(PaypalSettings {
                client_id,
                client_secret,
                webhook_id: settings.paypal_webhook_id,
                api_base: settings.paypal_api_base,
                return_url: settings.paypal_return_url,
                cancel_url: settings.paypal_cancel_url,
            }),
            (None, None) => None,
            _ => bail!("PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET go together"),
        };
        // Live money is production: a token minted for another service that
        // shares the secret must not pass, so the audience and issuer are
        // checked there (tests and `just run` use test gateways only).
        let live_stripe = settings
            .stripe_secret_key
            .as_ref()
            .is_some_and(|Secret(key)| adapters_stripe::mode_of_key(key) == domain::gateway_config::GatewayMode::Live);
        let live_paypal = paypal.as_ref().is_some_and(|p| {
            adapters_paypal::mode_of_api_base(&p.api_base) == domain::gateway_config::GatewayMode::Live
        });
        let live = live_stripe || live_paypal;
        if live && (settings.jwt_audience.is_none() || settings.jwt_issuer.is_none()) {
            bail!(
                "SKILLPAY_JWT_AUDIENCE and SKILLPAY_JWT_ISSUER are required with a live gateway (see docs/security.md#tokens)"
            );
        }
        // The operational figures name gateways, queues and failure counts:
        // not for the internet once real money flows.
        if live && settings.metrics_token.is_none() {
            bail!("SKILLPAY_METRICS_TOKEN is required with a live gateway (see docs/security.md#exposure)");
        }
        let tls_files = match (settings.tls_cert_file, settings.tls_key_file) {
            (Some(cert), Some(key)) => Some((cert.into(), key.into())),
            (None, None) => None,
            _ => bail!("SKILLPAY_TLS_CERT_FILE and SKILLPAY_TLS_KEY_FILE go together"),
        };
        Ok(Config {
            database_url: settings.database.database_url.map(|Secret(url)| url),
            bind: settings.bind,
            jwt_secret,
            jwt_audience: settings.jwt_audience,
            jwt_issuer: settings.jwt_issuer,
            encryption_key: settings.keys.encryption_key.map(|Secret(key)| key),
            previous_encryption_keys: settings
                .keys
                .encryption_key_previous
                .map(|Secret(keys)| keys)
                .unwrap_or_default(),
            platform_fee_rate: settings.platform_fee_rate,
            instructor_fee_rates: settings.instructor_fee_rates.unwrap_or_default().0,
            max_amount: settings.max_amount,
            db_pool_size: settings.db_pool_size,
            db_stats_reads: settings.db_stats_reads,
            http_workers: settings.http_workers,
            sandbox_enabled: settings.sandbox,
            stripe_secret_key: settings.stripe_secret_key.map(|Secret(key)| key),
            stripe_webhook_secrets: settings.stripe_webhook_secret.map(|Secret(list)| list).unwrap_or_default(),
            stripe_api_base: settings.stripe_api_base,
            paypal,
            reconcile_interval_secs: settings.reconcile_interval_secs,
            gateway_refresh_secs: settings.gateway_refresh_secs,
            reconcile_after_secs: settings.reconcile_after_secs,
            payment_expiry_minutes: settings.payment_expiry_minutes,
            review_deadline_hours: settings.review_deadline_hours,
            event_retention_days: settings.event_retention_days,
            receipt_link_days: settings.receipt_link_days,
            smtp_url: settings.smtp_url.map(|Secret(url)| url),
            smtp_ca_file: settings.smtp_ca_file,
            mail_dir: settings.mail_dir,
            mail_from: settings.mail_from,
            mail: domain::usecases::mail::MailPolicy {
                admins: parse::list(settings.mail_admins.as_deref()),
                test_allow: parse::list(settings.mail_test_allow.as_deref()),
                message_domain: "skillpay".to_owned(),
            },
            public_url: settings.public_url,
            refund_window_days: settings.refund_window_days,
            coupon_holds: domain::coupon::CouponHoldPolicy {
                unpaid_per_user: settings.coupon_unpaid_per_user,
                hold: chrono::Duration::minutes(settings.coupon_hold_minutes),
            },
            dispute_fees: settings.dispute_fee.unwrap_or_default().0,
            dispute_fee_bearer: settings.dispute_fee_bearer,
            gateway_fee_bearer: settings.gateway_fee_bearer,
            idempotency_ttl_hours: settings.idempotency_ttl_hours,
            idempotency_lease_secs: settings.idempotency_lease_secs,
            min_payout: settings.min_payout,
            second_approval_above: settings.second_approval_above.0,
            second_approval_window_hours: settings.second_approval_window_hours,
            payout_hold_days: settings.payout_hold_days,
            event_poll_ms: settings.event_poll_ms,
            event_timeout_secs: settings.event_timeout_secs,
            event_destinations: if settings.event_endpoints_allow_private {
                domain::destinations::Destinations::PrivateAllowed
            } else {
                domain::destinations::Destinations::PublicOnly
            },
            shutdown_drain_secs: settings.shutdown_drain_secs,
            shutdown_timeout_secs: settings.shutdown_timeout_secs,
            tls_files,
            metrics_token: settings.metrics_token.map(|Secret(token)| token),
            api_docs: settings.api_docs.unwrap_or(!live),
            trusted_proxies: settings.trusted_proxies.unwrap_or_default().0,
            rate_limits: RateLimitPolicy {
                window: chrono::Duration::minutes(1),
                payments_per_user: settings.rate_payments_per_user,
                payments_per_ip: settings.rate_payments_per_ip,
                validations_per_user: settings.rate_validations_per_user,
                validations_per_ip: settings.rate_validations_per_ip,
                webhook_failures_per_ip: settings.rate_webhook_failures_per_ip,
            },
            breaker_failures: settings.breaker_failures,
            breaker_cooldown_secs: settings.breaker_cooldown_secs,
        })
    }
}

impl Config {
    /// Reads the settings through `var` (the process environment in
    /// production, a map in tests) and nothing else.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        Config::try_from(Settings::from_vars(var)?)
    }

    /// Reads the process environment.
    pub fn from_env() -> anyhow::Result<Config> {
        Self::from_vars(env_var)
    }
}

/// A setting from the process environment; set but empty counts as unset.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests;
