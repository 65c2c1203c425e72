//! Refunds: their status machine and how a refund splits between the
//! platform's fee and the instructor's earnings.
//!
//! The fee is reversed in proportion to the refunded share of the payment,
//! rounded half-even once ([`Money::proportion`]); the refund that brings
//! the payment to fully refunded takes whatever fee is left, so a payment
//! refunded in any number of parts reverses exactly its fee and earnings.

use chrono::{DateTime, Utc};

use crate::ids::{PaymentId, RefundId, UserId};
use crate::money::{Money, MoneyError};
use crate::payment::{Payment, PaymentStatus};

/// Where a refund is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum RefundStatus {
    /// Asked for; waits for an admin.
    Requested,
    /// Approved; about to go to the gateway.
    Approved,
    /// At the gateway.
    Processing,
    /// The money went back.
    Processed,
    /// Refused by an admin.
    Rejected,
    /// Refused by the gateway.
    Failed,
}

impl RefundStatus {
    /// Every status.
    pub const ALL: [RefundStatus; 6] =
        [Self::Requested, Self::Approved, Self::Processing, Self::Processed, Self::Rejected, Self::Failed];

    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }

    /// Parses a stable name.
    pub fn parse(name: &str) -> Option<RefundStatus> {
        name.parse().ok()
    }

    /// True while the refund counts against the refundable amount.
    pub fn is_live(&self) -> bool {
        !matches!(self, Self::Rejected | Self::Failed)
    }

    /// Applies `event`: the new status, `None` for a repeat or a stale
    /// event, or an error for a move that cannot happen.
    pub fn apply(self, event: RefundEvent) -> Result<Option<RefundStatus>, RefundTransitionError> {
        use RefundEvent as E;
        use RefundStatus as S;
        let illegal = Err(RefundTransitionError { from: self, event });
        match (self, event) {
            (S::Requested, E::Approve) => Ok(Some(S::Approved)),
            (S::Approved | S::Processing | S::Processed, E::Approve) => Ok(None),
            (S::Rejected | S::Failed, E::Approve) => illegal,

            (S::Requested, E::Reject) => Ok(Some(S::Rejected)),
            (S::Rejected, E::Reject) => Ok(None),
            (S::Approved | S::Processing | S::Processed | S::Failed, E::Reject) => illegal,

            (S::Approved, E::StartProcessing) => Ok(Some(S::Processing)),
            (S::Processing | S::Processed | S::Failed, E::StartProcessing) => Ok(None),
            (S::Requested | S::Rejected, E::StartProcessing) => illegal,

            (S::Processing, E::Succeed) => Ok(Some(S::Processed)),
            (S::Processed, E::Succeed) => Ok(None),
            (S::Requested | S::Approved | S::Rejected | S::Failed, E::Succeed) => illegal,

            (S::Processing, E::Fail) => Ok(Some(S::Failed)),
            // A failure arriving after success never undoes it.
            (S::Failed | S::Processed, E::Fail) => Ok(None),
            (S::Requested | S::Approved | S::Rejected, E::Fail) => illegal,
        }
    }
}

/// Where a refund came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum RefundOrigin {
    /// Asked for through the API or the console, and approved there.
    Request,
    /// Made at the gateway (its dashboard, a reversal) and recorded from
    /// the gateway's report, already processed.
    Gateway,
    /// Made by Skillpay itself: money arrived for a payment it could no
    /// longer deliver against, so it went back in full.
    Recovery,
    /// A payment held for review went back in full: refused by an admin,
    /// or not released before the review deadline.
    Review,
}

impl RefundOrigin {
    /// Every origin.
    pub const ALL: [RefundOrigin; 4] = [Self::Request, Self::Gateway, Self::Recovery, Self::Review];

    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// Something that happens to a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundEvent {
    /// An admin approves it.
    Approve,
    /// An admin rejects it.
    Reject,
    /// It is sent to the gateway.
    StartProcessing,
    /// The gateway refunded it.
    Succeed,
    /// The gateway refused it.
    Fail,
}

impl RefundEvent {
    /// Every event.
    pub const ALL: [RefundEvent; 5] = [Self::Approve, Self::Reject, Self::StartProcessing, Self::Succeed, Self::Fail];
}

/// A move a refund's status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {} refund cannot take {event:?}", from.as_str())]
pub struct RefundTransitionError {
    /// Its status.
    pub from: RefundStatus,
    /// The event refused.
    pub event: RefundEvent,
}

