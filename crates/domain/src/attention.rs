//! What a person must look at: money that moved in a way Skillpay handled
//! on its own but that an operator should know of (a payment paid after it
//! was given up, and what was done about it). Each item is written in the
//! transaction of the change it reports, so the change and its note commit
//! together, and stays open until an admin marks it resolved.

use chrono::{DateTime, Utc};

use crate::ids::{PaymentId, UserId};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum AttentionKind {
    /// A payment given up (failed, cancelled, expired) was paid after all
    /// and completed: the sale, the coupon use and the enrollment stand.
    PaidAfterGivingUp,
    /// A payment given up was paid after all but could not be delivered
    /// (item withdrawn, coupon used up meanwhile): refunded in full.
    PaidUndeliverableRefunded,
    /// A paid payment the gateway rates highest risk, or paid with a card
    /// on the block list: an admin decides whether to refund it.
    RiskyPayment,
}

impl AttentionKind {
    /// Every kind.
    pub const ALL: [AttentionKind; 3] = [Self::PaidAfterGivingUp, Self::PaidUndeliverableRefunded, Self::RiskyPayment];

    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// A new item for the "needs attention" list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttention {
    /// Its id.
    pub id: uuid::Uuid,
    /// What happened.
    pub kind: AttentionKind,
    /// The payment concerned.
    pub payment_id: PaymentId,
    /// What happened, for a person.
    pub detail: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// An item of the "needs attention" list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttentionItem {
    /// Its id.
    pub id: uuid::Uuid,
    /// What happened.
    pub kind: AttentionKind,
    /// The payment concerned.
    pub payment_id: PaymentId,
    /// What happened, for a person.
    pub detail: String,
    /// When it was noted.
    pub created_at: DateTime<Utc>,
    /// When an admin marked it resolved, if they did.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who did.
    pub resolved_by: Option<UserId>,
}
