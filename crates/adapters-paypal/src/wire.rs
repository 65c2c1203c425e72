//! PayPal's JSON shapes, as far as we send or read them (names follow the
//! schemas in `checkout_orders_v2.json` and `notifications_webhooks_v1.json`).
//!
//! Wire amount format: PayPal takes money as `{currency_code, value}` where
//! `value` is a major-unit decimal string with exactly the currency's minor
//! digits ("49.99" USD, "500" JPY, "1.234" KWD). [`Amount::of`] is the one
//! place Skillpay money becomes a PayPal amount.

use domain::money::Money;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// `checkout_payment_intent`: take the money as soon as the buyer approves.
pub(crate) const INTENT_CAPTURE: &str = "CAPTURE";
/// `user_action`: the buyer's button says "Pay Now", since we capture on
/// return without a review page of our own.
const USER_ACTION_PAY_NOW: &str = "PAY_NOW";
/// `shipping_preference`: courses and events ship nothing.
const SHIPPING_NONE: &str = "NO_SHIPPING";

/// `order_request`.
#[derive(Debug, Serialize)]
pub(crate) struct OrderRequest {
    pub intent: &'static str,
    pub purchase_units: Vec<PurchaseUnitRequest>,
    pub payment_source: PaymentSource,
}

/// `purchase_unit_request`.
#[derive(Debug, Serialize)]
pub(crate) struct PurchaseUnitRequest {
    /// Our payment id: shown in PayPal's reports and echoed on captures, so
    /// a capture can be traced back without our database.
    pub custom_id: String,
    /// Our payment id again: PayPal refuses a second capture with the same
    /// invoice id (when the account blocks duplicates), a last guard
    /// against paying twice.
    pub invoice_id: String,
    pub amount: Amount,
}

/// `money` (the `amount_with_breakdown` we send has no breakdown).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Amount {
    pub currency_code: String,
    pub value: String,
}

impl Amount {
    /// The only conversion of Skillpay money to PayPal's wire format.
    pub fn of(money: Money) -> Self {
        Self { currency_code: money.currency().code().to_owned(), value: money.to_major_string() }
    }

    /// The only conversion of a PayPal amount to Skillpay money; `None`
    /// for a currency Skillpay does not take or a malformed value.
    pub fn to_money(&self) -> Option<Money> {
        let currency = domain::money::Currency::from_code(&self.currency_code).ok()?;
        Money::parse_major(&self.value, currency).ok()
    }

    /// A signed PayPal amount (reporting's `money`, whose pattern allows a
    /// leading `-` and a bare fraction such as `-.50`) as Skillpay money,
    /// exactly: a value with more digits than the currency has is refused,
    /// never rounded.
    pub fn to_signed_money(&self) -> Result<Money, domain::money::MoneyError> {
        let currency = domain::money::Currency::from_code(&self.currency_code)?;
        let (negative, magnitude) = match self.value.strip_prefix('-') {
            Some(magnitude) => (true, magnitude),
            None => (false, self.value.as_str()),
        };
        let magnitude = if magnitude.starts_with('.') { format!("0{magnitude}") } else { magnitude.to_owned() };
        let money = Money::parse_major(&magnitude, currency)?;
        if negative { Ok(Money::from_minor(-money.minor(), currency)) } else { Ok(money) }
    }
}

/// `payment_source` with only `paypal`.
#[derive(Debug, Serialize)]
pub(crate) struct PaymentSource {
    pub paypal: PaypalWallet,
}

/// `paypal_wallet` with only its experience context.
#[derive(Debug, Serialize)]
pub(crate) struct PaypalWallet {
    pub experience_context: ExperienceContext,
}

/// `paypal_wallet_experience_context`: the non-deprecated home of the
/// return and cancel URLs (`application_context`'s fields are deprecated).
#[derive(Debug, Serialize)]
pub(crate) struct ExperienceContext {
    pub return_url: String,
    pub cancel_url: String,
    pub user_action: &'static str,
    pub shipping_preference: &'static str,
}

