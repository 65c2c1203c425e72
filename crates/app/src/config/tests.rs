use std::collections::BTreeMap;
use std::str::FromStr;

use clap::Args;
use domain::money::{Currency, Money};

use super::*;

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |name| map.get(name).cloned()
}

const SECRET: &str = "0123456789abcdef0123456789abcdef";
const BASE: [(&str, &str); 2] = [("DATABASE_URL", "postgres://x/y"), ("SKILLPAY_JWT_SECRET", SECRET)];

/// The configuration from the base settings and `extra`, or its error.
fn with(extra: &[(&str, &str)]) -> Result<Config, String> {
    let mut pairs = BASE.to_vec();
    pairs.extend_from_slice(extra);
    Config::from_vars(vars(&pairs)).map_err(|e| format!("{e:#}"))
}

#[test]
fn defaults_apply_when_only_the_required_settings_are_given() {
    let config = with(&[]).unwrap();
    assert_eq!(config.bind, DEFAULT_BIND);
    assert_eq!(config.platform_fee_rate, Rate::from_str("0.20").unwrap());
    assert_eq!(config.max_amount.to_string(), DEFAULT_MAX_AMOUNT);
    assert_eq!((config.db_pool_size, config.http_workers), (DEFAULT_DB_POOL_SIZE, DEFAULT_HTTP_WORKERS));
    assert_eq!(config.db_stats_reads, adapters_postgres::DEFAULT_STATS_READS);
    assert!(!config.sandbox_enabled, "the sandbox is off unless asked for");
    assert_eq!(
        config.event_destinations,
        domain::destinations::Destinations::PublicOnly,
        "event endpoints reach public hosts only unless asked for"
    );
    assert_eq!(config.idempotency_ttl_hours, MIN_IDEMPOTENCY_TTL_HOURS);
    assert_eq!(config.min_payout.to_string(), DEFAULT_MIN_PAYOUT);
    let second = config.second_approval_above.as_ref().unwrap();
    assert_eq!(second.to_string(), DEFAULT_SECOND_APPROVAL_ABOVE);
    assert_eq!(second.money(Currency::JPY), Some(Money::from_minor(150_000, Currency::JPY)));
    assert_eq!(second.money(Currency::KWD), None, "a currency not named always takes two admins");
    assert_eq!(config.payout_hold_days, DEFAULT_PAYOUT_HOLD_DAYS);
    assert_eq!(config.dispute_fee_bearer, domain::dispute::DisputeFeeBearer::Platform);
    assert_eq!(config.rate_limits, RateLimitPolicy::default());
    assert_eq!((config.breaker_failures, config.breaker_cooldown_secs), (5, 30));
    assert_eq!((config.shutdown_drain_secs, config.shutdown_timeout_secs), (2, 30));
    assert!(config.paypal.is_none() && config.tls_files.is_none() && config.stripe_webhook_secrets.is_empty());
}

