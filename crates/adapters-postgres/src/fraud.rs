//! The fraud controls' storage (migration `000034_fraud_controls`): rules
//! and the block list (audited by trigger), attempt slots and decisions.
//!
//! Screening is one transaction (at a payment's creation for its payer, at
//! a card confirmation for the card): an advisory lock per subject of the
//! attempt, in one order, so that two attempts of one user never count at
//! the same time; then the blocks and counts, the pure decision, and what
//! it writes.

use std::net::IpAddr;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::upsert::excluded;
use domain::fraud::{
    Action, Attempt, Block, Decision, Fired, FraudRule, Outcome, REFUND_HISTORY, RecordedDecision, RefundHistory,
    RefundScreening, RefundTally, Signal, Subject, Tally, decide_attempt, decide_refund,
};
use domain::ids::{FraudBlockId, FraudDecisionId, FraudRuleId, PaymentId, UserId};
use domain::payment::PaymentStatus;
use domain::ports::{DecisionQuery, FraudStore, StoreError};
use domain::usecases::Actor;
use ipnet::IpNet;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::decided_by;
use crate::errors::{corrupt, store_error, store_transaction};
use crate::pool::PgStore;
use crate::schema::{fraud_attempts, fraud_blocks, fraud_decisions, fraud_rules, payments};

type RuleRow = (Uuid, String, String, String, i32, i32, String, Option<i32>, bool, DateTime<Utc>, DateTime<Utc>);

fn rule_columns() -> (
    fraud_rules::id,
    fraud_rules::name,
    fraud_rules::subject,
    fraud_rules::signal,
    fraud_rules::limit_count,
    fraud_rules::window_seconds,
    fraud_rules::action,
    fraud_rules::stop_seconds,
    fraud_rules::enabled,
    fraud_rules::created_at,
    fraud_rules::updated_at,
) {
    use fraud_rules::*;
    (id, name, subject, signal, limit_count, window_seconds, action, stop_seconds, enabled, created_at, updated_at)
}

fn rule_of(row: RuleRow) -> Result<FraudRule, StoreError> {
    let (id, name, subject, signal, limit, window, action, stop, enabled, created_at, updated_at) = row;
    Ok(FraudRule {
        id: FraudRuleId::from_uuid(id),
        name,
        subject: subject.parse().map_err(|_| corrupt("fraud rule subject"))?,
        signal: signal.parse().map_err(|_| corrupt("fraud rule signal"))?,
        limit: u32::try_from(limit).map_err(|_| corrupt("fraud rule limit"))?,
        window: TimeDelta::seconds(i64::from(window)),
        action: action.parse().map_err(|_| corrupt("fraud rule action"))?,
        stop_for: stop.map(|s| TimeDelta::seconds(i64::from(s))),
        enabled,
        created_at,
        updated_at,
    })
}

/// What an admin sets of a rule: every column but its id and creation
/// time (a `None` stop is written as NULL).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = fraud_rules, treat_none_as_null = true)]
struct RuleFields<'a> {
    name: &'a str,
    subject: &'static str,
    signal: &'static str,
    limit_count: i32,
    window_seconds: i32,
    action: &'static str,
    stop_seconds: Option<i32>,
    enabled: bool,
    updated_at: DateTime<Utc>,
}

impl<'a> RuleFields<'a> {
    fn of(rule: &'a FraudRule) -> Result<Self, StoreError> {
        Ok(RuleFields {
            name: &rule.name,
            subject: rule.subject.as_str(),
            signal: rule.signal.as_str(),
            limit_count: i32::try_from(rule.limit).map_err(|_| corrupt("fraud rule limit"))?,
            window_seconds: seconds(rule.window)?,
            action: rule.action.as_str(),
            stop_seconds: rule.stop_for.map(seconds).transpose()?,
            enabled: rule.enabled,
            updated_at: rule.updated_at,
        })
    }
}

/// The rules, oldest first: every one, or only the enabled ones counting
/// one of `signals`.
fn load_rules(conn: &mut PgConnection, signals: Option<&[Signal]>) -> Result<Vec<FraudRule>, StoreError> {
    let mut query = fraud_rules::table.select(rule_columns()).into_boxed();
    if let Some(signals) = signals {
        let names: Vec<&str> = signals.iter().map(Signal::as_str).collect();
        query = query.filter(fraud_rules::enabled.eq(true)).filter(fraud_rules::signal.eq_any(names));
    }
    query
        .order((fraud_rules::created_at, fraud_rules::id))
        .load::<RuleRow>(conn)
        .map_err(store_error)?
        .into_iter()
        .map(rule_of)
        .collect()
}

