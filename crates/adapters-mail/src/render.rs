//! The templates of `templates/mail/`, embedded into the binary and
//! rendered with MiniJinja: `.html` files escape every value, `.txt` files
//! are plain. The text template's first line is the subject.

use chrono::{DateTime, Utc};
use documents::Locale;
use domain::money::{Currency, Money};
use domain::ports::Draft;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State, Value as Jinja, context};
use serde_json::Value;

/// Every template file, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("_layout.html", include_str!("../../../templates/mail/_layout.html")),
    ("receipt.html", include_str!("../../../templates/mail/receipt.html")),
    ("receipt.txt", include_str!("../../../templates/mail/receipt.txt")),
    ("refund_processed.html", include_str!("../../../templates/mail/refund_processed.html")),
    ("refund_processed.txt", include_str!("../../../templates/mail/refund_processed.txt")),
    ("refund_rejected.html", include_str!("../../../templates/mail/refund_rejected.html")),
    ("refund_rejected.txt", include_str!("../../../templates/mail/refund_rejected.txt")),
    ("refund_requested.html", include_str!("../../../templates/mail/refund_requested.html")),
    ("refund_requested.txt", include_str!("../../../templates/mail/refund_requested.txt")),
    ("payout_requested.html", include_str!("../../../templates/mail/payout_requested.html")),
    ("payout_requested.txt", include_str!("../../../templates/mail/payout_requested.txt")),
    ("payout_paid.html", include_str!("../../../templates/mail/payout_paid.html")),
    ("payout_paid.txt", include_str!("../../../templates/mail/payout_paid.txt")),
    ("payout_failed.html", include_str!("../../../templates/mail/payout_failed.html")),
    ("payout_failed.txt", include_str!("../../../templates/mail/payout_failed.txt")),
    ("payout_rejected.html", include_str!("../../../templates/mail/payout_rejected.html")),
    ("payout_rejected.txt", include_str!("../../../templates/mail/payout_rejected.txt")),
    ("dispute_opened.html", include_str!("../../../templates/mail/dispute_opened.html")),
    ("dispute_opened.txt", include_str!("../../../templates/mail/dispute_opened.txt")),
    ("second_approval.html", include_str!("../../../templates/mail/second_approval.html")),
    ("second_approval.txt", include_str!("../../../templates/mail/second_approval.txt")),
    ("review_hold.html", include_str!("../../../templates/mail/review_hold.html")),
    ("review_hold.txt", include_str!("../../../templates/mail/review_hold.txt")),
    ("reconciliation_discrepancy.html", include_str!("../../../templates/mail/reconciliation_discrepancy.html")),
    ("reconciliation_discrepancy.txt", include_str!("../../../templates/mail/reconciliation_discrepancy.txt")),
];

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Its subject (`[TEST] ` first for test money).
    pub subject: String,
    /// Its plain-text part.
    pub text: String,
    /// Its HTML part.
    pub html: String,
}

/// The templates, parsed once.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

impl Templates {
    /// Parses every template.
    pub fn new() -> Result<Self, Error> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None });
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        env.add_function("money", money);
        env.add_function("date", date);
        Ok(Self { env })
    }

    /// Renders `draft`'s templates; `link` is the receipt's signed link
    /// for a receipt's message.
    pub fn render(&self, draft: &Draft, link: Option<&str>) -> Result<Rendered, Error> {
        let object = &draft.object;
        let locale = Locale::parse(&draft.locale).unwrap_or_default();
        let item = item_line(object, locale);
        let currency = object.get("currency").and_then(Value::as_str).unwrap_or_default();
        let ctx = context! {
            o => Jinja::from_serialize(object),
            locale => locale.tag(),
            currency => currency,
            test_mode => draft.test_mode,
            item => item,
            link => link.unwrap_or_default(),
        };
        let text = self.env.get_template(&format!("{}.txt", draft.template))?.render(&ctx)?;
        let (first, body) = text.split_once('\n').unwrap_or((&text, ""));
        let subject = first
            .strip_prefix("Subject:")
            .map(str::trim)
            .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "a text template starts with `Subject: `"))?;
        let subject = if draft.test_mode { format!("[TEST] {subject}") } else { subject.to_owned() };
        // A subject is one header line: whatever a value brought, no break.
        let subject: String = subject.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let html = self
            .env
            .get_template(&format!("{}.html", draft.template))?
            .render(context! { subject => &subject, ..ctx })?;
        Ok(Rendered { subject, text: body.trim_start().to_owned(), html })
    }
}

