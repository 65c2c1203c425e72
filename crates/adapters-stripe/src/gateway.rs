//! Payments over Stripe PaymentIntents, and their refunds.
//!
//! The buyer confirms a PaymentIntent with Stripe.js using its client
//! secret; Skillpay then re-reads the PaymentIntent (confirm endpoint,
//! webhooks, reconciliation) and applies what Stripe says. A `pm_...`
//! payment method token given to confirm is confirmed server-side.

use adapters_http::Method;
use async_trait::async_trait;
use domain::fraud::RiskVerdict;
use domain::money::{Currency, Money};
use domain::payment::{Payment, PaymentMethod};
use domain::ports::{
    ChargeFacts, ClientSecret, GatewayError, GatewayOutcome, GatewayRefund, GatewayRefundRecord, GatewayRefundState,
    GatewaySession, NextAction, PaymentGateway, RefundGateway,
};

use crate::client::{CallError, StripeClient};
use crate::config::StripeConfig;
use crate::wire::{self, PaymentIntent, Refund, amount};

/// Metadata key carrying Skillpay's payment id on the PaymentIntent.
pub const PAYMENT_ID_METADATA_KEY: &str = "skillpay_payment_id";
/// Metadata key carrying Skillpay's refund id on the refunds it makes, so a
/// refund listed at Stripe tells whether Skillpay made it.
pub const REFUND_ID_METADATA_KEY: &str = "skillpay_refund_id";
/// Refunds read per page of a payment's refund list (Stripe's maximum).
const REFUND_PAGE: usize = 100;

/// Stripe as a payment gateway.
#[derive(Clone)]
pub struct StripeGateway {
    client: StripeClient,
}

impl std::fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StripeGateway")
    }
}

impl StripeGateway {
    /// A gateway with these settings.
    pub fn new(config: StripeConfig) -> Result<Self, GatewayError> {
        Ok(Self { client: StripeClient::new(config)? })
    }

    pub(crate) fn client(&self) -> &StripeClient {
        &self.client
    }

    async fn retrieve(&self, id: &str) -> Result<PaymentIntent, GatewayError> {
        self.client
            .call(Method::GET, &format!("/v1/payment_intents/{}", path_segment(id)?), &[], None)
            .await
            .map_err(CallError::into_gateway_error)
    }
}

/// Refuses ids that could change the request path.
pub(crate) fn path_segment(id: &str) -> Result<&str, GatewayError> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(GatewayError::UnknownPayment)
    }
}

/// What a Refund's status means.
fn refund_state(refund: &Refund) -> GatewayRefundState {
    match refund.status.as_str() {
        "succeeded" => GatewayRefundState::Succeeded,
        "failed" | "canceled" => GatewayRefundState::Failed {
            reason: refund.failure_reason.clone().unwrap_or_else(|| refund.status.clone()),
        },
        _ => GatewayRefundState::Pending,
    }
}

/// What Stripe gave back of its fee with a refund, once the refund's
/// balance transaction exists: a refund's transaction carries the fee
/// returned as a negative fee (Stripe keeps its fee on refunds, so usually
/// zero); a positive one is a fee charged for the refund.
fn fee_returned_of(refund: &wire::RefundWithBalance, currency: Currency) -> Result<Option<Money>, GatewayError> {
    let Some(balance) = refund.balance_transaction.as_ref().and_then(wire::Expandable::object) else {
        return Ok(None);
    };
    if !balance.currency.eq_ignore_ascii_case(currency.code()) || !refund.currency.eq_ignore_ascii_case(currency.code())
    {
        return Err(GatewayError::InvalidRequest(format!(
            "the refund settled in {}, not in the payment's currency {currency}",
            balance.currency
        )));
    }
    Ok(Some(Money::from_minor(balance.fee.saturating_neg(), currency)))
}

