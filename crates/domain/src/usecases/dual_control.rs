//! Two-person approval of large money movements: a refund or payout above
//! the configured amount is carried out only when a second admin, not the
//! first, approves it. The API and the console both go through here.
//!
//! The threshold is per currency, and it bounds what one admin moves alone,
//! not each object: the refunds of one payment, and the payouts of one
//! instructor, that one admin approved alone within the window add up, so
//! five partial refunds of 1,000.00 cannot each slip under a 1,000.00
//! threshold. The requester of a movement with a stake in it (an admin who
//! is also the instructor paid) may be one of the two approvers but never
//! the only one.

use std::sync::Arc;

use chrono::Duration;

use crate::ids::UserId;
use crate::money::Money;
use crate::per_currency::PerCurrency;
use crate::ports::{ApprovalStore, Clock, SoleApproval, StoreError};

/// How far back one admin's sole approvals add up by default.
pub const DEFAULT_WINDOW_HOURS: i64 = 24;

/// When a second admin must approve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondApprovalPolicy {
    /// The most one admin moves alone per currency (exclusive threshold); a
    /// currency without an amount always needs two admins. `None`: one
    /// admin suffices for any amount.
    pub above: Option<PerCurrency>,
    /// How far back an admin's sole approvals of one payment's refunds, or
    /// of one instructor's payouts, count towards the threshold.
    pub window: Duration,
}

impl Default for SecondApprovalPolicy {
    fn default() -> Self {
        Self { above: None, window: Duration::hours(DEFAULT_WINDOW_HOURS) }
    }
}

/// What one admin may approve alone in a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoleLimit {
    /// Any amount: dual control is off.
    Any,
    /// Up to this sum over the window.
    UpTo(Money),
    /// Nothing: the currency has no threshold, so two admins always.
    Nothing,
}

impl SecondApprovalPolicy {
    /// What one admin may approve alone in `amount`'s currency.
    pub fn sole_limit(&self, amount: Money) -> SoleLimit {
        match &self.above {
            None => SoleLimit::Any,
            Some(limits) => limits.money(amount.currency()).map_or(SoleLimit::Nothing, SoleLimit::UpTo),
        }
    }
}

/// A movement an admin approves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    /// The refund's or payout's id.
    pub object_id: String,
    /// What its sole approvals add up with: `payment:<id>` for a refund,
    /// `instructor:<id>` for a payout.
    pub group: String,
    /// Its amount.
    pub amount: Money,
    /// Who asked for it, when known.
    pub requester: Option<UserId>,
    /// Whether one admin may approve it alone (within the thresholds);
    /// false when a fraud rule sent it to two admins.
    pub sole_allowed: bool,
    /// Whether it moves live money (its announcement goes to the
    /// endpoints of its mode).
    pub livemode: bool,
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

impl Approval {
    /// What `admin`'s approval amounts to once `first` approved first: the
    /// second person carries it out, the first one waits.
    pub fn after(first: UserId, admin: UserId) -> Self {
        if first == admin { Approval::AwaitingSecond { first } } else { Approval::Proceed }
    }
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
    pub fn policy(&self) -> &SecondApprovalPolicy {
        &self.policy
    }

