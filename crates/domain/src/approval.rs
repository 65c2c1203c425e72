//! A second approval awaited: one admin approved a large money movement
//! (or a live gateway change) and another admin must approve it too.

use chrono::{DateTime, Utc};

use crate::ids::UserId;
use crate::money::Money;

/// What waits for a second admin, as its `approval.requested` event tells
/// the other admins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwaitedApproval {
    /// The refund's or payout's id, or a live gateway change's fingerprint.
    pub object_id: String,
    /// What it is: `refund`, `payout` or `gateway_config`.
    pub kind: &'static str,
    /// Its amount, for a money movement.
    pub amount: Option<Money>,
    /// Whether it is about live money.
    pub livemode: bool,
    /// Who approved first.
    pub first_admin: UserId,
    /// When.
    pub requested_at: DateTime<Utc>,
}

impl AwaitedApproval {
    /// The kind of the object an id names, by its prefix.
    pub fn kind_of(object_id: &str) -> &'static str {
        match object_id.split('_').next() {
            Some("re") => "refund",
            Some("po") => "payout",
            _ => "gateway_config",
        }
    }
}
