//! A payment.

use chrono::{DateTime, Utc};
use domain::catalog::ItemKind;
use domain::payment::Payment;
use serde::Serialize;
use utoipa::ToSchema;

/// A payment.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    /// Id (`pay_…`).
    pub id: String,
    /// Payer.
    pub user_id: i64,
    /// Course bought, if a course.
    pub course_id: Option<i64>,
    /// Event bought, if an event.
    pub event_id: Option<i64>,
    /// Tickets bought (1 for a course).
    pub quantity: u32,
    /// Instructor earning from it.
    pub instructor_id: i64,
    /// `pending`, `processing`, `completed`, `failed`, `cancelled`, `expired`,
    /// `partially_refunded`, `refunded` or `disputed`.
    pub status: String,
    /// Payment method.
    pub payment_method: String,
    /// The gateway's id.
    pub provider_payment_id: Option<String>,
    /// Catalog price.
    pub original_amount: String,
    /// Coupon discount.
    pub discount_amount: String,
    /// Amount paid.
    pub amount: String,
    /// ISO-4217 currency.
    pub currency: String,
    /// Platform fee.
    pub platform_fee: String,
    /// Instructor's share.
    pub instructor_earnings: String,
    /// Refunded so far.
    pub refunded_amount: String,
    /// Live money (`true`) or test money (`false`: the sandbox, Stripe
    /// test keys, PayPal's sandbox).
    pub livemode: bool,
    /// What the gateway kept as its processing fee, once it has reported
    /// it (`null` until then, and for the sandbox and free payments).
    pub gateway_fee: Option<String>,
    /// Coupon used.
    pub coupon_code: Option<String>,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// The gateway's risk verdict on its charge, recorded with its fee:
    /// admins' and events' form only, absent for the payer and the
    /// instructor, and absent until the gateway reported one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskView>,
}

/// A gateway's risk verdict on a charge.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskView {
    /// Stripe's `outcome.risk_level`: `normal`, `elevated`, `highest`.
    pub level: Option<String>,
    /// Stripe's `outcome.risk_score`, 0 to 100.
    pub score: Option<i64>,
    /// The card's fingerprint at the gateway (never its number).
    pub card_fingerprint: Option<String>,
    /// PayPal's `seller_protection.status`.
    pub seller_protection: Option<String>,
}

impl PaymentView {
    /// The view `actor` may see: only admins see the gateway's risk verdict.
    pub fn seen_by(p: &Payment, actor: domain::usecases::Actor) -> Self {
        let view = PaymentView::from(p);
        if actor.is_admin() { view } else { PaymentView { risk: None, ..view } }
    }
}

impl From<&Payment> for PaymentView {
    fn from(p: &Payment) -> Self {
        PaymentView {
            id: p.id.to_string(),
            user_id: p.user_id.get(),
            course_id: (p.item.kind == ItemKind::Course).then_some(p.item.id),
            event_id: (p.item.kind == ItemKind::Event).then_some(p.item.id),
            quantity: p.quantity,
            instructor_id: p.instructor_id.get(),
            status: p.status.as_str().to_owned(),
            payment_method: p.method.as_str().to_owned(),
            provider_payment_id: p.provider_payment_id.clone(),
            original_amount: p.original_amount.to_major_string(),
            discount_amount: p.discount_amount.to_major_string(),
            amount: p.amount.to_major_string(),
            currency: p.amount.currency().code().to_owned(),
            platform_fee: p.platform_fee.to_major_string(),
            instructor_earnings: p.instructor_earnings.to_major_string(),
            refunded_amount: p.refunded_amount.to_major_string(),
            livemode: p.livemode,
            gateway_fee: p.gateway_fee.map(|fee| fee.to_major_string()),
            coupon_code: p.coupon.as_ref().map(|c| c.code.as_str().to_owned()),
            failure_reason: p.failure_reason.clone(),
            created_at: p.created_at,
            completed_at: p.completed_at,
            risk: (p.risk != domain::fraud::RiskVerdict::default()).then(|| RiskView {
                level: p.risk.level.clone(),
                score: p.risk.score,
                card_fingerprint: p.risk.card_fingerprint.clone(),
                seller_protection: p.risk.seller_protection.clone(),
            }),
        }
    }
}
