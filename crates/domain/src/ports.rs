//! Ports: the traits through which the domain reaches storage, gateways,
//! time and id generation. Adapters implement them; tests mock them (the
//! `mocks` feature exports `Mock*` types made by mockall).
//!
//! Every storage method that changes state is one unit of work: it commits
//! the state change together with its ledger journal, coupon redemption
//! change and outbox rows, or nothing at all.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::catalog::{CatalogItem, ItemRef};
use crate::coupon::{
    Coupon, CouponCode, CouponEdit, CouponEditError, CouponRejection, CouponUsage, NewCoupon, NewRedemption,
};
use crate::ids::{CouponId, PaymentId, UserId};
use crate::ledger::Journal;
use crate::money::Money;
use crate::outbox::OutboxEvent;
use crate::paging::{Page, PageRequest};
use crate::payment::{Payment, PaymentMethod, PaymentStatus};

mod approvals;
mod events;
mod fraud;
mod gateway;
mod gateway_registry;
mod mail;
mod ops;
mod payouts;
mod rate_limits;
mod receipts;
mod reconciliation;
mod settlement;
mod stats;
pub use approvals::*;
pub use events::*;
pub use fraud::*;
pub use gateway::*;
pub use gateway_registry::*;
pub use mail::*;
pub use ops::*;
pub use payouts::*;
pub use rate_limits::*;
pub use receipts::*;
pub use reconciliation::*;
pub use settlement::*;
pub use stats::*;

/// A storage failure that is not a business outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or timed out; retrying may help.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Stored data violates an invariant (a bug or manual tampering).
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

/// Reads and writes catalog items (courses, events).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Catalog: Send + Sync {
    /// The item, or `None` if the catalog does not know it.
    async fn find(&self, item: ItemRef) -> Result<Option<CatalogItem>, StoreError>;
    /// Creates or replaces the item; returns it as stored. A new capacity
    /// is checked against the seats held, under the seats' locks.
    async fn upsert(&self, item: CatalogItem) -> Result<CatalogItem, CatalogWriteError>;
    /// The seats left of an event with a capacity (`None` without one).
    async fn seats_left(&self, event_id: i64) -> Result<Option<u32>, StoreError>;
}

/// Why a catalog item was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogWriteError {
    /// The new capacity is below the seats open or paid payments hold.
    #[error("{taken} seats are taken, more than the new capacity")]
    CapacityBelowTaken {
        /// Seats held now.
        taken: u32,
    },
    /// Storage failed; nothing was written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The seats and ticket limit a new payment for an event is checked
/// against when it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatRequest {
    /// The event.
    pub event_id: i64,
    /// Tickets bought.
    pub quantity: u32,
    /// Whether the event has a capacity (seats are taken from it).
    pub limited: bool,
    /// Tickets one buyer may hold; above 1 the buyer's tickets are counted
    /// under a lock of their own (with 1, [`crate::payment::Payment::one_per_buyer`] keeps it).
    pub tickets_per_buyer: u32,
}

/// A new payment with everything that must commit with it.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// The payment row.
    pub payment: Payment,
    /// The coupon redemption it reserves (or confirms, when free).
    pub redemption: Option<NewRedemption>,
    /// The ledger journal (only for a payment that completes at once).
    pub journal: Option<Journal>,
    /// Events to announce.
    pub outbox: Vec<OutboxEvent>,
    /// Seats and the ticket limit, for an event that has either.
    pub seats: Option<SeatRequest>,
}