/// Seconds as stored (the domain keeps rules within 90 days).
fn seconds(delta: TimeDelta) -> Result<i32, StoreError> {
    i32::try_from(delta.num_seconds()).map_err(|_| StoreError::Corrupt("a fraud rule duration out of range".into()))
}

#[derive(Queryable, QueryableByName, Selectable)]
#[diesel(table_name = fraud_blocks)]
struct BlockRow {
    id: Uuid,
    subject: String,
    value: String,
    reason: String,
    expires_at: Option<DateTime<Utc>>,
    created_by: Option<i64>,
    rule_id: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl BlockRow {
    fn into_domain(self) -> Result<Block, StoreError> {
        Ok(Block {
            id: FraudBlockId::from_uuid(self.id),
            subject: self.subject.parse().map_err(|_| corrupt("fraud block subject"))?,
            value: self.value,
            reason: self.reason,
            expires_at: self.expires_at,
            created_by: self.created_by.map(UserId::new),
            rule_id: self.rule_id.map(FraudRuleId::from_uuid),
            created_at: self.created_at,
        })
    }
}

#[derive(QueryableByName)]
struct TallyRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = BigInt)]
    attempts: i64,
    #[diesel(sql_type = BigInt)]
    declines: i64,
    #[diesel(sql_type = BigInt)]
    in_flight: i64,
}

/// Each enabled rule's counts for the attempt's subjects within its window.
const TALLIES_SQL: &str = "\
SELECT r.id,
       count(a.payment_id) AS attempts,
       count(a.payment_id) FILTER (WHERE a.state = 'declined') AS declines,
       count(a.payment_id) FILTER (WHERE a.state = 'in_flight') AS in_flight
FROM fraud_rules r
JOIN unnest($1::text[], $2::text[]) AS s(subject, value) ON s.subject = r.subject
LEFT JOIN fraud_attempts a ON a.subject = r.subject AND a.value = s.value
     AND a.created_at > $3 - make_interval(secs => r.window_seconds)
WHERE r.enabled AND r.signal IN ('attempts', 'declines')
GROUP BY r.id";

/// A payer's refunds asked for (not rejected or failed) since `$2`, and
/// their payments paid since then; `$1` the user.
const REFUND_HISTORY_SQL: &str = "\
SELECT (SELECT count(*) FROM refunds f JOIN payments p ON p.id = f.payment_id
         WHERE p.user_id = $1 AND f.origin = 'request' AND f.status NOT IN ('rejected', 'failed')
           AND f.created_at > $2) AS refunds,
       (SELECT count(*) FROM payments WHERE user_id = $1 AND completed_at > $2) AS paid";

/// Each enabled refunds rule's count of the payer's refunds within its
/// window ending at `$2`; `$1` the user.
const REFUND_TALLIES_SQL: &str = "\
SELECT r.id,
       (SELECT count(*) FROM refunds f JOIN payments p ON p.id = f.payment_id
         WHERE p.user_id = $1 AND f.origin = 'request' AND f.status NOT IN ('rejected', 'failed')
           AND f.created_at > $2 - make_interval(secs => r.window_seconds)) AS refunds
FROM fraud_rules r
WHERE r.enabled AND r.signal = 'refunds'";

#[derive(QueryableByName)]
struct HistoryRow {
    #[diesel(sql_type = BigInt)]
    refunds: i64,
    #[diesel(sql_type = BigInt)]
    paid: i64,
}

#[derive(QueryableByName)]
struct RefundTallyRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = BigInt)]
    refunds: i64,
}