/// The fee Stripe kept out of a PaymentIntent's charge, once its balance
/// transaction exists; Skillpay books it in the charge's currency, so a
/// charge settled in another currency (its fee is in that one) is refused
/// rather than converted.
fn facts_of(intent: &wire::IntentWithCharge) -> Result<Option<ChargeFacts>, GatewayError> {
    let Some(fee) = fee_of(intent)? else {
        return Ok(None);
    };
    let charge = intent.latest_charge.as_ref().and_then(wire::Expandable::object);
    let outcome = charge.and_then(|c| c.outcome.as_ref());
    let risk = RiskVerdict {
        level: outcome.and_then(|o| o.risk_level.clone()),
        score: outcome.and_then(|o| o.risk_score),
        card_fingerprint: charge
            .and_then(|c| c.payment_method_details.as_ref())
            .and_then(|d| d.card.as_ref())
            .and_then(|card| card.fingerprint.clone()),
        seller_protection: None,
    };
    Ok(Some(ChargeFacts { fee, risk }))
}

fn fee_of(intent: &wire::IntentWithCharge) -> Result<Option<Money>, GatewayError> {
    let Some(charge) = intent.latest_charge.as_ref().and_then(wire::Expandable::object) else {
        return Ok(None);
    };
    let Some(balance) = charge.balance_transaction.as_ref().and_then(wire::Expandable::object) else {
        return Ok(None);
    };
    if !balance.currency.eq_ignore_ascii_case(&charge.currency) {
        return Err(GatewayError::InvalidRequest(format!(
            "the charge settled in {}, not in its own currency {}",
            balance.currency, charge.currency
        )));
    }
    let currency = Currency::from_code(&charge.currency.to_ascii_uppercase())
        .map_err(|_| GatewayError::InvalidRequest("a charge in an unsupported currency".to_owned()))?;
    Ok(Some(Money::from_minor(balance.fee, currency)))
}