/// `money(amount)`: an amount of the object's currency in the reader's
/// locale (`1.234,50 EUR`); as given when it is not one.
fn money(state: &State, amount: Jinja) -> Result<String, Error> {
    let text = amount.as_str().map(str::to_owned).unwrap_or_else(|| amount.to_string());
    let locale = locale_of(state);
    let currency = state.lookup("currency").and_then(|c| c.as_str().and_then(|c| Currency::from_code(c).ok()));
    Ok(match currency.and_then(|c| Money::parse_major(&text, c).ok()) {
        Some(money) => locale.money(money),
        None => text,
    })
}

/// `date(time)`: an RFC 3339 time in the reader's locale; as given when it
/// is not one.
fn date(state: &State, at: Jinja) -> Result<String, Error> {
    let text = at.as_str().unwrap_or_default().to_owned();
    Ok(match DateTime::parse_from_rfc3339(&text) {
        Ok(at) => locale_of(state).date_time(at.with_timezone(&Utc)),
        Err(_) => text,
    })
}

fn locale_of(state: &State) -> Locale {
    state.lookup("locale").and_then(|l| l.as_str().and_then(Locale::parse)).unwrap_or_default()
}

/// "Course 12: Rust for beginners", from a receipt's item.
fn item_line(object: &Value, locale: Locale) -> String {
    let Some(item) = object.get("item") else {
        return String::new();
    };
    let words = locale.labels();
    let kind = if item.get("type").and_then(Value::as_str) == Some("event") { words.event } else { words.course };
    let id = item.get("id").and_then(Value::as_i64).unwrap_or_default();
    match item.get("title").and_then(Value::as_str) {
        Some(title) => format!("{kind} {id}: {title}"),
        None => format!("{kind} {id}"),
    }
}

#[cfg(test)]
mod tests {
    use domain::mail::MESSAGES;
    use serde_json::json;

    use super::*;

    fn draft(template: &str, object: Value, locale: &str, test_mode: bool) -> Draft {
        Draft {
            message_id: "<evt_1.x@skillpay>".into(),
            template: template.into(),
            to: Vec::new(),
            locale: locale.into(),
            test_mode,
            object,
            receipt: None,
        }
    }

    #[test]
    fn every_message_renders_in_every_locale() {
        let templates = Templates::new().unwrap();
        let object = json!({"id": "x_1", "payment_id": "pay_1", "amount": "4500", "currency": "JPY",
            "number": "SK-2026-000001", "list_price": "5000", "discount": "500", "amount_paid": "4500",
            "coupon_code": "SPRING", "paid_at": "2026-12-07T09:05:00Z", "reason": "r", "rejection_reason": "r",
            "failure_reason": "f", "instructor_id": 100, "method": "paypal", "destination_masked": "a***@b.co",
            "evidence_due_by": "2026-12-20T00:00:00Z", "buyer": {"name": "Ada"}, "item": {"type": "course", "id": 1, "title": "Rust"}});
        for rule in MESSAGES {
            for locale in ["en", "de", "fr", "ja"] {
                let rendered = templates
                    .render(&draft(rule.template, object.clone(), locale, false), Some("https://x/r"))
                    .unwrap();
                assert!(!rendered.subject.is_empty() && !rendered.text.is_empty(), "{}", rule.template);
                assert!(rendered.html.contains("<html"), "{}", rule.template);
            }
        }
    }

    #[test]
    fn values_are_escaped_in_html_amounts_follow_the_locale_and_test_money_says_so() {
        let templates = Templates::new().unwrap();
        let object = json!({"payment_id": "pay_1", "amount": "1234.50", "currency": "EUR",
            "rejection_reason": "<script>alert(1)</script>\r\nBcc: x@y.z"});
        let rendered = templates.render(&draft("refund_rejected", object, "de", true), None).unwrap();
        assert!(rendered.html.contains("&lt;script&gt;") && !rendered.html.contains("<script>"), "{}", rendered.html);
        assert!(rendered.text.contains("1.234,50\u{a0}EUR"), "{}", rendered.text);
        assert!(rendered.subject.starts_with("[TEST] "), "{}", rendered.subject);
        assert!(!rendered.subject.contains('\n'));
    }
}
