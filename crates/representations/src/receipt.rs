//! A receipt or a credit note.

use chrono::{DateTime, Utc};
use domain::receipt::{DocumentKind, Receipt};
use serde::Serialize;
use utoipa::ToSchema;

/// Who a receipt is for.
#[derive(Debug, Serialize, ToSchema)]
pub struct BuyerView {
    /// The payer's user id.
    pub user_id: i64,
    /// The billing name, when given.
    pub name: Option<String>,
    /// The billing e-mail, when given.
    pub email: Option<String>,
}

/// What was bought.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemView {
    /// `course` or `event`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The platform's id of the course or event.
    pub id: i64,
    /// Its title in the catalog (`null` when the catalog lacks it).
    pub title: Option<String>,
}

/// A credit note as its receipt lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditNoteLineView {
    /// Its number (`CN-2026-000007`).
    pub number: String,
    /// What it credits.
    pub amount: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
}

/// A receipt (for a completed payment) or a credit note (for a processed
/// refund of it). See docs/receipts.md.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptView {
    /// Id (`rcpt_…`).
    pub id: String,
    /// `receipt` or `credit_note`.
    pub kind: String,
    /// Its number, gapless in its series (`SK-2026-000123`,
    /// `SK-TEST-2026-000001`, `CN-2026-000007`).
    pub number: String,
    /// When it was numbered.
    pub issued_at: DateTime<Utc>,
    /// Live money (`true`) or test money (`false`).
    pub livemode: bool,
    /// The payment.
    pub payment_id: String,
    /// The buyer.
    pub buyer: BuyerView,
    /// What was bought.
    pub item: ItemView,
    /// The catalog price.
    pub list_price: String,
    /// The coupon's discount.
    pub discount: String,
    /// The coupon used.
    pub coupon_code: Option<String>,
    /// What the buyer paid.
    pub amount_paid: String,
    /// ISO-4217 currency of every amount.
    pub currency: String,
    /// How it was paid.
    pub payment_method: String,
    /// When it was paid.
    pub paid_at: Option<DateTime<Utc>>,
    /// Refunded so far.
    pub refunded_amount: String,
    /// A receipt's credit notes so far, oldest first (empty for a credit
    /// note).
    pub credit_notes: Vec<CreditNoteLineView>,
    /// A credit note's refund.
    pub refund_id: Option<String>,
    /// What a credit note credits.
    pub credited_amount: Option<String>,
    /// Why the refund was made (a credit note's).
    pub credit_reason: Option<String>,
    /// The number of the receipt a credit note refers to.
    pub receipt_number: Option<String>,
}

impl From<&Receipt> for ReceiptView {
    fn from(r: &Receipt) -> Self {
        let p = &r.payment;
        ReceiptView {
            id: r.id.to_string(),
            kind: r.kind.as_str().to_owned(),
            number: r.number.clone(),
            issued_at: r.issued_at,
            livemode: p.livemode,
            payment_id: p.id.to_string(),
            buyer: BuyerView { user_id: p.user_id.get(), name: p.billing.name.clone(), email: p.billing.email.clone() },
            item: ItemView { kind: p.item.kind.as_str().to_owned(), id: p.item.id, title: r.item_title.clone() },
            list_price: p.original_amount.to_major_string(),
            discount: p.discount_amount.to_major_string(),
            coupon_code: p.coupon.as_ref().map(|c| c.code.as_str().to_owned()),
            amount_paid: p.amount.to_major_string(),
            currency: p.amount.currency().code().to_owned(),
            payment_method: p.method.as_str().to_owned(),
            paid_at: p.completed_at,
            refunded_amount: p.refunded_amount.to_major_string(),
            credit_notes: r
                .credit_notes
                .iter()
                .map(|c| CreditNoteLineView {
                    number: c.number.clone(),
                    amount: c.amount.to_major_string(),
                    issued_at: c.issued_at,
                })
                .collect(),
            refund_id: r.refund.as_ref().map(|f| f.id.to_string()),
            credited_amount: r
                .refund
                .as_ref()
                .filter(|_| r.kind == DocumentKind::CreditNote)
                .map(|f| f.amount.to_major_string()),
            credit_reason: r.refund.as_ref().map(|f| f.reason.clone()),
            receipt_number: r.receipt_number.clone(),
        }
    }
}
