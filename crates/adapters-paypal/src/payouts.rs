//! [`PaypalPayouts`]: PayPal Payouts v1 behind the domain's
//! `PayoutGateway`, on the same [`PaypalClient`] (token, retries, timeouts)
//! as checkout.
//!
//! One payout is one batch with one `EMAIL` item. The payout id is the
//! `sender_batch_id` (PayPal refuses a second batch with it for 30 days),
//! the `sender_item_id` and the `PayPal-Request-Id`, so retries and repeated
//! sends cannot pay twice.
//!
//! Status mapping (the item's `transaction_status`, which is where the money
//! is; the batch status only while there is no item yet):
//! - `SUCCESS` → paid;
//! - `FAILED`, `RETURNED`, `REVERSED`, `BLOCKED`, `REFUNDED`, `DENIED` →
//!   failed, the reason being the status in lower case (never the email);
//! - `PENDING`, `ONHOLD`, `NEW` → pending; `UNCLAIMED` → pending too: the
//!   receiver has no PayPal account yet and PayPal holds the money for 30
//!   days, after which the item becomes `RETURNED` (failed);
//! - anything else → an `Unavailable` error: nothing changes on a guess.

use async_trait::async_trait;
use domain::payout::{Payout, PayoutDestination, PayoutMethod};
use domain::ports::{GatewayError, GatewayPayout, GatewayPayoutState, PayoutGateway};
use serde::{Deserialize, Serialize};

use crate::client::{Call, PaypalClient};
use crate::config::PaypalConfig;
use crate::error::{CallError, SetupError};

/// `POST` creates a batch, `GET /{id}` reads it.
const PAYOUTS_PATH: &str = "/v1/payments/payouts";
/// Payout batch ids are 13 to 30 characters (`payout_batch_id` maxLength).
const MAX_BATCH_ID_LEN: usize = 30;
/// How the receiver is named.
const RECIPIENT_EMAIL: &str = "EMAIL";
/// The subject of PayPal's email to the instructor.
pub const EMAIL_SUBJECT: &str = "You have a payout from Skillpay";

/// `create_payout_request`.
#[derive(Debug, Serialize)]
pub(crate) struct CreatePayoutRequest {
    pub sender_batch_header: SenderBatchHeader,
    pub items: Vec<PayoutItem>,
}

/// `sender_batch_header`.
#[derive(Debug, Serialize)]
pub(crate) struct SenderBatchHeader {
    pub sender_batch_id: String,
    pub email_subject: &'static str,
}

/// `payout_item`.
#[derive(Serialize)]
pub(crate) struct PayoutItem {
    pub recipient_type: &'static str,
    pub amount: PayoutAmount,
    pub receiver: String,
    pub sender_item_id: String,
}

impl std::fmt::Debug for PayoutItem {
    /// The receiver's email stays out of every log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayoutItem").field("amount", &self.amount).field("receiver", &"***").finish_non_exhaustive()
    }
}

/// Payouts' `currency`: unlike Orders' `money`, the code is `currency`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub(crate) struct PayoutAmount {
    pub value: String,
    pub currency: String,
}

impl PayoutAmount {
    /// The one conversion of payout money to PayPal's major-unit string.
    pub fn of(money: domain::money::Money) -> Self {
        Self { value: money.to_major_string(), currency: money.currency().code().to_owned() }
    }
}

/// `payout` (create answer) and `payout_batch` (read answer), as far as we
/// read them.
#[derive(Debug, Deserialize)]
struct BatchAnswer {
    batch_header: Option<BatchHeader>,
    #[serde(default)]
    items: Vec<BatchItem>,
}

#[derive(Debug, Deserialize)]
struct BatchHeader {
    payout_batch_id: Option<String>,
    batch_status: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BatchItem {
    transaction_status: Option<String>,
}

/// PayPal Payouts to instructors' PayPal accounts.
#[derive(Debug, Clone)]
pub struct PaypalPayouts {
    client: PaypalClient,
}

impl PaypalPayouts {
    /// Payouts using `client` (share the checkout gateway's, so both use one
    /// token; the REST app needs the Payouts feature enabled).
    pub fn new(client: PaypalClient) -> Self {
        Self { client }
    }

    /// Payouts with a client of their own.
    pub fn from_config(config: PaypalConfig) -> Result<Self, SetupError> {
        PaypalClient::new(config).map(Self::new)
    }
}

/// The create request for `payout` to `email`.
pub(crate) fn create_request(payout: &Payout, email: &str) -> CreatePayoutRequest {
    let payout_id = payout.id.to_string();
    CreatePayoutRequest {
        sender_batch_header: SenderBatchHeader { sender_batch_id: payout_id.clone(), email_subject: EMAIL_SUBJECT },
        items: vec![PayoutItem {
            recipient_type: RECIPIENT_EMAIL,
            amount: PayoutAmount::of(payout.amount),
            receiver: email.to_owned(),
            sender_item_id: payout_id,
        }],
    }
}

/// What an item's `transaction_status` means (see the module doc).
pub(crate) fn item_state(status: &str) -> Result<GatewayPayoutState, GatewayError> {
    match status {
        "SUCCESS" => Ok(GatewayPayoutState::Paid),
        "FAILED" | "RETURNED" | "REVERSED" | "BLOCKED" | "REFUNDED" | "DENIED" => {
            Ok(GatewayPayoutState::Failed { reason: status.to_ascii_lowercase() })
        }
        "PENDING" | "UNCLAIMED" | "ONHOLD" | "NEW" => Ok(GatewayPayoutState::Pending),
        _ => Err(GatewayError::Unavailable("PayPal payout item has an unrecognised status".to_owned())),
    }
}

/// What a batch's `batch_status` means while it shows no item.
pub(crate) fn batch_state(status: &str) -> Result<GatewayPayoutState, GatewayError> {
    match status {
        "SUCCESS" => Ok(GatewayPayoutState::Paid),
        "DENIED" | "CANCELED" => Ok(GatewayPayoutState::Failed { reason: status.to_ascii_lowercase() }),
        "PENDING" | "PROCESSING" => Ok(GatewayPayoutState::Pending),
        _ => Err(GatewayError::Unavailable("PayPal payout batch has an unrecognised status".to_owned())),
    }
}

/// The state of a batch answer: its first (only) item's, else its header's.
fn state_of(answer: &BatchAnswer) -> Result<GatewayPayoutState, GatewayError> {
    if let Some(status) = answer.items.first().and_then(|item| item.transaction_status.as_deref()) {
        return item_state(status);
    }
    let status = answer.batch_header.as_ref().and_then(|h| h.batch_status.as_deref());
    batch_state(status.ok_or(CallError::Unreadable("payout batch without status"))?)
}

/// A batch id that could be PayPal's (and cannot alter a path).
fn plausible_batch_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_BATCH_ID_LEN && id.chars().all(|c| c.is_ascii_alphanumeric())
}