    /// `admin` approves `request`. Alone when the admin is not its
    /// requester and the admin's sole approvals in its group within the
    /// window, this one included, stay within the threshold (decided and
    /// recorded atomically, so concurrent approvals cannot both slip under
    /// it); otherwise it takes two admins: the first approval is kept
    /// whatever the races (one per object), the same admin approving again
    /// is still the first, and another admin proceeds.
    pub async fn approve(&self, request: ApprovalRequest, admin: UserId) -> Result<Approval, StoreError> {
        let now = self.clock.now();
        // The sum this admin may still approve alone, if any may be.
        let sole_limit = match self.policy.sole_limit(request.amount) {
            _ if !request.sole_allowed => None,
            SoleLimit::Any => return Ok(Approval::Proceed),
            SoleLimit::UpTo(limit) if request.requester != Some(admin) && request.amount.minor() <= limit.minor() => {
                Some(limit)
            }
            SoleLimit::UpTo(_) | SoleLimit::Nothing => None,
        };
        // Already approved once: this is the second approval (or the same
        // admin again), not one this admin gives alone.
        if let Some(first) = self.store.first_approver(request.object_id.clone()).await? {
            return Ok(Approval::after(first, admin));
        }
        if let Some(limit) = sole_limit {
            let approval = SoleApproval {
                object_id: request.object_id.clone(),
                group: request.group,
                admin,
                amount: request.amount,
                at: now,
            };
            if self.store.approve_alone(approval, now - self.policy.window, limit).await? {
                return Ok(Approval::Proceed);
            }
        }
        let announce = crate::approval::AwaitedApproval {
            kind: crate::approval::AwaitedApproval::kind_of(&request.object_id),
            object_id: request.object_id.clone(),
            amount: Some(request.amount),
            livemode: request.livemode,
            first_admin: admin,
            requested_at: now,
        };
        let first = self.store.first_approval(request.object_id, admin, now, Some(announce)).await?;
        Ok(Approval::after(first, admin))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use chrono::{DateTime, Utc};
    use futures::executor::block_on;
    use rust_decimal::Decimal;

    use super::*;
    use crate::money::Currency;
    use crate::ports::SystemClock;

    /// Sole approvals and first approvals in memory.
    #[derive(Default)]
    struct Approvals {
        sole: Mutex<Vec<SoleApproval>>,
        first: Mutex<HashMap<String, UserId>>,
    }

    #[async_trait]
    impl ApprovalStore for Approvals {
        async fn first_approver(&self, object_id: String) -> Result<Option<UserId>, StoreError> {
            Ok(self.first.lock().unwrap().get(&object_id).copied())
        }
        async fn first_approval(
            &self,
            object_id: String,
            admin: UserId,
            _: DateTime<Utc>,
            _: Option<crate::approval::AwaitedApproval>,
        ) -> Result<UserId, StoreError> {
            Ok(*self.first.lock().unwrap().entry(object_id).or_insert(admin))
        }
        async fn approve_alone(
            &self,
            approval: SoleApproval,
            since: DateTime<Utc>,
            limit: Money,
        ) -> Result<bool, StoreError> {
            let mut sole = self.sole.lock().unwrap();
            if sole.iter().any(|s| s.object_id == approval.object_id) {
                return Ok(true);
            }
            let sum: i64 = sole
                .iter()
                .filter(|s| s.group == approval.group && s.admin == approval.admin && s.at >= since)
                .filter(|s| s.amount.currency() == approval.amount.currency())
                .map(|s| s.amount.minor())
                .sum();
            let within = sum + approval.amount.minor() <= limit.minor();
            if within {
                sole.push(approval);
            }
            Ok(within)
        }
    }

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    fn control(above: &str) -> DualControl {
        let policy = SecondApprovalPolicy { above: Some(PerCurrency::parse(above).unwrap()), ..Default::default() };
        DualControl::new(policy, Arc::new(Approvals::default()), Arc::new(SystemClock))
    }

    fn refund(id: &str, amount: Money) -> ApprovalRequest {
        ApprovalRequest {
            object_id: id.into(),
            group: "payment:1".into(),
            amount,
            requester: None,
            sole_allowed: true,
            livemode: true,
        }
    }

    const ONE: UserId = UserId::new(1);
    const TWO: UserId = UserId::new(2);

    #[test]
    fn only_amounts_above_the_currencys_threshold_need_two_admins() {
        let dual = control("USD:1000.00,JPY:150000");
        assert_eq!(block_on(dual.approve(refund("a", usd(100_000)), ONE)).unwrap(), Approval::Proceed);
        let big = ApprovalRequest { group: "payment:2".into(), ..refund("b", usd(100_001)) };
        assert_eq!(block_on(dual.approve(big, ONE)).unwrap(), Approval::AwaitingSecond { first: ONE });
        // 1,001 yen is about 7 USD: one admin.
        let yen = ApprovalRequest { group: "payment:3".into(), ..refund("c", Money::from_minor(1001, Currency::JPY)) };
        assert_eq!(block_on(dual.approve(yen, ONE)).unwrap(), Approval::Proceed);
        // A currency without a threshold always needs two.
        let euros = ApprovalRequest { group: "payment:4".into(), ..refund("d", Money::from_minor(1, Currency::EUR)) };
        assert_eq!(block_on(dual.approve(euros, ONE)).unwrap(), Approval::AwaitingSecond { first: ONE });
        let off = SecondApprovalPolicy::default();
        assert_eq!(off.sole_limit(usd(i64::MAX)), SoleLimit::Any);
    }

    #[test]
    fn one_admins_sole_approvals_in_a_group_add_up_and_a_second_admin_carries_on() {
        let dual = control("USD:1000.00");
        assert_eq!(block_on(dual.approve(refund("r1", usd(60_000)), ONE)).unwrap(), Approval::Proceed);
        // 600 + 600 > 1,000: the second partial refund needs another admin.
        assert_eq!(
            block_on(dual.approve(refund("r2", usd(60_000)), ONE)).unwrap(),
            Approval::AwaitingSecond { first: ONE }
        );
        assert_eq!(block_on(dual.approve(refund("r2", usd(60_000)), TWO)).unwrap(), Approval::Proceed);
        // Approving again what one already approved alone stays alone.
        assert_eq!(block_on(dual.approve(refund("r1", usd(60_000)), ONE)).unwrap(), Approval::Proceed);
        // Another admin's own sum starts at zero (a second approval is not
        // one given alone); another group's too.
        assert_eq!(block_on(dual.approve(refund("r3", usd(60_000)), TWO)).unwrap(), Approval::Proceed);
        assert_eq!(block_on(dual.approve(refund("r5", usd(40_000)), TWO)).unwrap(), Approval::Proceed);
        let other = ApprovalRequest { group: "payment:9".into(), ..refund("r4", usd(60_000)) };
        assert_eq!(block_on(dual.approve(other, ONE)).unwrap(), Approval::Proceed);
    }

    #[test]
    fn the_requester_is_never_the_only_approver() {
        let dual = control("USD:1000.00");
        let own = ApprovalRequest { requester: Some(ONE), ..refund("r1", usd(500)) };
        assert_eq!(block_on(dual.approve(own.clone(), ONE)).unwrap(), Approval::AwaitingSecond { first: ONE });
        assert_eq!(block_on(dual.approve(own, TWO)).unwrap(), Approval::Proceed);
    }

    #[test]
    fn a_request_a_fraud_rule_flagged_takes_two_admins_whatever_its_amount() {
        let off =
            DualControl::new(SecondApprovalPolicy::default(), Arc::new(Approvals::default()), Arc::new(SystemClock));
        for dual in [control("USD:1000.00"), off] {
            let flagged = ApprovalRequest { sole_allowed: false, ..refund("r1", usd(100)) };
            assert_eq!(block_on(dual.approve(flagged.clone(), ONE)).unwrap(), Approval::AwaitingSecond { first: ONE });
            assert_eq!(block_on(dual.approve(flagged, TWO)).unwrap(), Approval::Proceed);
        }
    }

    #[test]
    fn the_threshold_rounds_a_star_amount_up_to_whole_minor_units() {
        let policy =
            SecondApprovalPolicy { above: Some(PerCurrency::every(Decimal::new(105, 1))), ..Default::default() };
        let yen = Money::from_minor(11, Currency::JPY);
        assert_eq!(policy.sole_limit(yen), SoleLimit::UpTo(yen));
    }
}
