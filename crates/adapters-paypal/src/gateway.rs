//! [`PaypalGateway`]: PayPal Orders v2 behind the domain's `PaymentGateway`.
//!
//! The flow: `create_session` creates an order with intent `CAPTURE` and
//! answers the URL where the buyer approves it; once approved (the buyer
//! returns, or the `CHECKOUT.ORDER.APPROVED` webhook arrives) `confirm`
//! captures it. Every write carries a `PayPal-Request-Id` derived from our
//! ids, so retries, repeated webhooks and concurrent confirmations cannot
//! create a second order or a second capture.

use async_trait::async_trait;
use domain::fraud::RiskVerdict;
use domain::money::{Currency, Money};
use domain::payment::{Payment, PaymentMethod};
use domain::ports::{
    ChargeFacts, DisputeEvidence, DisputeGateway, GatewayDispute, GatewayError, GatewayOutcome, GatewayRefund,
    GatewayRefundRecord, GatewayRefundState, GatewaySession, NextAction, PaymentGateway, RefundGateway,
};

use crate::client::{Call, PaypalClient};
use crate::config::PaypalConfig;
use crate::dispute;
use crate::error::{CallError, SetupError};
use crate::outcome::{self, CaptureRefusal};
use crate::refunds;
use crate::wire::{
    Amount, ExperienceContext, INTENT_CAPTURE, Order, OrderRequest, PaymentSource, PaypalWallet, PurchaseUnitRequest,
    RefundRead,
};

/// `refund_request`: the part we send.
#[derive(serde::Serialize)]
struct RefundRequest {
    amount: Amount,
    /// Skillpay's refund id: a refund listed at PayPal tells whether
    /// Skillpay made it.
    custom_id: String,
}

/// `POST` creates, `GET /{id}` reads, `POST /{id}/capture` captures.
const ORDERS_PATH: &str = "/v2/checkout/orders";
/// PayPal order ids are 17 characters; anything much longer is not one.
const MAX_ORDER_ID_LEN: usize = 64;
/// Prefix of the capture's idempotency key (the order id follows), so a
/// capture key can never equal the create key (our payment id).
const CAPTURE_REQUEST_ID_PREFIX: &str = "capture-";

/// The PayPal checkout gateway.
#[derive(Debug, Clone)]
pub struct PaypalGateway {
    client: PaypalClient,
}

impl PaypalGateway {
    /// A gateway using `client` (share it with the webhook verifier so both
    /// use one token).
    pub fn new(client: PaypalClient) -> Self {
        Self { client }
    }

    /// A gateway with a client of its own.
    pub fn from_config(config: PaypalConfig) -> Result<Self, SetupError> {
        PaypalClient::new(config).map(Self::new)
    }

    pub(crate) fn client(&self) -> &PaypalClient {
        &self.client
    }
}

/// The API path of an order. An id that cannot be a PayPal order id (and
/// could alter the path) is a payment PayPal does not know.
fn order_path(order_id: &str) -> Result<String, GatewayError> {
    let plausible = !order_id.is_empty()
        && order_id.len() <= MAX_ORDER_ID_LEN
        && order_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if plausible { Ok(format!("{ORDERS_PATH}/{order_id}")) } else { Err(GatewayError::UnknownPayment) }
}

