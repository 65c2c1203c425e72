//! What a gateway gives back of its processing fee when a payment is
//! refunded. PayPal returns part of its fee with a refund; Stripe keeps it
//! (its refund's balance transaction says so with a zero fee). The figure
//! is read after the refund has succeeded, by the sweep, because a gateway
//! may report it later, and recorded once: on the refund, as a lower net
//! gateway fee of its payment, and as a journal giving it back to whoever
//! bears gateway fees. It waits for the payment's own fee to be recorded,
//! so the return never comes before the fee it returns.

use chrono::{DateTime, Duration, Utc};

use super::{RefundError, RefundService};
use crate::ids::{JournalId, RefundId};
use crate::ledger::gateway_fee_return_journal;
use crate::money::Money;
use crate::ports::StoreError;
use crate::refund::{Refund, RefundStatus};

/// What one pass over refunds' fee returns did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeeReturnReport {
    /// Refunds whose fee return was read and recorded.
    pub recorded: usize,
    /// Refunds whose read failed (tried again later).
    pub failed: Vec<(RefundId, String)>,
}

impl RefundService {
    /// Reads and records the fee returned with each processed gateway
    /// refund of the last `window` that lacks it (at most `limit`, each at
    /// most every `min_wait`, less often the older it is).
    pub async fn record_fee_returns(
        &self,
        window: Duration,
        min_wait: Duration,
        limit: u32,
    ) -> Result<FeeReturnReport, StoreError> {
        let now: DateTime<Utc> = self.ports.clock.now();
        let claimed = self.ports.refunds.claim_unrecorded_fee_returns(now - window, now, min_wait, limit).await?;
        let mut report = FeeReturnReport::default();
        for id in claimed {
            let Some(refund) = self.ports.refunds.find(id).await? else { continue };
            match self.record_fee_returned(&refund).await {
                Ok(Some(_)) => report.recorded += 1,
                Ok(None) => {}
                Err(error) => report.failed.push((id, error.to_string())),
            }
        }
        Ok(report)
    }

    /// Reads what the gateway gave back of its fee with `refund` and
    /// records it; answers the figure, or `None` while the gateway has not
    /// reported it (or the refund is not a processed gateway refund).
    pub async fn record_fee_returned(&self, refund: &Refund) -> Result<Option<Money>, RefundError> {
        if refund.gateway_fee_returned.is_some() {
            return Ok(refund.gateway_fee_returned);
        }
        let Some(provider_refund_id) = refund.provider_refund_id.as_deref() else { return Ok(None) };
        if refund.status != RefundStatus::Processed {
            return Ok(None);
        }
        let payment = self.ports.payments.find(refund.payment_id).await?.ok_or(RefundError::NotFound)?;
        if payment.gateway_fee.is_none() {
            return Ok(None);
        }
        let Some(gateway) = self.ports.gateways.refunds(payment.method) else { return Ok(None) };
        let currency = refund.amount.currency();
        let Some(returned) = gateway.fee_returned(provider_refund_id, currency).await.map_err(RefundError::Gateway)?
        else {
            return Ok(None);
        };
        // Back to whoever bore the fee, as recorded with it, whatever the
        // setting says now; a fee written without a bearer (by hand) is the
        // platform's, as the statistics count it.
        let bearer = payment.gateway_fee_bearer.unwrap_or(crate::ledger::FeeBearer::Platform);
        let journal = gateway_fee_return_journal(
            JournalId::from_uuid(self.ports.ids.new_id()),
            &payment,
            returned,
            bearer,
            self.ports.clock.now(),
        )?;
        Ok(match self.ports.refunds.record_fee_returned(refund.id, returned, journal).await? {
            Some(recorded) => recorded.gateway_fee_returned,
            // Recorded meanwhile by another sweep.
            None => self.ports.refunds.find(refund.id).await?.and_then(|r| r.gateway_fee_returned),
        })
    }
}
