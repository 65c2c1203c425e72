//! Reading PayPal refunds: one refund, every refund of an order (made in
//! PayPal's dashboard, a reversal, or by Skillpay), and the order a refund
//! belongs to.

use domain::money::{Currency, Money};
use domain::ports::{GatewayError, GatewayRefundRecord, GatewayRefundState};

use crate::client::{Call, PaypalClient};
use crate::dispute::order_of_capture;
use crate::error::CallError;
use crate::wire::{Order, RefundRead};

/// Where a capture's refunds live: `…/v2/payments/captures/{id}` is a
/// refund's `up` link.
const CAPTURE_PATH: &str = "/v2/payments/captures/";

/// What a PayPal refund's status means.
pub(crate) fn state_of(refund: &RefundRead) -> GatewayRefundState {
    match refund.status.as_deref() {
        Some("COMPLETED") => GatewayRefundState::Succeeded,
        Some("FAILED") | Some("CANCELLED") => GatewayRefundState::Failed {
            reason: refund
                .status_details
                .as_ref()
                .and_then(|d| d.reason.clone())
                .unwrap_or_else(|| "refund refused".to_owned()),
        },
        _ => GatewayRefundState::Pending,
    }
}

/// What PayPal gave back of its fee with a completed refund: its
/// breakdown's `paypal_fee`, none when the breakdown names no fee (zero);
/// `None` until the refund is completed with a breakdown.
pub(crate) fn fee_returned_of(refund: &RefundRead, currency: Currency) -> Result<Option<Money>, GatewayError> {
    if refund.status.as_deref() != Some("COMPLETED") {
        return Ok(None);
    }
    let Some(breakdown) = &refund.seller_payable_breakdown else {
        return Ok(None);
    };
    let Some(fee) = &breakdown.paypal_fee else {
        return Ok(Some(Money::zero(currency)));
    };
    let fee = fee.to_money().ok_or(CallError::Unreadable("refunded PayPal fee"))?;
    if fee.currency() != currency {
        return Err(GatewayError::InvalidRequest(format!("the refunded fee is in {}, not {currency}", fee.currency())));
    }
    Ok(Some(fee))
}

/// `GET /v2/payments/refunds/{id}`; an id that cannot be PayPal's is a
/// refund PayPal does not know.
pub(crate) async fn read(client: &PaypalClient, refund_id: &str) -> Result<RefundRead, GatewayError> {
    if refund_id.is_empty() || !refund_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(GatewayError::UnknownPayment);
    }
    let call = Call::get(format!("/v2/payments/refunds/{refund_id}"));
    Ok(client.send(&call).await?.success()?.json("refund")?)
}

/// Every refund an order lists, as the domain sees them.
pub(crate) fn records_of(order: &Order) -> Result<Vec<GatewayRefundRecord>, GatewayError> {
    order
        .purchase_units
        .iter()
        .filter_map(|unit| unit.payments.as_ref())
        .flat_map(|payments| payments.refunds.iter())
        .map(|refund| {
            let amount =
                refund.amount.as_ref().and_then(|a| a.to_money()).ok_or(CallError::Unreadable("refund amount"))?;
            Ok(GatewayRefundRecord {
                provider_refund_id: refund.id.clone(),
                amount,
                state: state_of(refund),
                made_for: refund.custom_id.clone().filter(|id| !id.is_empty()),
            })
        })
        .collect()
}

/// The order a refund belongs to: the refund's capture (its `up` link),
/// then the capture's order.
pub(crate) async fn order_of_refund(client: &PaypalClient, refund_id: &str) -> Result<String, GatewayError> {
    let refund = read(client, refund_id).await?;
    let capture_id = refund
        .links
        .iter()
        .filter(|link| link.rel == "up")
        .find_map(|link| link.href.split_once(CAPTURE_PATH).map(|(_, id)| id.trim_end_matches('/')))
        .ok_or(GatewayError::UnknownPayment)?;
    order_of_capture(client, capture_id).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_orders_refunds_become_records_with_skillpays_reference() {
        let order: Order = serde_json::from_value(json!({
            "id": "5O190127TN364715T",
            "purchase_units": [{"payments": {
                "captures": [{"id": "3C679366HH908993F", "status": "PARTIALLY_REFUNDED"}],
                "refunds": [
                    {"id": "1JU08902781691411", "status": "COMPLETED", "custom_id": "re_1",
                     "amount": {"currency_code": "USD", "value": "10.00"}},
                    {"id": "2JU08902781691411", "status": "PENDING",
                     "amount": {"currency_code": "USD", "value": "5.50"}}
                ]
            }}]
        }))
        .unwrap();
        let records = records_of(&order).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].amount, Money::from_minor(10_00, Currency::USD));
        assert_eq!(records[0].state, GatewayRefundState::Succeeded);
        assert_eq!(records[0].made_for.as_deref(), Some("re_1"));
        assert_eq!(records[1].amount, Money::from_minor(5_50, Currency::USD));
        assert_eq!(records[1].state, GatewayRefundState::Pending);
        assert_eq!(records[1].made_for, None);
    }

    #[test]
    fn a_refund_without_a_readable_amount_is_refused() {
        let order: Order = serde_json::from_value(json!({
            "id": "5O1",
            "purchase_units": [{"payments": {"refunds": [{"id": "1JU", "status": "COMPLETED",
                "amount": {"currency_code": "XXX", "value": "1.00"}}]}}]
        }))
        .unwrap();
        assert!(records_of(&order).is_err());
    }

    fn returned(refund: serde_json::Value) -> Result<Option<Money>, GatewayError> {
        fee_returned_of(&serde_json::from_value(refund).unwrap(), Currency::USD)
    }

    #[test]
    fn a_completed_refund_gives_back_the_fee_its_breakdown_names() {
        let completed = json!({"id": "1JU", "status": "COMPLETED", "seller_payable_breakdown": {
            "gross_amount": {"currency_code": "USD", "value": "10.00"},
            "paypal_fee": {"currency_code": "USD", "value": "0.29"},
            "net_amount": {"currency_code": "USD", "value": "9.71"}}});
        assert_eq!(returned(completed), Ok(Some(Money::from_minor(29, Currency::USD))));
        let no_fee = json!({"id": "1JU", "status": "COMPLETED", "seller_payable_breakdown": {
            "gross_amount": {"currency_code": "USD", "value": "10.00"}}});
        assert_eq!(returned(no_fee), Ok(Some(Money::zero(Currency::USD))));
        assert_eq!(returned(json!({"id": "1JU", "status": "PENDING"})), Ok(None), "not final yet");
        assert_eq!(returned(json!({"id": "1JU", "status": "COMPLETED"})), Ok(None), "no breakdown yet");
        let other = json!({"id": "1JU", "status": "COMPLETED", "seller_payable_breakdown": {
            "paypal_fee": {"currency_code": "EUR", "value": "0.29"}}});
        assert!(matches!(returned(other), Err(GatewayError::InvalidRequest(_))));
    }
}