/// Why a payment could not be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreatePaymentStoreError {
    /// The coupon's limits or state refused the redemption when re-checked
    /// under lock: MUST be `Exhausted`, `PerUserLimit`, `Inactive` or
    /// `NotFound`.
    #[error(transparent)]
    Coupon(CouponRejection),
    /// The buyer holds the item already (a payment for it open or paid, of
    /// the same mode): this one.
    #[error("the buyer holds the item already")]
    AlreadyHeld(crate::ids::PaymentId),
    /// Fewer seats are left than asked for.
    #[error("sold out")]
    SoldOut,
    /// The buyer's tickets would exceed the event's limit per buyer.
    #[error("ticket limit per buyer reached")]
    TicketLimit,
    /// Storage failed; nothing was written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What happens to a payment's coupon redemption with a status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedemptionChange {
    /// The payment completed: the use becomes final.
    Confirm,
    /// The payment failed, was cancelled or expired: the use is given back.
    Release,
    /// A payment given up was paid after all: the use it gave back is
    /// taken again and confirmed, if the coupon still allows it (active,
    /// uses left, the payer's own limit); otherwise nothing is written and
    /// the change answers [`ChangeOutcome::CouponRefused`].
    Reclaim,
}

/// A status change of a payment with everything that commits with it.
#[derive(Debug, Clone)]
pub struct PaymentChange {
    /// The payment.
    pub payment_id: PaymentId,
    /// The status it must still be in (guarded update).
    pub from: PaymentStatus,
    /// The status it moves to.
    pub to: PaymentStatus,
    /// When.
    pub at: DateTime<Utc>,
    /// Set `completed_at` (on completion).
    pub completed_at: Option<DateTime<Utc>>,
    /// Set the failure reason (on failure).
    pub failure_reason: Option<String>,
    /// What happens to the coupon redemption, if the payment has one.
    pub redemption: Option<RedemptionChange>,
    /// The ledger journal it causes.
    pub journal: Option<Journal>,
    /// Events to announce.
    pub outbox: Vec<OutboxEvent>,
    /// A note for the "needs attention" list, written with the change.
    pub attention: Option<crate::attention::NewAttention>,
}

/// The result of a guarded status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// Committed; the payment as now stored.
    Applied(Box<Payment>),
    /// The payment was no longer in `from` (someone else moved it first);
    /// nothing was written. Reload and decide again.
    StatusMoved,
    /// A [`RedemptionChange::Reclaim`] found the coupon unable to take the
    /// use again; nothing was written.
    CouponRefused(crate::coupon::CouponRejection),
}

/// Which payments to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentQuery {
    /// Only this payer's.
    pub user_id: Option<UserId>,
    /// Only this instructor's.
    pub instructor_id: Option<UserId>,
    /// Only in this status (by name; `disputed` covers every disputed one).
    pub status: Option<&'static str>,
    /// Only this method.
    pub method: Option<PaymentMethod>,
    /// Only with this coupon code (as stored: upper case).
    pub coupon_code: Option<String>,
    /// Only with this receipt e-mail (any case).
    pub billing_email: Option<String>,
    /// Only of this mode: live money (`true`) or test money.
    pub livemode: Option<bool>,
    /// The page (with its order and creation-time window).
    pub page: PageRequest,
}

