//! Outgoing events, written to an outbox in the same transaction as the
//! state change they announce, and delivered to the platform afterwards.

use chrono::{DateTime, Utc};

use crate::approval::AwaitedApproval;
use crate::coupon::Coupon;
use crate::dispute::Dispute;
use crate::ids::EventId;
use crate::payment::Payment;
use crate::payout::Payout;
use crate::receipt::Receipt;
use crate::reconciliation::Discrepancy;
use crate::refund::Refund;

/// The kinds of event Skillpay announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
pub enum EventType {
    /// A payment was paid; the platform enrolls the student.
    #[strum(serialize = "payment.completed")]
    PaymentCompleted,
    /// A payment was paid but the fraud controls hold it for an admin's
    /// review: do not enroll yet (`payment.completed` follows a release).
    #[strum(serialize = "payment.held")]
    PaymentHeld,
    /// A payment failed at the gateway.
    #[strum(serialize = "payment.failed")]
    PaymentFailed,
    /// A payment was cancelled before it was paid.
    #[strum(serialize = "payment.cancelled")]
    PaymentCancelled,
    /// A payment expired unpaid.
    #[strum(serialize = "payment.expired")]
    PaymentExpired,
    /// A refund was asked for (by its payer, an admin, or Skillpay itself
    /// for a held or recovered payment).
    #[strum(serialize = "refund.requested")]
    RefundRequested,
    /// A refund was approved; it goes to the gateway next.
    #[strum(serialize = "refund.approved")]
    RefundApproved,
    /// An admin rejected a refund request, with a reason.
    #[strum(serialize = "refund.rejected")]
    RefundRejected,
    /// The gateway refused or failed a refund; no money went back.
    #[strum(serialize = "refund.failed")]
    RefundFailed,
    /// A refund was processed (money went back).
    #[strum(serialize = "refund.processed")]
    RefundProcessed,
    /// A payment is now fully refunded: the platform revokes the enrollment.
    #[strum(serialize = "payment.refunded")]
    PaymentRefunded,
    /// A dispute (chargeback) was opened; its amount is held.
    #[strum(serialize = "dispute.opened")]
    DisputeOpened,
    /// A dispute moved without being decided (under review, evidence
    /// asked for, its due date or status changed at the gateway).
    #[strum(serialize = "dispute.updated")]
    DisputeUpdated,
    /// An admin's evidence for a dispute reached the gateway.
    #[strum(serialize = "dispute.evidence_submitted")]
    DisputeEvidenceSubmitted,
    /// A dispute was decided (won or lost).
    #[strum(serialize = "dispute.closed")]
    DisputeClosed,
    /// An instructor asked for a payout.
    #[strum(serialize = "payout.requested")]
    PayoutRequested,
    /// An admin approved a payout; it goes to its rail next.
    #[strum(serialize = "payout.approved")]
    PayoutApproved,
    /// An admin rejected a payout; its money is available again.
    #[strum(serialize = "payout.rejected")]
    PayoutRejected,
    /// The instructor cancelled a payout before it was approved.
    #[strum(serialize = "payout.cancelled")]
    PayoutCancelled,
    /// A payout reached the instructor.
    #[strum(serialize = "payout.paid")]
    PayoutPaid,
    /// A payout failed or came back; its money is available again.
    #[strum(serialize = "payout.failed")]
    PayoutFailed,
    /// Every use of a limited coupon is confirmed by a completed payment:
    /// it can never be redeemed again.
    #[strum(serialize = "coupon.exhausted")]
    CouponExhausted,
    /// An admin approved a large refund or payout, or a live gateway
    /// change, and a second admin must approve it too.
    #[strum(serialize = "approval.requested")]
    ApprovalRequested,
    /// A completed payment's receipt was numbered and issued.
    #[strum(serialize = "receipt.issued")]
    ReceiptIssued,
    /// A processed refund's credit note was numbered and issued.
    #[strum(serialize = "credit_note.issued")]
    CreditNoteIssued,
    /// A gateway's books and the ledger were found to differ
    /// (settlement reconciliation); an admin resolves it.
    #[strum(serialize = "reconciliation.discrepancy")]
    ReconciliationDiscrepancy,
}

