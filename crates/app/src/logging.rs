//! Logging: JSON lines (or plain text for people), every line passed
//! through a scrubber that keeps secrets out whatever logged them — our
//! code, a library, a panic message.
//!
//! Redacted: Stripe keys (`sk_`/`rk_`/`pk_` live and test), webhook secrets
//! (`whsec_`), PaymentIntent client secrets, bearer and basic credentials
//! and JWTs, PayPal access tokens (`A21AA…`), credentials in URLs
//! (`postgres://user:pass@`), card-like numbers (13 to 19 digits, spaces or
//! dashes allowed), IBAN-like account numbers, and `password`/`secret`/
//! `token`/`key`/`authorization`/`csrf`/session-cookie fields written as
//! `name=value`, `"name":"value"` or JSON-escaped inside a logged string
//! (`\"name\":\"value\"`).

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::LazyLock;

use regex::{Regex, RegexSet};
use tracing_subscriber::fmt::MakeWriter;

/// What redacted text is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Each secret's shape, and what replaces it (`$1`: a part kept, such as
/// a field's name or a URL's scheme).
const PATTERNS: [(&str, &str); 10] = [
    // Stripe API keys, webhook secrets and client secrets.
    (r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{6,}", REDACTED),
    (r"\bwhsec_[0-9A-Za-z]{6,}", REDACTED),
    (r"\b(?:pi|seti)_[0-9A-Za-z]+_secret_[0-9A-Za-z]+", REDACTED),
    // Bearer and basic credentials, JWTs, PayPal access tokens.
    (r"(?i)\b(?:bearer|basic)\s+[0-9A-Za-z\-._~+/]+=*", REDACTED),
    (r"\beyJ[0-9A-Za-z_-]{5,}\.[0-9A-Za-z_-]{5,}\.[0-9A-Za-z_-]*", REDACTED),
    (r"\bA21AA[0-9A-Za-z_-]{10,}", REDACTED),
    // Credentials in a URL (a database URL): the scheme and host stay.
    (r#"\b([a-z][a-z0-9+.-]*://)[^/\s:@"]+:[^@\s/"]+@"#, "${1}[redacted]@"),
    // Card-like numbers: 13 to 19 digits, optionally grouped.
    (r"\b\d(?:[ -]?\d){12,18}\b", REDACTED),
    // IBAN-like account numbers.
    (r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b", REDACTED),
    // Secret-named fields: key=value, "key":"value" and the same escaped
    // inside a logged JSON string; the field's name stays.
    (
        r#"(?i)((?:\\?")?\b(?:password|passwd|secret|client_secret|api_key|access_token|refresh_token|token|authorization|csrf|skillpay_console|session_secret)(?:\\?")?\s*[:=]\s*(?:\\?")?)[^"\\,\s};]+"#,
        "${1}[redacted]",
    ),
];

/// Every pattern at once: most lines hold no secret, and one pass over a
/// line says so (nine passes did, at about 1 % of the server's CPU). Were
/// the set not to build, every line would take the nine passes.
static ANY: LazyLock<Option<RegexSet>> =
    LazyLock::new(|| RegexSet::new(PATTERNS.iter().map(|(pattern, _)| pattern)).ok());

static EACH: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    PATTERNS.iter().filter_map(|(pattern, with)| Regex::new(pattern).ok().map(|regex| (regex, *with))).collect()
});

/// `line` with every secret-looking part replaced by [`REDACTED`].
pub fn scrub(line: &str) -> Cow<'_, str> {
    let mut text = Cow::Borrowed(line);
    if ANY.as_ref().is_some_and(|set| !set.is_match(line)) {
        return text;
    }
    // A line with a secret: each pattern in turn, on the text as the ones
    // before it left it.
    for (pattern, with) in EACH.iter() {
        if !pattern.is_match(&text) {
            continue;
        }
        let replaced = pattern.replace_all(&text, *with).into_owned();
        text = Cow::Owned(replaced);
    }
    text
}

/// A writer that scrubs each formatted log line before passing it on.
#[derive(Debug, Clone)]
pub struct Scrubbing<M>(pub M);

