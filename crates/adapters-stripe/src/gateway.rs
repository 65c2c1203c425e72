//! The payment gateway port over Stripe PaymentIntents.
//!
//! The buyer confirms a PaymentIntent with Stripe.js using its client
//! secret; Skillpay then re-reads the PaymentIntent (confirm endpoint,
//! webhooks, reconciliation) and applies what Stripe says. A `pm_...`
//! payment method token given to confirm is confirmed server-side.

use async_trait::async_trait;
use domain::dispute::DisputeStatus;
use domain::money::{Currency, Money};
use domain::payment::{Payment, PaymentMethod};
use domain::ports::{
    ClientSecret, DisputeEvidence, GatewayDispute, GatewayError, GatewayOutcome, GatewayRefund, GatewayRefundState,
    GatewaySession, NextAction, PaymentGateway,
};
use reqwest::Method;

use crate::client::{CallError, StripeClient};
use crate::config::StripeConfig;
use crate::wire::{self, PaymentIntent, Refund, amount};

/// Metadata key carrying Skillpay's payment id on the PaymentIntent.
pub const PAYMENT_ID_METADATA_KEY: &str = "skillpay_payment_id";

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

/// What a PaymentIntent's status means for the payment.
pub(crate) fn outcome_of(intent: &PaymentIntent) -> GatewayOutcome {
    match intent.status.as_str() {
        "succeeded" => GatewayOutcome::Succeeded,
        "processing" | "requires_capture" => GatewayOutcome::Processing,
        "canceled" => GatewayOutcome::Canceled,
        "requires_action" => match &intent.client_secret {
            Some(secret) => GatewayOutcome::RequiresAction(NextAction::StripeConfirm {
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

/// A Dispute as the domain sees it; the one mapping every dispute call uses.
fn dispute_of(dispute: wire::Dispute) -> Result<GatewayDispute, GatewayError> {
    let currency = Currency::from_code(&dispute.currency.to_ascii_uppercase())
        .map_err(|_| GatewayError::InvalidRequest("dispute in an unsupported currency".to_owned()))?;
    // `warning_closed` is Stripe's own; `charge_refunded` means the
    // charge was refunded while inquired: the inquiry ends.
    let status = match dispute.status.as_str() {
        "charge_refunded" => DisputeStatus::WarningClosed,
        other => DisputeStatus::parse(other)
            .ok_or_else(|| GatewayError::Unavailable(format!("unknown dispute status {other}")))?,
    };
    Ok(GatewayDispute {
        provider_payment_id: dispute.payment_intent.ok_or(GatewayError::UnknownPayment)?,
        amount: Money::from_minor(dispute.amount, currency),
        reason: dispute.reason.unwrap_or_else(|| "general".to_owned()),
        status,
        evidence_due_by: dispute
            .evidence_details
            .and_then(|e| e.due_by)
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
    })
}

/// The form fields of a dispute update carrying `evidence`, submitted.
fn evidence_form(evidence: &DisputeEvidence) -> Vec<(String, String)> {
    let mut form = vec![("evidence[uncategorized_text]".to_owned(), evidence.explanation.clone())];
    if let Some(product) = &evidence.product_description {
        form.push(("evidence[product_description]".to_owned(), product.clone()));
    }
    if let Some(email) = &evidence.customer_email {
        form.push(("evidence[customer_email_address]".to_owned(), email.clone()));
    }
    form.push(("submit".to_owned(), "true".to_owned()));
    form
}

/// A short hex digest of a form: idempotency keys must not carry the
/// evidence itself (it can hold the buyer's email), only tell it apart.
fn form_digest(form: &[(String, String)]) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for (name, value) in form {
        for part in [name, value] {
            context.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
            context.update(part.as_bytes());
        }
    }
    hex::encode(&context.finish().as_ref()[..EVIDENCE_DIGEST_BYTES])
}

/// Bytes of the evidence digest kept in an idempotency key (128 bits).
const EVIDENCE_DIGEST_BYTES: usize = 16;

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
            next_action: NextAction::StripeConfirm { client_secret: ClientSecret::new(client_secret) },
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
        ];
        let refund: Refund = self
            .client
            .call(Method::POST, "/v1/refunds", &form, Some(&format!("refund-{idempotency_key}")))
            .await
            .map_err(CallError::into_gateway_error)?;
        let state = refund_state(&refund);
        Ok(GatewayRefund { provider_refund_id: refund.id, state })
    }

    /// `POST /v1/disputes/{id}` with the evidence and `submit=true`: Stripe
    /// sends it to the bank at once (no draft is left to finish). The key
    /// names the dispute and a digest of the evidence, so a retried call
    /// submits once while different evidence later is a new request.
    async fn submit_dispute_evidence(
        &self,
        provider_dispute_id: &str,
        evidence: &DisputeEvidence,
    ) -> Result<GatewayDispute, GatewayError> {
        let path = format!("/v1/disputes/{}", path_segment(provider_dispute_id)?);
        let form = evidence_form(evidence);
        let key = format!("dispute-evidence-{provider_dispute_id}-{}", form_digest(&form));
        let dispute: wire::Dispute =
            self.client.call(Method::POST, &path, &form, Some(&key)).await.map_err(CallError::into_gateway_error)?;
        dispute_of(dispute)
    }

    /// `POST /v1/disputes/{id}/close`: Stripe records the dispute as lost.
    async fn accept_dispute(&self, provider_dispute_id: &str) -> Result<GatewayDispute, GatewayError> {
        let path = format!("/v1/disputes/{}/close", path_segment(provider_dispute_id)?);
        let key = format!("dispute-close-{provider_dispute_id}");
        let dispute: wire::Dispute =
            self.client.call(Method::POST, &path, &[], Some(&key)).await.map_err(CallError::into_gateway_error)?;
        dispute_of(dispute)
    }

    async fn dispute(&self, provider_dispute_id: &str) -> Result<GatewayDispute, GatewayError> {
        let dispute: wire::Dispute = self
            .client
            .call(Method::GET, &format!("/v1/disputes/{}", path_segment(provider_dispute_id)?), &[], None)
            .await
            .map_err(CallError::into_gateway_error)?;
        dispute_of(dispute)
    }

    async fn refund_status(&self, provider_refund_id: &str) -> Result<GatewayRefundState, GatewayError> {
        let refund: Refund = self
            .client
            .call(Method::GET, &format!("/v1/refunds/{}", path_segment(provider_refund_id)?), &[], None)
            .await
            .map_err(CallError::into_gateway_error)?;
        Ok(refund_state(&refund))
    }
}