impl EventType {
    /// Every type.
    pub const ALL: [EventType; 26] = [
        EventType::PaymentCompleted,
        EventType::PaymentHeld,
        EventType::PaymentFailed,
        EventType::PaymentCancelled,
        EventType::PaymentExpired,
        EventType::RefundRequested,
        EventType::RefundApproved,
        EventType::RefundRejected,
        EventType::RefundFailed,
        EventType::RefundProcessed,
        EventType::PaymentRefunded,
        EventType::DisputeOpened,
        EventType::DisputeUpdated,
        EventType::DisputeEvidenceSubmitted,
        EventType::DisputeClosed,
        EventType::PayoutRequested,
        EventType::PayoutApproved,
        EventType::PayoutRejected,
        EventType::PayoutCancelled,
        EventType::PayoutPaid,
        EventType::PayoutFailed,
        EventType::CouponExhausted,
        EventType::ApprovalRequested,
        EventType::ReceiptIssued,
        EventType::CreditNoteIssued,
        EventType::ReconciliationDiscrepancy,
    ];

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<EventType> {
        name.parse().ok()
    }

    /// The event's wire name, e.g. `payment.completed`.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// The object an event is about, as it stands once the change is made.
/// Adapters turn it into the same JSON the API shows for that object, so
/// that an event and a read of the object never disagree.
#[derive(Debug, Clone, PartialEq)]
pub enum EventSubject {
    /// A payment.
    Payment(Box<Payment>),
    /// A refund.
    Refund(Box<Refund>),
    /// A dispute.
    Dispute(Box<Dispute>),
    /// An instructor's payout.
    Payout(Box<Payout>),
    /// A coupon.
    Coupon(Box<Coupon>),
    /// A difference between a gateway's books and the ledger.
    Discrepancy(Box<Discrepancy>),
    /// A receipt or a credit note.
    Receipt(Box<Receipt>),
    /// A second approval awaited.
    Approval(Box<AwaitedApproval>),
}

impl EventSubject {
    /// The prefixed id of the object (`pay_…`, `re_…`, ...); events about
    /// one object are delivered in order.
    pub fn object_id(&self) -> String {
        match self {
            EventSubject::Payment(p) => p.id.to_string(),
            EventSubject::Refund(r) => r.id.to_string(),
            EventSubject::Dispute(d) => d.id.to_string(),
            EventSubject::Payout(p) => p.id.to_string(),
            EventSubject::Coupon(c) => c.id.to_string(),
            EventSubject::Discrepancy(d) => d.id.to_string(),
            EventSubject::Receipt(r) => r.id.to_string(),
            EventSubject::Approval(a) => a.object_id.clone(),
        }
    }
}

impl From<Payment> for EventSubject {
    fn from(p: Payment) -> Self {
        EventSubject::Payment(Box::new(p))
    }
}

impl From<Refund> for EventSubject {
    fn from(r: Refund) -> Self {
        EventSubject::Refund(Box::new(r))
    }
}

impl From<Dispute> for EventSubject {
    fn from(d: Dispute) -> Self {
        EventSubject::Dispute(Box::new(d))
    }
}

impl From<Payout> for EventSubject {
    fn from(p: Payout) -> Self {
        EventSubject::Payout(Box::new(p))
    }
}

impl From<Discrepancy> for EventSubject {
    fn from(d: Discrepancy) -> Self {
        EventSubject::Discrepancy(Box::new(d))
    }
}

impl From<AwaitedApproval> for EventSubject {
    fn from(a: AwaitedApproval) -> Self {
        EventSubject::Approval(Box::new(a))
    }
}

impl From<Receipt> for EventSubject {
    fn from(r: Receipt) -> Self {
        EventSubject::Receipt(Box::new(r))
    }
}

impl From<Coupon> for EventSubject {
    fn from(c: Coupon) -> Self {
        EventSubject::Coupon(Box::new(c))
    }
}

/// One outgoing event.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// Unique id; consumers deduplicate on it.
    pub id: EventId,
    /// What happened.
    pub event_type: EventType,
    /// The object it is about, after the change.
    pub subject: EventSubject,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

impl OutboxEvent {
    /// An event about `subject`.
    pub fn new(id: EventId, event_type: EventType, subject: impl Into<EventSubject>, at: DateTime<Utc>) -> Self {
        OutboxEvent { id, event_type, subject: subject.into(), created_at: at }
    }

    /// The id of the object it is about (`pay_…`).
    pub fn aggregate_id(&self) -> String {
        self.subject.object_id()
    }
}
