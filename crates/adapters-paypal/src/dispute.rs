//! PayPal disputes (Disputes v1) as the domain's `GatewayDispute`.
//!
//! PayPal names the disputed *capture* (`disputed_transactions[].
//! seller_transaction_id`), while Skillpay knows a PayPal payment by its
//! *order*: the capture is read (`GET /v2/payments/captures/{id}`) for its
//! `supplementary_data.related_ids.order_id`, which becomes
//! `provider_payment_id`.
//!
//! Status mapping, one exhaustive `match` per enum:
//! - `OPEN`, `WAITING_FOR_SELLER_RESPONSE` → needs response;
//! - `WAITING_FOR_BUYER_RESPONSE`, `UNDER_REVIEW`, `OTHER` → under review
//!   (PayPal holds the money and the next move is not ours);
//! - `RESOLVED` by `dispute_outcome.outcome_code`: `RESOLVED_SELLER_FAVOUR`,
//!   `CANCELED_BY_BUYER` (the buyer withdrew), `DENIED` (the claim was
//!   denied) and `RESOLVED_WITH_PAYOUT` (PayPal paid the buyer from its own
//!   funds under seller protection; the seller keeps the money) → won;
//!   `RESOLVED_BUYER_FAVOUR` and `ACCEPTED` (we accepted the claim) → lost;
//!   `NONE`, a missing or an unknown outcome → an `Unavailable` error: a
//!   guess either way would release or take held money, so nothing changes
//!   until PayPal says more (the webhook is retried, operators see it).

use chrono::{DateTime, Utc};
use domain::dispute::DisputeStatus;
use domain::money::{Currency, Money};
use domain::ports::{DisputeEvidence, GatewayDispute, GatewayError};
use serde::{Deserialize, Serialize};

use crate::client::{Call, PaypalClient};
use crate::error::CallError;

/// `GET /{id}` reads a dispute; actions are `POST /{id}/{action}`.
const DISPUTES_PATH: &str = "/v1/customer/disputes";
/// The spec's pattern allows 255 characters; PayPal's ids (`PP-D-27803`)
/// are far shorter.
const MAX_DISPUTE_ID_LEN: usize = 255;
/// PayPal's capture ids are 17 characters; anything much longer is not one.
const MAX_CAPTURE_ID_LEN: usize = 64;
/// The longest `notes` of an evidence item PayPal accepts.
pub(crate) const MAX_EVIDENCE_NOTES_CHARS: usize = 2_000;
/// The multipart part carrying the evidence JSON.
const EVIDENCE_PART: &str = "input";
/// Evidence that is neither a tracking number nor a refund id.
const EVIDENCE_TYPE_OTHER: &str = "OTHER";
/// The note sent when accepting a claim: fixed text, no personal data.
const ACCEPT_NOTE: &str = "The merchant accepts the claim.";

/// `dispute`, as far as we read it.
#[derive(Debug, Deserialize)]
pub(crate) struct DisputeAnswer {
    pub reason: Option<String>,
    pub status: Option<DisputeStatusWire>,
    pub dispute_amount: Option<MoneyWire>,
    pub seller_response_due_date: Option<String>,
    pub dispute_outcome: Option<OutcomeWire>,
    #[serde(default)]
    pub disputed_transactions: Vec<TransactionWire>,
}

/// `status` of a dispute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum DisputeStatusWire {
    Open,
    WaitingForBuyerResponse,
    WaitingForSellerResponse,
    UnderReview,
    Resolved,
    Other,
    /// A status newer than our copy of the spec.
    #[serde(other)]
    Unrecognised,
}

/// `dispute_outcome`.
#[derive(Debug, Deserialize)]
pub(crate) struct OutcomeWire {
    pub outcome_code: Option<OutcomeCode>,
}

/// `dispute_outcome.outcome_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum OutcomeCode {
    ResolvedBuyerFavour,
    ResolvedSellerFavour,
    ResolvedWithPayout,
    CanceledByBuyer,
    Accepted,
    Denied,
    None,
    /// An outcome newer than our copy of the spec.
    #[serde(other)]
    Unrecognised,
}

