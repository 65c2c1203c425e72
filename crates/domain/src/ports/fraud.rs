//! Port for the fraud controls: the rules and block list admins keep, the
//! screening of attempts (counts and slots under a lock per subject), and
//! the decisions recorded.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::fraud::{Attempt, Block, Decision, FraudRule, RecordedDecision};
use crate::ids::{FraudBlockId, FraudRuleId, PaymentId, UserId};
use crate::usecases::Actor;

/// Which decisions to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionQuery {
    /// Only these payments' (all of theirs); none: the newest 100.
    pub payment_ids: Vec<PaymentId>,
    /// Only this user's.
    pub user_id: Option<UserId>,
}

/// Stores fraud rules, blocks, attempt slots and decisions.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait FraudStore: Send + Sync {
    /// Screens `attempt` in one transaction, under a lock per subject
    /// (taken in [`Attempt::subjects`] order): reads the live blocks
    /// matching it and each enabled rule's counts, decides with
    /// [`crate::fraud::decide_attempt`], records the decision, adds a
    /// block for each stop, and unless refused takes the attempt's slot
    /// for each subject: in flight, or settled at once when `settled` (a
    /// free payment no gateway sees).
    async fn screen(&self, attempt: Attempt, settled: bool) -> Result<Decision, StoreError>;
    /// Deletes up to `limit` attempt slots taken before `before` (no rule
    /// counts that far back); answers how many.
    async fn prune_attempts(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, StoreError>;
    /// Settles the slots of an attempt that ended without a decline before
    /// reaching the gateway (it was not stored, or no session opened).
    async fn release(&self, payment: PaymentId) -> Result<(), StoreError>;
    /// Every rule, oldest first.
    async fn rules(&self) -> Result<Vec<FraudRule>, StoreError>;
    /// Stores a new rule, on `by`'s decision (audited).
    async fn create_rule(&self, rule: FraudRule, by: Actor) -> Result<FraudRule, StoreError>;
    /// Replaces a rule, on `by`'s decision (audited); `None` when there is
    /// no such rule.
    async fn update_rule(&self, rule: FraudRule, by: Actor) -> Result<Option<FraudRule>, StoreError>;
    /// Deletes a rule (audited); false when there was none.
    async fn delete_rule(&self, id: FraudRuleId, by: Actor) -> Result<bool, StoreError>;
    /// The block list, newest first; expired entries only when asked.
    async fn blocks(&self, include_expired: bool, now: DateTime<Utc>) -> Result<Vec<Block>, StoreError>;
    /// Adds an entry to the block list (audited).
    async fn add_block(&self, block: Block, by: Actor) -> Result<Block, StoreError>;
    /// Removes an entry (audited); false when there was none.
    async fn remove_block(&self, id: FraudBlockId, by: Actor) -> Result<bool, StoreError>;
    /// Screens a refund request of `payment` by `user` at `at`: their
    /// refunds and paid payments over [`crate::fraud::REFUND_HISTORY`],
    /// and each enabled refunds rule's count, decided with
    /// [`crate::fraud::decide_refund`]; records a decision when a rule
    /// fired.
    async fn screen_refund(
        &self,
        user: UserId,
        payment: PaymentId,
        at: DateTime<Utc>,
    ) -> Result<crate::fraud::RefundScreening, StoreError>;
    /// The live entry of the block list naming `value` of `subject` at
    /// `at`, if any.
    async fn matching_block(
        &self,
        subject: crate::fraud::Subject,
        value: String,
        at: DateTime<Utc>,
    ) -> Result<Option<Block>, StoreError>;
    /// The decisions recorded, newest first: every one of the named
    /// payments (at most 1,000), or else the newest 100, of one user's
    /// when named.
    async fn decisions(&self, query: DecisionQuery) -> Result<Vec<RecordedDecision>, StoreError>;
}