#[test]
fn given_settings_are_taken_and_empty_ones_count_as_unset() {
    let config = with(&[
        ("SKILLPAY_SANDBOX", "on"),
        ("SKILLPAY_EVENT_ENDPOINTS_ALLOW_PRIVATE", "on"),
        ("SKILLPAY_BIND", ""),
        ("SKILLPAY_SECOND_APPROVAL_ABOVE", "off"),
        ("SKILLPAY_DISPUTE_FEE", "USD:15.00, JPY:1500"),
        ("SKILLPAY_DISPUTE_FEE_BEARER", "instructor"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_a, ,whsec_b"),
        ("SKILLPAY_PAYOUT_HOLD_DAYS", "0"),
        ("SKILLPAY_RATE_PAYMENTS_PER_IP", "7"),
        ("SKILLPAY_RATE_WEBHOOK_FAILURES_PER_IP", "5"),
        ("SKILLPAY_TRUSTED_PROXIES", "10.1.2.3/8, 192.0.2.7 ,2001:db8::/32"),
    ])
    .unwrap();
    assert!(config.sandbox_enabled);
    assert_eq!(config.event_destinations, domain::destinations::Destinations::PrivateAllowed);
    assert_eq!(config.bind, DEFAULT_BIND);
    assert_eq!(config.second_approval_above, None);
    assert_eq!(config.dispute_fees.len(), 2);
    assert_eq!(config.dispute_fee_bearer, domain::dispute::DisputeFeeBearer::Instructor);
    assert_eq!(config.stripe_webhook_secrets, ["whsec_a", "whsec_b"]);
    assert_eq!(config.payout_hold_days, 0);
    assert_eq!(config.rate_limits.payments_per_ip, 7);
    assert_eq!(config.rate_limits.webhook_failures_per_ip, 5);
    let proxies: Vec<String> = config.trusted_proxies.iter().map(ToString::to_string).collect();
    assert_eq!(proxies, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
}

#[test]
fn bad_settings_are_refused_with_their_name() {
    for (name, value) in [
        ("SKILLPAY_PLATFORM_FEE_RATE", "1.5"),
        ("SKILLPAY_ENCRYPTION_KEY", "c2hvcnQ="),
        ("SKILLPAY_ENCRYPTION_KEY_PREVIOUS", "not base64!"),
        ("SKILLPAY_INSTRUCTOR_FEE_RATES", "7:0.1"),
        ("SKILLPAY_MAX_AMOUNT", "-1"),
        ("SKILLPAY_SANDBOX", "maybe"),
        ("SKILLPAY_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("SKILLPAY_EVENT_ENDPOINTS_ALLOW_PRIVATE", "yes"),
        ("SKILLPAY_HTTP_WORKERS", "0"),
        ("SKILLPAY_DB_STATS_READS", "0"),
        ("SKILLPAY_DB_POOL_SIZE", "many"),
        ("SKILLPAY_IDEMPOTENCY_TTL_HOURS", "23"),
        ("SKILLPAY_EVENT_TIMEOUT_SECS", "31"),
        ("SKILLPAY_EVENT_POLL_MS", "0"),
        ("SKILLPAY_SHUTDOWN_DRAIN_SECS", "61"),
        ("SKILLPAY_SHUTDOWN_TIMEOUT_SECS", "0"),
        ("SKILLPAY_BREAKER_FAILURES", "101"),
        ("SKILLPAY_BREAKER_COOLDOWN_SECS", "601"),
        ("SKILLPAY_RATE_VALIDATIONS_PER_USER", "0"),
        ("SKILLPAY_PAYOUT_HOLD_DAYS", "366"),
        ("SKILLPAY_MIN_PAYOUT", "0"),
        ("SKILLPAY_MIN_PAYOUT", "USD:10.00"),
        ("SKILLPAY_MAX_AMOUNT", "USD:10.00,JPY:5"),
        ("SKILLPAY_SECOND_APPROVAL_ABOVE", "JPY:10.5"),
        ("SKILLPAY_SECOND_APPROVAL_WINDOW_HOURS", "0"),
        ("SKILLPAY_MIN_PAYOUT", "1.00001"),
        ("SKILLPAY_SECOND_APPROVAL_ABOVE", "-1"),
        ("SKILLPAY_DISPUTE_FEE", "USD15"),
        ("SKILLPAY_DISPUTE_FEE", "XXX:1"),
        ("SKILLPAY_DISPUTE_FEE_BEARER", "nobody"),
        ("SKILLPAY_RECONCILE_AFTER_SECS", "0"),
    ] {
        let error = with(&[(name, value)]).err().unwrap_or_default();
        assert!(error.contains(name), "{name}={value}: {error}");
    }
    let short = Config::from_vars(vars(&[("DATABASE_URL", "x"), ("SKILLPAY_JWT_SECRET", "short")]));
    assert!(short.err().map(|e| e.to_string()).unwrap_or_default().contains("at least 32 bytes"));
    let no_secret = Config::from_vars(vars(&[("DATABASE_URL", "x")]));
    assert!(no_secret.err().map(|e| e.to_string()).unwrap_or_default().contains("SKILLPAY_JWT_SECRET is not set"));
}

#[test]
fn settings_that_go_together_are_refused_alone() {
    let paypal = with(&[("PAYPAL_CLIENT_ID", "id")]).err().unwrap_or_default();
    assert!(paypal.contains("PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET go together"), "{paypal}");
    let paypal = with(&[("PAYPAL_CLIENT_SECRET", "secret")]).err().unwrap_or_default();
    assert!(paypal.contains("go together"), "{paypal}");
    let tls = with(&[("SKILLPAY_TLS_KEY_FILE", "key.pem")]).err().unwrap_or_default();
    assert!(tls.contains("SKILLPAY_TLS_CERT_FILE and SKILLPAY_TLS_KEY_FILE go together"), "{tls}");

    let both = with(&[("PAYPAL_CLIENT_ID", "id"), ("PAYPAL_CLIENT_SECRET", "secret")]).unwrap();
    let paypal = both.paypal.unwrap();
    assert_eq!((paypal.client_id.as_str(), paypal.client_secret.as_str()), ("id", "secret"));
    assert_eq!(paypal.api_base, adapters_paypal::SANDBOX_API_BASE);
    assert_eq!(paypal.cancel_url, DEFAULT_PAYPAL_CANCEL_URL);
}

#[test]
fn secrets_are_never_printed_in_errors_debug_or_help() {
    let secrets = [
        ("SKILLPAY_JWT_SECRET", "jwt-secret-too-short"),
        ("SKILLPAY_ENCRYPTION_KEY", "encryption-key-not-base64"),
        ("SKILLPAY_ENCRYPTION_KEY_PREVIOUS", "previous-key-not-base64"),
    ];
    for (name, value) in secrets {
        let error = with(&[(name, value)]).err().unwrap_or_default();
        assert!(error.contains(name) && !error.contains(value), "{error}");
    }
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let given = [
        ("DATABASE_URL", "postgres://user:db-password@host/db"),
        ("SKILLPAY_JWT_SECRET", SECRET),
        ("SKILLPAY_ENCRYPTION_KEY", key),
        ("SKILLPAY_ENCRYPTION_KEY_PREVIOUS", key),
        ("STRIPE_SECRET_KEY", "sk_test_stripe-secret"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_webhook-secret"),
        ("PAYPAL_CLIENT_ID", "paypal-id"),
        ("PAYPAL_CLIENT_SECRET", "paypal-secret"),
        ("SKILLPAY_METRICS_TOKEN", "metrics-token"),
    ];
    let settings = Settings::from_vars(vars(&given)).unwrap();
    let printed = format!("{settings:?} {:?}", Config::try_from(settings.clone()).unwrap());
    for (name, value) in given.iter().filter(|(name, _)| *name != "PAYPAL_CLIENT_ID") {
        assert!(!printed.contains(value), "{name} printed: {printed}");
    }
    // The help never shows their values either: clap hides them.
    let command = Settings::augment_args(clap::Command::new("serve"));
    for (name, _) in given.iter().filter(|(name, _)| *name != "PAYPAL_CLIENT_ID") {
        let arg = command.get_arguments().find(|arg| arg.get_env().is_some_and(|env| env == *name));
        assert!(arg.is_some_and(clap::Arg::is_hide_env_values_set), "{name} shows its value in --help");
    }
}

/// Every variable the settings declare, with its default (`None`: none).
fn declared() -> BTreeMap<String, Option<String>> {
    let command = LogSettings::augment_args(Settings::augment_args(clap::Command::new("serve")));
    command
        .get_arguments()
        .filter_map(|arg| {
            let name = arg.get_env()?.to_string_lossy().into_owned();
            let defaults: Vec<String> =
                arg.get_default_values().iter().map(|d| d.to_string_lossy().into_owned()).collect();
            Some((name, (!defaults.is_empty()).then(|| defaults.join(","))))
        })
        .collect()
}

/// The README's configuration table: each variable with its default. A
/// default column that does not start with a value (`—`, "unset",
/// "empty") means none; a row of several variables lists their defaults in
/// the same order.
fn documented(readme: &str) -> Result<BTreeMap<String, Option<String>>, String> {
    let section = readme.split("\n## Configuration\n").nth(1).ok_or("no Configuration section")?;
    let section = section.split("\n## ").next().unwrap_or_default();
    let mut table = BTreeMap::new();
    for row in section.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = row.split(" | ").map(|cell| cell.trim_matches(|c| c == '|' || c == ' ')).collect();
        let quoted = |cell: &str| -> Vec<String> { cell.split('`').skip(1).step_by(2).map(str::to_owned).collect() };
        let names = quoted(cells[0]);
        let defaults = if cells[1].starts_with('`') { quoted(cells[1]) } else { Vec::new() };
        if !defaults.is_empty() && defaults.len() != names.len() {
            return Err(format!("row {row:?}: {} variables, {} defaults", names.len(), defaults.len()));
        }
        for (index, name) in names.into_iter().enumerate() {
            table.insert(name, defaults.get(index).cloned());
        }
    }
    Ok(table)
}

#[test]
fn the_readme_table_lists_every_setting_with_its_default() {
    let readme = include_str!("../../../../README.md");
    let documented = documented(readme).unwrap();
    let declared = declared();
    let mut differences = Vec::new();
    for (name, default) in &declared {
        match documented.get(name) {
            None => differences.push(format!("{name} is declared but not in the README table")),
            Some(written) if written != default => {
                differences.push(format!("{name}: declared default {default:?}, README {written:?}"));
            }
            Some(_) => {}
        }
    }
    for name in documented.keys().filter(|name| !declared.contains_key(*name)) {
        differences.push(format!("{name} is in the README table but no setting declares it"));
    }
    assert!(differences.is_empty(), "settings and README differ:\n{}", differences.join("\n"));
    assert!(declared.len() > 40, "{declared:?}");
}

#[test]
fn the_readme_check_sees_a_missing_row_and_a_changed_default() {
    let readme = include_str!("../../../../README.md");
    let changed = readme.replace("| `SKILLPAY_BIND` | `127.0.0.1:8080` |", "| `SKILLPAY_BIND` | `0.0.0.0:80` |");
    assert_eq!(documented(&changed).unwrap().get("SKILLPAY_BIND"), Some(&Some("0.0.0.0:80".to_owned())));
    let without = readme.replace("| `SKILLPAY_MIN_PAYOUT` |", "| MIN_PAYOUT |");
    assert!(!documented(&without).unwrap().contains_key("SKILLPAY_MIN_PAYOUT"));
    assert_eq!(documented(readme).unwrap().get("SKILLPAY_JWT_AUDIENCE"), Some(&None));
}

#[test]
fn instructor_fee_rates_parse() {
    let rates = parse::fee_rates("7=0.10, 9=0").unwrap().0;
    assert_eq!(rates.get(&UserId::new(7)), Some(&Rate::from_str("0.10").unwrap()));
    assert_eq!(rates.len(), 2);
}

#[test]
fn a_live_gateway_requires_the_token_audience_and_issuer_and_a_metrics_token() {
    let live_stripe = [("STRIPE_SECRET_KEY", "sk_live_0123456789")];
    let error = with(&live_stripe).unwrap_err();
    assert!(error.contains("SKILLPAY_JWT_AUDIENCE") && error.contains("SKILLPAY_JWT_ISSUER"), "{error}");
    assert!(!error.contains("sk_live_0123456789"), "the key is not repeated");
    let only_audience = with(&[live_stripe[0], ("SKILLPAY_JWT_AUDIENCE", "skillpay")]);
    assert!(only_audience.is_err());
    let live_paypal = [
        ("PAYPAL_CLIENT_ID", "id"),
        ("PAYPAL_CLIENT_SECRET", "secret"),
        ("PAYPAL_API_BASE", "https://api-m.paypal.com"),
    ];
    assert!(with(&live_paypal).is_err());
    let mut named = live_paypal.to_vec();
    named.extend([("SKILLPAY_JWT_AUDIENCE", "skillpay"), ("SKILLPAY_JWT_ISSUER", "https://id.example")]);
    let error = with(&named).unwrap_err();
    assert!(error.contains("SKILLPAY_METRICS_TOKEN"), "/metrics is not left open with live money: {error}");
    named.push(("SKILLPAY_METRICS_TOKEN", "scrape-secret"));
    let live = with(&named).unwrap();
    assert!(!live.api_docs, "the API docs are off with live money unless asked for");
    named.push(("SKILLPAY_API_DOCS", "on"));
    assert!(with(&named).unwrap().api_docs);
    // Test gateways (tests, `just run`) need neither, and serve the docs.
    assert!(with(&[("STRIPE_SECRET_KEY", "sk_test_0123456789")]).unwrap().api_docs);
}
