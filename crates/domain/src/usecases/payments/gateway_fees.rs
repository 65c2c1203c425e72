//! The gateway's own fee. Stripe and PayPal keep a processing fee out of
//! every charge; booking the whole amount as received would overstate
//! what the gateway holds for the platform. Once the gateway reports the
//! fee (Stripe: the charge's balance transaction, often settled after the
//! charge; PayPal: the capture's `seller_receivable_breakdown.paypal_fee`),
//! it is recorded on the payment, once, with a journal charging it to its
//! bearer (`PaymentPolicy::gateway_fee_bearer`): the platform as an
//! expense (`gateway_fees`), or the instructor out of the available
//! balance, exact to the cent. The sweep reads the fees of recently
//! completed payments, so no completion waits on an extra gateway call.

use crate::ledger::gateway_fee_journal;
use crate::money::Money;
use crate::payment::Payment;

use super::{ChangePaymentError, PaymentService};

impl PaymentService {
    /// Reads a paid payment's fee at its gateway and records it, once;
    /// the fee now recorded, or `None` while the gateway has not reported
    /// it yet.
    pub async fn record_gateway_fee(&self, payment: &Payment) -> Result<Option<Money>, ChangePaymentError> {
        if payment.gateway_fee.is_some() || !payment.status.is_paid() || payment.provider_payment_id.is_none() {
            return Ok(payment.gateway_fee);
        }
        let gateway = self.gateway_for(payment.method).ok_or(ChangePaymentError::MethodUnavailable(payment.method))?;
        let Some(facts) = gateway.charge_facts(payment).await.map_err(ChangePaymentError::Gateway)? else {
            return Ok(None);
        };
        let fee = facts.fee;
        let at = self.now();
        let bearer = self.policy.gateway_fee_bearer;
        let journal = gateway_fee_journal(self.journal_id(), payment, fee, bearer, at)?;
        let attention = self.risk_attention(payment, &facts.risk, at).await?;
        let recorded = self.ports.payments.record_gateway_fee(payment.id, fee, bearer, journal, facts.risk, attention);
        Ok(match recorded.await? {
            Some(recorded) => recorded.gateway_fee,
            // Recorded meanwhile by another sweep.
            None => self.ports.payments.find(payment.id).await?.and_then(|p| p.gateway_fee),
        })
    }

    /// The "needs attention" item a paid payment's risk verdict calls for:
    /// the gateway's highest risk level, or a card on the block list (the
    /// payment was paid before its card was known, so it is not refused;
    /// an admin decides).
    async fn risk_attention(
        &self,
        payment: &Payment,
        risk: &crate::fraud::RiskVerdict,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<crate::attention::NewAttention>, ChangePaymentError> {
        let blocked = match (&self.fraud, &risk.card_fingerprint) {
            (Some(fraud), Some(fingerprint)) => {
                fraud.matching_block(crate::fraud::Subject::CardFingerprint, fingerprint.clone(), at).await?
            }
            _ => None,
        };
        Ok(risk.alarm(blocked.as_ref()).map(|detail| crate::attention::NewAttention {
            id: self.ports.ids.new_id(),
            kind: crate::attention::AttentionKind::RiskyPayment,
            payment_id: payment.id,
            detail,
            at,
        }))
    }
}
