//! The value parsers of the settings. Each one is a plain function from the
//! text to a typed value, or to what the value must be; [`Setting`] turns
//! that into a command-line error naming the environment variable. No error
//! repeats the value given: it may be a secret.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::ops::RangeInclusive;
use std::str::FromStr;

use base64::Engine;
use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use domain::ids::UserId;
use domain::money::{Currency, Money, Rate};
use domain::per_currency::PerCurrency;

/// What a rejected value should have been, e.g. "must be on or off".
pub type Must = String;

/// A value parser for one setting: `parse` names what the value must be,
/// and the error names the setting by its environment variable.
#[derive(Clone, Copy)]
pub struct Setting<T>(pub fn(&str) -> Result<T, Must>);

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Setting<T> {
    type Value = T;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &OsStr) -> Result<T, clap::Error> {
        let must = match value.to_str() {
            Some(text) => match (self.0)(text) {
                Ok(parsed) => return Ok(parsed),
                Err(must) => must,
            },
            None => "must be UTF-8 text".to_owned(),
        };
        let message = format!("{} {must}\n", arg.map_or_else(|| "a setting".to_owned(), setting_name));
        Err(clap::Error::raw(ErrorKind::ValueValidation, message).with_cmd(cmd))
    }
}

/// The environment variable and the flag of `arg`. Where the variable was
/// set aside (see `Settings::from_vars`), it stands in the value name.
fn setting_name(arg: &clap::Arg) -> String {
    let variable =
        arg.get_env().or_else(|| arg.get_value_names().and_then(|names| names.first()).map(|name| name.as_ref()));
    let variable = variable.map_or_else(|| arg.get_id().to_string(), |name| name.to_string_lossy().into_owned());
    match arg.get_long() {
        Some(long) => format!("{variable} (--{long})"),
        None => variable,
    }
}

/// A value kept out of `Debug` output (secrets, and the database URL, which
/// may hold a password).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(pub T);

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Any text.
pub fn text(text: &str) -> Result<String, Must> {
    Ok(text.to_owned())
}

/// Secret text.
pub fn secret(text: &str) -> Result<Secret<String>, Must> {
    Ok(Secret(text.to_owned()))
}

/// A JWT secret of at least [`super::MIN_JWT_SECRET_BYTES`].
pub fn jwt_secret(text: &str) -> Result<Secret<Vec<u8>>, Must> {
    if text.len() < super::MIN_JWT_SECRET_BYTES {
        return Err(format!("must be at least {} bytes", super::MIN_JWT_SECRET_BYTES));
    }
    Ok(Secret(text.as_bytes().to_vec()))
}

/// `on`/`true`/`1` or `off`/`false`/`0`.
pub fn on_off(text: &str) -> Result<bool, Must> {
    match text {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        _ => Err("must be on or off".to_owned()),
    }
}

/// An integer above zero.
pub fn positive<T: FromStr + PartialOrd + Default>(text: &str) -> Result<T, Must> {
    text.parse().ok().filter(|v| *v > T::default()).ok_or_else(|| "must be a positive integer".to_owned())
}

/// A whole number in `range`.
fn number_in<T: FromStr + PartialOrd + std::fmt::Display>(text: &str, range: RangeInclusive<T>) -> Result<T, Must> {
    text.parse()
        .ok()
        .filter(|v| range.contains(v))
        .ok_or_else(|| format!("must be a whole number from {} to {}", range.start(), range.end()))
}

/// Seconds an event endpoint has to answer.
pub fn event_timeout_secs(text: &str) -> Result<u64, Must> {
    number_in(text, 1..=30)
}

/// Days events are kept for a backfill.
pub fn event_retention_days(text: &str) -> Result<i64, Must> {
    number_in(text, 1..=3650)
}

/// A comma-separated list, trimmed, without empty items.
pub fn list(text: Option<&str>) -> Vec<String> {
    text.unwrap_or_default().split(',').map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned).collect()
}

/// Days a signed receipt link stays valid.
pub fn receipt_link_days(text: &str) -> Result<i64, Must> {
    number_in(text, 1..=366)
}

/// Seconds of draining at shutdown.
pub fn shutdown_drain_secs(text: &str) -> Result<u64, Must> {
    number_in(text, 0..=60)
}

/// Seconds in-flight work gets at shutdown.
pub fn shutdown_timeout_secs(text: &str) -> Result<u64, Must> {
    number_in(text, 1..=300)
}

/// Consecutive outages that open a circuit.
pub fn breaker_failures(text: &str) -> Result<u32, Must> {
    number_in(text, 1..=100)
}

/// Seconds a circuit stays open.
pub fn breaker_cooldown_secs(text: &str) -> Result<u64, Must> {
    number_in(text, 1..=600)
}

/// Requests per minute of a rate limit.
pub fn per_minute(text: &str) -> Result<u32, Must> {
    number_in(text, 1..=1_000_000)
}

/// Days sale earnings stay pending.
pub fn payout_hold_days(text: &str) -> Result<i64, Must> {
    text.parse()
        .ok()
        .filter(|v| (0..=365).contains(v))
        .ok_or_else(|| "must be a whole number of days from 0 to 365".to_owned())
}

/// Hours an idempotency key is kept: at least [`super::MIN_IDEMPOTENCY_TTL_HOURS`].
pub fn idempotency_ttl_hours(text: &str) -> Result<i64, Must> {
    let least = super::MIN_IDEMPOTENCY_TTL_HOURS;
    text.parse().ok().filter(|v| *v >= least).ok_or_else(|| format!("must be at least {least}"))
}

/// Seconds an idempotency claim holds between its request's renewals.
pub fn idempotency_lease_secs(text: &str) -> Result<u64, Must> {
    number_in(text, 1..=600)
}