/// `transaction_info`, as far as we read it.
#[derive(Debug, Deserialize)]
pub(crate) struct TransactionWire {
    pub seller_transaction_id: Option<String>,
}

/// Disputes' `money`.
#[derive(Debug, Deserialize)]
pub(crate) struct MoneyWire {
    pub currency_code: String,
    pub value: String,
}

/// A capture, as far as we read it to find its order.
#[derive(Debug, Deserialize)]
struct CaptureAnswer {
    supplementary_data: Option<SupplementaryData>,
}

#[derive(Debug, Deserialize)]
struct SupplementaryData {
    related_ids: Option<RelatedIds>,
}

#[derive(Debug, Deserialize)]
struct RelatedIds {
    order_id: Option<String>,
}

/// The `input` part of provide-evidence.
#[derive(Debug, Serialize)]
pub(crate) struct EvidenceInput {
    pub evidences: Vec<EvidenceItem>,
}

/// One `evidence`.
#[derive(Debug, Serialize)]
pub(crate) struct EvidenceItem {
    pub evidence_type: &'static str,
    pub notes: String,
}

/// `accept_claim`, the part we send.
#[derive(Debug, Serialize)]
struct AcceptClaim {
    note: &'static str,
}

/// The API path of a dispute. An id that cannot be PayPal's (and could
/// alter the path) is a dispute PayPal does not know.
fn dispute_path(dispute_id: &str) -> Result<String, GatewayError> {
    let plausible = !dispute_id.is_empty()
        && dispute_id.len() <= MAX_DISPUTE_ID_LEN
        && dispute_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if plausible { Ok(format!("{DISPUTES_PATH}/{dispute_id}")) } else { Err(GatewayError::UnknownPayment) }
}

/// Where a dispute stands (see the module doc for the choices).
pub(crate) fn status_of(answer: &DisputeAnswer) -> Result<DisputeStatus, GatewayError> {
    let unclear = |what: &str| GatewayError::Unavailable(format!("PayPal dispute has {what}"));
    let status = answer.status.ok_or_else(|| unclear("no status"))?;
    Ok(match status {
        DisputeStatusWire::Open | DisputeStatusWire::WaitingForSellerResponse => DisputeStatus::NeedsResponse,
        DisputeStatusWire::WaitingForBuyerResponse | DisputeStatusWire::UnderReview | DisputeStatusWire::Other => {
            DisputeStatus::UnderReview
        }
        DisputeStatusWire::Resolved => {
            let outcome = answer.dispute_outcome.as_ref().and_then(|o| o.outcome_code);
            match outcome.ok_or_else(|| unclear("no outcome"))? {
                OutcomeCode::ResolvedSellerFavour
                | OutcomeCode::CanceledByBuyer
                | OutcomeCode::Denied
                | OutcomeCode::ResolvedWithPayout => DisputeStatus::Won,
                OutcomeCode::ResolvedBuyerFavour | OutcomeCode::Accepted => DisputeStatus::Lost,
                OutcomeCode::None | OutcomeCode::Unrecognised => return Err(unclear("an unusable outcome")),
            }
        }
        DisputeStatusWire::Unrecognised => return Err(unclear("an unrecognised status")),
    })
}

/// The disputed amount in our money.
fn amount_of(answer: &DisputeAnswer) -> Result<Money, GatewayError> {
    let money = answer.dispute_amount.as_ref().ok_or(CallError::Unreadable("dispute without amount"))?;
    let currency = Currency::from_code(&money.currency_code)
        .map_err(|_| GatewayError::InvalidRequest("dispute in an unsupported currency".to_owned()))?;
    Ok(Money::parse_major(&money.value, currency).map_err(|_| CallError::Unreadable("dispute amount"))?)
}

/// PayPal's reason code (`MERCHANDISE_OR_SERVICE_NOT_RECEIVED`) in our
/// lower-case style; anything that is not a plain code reads as `other`.
fn reason_of(answer: &DisputeAnswer) -> String {
    answer
        .reason
        .as_deref()
        .filter(|r| !r.is_empty() && r.len() <= 64 && r.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| "other".to_owned())
}