impl ExperienceContext {
    /// Our experience: pay now, no shipping.
    pub fn new(return_url: String, cancel_url: String) -> Self {
        Self { return_url, cancel_url, user_action: USER_ACTION_PAY_NOW, shipping_preference: SHIPPING_NONE }
    }
}

/// `order`, as far as we read it.
#[derive(Debug, Deserialize)]
pub(crate) struct Order {
    pub id: String,
    pub status: Option<OrderStatus>,
    #[serde(default)]
    pub purchase_units: Vec<PurchaseUnit>,
    #[serde(default)]
    pub links: Vec<Link>,
}

impl Order {
    /// Every capture of every purchase unit.
    pub fn captures(&self) -> impl Iterator<Item = &Capture> {
        self.purchase_units.iter().filter_map(|unit| unit.payments.as_ref()).flat_map(|p| p.captures.iter())
    }

    /// Where to send the buyer: `payer-action` (orders with a PayPal payment
    /// source) or `approve` (orders without one).
    pub fn approval_url(&self) -> Option<&str> {
        ["payer-action", "approve"]
            .iter()
            .find_map(|rel| self.links.iter().find(|link| link.rel == *rel))
            .map(|link| link.href.as_str())
    }
}

/// `order_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum OrderStatus {
    Created,
    Saved,
    Approved,
    Voided,
    Completed,
    PayerActionRequired,
    /// A status newer than our copy of the spec.
    #[serde(other)]
    Unrecognised,
}

/// `purchase_unit`, as far as we read it.
#[derive(Debug, Deserialize)]
pub(crate) struct PurchaseUnit {
    pub payments: Option<PaymentCollection>,
}

/// `payment_collection`, as far as we read it.
#[derive(Debug, Deserialize)]
pub(crate) struct PaymentCollection {
    #[serde(default)]
    pub captures: Vec<Capture>,
    #[serde(default)]
    pub refunds: Vec<RefundRead>,
}

/// `refund`, as far as we read it (in an order, or on its own).
#[derive(Debug, Deserialize)]
pub(crate) struct RefundRead {
    pub id: String,
    pub status: Option<String>,
    pub status_details: Option<CaptureStatusDetails>,
    pub amount: Option<Amount>,
    /// Skillpay's refund id on the refunds it makes.
    pub custom_id: Option<String>,
    #[serde(default)]
    pub links: Vec<Link>,
    /// What the refund debits the payee, once PayPal says.
    #[serde(default)]
    pub seller_payable_breakdown: Option<SellerPayableBreakdown>,
}

/// A refund's `seller_payable_breakdown`, as far as we read it.
#[derive(Debug, Deserialize)]
pub(crate) struct SellerPayableBreakdown {
    /// The part of its fee PayPal gave back with the refund (the payee is
    /// debited the refund less this), in the refund's currency.
    pub paypal_fee: Option<Amount>,
}

/// `capture`, as far as we read it.
#[derive(Debug, Deserialize)]
pub(crate) struct Capture {
    /// The capture's id (refunds are made against it).
    #[serde(default)]
    pub id: Option<String>,
    pub status: Option<CaptureStatus>,
    pub status_details: Option<CaptureStatusDetails>,
    /// What PayPal kept and what the seller receives, once PayPal says.
    #[serde(default)]
    pub seller_receivable_breakdown: Option<SellerReceivableBreakdown>,
    /// Whether PayPal's seller protection covers the capture.
    #[serde(default)]
    pub seller_protection: Option<SellerProtection>,
}

/// `seller_protection`, its status only.
#[derive(Debug, Deserialize)]
pub(crate) struct SellerProtection {
    /// `ELIGIBLE`, `PARTIALLY_ELIGIBLE` or `NOT_ELIGIBLE`.
    #[serde(default)]
    pub status: Option<String>,
}