/// Stores payments.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PaymentRepository: Send + Sync {
    /// Stores a new payment, its coupon redemption (re-checking the coupon's
    /// limits under lock), journal and outbox rows in one transaction.
    async fn create(&self, new: NewPayment) -> Result<Payment, CreatePaymentStoreError>;
    /// The payment, or `None`.
    async fn find(&self, id: PaymentId) -> Result<Option<Payment>, StoreError>;
    /// The payment a gateway knows by `provider_payment_id`, or `None`.
    async fn find_by_provider_id(
        &self,
        method: PaymentMethod,
        provider_payment_id: String,
    ) -> Result<Option<Payment>, StoreError>;
    /// Payments matching the query, newest first.
    async fn list(&self, query: PaymentQuery) -> Result<Page<Payment>, StoreError>;
    /// Records the gateway's id for the payment (after the gateway call).
    async fn attach_provider_id(&self, id: PaymentId, provider_payment_id: String) -> Result<(), StoreError>;
    /// Applies a status change if the payment is still in `change.from`.
    async fn apply(&self, change: PaymentChange) -> Result<ChangeOutcome, StoreError>;
    /// Claims up to `limit` payments still pending or processing that were
    /// created before `created_before` and are not claimed past `now`,
    /// holding each until `lease_until`. Concurrent callers never get the
    /// same payment (the adapter skips locked rows).
    async fn claim_open_payments(
        &self,
        created_before: DateTime<Utc>,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PaymentId>, StoreError>;
    /// Claims up to `limit` gateway payments completed since
    /// `completed_after` whose gateway fee is not recorded yet and whose
    /// next read is due at `now`, holding each as long as it has been
    /// completed (at least `min_wait`), like [`Self::claim_given_up_payments`].
    async fn claim_unrecorded_fees(
        &self,
        completed_after: DateTime<Utc>,
        now: DateTime<Utc>,
        min_wait: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<PaymentId>, StoreError>;
    /// Records a paid payment's gateway fee, who bore it, its journal, the
    /// gateway's risk verdict and, when the verdict alarms, an item of the
    /// "needs attention" list, once: `None` (nothing written) when a fee
    /// is already recorded.
    async fn record_gateway_fee(
        &self,
        id: PaymentId,
        fee: Money,
        bearer: crate::ledger::FeeBearer,
        journal: Option<Journal>,
        risk: crate::fraud::RiskVerdict,
        attention: Option<crate::attention::NewAttention>,
    ) -> Result<Option<Payment>, StoreError>;
    /// Claims up to `limit` gateway payments given up on (failed,
    /// cancelled, expired) since `given_up_after` whose next re-check is
    /// due at `now`, for the sweep to ask their gateway whether they were
    /// paid after all. Each is held for as long as it has been given up
    /// (at least `min_wait`), so the checks of one payment thin out: about
    /// ten in a week. Concurrent callers never get the same payment.
    async fn claim_given_up_payments(
        &self,
        given_up_after: DateTime<Utc>,
        now: DateTime<Utc>,
        min_wait: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<PaymentId>, StoreError>;
}

/// Why a coupon could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateCouponStoreError {
    /// Another coupon has this code: MUST be returned for a duplicate code.
    #[error("a coupon with this code exists")]
    DuplicateCode,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a coupon could not be edited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditCouponStoreError {
    /// The edit is refused ([`Coupon::edited`]'s answer under the row lock).
    #[error(transparent)]
    Rejected(#[from] CouponEditError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A coupon before and after an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponEdited {
    /// As it was.
    pub before: Coupon,
    /// As it is now.
    pub after: Coupon,
}

/// Which coupons to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CouponQuery {
    /// Only active (`Some(true)`) or inactive ones.
    pub active: Option<bool>,
    /// Only coupons usable now: active, valid from before now, not
    /// expired, and not exhausted (uses held below `max_uses`).
    pub usable: bool,
    /// The page.
    pub page: PageRequest,
}

/// Stores coupons.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CouponRepository: Send + Sync {
    /// Stores a new coupon; `by` (the admin deciding) is named in the audit
    /// log, as with every change below, in the change's own transaction.
    async fn create(&self, coupon: NewCoupon, by: crate::usecases::Actor) -> Result<Coupon, CreateCouponStoreError>;
    /// The coupon, or `None`.
    async fn find(&self, id: CouponId) -> Result<Option<Coupon>, StoreError>;
    /// The coupon with this code, or `None`.
    async fn find_by_code(&self, code: CouponCode) -> Result<Option<Coupon>, StoreError>;
    /// Coupons, newest first.
    async fn list(&self, query: CouponQuery) -> Result<Page<Coupon>, StoreError>;
    /// Switches the coupon off on `by`'s decision; `None` if it does not exist.
    async fn deactivate(&self, id: CouponId, by: crate::usecases::Actor) -> Result<Option<Coupon>, StoreError>;
    /// Locks the coupon, applies [`Coupon::edited`] and stores the result
    /// in one transaction, on `by`'s decision; `None` if it does not exist.
    /// Lowering `max_uses` to the confirmed uses announces `coupon.exhausted`
    /// in that transaction.
    async fn edit(
        &self,
        id: CouponId,
        edit: CouponEdit,
        by: crate::usecases::Actor,
    ) -> Result<Option<CouponEdited>, EditCouponStoreError>;
    /// Live (reserved or confirmed) redemptions of the coupon by the user.
    async fn live_uses_by_user(&self, id: CouponId, user: UserId) -> Result<u32, StoreError>;
    /// Usage figures.
    async fn usage(&self, id: CouponId) -> Result<CouponUsage, StoreError>;
}

/// The current time.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// Now, truncated to microseconds: the precision PostgreSQL stores, so a
    /// time read back equals the time written.
    fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
    }
}