/// The disputed capture's id, if it is plausibly one.
fn capture_id_of(answer: &DisputeAnswer) -> Option<&str> {
    answer
        .disputed_transactions
        .iter()
        .filter_map(|t| t.seller_transaction_id.as_deref())
        .find(|id| !id.is_empty() && id.len() <= MAX_CAPTURE_ID_LEN && id.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The evidence as one `OTHER` item whose notes hold what the admin wrote.
pub(crate) fn evidence_input(evidence: &DisputeEvidence) -> Result<EvidenceInput, GatewayError> {
    let mut notes = evidence.explanation.trim().to_owned();
    if let Some(product) = evidence.product_description.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        notes.push_str("\n\nProduct: ");
        notes.push_str(product);
    }
    if let Some(email) = evidence.customer_email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        notes.push_str("\nCustomer email: ");
        notes.push_str(email);
    }
    let length = notes.chars().count();
    if length == 0 || length > MAX_EVIDENCE_NOTES_CHARS {
        // Cutting evidence short would weaken it without anyone knowing.
        return Err(GatewayError::InvalidRequest(format!(
            "PayPal evidence must be 1 to {MAX_EVIDENCE_NOTES_CHARS} characters"
        )));
    }
    Ok(EvidenceInput { evidences: vec![EvidenceItem { evidence_type: EVIDENCE_TYPE_OTHER, notes }] })
}

/// Reads a dispute and resolves its order.
pub(crate) async fn read(client: &PaypalClient, dispute_id: &str) -> Result<GatewayDispute, GatewayError> {
    let answer: DisputeAnswer = client.send(&Call::get(dispute_path(dispute_id)?)).await?.success()?.json("dispute")?;
    let status = status_of(&answer)?;
    let amount = amount_of(&answer)?;
    let capture_id = capture_id_of(&answer).ok_or(GatewayError::UnknownPayment)?;
    let order_id = order_of_capture(client, capture_id).await?;
    let evidence_due_by = answer
        .seller_response_due_date
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    Ok(GatewayDispute { provider_payment_id: order_id, amount, reason: reason_of(&answer), status, evidence_due_by })
}

/// The order a capture belongs to (`GET /v2/payments/captures/{id}`, its
/// `supplementary_data.related_ids.order_id`). A capture without an order
/// is not a checkout of ours: `UnknownPayment`.
pub(crate) async fn order_of_capture(client: &PaypalClient, capture_id: &str) -> Result<String, GatewayError> {
    if capture_id.is_empty() || !capture_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(GatewayError::UnknownPayment);
    }
    let capture: CaptureAnswer =
        client.send(&Call::get(format!("/v2/payments/captures/{capture_id}"))).await?.success()?.json("capture")?;
    capture
        .supplementary_data
        .and_then(|d| d.related_ids)
        .and_then(|r| r.order_id)
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()))
        .ok_or(GatewayError::UnknownPayment)
}

/// `POST /{id}/provide-evidence` (multipart with the `input` JSON part),
/// then the dispute read again.
pub(crate) async fn provide_evidence(
    client: &PaypalClient,
    dispute_id: &str,
    evidence: &DisputeEvidence,
) -> Result<GatewayDispute, GatewayError> {
    let path = format!("{}/provide-evidence", dispute_path(dispute_id)?);
    let call = Call::post_multipart_json(path, EVIDENCE_PART, &evidence_input(evidence)?)?;
    client.send(&call).await?.success()?;
    read(client, dispute_id).await
}

