//! Outgoing events, written to an outbox in the same transaction as the
//! state change they announce, and delivered to the platform afterwards.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::ids::EventId;
use crate::payment::Payment;

/// The kinds of event Skillpay announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
pub enum EventType {
    /// A payment was paid; the platform enrolls the student.
    #[strum(serialize = "payment.completed")]
    PaymentCompleted,
    /// A payment failed at the gateway.
    #[strum(serialize = "payment.failed")]
    PaymentFailed,
    /// A payment was cancelled before it was paid.
    #[strum(serialize = "payment.cancelled")]
    PaymentCancelled,
    /// A payment expired unpaid.
    #[strum(serialize = "payment.expired")]
    PaymentExpired,
    /// A refund was processed (money went back).
    #[strum(serialize = "refund.processed")]
    RefundProcessed,
    /// A payment is now fully refunded: the platform revokes the enrollment.
    #[strum(serialize = "payment.refunded")]
    PaymentRefunded,
    /// A dispute (chargeback) was opened; its amount is held.
    #[strum(serialize = "dispute.opened")]
    DisputeOpened,
    /// A dispute was decided (won or lost).
    #[strum(serialize = "dispute.closed")]
    DisputeClosed,
    /// An instructor asked for a payout.
    #[strum(serialize = "payout.requested")]
    PayoutRequested,
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
}

impl EventType {
    /// Every type.
    pub const ALL: [EventType; 12] = [
        EventType::PaymentCompleted,
        EventType::PaymentFailed,
        EventType::PaymentCancelled,
        EventType::PaymentExpired,
        EventType::RefundProcessed,
        EventType::PaymentRefunded,
        EventType::DisputeOpened,
        EventType::DisputeClosed,
        EventType::PayoutRequested,
        EventType::PayoutPaid,
        EventType::PayoutFailed,
        EventType::CouponExhausted,
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

/// One outgoing event.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// Unique id; consumers deduplicate on it.
    pub id: EventId,
    /// What happened.
    pub event_type: EventType,
    /// The id of the object it is about (`pay_…`).
    pub aggregate_id: String,
    /// The object as the API shows it.
    pub payload: Value,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

impl OutboxEvent {
    /// An event about a payment, carrying the payment's public fields.
    pub fn about_payment(id: EventId, event_type: EventType, payment: &Payment, at: DateTime<Utc>) -> Self {
        OutboxEvent {
            id,
            event_type,
            aggregate_id: payment.id.to_string(),
            payload: payment_payload(payment),
            created_at: at,
        }
    }
}

/// The fields `coupon.exhausted` carries: the coupon and how many uses it had.
pub fn coupon_exhausted_payload(coupon_id: crate::ids::CouponId, code: &str, max_uses: u32) -> Value {
    json!({
        "id": coupon_id.to_string(),
        "code": code,
        "max_uses": max_uses,
        "confirmed_uses": max_uses,
    })
}

/// The refund fields an event carries.
pub fn refund_payload(r: &crate::refund::Refund) -> Value {
    json!({
        "id": r.id.to_string(),
        "payment_id": r.payment_id.to_string(),
        "amount": r.amount.to_major_string(),
        "currency": r.amount.currency().code(),
        "status": r.status.as_str(),
        "reason": r.reason,
        "provider_refund_id": r.provider_refund_id,
        "created_at": r.created_at,
        "processed_at": r.processed_at,
    })
}

/// The payout fields an event carries (the destination masked only).
pub fn payout_payload(p: &crate::payout::Payout) -> Value {
    json!({
        "id": p.id.to_string(),
        "instructor_id": p.instructor_id,
        "amount": p.amount.to_major_string(),
        "currency": p.amount.currency().code(),
        "method": p.method.as_str(),
        "status": p.status.as_str(),
        "destination_masked": p.destination_masked,
        "transaction_id": p.transaction_id,
        "failure_reason": p.failure_reason,
        "created_at": p.created_at,
        "paid_at": p.paid_at,
    })
}

/// The dispute fields an event carries.
pub fn dispute_payload(d: &crate::dispute::Dispute) -> Value {
    json!({
        "id": d.id.to_string(),
        "payment_id": d.payment_id.to_string(),
        "amount": d.amount.to_major_string(),
        "currency": d.amount.currency().code(),
        "reason": d.reason,
        "status": d.status.as_str(),
        "evidence_due_by": d.evidence_due_by,
        "created_at": d.created_at,
        "resolved_at": d.resolved_at,
    })
}

/// The payment fields an event carries (amounts as exact strings).
pub fn payment_payload(p: &Payment) -> Value {
    json!({
        "id": p.id.to_string(),
        "user_id": p.user_id,
        "course_id": (p.item.kind == crate::catalog::ItemKind::Course).then_some(p.item.id),
        "event_id": (p.item.kind == crate::catalog::ItemKind::Event).then_some(p.item.id),
        "instructor_id": p.instructor_id,
        "status": p.status.as_str(),
        "payment_method": p.method.as_str(),
        "original_amount": p.original_amount.to_major_string(),
        "discount_amount": p.discount_amount.to_major_string(),
        "amount": p.amount.to_major_string(),
        "platform_fee": p.platform_fee.to_major_string(),
        "instructor_earnings": p.instructor_earnings.to_major_string(),
        "currency": p.amount.currency().code(),
        "coupon_code": p.coupon.as_ref().map(|c| c.code.as_str().to_owned()),
        "created_at": p.created_at,
        "completed_at": p.completed_at,
    })
}
