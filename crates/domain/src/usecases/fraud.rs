//! Fraud controls kept by admins: velocity rules, the block list, and the
//! decisions recorded on payments (see [`crate::fraud`]). Every change is
//! an admin's and is audited by the store.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::actor::admin_text;
use crate::fraud::{Action, Block, BlockValue, FraudRule, RecordedDecision, RuleError, Signal, Subject};
use crate::ids::{FraudBlockId, FraudRuleId};
use crate::ports::{Clock, DecisionQuery, FraudStore, IdGenerator, StoreError};
use crate::usecases::{Actor, Forbidden};

/// A rule as an admin writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInput {
    /// A name for people.
    pub name: String,
    /// What is counted against.
    pub subject: Subject,
    /// What is counted.
    pub signal: Signal,
    /// The count at which it fires.
    pub limit: u32,
    /// How far back is counted.
    pub window: TimeDelta,
    /// What firing does.
    pub action: Action,
    /// How long a subject that reached the limit stays blocked.
    pub stop_for: Option<TimeDelta>,
    /// Whether it applies.
    pub enabled: bool,
}

/// An entry of the block list as an admin writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInput {
    /// What is blocked.
    pub subject: Subject,
    /// Its value (an address range as CIDR).
    pub value: String,
    /// Why.
    pub reason: String,
    /// When it stops applying; never when `None`.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Why a fraud-control request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FraudError {
    /// Only admins keep the fraud controls.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No such rule or block.
    #[error("not found")]
    NotFound,
    /// A field is not acceptable: the field and why.
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RuleError> for FraudError {
    fn from(error: RuleError) -> Self {
        match error {
            RuleError::Field(field, why) => FraudError::Invalid(field, why.to_owned()),
        }
    }
}

/// The fraud controls' use cases.
#[derive(Clone)]
pub struct FraudService {
    store: Arc<dyn FraudStore>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

impl FraudService {
    /// A service over `store`.
    pub fn new(store: Arc<dyn FraudStore>, clock: Arc<dyn Clock>, ids: Arc<dyn IdGenerator>) -> Self {
        Self { store, clock, ids }
    }

    /// Deletes up to `limit` attempt slots older than the longest window a
    /// rule may have ([`crate::fraud::MAX_WINDOW`]): the sweep's upkeep.
    pub async fn prune_attempts(&self, limit: u32) -> Result<u64, StoreError> {
        self.store.prune_attempts(self.clock.now() - crate::fraud::MAX_WINDOW, limit).await
    }

    /// Every rule, oldest first.
    pub async fn rules(&self, actor: Actor) -> Result<Vec<FraudRule>, FraudError> {
        actor.require_admin()?;
        Ok(self.store.rules().await?)
    }

    /// Adds a rule.
    pub async fn create_rule(&self, actor: Actor, input: RuleInput) -> Result<FraudRule, FraudError> {
        actor.require_admin()?;
        let now = self.clock.now();
        let id = FraudRuleId::from_uuid(self.ids.new_id());
        let rule = rule_of(id, input, now, now);
        rule.validate()?;
        Ok(self.store.create_rule(rule, actor).await?)
    }

    /// Replaces a rule's settings.
    pub async fn update_rule(&self, actor: Actor, id: FraudRuleId, input: RuleInput) -> Result<FraudRule, FraudError> {
        actor.require_admin()?;
        let now = self.clock.now();
        // `created_at` is kept by the store.
        let rule = rule_of(id, input, now, now);
        rule.validate()?;
        self.store.update_rule(rule, actor).await?.ok_or(FraudError::NotFound)
    }

    /// Deletes a rule; the decisions that name it keep its name and why.
    pub async fn delete_rule(&self, actor: Actor, id: FraudRuleId) -> Result<(), FraudError> {
        actor.require_admin()?;
        if self.store.delete_rule(id, actor).await? { Ok(()) } else { Err(FraudError::NotFound) }
    }

    /// The block list, newest first (at most 1,000); expired entries only
    /// when asked.
    pub async fn blocks(&self, actor: Actor, include_expired: bool) -> Result<Vec<Block>, FraudError> {
        actor.require_admin()?;
        Ok(self.store.blocks(include_expired, self.clock.now()).await?)
    }