/// `seller_receivable_breakdown`, as far as we read it.
#[derive(Debug, Deserialize)]
pub(crate) struct SellerReceivableBreakdown {
    /// PayPal's fee, in the capture's currency.
    pub paypal_fee: Option<Amount>,
}

/// `capture_status.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum CaptureStatus {
    Completed,
    Declined,
    PartiallyRefunded,
    Pending,
    Refunded,
    Failed,
    /// A status newer than our copy of the spec.
    #[serde(other)]
    Unrecognised,
}

/// `capture_status_details`.
#[derive(Debug, Deserialize)]
pub(crate) struct CaptureStatusDetails {
    pub reason: Option<String>,
}

/// `link_description`.
#[derive(Debug, Deserialize)]
pub(crate) struct Link {
    pub href: String,
    pub rel: String,
}

/// The answer of `POST /v1/oauth2/token`.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    /// Seconds the token stays valid.
    pub expires_in: u64,
}

/// `verify_webhook_signature`.
#[derive(Debug, Serialize)]
pub(crate) struct VerifyRequest<'a> {
    pub auth_algo: &'a str,
    pub cert_url: &'a str,
    pub transmission_id: &'a str,
    pub transmission_sig: &'a str,
    pub transmission_time: &'a str,
    pub webhook_id: &'a str,
    /// The event exactly as received (see `webhook.rs` for why raw).
    pub webhook_event: &'a RawValue,
}

/// `verify_webhook_signature_response`.
#[derive(Debug, Deserialize)]
pub(crate) struct VerifyResponse {
    pub verification_status: String,
}

#[cfg(test)]
mod tests {
    use domain::money::{Currency, Money};

    use super::*;

    #[test]
    fn amounts_use_each_currency_s_minor_digits() {
        let amount = |minor, currency| Amount::of(Money::from_minor(minor, currency));
        assert_eq!(amount(4999, Currency::USD), Amount { currency_code: "USD".into(), value: "49.99".into() });
        assert_eq!(amount(500, Currency::JPY).value, "500");
        assert_eq!(amount(1234, Currency::KWD).value, "1.234");
        assert_eq!(amount(5, Currency::EUR).value, "0.05");
    }

    #[test]
    fn signed_reporting_amounts_are_read_exactly() {
        let read = |currency: &str, value: &str| {
            Amount { currency_code: currency.into(), value: value.into() }.to_signed_money()
        };
        assert_eq!(read("USD", "465.00"), Ok(Money::from_minor(46_500, Currency::USD)));
        assert_eq!(read("USD", "-13.79"), Ok(Money::from_minor(-1_379, Currency::USD)));
        assert_eq!(read("USD", "-.50"), Ok(Money::from_minor(-50, Currency::USD)));
        assert_eq!(read("JPY", "-500"), Ok(Money::from_minor(-500, Currency::JPY)));
        assert_eq!(read("KWD", "1.234"), Ok(Money::from_minor(1_234, Currency::KWD)));
        assert_eq!(read("USD", "0.105"), Err(domain::money::MoneyError::TooPrecise { allowed: 2 }), "never rounded");
        assert_eq!(read("USD", "--1.00"), Err(domain::money::MoneyError::Malformed));
        assert_eq!(read("USD", "1e3"), Err(domain::money::MoneyError::Malformed));
        assert_eq!(read("XOF", "1.00"), Err(domain::money::MoneyError::UnknownCurrency));
    }

    #[test]
    fn unknown_statuses_do_not_break_reading_an_order() {
        let order: Order = serde_json::from_str(r#"{"id":"1","status":"SOMETHING_NEW","links":[]}"#).unwrap();
        assert_eq!(order.status, Some(OrderStatus::Unrecognised));
    }

    #[test]
    fn payer_action_is_preferred_over_approve() {
        let order: Order = serde_json::from_str(
            r#"{"id":"1","links":[{"href":"https://a","rel":"approve"},{"href":"https://p","rel":"payer-action"}]}"#,
        )
        .unwrap();
        assert_eq!(order.approval_url(), Some("https://p"));
    }
}