/// Screens a refund request (see [`FraudStore::screen_refund`]).
fn screen_refund_in(
    conn: &mut PgConnection,
    user: UserId,
    payment: PaymentId,
    at: DateTime<Utc>,
) -> Result<RefundScreening, StoreError> {
    let history: HistoryRow = diesel::sql_query(REFUND_HISTORY_SQL)
        .bind::<BigInt, _>(user.get())
        .bind::<Timestamptz, _>(at - REFUND_HISTORY)
        .get_result(conn)
        .map_err(store_error)?;
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    let history = RefundHistory { refunds: count(history.refunds), paid: count(history.paid) };
    let counts: Vec<RefundTallyRow> = diesel::sql_query(REFUND_TALLIES_SQL)
        .bind::<BigInt, _>(user.get())
        .bind::<Timestamptz, _>(at)
        .load(conn)
        .map_err(store_error)?;
    let tallies = if counts.is_empty() {
        Vec::new()
    } else {
        let rules = load_rules(conn, Some(&[Signal::Refunds]))?;
        counts
            .into_iter()
            .filter_map(|row| {
                let rule = rules.iter().find(|r| r.id.uuid() == row.id)?.clone();
                Some(RefundTally { rule, refunds: u64::try_from(row.refunds).unwrap_or(0) })
            })
            .collect()
    };
    let screening = decide_refund(history, &tallies);
    if screening.needs_two_admins() {
        record_decision(conn, payment, user, Outcome::Review, &screening.fired, at)?;
    }
    Ok(screening)
}

/// The live blocks matching the attempt: by value, or by address range.
const MATCHING_BLOCKS_SQL: &str = "\
SELECT id, subject, value, reason, expires_at, created_by, rule_id, created_at
FROM fraud_blocks
WHERE (expires_at IS NULL OR expires_at > $4)
  AND ((subject, value) IN (SELECT * FROM unnest($1::text[], $2::text[]))
       OR (address_range IS NOT NULL AND $3::inet <<= address_range))";

fn fired_json(fired: &[Fired]) -> Value {
    Value::Array(
        fired
            .iter()
            .map(|f| {
                json!({
                    "rule_id": f.rule_id.map(|id| id.to_string()),
                    "block_id": f.block_id.map(|id| id.to_string()),
                    "name": f.name,
                    "action": f.action.as_str(),
                    "why": f.why,
                })
            })
            .collect(),
    )
}

