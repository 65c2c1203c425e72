//! How PayPal's order and capture states read as the domain's verdicts.
//!
//! Kept apart from the HTTP code. Every status mapping is one exhaustive
//! `match` with no wildcard arm, so a status added to the enums forces a
//! decision here; only PayPal's open-ended error issues need a default.

use domain::ports::{GatewayError, GatewayOutcome};

use crate::error::ApiError;
use crate::wire::{Capture, CaptureStatus, Order, OrderStatus};

/// The verdict on an order (`GET` or capture answer).
pub(crate) fn of_order(order: &Order) -> Result<GatewayOutcome, GatewayError> {
    // A capture, when there is one, is the more precise truth: an order is
    // COMPLETED even when its capture was declined.
    if let Some(outcome) = of_captures(order.captures()) {
        return Ok(outcome);
    }
    let Some(status) = order.status else {
        return Err(GatewayError::Unavailable("PayPal order answer has no status".to_owned()));
    };
    Ok(match status {
        OrderStatus::Created | OrderStatus::Saved | OrderStatus::PayerActionRequired => GatewayOutcome::AwaitingBuyer,
        // The buyer approved; the money moves only when we capture, which
        // the approval webhook, the buyer's return or reconciliation does.
        OrderStatus::Approved => GatewayOutcome::AwaitingCapture,
        // Completed without a capture in the answer (a minimal
        // representation): not enough to call it paid, so look again later.
        OrderStatus::Completed => GatewayOutcome::Processing,
        OrderStatus::Voided => GatewayOutcome::Canceled,
        OrderStatus::Unrecognised => {
            // Changing nothing beats guessing; reconciliation will ask again.
            return Err(GatewayError::Unavailable("PayPal order has an unrecognised status".to_owned()));
        }
    })
}

/// The verdict of an order's captures, strongest first: any money taken
/// beats a pending capture, which beats a declined one. `None` without a
/// capture of known status.
fn of_captures<'a>(captures: impl Iterator<Item = &'a Capture>) -> Option<GatewayOutcome> {
    let mut best: Option<(u8, GatewayOutcome)> = None;
    for capture in captures {
        let Some((rank, outcome)) = of_capture(capture) else { continue };
        if best.as_ref().is_none_or(|(best_rank, _)| rank > *best_rank) {
            best = Some((rank, outcome));
        }
    }
    best.map(|(_, outcome)| outcome)
}

/// One capture's verdict with its rank in [`of_captures`].
fn of_capture(capture: &Capture) -> Option<(u8, GatewayOutcome)> {
    let status = capture.status?;
    Some(match status {
        // Refunds come after payment: the payment itself succeeded, and
        // refunds are tracked by their own flow.
        CaptureStatus::Completed | CaptureStatus::PartiallyRefunded | CaptureStatus::Refunded => {
            (3, GatewayOutcome::Succeeded)
        }
        // eCheck, review or unilateral payee: money not yet received.
        CaptureStatus::Pending => (2, GatewayOutcome::Processing),
        CaptureStatus::Declined | CaptureStatus::Failed => {
            (1, GatewayOutcome::Declined { reason: decline_reason(capture) })
        }
        CaptureStatus::Unrecognised => return None,
    })
}

/// A reason safe to show: PayPal's status (and detail code), never free text.
fn decline_reason(capture: &Capture) -> String {
    let status = match capture.status {
        Some(CaptureStatus::Failed) => "failed",
        _ => "declined",
    };
    let detail = capture
        .status_details
        .as_ref()
        .and_then(|details| details.reason.as_deref())
        .filter(|reason| reason.len() <= 64 && reason.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
    match detail {
        Some(reason) => format!("PayPal capture {status} ({reason})"),
        None => format!("PayPal capture {status}"),
    }
}

/// What a capture refused with 422 means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CaptureRefusal {
    /// A verdict to answer as is.
    Outcome(GatewayOutcome),
    /// Already captured (a retry of ours, or a concurrent capture): the
    /// order itself must be read for the verdict.
    ReadOrder,
    /// Not a payment outcome: our request was wrong.
    Invalid,
}

/// Issues of a capture's 422 that are the buyer's payment being refused,
/// not a fault of our request (`orders.capture-422` in the spec).
const DECLINE_ISSUES: [&str; 13] = [
    "INSTRUMENT_DECLINED",
    "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING",
    "PAYER_CANNOT_PAY",
    "PAYER_ACCOUNT_RESTRICTED",
    "PAYER_ACCOUNT_LOCKED_OR_CLOSED",
    "TRANSACTION_REFUSED",
    "TRANSACTION_LIMIT_EXCEEDED",
    "TRANSACTION_RECEIVING_LIMIT_EXCEEDED",
    "TRANSACTION_BLOCKED_BY_PAYEE",
    "PAYEE_BLOCKED_TRANSACTION",
    "COMPLIANCE_VIOLATION",
    "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED",
    "DECLINED_DUE_TO_RELATED_TXN",
];