/// A refund as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// Its id.
    pub id: RefundId,
    /// The payment refunded.
    pub payment_id: PaymentId,
    /// How much goes back.
    pub amount: Money,
    /// The platform fee part of `amount` (the rest comes off the
    /// instructor's earnings).
    pub platform_fee_reversed: Money,
    /// Where it stands.
    pub status: RefundStatus,
    /// Why it was asked for.
    pub reason: String,
    /// Why an admin rejected it.
    pub rejection_reason: Option<String>,
    /// The gateway's id for it.
    pub provider_refund_id: Option<String>,
    /// Where it came from.
    pub origin: RefundOrigin,
    /// Its payment's mode: live money or test money.
    pub livemode: bool,
    /// Who asked (only a [`RefundOrigin::Request`] has a requester).
    pub requested_by: Option<UserId>,
    /// Asked at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Money went back at.
    pub processed_at: Option<DateTime<Utc>>,
    /// The admin whose approval sent it to the gateway (with two-admin
    /// approval, the second).
    pub approved_by: Option<UserId>,
    /// When it was approved.
    pub approved_at: Option<DateTime<Utc>>,
    /// The deciding admin's note (approval or rejection).
    pub admin_note: Option<String>,
    /// What the gateway gave back of its processing fee with this refund,
    /// as it reported it (negative: it charged more); `None` until read.
    pub gateway_fee_returned: Option<Money>,
    /// For a request: its payer's refunds and paid payments over 90 days
    /// when it was made (see [`crate::fraud::RefundHistory`]).
    pub payer_history: Option<crate::fraud::RefundHistory>,
    /// A refunds rule fired on the request: it takes two admins whatever
    /// its amount.
    pub needs_two_admins: bool,
}

impl Refund {
    /// The instructor's part of the refund.
    pub fn earnings_reversed(&self) -> Result<Money, MoneyError> {
        self.amount.checked_sub(self.platform_fee_reversed)
    }
}

/// What live (not rejected, not failed) refunds of a payment already take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveRefunds {
    /// Their amounts, added.
    pub amount: Money,
    /// Their fee parts, added.
    pub platform_fee_reversed: Money,
}

/// Why a refund cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundPlanError {
    /// Only completed or partly refunded payments are refundable.
    #[error("a {0} payment cannot be refunded")]
    NotRefundable(PaymentStatus),
    /// More than is left to refund.
    #[error("at most {refundable} can be refunded")]
    ExceedsRefundable {
        /// What is left.
        refundable: Money,
    },
    /// The amount is zero or negative.
    #[error("the refund amount must be above zero")]
    NotPositive,
    /// Arithmetic failed.
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// The amount and fee part of a new refund of `payment`, given the live
/// refunds it already has. `amount: None` refunds all that is left.
pub fn plan_refund(
    payment: &Payment,
    live: LiveRefunds,
    amount: Option<Money>,
) -> Result<(Money, Money), RefundPlanError> {
    match payment.status {
        PaymentStatus::Completed | PaymentStatus::PartiallyRefunded => split_refund(payment, live, amount),
        // A payment held for review was never sold: its money goes back
        // whole or not at all.
        PaymentStatus::InReview if amount.is_none_or(|a| a == payment.amount) => split_refund(payment, live, None),
        _ => Err(RefundPlanError::NotRefundable(payment.status)),
    }
}

/// The amount and fee part of a refund the gateway has already made of
/// `payment`, given the processed refunds it already has. Unlike a
/// request, a payment under dispute takes it too: the money has gone back
/// whatever Skillpay thinks of it; only more than is left is refused.
pub fn plan_gateway_refund(
    payment: &Payment,
    processed: LiveRefunds,
    amount: Money,
) -> Result<(Money, Money), RefundPlanError> {
    use crate::payment::SettledStatus as P;
    let refundable_status = matches!(
        payment.status,
        PaymentStatus::Completed
            | PaymentStatus::PartiallyRefunded
            | PaymentStatus::Disputed(P::Completed | P::PartiallyRefunded)
    );
    if !refundable_status {
        return Err(RefundPlanError::NotRefundable(payment.status));
    }
    split_refund(payment, processed, Some(amount))
}

/// The fee part of a refund of `amount` (`None`: all that is left) of
/// `payment` after `live`, checked against what is left.
fn split_refund(
    payment: &Payment,
    live: LiveRefunds,
    amount: Option<Money>,
) -> Result<(Money, Money), RefundPlanError> {
    let refundable = payment.amount.checked_sub(live.amount)?;
    let amount = amount.unwrap_or(refundable);
    if amount.minor() <= 0 {
        return Err(RefundPlanError::NotPositive);
    }
    if amount.compare(&refundable)? == std::cmp::Ordering::Greater {
        return Err(RefundPlanError::ExceedsRefundable { refundable });
    }
    let fee_left = payment.platform_fee.checked_sub(live.platform_fee_reversed)?;
    let fee = if amount == refundable {
        // The last refund takes the rest, so the fee is reversed exactly.
        fee_left
    } else {
        // Cumulative rounding: the fee reversed after this refund is the fee
        // share of everything refunded so far, rounded half-even once; this
        // refund takes the difference. Rounding each part on its own could
        // let many small parts reverse no fee and leave the last refund a
        // fee larger than itself.
        let refunded_after = live.amount.checked_add(amount)?;
        let target = payment.platform_fee.proportion(refunded_after.minor(), payment.amount.minor())?;
        target.checked_sub(live.platform_fee_reversed)?
    };
    // Only a rejected or failed refund between others can leave the running
    // total off by a cent; never reverse less than nothing or more than
    // the refund itself.
    let fee = fee.max_zero().min(amount)?;
    debug_assert!(!fee.is_negative() && fee.compare(&amount).ok() != Some(std::cmp::Ordering::Greater));
    Ok((amount, fee))
}