/// New unique ids.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait IdGenerator: Send + Sync {
    /// A new unique id.
    fn new_id(&self) -> Uuid;
}

/// Time-ordered random ids (UUID v7), friendly to B-tree indexes.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeOrderedIds;

impl IdGenerator for TimeOrderedIds {
    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// Unpredictable bytes for secrets handed to others (an event endpoint's
/// signing secret): from the operating system's secure random source, never
/// from ids, whose bits are partly time and counter.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SecretSource: Send + Sync {
    /// 32 secure random bytes; `Unavailable` when the system has none.
    fn secret_bytes(&self) -> Result<[u8; 32], StoreError>;
}

/// Checks that storage answers (for readiness).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// `Ok` when the database answers a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Identifies a row of the webhook log.
pub type WebhookLogId = Uuid;

/// What a verified webhook asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookAction {
    /// Re-read this payment's state from the gateway and apply it.
    SyncPayment {
        /// The gateway's id of the payment.
        provider_payment_id: String,
    },
    /// Capture an approved order, then apply the result (PayPal).
    CapturePayment {
        /// The gateway's id of the order.
        provider_payment_id: String,
    },
    /// Re-read this dispute from the gateway and apply it.
    SyncDispute {
        /// The gateway's id of the dispute.
        provider_dispute_id: String,
    },
    /// Re-read this refund's state from the gateway and apply it.
    SyncRefund {
        /// The gateway's id of the refund.
        provider_refund_id: String,
    },
    /// Re-read every refund the gateway holds for this payment and record
    /// those made outside Skillpay (a refund or reversal the gateway
    /// reports by its payment).
    SyncPaymentRefunds {
        /// The gateway's id of the payment.
        provider_payment_id: String,
    },
    /// Re-read this payout's state from its gateway and apply it.
    SyncPayout {
        /// The payout method the gateway serves.
        method: crate::payout::PayoutMethod,
        /// The gateway's id of the payout (Stripe transfer, PayPal batch).
        provider_payout_id: String,
    },
    /// Re-read this payout of the gateway's balance to the platform's bank
    /// and record where it stands (settlement reconciliation).
    SyncBankPayout {
        /// The gateway's id of the payout (Stripe `po_…`).
        provider_payout_id: String,
    },
    /// Nothing we act on yet: logged and acknowledged.
    Ignore,
}

/// A webhook whose signature checked out.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedWebhook {
    /// The gateway that sent it.
    pub provider: PaymentMethod,
    /// The gateway's event id (unique per gateway).
    pub event_id: String,
    /// The gateway's event type, e.g. `payment_intent.succeeded`.
    pub event_type: String,
    /// What to do about it.
    pub action: WebhookAction,
    /// The event as received.
    pub payload: serde_json::Value,
}

/// An incoming webhook request, exactly as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    /// Headers with lower-case names.
    pub headers: Vec<(String, String)>,
    /// The raw body bytes (signatures cover these, not a re-serialisation).
    pub body: Vec<u8>,
}