/// What a PaymentIntent's status means for the payment.
pub(crate) fn outcome_of(intent: &PaymentIntent) -> GatewayOutcome {
    match intent.status.as_str() {
        "succeeded" => GatewayOutcome::Succeeded,
        "processing" | "requires_capture" => GatewayOutcome::Processing,
        "canceled" => GatewayOutcome::Canceled,
        "requires_action" => match &intent.client_secret {
            Some(secret) => GatewayOutcome::RequiresAction(NextAction::ClientConfirm {
                provider: PaymentMethod::Stripe,
                client_secret: ClientSecret::new(secret.clone()),
            }),
            None => GatewayOutcome::Processing,
        },
        // Back to requires_payment_method after an attempt: that attempt
        // was declined. Skillpay ends the payment there (the buyer starts a
        // new one), so a decline is final and its coupon use is given back.
        "requires_payment_method" if intent.last_payment_error.is_some() => GatewayOutcome::Declined {
            reason: intent.last_payment_error.as_ref().map(|e| e.summary()).unwrap_or_default(),
        },
        _ => GatewayOutcome::AwaitingBuyer,
    }
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Stripe
    }

    async fn create_session(&self, payment: &Payment) -> Result<GatewaySession, GatewayError> {
        let (minor, currency) = amount(payment.amount);
        let form = vec![
            ("amount".to_owned(), minor.to_string()),
            ("currency".to_owned(), currency),
            (format!("metadata[{PAYMENT_ID_METADATA_KEY}]"), payment.id.to_string()),
        ];
        // The payment id as idempotency key: however often this is retried
        // (by us or after a crash), Stripe makes one PaymentIntent.
        let intent: PaymentIntent = self
            .client
            .call(Method::POST, "/v1/payment_intents", &form, Some(&payment.id.to_string()))
            .await
            .map_err(CallError::into_gateway_error)?;
        let client_secret = intent
            .client_secret
            .ok_or_else(|| GatewayError::Unavailable("PaymentIntent without client secret".to_owned()))?;
        Ok(GatewaySession {
            provider_payment_id: intent.id,
            next_action: NextAction::ClientConfirm {
                provider: PaymentMethod::Stripe,
                client_secret: ClientSecret::new(client_secret),
            },
        })
    }

    async fn confirm(&self, provider_payment_id: &str, token: &str) -> Result<GatewayOutcome, GatewayError> {
        if !token.starts_with("pm_") {
            return self.status(provider_payment_id).await;
        }
        // Attach the payment method, then confirm: two calls every Stripe
        // API version (and Stripe-compatible stand-ins) understands.
        let intent_path = format!("/v1/payment_intents/{}", path_segment(provider_payment_id)?);
        let form = vec![("payment_method".to_owned(), token.to_owned())];
        let attach_key = format!("attach-{provider_payment_id}-{token}");
        match self.client.call::<PaymentIntent>(Method::POST, &intent_path, &form, Some(&attach_key)).await {
            Ok(intent) if intent.status != "requires_confirmation" => return Ok(outcome_of(&intent)),
            Ok(_) => {}
            Err(CallError::Api { status, error }) if status.as_u16() == 402 => {
                return Ok(GatewayOutcome::Declined {
                    reason: error.map(|e| e.error.summary()).unwrap_or_else(|| "card_declined".to_owned()),
                });
            }
            Err(e) => return Err(e.into_gateway_error()),
        }
        let path = format!("{intent_path}/confirm");
        let key = format!("confirm-{provider_payment_id}-{token}");
        match self.client.call::<PaymentIntent>(Method::POST, &path, &[], Some(&key)).await {
            Ok(intent) => Ok(outcome_of(&intent)),
            // A decline answers 402; the PaymentIntent now carries the error.
            Err(CallError::Api { status, error }) if status.as_u16() == 402 => Ok(GatewayOutcome::Declined {
                reason: error.map(|e| e.error.summary()).unwrap_or_else(|| "card_declined".to_owned()),
            }),
            Err(e) => Err(e.into_gateway_error()),
        }
    }

    /// The latest charge's balance transaction fee, its Radar outcome
    /// (`risk_level`, `risk_score`) and card fingerprint: `GET
    /// /v1/payment_intents/{id}?expand[]=latest_charge.balance_transaction`.
    async fn charge_facts(&self, payment: &Payment) -> Result<Option<ChargeFacts>, GatewayError> {
        let id = payment.provider_payment_id.as_deref().ok_or(GatewayError::UnknownPayment)?;
        let path = format!("/v1/payment_intents/{}?expand[]=latest_charge.balance_transaction", path_segment(id)?);
        let intent: wire::IntentWithCharge =
            self.client.call(Method::GET, &path, &[], None).await.map_err(CallError::into_gateway_error)?;
        facts_of(&intent)
    }

    async fn cancel(&self, provider_payment_id: &str) -> Result<(), GatewayError> {
        let path = format!("/v1/payment_intents/{}/cancel", path_segment(provider_payment_id)?);
        let key = format!("cancel-{provider_payment_id}");
        match self.client.call::<PaymentIntent>(Method::POST, &path, &[], Some(&key)).await {
            Ok(_) => Ok(()),
            Err(e) => {
                // Already cancelled is what we wanted.
                let intent = self.retrieve(provider_payment_id).await?;
                if intent.status == "canceled" { Ok(()) } else { Err(e.into_gateway_error()) }
            }
        }
    }

    async fn status(&self, provider_payment_id: &str) -> Result<GatewayOutcome, GatewayError> {
        Ok(outcome_of(&self.retrieve(provider_payment_id).await?))
    }

    /// Reads the PaymentMethod a `pm_…` token names. One Stripe does not
    /// know (or that is no card) has no fingerprint: the confirmation
    /// itself then answers for the token.
    async fn card_fingerprint(&self, token: &str) -> Result<Option<String>, GatewayError> {
        if !token.starts_with("pm_") {
            return Ok(None);
        }
        let path = format!("/v1/payment_methods/{}", path_segment(token)?);
        match self.client.call::<wire::PaymentMethodDetails>(Method::GET, &path, &[], None).await {
            Ok(method) => Ok(method.card.and_then(|card| card.fingerprint)),
            Err(CallError::Api { status, .. }) if status.is_client_error() => Ok(None),
            Err(e) => Err(e.into_gateway_error()),
        }
    }
}