#[async_trait]
impl PayoutGateway for PaypalPayouts {
    fn method(&self) -> PayoutMethod {
        PayoutMethod::Paypal
    }

    /// `POST /v1/payments/payouts`; the answer is usually `PENDING` (PayPal
    /// settles batches later; a webhook or `payout_status` follows it).
    async fn send(&self, payout: &Payout, destination: &PayoutDestination) -> Result<GatewayPayout, GatewayError> {
        let PayoutDestination::Paypal { email } = destination else {
            return Err(GatewayError::InvalidRequest("a PayPal payout needs a PayPal email".to_owned()));
        };
        if payout.amount.is_negative() || payout.amount.is_zero() {
            return Err(GatewayError::InvalidRequest("a PayPal payout needs a positive amount".to_owned()));
        }
        let call =
            Call::post_json(PAYOUTS_PATH.to_owned(), &create_request(payout, email))?.request_id(payout.id.to_string());
        let answer: BatchAnswer = self.client.send(&call).await?.success()?.json("payout batch")?;
        let batch_id = answer
            .batch_header
            .as_ref()
            .and_then(|h| h.payout_batch_id.clone())
            .filter(|id| plausible_batch_id(id))
            .ok_or(CallError::Unreadable("payout batch id"))?;
        Ok(GatewayPayout { provider_payout_id: batch_id, state: state_of(&answer)? })
    }

    /// `GET /v1/payments/payouts/{batch_id}`.
    async fn payout_status(&self, provider_payout_id: &str) -> Result<GatewayPayoutState, GatewayError> {
        if !plausible_batch_id(provider_payout_id) {
            return Err(GatewayError::UnknownPayment);
        }
        let call = Call::get(format!("{PAYOUTS_PATH}/{provider_payout_id}"));
        let answer: BatchAnswer = self.client.send(&call).await?.success()?.json("payout batch")?;
        state_of(&answer)
    }
}

#[cfg(test)]
mod tests {
    use domain::money::{Currency, Money};

    use super::*;

    #[test]
    fn item_statuses_fall_into_three_classes() {
        assert_eq!(item_state("SUCCESS"), Ok(GatewayPayoutState::Paid));
        for status in ["FAILED", "RETURNED", "REVERSED", "BLOCKED", "REFUNDED", "DENIED"] {
            let reason = status.to_ascii_lowercase();
            assert_eq!(item_state(status), Ok(GatewayPayoutState::Failed { reason }), "{status}");
        }
        for status in ["PENDING", "UNCLAIMED", "ONHOLD", "NEW"] {
            assert_eq!(item_state(status), Ok(GatewayPayoutState::Pending), "{status}");
        }
        assert!(matches!(item_state("SOMETHING_NEW"), Err(GatewayError::Unavailable(_))));
    }

    #[test]
    fn batch_statuses_decide_only_without_items() {
        assert_eq!(batch_state("SUCCESS"), Ok(GatewayPayoutState::Paid));
        assert_eq!(batch_state("PROCESSING"), Ok(GatewayPayoutState::Pending));
        assert_eq!(batch_state("DENIED"), Ok(GatewayPayoutState::Failed { reason: "denied".into() }));
        let answer: BatchAnswer = serde_json::from_str(
            r#"{"batch_header":{"payout_batch_id":"FYXMPQTX4JC9N","batch_status":"SUCCESS"},
                "items":[{"transaction_status":"RETURNED"}]}"#,
        )
        .unwrap();
        assert_eq!(state_of(&answer), Ok(GatewayPayoutState::Failed { reason: "returned".into() }));
    }

    #[test]
    fn amounts_use_each_currency_s_minor_digits() {
        let of = |minor, currency| PayoutAmount::of(Money::from_minor(minor, currency));
        assert_eq!(of(987, Currency::USD), PayoutAmount { value: "9.87".into(), currency: "USD".into() });
        assert_eq!(of(500, Currency::JPY).value, "500");
        assert_eq!(of(1_234, Currency::KWD).value, "1.234");
    }

    #[test]
    fn debug_output_hides_the_receiver() {
        let item = PayoutItem {
            recipient_type: RECIPIENT_EMAIL,
            amount: PayoutAmount { value: "1.00".into(), currency: "USD".into() },
            receiver: "teacher@example.com".into(),
            sender_item_id: "po_1".into(),
        };
        assert!(!format!("{item:?}").contains("teacher"));
    }
}
