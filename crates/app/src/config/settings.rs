//! Every setting, declared once: its environment variable (the names are
//! fixed: deployments rely on them), its flag, its default, its help and its
//! parser. `skillpay serve --help` lists them; a test checks the README's
//! table against them. Secrets hide their values in the help and in `Debug`;
//! set them through the environment, as command lines are visible to other
//! users of the machine.

use clap::{Args, FromArgMatches};
use domain::dispute::DisputeFeeBearer;
use domain::money::Rate;
use domain::per_currency::PerCurrency;
use domain::usecases::rate_limits::RateLimitPolicy;

use super::parse::{self, FeeRates, Fees, Secret, Setting, Threshold};
use super::{
    DEFAULT_BIND, DEFAULT_BREAKER_COOLDOWN_SECS, DEFAULT_BREAKER_FAILURES, DEFAULT_DB_POOL_SIZE, DEFAULT_EVENT_POLL_MS,
    DEFAULT_EVENT_TIMEOUT_SECS, DEFAULT_GATEWAY_REFRESH_SECS, DEFAULT_HTTP_WORKERS, DEFAULT_MAX_AMOUNT,
    DEFAULT_MIN_PAYOUT, DEFAULT_PAYMENT_EXPIRY_MINUTES, DEFAULT_PAYOUT_HOLD_DAYS, DEFAULT_PAYPAL_CANCEL_URL,
    DEFAULT_PAYPAL_RETURN_URL, DEFAULT_PLATFORM_FEE_RATE, DEFAULT_RECONCILE_AFTER_SECS,
    DEFAULT_RECONCILE_INTERVAL_SECS, DEFAULT_REFUND_WINDOW_DAYS, DEFAULT_SECOND_APPROVAL_ABOVE,
    DEFAULT_SHUTDOWN_DRAIN_SECS, DEFAULT_SHUTDOWN_TIMEOUT_SECS, MIN_IDEMPOTENCY_TTL_HOURS,
};

/// The database's address, all that `migrate` and `ledger verify` need.
#[derive(Args, Clone, Debug)]
pub struct DatabaseSetting {
    /// PostgreSQL URL (required by every command except `token`)
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_parser = Setting(parse::secret))]
    pub database_url: Option<Secret<String>>,
}

/// The keys sealing secrets at rest, all that `reseal` needs besides the
/// database.
#[derive(Args, Clone, Debug)]
pub struct KeySettings {
    /// Base64 of 32 bytes; seals gateway credentials, payout destinations and event endpoint secrets at rest (unset: all refused)
    #[arg(long, env = "SKILLPAY_ENCRYPTION_KEY", hide_env_values = true, value_parser = Setting(parse::encryption_key))]
    pub encryption_key: Option<Secret<[u8; 32]>>,
    /// Earlier keys (comma-separated base64), still able to open what they sealed until `skillpay reseal` has run
    #[arg(
        long,
        env = "SKILLPAY_ENCRYPTION_KEY_PREVIOUS",
        hide_env_values = true,
        value_parser = Setting(parse::encryption_keys)
    )]
    pub encryption_key_previous: Option<Secret<Vec<[u8; 32]>>>,
}

/// How the service logs; read by every command.
#[derive(Args, Clone, Debug)]
pub struct LogSettings {
    /// Log filter (tracing `EnvFilter` syntax)
    #[arg(long, env = "RUST_LOG", global = true, default_value = "info", value_parser = Setting(parse::log_filter))]
    pub log_filter: String,
    /// `json` (one object per line) or `text`; every line is scrubbed of secrets either way
    #[arg(long, env = "SKILLPAY_LOG_FORMAT", global = true, default_value = "json", value_parser = Setting(parse::log_format))]
    pub log_format: String,
}