#[async_trait]
impl RefundGateway for StripeGateway {
    async fn refund(
        &self,
        provider_payment_id: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayRefund, GatewayError> {
        let (minor, _) = wire::amount(amount);
        let form = vec![
            ("payment_intent".to_owned(), path_segment(provider_payment_id)?.to_owned()),
            ("amount".to_owned(), minor.to_string()),
            (format!("metadata[{REFUND_ID_METADATA_KEY}]"), idempotency_key.to_owned()),
        ];
        let refund: Refund = self
            .client
            .call(Method::POST, "/v1/refunds", &form, Some(&format!("refund-{idempotency_key}")))
            .await
            .map_err(CallError::into_gateway_error)?;
        let state = refund_state(&refund);
        Ok(GatewayRefund { provider_refund_id: refund.id, state })
    }

    async fn refund_status(&self, provider_refund_id: &str) -> Result<GatewayRefundState, GatewayError> {
        let refund: Refund = self
            .client
            .call(Method::GET, &format!("/v1/refunds/{}", path_segment(provider_refund_id)?), &[], None)
            .await
            .map_err(CallError::into_gateway_error)?;
        Ok(refund_state(&refund))
    }

    /// `GET /v1/refunds?payment_intent=…`, page after page.
    async fn refunds_of(&self, provider_payment_id: &str) -> Result<Vec<GatewayRefundRecord>, GatewayError> {
        let intent = path_segment(provider_payment_id)?;
        let mut records = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut path = format!("/v1/refunds?payment_intent={intent}&limit={REFUND_PAGE}");
            if let Some(last) = &after {
                path.push_str(&format!("&starting_after={}", path_segment(last)?));
            }
            let page: wire::List<Refund> =
                self.client.call(Method::GET, &path, &[], None).await.map_err(CallError::into_gateway_error)?;
            after = page.data.last().map(|r| r.id.clone());
            for refund in page.data {
                records.push(record_of(refund)?);
            }
            if !page.has_more || after.is_none() {
                return Ok(records);
            }
        }
    }

    /// The fee its balance transaction gives back: `GET
    /// /v1/refunds/{id}?expand[]=balance_transaction`.
    async fn fee_returned(&self, provider_refund_id: &str, currency: Currency) -> Result<Option<Money>, GatewayError> {
        let path = format!("/v1/refunds/{}?expand[]=balance_transaction", path_segment(provider_refund_id)?);
        let refund: wire::RefundWithBalance =
            self.client.call(Method::GET, &path, &[], None).await.map_err(CallError::into_gateway_error)?;
        fee_returned_of(&refund, currency)
    }

    /// The refund's PaymentIntent, through its Charge when the refund was
    /// made against the charge.
    async fn payment_of_refund(&self, provider_refund_id: &str) -> Result<String, GatewayError> {
        let refund: Refund = self
            .client
            .call(Method::GET, &format!("/v1/refunds/{}", path_segment(provider_refund_id)?), &[], None)
            .await
            .map_err(CallError::into_gateway_error)?;
        if let Some(intent) = refund.payment_intent {
            return Ok(intent);
        }
        let charge = refund.charge.ok_or(GatewayError::UnknownPayment)?;
        let charge: wire::Charge = self
            .client
            .call(Method::GET, &format!("/v1/charges/{}", path_segment(&charge)?), &[], None)
            .await
            .map_err(CallError::into_gateway_error)?;
        charge.payment_intent.ok_or(GatewayError::UnknownPayment)
    }
}

/// A listed Refund as the domain sees it.
fn record_of(refund: Refund) -> Result<GatewayRefundRecord, GatewayError> {
    let currency = Currency::from_code(&refund.currency.to_ascii_uppercase())
        .map_err(|_| GatewayError::InvalidRequest(format!("refund {} in an unsupported currency", refund.id)))?;
    Ok(GatewayRefundRecord {
        amount: Money::from_minor(refund.amount, currency),
        state: refund_state(&refund),
        made_for: refund.metadata.get(REFUND_ID_METADATA_KEY).cloned(),
        provider_refund_id: refund.id,
    })
}

