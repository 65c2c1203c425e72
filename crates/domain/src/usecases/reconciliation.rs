//! The background sweep over payments left open: each is re-checked with its
//! gateway (a timed-out call's outcome is unknown until asked) and the answer
//! applied through the same path as a webhook; one still unpaid after the
//! expiry time is cancelled at its gateway and expired, giving its coupon
//! use back. It also re-checks gateway payments given up on (failed,
//! cancelled, expired) within `recheck_window`: one its gateway reports
//! paid after all is recovered (`payments::recovery`).

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
    /// How long after giving up on a payment the sweep still asks its
    /// gateway whether it was paid after all.
    pub recheck_window: Duration,
    /// The shortest wait between two such checks of one payment (the wait
    /// grows with the time since it was given up).
    pub recheck_min_wait: Duration,
    /// How long a payment held for review waits for an admin before the
    /// sweep refunds it in full.
    pub review_deadline: Duration,
}

impl Default for SweepPolicy {
    fn default() -> Self {
        Self {
            check_after: Duration::minutes(5),
            expire_after: Duration::hours(1),
            lease: Duration::minutes(5),
            batch: 50,
            recheck_window: Duration::days(7),
            recheck_min_wait: Duration::minutes(10),
            review_deadline: Duration::hours(72),
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
    /// Given-up payments re-checked at their gateway.
    pub rechecked: usize,
    /// Of those, payments found paid after all and recovered.
    pub recovered: usize,
    /// Completed payments whose gateway fee was read and recorded.
    pub fees_recorded: usize,
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
        let given_up = self
            .payments()
            .claim_given_up_payments(now - policy.recheck_window, now, policy.recheck_min_wait, policy.batch)
            .await?;
        report.rechecked = given_up.len();
        for id in given_up {
            match self.reconcile(id).await {
                Ok(payment) if payment.status.is_paid() => report.recovered += 1,
                Ok(_) => {}
                Err(error) => report.failed.push((id, error.to_string())),
            }
        }
        let unrecorded = self
            .payments()
            .claim_unrecorded_fees(now - policy.recheck_window, now, policy.recheck_min_wait, policy.batch)
            .await?;
        for id in unrecorded {
            let Some(payment) = self.payments().find(id).await? else { continue };
            match self.record_gateway_fee(&payment).await {
                Ok(Some(_)) => report.fees_recorded += 1,
                Ok(None) => {}
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
        if payment.created_at >= expire_before && !self.coupon_hold_over(&payment).await? {
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

impl PaymentService {
    /// Whether `payment` holds a use of a limited coupon for longer than
    /// such a hold may last (a shorter expiry than other payments', so a
    /// coupon's uses are not kept from other buyers for an hour).
    async fn coupon_hold_over(&self, payment: &crate::payment::Payment) -> Result<bool, ChangePaymentError> {
        let Some(applied) = &payment.coupon else { return Ok(false) };
        if payment.created_at >= self.now() - self.coupon_holds().hold {
            return Ok(false);
        }
        let coupon = self.coupons().find(applied.coupon_id).await?;
        Ok(coupon.is_some_and(|coupon| coupon.max_uses.is_some()))
    }
}

enum Settled {
    Moved,
    Expired,
    StillOpen,
}