/// The settings of the commands that serve or sign (all but `migrate` and
/// `ledger verify`).
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Settings (a flag, or its environment variable)")]
pub struct Settings {
    #[command(flatten)]
    pub database: DatabaseSetting,
    /// host:port to listen on
    #[arg(long, env = "SKILLPAY_BIND", default_value = DEFAULT_BIND, value_parser = Setting(parse::text))]
    pub bind: String,
    /// HS256 secret of bearer tokens (required, at least 32 bytes)
    #[arg(long, env = "SKILLPAY_JWT_SECRET", hide_env_values = true, value_parser = Setting(parse::jwt_secret))]
    pub jwt_secret: Option<Secret<Vec<u8>>>,
    /// Required `aud` claim (none checked when unset)
    #[arg(long, env = "SKILLPAY_JWT_AUDIENCE", value_parser = Setting(parse::text))]
    pub jwt_audience: Option<String>,
    /// Required `iss` claim (none checked when unset)
    #[arg(long, env = "SKILLPAY_JWT_ISSUER", value_parser = Setting(parse::text))]
    pub jwt_issuer: Option<String>,
    #[command(flatten)]
    pub keys: KeySettings,
    /// Platform's share of each sale, 0 to 1
    #[arg(long, env = "SKILLPAY_PLATFORM_FEE_RATE", default_value = DEFAULT_PLATFORM_FEE_RATE, value_parser = Setting(parse::rate))]
    pub platform_fee_rate: Rate,
    /// Per-instructor rates, e.g. 42=0.15,7=0.10
    #[arg(long, env = "SKILLPAY_INSTRUCTOR_FEE_RATES", value_parser = Setting(parse::fee_rates))]
    pub instructor_fee_rates: Option<FeeRates>,
    /// Largest price accepted per currency, e.g. USD:1000000.00,JPY:150000000,*:1000000
    #[arg(long, env = "SKILLPAY_MAX_AMOUNT", default_value = DEFAULT_MAX_AMOUNT, value_parser = Setting(parse::every_currency))]
    pub max_amount: PerCurrency,
    /// Database connections per instance
    #[arg(long, env = "SKILLPAY_DB_POOL_SIZE", default_value_t = DEFAULT_DB_POOL_SIZE, value_parser = Setting(parse::positive::<u32>))]
    pub db_pool_size: u32,
    /// Statistics reads running at once per instance
    #[arg(
        long,
        env = "SKILLPAY_DB_STATS_READS",
        default_value_t = adapters_postgres::DEFAULT_STATS_READS,
        value_parser = Setting(parse::positive::<u32>)
    )]
    pub db_stats_reads: u32,
    /// HTTP worker threads (keep it at most the pool size)
    #[arg(long, env = "SKILLPAY_HTTP_WORKERS", default_value_t = DEFAULT_HTTP_WORKERS, value_parser = Setting(parse::positive::<u32>))]
    pub http_workers: u32,
    /// `on` serves the sandbox gateway (test mode: test tokens, no real money)
    #[arg(long, env = "SKILLPAY_SANDBOX", default_value = "off", action = clap::ArgAction::Set, value_parser = Setting(parse::on_off))]
    pub sandbox: bool,
    /// Stripe secret key; turns Stripe payments on
    #[arg(long, env = "STRIPE_SECRET_KEY", hide_env_values = true, value_parser = Setting(parse::secret))]
    pub stripe_secret_key: Option<Secret<String>>,
    /// Stripe webhook signing secret(s), comma-separated during rotation
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true, value_parser = Setting(parse::secret_list))]
    pub stripe_webhook_secret: Option<Secret<Vec<String>>>,
    /// Stripe API base URL (or a Stripe-compatible stand-in)
    #[arg(long, env = "STRIPE_API_BASE", default_value = adapters_stripe::DEFAULT_API_BASE, value_parser = Setting(parse::text))]
    pub stripe_api_base: String,
    /// PayPal REST app client id; with the secret, turns PayPal payments on
    #[arg(long, env = "PAYPAL_CLIENT_ID", value_parser = Setting(parse::text))]
    pub paypal_client_id: Option<String>,
    /// PayPal REST app client secret; both or neither
    #[arg(long, env = "PAYPAL_CLIENT_SECRET", hide_env_values = true, value_parser = Setting(parse::secret))]
    pub paypal_client_secret: Option<Secret<String>>,
    /// Id of the webhook registered at PayPal, used to verify deliveries
    #[arg(long, env = "PAYPAL_WEBHOOK_ID", value_parser = Setting(parse::text))]
    pub paypal_webhook_id: Option<String>,
    /// PayPal API base URL (https://api-m.paypal.com for live)
    #[arg(long, env = "PAYPAL_API_BASE", default_value = adapters_paypal::SANDBOX_API_BASE, value_parser = Setting(parse::text))]
    pub paypal_api_base: String,
    /// Where PayPal sends the buyer after approving
    #[arg(long, env = "PAYPAL_RETURN_URL", default_value = DEFAULT_PAYPAL_RETURN_URL, value_parser = Setting(parse::text))]
    pub paypal_return_url: String,
    /// Where PayPal sends the buyer after cancelling
    #[arg(long, env = "PAYPAL_CANCEL_URL", default_value = DEFAULT_PAYPAL_CANCEL_URL, value_parser = Setting(parse::text))]
    pub paypal_cancel_url: String,
    /// Seconds between sweeps over open payments
    #[arg(
        long,
        env = "SKILLPAY_RECONCILE_INTERVAL_SECS",
        default_value_t = DEFAULT_RECONCILE_INTERVAL_SECS,
        value_parser = Setting(parse::positive::<u64>)
    )]
    pub reconcile_interval_secs: u64,
    /// Seconds between re-reads of the stored gateway configurations, so a
    /// configuration stored through another instance is served here too
    #[arg(
        long,
        env = "SKILLPAY_GATEWAY_REFRESH_SECS",
        default_value_t = DEFAULT_GATEWAY_REFRESH_SECS,
        value_parser = Setting(parse::positive::<u64>)
    )]
    pub gateway_refresh_secs: u64,
    /// Open payments older than this are re-checked with their gateway
    #[arg(
        long,
        env = "SKILLPAY_RECONCILE_AFTER_SECS",
        default_value_t = DEFAULT_RECONCILE_AFTER_SECS,
        value_parser = Setting(parse::positive::<i64>)
    )]
    pub reconcile_after_secs: i64,
    /// Unpaid payments older than this are expired
    #[arg(
        long,
        env = "SKILLPAY_PAYMENT_EXPIRY_MINUTES",
        default_value_t = DEFAULT_PAYMENT_EXPIRY_MINUTES,
        value_parser = Setting(parse::positive::<i64>)
    )]
    pub payment_expiry_minutes: i64,
    /// Hours a payment held for review may wait for an admin before it is refunded in full
    #[arg(
        long,
        env = "SKILLPAY_REVIEW_DEADLINE_HOURS",
        default_value_t = 72,
        value_parser = Setting(parse::positive::<i64>)
    )]
    pub review_deadline_hours: i64,
    /// Unpaid payments one user may hold a limited coupon's use on at once (1 to 100)
    #[arg(
        long,
        env = "SKILLPAY_COUPON_UNPAID_PER_USER",
        default_value_t = domain::coupon::CouponHoldPolicy::default().unpaid_per_user,
        value_parser = Setting(parse::unpaid_per_user)
    )]
    pub coupon_unpaid_per_user: u32,
    /// Minutes an unpaid payment may hold a limited coupon's use before it expires (1 to 1440)
    #[arg(
        long,
        env = "SKILLPAY_COUPON_HOLD_MINUTES",
        default_value_t = domain::coupon::CouponHoldPolicy::default().hold.num_minutes(),
        value_parser = Setting(parse::coupon_hold_minutes)
    )]
    pub coupon_hold_minutes: i64,
    /// Hours an Idempotency-Key is remembered (at least 24)
    #[arg(
        long,
        env = "SKILLPAY_IDEMPOTENCY_TTL_HOURS",
        default_value_t = MIN_IDEMPOTENCY_TTL_HOURS,
        value_parser = Setting(parse::idempotency_ttl_hours)
    )]
    pub idempotency_ttl_hours: i64,
    /// Seconds a request's claim on its Idempotency-Key holds without being renewed (the running request renews it every third of this; 1 to 600)
    #[arg(
        long,
        env = "SKILLPAY_IDEMPOTENCY_LEASE_SECS",
        default_value_t = web_ports::idempotency::ClaimLease::DEFAULT_SECS,
        value_parser = Setting(parse::idempotency_lease_secs)
    )]
    pub idempotency_lease_secs: u64,
    /// Days after completion within which a payer may ask for a refund
    #[arg(
        long,
        env = "SKILLPAY_REFUND_WINDOW_DAYS",
        default_value_t = DEFAULT_REFUND_WINDOW_DAYS,
        value_parser = Setting(parse::positive::<i64>)
    )]
    pub refund_window_days: i64,
    /// Fee of a lost dispute per currency, e.g. USD:15.00,EUR:15.00 (none when unset)
    #[arg(long, env = "SKILLPAY_DISPUTE_FEE", value_parser = Setting(parse::fees))]
    pub dispute_fee: Option<Fees>,
    /// Who pays it: `platform` or `instructor`
    #[arg(long, env = "SKILLPAY_DISPUTE_FEE_BEARER", default_value = "platform", value_parser = Setting(parse::fee_bearer))]
    pub dispute_fee_bearer: DisputeFeeBearer,
    /// Who bears the gateways' processing fees: `platform` or `instructor`
    #[arg(long, env = "SKILLPAY_GATEWAY_FEE_BEARER", default_value = "platform", value_parser = Setting(parse::fee_bearer))]
    pub gateway_fee_bearer: DisputeFeeBearer,
    /// Smallest payout per currency, e.g. USD:10.00,JPY:1500,*:10.00
    #[arg(long, env = "SKILLPAY_MIN_PAYOUT", default_value = DEFAULT_MIN_PAYOUT, value_parser = Setting(parse::every_currency))]
    pub min_payout: PerCurrency,
    /// Refunds and payouts above these amounts per currency need two admins' approval; `off` turns it off
    #[arg(
        long,
        env = "SKILLPAY_SECOND_APPROVAL_ABOVE",
        default_value = DEFAULT_SECOND_APPROVAL_ABOVE,
        value_parser = Setting(parse::threshold)
    )]
    pub second_approval_above: Threshold,
    /// Hours over which one admin's sole approvals of one payment's refunds or one instructor's payouts add up (1 to 720)
    #[arg(
        long,
        env = "SKILLPAY_SECOND_APPROVAL_WINDOW_HOURS",
        default_value_t = domain::usecases::dual_control::DEFAULT_WINDOW_HOURS,
        value_parser = Setting(parse::approval_window_hours)
    )]
    pub second_approval_window_hours: i64,
    /// Milliseconds between rounds of the event delivery worker
    #[arg(long, env = "SKILLPAY_EVENT_POLL_MS", default_value_t = DEFAULT_EVENT_POLL_MS, value_parser = Setting(parse::positive::<u64>))]
    pub event_poll_ms: u64,
    /// Seconds an event endpoint has to answer (1 to 30)
    #[arg(
        long,
        env = "SKILLPAY_EVENT_TIMEOUT_SECS",
        default_value_t = DEFAULT_EVENT_TIMEOUT_SECS,
        value_parser = Setting(parse::event_timeout_secs)
    )]
    pub event_timeout_secs: u64,
    /// SMTP server for e-mail (`smtps://user:pass@host`, `smtp://host:587?tls=required`); unset: .eml files in SKILLPAY_MAIL_DIR
    #[arg(long, env = "SKILLPAY_SMTP_URL", hide_env_values = true, value_parser = Setting(parse::secret))]
    pub smtp_url: Option<Secret<String>>,
    /// PEM file of a private certificate authority the SMTP server's certificate is signed by
    #[arg(long, env = "SKILLPAY_SMTP_CA_FILE", value_parser = Setting(parse::text))]
    pub smtp_ca_file: Option<String>,
    /// Directory the .eml files are written to when SKILLPAY_SMTP_URL is unset
    #[arg(long, env = "SKILLPAY_MAIL_DIR", default_value = ".data/mail", value_parser = Setting(parse::text))]
    pub mail_dir: String,
    /// Sender of e-mail, e.g. `Skillpay <receipts@example.com>`
    #[arg(long, env = "SKILLPAY_MAIL_FROM", default_value = "Skillpay <skillpay@localhost.localdomain>", value_parser = Setting(parse::text))]
    pub mail_from: String,
    /// The admins' alert addresses, comma-separated
    #[arg(long, env = "SKILLPAY_MAIL_ADMINS", value_parser = Setting(parse::text))]
    pub mail_admins: Option<String>,
    /// Addresses or @domains that may receive e-mail about test money, comma-separated
    #[arg(long, env = "SKILLPAY_MAIL_TEST_ALLOW", value_parser = Setting(parse::text))]
    pub mail_test_allow: Option<String>,
    /// The service's public address, for links in e-mail
    #[arg(long, env = "SKILLPAY_PUBLIC_URL", default_value = "http://127.0.0.1:8080", value_parser = Setting(parse::text))]
    pub public_url: String,
    /// Days a signed link to a receipt stays valid (1 to 366)
    #[arg(
        long,
        env = "SKILLPAY_RECEIPT_LINK_DAYS",
        default_value_t = 30,
        value_parser = Setting(parse::receipt_link_days)
    )]
    pub receipt_link_days: i64,
    /// Days events are kept for a new endpoint's backfill (1 to 3650)
    #[arg(
        long,
        env = "SKILLPAY_EVENT_RETENTION_DAYS",
        default_value_t = domain::usecases::events::DEFAULT_RETENTION_DAYS,
        value_parser = Setting(parse::event_retention_days)
    )]
    pub event_retention_days: i64,
    /// `on` lets event endpoints use http:// and private, loopback and link-local addresses (development only)
    #[arg(
        long,
        env = "SKILLPAY_EVENT_ENDPOINTS_ALLOW_PRIVATE",
        default_value = "off",
        action = clap::ArgAction::Set,
        value_parser = Setting(parse::on_off)
    )]
    pub event_endpoints_allow_private: bool,
    /// Proxies (comma-separated addresses or CIDR networks) whose
    /// X-Forwarded-For / Forwarded hops name the client
    #[arg(long, env = "SKILLPAY_TRUSTED_PROXIES", value_parser = Setting(parse::networks))]
    pub trusted_proxies: Option<parse::Networks>,
    /// Payment creations allowed per minute per user
    #[arg(
        long,
        env = "SKILLPAY_RATE_PAYMENTS_PER_USER",
        default_value_t = RateLimitPolicy::default().payments_per_user,
        value_parser = Setting(parse::per_minute)
    )]
    pub rate_payments_per_user: u32,
    /// Payment creations allowed per minute per client address
    #[arg(
        long,
        env = "SKILLPAY_RATE_PAYMENTS_PER_IP",
        default_value_t = RateLimitPolicy::default().payments_per_ip,
        value_parser = Setting(parse::per_minute)
    )]
    pub rate_payments_per_ip: u32,
    /// Coupon validations allowed per minute per user
    #[arg(
        long,
        env = "SKILLPAY_RATE_VALIDATIONS_PER_USER",
        default_value_t = RateLimitPolicy::default().validations_per_user,
        value_parser = Setting(parse::per_minute)
    )]
    pub rate_validations_per_user: u32,
    /// Coupon validations allowed per minute per client address
    #[arg(
        long,
        env = "SKILLPAY_RATE_VALIDATIONS_PER_IP",
        default_value_t = RateLimitPolicy::default().validations_per_ip,
        value_parser = Setting(parse::per_minute)
    )]
    pub rate_validations_per_ip: u32,
    /// Webhooks failing verification allowed per minute per gateway and client address
    #[arg(
        long,
        env = "SKILLPAY_RATE_WEBHOOK_FAILURES_PER_IP",
        default_value_t = RateLimitPolicy::default().webhook_failures_per_ip,
        value_parser = Setting(parse::per_minute)
    )]
    pub rate_webhook_failures_per_ip: u32,
    /// Consecutive gateway outages that open its circuit (1 to 100)
    #[arg(long, env = "SKILLPAY_BREAKER_FAILURES", default_value_t = DEFAULT_BREAKER_FAILURES, value_parser = Setting(parse::breaker_failures))]
    pub breaker_failures: u32,
    /// Seconds an open circuit fails fast before a trial call (1 to 600)
    #[arg(
        long,
        env = "SKILLPAY_BREAKER_COOLDOWN_SECS",
        default_value_t = DEFAULT_BREAKER_COOLDOWN_SECS,
        value_parser = Setting(parse::breaker_cooldown_secs)
    )]
    pub breaker_cooldown_secs: u64,
    /// Seconds /readyz answers 503 at shutdown while requests are still served (0 to 60)
    #[arg(
        long,
        env = "SKILLPAY_SHUTDOWN_DRAIN_SECS",
        default_value_t = DEFAULT_SHUTDOWN_DRAIN_SECS,
        value_parser = Setting(parse::shutdown_drain_secs)
    )]
    pub shutdown_drain_secs: u64,
    /// Then seconds in-flight requests and workers get to finish (1 to 300)
    #[arg(
        long,
        env = "SKILLPAY_SHUTDOWN_TIMEOUT_SECS",
        default_value_t = DEFAULT_SHUTDOWN_TIMEOUT_SECS,
        value_parser = Setting(parse::shutdown_timeout_secs)
    )]
    pub shutdown_timeout_secs: u64,
    /// Days a sale's earnings stay pending before they can be paid out (0 to 365)
    #[arg(
        long,
        env = "SKILLPAY_PAYOUT_HOLD_DAYS",
        default_value_t = DEFAULT_PAYOUT_HOLD_DAYS,
        value_parser = Setting(parse::payout_hold_days)
    )]
    pub payout_hold_days: i64,
    /// PEM certificate chain: serve HTTPS directly (with the key; both or neither)
    #[arg(long, env = "SKILLPAY_TLS_CERT_FILE", value_parser = Setting(parse::text))]
    pub tls_cert_file: Option<String>,
    /// PEM private key of that certificate
    #[arg(long, env = "SKILLPAY_TLS_KEY_FILE", value_parser = Setting(parse::text))]
    pub tls_key_file: Option<String>,
    /// Bearer token /metrics requires (open when unset: expose it internally only)
    #[arg(long, env = "SKILLPAY_METRICS_TOKEN", hide_env_values = true, value_parser = Setting(parse::secret))]
    pub metrics_token: Option<Secret<String>>,
    /// Serve the API docs (/api/docs/, /api/openapi.json); default on, off with a live gateway
    #[arg(long, env = "SKILLPAY_API_DOCS", value_parser = Setting(parse::on_off))]
    pub api_docs: Option<bool>,
}

