//! Stripe's wire shapes, and the one place amounts are converted.

use domain::money::Money;
use serde::Deserialize;

/// An amount as Stripe takes it: integer minor units and a lower-case
/// ISO code. Stripe's "zero-decimal" currencies (JPY, KRW, ...) are exactly
/// the currencies whose exponent is 0, so minor units are right for all.
pub fn amount(money: Money) -> (i64, String) {
    (money.minor(), money.currency().code().to_ascii_lowercase())
}

/// A PaymentIntent, the fields Skillpay reads.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    /// `pi_...`.
    pub id: String,
    /// Stripe's status.
    pub status: String,
    /// Secret for Stripe.js; handed to the paying client only.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Why the last attempt failed, if it did.
    #[serde(default)]
    pub last_payment_error: Option<ApiErrorBody>,
}

/// A Refund, the fields Skillpay reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    /// `re_...`.
    pub id: String,
    /// `pending`, `requires_action`, `succeeded`, `failed` or `canceled`.
    pub status: String,
    /// Why it failed, when it did.
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// Amount in minor units.
    #[serde(default)]
    pub amount: i64,
    /// Lower-case currency code.
    #[serde(default)]
    pub currency: String,
    /// The PaymentIntent refunded, when Stripe names it.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// The Charge refunded.
    #[serde(default)]
    pub charge: Option<String>,
    /// Our metadata: Skillpay's refund id on the refunds it makes.
    #[serde(default)]
    pub metadata: std::collections::HashMap<String, String>,
}

/// A PaymentIntent read with its latest charge's balance transaction
/// expanded, as far as the fee goes.
#[derive(Debug, Clone, Deserialize)]
pub struct IntentWithCharge {
    /// The latest charge (an id unless expanded; none before a charge).
    #[serde(default)]
    pub latest_charge: Option<Expandable<ChargeWithBalance>>,
}

/// A Charge with its balance transaction, when Stripe has made one.
#[derive(Debug, Clone, Deserialize)]
pub struct ChargeWithBalance {
    /// Lower-case currency code of the charge.
    pub currency: String,
    /// Its balance transaction (an id unless expanded; none until settled).
    #[serde(default)]
    pub balance_transaction: Option<Expandable<BalanceTransaction>>,
    /// Radar's verdict.
    #[serde(default)]
    pub outcome: Option<ChargeOutcome>,
    /// How it was paid (the card's fingerprint).
    #[serde(default)]
    pub payment_method_details: Option<PaymentMethodDetails>,
}

/// `charge.outcome`, as far as risk goes.
#[derive(Debug, Clone, Deserialize)]
pub struct ChargeOutcome {
    /// `normal`, `elevated`, `highest`, `not_assessed` or `unknown`.
    #[serde(default)]
    pub risk_level: Option<String>,
    /// 0 to 100.
    #[serde(default)]
    pub risk_score: Option<i64>,
}

/// `charge.payment_method_details`, or a PaymentMethod object, as far as
/// the card goes (both keep it under `card`).
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentMethodDetails {
    /// A card payment's details.
    #[serde(default)]
    pub card: Option<CardDetails>,
}

/// `payment_method_details.card`, the fingerprint only (never the number).
#[derive(Debug, Clone, Deserialize)]
pub struct CardDetails {
    /// The same card number gives the same fingerprint.
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// A Refund with its balance transaction, when Stripe has made one.
#[derive(Debug, Clone, Deserialize)]
pub struct RefundWithBalance {
    /// Lower-case currency code of the refund.
    pub currency: String,
    /// Its balance transaction (an id unless expanded; none until settled).
    #[serde(default)]
    pub balance_transaction: Option<Expandable<BalanceTransaction>>,
}

/// A BalanceTransaction, the fields Skillpay reads.
#[derive(Debug, Clone, Deserialize)]
pub struct BalanceTransaction {
    /// Stripe's fees, in minor units of `currency`.
    pub fee: i64,
    /// Lower-case currency code the transaction settled in.
    pub currency: String,
}

/// A field Stripe answers as an id, or as the object when expanded.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Expandable<T> {
    /// The object.
    Object(Box<T>),
    /// Only its id.
    Id(String),
}

impl<T> Expandable<T> {
    /// The object, if it was expanded.
    pub fn object(&self) -> Option<&T> {
        match self {
            Expandable::Object(object) => Some(object),
            Expandable::Id(_) => None,
        }
    }
}

/// A page of a Stripe list.
#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    /// The items.
    pub data: Vec<T>,
    /// Whether more follow the last one.
    #[serde(default)]
    pub has_more: bool,
}

/// A Charge, the fields Skillpay reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Charge {
    /// `ch_...`.
    pub id: String,
    /// Its PaymentIntent.
    #[serde(default)]
    pub payment_intent: Option<String>,
}

/// A Dispute, the fields Skillpay reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Dispute {
    /// Disputed amount in minor units.
    pub amount: i64,
    /// Lower-case currency code.
    pub currency: String,
    /// Reason code.
    #[serde(default)]
    pub reason: Option<String>,
    /// `warning_needs_response`, `needs_response`, `under_review`, `won`, ...
    pub status: String,
    /// The disputed PaymentIntent.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// When evidence is due.
    #[serde(default)]
    pub evidence_details: Option<EvidenceDetails>,
}

/// `evidence_details`.
#[derive(Debug, Clone, Deserialize)]
pub struct EvidenceDetails {
    /// Unix time evidence is due by.
    #[serde(default)]
    pub due_by: Option<i64>,
}

