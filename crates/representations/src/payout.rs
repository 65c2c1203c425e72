//! An instructor's payout.

use chrono::{DateTime, Utc};
use domain::payout::Payout;
use serde::Serialize;
use utoipa::ToSchema;

/// A payout.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutView {
    /// Id (`po_…`).
    pub id: String,
    /// Who is paid.
    pub instructor_id: i64,
    /// Amount.
    pub amount: String,
    /// Currency.
    pub currency: String,
    /// `stripe_connect`, `paypal` or `bank_transfer`.
    pub method: String,
    /// `requested`, `approved`, `processing`, `paid`, `failed`, `rejected` or `cancelled`.
    pub status: String,
    /// The destination, masked (last four characters).
    pub destination_masked: String,
    /// The gateway's transfer/batch id or the bank reference.
    pub transaction_id: Option<String>,
    /// Why it failed or was rejected.
    pub failure_reason: Option<String>,
    /// Asked at.
    pub created_at: DateTime<Utc>,
    /// Paid at.
    pub paid_at: Option<DateTime<Utc>>,
    /// The admin whose approval sent it (with two-admin approval, the second).
    pub approved_by: Option<i64>,
    /// Approved at.
    pub approved_at: Option<DateTime<Utc>>,
    /// The approving admin's note (shown to the instructor too).
    pub admin_note: Option<String>,
    /// `true` for live money, `false` for test money: the balance it was
    /// taken from and the rail that sends it.
    pub livemode: bool,
}

impl From<&Payout> for PayoutView {
    fn from(p: &Payout) -> Self {
        PayoutView {
            id: p.id.to_string(),
            instructor_id: p.instructor_id.get(),
            amount: p.amount.to_major_string(),
            currency: p.amount.currency().code().to_owned(),
            method: p.method.as_str().to_owned(),
            status: p.status.as_str().to_owned(),
            destination_masked: p.destination_masked.clone(),
            transaction_id: p.transaction_id.clone(),
            failure_reason: p.failure_reason.clone(),
            created_at: p.created_at,
            paid_at: p.paid_at,
            approved_by: p.approved_by.map(|by| by.get()),
            approved_at: p.approved_at,
            admin_note: p.admin_note.clone(),
            livemode: p.livemode,
        }
    }
}