    /// Adds an entry to the block list.
    pub async fn add_block(&self, actor: Actor, input: BlockInput) -> Result<Block, FraudError> {
        actor.require_admin()?;
        let now = self.clock.now();
        let value =
            BlockValue::parse(input.subject, &input.value).map_err(|e| FraudError::Invalid("value", e.0.to_owned()))?;
        let reason = admin_text(&input.reason, 1000)
            .ok_or_else(|| FraudError::Invalid("reason", "must be 1 to 1000 characters".to_owned()))?;
        if input.expires_at.is_some_and(|at| at <= now) {
            return Err(FraudError::Invalid("expires_at", "must be in the future".to_owned()));
        }
        let block = Block {
            id: FraudBlockId::from_uuid(self.ids.new_id()),
            subject: input.subject,
            value: value.text(),
            reason,
            expires_at: input.expires_at,
            created_by: Some(actor.user_id),
            rule_id: None,
            created_at: now,
        };
        Ok(self.store.add_block(block, actor).await?)
    }

    /// Removes an entry of the block list (a rule's stop included).
    pub async fn remove_block(&self, actor: Actor, id: FraudBlockId) -> Result<(), FraudError> {
        actor.require_admin()?;
        if self.store.remove_block(id, actor).await? { Ok(()) } else { Err(FraudError::NotFound) }
    }

    /// The newest 100 decisions in which something fired, of a payment
    /// and/or a user when named, newest first.
    pub async fn decisions(&self, actor: Actor, query: DecisionQuery) -> Result<Vec<RecordedDecision>, FraudError> {
        actor.require_admin()?;
        Ok(self.store.decisions(query).await?)
    }
}

fn rule_of(id: FraudRuleId, input: RuleInput, created_at: DateTime<Utc>, updated_at: DateTime<Utc>) -> FraudRule {
    FraudRule {
        id,
        name: input.name.trim().to_owned(),
        subject: input.subject,
        signal: input.signal,
        limit: input.limit,
        window: input.window,
        action: input.action,
        stop_for: input.stop_for,
        enabled: input.enabled,
        created_at,
        updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::Role;
    use crate::ids::UserId;
    use crate::ports::{MockClock, MockFraudStore, MockIdGenerator};
    use futures::executor::block_on;

    fn service(store: MockFraudStore) -> FraudService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default());
        let mut ids = MockIdGenerator::new();
        ids.expect_new_id().returning(|| uuid::Uuid::from_u128(5));
        FraudService::new(Arc::new(store), Arc::new(clock), Arc::new(ids))
    }

    fn admin() -> Actor {
        Actor::new(UserId::new(1), Role::Admin)
    }

    #[test]
    fn only_admins_keep_the_controls_and_nothing_is_read_for_others() {
        let service = service(MockFraudStore::new());
        let student = Actor::new(UserId::new(2), Role::Student);
        assert_eq!(block_on(service.rules(student)), Err(FraudError::Forbidden(Forbidden)));
        assert_eq!(block_on(service.blocks(student, false)), Err(FraudError::Forbidden(Forbidden)));
    }

    #[test]
    fn a_block_is_normalised_and_names_its_admin() {
        let mut store = MockFraudStore::new();
        store.expect_add_block().returning(|block, _| Ok(block));
        let input = BlockInput {
            subject: Subject::ClientAddress,
            value: "203.0.113.77/24".to_owned(),
            reason: " card testing ".to_owned(),
            expires_at: None,
        };
        let block = block_on(service(store).add_block(admin(), input)).map_err(|e| e.to_string());
        let block = block.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((block.value.as_str(), block.reason.as_str()), ("203.0.113.0/24", "card testing"));
        assert_eq!(block.created_by, Some(UserId::new(1)));
    }

    #[test]
    fn a_bad_value_or_a_past_expiry_is_refused_before_storage() {
        let service = service(MockFraudStore::new());
        let bad = BlockInput { subject: Subject::User, value: "x".into(), reason: "r".into(), expires_at: None };
        assert!(matches!(block_on(service.add_block(admin(), bad)), Err(FraudError::Invalid("value", _))));
        let past = BlockInput {
            subject: Subject::User,
            value: "7".into(),
            reason: "r".into(),
            expires_at: DateTime::from_timestamp(1, 0),
        };
        assert!(matches!(block_on(service.add_block(admin(), past)), Err(FraudError::Invalid("expires_at", _))));
        let rule = RuleInput {
            name: "n".into(),
            subject: Subject::User,
            signal: Signal::Declines,
            limit: 0,
            window: TimeDelta::minutes(10),
            action: Action::Refuse,
            stop_for: None,
            enabled: true,
        };
        assert!(matches!(block_on(service.create_rule(admin(), rule)), Err(FraudError::Invalid("limit", _))));
    }
}