#[cfg(test)]
mod tests {
    use super::*;
    use RefundEvent as E;
    use RefundStatus as S;

    #[test]
    fn every_status_and_event_pair_follows_the_table() {
        // (status, event) -> expected; anything absent is illegal.
        let table: &[(RefundStatus, RefundEvent, Option<RefundStatus>)] = &[
            (S::Requested, E::Approve, Some(S::Approved)),
            (S::Approved, E::Approve, None),
            (S::Processing, E::Approve, None),
            (S::Processed, E::Approve, None),
            (S::Requested, E::Reject, Some(S::Rejected)),
            (S::Rejected, E::Reject, None),
            (S::Approved, E::StartProcessing, Some(S::Processing)),
            (S::Processing, E::StartProcessing, None),
            (S::Processed, E::StartProcessing, None),
            (S::Failed, E::StartProcessing, None),
            (S::Processing, E::Succeed, Some(S::Processed)),
            (S::Processed, E::Succeed, None),
            (S::Processing, E::Fail, Some(S::Failed)),
            (S::Failed, E::Fail, None),
            (S::Processed, E::Fail, None),
        ];
        for status in RefundStatus::ALL {
            for event in RefundEvent::ALL {
                let expected = table.iter().find(|(s, e, _)| *s == status && *e == event).map(|(_, _, to)| *to);
                match expected {
                    Some(to) => assert_eq!(status.apply(event), Ok(to), "{status:?} + {event:?}"),
                    None => assert!(status.apply(event).is_err(), "{status:?} + {event:?} should be illegal"),
                }
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for status in RefundStatus::ALL {
            assert_eq!(RefundStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(RefundStatus::parse("done"), None);
    }
}

#[cfg(test)]
mod properties {
    use std::str::FromStr;

    use proptest::prelude::*;

    use super::*;
    use crate::builders::PaymentBuilder;
    use crate::ids::PaymentId;
    use crate::money::{Currency, Rate};

    fn paid(amount: i64, fee_basis_points: i64) -> Payment {
        let rate = Rate::from_str(&format!("0.{fee_basis_points:04}")).unwrap();
        PaymentBuilder::new()
            .id(PaymentId::from_uuid(uuid::Uuid::nil()))
            .user(UserId::new(1))
            .instructor(UserId::new(2))
            .price(Money::from_minor(amount, Currency::USD))
            .fee_rate(rate)
            .created_at(chrono::Utc::now())
            .completed()
            .build()
    }

    proptest! {
        /// However a payment is cut into refunds, their fee parts add up to
        /// exactly its fee, each within its refund, none negative.
        #[test]
        fn refunds_in_any_parts_reverse_exactly_the_fee(
            amount in 1_i64..10_000_000_000,
            fee_bp in 0_i64..10_000,
            cuts in proptest::collection::vec(1_i64..1_000_000, 0..40),
        ) {
            let payment = paid(amount, fee_bp);
            let zero = Money::zero(Currency::USD);
            let mut live = LiveRefunds { amount: zero, platform_fee_reversed: zero };
            for cut in cuts {
                let left = payment.amount.minor() - live.amount.minor();
                if left <= 1 { break; }
                // Small parts too: many one-cent refunds are the hard case.
                let part = Money::from_minor(1 + cut % (left - 1).min(if cut % 2 == 0 { 3 } else { i64::MAX }), Currency::USD);
                let (refunded, fee) = plan_refund(&payment, live, Some(part)).unwrap();
                prop_assert_eq!(refunded, part);
                prop_assert!(!fee.is_negative() && fee.minor() <= part.minor());
                live = LiveRefunds {
                    amount: live.amount.checked_add(refunded).unwrap(),
                    platform_fee_reversed: live.platform_fee_reversed.checked_add(fee).unwrap(),
                };
            }
            let (last, fee) = plan_refund(&payment, live, None).unwrap();
            prop_assert_eq!(live.amount.checked_add(last).unwrap(), payment.amount);
            prop_assert_eq!(live.platform_fee_reversed.checked_add(fee).unwrap(), payment.platform_fee);
            prop_assert!(fee.minor() <= last.minor());
            let over = plan_refund(&payment, LiveRefunds { amount: payment.amount, platform_fee_reversed: payment.platform_fee }, None);
            prop_assert!(matches!(over, Err(RefundPlanError::NotPositive)));
        }
    }
}