impl WebhookRequest {
    /// The first value of a header (name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Why a webhook was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No secret or webhook id is configured: fail closed.
    #[error("webhooks from this gateway are not configured")]
    NotConfigured,
    /// The signature is missing, malformed, wrong or out of tolerance.
    #[error("webhook signature rejected: {0}")]
    InvalidSignature(String),
    /// Signed, but not an event we can read.
    #[error("webhook body is not a readable event: {0}")]
    Malformed(String),
    /// Verification needs the gateway, which is unavailable.
    #[error("webhook verification unavailable: {0}")]
    Unavailable(String),
}

/// Checks a gateway's webhook signature and reads the event.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookVerifier: Send + Sync {
    /// The gateway whose webhooks this verifies.
    fn provider(&self) -> PaymentMethod;
    /// Verifies `request` (signature first, then parsing).
    async fn verify(&self, request: &WebhookRequest) -> Result<VerifiedWebhook, WebhookError>;
    /// The action of an event verified when it arrived and stored since
    /// (a replay): no signature to check, the stored copy is our own.
    fn read_stored(&self, payload: &serde_json::Value) -> Result<WebhookAction, WebhookError>;
}

/// What recording a webhook found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookClaim {
    /// First delivery, or an earlier one failed: process it now.
    Process(WebhookLogId),
    /// Processed before: acknowledge without reprocessing.
    AlreadyProcessed,
    /// Another delivery of the same event is being processed right now.
    InProgress,
}

/// A logged webhook, as a replay reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredWebhook {
    /// Its log row.
    pub id: WebhookLogId,
    /// The gateway that sent it.
    pub provider: PaymentMethod,
    /// The gateway's event type.
    pub event_type: String,
    /// The event as received.
    pub payload: serde_json::Value,
}

/// What claiming a logged webhook for a replay found.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplayClaim {
    /// Claimed: process it now, then mark it.
    Claimed(StoredWebhook),
    /// A delivery or replay of it is being processed right now.
    InProgress,
}

/// The log of received webhooks: one row per (gateway, event id).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookLog: Send + Sync {
    /// Records the event once and claims it for processing (a claim lapses
    /// after a while, so a crashed processor does not block redelivery).
    async fn record(&self, event: VerifiedWebhook) -> Result<WebhookClaim, StoreError>;
    /// Marks the event processed.
    async fn mark_processed(&self, id: WebhookLogId) -> Result<(), StoreError>;
    /// Records why processing failed and releases the claim.
    async fn mark_failed(&self, id: WebhookLogId, error: String) -> Result<(), StoreError>;
    /// Marks the event processed (the gateway must not deliver it again)
    /// but needing a person: what could not be done, and why.
    async fn mark_needs_attention(&self, id: WebhookLogId, note: String) -> Result<(), StoreError>;
    /// Claims a logged webhook (processed or not) for a replay, counting
    /// the attempt, unless a claim on it is live; `None` if no such row.
    async fn claim_for_replay(&self, id: WebhookLogId) -> Result<Option<ReplayClaim>, StoreError>;
}

/// Why a gateway configuration could not be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PutGatewayConfigError {
    /// No encryption key is configured: credentials are never stored in
    /// clear, so nothing is stored.
    #[error("SKILLPAY_ENCRYPTION_KEY is not set; credentials cannot be stored")]
    NoEncryptionKey,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Stores gateway configurations, sealing credentials at rest.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait GatewayConfigRepository: Send + Sync {
    /// Creates or replaces the configuration of (provider, mode) on `by`'s
    /// decision (named in the audit log); activating it deactivates the
    /// provider's other mode in the same transaction.
    async fn put(
        &self,
        config: crate::gateway_config::GatewayConfig,
        by: crate::usecases::Actor,
    ) -> Result<crate::gateway_config::GatewayConfigSummary, PutGatewayConfigError>;
    /// Every configuration, without credential values.
    async fn list(&self) -> Result<Vec<crate::gateway_config::GatewayConfigSummary>, StoreError>;
    /// The active configuration of a provider, credentials unsealed.
    async fn active(&self, provider: PaymentMethod)
    -> Result<Option<crate::gateway_config::GatewayConfig>, StoreError>;
}