/// Networks such as `10.0.0.0/8, 192.0.2.7, 2001:db8::/32` (an address
/// alone is a network of one).
pub fn networks(list: &str) -> Result<Networks, Must> {
    items(list)
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| "must be comma-separated IP addresses or CIDR networks".to_owned())
        })
        .collect::<Result<_, _>>()
        .map(Networks)
}

/// A list of networks (one setting value, not repeated arguments).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Networks(pub Vec<ipnet::IpNet>);

/// A fee rate from 0 to 1.
pub fn rate(text: &str) -> Result<Rate, Must> {
    Rate::from_str(text).map_err(|_| "must be a decimal from 0 to 1".to_owned())
}

/// Amounts per currency that cover every currency (a `*` item is needed),
/// such as `USD:10.00,JPY:1500,*:10.00`.
pub fn every_currency(text: &str) -> Result<PerCurrency, Must> {
    let amounts = per_currency(text)?;
    if !amounts.covers_every_currency() {
        return Err("must end with a *:amount item for the currencies not named".to_owned());
    }
    Ok(amounts)
}

fn per_currency(text: &str) -> Result<PerCurrency, Must> {
    PerCurrency::parse(text)
        .map_err(|why| format!("must be amounts per currency such as USD:1000.00,JPY:150000 ({why})"))
}

/// Amounts above which a second admin approves; `None`: never.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Threshold(pub Option<PerCurrency>);

/// Amounts per currency, or `off`.
pub fn threshold(text: &str) -> Result<Threshold, Must> {
    if text.trim() == "off" {
        return Ok(Threshold(None));
    }
    per_currency(text).map(|amounts| Threshold(Some(amounts)))
}

/// Unpaid holds of one limited coupon per user: 1 to 100.
pub fn unpaid_per_user(text: &str) -> Result<u32, Must> {
    number_in(text, 1..=100)
}

/// Minutes a limited coupon's use is held by an unpaid payment: 1 to 1440.
pub fn coupon_hold_minutes(text: &str) -> Result<i64, Must> {
    number_in(text, 1..=1440)
}

/// The two-admin window: 1 to 720 hours.
pub fn approval_window_hours(text: &str) -> Result<i64, Must> {
    number_in(text, 1..=720)
}

/// Who pays a lost dispute's fee.
pub fn fee_bearer(text: &str) -> Result<domain::dispute::DisputeFeeBearer, Must> {
    match text {
        "platform" => Ok(domain::dispute::DisputeFeeBearer::Platform),
        "instructor" => Ok(domain::dispute::DisputeFeeBearer::Instructor),
        _ => Err("must be platform or instructor".to_owned()),
    }
}

/// The items of a comma-separated list, blanks left out.
fn items(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|item| !item.is_empty())
}

/// Comma-separated secrets (webhook secrets during a rotation).
pub fn secret_list(list: &str) -> Result<Secret<Vec<String>>, Must> {
    Ok(Secret(items(list).map(str::to_owned).collect()))
}

/// A base64 key of 32 bytes.
fn key(text: &str) -> Result<[u8; 32], Must> {
    let bytes =
        base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|_| "must be base64".to_owned())?;
    <[u8; 32]>::try_from(bytes).map_err(|_| "must be base64 of 32 bytes".to_owned())
}

/// An encryption key.
pub fn encryption_key(text: &str) -> Result<Secret<[u8; 32]>, Must> {
    key(text).map(Secret)
}

/// Comma-separated encryption keys.
pub fn encryption_keys(list: &str) -> Result<Secret<Vec<[u8; 32]>>, Must> {
    items(list).map(key).collect::<Result<_, _>>().map(Secret)
}

/// Per-instructor fee rates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeeRates(pub HashMap<UserId, Rate>);

/// `INSTRUCTOR_ID=RATE,...`.
pub fn fee_rates(list: &str) -> Result<FeeRates, Must> {
    let mut rates = HashMap::new();
    for pair in items(list) {
        let (user, rate) =
            pair.split_once('=').ok_or_else(|| format!("must be INSTRUCTOR_ID=RATE pairs, got {pair:?}"))?;
        let user: UserId = user.trim().parse().map_err(|_| format!("has a bad instructor id in {pair:?}"))?;
        let rate = Rate::from_str(rate.trim()).map_err(|_| format!("has a bad rate in {pair:?}: use 0 to 1"))?;
        rates.insert(user, rate);
    }
    Ok(FeeRates(rates))
}

/// Fees of lost disputes, one per currency.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fees(pub Vec<Money>);

/// `CUR:AMOUNT,...`.
pub fn fees(list: &str) -> Result<Fees, Must> {
    items(list)
        .map(|pair| {
            let (code, amount) =
                pair.split_once(':').ok_or_else(|| format!("must be CUR:AMOUNT pairs, got {pair:?}"))?;
            let currency = Currency::from_code(code.trim()).map_err(|e| format!("has {e}"))?;
            Money::parse_major(amount.trim(), currency).map_err(|e| format!("has {e}"))
        })
        .collect::<Result<_, _>>()
        .map(Fees)
}

/// A tracing filter (`EnvFilter` syntax), kept as text.
pub fn log_filter(text: &str) -> Result<String, Must> {
    tracing_subscriber::EnvFilter::try_new(text)
        .map(|_| text.to_owned())
        .map_err(|_| "must be a tracing filter such as info or warn,skillpay=debug".to_owned())
}

/// `json` or `text`.
pub fn log_format(text: &str) -> Result<String, Must> {
    match text {
        "json" | "text" => Ok(text.to_owned()),
        _ => Err("must be json or text".to_owned()),
    }
}
