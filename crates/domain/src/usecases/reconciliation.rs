//! The background sweep over payments left open: each is re-checked with its
//! gateway (a timed-out call's outcome is unknown until asked) and the answer
//! applied through the same path as a webhook; one still unpaid after the
//! expiry time is cancelled at its gateway and expired, giving its coupon
//! use back.

use chrono::Duration;

use crate::ids::PaymentId;
use crate::payment::PaymentStatus;
use crate::ports::{GatewayError, StoreError};
use crate::usecases::payments::{ChangePaymentError, PaymentService};

/// How the sweep behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepPolicy {
    /// Payments younger than this are left to the buyer and webhooks.
    pub check_after: Duration,
    /// Payments still unpaid this long after creation are expired.
    pub expire_after: Duration,
    /// How long a claimed payment is held before another sweep may take it.
    pub lease: Duration,
    /// Payments per sweep.
    pub batch: u32,
}

impl Default for SweepPolicy {
    fn default() -> Self {
        Self {
            check_after: Duration::minutes(5),
            expire_after: Duration::hours(1),
            lease: Duration::minutes(5),
            batch: 50,
        }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Payments claimed and checked.
    pub checked: usize,
    /// Payments the gateway's answer moved (completed, failed, ...).
    pub settled: usize,
    /// Payments expired.
    pub expired: usize,
    /// Payments whose check failed (they are tried again after the lease).
    pub failed: Vec<(PaymentId, String)>,
}

impl PaymentService {
    /// Runs one sweep over open payments (see the module docs).
    pub async fn sweep_open_payments(&self, policy: SweepPolicy) -> Result<SweepReport, StoreError> {
        let now = self.now();
        let claimed = self
            .payments()
            .claim_open_payments(now - policy.check_after, now, now + policy.lease, policy.batch)
            .await?;
        let mut report = SweepReport { checked: claimed.len(), ..SweepReport::default() };
        for id in claimed {
            match self.settle_or_expire(id, now - policy.expire_after).await {
                Ok(Settled::Moved) => report.settled += 1,
                Ok(Settled::Expired) => report.expired += 1,
                Ok(Settled::StillOpen) => {}
                Err(error) => report.failed.push((id, error.to_string())),
            }
        }
        Ok(report)
    }

    async fn settle_or_expire(
        &self,
        id: PaymentId,
        expire_before: chrono::DateTime<chrono::Utc>,
    ) -> Result<Settled, ChangePaymentError> {
        let payment = self.reconcile(id).await?;
        if !matches!(payment.status, PaymentStatus::Pending | PaymentStatus::Processing) {
            return Ok(Settled::Moved);
        }
        if payment.created_at >= expire_before {
            return Ok(Settled::StillOpen);
        }
        // Close the session at the gateway first, so the buyer cannot pay
        // for a payment we have given up on.
        if let (Some(provider_id), Some(gateway)) = (&payment.provider_payment_id, self.gateway_for(payment.method)) {
            match gateway.cancel(provider_id).await {
                Ok(()) | Err(GatewayError::UnknownPayment) => {}
                Err(error) => return Err(ChangePaymentError::Gateway(error)),
            }
        }
        let expired = self.expire(id).await?;
        Ok(if expired.status == PaymentStatus::Expired { Settled::Expired } else { Settled::Moved })
    }
}

enum Settled {
    Moved,
    Expired,
    StillOpen,
}
