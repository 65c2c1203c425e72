//! Ports for e-mail: the messages' storage (routing from outbox events,
//! claims, outcomes, contact records) and the transport that renders and
//! sends one (see docs/notifications.md).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::StoreError;
use crate::ids::{MailId, UserId};
use crate::mail::{Contact, MailMessage, MailStatus, MessageRule};
use crate::outbox::EventType;
use crate::paging::{Page, PageRequest};
use crate::receipt::Receipt;

/// A message claimed for sending, with what its event says.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedMail {
    /// The message.
    pub message: MailMessage,
    /// Its event's type.
    pub event_type: EventType,
    /// Its event's object, as events carry it.
    pub object: Value,
    /// The claim's lease: the outcome is recorded only while it holds.
    pub lease_until: DateTime<Utc>,
}

/// What became of an attempt to send a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailOutcome {
    /// The server accepted it, for these addresses.
    Sent {
        /// Who it went to.
        recipients: String,
    },
    /// Not sent on purpose (test money, address not allowed).
    Suppressed {
        /// Who it would have gone to.
        recipients: String,
    },
    /// The server could not be reached or refused it for now: tried again
    /// at `at`.
    Retry {
        /// When.
        at: DateTime<Utc>,
        /// Why, coarse.
        error: String,
    },
    /// It cannot be rendered (no address, a template error).
    Failed {
        /// Why.
        error: String,
    },
    /// The server kept refusing it for a day.
    Dead {
        /// The last reason.
        error: String,
    },
}

/// Which messages to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailQuery {
    /// Only in this status.
    pub status: Option<MailStatus>,
    /// The page.
    pub page: PageRequest,
}

/// Stores messages and contact records.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MailStore: Send + Sync {
    /// Turns up to `limit` outbox events not mail-routed yet (oldest
    /// first, skipping rows another instance holds) into pending messages
    /// as `rules` say, and marks them routed, in one transaction; answers
    /// how many events were routed.
    async fn route(&self, now: DateTime<Utc>, rules: Vec<MessageRule>, limit: u32) -> Result<u64, StoreError>;
    /// Leases up to `limit` due pending messages until `lease_until`,
    /// skipping those another worker holds.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedMail>, StoreError>;
    /// Records an attempt's outcome while the lease holds; false if it
    /// lapsed (another worker has the message).
    async fn record(
        &self,
        id: MailId,
        lease_until: DateTime<Utc>,
        attempted_at: DateTime<Utc>,
        outcome: MailOutcome,
    ) -> Result<bool, StoreError>;
    /// Messages, newest first.
    async fn messages(&self, query: MailQuery) -> Result<Page<MailMessage>, StoreError>;
    /// Makes a message pending and due at `now` again, with a fresh day of
    /// retries; `None` if there is no such message.
    async fn resend(&self, id: MailId, now: DateTime<Utc>) -> Result<Option<MailMessage>, StoreError>;
    /// A user's contact record.
    async fn contact(&self, user: UserId) -> Result<Option<Contact>, StoreError>;
    /// Creates or replaces a user's contact record (the platform's word,
    /// which a token's claims never override).
    async fn put_contact(&self, contact: Contact) -> Result<Contact, StoreError>;
    /// Records a contact a token's claims name, unless the platform set
    /// one through the API; whether anything was written.
    async fn learn_contact(&self, contact: Contact) -> Result<bool, StoreError>;
}

/// Someone a message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The address (checked by [`crate::mail::valid_address`]).
    pub email: String,
    /// Their name, if known.
    pub name: Option<String>,
}

/// A message ready to render and send.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Its Message-ID header.
    pub message_id: String,
    /// Its templates' name.
    pub template: String,
    /// Who it goes to.
    pub to: Vec<Recipient>,
    /// The locale amounts and dates are written in.
    pub locale: String,
    /// About test money: the subject says so.
    pub test_mode: bool,
    /// The event's object the templates read.
    pub object: Value,
    /// For a receipt's message: the receipt, to attach as a PDF and link;
    /// for a processed refund's: its credit note, attached.
    pub receipt: Option<Box<Receipt>>,
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// It cannot be rendered: trying again will not help.
    #[error("cannot render: {0}")]
    Render(String),
    /// The server could not be reached or refused it for now.
    #[error("{0}")]
    Transport(String),
}

/// Renders a draft with its templates and hands it to the mail server.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MailTransport: Send + Sync {
    /// Renders and sends `draft`.
    async fn send(&self, draft: &Draft) -> Result<(), SendError>;
}
