//! Port for the admin console's own records: sign-in links, sessions, the
//! audit log, and the read-only views its pages need beyond the use cases.
//!
//! Sessions, CSRF tokens and audit entries holding the API's JSON belong to
//! the console, a web adapter, not to the business: the domain's use cases
//! never see them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use domain::actor::Actor;
use domain::ids::{PaymentId, PayoutId, UserId};
use domain::money::Money;
use domain::paging::{Page, PageRequest};
use domain::ports::StoreError;

/// A console session as stored (found by the hash of its cookie secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// Who signed in.
    pub actor: Actor,
    /// The token every form of this session must carry.
    pub csrf_token: String,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
    /// It also ends after this long without a request (one-time links).
    pub idle_timeout: Option<chrono::Duration>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Who acted.
    pub actor: Actor,
    /// What they did (`refund.approve`, `coupon.deactivate`, ...).
    pub action: String,
    /// The object acted on (`re_…`, `cpn_…`).
    pub object_id: String,
    /// The object before, as the API shows it.
    pub before: Option<Value>,
    /// The object after.
    pub after: Option<Value>,
    /// When.
    pub at: DateTime<Utc>,
}

/// One ledger line of a payment's journals, for its detail page.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalLine {
    /// The journal's kind (`sale`, `refund`, `dispute_hold`, ...).
    pub kind: String,
    /// The account (`platform_revenue`, `instructor_pending:100`, ...).
    pub account: String,
    /// Signed amount: debit positive, credit negative.
    pub amount: Money,
    /// When the journal was posted.
    pub posted_at: DateTime<Utc>,
}

/// One moment of an object's history, for its timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// What: an event type (`payment.completed`), a webhook
    /// (`webhook stripe payment_intent.succeeded`) or a console action.
    pub what: String,
    /// A short detail (processing status, who acted).
    pub detail: String,
}

/// Where an incoming webhook stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum WebhookLogStatus {
    /// Acted on.
    Processed,
    /// Acting on it failed; the gateway (or an admin's replay) tries again.
    Failed,
    /// Not processed yet and no failure recorded.
    Pending,
    /// Acted on as far as it could be, and acknowledged, but a person must
    /// look at it (a gateway refund above what is left, a payment Skillpay
    /// does not know).
    NeedsAttention,
}

impl WebhookLogStatus {
    /// Every status.
    pub const ALL: [WebhookLogStatus; 4] = [Self::Processed, Self::Failed, Self::Pending, Self::NeedsAttention];

    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }

    /// The status named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

/// Which incoming webhooks to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookLogQuery {
    /// Only from this gateway (`stripe`, `paypal`).
    pub gateway: Option<String>,
    /// Only in this status.
    pub status: Option<WebhookLogStatus>,
    /// The page.
    pub page: PageRequest,
}

/// One incoming gateway webhook as the log keeps it (without its payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookLogLine {
    /// Its log row (what a replay names).
    pub id: uuid::Uuid,
    /// `stripe` or `paypal`.
    pub gateway: String,
    /// The gateway's event id.
    pub event_id: String,
    /// The gateway's event type.
    pub event_type: String,
    /// Whether processing finished.
    pub processed: bool,
    /// The last processing error, if any.
    pub error: Option<String>,
    /// What a person must look at, if anything.
    pub needs_attention: Option<String>,
    /// Deliveries of it so far.
    pub attempts: u32,
    /// When it first arrived.
    pub received_at: DateTime<Utc>,
}

/// Work waiting for an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PendingWork {
    /// Refunds requested and not yet approved or rejected.
    pub refunds: u64,
    /// Payouts requested and not yet approved or rejected.
    pub payouts: u64,
    /// Disputes still open.
    pub disputes: u64,
    /// Webhooks acknowledged but needing a person.
    pub webhooks: u64,
    /// Open "needs attention" items (payments paid after they were given
    /// up, and what was done).
    pub attention: u64,
}