/// Why the gateways could not be rebuilt from the stored configurations.
/// The message names what failed, never a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the gateways could not be rebuilt: {0}")]
pub struct GatewayReloadError(pub String);

/// Serves the gateway configurations as stored now, without a restart: the
/// application rebuilds its [`Gateways`] from its own settings and the
/// active stored configurations, and replaces the set every use case sees.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait GatewayReloader: Send + Sync {
    /// Rebuilds the served gateways if the stored configurations changed
    /// since the last rebuild. When a gateway cannot be built the gateways
    /// served MUST stay as they were, and the error is returned.
    async fn reload(&self) -> Result<(), GatewayReloadError>;
}

/// A refund request, before the refundable amount is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    /// Its id.
    pub id: crate::ids::RefundId,
    /// The payment to refund.
    pub payment_id: PaymentId,
    /// How much (`None`: all that is left).
    pub amount: Option<Money>,
    /// Why.
    pub reason: String,
    /// Where it comes from: a request, or Skillpay itself (`recovery`).
    pub origin: crate::refund::RefundOrigin,
    /// Who asks (recorded with the request, and in the audit log); `None`
    /// for one Skillpay makes itself.
    pub requested_by: Option<crate::usecases::Actor>,
    /// When.
    pub at: DateTime<Utc>,
    /// For a request, the screening of its payer's refunds.
    pub screening: Option<crate::fraud::RefundScreening>,
    /// The id of its `refund.requested` event, which the store MUST write
    /// with it, about the refund as stored.
    pub event_id: crate::ids::EventId,
}

