//! Two-person approval of large money movements: a refund or payout above
//! the configured amount is carried out only when a second admin, not the
//! first, approves it. The API and the console both go through here.

use std::sync::Arc;

use rust_decimal::Decimal;

use crate::ids::UserId;
use crate::money::Money;
use crate::ports::{ApprovalStore, Clock, StoreError};

/// Above which amount (in major units of the amount's currency) a second
/// admin must approve; `None`: one admin suffices for any amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SecondApprovalPolicy {
    /// The threshold, exclusive.
    pub above_major: Option<Decimal>,
}

impl SecondApprovalPolicy {
    /// Whether `amount` needs two admins.
    pub fn applies_to(&self, amount: Money) -> bool {
        let Some(limit) = self.above_major else { return false };
        let major = Decimal::new(amount.minor(), u32::from(amount.currency().exponent()));
        major > limit
    }
}

/// What an admin's approval amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// Carry it out (one admin suffices, or this is the second).
    Proceed,
    /// Recorded as the first approval; another admin must approve.
    AwaitingSecond {
        /// Who approved first.
        first: UserId,
    },
}

/// Records approvals and decides whether one may proceed.
#[derive(Clone)]
pub struct DualControl {
    policy: SecondApprovalPolicy,
    store: Arc<dyn ApprovalStore>,
    clock: Arc<dyn Clock>,
}

impl DualControl {
    /// Dual control with `policy` over `store`.
    pub fn new(policy: SecondApprovalPolicy, store: Arc<dyn ApprovalStore>, clock: Arc<dyn Clock>) -> Self {
        Self { policy, store, clock }
    }

    /// The policy in force.
    pub fn policy(&self) -> SecondApprovalPolicy {
        self.policy
    }

    /// `admin` approves the movement of `amount` named `object_id`. The
    /// first approval is kept whatever the races (the store keeps one per
    /// object); the same admin approving again is still the first.
    pub async fn approve(&self, object_id: String, amount: Money, admin: UserId) -> Result<Approval, StoreError> {
        if !self.policy.applies_to(amount) {
            return Ok(Approval::Proceed);
        }
        let first = self.store.first_approval(object_id, admin, self.clock.now()).await?;
        Ok(if first == admin { Approval::AwaitingSecond { first } } else { Approval::Proceed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::ports::{MockApprovalStore, SystemClock};

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::from_code("USD").unwrap())
    }

    fn control(first: i64) -> DualControl {
        let mut store = MockApprovalStore::new();
        store.expect_first_approval().returning(move |_, _, _| Ok(UserId::new(first)));
        DualControl::new(
            SecondApprovalPolicy { above_major: Some(Decimal::from(1000)) },
            Arc::new(store),
            Arc::new(SystemClock),
        )
    }

    #[test]
    fn only_amounts_above_the_threshold_need_two_admins() {
        let policy = SecondApprovalPolicy { above_major: Some(Decimal::from(1000)) };
        assert!(!policy.applies_to(usd(100_000)));
        assert!(policy.applies_to(usd(100_001)));
        let jpy = Money::from_minor(1001, Currency::from_code("JPY").unwrap());
        assert!(policy.applies_to(jpy));
        assert!(!SecondApprovalPolicy::default().applies_to(usd(i64::MAX)));
    }

    #[test]
    fn the_first_admin_waits_and_a_second_admin_proceeds() {
        use futures::executor::block_on;
        let first = control(1);
        assert_eq!(
            block_on(first.approve("re_x".into(), usd(200_000), UserId::new(1))).unwrap(),
            Approval::AwaitingSecond { first: UserId::new(1) }
        );
        assert_eq!(block_on(first.approve("re_x".into(), usd(200_000), UserId::new(2))).unwrap(), Approval::Proceed);
        assert_eq!(block_on(first.approve("re_y".into(), usd(500), UserId::new(1))).unwrap(), Approval::Proceed);
    }
}