/// The console's storage.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ConsoleStore: Send + Sync {
    /// Stores a one-time sign-in link for `actor` (by its secret's hash).
    async fn create_link(&self, token_hash: Vec<u8>, actor: Actor, expires_at: DateTime<Utc>)
    -> Result<(), StoreError>;
    /// Uses up a link that is unused and unexpired at `now`; answers whom
    /// it signs in, or `None` (at most once per link, whatever the races).
    async fn use_link(&self, token_hash: Vec<u8>, now: DateTime<Utc>) -> Result<Option<Actor>, StoreError>;
    /// Stores a new session.
    async fn create_session(
        &self,
        token_hash: Vec<u8>,
        session: ConsoleSession,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The session, if it exists, has not ended, has not expired and has
    /// not been idle past its idle timeout at `now`; marks it used at `now`.
    async fn find_session(&self, token_hash: Vec<u8>, now: DateTime<Utc>)
    -> Result<Option<ConsoleSession>, StoreError>;
    /// Ends every open session of `user`; answers how many.
    async fn end_sessions_of(&self, user: UserId, now: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Ends a session (sign-out).
    async fn end_session(&self, token_hash: Vec<u8>, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Appends to the audit log.
    async fn record(&self, entry: AuditEntry) -> Result<(), StoreError>;
    /// The audit log, newest first: `limit` entries before entry `before`,
    /// only about `object_id` when given; each with its sequence number.
    async fn audit_log(
        &self,
        object_id: Option<String>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(i64, AuditEntry)>, StoreError>;
    /// Every ledger line of the payment's journals, oldest first.
    async fn payment_journals(&self, payment: PaymentId) -> Result<Vec<JournalLine>, StoreError>;
    /// The payment's history: its events, the gateway webhooks about it,
    /// and console actions on it and its refunds, oldest first.
    async fn payment_timeline(&self, payment: PaymentId) -> Result<Vec<TimelineEntry>, StoreError>;
    /// Every ledger line of the payout's journals, oldest first.
    async fn payout_journals(&self, payout: PayoutId) -> Result<Vec<JournalLine>, StoreError>;
    /// The history of one refund, payout, dispute or coupon (`object_id`
    /// as the API shows it): its events with their delivery status, the
    /// gateway webhooks naming `gateway_ref` (an indexed look-up of the
    /// ids each webhook names) received from a day before `since`, its
    /// creation, and console actions on it, oldest first.
    async fn object_timeline(
        &self,
        object_id: String,
        gateway_ref: Option<String>,
        since: DateTime<Utc>,
    ) -> Result<Vec<TimelineEntry>, StoreError>;
    /// Counts of work waiting for an admin.
    async fn pending_work(&self) -> Result<PendingWork, StoreError>;
    /// Incoming webhooks, newest first.
    async fn webhook_logs(&self, query: WebhookLogQuery) -> Result<Page<WebhookLogLine>, StoreError>;
    /// The "needs attention" items, open ones first then the newest
    /// resolved, at most `limit`.
    async fn attention_items(&self, limit: u32) -> Result<Vec<domain::attention::AttentionItem>, StoreError>;
    /// Marks an open item resolved by `by` (audited); false if there is no
    /// such open item.
    async fn resolve_attention(&self, id: uuid::Uuid, by: Actor, at: DateTime<Utc>) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::WebhookLogStatus;

    /// The names are the console's filter values in links and forms: a
    /// derive that changed one would break bookmarked filters.
    #[test]
    fn webhook_log_statuses_keep_their_names_and_parse_them_back() {
        let names: Vec<_> = WebhookLogStatus::ALL.iter().map(WebhookLogStatus::as_str).collect();
        assert_eq!(names.join(" "), "processed failed pending needs_attention");
        for status in WebhookLogStatus::ALL {
            assert_eq!(WebhookLogStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(WebhookLogStatus::parse("Processed"), None);
    }
}
