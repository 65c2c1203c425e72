//! A payment the customer paid for is never lost.
//!
//! Skillpay gives up on a payment (declined, cancelled, expired) after
//! ending its session at the gateway, but a success can still arrive: the
//! buyer paid in the moment before the session closed, or the gateway
//! could not be told. When the gateway reports a given-up payment paid (a
//! webhook, or the sweep's re-check of payments given up in the last
//! days), the customer has paid, and Skillpay either
//!
//! - **completes** it (`failed → completed` and the like, through
//!   [`PaymentEvent::Recover`]): its sale journal, its coupon use taken
//!   again, `payment.completed`, exactly as a completion; or, when it can
//!   no longer be delivered (the item was withdrawn, the coupon used up
//!   meanwhile),
//! - **refunds it in full at once**: the payment is completed without its
//!   coupon use and without `payment.completed` (nothing is delivered),
//!   with its sale journal, then a refund of origin `recovery` goes to the
//!   gateway through the usual refund path.
//!
//! Either way an item of the "needs attention" list, written with the
//! change, says what happened.

use crate::attention::{AttentionKind, NewAttention};
use crate::catalog::Availability;
use crate::payment::{Payment, PaymentEvent, Transition};
use crate::ports::{ChangeOutcome, GatewayOutcome, RedemptionChange, StoreError};

use super::{ChangePaymentError, PaymentService, STATUS_CHANGE_ATTEMPTS};
use crate::usecases::refunds::RefundError;

/// Why a paid payment cannot be delivered.
const ITEM_WITHDRAWN: &str = "the course or event is no longer on sale";

impl PaymentService {
    /// Asks the gateway whether a given-up payment was paid after all and,
    /// if so, recovers it (see the module docs). Any other answer leaves it
    /// as it is: an approval not captured is not captured now.
    pub(crate) async fn recheck_given_up(&self, payment: Payment) -> Result<Payment, ChangePaymentError> {
        let (Some(provider_id), Some(gateway)) = (&payment.provider_payment_id, self.gateway_for(payment.method))
        else {
            return Ok(payment);
        };
        match gateway.status(provider_id).await.map_err(ChangePaymentError::Gateway)? {
            GatewayOutcome::Succeeded => self.recover(payment).await,
            _ => Ok(payment),
        }
    }

    /// Completes, or completes and refunds, a given-up payment its gateway
    /// reports paid.
    async fn recover(&self, payment: Payment) -> Result<Payment, ChangePaymentError> {
        let given_up = describe_given_up(&payment);
        let item = self.ports.catalog.find(payment.item).await?;
        let on_sale = item.is_some_and(|item| item.availability == Availability::Active);
        let refused = if on_sale {
            let detail = format!("{given_up} when its gateway reported it paid: completed");
            match self.apply_recovery(&payment, Delivery::Deliver, detail).await? {
                Recovered::Done(payment) | Recovered::AlreadyPaid(payment) => return Ok(payment),
                Recovered::CouponRefused(reason) => format!("its coupon cannot be used again ({reason})"),
            }
        } else {
            ITEM_WITHDRAWN.to_owned()
        };
        let detail = format!("{given_up} when its gateway reported it paid; {refused}: refunded in full");
        let completed = match self.apply_recovery(&payment, Delivery::RefundInFull, detail).await? {
            Recovered::Done(payment) => payment,
            // Another delivery recovered it, and refunds it.
            Recovered::AlreadyPaid(payment) => return Ok(payment),
            // A change without a coupon use cannot be refused for one.
            Recovered::CouponRefused(_) => {
                return Err(StoreError::Corrupt("a coupon refusal of a change without a coupon use".to_owned()).into());
            }
        };
        // Only the call that committed the recovery refunds it, so a
        // redelivered event never asks for a second refund. A refund the
        // gateway does not take at once stays `processing` (an admin's
        // approval asks again) and the attention item stays open.
        if let Some(refunds) = &self.recovery_refunds {
            match refunds.refund_recovered(completed.id, format!("paid after it was given up; {refused}")).await {
                Ok(_) | Err(RefundError::Gateway(_)) => {}
                Err(RefundError::Store(error)) => return Err(error.into()),
                Err(other) => {
                    return Err(StoreError::Corrupt(format!("refunding a recovered payment: {other}")).into());
                }
            }
        }
        Ok(self.ports.payments.find(completed.id).await?.unwrap_or(completed))
    }

    /// The recovery's one guarded change, re-read and re-decided if the
    /// payment moved meanwhile.
    async fn apply_recovery(
        &self,
        payment: &Payment,
        delivery: Delivery,
        detail: String,
    ) -> Result<Recovered, ChangePaymentError> {
        for _ in 0..STATUS_CHANGE_ATTEMPTS {
            let current = self.ports.payments.find(payment.id).await?.ok_or(ChangePaymentError::NotFound)?;
            let Transition::Changed(to) = current.status.apply(PaymentEvent::Recover)? else {
                return Ok(Recovered::AlreadyPaid(current));
            };
            // A completion like any other, but for the coupon use (taken
            // again, or none for what is not delivered), the completion
            // event (none for what is not delivered) and the note.
            let mut change = self.describe_change(&current, to, None)?;
            let kind = match delivery {
                Delivery::Deliver => {
                    change.redemption = current.coupon.as_ref().and(Some(RedemptionChange::Reclaim));
                    AttentionKind::PaidAfterGivingUp
                }
                Delivery::RefundInFull => {
                    change.redemption = None;
                    change.outbox.clear();
                    AttentionKind::PaidUndeliverableRefunded
                }
            };
            change.attention = Some(NewAttention {
                id: self.ports.ids.new_id(),
                kind,
                payment_id: current.id,
                detail: detail.clone(),
                at: change.at,
            });
            match self.ports.payments.apply(change).await? {
                ChangeOutcome::Applied(updated) => return Ok(Recovered::Done(*updated)),
                ChangeOutcome::StatusMoved => continue,
                ChangeOutcome::CouponRefused(reason) => return Ok(Recovered::CouponRefused(reason)),
            }
        }
        Err(ChangePaymentError::Contended)
    }
}

/// Whether a recovered payment is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// Completed as if it had never been given up.
    Deliver,
    /// Completed without its coupon use or its completion event, to be
    /// refunded in full.
    RefundInFull,
}

enum Recovered {
    /// This call recovered it.
    Done(Payment),
    /// It was paid already: recovered (or completed) by someone else.
    AlreadyPaid(Payment),
    CouponRefused(crate::coupon::CouponRejection),
}

/// "payment pay_… was failed (card_declined)", for the attention note.
fn describe_given_up(payment: &Payment) -> String {
    match &payment.failure_reason {
        Some(reason) => format!("payment {} was {} ({reason})", payment.id, payment.status),
        None => format!("payment {} was {}", payment.id, payment.status),
    }
}