/// Why a refund request was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateRefundStoreError {
    /// No such payment.
    #[error("payment not found")]
    PaymentNotFound,
    /// Checked under the payment's lock: MUST be returned when the amount
    /// (with the live refunds) would exceed what was paid.
    #[error(transparent)]
    Refused(crate::refund::RefundPlanError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a processed refund changes its payment (guarded like a status change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRefundUpdate {
    /// The payment's status it must still have.
    pub from: PaymentStatus,
    /// Its refunded amount it must still have.
    pub refunded_before: Money,
    /// Its new status.
    pub to: PaymentStatus,
    /// Its new refunded amount.
    pub refunded_after: Money,
}

/// A refund status change with everything that commits with it.
#[derive(Debug, Clone)]
pub struct RefundChange {
    /// The refund.
    pub refund_id: crate::ids::RefundId,
    /// The status it must still be in.
    pub from: crate::refund::RefundStatus,
    /// Its new status.
    pub to: crate::refund::RefundStatus,
    /// When.
    pub at: DateTime<Utc>,
    /// The gateway's id, once known.
    pub provider_refund_id: Option<String>,
    /// Why an admin rejected it.
    pub rejection_reason: Option<String>,
    /// Who decided the change (`None`: the service itself, on a gateway's
    /// answer or a sweep); recorded in the audit log with it, and as the
    /// approver when it approves.
    pub by: Option<crate::usecases::Actor>,
    /// The deciding admin's note, if given.
    pub admin_note: Option<String>,
    /// The payment's change (when processed).
    pub payment: Option<PaymentRefundUpdate>,
    /// The ledger journal (when processed).
    pub journal: Option<Journal>,
    /// Events to announce.
    pub outbox: Vec<OutboxEvent>,
}

impl RefundChange {
    /// `refund` as this change leaves it: what every store MUST write (a
    /// field the change leaves `None` stays as it was; the deciding admin
    /// is recorded as the approver, with the note, only on approval).
    /// Events are built from it, so they show what a read would.
    pub fn applied_to(&self, refund: &crate::refund::Refund) -> crate::refund::Refund {
        use crate::refund::RefundStatus;
        let approver = self.by.filter(|_| self.to == RefundStatus::Approved);
        let mut after = refund.clone();
        after.status = self.to;
        after.updated_at = self.at;
        if let Some(reason) = &self.rejection_reason {
            after.rejection_reason = Some(reason.clone());
        }
        if self.to == RefundStatus::Processed {
            after.processed_at = Some(self.at);
        }
        if let Some(id) = &self.provider_refund_id {
            after.provider_refund_id = Some(id.clone());
        }
        if let Some(by) = approver {
            after.approved_by = Some(by.user_id);
            after.approved_at = Some(self.at);
            if let Some(note) = &self.admin_note {
                after.admin_note = Some(note.clone());
            }
        }
        after
    }
}

/// Which refunds to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefundQuery {
    /// Only refunds of this payer's payments.
    pub payer: Option<UserId>,
    /// Only of this payment.
    pub payment_id: Option<PaymentId>,
    /// Only in this status.
    pub status: Option<crate::refund::RefundStatus>,
    /// Only of this mode: live money (`true`) or test money.
    pub livemode: Option<bool>,
    /// The page.
    pub page: PageRequest,
}

/// Stores refunds.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RefundRepository: Send + Sync {
    /// Stores a refund request after planning it (`refund::plan_refund`)
    /// under a lock on the payment, so concurrent requests can never refund
    /// more than was paid.
    async fn create(&self, request: NewRefund) -> Result<crate::refund::Refund, CreateRefundStoreError>;
    /// The refund, or `None`.
    async fn find(&self, id: crate::ids::RefundId) -> Result<Option<crate::refund::Refund>, StoreError>;
    /// The refund the gateway knows by this id, or `None`.
    async fn find_by_provider_id(
        &self,
        provider_refund_id: String,
    ) -> Result<Option<crate::refund::Refund>, StoreError>;
    /// Refunds left in `processing` (the gateway had not settled them).
    async fn processing(&self, limit: u32) -> Result<Vec<crate::refund::Refund>, StoreError>;
    /// Refunds matching the query, newest first.
    async fn list(&self, query: RefundQuery) -> Result<Page<crate::refund::Refund>, StoreError>;
    /// Applies a status change if the refund (and the payment, when given)
    /// are still as expected; otherwise writes nothing.
    async fn apply(&self, change: RefundChange) -> Result<bool, StoreError>;
    /// Stores a refund made at the gateway, already processed, with its
    /// payment's guarded update, journal and events, in one transaction.
    /// Writes nothing and answers `AlreadyRecorded` when a refund with the
    /// same gateway id exists, `PaymentMoved` when the payment is no longer
    /// as `change.payment` expects (re-read and re-decide).
    async fn record_processed(&self, change: ProcessedRefund) -> Result<RecordRefundOutcome, StoreError>;
    /// Claims processed gateway refunds since `processed_after` whose fee
    /// effect is not recorded yet, whose payment's fee is, and whose next
    /// read is due; each is held for as long as it has been processed (at
    /// least `min_wait`), so an unanswered one is asked less and less often.
    async fn claim_unrecorded_fee_returns(
        &self,
        processed_after: DateTime<Utc>,
        now: DateTime<Utc>,
        min_wait: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<crate::ids::RefundId>, StoreError>;
    /// Records what the gateway gave back of its fee with a refund, once:
    /// the refund's figure, its payment's net gateway fee lowered by it, and
    /// `journal` (if any), in one transaction; `None` (nothing written) when
    /// it was recorded meanwhile.
    async fn record_fee_returned(
        &self,
        refund: crate::ids::RefundId,
        returned: Money,
        journal: Option<crate::ledger::Journal>,
    ) -> Result<Option<crate::refund::Refund>, StoreError>;
}

/// A refund that is processed the moment it is stored (made at the
/// gateway), with everything that commits with it.
#[derive(Debug, Clone)]
pub struct ProcessedRefund {
    /// The refund, status `processed`, with its gateway id.
    pub refund: crate::refund::Refund,
    /// The payment's guarded change.
    pub payment: PaymentRefundUpdate,
    /// The refund journal.
    pub journal: Journal,
    /// Events to announce.
    pub outbox: Vec<OutboxEvent>,
}

/// What storing a [`ProcessedRefund`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordRefundOutcome {
    /// Stored.
    Recorded,
    /// A refund with this gateway id was stored before (a replay, or
    /// another delivery won): nothing written.
    AlreadyRecorded,
    /// The payment moved since it was read: nothing written.
    PaymentMoved,
}