#[cfg(test)]
mod fee_tests {
    use domain::money::Currency;
    use serde_json::json;

    use super::*;

    fn read(intent: serde_json::Value) -> Result<Option<Money>, GatewayError> {
        fee_of(&serde_json::from_value(intent).unwrap())
    }

    #[test]
    fn radars_verdict_and_the_cards_fingerprint_come_with_the_fee() {
        let settled = json!({"latest_charge": {"id": "ch_1", "currency": "usd",
            "balance_transaction": {"id": "txn_1", "fee": 175, "currency": "usd"},
            "outcome": {"network_status": "approved_by_network", "risk_level": "elevated", "risk_score": 63,
                        "type": "authorized"},
            "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242",
                                        "fingerprint": "Xt5EWLLDS7FJjR1c"}}}});
        let facts = facts_of(&serde_json::from_value(settled).unwrap()).unwrap().unwrap();
        assert_eq!(facts.fee, Money::from_minor(175, Currency::USD));
        assert_eq!(
            facts.risk,
            RiskVerdict {
                level: Some("elevated".into()),
                score: Some(63),
                card_fingerprint: Some("Xt5EWLLDS7FJjR1c".into()),
                seller_protection: None
            }
        );
        let bare = json!({"latest_charge": {"id": "ch_1", "currency": "usd",
            "balance_transaction": {"id": "txn_1", "fee": 175, "currency": "usd"}}});
        let facts = facts_of(&serde_json::from_value(bare).unwrap()).unwrap().unwrap();
        assert_eq!(facts.risk, RiskVerdict::default());
    }

    #[test]
    fn the_fee_is_the_expanded_balance_transactions_in_the_charges_currency() {
        let settled = json!({"latest_charge": {"id": "ch_1", "currency": "usd",
            "balance_transaction": {"id": "txn_1", "fee": 175, "currency": "usd"}}});
        assert_eq!(read(settled), Ok(Some(Money::from_minor(175, Currency::USD))));
    }

    #[test]
    fn no_charge_or_no_balance_transaction_yet_is_no_fee_yet() {
        assert_eq!(read(json!({"latest_charge": null})), Ok(None));
        assert_eq!(read(json!({"latest_charge": "ch_1"})), Ok(None));
        assert_eq!(
            read(json!({"latest_charge": {"id": "ch_1", "currency": "usd", "balance_transaction": null}})),
            Ok(None)
        );
    }

    #[test]
    fn a_fee_settled_in_another_currency_is_refused() {
        let converted = json!({"latest_charge": {"id": "ch_1", "currency": "usd",
            "balance_transaction": {"id": "txn_1", "fee": 160, "currency": "eur"}}});
        assert!(matches!(read(converted), Err(GatewayError::InvalidRequest(_))));
    }

    fn returned(refund: serde_json::Value) -> Result<Option<Money>, GatewayError> {
        fee_returned_of(&serde_json::from_value(refund).unwrap(), Currency::USD)
    }

    #[test]
    fn a_refund_gives_back_the_negative_fee_of_its_balance_transaction() {
        let kept = json!({"id": "re_1", "currency": "usd",
            "balance_transaction": {"id": "txn_2", "fee": 0, "currency": "usd"}});
        assert_eq!(returned(kept), Ok(Some(Money::zero(Currency::USD))), "Stripe keeps its fee on refunds");
        let given_back = json!({"id": "re_1", "currency": "usd",
            "balance_transaction": {"id": "txn_2", "fee": -59, "currency": "usd"}});
        assert_eq!(returned(given_back), Ok(Some(Money::from_minor(59, Currency::USD))));
        assert_eq!(returned(json!({"id": "re_1", "currency": "usd", "balance_transaction": "txn_2"})), Ok(None));
        let converted = json!({"id": "re_1", "currency": "usd",
            "balance_transaction": {"id": "txn_2", "fee": -50, "currency": "eur"}});
        assert!(matches!(returned(converted), Err(GatewayError::InvalidRequest(_))));
    }
}
