//! A difference between a gateway's books and the ledger.

use chrono::{DateTime, Utc};
use domain::reconciliation::Discrepancy;
use serde::Serialize;
use utoipa::ToSchema;

/// A difference between a gateway's books and the ledger, found by
/// settlement reconciliation (docs/reconciliation.md).
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscrepancyView {
    /// Id (`sdis_…`).
    pub id: String,
    /// `stripe` or `paypal`.
    pub gateway: String,
    /// Live money (`true`) or test money (`false`).
    pub livemode: bool,
    /// The run that last found it (`srun_…`).
    pub run_id: String,
    /// `sale`, `refund`, `dispute` or `transfer`; absent for a gateway
    /// line nothing in Skillpay explains.
    pub object_kind: Option<String>,
    /// The gateway's id of the object (a PaymentIntent, a PayPal order, a
    /// refund, a dispute, a transfer), or of the line.
    pub object_id: String,
    /// `amount_differs`, `fee_differs`, `missing_in_ledger`,
    /// `missing_at_gateway` or `unexpected_type`.
    pub result: String,
    /// Currency of every figure.
    pub currency: String,
    /// What the gateway's lines moved (money into its balance positive).
    pub gateway_amount: String,
    /// The fee the gateway kept.
    pub gateway_fee: String,
    /// What the ledger booked.
    pub ledger_amount: String,
    /// The fee the ledger booked.
    pub ledger_fee: String,
    /// The gateway's net less the ledger's.
    pub difference: String,
    /// `open`, `adjusted`, `explained` or `cleared`.
    pub status: String,
    /// Why it was resolved so.
    pub reason: Option<String>,
    /// The admin who resolved it.
    pub resolved_by: Option<i64>,
    /// When.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The adjusting journal (`jnl_…`), once adjusted.
    pub journal_id: Option<String>,
    /// First found.
    pub opened_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&Discrepancy> for DiscrepancyView {
    fn from(d: &Discrepancy) -> Self {
        DiscrepancyView {
            id: d.id.to_string(),
            gateway: d.gateway.as_str().to_owned(),
            livemode: d.livemode,
            run_id: d.run_id.to_string(),
            object_kind: d.object_kind.map(|k| k.as_str().to_owned()),
            object_id: d.object_id.clone(),
            result: d.result.as_str().to_owned(),
            currency: d.gateway_figures.amount.currency().code().to_owned(),
            gateway_amount: d.gateway_figures.amount.to_major_string(),
            gateway_fee: d.gateway_figures.fee.to_major_string(),
            ledger_amount: d.ledger_figures.amount.to_major_string(),
            ledger_fee: d.ledger_figures.fee.to_major_string(),
            difference: d.difference().map(|m| m.to_major_string()).unwrap_or_default(),
            status: d.status.as_str().to_owned(),
            reason: d.reason.clone(),
            resolved_by: d.resolved_by.map(|u| u.get()),
            resolved_at: d.resolved_at,
            journal_id: d.journal_id.map(|j| j.to_string()),
            opened_at: d.opened_at,
            updated_at: d.updated_at,
        }
    }
}