/// One ledger entry as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntryView {
    /// The entry's sequence number (ascending with time).
    pub sequence: i64,
    /// Its journal.
    pub journal_id: crate::ids::JournalId,
    /// The journal's kind (`sale`, `refund`).
    pub kind: String,
    /// The payment the journal belongs to.
    pub payment_id: Option<PaymentId>,
    /// Signed amount: debit positive, credit negative.
    pub amount: Money,
    /// When the journal was posted.
    pub posted_at: DateTime<Utc>,
}

/// Read-side ledger queries for operators.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LedgerQueries: Send + Sync {
    /// The kept balance of an account in a currency and mode (constant
    /// cost).
    async fn balance(
        &self,
        account: crate::ledger::Account,
        currency: crate::money::Currency,
        livemode: bool,
    ) -> Result<Money, StoreError>;
    /// The account's entries in a currency and mode, newest first, `limit`
    /// at most, before entry `before` when given.
    async fn entries(
        &self,
        account: crate::ledger::Account,
        currency: crate::money::Currency,
        livemode: bool,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<LedgerEntryView>, StoreError>;
}

/// A payment's guarded move into or out of a dispute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentStatusUpdate {
    /// The status it must still have.
    pub from: PaymentStatus,
    /// Its new status.
    pub to: PaymentStatus,
}

/// A dispute created or moved, with everything that commits with it.
#[derive(Debug, Clone)]
pub struct DisputeChange {
    /// The dispute as it is to be stored.
    pub dispute: crate::dispute::Dispute,
    /// The status it must still have; `None` creates it.
    pub previous: Option<crate::dispute::DisputeStatus>,
    /// Its payment's change.
    pub payment: Option<PaymentStatusUpdate>,
    /// The ledger journal.
    pub journal: Option<Journal>,
    /// Events to announce.
    pub outbox: Vec<OutboxEvent>,
    /// Who made the change, for the audit log; `None`: the service itself,
    /// following the gateway.
    pub by: Option<crate::usecases::Actor>,
}

/// Which disputes to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisputeQuery {
    /// Only of this mode: live money (`true`) or test money.
    pub livemode: Option<bool>,
    /// The page.
    pub page: PageRequest,
}

/// Stores disputes.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DisputeRepository: Send + Sync {
    /// The dispute, or `None`.
    async fn find(&self, id: crate::ids::DisputeId) -> Result<Option<crate::dispute::Dispute>, StoreError>;
    /// The dispute the gateway knows by this id, or `None`.
    async fn find_by_provider_id(
        &self,
        provider_dispute_id: String,
    ) -> Result<Option<crate::dispute::Dispute>, StoreError>;
    /// Disputes matching the query, newest first.
    async fn list(&self, query: DisputeQuery) -> Result<Page<crate::dispute::Dispute>, StoreError>;
    /// Creates or moves a dispute if it (and its payment, when given) are
    /// still as expected; otherwise writes nothing and answers `false`.
    async fn record(&self, change: DisputeChange) -> Result<bool, StoreError>;
}