fn fired_of(value: &Value) -> Result<Vec<Fired>, StoreError> {
    let items = value.as_array().ok_or_else(|| corrupt("fraud decision"))?;
    items
        .iter()
        .map(|item| {
            let text = |key: &str| item.get(key).and_then(Value::as_str);
            Ok(Fired {
                rule_id: text("rule_id").and_then(|s| s.parse().ok()),
                block_id: text("block_id").and_then(|s| s.parse().ok()),
                name: text("name").unwrap_or_default().to_owned(),
                action: text("action").and_then(|s| s.parse::<Action>().ok()).ok_or_else(|| corrupt("fraud action"))?,
                why: text("why").unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

/// Records a decision in which something fired.
fn record_decision(
    conn: &mut PgConnection,
    payment: PaymentId,
    user: UserId,
    outcome: Outcome,
    fired: &[Fired],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::insert_into(fraud_decisions::table)
        .values((
            fraud_decisions::id.eq(Uuid::now_v7()),
            fraud_decisions::payment_id.eq(payment.uuid()),
            fraud_decisions::user_id.eq(user.get()),
            fraud_decisions::outcome.eq(outcome.as_str()),
            fraud_decisions::fired.eq(fired_json(fired)),
            fraud_decisions::created_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
        .map_err(store_error)
}

/// Screens inside the caller's transaction (see [`FraudStore::screen`]).
fn screen_in(conn: &mut PgConnection, attempt: &Attempt, settled: bool) -> Result<Decision, StoreError> {
    let subjects = attempt.subjects();
    for (subject, value) in &subjects {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<Text, _>(format!("fraud:{}:{value}", subject.as_str()))
            .execute(conn)
            .map_err(store_error)?;
    }
    let names: Vec<&str> = subjects.iter().map(|(s, _)| s.as_str()).collect();
    let values: Vec<&str> = subjects.iter().map(|(_, v)| v.as_str()).collect();
    let blocks = diesel::sql_query(MATCHING_BLOCKS_SQL)
        .bind::<Array<Text>, _>(&names)
        .bind::<Array<Text>, _>(&values)
        .bind::<Nullable<diesel::sql_types::Inet>, _>(attempt.client_address.map(|a| IpNet::from(a.to_canonical())))
        .bind::<Timestamptz, _>(attempt.at)
        .load::<BlockRow>(conn)
        .map_err(store_error)?
        .into_iter()
        .map(BlockRow::into_domain)
        .collect::<Result<Vec<_>, _>>()?;
    let rules = load_rules(conn, Some(&[Signal::Attempts, Signal::Declines]))?;
    let counts = if rules.is_empty() {
        Vec::new()
    } else {
        diesel::sql_query(TALLIES_SQL)
            .bind::<Array<Text>, _>(&names)
            .bind::<Array<Text>, _>(&values)
            .bind::<Timestamptz, _>(attempt.at)
            .load::<TallyRow>(conn)
            .map_err(store_error)?
    };
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let tallies: Vec<Tally> = counts
        .into_iter()
        .filter_map(|row| {
            let rule = rules.iter().find(|r| r.id.uuid() == row.id)?.clone();
            Some(Tally {
                rule,
                attempts: count(row.attempts),
                declines: count(row.declines),
                in_flight: count(row.in_flight),
            })
        })
        .collect();
    let decision = decide_attempt(attempt, &blocks, &tallies);
    for stop in &decision.stops {
        diesel::insert_into(fraud_blocks::table)
            .values((
                fraud_blocks::id.eq(Uuid::now_v7()),
                fraud_blocks::subject.eq(stop.subject.as_str()),
                fraud_blocks::value.eq(&stop.value),
                fraud_blocks::address_range.eq(address_range(stop.subject, &stop.value)),
                fraud_blocks::reason.eq(&stop.reason),
                fraud_blocks::expires_at.eq(Some(stop.until)),
                fraud_blocks::rule_id.eq(Some(stop.rule_id.uuid())),
                fraud_blocks::created_at.eq(attempt.at),
            ))
            .execute(conn)
            .map_err(store_error)?;
    }
    if !decision.fired.is_empty() {
        let (payment, user) = (attempt.payment_id, attempt.user_id);
        record_decision(conn, payment, user, decision.outcome, &decision.fired, attempt.at)?;
    }
    if decision.outcome != Outcome::Refuse {
        let state = if settled { "done" } else { "in_flight" };
        let slots: Vec<_> = subjects
            .iter()
            .map(|(subject, value)| {
                (
                    fraud_attempts::payment_id.eq(attempt.payment_id.uuid()),
                    fraud_attempts::subject.eq(subject.as_str()),
                    fraud_attempts::value.eq(value.as_str()),
                    fraud_attempts::state.eq(state),
                    fraud_attempts::created_at.eq(attempt.at),
                )
            })
            .collect();
        // A payment confirmed again with another card moves its card slot.
        diesel::insert_into(fraud_attempts::table)
            .values(&slots)
            .on_conflict((fraud_attempts::payment_id, fraud_attempts::subject))
            .do_update()
            .set((
                fraud_attempts::value.eq(excluded(fraud_attempts::value)),
                fraud_attempts::state.eq(excluded(fraud_attempts::state)),
                fraud_attempts::created_at.eq(excluded(fraud_attempts::created_at)),
            ))
            .execute(conn)
            .map_err(store_error)?;
    }
    if decision.outcome == Outcome::Review && attempt.card_fingerprint.is_some() {
        // A card confirmation of a payment already stored: flag it here,
        // in the screening's transaction, to be held once paid.
        diesel::update(payments::table.find(attempt.payment_id.uuid()))
            .set(payments::fraud_review.eq(true))
            .execute(conn)
            .map_err(store_error)?;
    }
    Ok(decision)
}

/// The range column of a block: the address range for an address block.
fn address_range(subject: Subject, value: &str) -> Option<IpNet> {
    match subject {
        Subject::ClientAddress => value.parse::<IpNet>().ok().or_else(|| value.parse::<IpAddr>().ok().map(IpNet::from)),
        Subject::User | Subject::Email | Subject::CardFingerprint => None,
    }
}

/// Settles a payment's attempt slots as its status moves on, in the
/// transaction of the move: a failure is a decline; a payment paid,
/// cancelled or expired ended without one. Other moves change nothing.
pub(crate) fn settle_attempt(conn: &mut PgConnection, payment: PaymentId, to: PaymentStatus) -> QueryResult<()> {
    let state = match to {
        PaymentStatus::Failed => "declined",
        PaymentStatus::Completed | PaymentStatus::InReview | PaymentStatus::Cancelled | PaymentStatus::Expired => {
            "done"
        }
        PaymentStatus::Pending
        | PaymentStatus::Processing
        | PaymentStatus::PartiallyRefunded
        | PaymentStatus::Refunded
        | PaymentStatus::Disputed(_) => return Ok(()),
    };
    diesel::update(
        fraud_attempts::table
            .filter(fraud_attempts::payment_id.eq(payment.uuid()))
            .filter(fraud_attempts::state.eq("in_flight")),
    )
    .set(fraud_attempts::state.eq(state))
    .execute(conn)
    .map(|_| ())
}

#[async_trait]
impl FraudStore for PgStore {
    async fn screen(&self, attempt: Attempt, settled: bool) -> Result<Decision, StoreError> {
        self.run(move |conn| store_transaction(conn, |conn| screen_in(conn, &attempt, settled))).await
    }

    async fn screen_refund(
        &self,
        user: UserId,
        payment: PaymentId,
        at: DateTime<Utc>,
    ) -> Result<RefundScreening, StoreError> {
        self.run(move |conn| store_transaction(conn, |conn| screen_refund_in(conn, user, payment, at))).await
    }

    async fn matching_block(
        &self,
        subject: Subject,
        value: String,
        at: DateTime<Utc>,
    ) -> Result<Option<Block>, StoreError> {
        self.run(move |conn| {
            fraud_blocks::table
                .filter(fraud_blocks::subject.eq(subject.as_str()))
                .filter(fraud_blocks::value.eq(&value))
                .filter(fraud_blocks::expires_at.is_null().or(fraud_blocks::expires_at.gt(at)))
                .select(BlockRow::as_select())
                .first::<BlockRow>(conn)
                .optional()
                .map_err(store_error)?
                .map(BlockRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn prune_attempts(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, StoreError> {
        self.run(move |conn| {
            let deleted = diesel::sql_query(
                "DELETE FROM fraud_attempts WHERE ctid IN \
                 (SELECT ctid FROM fraud_attempts WHERE created_at < $1 LIMIT $2)",
            )
            .bind::<Timestamptz, _>(before)
            .bind::<BigInt, _>(i64::from(limit))
            .execute(conn)
            .map_err(store_error)?;
            Ok(u64::try_from(deleted).unwrap_or(0))
        })
        .await
    }

    async fn release(&self, payment: PaymentId) -> Result<(), StoreError> {
        self.run(move |conn| settle_attempt(conn, payment, PaymentStatus::Cancelled).map_err(store_error)).await
    }

    async fn rules(&self) -> Result<Vec<FraudRule>, StoreError> {
        self.run(|conn| load_rules(conn, None)).await
    }

    async fn create_rule(&self, rule: FraudRule, by: Actor) -> Result<FraudRule, StoreError> {
        self.run(move |conn| {
            store_transaction(conn, |conn| {
                decided_by(conn, Some(by)).map_err(store_error)?;
                let row: RuleRow = diesel::insert_into(fraud_rules::table)
                    .values((
                        fraud_rules::id.eq(rule.id.uuid()),
                        fraud_rules::created_at.eq(rule.created_at),
                        RuleFields::of(&rule)?,
                    ))
                    .returning(rule_columns())
                    .get_result(conn)
                    .map_err(store_error)?;
                rule_of(row)
            })
        })
        .await
    }

    async fn update_rule(&self, rule: FraudRule, by: Actor) -> Result<Option<FraudRule>, StoreError> {
        self.run(move |conn| {
            store_transaction(conn, |conn| {
                decided_by(conn, Some(by)).map_err(store_error)?;
                let row: Option<RuleRow> = diesel::update(fraud_rules::table.find(rule.id.uuid()))
                    .set(RuleFields::of(&rule)?)
                    .returning(rule_columns())
                    .get_result(conn)
                    .optional()
                    .map_err(store_error)?;
                row.map(rule_of).transpose()
            })
        })
        .await
    }

    async fn delete_rule(&self, id: FraudRuleId, by: Actor) -> Result<bool, StoreError> {
        self.run(move |conn| {
            store_transaction(conn, |conn| {
                decided_by(conn, Some(by)).map_err(store_error)?;
                let deleted = diesel::delete(fraud_rules::table.find(id.uuid())).execute(conn).map_err(store_error)?;
                Ok(deleted > 0)
            })
        })
        .await
    }

    async fn blocks(&self, include_expired: bool, now: DateTime<Utc>) -> Result<Vec<Block>, StoreError> {
        self.run(move |conn| {
            let mut query = fraud_blocks::table.select(BlockRow::as_select()).into_boxed();
            if !include_expired {
                query = query.filter(fraud_blocks::expires_at.is_null().or(fraud_blocks::expires_at.gt(now)));
            }
            query
                .order((fraud_blocks::created_at.desc(), fraud_blocks::id.desc()))
                .limit(1000)
                .load::<BlockRow>(conn)
                .map_err(store_error)?
                .into_iter()
                .map(BlockRow::into_domain)
                .collect()
        })
        .await
    }

    async fn add_block(&self, block: Block, by: Actor) -> Result<Block, StoreError> {
        self.run(move |conn| {
            store_transaction(conn, |conn| {
                decided_by(conn, Some(by)).map_err(store_error)?;
                let row: BlockRow = diesel::insert_into(fraud_blocks::table)
                    .values((
                        fraud_blocks::id.eq(block.id.uuid()),
                        fraud_blocks::subject.eq(block.subject.as_str()),
                        fraud_blocks::value.eq(&block.value),
                        fraud_blocks::address_range.eq(address_range(block.subject, &block.value)),
                        fraud_blocks::reason.eq(&block.reason),
                        fraud_blocks::expires_at.eq(block.expires_at),
                        fraud_blocks::created_by.eq(block.created_by.map(|u| u.get())),
                        fraud_blocks::rule_id.eq(block.rule_id.map(|r| r.uuid())),
                        fraud_blocks::created_at.eq(block.created_at),
                    ))
                    .returning(BlockRow::as_returning())
                    .get_result(conn)
                    .map_err(store_error)?;
                row.into_domain()
            })
        })
        .await
    }

    async fn remove_block(&self, id: FraudBlockId, by: Actor) -> Result<bool, StoreError> {
        self.run(move |conn| {
            store_transaction(conn, |conn| {
                decided_by(conn, Some(by)).map_err(store_error)?;
                let deleted = diesel::delete(fraud_blocks::table.find(id.uuid())).execute(conn).map_err(store_error)?;
                Ok(deleted > 0)
            })
        })
        .await
    }

    async fn decisions(&self, query: DecisionQuery) -> Result<Vec<RecordedDecision>, StoreError> {
        self.run(move |conn| {
            let mut select = fraud_decisions::table.into_boxed();
            let limit = if query.payment_ids.is_empty() { 100 } else { 1000 };
            if !query.payment_ids.is_empty() {
                let ids: Vec<Uuid> = query.payment_ids.iter().map(|id| id.uuid()).collect();
                select = select.filter(fraud_decisions::payment_id.eq_any(ids));
            }
            if let Some(user) = query.user_id {
                select = select.filter(fraud_decisions::user_id.eq(user.get()));
            }
            let rows: Vec<(Uuid, Uuid, i64, String, Value, DateTime<Utc>)> = select
                .order((fraud_decisions::created_at.desc(), fraud_decisions::id.desc()))
                .limit(limit)
                .select((
                    fraud_decisions::id,
                    fraud_decisions::payment_id,
                    fraud_decisions::user_id,
                    fraud_decisions::outcome,
                    fraud_decisions::fired,
                    fraud_decisions::created_at,
                ))
                .load(conn)
                .map_err(store_error)?;
            rows.into_iter()
                .map(|(id, payment_id, user_id, outcome, fired, at)| {
                    Ok(RecordedDecision {
                        id: FraudDecisionId::from_uuid(id),
                        payment_id: PaymentId::from_uuid(payment_id),
                        user_id: UserId::new(user_id),
                        outcome: outcome.parse::<Outcome>().map_err(|_| corrupt("fraud outcome"))?,
                        fired: fired_of(&fired)?,
                        at,
                    })
                })
                .collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_blocks_range_is_kept_for_address_blocks_only() {
        assert_eq!(address_range(Subject::ClientAddress, "10.0.0.0/8"), "10.0.0.0/8".parse().ok());
        assert_eq!(address_range(Subject::Email, "a@b.c"), None);
    }
}
