//! E-mail notifications (see docs/notifications.md): which events mail
//! whom with which template, contact records, and the messages' life.
//! Messages are derived from outbox events, so one exists exactly for
//! each change that committed.

use chrono::{DateTime, Utc};

use crate::ids::{EventId, MailId, UserId};
use crate::outbox::EventType;

/// Who a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum Audience {
    /// The payment's buyer.
    Buyer,
    /// The instructor a payout is for.
    Instructor,
    /// The admins' alert list.
    Admins,
}

impl Audience {
    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// One kind of message: the event that sends it, its template, and whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageRule {
    /// The event that sends it.
    pub event: EventType,
    /// Its templates' name (`templates/mail/{name}.html` and `.txt`).
    pub template: &'static str,
    /// Who receives it.
    pub audience: Audience,
}

const fn rule(event: EventType, template: &'static str, audience: Audience) -> MessageRule {
    MessageRule { event, template, audience }
}

/// Every message Skillpay sends. Adding one: its templates and a line
/// here (docs/notifications.md).
pub const MESSAGES: [MessageRule; 12] = [
    rule(EventType::ReceiptIssued, "receipt", Audience::Buyer),
    rule(EventType::RefundProcessed, "refund_processed", Audience::Buyer),
    rule(EventType::RefundRejected, "refund_rejected", Audience::Buyer),
    rule(EventType::RefundRequested, "refund_requested", Audience::Admins),
    rule(EventType::PayoutRequested, "payout_requested", Audience::Admins),
    rule(EventType::PayoutPaid, "payout_paid", Audience::Instructor),
    rule(EventType::PayoutFailed, "payout_failed", Audience::Instructor),
    rule(EventType::PayoutRejected, "payout_rejected", Audience::Instructor),
    rule(EventType::DisputeOpened, "dispute_opened", Audience::Admins),
    rule(EventType::PaymentHeld, "review_hold", Audience::Admins),
    rule(EventType::ApprovalRequested, "second_approval", Audience::Admins),
    rule(EventType::ReconciliationDiscrepancy, "reconciliation_discrepancy", Audience::Admins),
];

/// The rule of a template, if it is one.
pub fn rule_of(template: &str) -> Option<&'static MessageRule> {
    MESSAGES.iter().find(|rule| rule.template == template)
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum MailStatus {
    /// Waiting to be sent, or retried later.
    Pending,
    /// The mail server accepted it.
    Sent,
    /// It could not be rendered (no address, a template error): the
    /// reason is kept; an admin may send it again once that is fixed.
    Failed,
    /// About test money, to an address not on the test allow list: not
    /// sent, on purpose.
    Suppressed,
    /// The mail server kept refusing it for a day.
    Dead,
}

impl MailStatus {
    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailMessage {
    /// Its id.
    pub id: MailId,
    /// The event it tells of.
    pub event_id: EventId,
    /// Its templates' name.
    pub template: String,
    /// Who it is for.
    pub audience: Audience,
    /// Where it is.
    pub status: MailStatus,
    /// Attempts to send it so far.
    pub attempts: u32,
    /// When it is next tried (pending).
    pub next_attempt_at: DateTime<Utc>,
    /// When it was first tried.
    pub first_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The addresses it was sent (or would have been sent) to.
    pub recipients: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When the server accepted it.
    pub sent_at: Option<DateTime<Utc>>,
}

impl MailMessage {
    /// Its Message-ID header: derived from its event and template, so a
    /// retry of the same message carries the same one.
    pub fn message_id(&self, domain: &str) -> String {
        format!("<{}.{}@{domain}>", self.event_id, self.template)
    }
}

/// A person's contact record, kept by the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Whose.
    pub user_id: UserId,
    /// Where to write.
    pub email: String,
    /// How to greet them.
    pub name: Option<String>,
    /// `en`, `de`, `fr` or `ja`.
    pub locale: String,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The locales messages are written in.
pub const LOCALES: [&str; 4] = ["en", "de", "fr", "ja"];

/// Why a contact field is refused: the field and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}: {1}")]
pub struct ContactError(pub &'static str, pub &'static str);

/// Whether `text` is an e-mail address one can safely put in a header:
/// one `@` with something on both sides, no spaces, quotes, angle brackets
/// or line breaks (a line break would let it add headers), at most 254
/// characters.
pub fn valid_address(text: &str) -> bool {
    let forbidden =
        |c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';' | '(' | ')');
    text.len() <= 254
        && !text.chars().any(forbidden)
        && text
            .split_once('@')
            .is_some_and(|(local, host)| !local.is_empty() && host.contains('.') && !host.contains('@'))
}

impl Contact {
    /// Checks what the platform gave.
    pub fn validate(&self) -> Result<(), ContactError> {
        if !valid_address(&self.email) {
            return Err(ContactError("email", "must be one e-mail address, without spaces or line breaks"));
        }
        if self.name.as_deref().is_some_and(|n| n.chars().count() > 200 || n.chars().any(char::is_control)) {
            return Err(ContactError("name", "must be at most 200 characters, without line breaks"));
        }
        if !LOCALES.contains(&self.locale.as_str()) {
            return Err(ContactError("locale", "must be one of en, de, fr, ja"));
        }
        Ok(())
    }
}

/// Whether a message about test money may go to `address`: only to
/// addresses (or `@domain`s) on the allow list.
pub fn test_mail_allowed(address: &str, allow: &[String]) -> bool {
    let address = address.to_lowercase();
    allow.iter().any(|entry| {
        let entry = entry.trim().to_lowercase();
        if entry.starts_with('@') { address.ends_with(&entry) } else { address == entry }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_with_line_breaks_or_several_parts_are_refused() {
        assert!(valid_address("ada@example.com"));
        for bad in [
            "ada@example.com\r\nBcc: all@example.com",
            "a b@example.com",
            "ada",
            "@example.com",
            "a@b",
            "a@b@c.com",
            "<a@b.com>",
            "a@b.com,c@d.com",
        ] {
            assert!(!valid_address(bad), "{bad:?}");
        }
    }

    #[test]
    fn test_mail_goes_only_to_the_allow_list() {
        let allow = vec!["qa@example.com".to_owned(), "@test.example".to_owned()];
        assert!(test_mail_allowed("QA@example.com", &allow));
        assert!(test_mail_allowed("anyone@test.example", &allow));
        assert!(!test_mail_allowed("buyer@gmail.com", &allow));
        assert!(!test_mail_allowed("x@nottest.example.com", &allow));
    }

    #[test]
    fn every_template_is_named_once() {
        for rule in MESSAGES {
            assert_eq!(rule_of(rule.template), Some(&rule));
        }
    }
}