impl Settings {
    /// The settings read through `var` alone (the process environment in
    /// production, a list in tests), parsed as the command line would parse
    /// them; set but empty counts as unset.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Settings> {
        let mut argv = vec!["skillpay".to_owned()];
        let command = Settings::augment_args(clap::Command::new("skillpay")).mut_args(|arg| {
            let Some(name) = arg.get_env().and_then(|name| name.to_str()).map(str::to_owned) else {
                return arg;
            };
            if let (Some(long), Some(value)) = (arg.get_long(), var(&name).filter(|value| !value.is_empty())) {
                argv.push(format!("--{long}={value}"));
            }
            // The process environment is set aside; the variable's name
            // stays, for errors to name the setting.
            arg.env(None).value_name(name)
        });
        let matches = command.try_get_matches_from(argv).map_err(plain)?;
        Settings::from_arg_matches(&matches).map_err(plain)
    }
}

/// The first line of a command-line error, without its `error:` prefix.
fn plain(error: clap::Error) -> anyhow::Error {
    let text = error.to_string();
    let line = text.lines().next().unwrap_or_default();
    anyhow::anyhow!("{}", line.strip_prefix("error: ").unwrap_or(line))
}

/// A command line's settings with variables set but empty taken as unset, as
/// [`Settings::from_vars`] takes them.
pub fn empty_variables_unset(command: clap::Command) -> clap::Command {
    let names: Vec<String> = command.get_subcommands().map(|sub| sub.get_name().to_owned()).collect();
    let command = command.mut_args(|arg| {
        let Some(name) = arg.get_env().and_then(|name| name.to_str()).map(str::to_owned) else {
            return arg;
        };
        let empty = std::env::var_os(&name).is_some_and(|value| value.is_empty());
        // As in `from_vars`, the variable's name stays for errors.
        if empty { arg.env(None).value_name(name) } else { arg }
    });
    names.iter().fold(command, |command, name| command.mut_subcommand(name, empty_variables_unset))
}
