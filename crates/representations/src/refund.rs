//! A refund.

use chrono::{DateTime, Utc};
use domain::refund::Refund;
use serde::Serialize;
use utoipa::ToSchema;

/// A refund.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    /// Id (`re_…`).
    pub id: String,
    /// The payment refunded.
    pub payment_id: String,
    /// Amount going back.
    pub amount: String,
    /// Currency.
    pub currency: String,
    /// `requested`, `approved`, `processing`, `processed`, `rejected` or `failed`.
    pub status: String,
    /// `request` (asked for through the API or the console), `gateway`
    /// (made at the gateway, recorded from its report) or `recovery` (money
    /// that arrived for a payment Skillpay could no longer deliver, sent
    /// back in full) or `review` (a payment held by the fraud controls,
    /// refunded in full by an admin or after the review deadline).
    pub origin: String,
    /// Its payment's mode: live money (`true`) or test money (`false`).
    pub livemode: bool,
    /// Why it was asked for.
    pub reason: String,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// The gateway's id.
    pub provider_refund_id: Option<String>,
    /// Asked at.
    pub created_at: DateTime<Utc>,
    /// Money went back at.
    pub processed_at: Option<DateTime<Utc>>,
    /// The admin whose approval sent it (with two-admin approval, the second).
    pub approved_by: Option<i64>,
    /// Approved at.
    pub approved_at: Option<DateTime<Utc>>,
    /// The approving admin's note (shown to whoever may see the refund).
    pub admin_note: Option<String>,
    /// What the gateway gave back of its processing fee with this refund
    /// (PayPal returns part of it; Stripe keeps it: `0.00`), once read;
    /// `null` before. Negative: a fee charged for the refund.
    pub gateway_fee_returned: Option<String>,
    /// For a request: its payer's refunds and paid payments over the 90
    /// days before it. Admins' and events' form only: absent for the payer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payer_history: Option<PayerHistoryView>,
    /// A refunds rule of the fraud controls fired on the request, so it
    /// takes two admins whatever its amount. Admins' and events' form
    /// only: absent for the payer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs_two_admins: Option<bool>,
}

/// A payer's refunds over the 90 days before their request.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayerHistoryView {
    /// Refunds they asked for (not rejected or failed), before this one.
    pub refunds_90d: u32,
    /// Their payments paid.
    pub paid_90d: u32,
    /// Refunds per paid payment, in whole percent.
    pub refund_rate_percent: u32,
}

impl RefundView {
    /// The view `actor` may see: the payer is not shown how the fraud
    /// controls screened them.
    pub fn seen_by(r: &Refund, actor: domain::usecases::Actor) -> Self {
        let view = RefundView::from(r);
        if actor.is_admin() { view } else { RefundView { payer_history: None, needs_two_admins: None, ..view } }
    }
}

impl From<&Refund> for RefundView {
    fn from(r: &Refund) -> Self {
        RefundView {
            id: r.id.to_string(),
            payment_id: r.payment_id.to_string(),
            amount: r.amount.to_major_string(),
            currency: r.amount.currency().code().to_owned(),
            status: r.status.as_str().to_owned(),
            origin: r.origin.as_str().to_owned(),
            livemode: r.livemode,
            reason: r.reason.clone(),
            rejection_reason: r.rejection_reason.clone(),
            provider_refund_id: r.provider_refund_id.clone(),
            created_at: r.created_at,
            processed_at: r.processed_at,
            approved_by: r.approved_by.map(|by| by.get()),
            approved_at: r.approved_at,
            admin_note: r.admin_note.clone(),
            gateway_fee_returned: r.gateway_fee_returned.map(|fee| fee.to_major_string()),
            payer_history: r.payer_history.map(|h| PayerHistoryView {
                refunds_90d: h.refunds,
                paid_90d: h.paid,
                refund_rate_percent: h.rate_percent(),
            }),
            needs_two_admins: Some(r.needs_two_admins),
        }
    }
}