/// A Transfer to a connected account, the fields Skillpay reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Transfer {
    /// `tr_...`.
    pub id: String,
    /// True once the whole transfer was reversed.
    #[serde(default)]
    pub reversed: bool,
    /// Minor units reversed so far (a partial reversal leaves `reversed`
    /// false).
    #[serde(default)]
    pub amount_reversed: i64,
}

/// A BalanceTransaction as settlement reads it: one line of Stripe's books.
#[derive(Debug, Clone, Deserialize)]
pub struct SettlementTransaction {
    /// `txn_...`.
    pub id: String,
    /// Gross amount in minor units: positive into the balance, negative out.
    pub amount: i64,
    /// Stripe's fees for it, in minor units (negative: given back).
    pub fee: i64,
    /// `amount - fee`, in minor units.
    pub net: i64,
    /// Lower-case currency code.
    pub currency: String,
    /// `charge`, `refund`, `adjustment`, `stripe_fee`, `payout`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The object it books: an id, or the object when `data.source` is
    /// expanded; `null` for lines about no object (some fees).
    #[serde(default)]
    pub source: Option<Expandable<SourceObject>>,
    /// Unix time it was booked.
    pub created: i64,
}

/// The object a balance transaction books (charge, refund, dispute,
/// transfer reversal, payout, ...), the fields that tie it to a payment or
/// transfer.
#[derive(Debug, Clone, Deserialize)]
pub struct SourceObject {
    /// `ch_...`, `re_...`, `dp_...`, `trr_...`, ...
    pub id: String,
    /// The PaymentIntent of a charge, refund or dispute.
    #[serde(default)]
    pub payment_intent: Option<Expandable<Identified>>,
    /// The charge of a refund or dispute.
    #[serde(default)]
    pub charge: Option<Expandable<Identified>>,
    /// The transfer of a transfer reversal.
    #[serde(default)]
    pub transfer: Option<Expandable<Identified>>,
}

/// Any Stripe object, by its id.
#[derive(Debug, Clone, Deserialize)]
pub struct Identified {
    /// Its id.
    pub id: String,
}

impl Expandable<Identified> {
    /// The id, expanded or not.
    pub fn id(&self) -> &str {
        match self {
            Expandable::Object(object) => &object.id,
            Expandable::Id(id) => id,
        }
    }
}

impl Expandable<SourceObject> {
    /// The id, expanded or not.
    pub fn id(&self) -> &str {
        match self {
            Expandable::Object(object) => &object.id,
            Expandable::Id(id) => id,
        }
    }
}

/// A Payout to the platform's bank, the fields Skillpay reads.
#[derive(Debug, Clone, Deserialize)]
pub struct BankPayout {
    /// `po_...`.
    pub id: String,
    /// Minor units sent to the bank.
    pub amount: i64,
    /// Lower-case currency code.
    pub currency: String,
    /// `paid`, `pending`, `in_transit`, `canceled` or `failed`.
    pub status: String,
    /// Unix time it is expected at the bank.
    #[serde(default)]
    pub arrival_date: Option<i64>,
    /// Unix time it was created.
    pub created: i64,
    /// Why it failed, when it did.
    #[serde(default)]
    pub failure_code: Option<String>,
    /// True when Stripe's schedule made it (only those list their lines).
    #[serde(default = "automatic_by_default")]
    pub automatic: bool,
    /// `completed` once Stripe has tied every line to it; older API
    /// versions do not send it.
    #[serde(default)]
    pub reconciliation_status: Option<String>,
}

fn automatic_by_default() -> bool {
    true
}

/// The Balance: what is available and pending, per currency.
#[derive(Debug, Clone, Deserialize)]
pub struct Balance {
    /// Funds that can be paid out.
    #[serde(default)]
    pub available: Vec<BalanceAmount>,
    /// Funds not yet available.
    #[serde(default)]
    pub pending: Vec<BalanceAmount>,
}

/// One currency's amount of the Balance.
#[derive(Debug, Clone, Deserialize)]
pub struct BalanceAmount {
    /// Minor units (may be negative).
    pub amount: i64,
    /// Lower-case currency code.
    pub currency: String,
}

/// Stripe's error object.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiErrorBody {
    /// `card_error`, `invalid_request_error`, `api_error`, ...
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Machine code, e.g. `card_declined`.
    #[serde(default)]
    pub code: Option<String>,
    /// The card network's decline code, when declined.
    #[serde(default)]
    pub decline_code: Option<String>,
}

impl ApiErrorBody {
    /// A short, card-data-free description.
    pub fn summary(&self) -> String {
        let kind = self.kind.as_deref().unwrap_or("error");
        match (&self.code, &self.decline_code) {
            (Some(code), Some(decline)) => format!("{kind}: {code} ({decline})"),
            (Some(code), None) => format!("{kind}: {code}"),
            (None, _) => kind.to_owned(),
        }
    }
}

/// The envelope of an error answer.
#[derive(Debug, Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ApiErrorBody,
}

#[cfg(test)]
mod tests {
    use domain::money::Currency;

    use super::*;

    #[test]
    fn amounts_go_out_in_minor_units_with_lower_case_codes() {
        assert_eq!(amount(Money::from_minor(4_999, Currency::USD)), (4_999, "usd".to_owned()));
        assert_eq!(amount(Money::from_minor(500, Currency::JPY)), (500, "jpy".to_owned()));
        assert_eq!(amount(Money::from_minor(1_234, Currency::KWD)), (1_234, "kwd".to_owned()));
    }
}