/// One line's writer.
#[derive(Debug)]
pub struct ScrubbingWriter<W: Write> {
    inner: W,
    buffer: Vec<u8>,
}

impl<W: Write> Write for ScrubbingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return self.inner.flush();
        }
        let text = String::from_utf8_lossy(&self.buffer).into_owned();
        self.buffer.clear();
        self.inner.write_all(scrub(&text).as_bytes())?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for ScrubbingWriter<W> {
    fn drop(&mut self) {
        // tracing-subscriber writes one event per writer: flush it whole.
        let _ = self.flush();
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Scrubbing<M> {
    type Writer = ScrubbingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        ScrubbingWriter { inner: self.0.make_writer(), buffer: Vec::new() }
    }
}

/// Installs the global subscriber: `RUST_LOG` filter, JSON lines unless
/// `format` is `text`, every line scrubbed, written by `make_writer`.
pub fn init<M>(format: &str, make_writer: M)
where
    M: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    init_with(format, filter, make_writer);
}

/// [`init`] with an explicit filter (tests capture everything).
pub fn init_with<M>(format: &str, filter: tracing_subscriber::EnvFilter, make_writer: M)
where
    M: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(Scrubbing(make_writer));
    let _ = if format == "text" {
        builder.with_target(false).try_init()
    } else {
        builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_any_shape_are_redacted_and_the_rest_is_kept() {
        let cases = [
            ("calling with sk_live_51HqLyjWDarjtT1zdp7dc", "calling with [redacted]"),
            ("secret whsec_abcdef123456 rotated", "secret [redacted] rotated"),
            ("client_secret pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH", "client_secret [redacted]"),
            ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "Authorization: [redacted]"),
            ("card 4242 4242 4242 4242 declined", "card [redacted] declined"),
            ("card 4000-0566-5566-5556", "card [redacted]"),
            ("iban DE89370400440532013000 stored", "iban [redacted] stored"),
            (r#"{"client_secret":"abc123","amount":"10.00"}"#, r#"{"client_secret":"[redacted]","amount":"10.00"}"#),
            ("password=hunter2 user=7", "password=[redacted] user=7"),
            ("token A21AAFEpH4PsADK7qSS7pSRsgzfENtu", "token [redacted]"),
            ("authorization: Basic QVpCQ0RFRjpzM2NyM3Q= sent", "authorization: [redacted] sent"),
            (
                "connecting to postgres://skillpay:s3cr3tpw@db.internal:5432/app",
                "connecting to postgres://[redacted]@db.internal:5432/app",
            ),
            (
                r#"{"msg":"body {\"client_secret\":\"abc123\",\"amount\":\"10.00\"}"}"#,
                r#"{"msg":"body {\"client_secret\":\"[redacted]\",\"amount\":\"10.00\"}"}"#,
            ),
            (
                "cookie: skillpay_console=Zm9vYmFyYmF6cXV4; Path=/admin",
                "cookie: skillpay_console=[redacted]; Path=/admin",
            ),
            ("form csrf=2f1c9a7e44b0 action=accept", "form csrf=[redacted] action=accept"),
        ];
        for (line, expected) in cases {
            assert_eq!(scrub(line), expected, "{line}");
        }
        // Ordinary figures survive: amounts, ids, timestamps, short numbers.
        for kept in ["payment pay_0193ab completed for 49.99 USD", "took 1234 ms at 2026-11-26T10:00:00Z", "user 1000"]
        {
            assert_eq!(scrub(kept), kept);
        }
    }

    #[test]
    fn every_pattern_builds_alone_and_in_the_set() {
        assert!(ANY.as_ref().is_some_and(|set| set.len() == PATTERNS.len()));
        assert_eq!(EACH.len(), PATTERNS.len());
    }

    #[test]
    fn the_writer_scrubs_whole_lines() {
        let mut out = Vec::new();
        {
            let mut writer = ScrubbingWriter { inner: &mut out, buffer: Vec::new() };
            writer.write_all(b"key sk_test_").unwrap();
            writer.write_all(b"4eC39HqLyjWDarjtT1zdp7dc\n").unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "key [redacted]\n");
    }
}
