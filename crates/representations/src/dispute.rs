//! A dispute.

use chrono::{DateTime, Utc};
use domain::dispute::Dispute;
use serde::Serialize;
use utoipa::ToSchema;

/// A dispute.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeView {
    /// Id (`dp_…`).
    pub id: String,
    /// The disputed payment.
    pub payment_id: String,
    /// Disputed amount.
    pub amount: String,
    /// Currency.
    pub currency: String,
    /// The gateway's reason code.
    pub reason: String,
    /// `needs_response`, `under_review`, `warning_needs_response`,
    /// `warning_under_review`, `warning_closed`, `won` or `lost`.
    pub status: String,
    /// When evidence is due.
    pub evidence_due_by: Option<DateTime<Utc>>,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Decided.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Its payment's mode: live money (`true`) or test money (`false`).
    pub livemode: bool,
}

impl From<&Dispute> for DisputeView {
    fn from(d: &Dispute) -> Self {
        DisputeView {
            id: d.id.to_string(),
            payment_id: d.payment_id.to_string(),
            amount: d.amount.to_major_string(),
            currency: d.amount.currency().code().to_owned(),
            reason: d.reason.clone(),
            status: d.status.as_str().to_owned(),
            evidence_due_by: d.evidence_due_by,
            created_at: d.created_at,
            resolved_at: d.resolved_at,
            livemode: d.livemode,
        }
    }
}