#[async_trait]
impl PaymentGateway for PaypalGateway {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Paypal
    }

    /// Creates the order. The payment id is the `PayPal-Request-Id`, so
    /// calling again for the same payment answers the same order.
    async fn create_session(&self, payment: &Payment) -> Result<GatewaySession, GatewayError> {
        if payment.amount.is_negative() || payment.amount.is_zero() {
            return Err(GatewayError::InvalidRequest("a PayPal order needs a positive amount".to_owned()));
        }
        let config = self.client.config();
        let payment_id = payment.id.to_string();
        let request = OrderRequest {
            intent: INTENT_CAPTURE,
            purchase_units: vec![PurchaseUnitRequest {
                custom_id: payment_id.clone(),
                invoice_id: payment_id.clone(),
                amount: Amount::of(payment.amount),
            }],
            payment_source: PaymentSource {
                paypal: PaypalWallet {
                    experience_context: ExperienceContext::new(config.return_url.clone(), config.cancel_url.clone()),
                },
            },
        };
        let call = Call::post_json(ORDERS_PATH.to_owned(), &request)?.request_id(payment_id);
        let order: Order = self.client.send(&call).await?.success()?.json("order")?;
        order_path(&order.id).map_err(|_| CallError::Unreadable("order id"))?;
        let url = order.approval_url().ok_or(CallError::Unreadable("order without approval link"))?;
        Ok(GatewaySession {
            provider_payment_id: order.id.clone(),
            next_action: NextAction::Redirect { url: url.to_owned() },
        })
    }

    /// Captures the approved order. The token is unused: PayPal's return
    /// URL carries the order id itself, which is `provider_payment_id`.
    async fn confirm(&self, provider_payment_id: &str, _token: &str) -> Result<GatewayOutcome, GatewayError> {
        self.capture(provider_payment_id).await
    }

    /// `POST /v2/checkout/orders/{id}/capture` with `PayPal-Request-Id`
    /// `capture-{order id}`, so concurrent or repeated captures take the
    /// money once.
    async fn capture(&self, provider_payment_id: &str) -> Result<GatewayOutcome, GatewayError> {
        let path = format!("{}/capture", order_path(provider_payment_id)?);
        // The spec's `order_capture_request` body is optional, but PayPal
        // wants valid JSON with the JSON content type: an empty object.
        let call = Call::post_json(path, &serde_json::Map::new())?
            .request_id(format!("{CAPTURE_REQUEST_ID_PREFIX}{provider_payment_id}"))
            .representation();
        let reply = self.client.send(&call).await?;
        if reply.status.is_success() {
            // Captured but the answer shows no capture yet: in progress,
            // not "approved" (asking to capture again would not help).
            return match outcome::of_order(&reply.json("order")?)? {
                GatewayOutcome::AwaitingCapture => Ok(GatewayOutcome::Processing),
                other => Ok(other),
            };
        }
        let error = reply.api_error();
        if error.status == 422 {
            match outcome::of_capture_refusal(&error) {
                CaptureRefusal::Outcome(outcome) => return Ok(outcome),
                CaptureRefusal::ReadOrder => return self.status(provider_payment_id).await,
                CaptureRefusal::Invalid => {}
            }
        }
        Err(CallError::Api(error).into())
    }

    /// Does nothing: PayPal has no call to cancel or void a checkout order
    /// (voiding exists only for authorizations, and we capture). An order
    /// nobody approves simply expires at PayPal, and our payment is already
    /// cancelled on our side, so capturing it later is refused by the use
    /// case before it reaches us.
    async fn cancel(&self, provider_payment_id: &str) -> Result<(), GatewayError> {
        order_path(provider_payment_id).map(|_| ())
    }

    /// Reads the order and maps its state (and its capture's, if any).
    async fn status(&self, provider_payment_id: &str) -> Result<GatewayOutcome, GatewayError> {
        let call = Call::get(order_path(provider_payment_id)?);
        let order: Order = self.client.send(&call).await?.success()?.json("order")?;
        outcome::of_order(&order)
    }

    /// The capture's `seller_receivable_breakdown.paypal_fee` and
    /// `seller_protection.status`, read from the order; `None` until PayPal
    /// reports the fee. A capture without a fee in its breakdown kept none.
    async fn charge_facts(&self, payment: &Payment) -> Result<Option<ChargeFacts>, GatewayError> {
        let id = payment.provider_payment_id.as_deref().ok_or(GatewayError::UnknownPayment)?;
        let order: Order = self.client.send(&Call::get(order_path(id)?)).await?.success()?.json("order")?;
        let Some(breakdown) = order.captures().find_map(|c| c.seller_receivable_breakdown.as_ref()) else {
            return Ok(None);
        };
        let fee = match &breakdown.paypal_fee {
            Some(fee) => fee.to_money().ok_or(CallError::Unreadable("PayPal fee"))?,
            None => Money::zero(payment.amount.currency()),
        };
        let protection = order.captures().find_map(|c| c.seller_protection.as_ref().and_then(|p| p.status.clone()));
        let risk = RiskVerdict { seller_protection: protection, ..RiskVerdict::default() };
        Ok(Some(ChargeFacts { fee, risk }))
    }
}

