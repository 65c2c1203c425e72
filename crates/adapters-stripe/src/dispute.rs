//! Disputes at Stripe: read, contest with evidence, or accept.

use adapters_http::Method;
use async_trait::async_trait;
use domain::dispute::DisputeStatus;
use domain::money::{Currency, Money};
use domain::ports::{DisputeEvidence, DisputeGateway, GatewayDispute, GatewayError};

use crate::client::CallError;
use crate::gateway::{StripeGateway, path_segment};
use crate::wire;

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
impl DisputeGateway for StripeGateway {
    async fn dispute(&self, provider_dispute_id: &str) -> Result<GatewayDispute, GatewayError> {
        let dispute: wire::Dispute = self
            .client()
            .call(Method::GET, &format!("/v1/disputes/{}", path_segment(provider_dispute_id)?), &[], None)
            .await
            .map_err(CallError::into_gateway_error)?;
        dispute_of(dispute)
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
            self.client().call(Method::POST, &path, &form, Some(&key)).await.map_err(CallError::into_gateway_error)?;
        dispute_of(dispute)
    }

    /// `POST /v1/disputes/{id}/close`: Stripe records the dispute as lost.
    async fn accept_dispute(&self, provider_dispute_id: &str) -> Result<GatewayDispute, GatewayError> {
        let path = format!("/v1/disputes/{}/close", path_segment(provider_dispute_id)?);
        let key = format!("dispute-close-{provider_dispute_id}");
        let dispute: wire::Dispute =
            self.client().call(Method::POST, &path, &[], Some(&key)).await.map_err(CallError::into_gateway_error)?;
        dispute_of(dispute)
    }
}