/// Reads a 422 answer to a capture.
pub(crate) fn of_capture_refusal(error: &ApiError) -> CaptureRefusal {
    let Some(issue) = error.issue.as_deref() else { return CaptureRefusal::Invalid };
    match issue {
        // The buyer has not approved yet (or must return to PayPal):
        // nothing changes until they do.
        "ORDER_NOT_APPROVED" | "PAYER_ACTION_REQUIRED" => CaptureRefusal::Outcome(GatewayOutcome::AwaitingBuyer),
        "ORDER_ALREADY_CAPTURED" => CaptureRefusal::ReadOrder,
        declined if DECLINE_ISSUES.contains(&declined) => {
            CaptureRefusal::Outcome(GatewayOutcome::Declined { reason: format!("PayPal: {declined}") })
        }
        _ => CaptureRefusal::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(json: &str) -> Order {
        serde_json::from_str(json).unwrap()
    }

    fn with_capture(order_status: &str, capture_status: &str) -> Order {
        order(&format!(
            r#"{{"id":"5O190127TN364715T","status":"{order_status}","purchase_units":[{{"reference_id":"default",
            "payments":{{"captures":[{{"id":"3C679366HH908993F","status":"{capture_status}"}}]}}}}]}}"#
        ))
    }

    #[test]
    fn each_order_status_without_capture_has_its_verdict() {
        let cases = [
            ("CREATED", GatewayOutcome::AwaitingBuyer),
            ("SAVED", GatewayOutcome::AwaitingBuyer),
            ("PAYER_ACTION_REQUIRED", GatewayOutcome::AwaitingBuyer),
            ("APPROVED", GatewayOutcome::AwaitingCapture),
            ("COMPLETED", GatewayOutcome::Processing),
            ("VOIDED", GatewayOutcome::Canceled),
        ];
        for (status, expected) in cases {
            let answer = of_order(&order(&format!(r#"{{"id":"1","status":"{status}"}}"#)));
            assert_eq!(answer, Ok(expected), "{status}");
        }
        assert!(matches!(of_order(&order(r#"{"id":"1","status":"NEW"}"#)), Err(GatewayError::Unavailable(_))));
        assert!(matches!(of_order(&order(r#"{"id":"1"}"#)), Err(GatewayError::Unavailable(_))));
    }

    #[test]
    fn a_capture_decides_a_completed_order() {
        assert_eq!(of_order(&with_capture("COMPLETED", "COMPLETED")), Ok(GatewayOutcome::Succeeded));
        assert_eq!(of_order(&with_capture("COMPLETED", "REFUNDED")), Ok(GatewayOutcome::Succeeded));
        assert_eq!(of_order(&with_capture("COMPLETED", "PENDING")), Ok(GatewayOutcome::Processing));
        assert_eq!(
            of_order(&with_capture("COMPLETED", "DECLINED")),
            Ok(GatewayOutcome::Declined { reason: "PayPal capture declined".to_owned() })
        );
        assert_eq!(
            of_order(&with_capture("COMPLETED", "FAILED")),
            Ok(GatewayOutcome::Declined { reason: "PayPal capture failed".to_owned() })
        );
    }

    #[test]
    fn money_taken_outranks_a_declined_capture() {
        let order = order(
            r#"{"id":"1","status":"COMPLETED","purchase_units":[{"payments":{"captures":[
            {"status":"DECLINED"},{"status":"COMPLETED"}]}}]}"#,
        );
        assert_eq!(of_order(&order), Ok(GatewayOutcome::Succeeded));
    }

    #[test]
    fn a_decline_reason_holds_only_codes() {
        let order = order(
            r#"{"id":"1","status":"COMPLETED","purchase_units":[{"payments":{"captures":[
            {"status":"DECLINED","status_details":{"reason":"Card 4111 1111 declined"}}]}}]}"#,
        );
        assert_eq!(of_order(&order), Ok(GatewayOutcome::Declined { reason: "PayPal capture declined".to_owned() }));
        let order = self::order(
            r#"{"id":"1","status":"COMPLETED","purchase_units":[{"payments":{"captures":[
            {"status":"DECLINED","status_details":{"reason":"OTHER"}}]}}]}"#,
        );
        assert_eq!(
            of_order(&order),
            Ok(GatewayOutcome::Declined { reason: "PayPal capture declined (OTHER)".to_owned() })
        );
    }

    #[test]
    fn capture_refusals_read_by_issue() {
        let refusal = |issue: &str| {
            of_capture_refusal(&ApiError { status: 422, issue: Some(issue.to_owned()), ..ApiError::default() })
        };
        assert_eq!(refusal("ORDER_NOT_APPROVED"), CaptureRefusal::Outcome(GatewayOutcome::AwaitingBuyer));
        assert_eq!(refusal("ORDER_ALREADY_CAPTURED"), CaptureRefusal::ReadOrder);
        assert_eq!(
            refusal("INSTRUMENT_DECLINED"),
            CaptureRefusal::Outcome(GatewayOutcome::Declined { reason: "PayPal: INSTRUMENT_DECLINED".to_owned() })
        );
        assert_eq!(refusal("DUPLICATE_INVOICE_ID"), CaptureRefusal::Invalid);
        assert_eq!(of_capture_refusal(&ApiError { status: 422, ..ApiError::default() }), CaptureRefusal::Invalid);
    }
}