#[async_trait]
impl RefundGateway for PaypalGateway {
    /// Refunds against the order's capture: `POST
    /// /v2/payments/captures/{id}/refund` with the major-unit amount and
    /// `PayPal-Request-Id` `refund-{key}`.
    async fn refund(
        &self,
        provider_payment_id: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayRefund, GatewayError> {
        let order: Order =
            self.client.send(&Call::get(order_path(provider_payment_id)?)).await?.success()?.json("order")?;
        let capture_id = order
            .captures()
            .find_map(|c| c.id.clone())
            .filter(|id| id.chars().all(|c| c.is_ascii_alphanumeric()))
            .ok_or(GatewayError::UnknownPayment)?;
        let body = RefundRequest { amount: Amount::of(amount), custom_id: idempotency_key.to_owned() };
        let call = Call::post_json(format!("/v2/payments/captures/{capture_id}/refund"), &body)?
            .request_id(format!("refund-{idempotency_key}"))
            .representation();
        let refund: RefundRead = self.client.send(&call).await?.success()?.json("refund")?;
        let provider_refund_id = refund.id.clone();
        Ok(GatewayRefund { provider_refund_id, state: refunds::state_of(&refund) })
    }

    /// Reads a refund: `GET /v2/payments/refunds/{id}`.
    async fn refund_status(&self, provider_refund_id: &str) -> Result<GatewayRefundState, GatewayError> {
        if provider_refund_id.is_empty() || !provider_refund_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(GatewayError::UnknownPayment);
        }
        let refund = refunds::read(&self.client, provider_refund_id).await?;
        Ok(refunds::state_of(&refund))
    }

    /// The refunds listed in the order (`GET /v2/checkout/orders/{id}`).
    async fn refunds_of(&self, provider_payment_id: &str) -> Result<Vec<GatewayRefundRecord>, GatewayError> {
        let order: Order =
            self.client.send(&Call::get(order_path(provider_payment_id)?)).await?.success()?.json("order")?;
        refunds::records_of(&order)
    }

    /// The refund's capture (its `up` link), then the capture's order.
    async fn payment_of_refund(&self, provider_refund_id: &str) -> Result<String, GatewayError> {
        refunds::order_of_refund(&self.client, provider_refund_id).await
    }

    /// The refund's `seller_payable_breakdown.paypal_fee` (`GET
    /// /v2/payments/refunds/{id}`).
    async fn fee_returned(&self, provider_refund_id: &str, currency: Currency) -> Result<Option<Money>, GatewayError> {
        let refund = refunds::read(&self.client, provider_refund_id).await?;
        refunds::fee_returned_of(&refund, currency)
    }
}

#[async_trait]
impl DisputeGateway for PaypalGateway {
    /// Reads the dispute and resolves the disputed capture to its order
    /// (see `dispute.rs`).
    async fn dispute(&self, provider_dispute_id: &str) -> Result<GatewayDispute, GatewayError> {
        dispute::read(&self.client, provider_dispute_id).await
    }

    /// Provides the evidence as one `OTHER` item, then reads the dispute.
    async fn submit_dispute_evidence(
        &self,
        provider_dispute_id: &str,
        evidence: &DisputeEvidence,
    ) -> Result<GatewayDispute, GatewayError> {
        dispute::provide_evidence(&self.client, provider_dispute_id, evidence).await
    }

    /// Accepts the claim (the buyer is refunded), then reads the dispute.
    async fn accept_dispute(&self, provider_dispute_id: &str) -> Result<GatewayDispute, GatewayError> {
        dispute::accept_claim(&self.client, provider_dispute_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plausible_order_ids_become_paths() {
        assert_eq!(order_path("5O190127TN364715T"), Ok("/v2/checkout/orders/5O190127TN364715T".to_owned()));
        for bad in ["", "../v1/oauth2/token", "a/b", "a?b", "a b", &"A".repeat(65)] {
            assert_eq!(order_path(bad), Err(GatewayError::UnknownPayment), "{bad:?}");
        }
    }
}
