//! A second approval awaited.

use chrono::{DateTime, Utc};
use domain::approval::AwaitedApproval;
use serde::Serialize;
use utoipa::ToSchema;

/// An approval that waits for a second admin.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalView {
    /// The refund (`re_…`) or payout (`po_…`) id, or a live gateway
    /// change's fingerprint.
    pub object_id: String,
    /// `refund`, `payout` or `gateway_config`.
    pub kind: String,
    /// Its amount, for a money movement.
    pub amount: Option<String>,
    /// Currency of the amount.
    pub currency: Option<String>,
    /// Whether it is about live money (a live gateway change always is).
    pub livemode: bool,
    /// The admin who approved first.
    pub first_admin: i64,
    /// When.
    pub requested_at: DateTime<Utc>,
}

impl From<&AwaitedApproval> for ApprovalView {
    fn from(a: &AwaitedApproval) -> Self {
        ApprovalView {
            object_id: a.object_id.clone(),
            kind: a.kind.to_owned(),
            amount: a.amount.map(|m| m.to_major_string()),
            currency: a.amount.map(|m| m.currency().code().to_owned()),
            livemode: a.livemode,
            first_admin: a.first_admin.get(),
            requested_at: a.requested_at,
        }
    }
}