/// `POST /{id}/accept-claim` with a fixed note, then the dispute read
/// again.
pub(crate) async fn accept_claim(client: &PaypalClient, dispute_id: &str) -> Result<GatewayDispute, GatewayError> {
    let path = format!("{}/accept-claim", dispute_path(dispute_id)?);
    let call = Call::post_json(path, &AcceptClaim { note: ACCEPT_NOTE })?;
    client.send(&call).await?.success()?;
    read(client, dispute_id).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn answer(value: serde_json::Value) -> DisputeAnswer {
        serde_json::from_value(value).unwrap()
    }

    fn resolved(outcome: &str) -> DisputeAnswer {
        answer(json!({"status": "RESOLVED", "dispute_outcome": {"outcome_code": outcome}}))
    }

    #[test]
    fn open_statuses_map_to_who_must_move() {
        for (status, expected) in [
            ("OPEN", DisputeStatus::NeedsResponse),
            ("WAITING_FOR_SELLER_RESPONSE", DisputeStatus::NeedsResponse),
            ("WAITING_FOR_BUYER_RESPONSE", DisputeStatus::UnderReview),
            ("UNDER_REVIEW", DisputeStatus::UnderReview),
            ("OTHER", DisputeStatus::UnderReview),
        ] {
            assert_eq!(status_of(&answer(json!({"status": status}))), Ok(expected), "{status}");
        }
        assert!(matches!(status_of(&answer(json!({"status": "NEW_ONE"}))), Err(GatewayError::Unavailable(_))));
        assert!(matches!(status_of(&answer(json!({}))), Err(GatewayError::Unavailable(_))));
    }

    #[test]
    fn resolved_disputes_are_won_or_lost_by_their_outcome() {
        for outcome in ["RESOLVED_SELLER_FAVOUR", "CANCELED_BY_BUYER", "DENIED", "RESOLVED_WITH_PAYOUT"] {
            assert_eq!(status_of(&resolved(outcome)), Ok(DisputeStatus::Won), "{outcome}");
        }
        for outcome in ["RESOLVED_BUYER_FAVOUR", "ACCEPTED"] {
            assert_eq!(status_of(&resolved(outcome)), Ok(DisputeStatus::Lost), "{outcome}");
        }
        for outcome in ["NONE", "SOMETHING_NEW"] {
            assert!(matches!(status_of(&resolved(outcome)), Err(GatewayError::Unavailable(_))), "{outcome}");
        }
        assert!(matches!(status_of(&answer(json!({"status": "RESOLVED"}))), Err(GatewayError::Unavailable(_))));
    }

    #[test]
    fn only_plausible_dispute_ids_become_paths() {
        assert_eq!(dispute_path("PP-D-27803"), Ok("/v1/customer/disputes/PP-D-27803".to_owned()));
        for bad in ["", "../v1/oauth2/token", "a/b", "a?b", "a b", &"A".repeat(256)] {
            assert_eq!(dispute_path(bad), Err(GatewayError::UnknownPayment), "{bad:?}");
        }
    }

    #[test]
    fn reasons_are_lower_case_codes() {
        let read = |reason: &str| reason_of(&answer(json!({"reason": reason})));
        assert_eq!(read("MERCHANDISE_OR_SERVICE_NOT_RECEIVED"), "merchandise_or_service_not_received");
        assert_eq!(read("Buyer says: call me at 555"), "other");
    }

    #[test]
    fn evidence_is_one_other_item_and_never_cut_short() {
        let evidence = DisputeEvidence {
            explanation: "Watched all lessons.".into(),
            product_description: Some("Rust course".into()),
            customer_email: Some("buyer@example.com".into()),
        };
        let input = evidence_input(&evidence).unwrap();
        assert_eq!(input.evidences.len(), 1);
        assert_eq!(input.evidences[0].evidence_type, "OTHER");
        assert_eq!(
            input.evidences[0].notes,
            "Watched all lessons.\n\nProduct: Rust course\nCustomer email: buyer@example.com"
        );
        let long = DisputeEvidence { explanation: "x".repeat(2_001), product_description: None, customer_email: None };
        assert!(matches!(evidence_input(&long), Err(GatewayError::InvalidRequest(_))));
        let empty = DisputeEvidence { explanation: " ".into(), product_description: None, customer_email: None };
        assert!(matches!(evidence_input(&empty), Err(GatewayError::InvalidRequest(_))));
    }
}
