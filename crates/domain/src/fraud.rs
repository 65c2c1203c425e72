//! Fraud controls as data: rules an admin keeps (velocity of attempts and
//! declines per user, client address, e-mail or card), a block list, and the
//! decision each screened payment attempt gets, with every rule that fired
//! and why.
//!
//! Deciding is a pure function ([`decide_attempt`]): the storage adapter
//! gathers the counts under a lock per subject and calls it in the same
//! transaction that takes the attempt's slot, so parallel attempts cannot
//! all pass one limit (see docs/fraud.md).

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use ipnet::IpNet;

use crate::ids::{FraudBlockId, FraudDecisionId, FraudRuleId, PaymentId, UserId};

/// Who or what an attempt is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum Subject {
    /// The paying user.
    User,
    /// The client's address (IPv6 counted per /64).
    ClientAddress,
    /// The billing e-mail, lower-cased.
    Email,
    /// The card's fingerprint as the gateway reports it: screened when a
    /// payment is confirmed with a card the gateway describes before
    /// charging it (see [`Attempt::card_fingerprint`]).
    CardFingerprint,
}

impl Subject {
    /// Every subject.
    pub const ALL: [Subject; 4] = [Self::User, Self::ClientAddress, Self::Email, Self::CardFingerprint];

    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// What a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum Signal {
    /// Every attempt that was let through.
    Attempts,
    /// Attempts the gateway declined (and, while undecided, those in
    /// flight: they may yet be declines).
    Declines,
    /// Refunds the user asked for (not rejected or failed), screened when
    /// they ask for another: a rule on it routes the request to two admins.
    Refunds,
}

impl Signal {
    /// Every signal.
    pub const ALL: [Signal; 3] = [Self::Attempts, Self::Declines, Self::Refunds];

    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// What a rule that fires does to the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    /// The payment is held for an admin's review once paid.
    Review,
    /// The attempt is refused before any gateway call.
    Refuse,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 2] = [Self::Review, Self::Refuse];

    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// A screened attempt's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum Outcome {
    /// Goes ahead.
    Allow,
    /// Goes ahead, and is held for review once paid.
    Review,
    /// Refused before any gateway call.
    Refuse,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 3] = [Self::Allow, Self::Review, Self::Refuse];

    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// A velocity rule: at most `limit` of `signal` per `subject` within
/// `window`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FraudRule {
    /// Its id.
    pub id: FraudRuleId,
    /// A name for people ("5 declines in 10 minutes").
    pub name: String,
    /// What is counted against.
    pub subject: Subject,
    /// What is counted.
    pub signal: Signal,
    /// The count at which the rule fires.
    pub limit: u32,
    /// How far back is counted.
    pub window: TimeDelta,
    /// What firing does.
    pub action: Action,
    /// When set, a subject whose confirmed count reached the limit is
    /// blocked for this long (an entry of the block list, which an admin
    /// may remove).
    pub stop_for: Option<TimeDelta>,
    /// Whether it is applied.
    pub enabled: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Why a rule is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// A field is out of range; the field and why.
    #[error("{0}: {1}")]
    Field(&'static str, &'static str),
}

/// The longest window or stop accepted: 90 days.
pub const MAX_WINDOW: TimeDelta = TimeDelta::days(90);

impl FraudRule {
    /// Checks what an admin gave.
    pub fn validate(&self) -> Result<(), RuleError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(RuleError::Field("name", "must be 1 to 200 characters"));
        }
        if self.limit == 0 || self.limit > 100_000 {
            return Err(RuleError::Field("limit", "must be 1 to 100000"));
        }
        if self.window < TimeDelta::seconds(1) || self.window > MAX_WINDOW {
            return Err(RuleError::Field("window_seconds", "must be 1 second to 90 days"));
        }
        if self.signal == Signal::Refunds && (self.subject != Subject::User || self.action != Action::Review) {
            return Err(RuleError::Field("signal", "a refunds rule counts a user's refunds and routes them to review"));
        }
        if let Some(stop) = self.stop_for {
            if stop < TimeDelta::seconds(1) || stop > MAX_WINDOW {
                return Err(RuleError::Field("stop_seconds", "must be 1 second to 90 days"));
            }
            if self.action != Action::Refuse {
                return Err(RuleError::Field("stop_seconds", "only a refusing rule stops a subject"));
            }
        }
        Ok(())
    }
}

/// An entry of the block list: attempts of this subject are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Its id.
    pub id: FraudBlockId,
    /// What is blocked.
    pub subject: Subject,
    /// The blocked value as [`BlockValue`] normalises it.
    pub value: String,
    /// Why, for the admins.
    pub reason: String,
    /// When it stops applying; never when `None`.
    pub expires_at: Option<DateTime<Utc>>,
    /// The admin who added it; `None` when a rule's stop added it.
    pub created_by: Option<UserId>,
    /// The rule whose stop added it.
    pub rule_id: Option<FraudRuleId>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// Why a block-list value is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BlockValueError(pub &'static str);

/// A block-list value, normalised: a user id, an address range, a
/// lower-cased e-mail or a card fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockValue {
    /// A user id.
    User(UserId),
    /// An address or a range of them.
    ClientAddress(IpNet),
    /// An e-mail address, lower-cased.
    Email(String),
    /// A gateway's card fingerprint.
    CardFingerprint(String),
}

impl BlockValue {
    /// Parses `raw` as a value of `subject`.
    pub fn parse(subject: Subject, raw: &str) -> Result<BlockValue, BlockValueError> {
        let raw = raw.trim();
        match subject {
            Subject::User => match raw.parse::<i64>() {
                Ok(id) if id > 0 => Ok(Self::User(UserId::new(id))),
                _ => Err(BlockValueError("a user is blocked by a positive user id")),
            },
            Subject::ClientAddress => raw
                .parse::<IpNet>()
                .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
                .map(|net| Self::ClientAddress(net.trunc()))
                .map_err(|_| BlockValueError("an address is blocked as an address or a CIDR range")),
            Subject::Email => {
                let email = raw.to_lowercase();
                let valid =
                    email.len() <= 254 && email.split_once('@').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty());
                if valid { Ok(Self::Email(email)) } else { Err(BlockValueError("an e-mail is blocked by its address")) }
            }
            Subject::CardFingerprint => {
                let valid = !raw.is_empty() && raw.len() <= 64 && raw.chars().all(|c| c.is_ascii_alphanumeric());
                if valid {
                    Ok(Self::CardFingerprint(raw.to_owned()))
                } else {
                    Err(BlockValueError("a card fingerprint is 1 to 64 letters and digits"))
                }
            }
        }
    }

    /// The value as stored and shown.
    pub fn text(&self) -> String {
        match self {
            Self::User(id) => id.get().to_string(),
            Self::ClientAddress(net) => net.to_string(),
            Self::Email(email) | Self::CardFingerprint(email) => email.clone(),
        }
    }
}

/// What an attempt is counted and matched by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The payment it would create (its id is chosen before screening).
    pub payment_id: PaymentId,
    /// Who pays.
    pub user_id: UserId,
    /// The billing e-mail, if given.
    pub email: Option<String>,
    /// The client's address, if known.
    pub client_address: Option<IpAddr>,
    /// Set when the attempt is a confirmation with a card whose
    /// fingerprint the gateway told before charging it. Such an attempt
    /// is counted against the card alone: its payer was counted when the
    /// payment was created.
    pub card_fingerprint: Option<String>,
    /// When it is made.
    pub at: DateTime<Utc>,
}

impl Attempt {
    /// The subjects it is counted against, with their normalised values
    /// (IPv6 per /64: one host has a whole /64 to hop around in), sorted
    /// so that locks on them are always taken in one order.
    pub fn subjects(&self) -> Vec<(Subject, String)> {
        if let Some(card) = &self.card_fingerprint {
            return vec![(Subject::CardFingerprint, card.clone())];
        }
        let mut subjects = vec![(Subject::User, self.user_id.get().to_string())];
        if let Some(address) = self.client_address {
            subjects.push((Subject::ClientAddress, address_key(address)));
        }
        if let Some(email) = self.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            subjects.push((Subject::Email, email.to_lowercase()));
        }
        subjects.sort();
        subjects
    }

    /// The value counted for `subject`, if the attempt has one.
    pub fn value_of(&self, subject: Subject) -> Option<String> {
        self.subjects().into_iter().find(|(s, _)| *s == subject).map(|(_, v)| v)
    }
}

/// An address as counted: IPv4 whole, IPv6 by its /64 (an IPv4-mapped
/// IPv6 address as the IPv4 one).
pub fn address_key(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => IpNet::new(IpAddr::V6(v6), 64).map(|n| n.trunc().to_string()).unwrap_or_default(),
    }
}

/// The counts of one rule for the attempt's subject within its window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// The rule.
    pub rule: FraudRule,
    /// Attempts let through within the window.
    pub attempts: u64,
    /// Attempts the gateway declined within the window.
    pub declines: u64,
    /// Attempts whose outcome is not known yet within the window.
    pub in_flight: u64,
}

/// One rule that fired, or a block that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// The rule, when a rule fired.
    pub rule_id: Option<FraudRuleId>,
    /// The block, when a block matched.
    pub block_id: Option<FraudBlockId>,
    /// The rule's name, or "block list".
    pub name: String,
    /// What it does.
    pub action: Action,
    /// Why, for the admins ("5 declines for the user in 600 s; limit 5").
    pub why: String,
}

/// A subject blocked by a rule's stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// The rule.
    pub rule_id: FraudRuleId,
    /// What is blocked.
    pub subject: Subject,
    /// Its value.
    pub value: String,
    /// Until when.
    pub until: DateTime<Utc>,
    /// Why, as the block's reason.
    pub reason: String,
}

/// A screening's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What happens to the attempt.
    pub outcome: Outcome,
    /// Every rule that fired and block that matched.
    pub fired: Vec<Fired>,
    /// Subjects to block from now on.
    pub stops: Vec<Stop>,
}

/// A decision as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedDecision {
    /// Its id.
    pub id: FraudDecisionId,
    /// The payment the attempt was for (never stored when refused).
    pub payment_id: PaymentId,
    /// Who attempted.
    pub user_id: UserId,
    /// What happened.
    pub outcome: Outcome,
    /// Why.
    pub fired: Vec<Fired>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Decides an attempt from the blocks that match it and each enabled
/// rule's counts for it.
///
/// A matching block refuses. A rule on attempts fires when the attempts
/// already let through reach its limit; a rule on declines when the
/// declines plus the attempts still in flight do (each of those may yet be
/// a decline, so parallel attempts cannot all slip under the limit). A
/// rule's stop blocks the subject only once the confirmed declines or
/// attempts alone reach the limit: attempts merely in flight stop nobody.
pub fn decide_attempt(attempt: &Attempt, blocks: &[Block], tallies: &[Tally]) -> Decision {
    let mut fired: Vec<Fired> = blocks
        .iter()
        .filter(|b| b.expires_at.is_none_or(|at| at > attempt.at))
        .map(|b| Fired {
            rule_id: None,
            block_id: Some(b.id),
            name: "block list".to_owned(),
            action: Action::Refuse,
            why: format!("{} {} is blocked: {}", b.subject.as_str(), b.value, b.reason),
        })
        .collect();
    let mut stops = Vec::new();
    for tally in tallies.iter().filter(|t| t.rule.enabled && t.rule.signal != Signal::Refunds) {
        let rule = &tally.rule;
        let limit = u64::from(rule.limit);
        let (counted, confirmed, what) = match rule.signal {
            Signal::Attempts | Signal::Refunds => (tally.attempts, tally.attempts, "attempts"),
            Signal::Declines => (tally.declines + tally.in_flight, tally.declines, "declines"),
        };
        if counted < limit {
            continue;
        }
        let pending =
            if counted > confirmed { format!(" ({} still in flight)", counted - confirmed) } else { String::new() };
        let why = format!(
            "{counted} {what}{pending} for this {} in {} s; limit {limit}",
            rule.subject.as_str(),
            rule.window.num_seconds()
        );
        // A subject its own stop already blocks is not stopped again.
        let stopped =
            blocks.iter().any(|b| b.rule_id == Some(rule.id) && b.expires_at.is_none_or(|at| at > attempt.at));
        if let (Some(stop), true, false, Some(value)) =
            (rule.stop_for, confirmed >= limit, stopped, attempt.value_of(rule.subject))
        {
            stops.push(Stop {
                rule_id: rule.id,
                subject: rule.subject,
                value,
                until: attempt.at + stop,
                reason: format!("stopped by rule \"{}\": {why}", rule.name),
            });
        }
        fired.push(Fired { rule_id: Some(rule.id), block_id: None, name: rule.name.clone(), action: rule.action, why });
    }
    let outcome = match fired.iter().map(|f| f.action).max() {
        None => Outcome::Allow,
        Some(Action::Review) => Outcome::Review,
        Some(Action::Refuse) => Outcome::Refuse,
    };
    Decision { outcome, fired, stops }
}

/// The gateway's own verdict on a paid payment, as it reports it with the
/// charge: Stripe's `outcome.risk_level` (`normal`, `elevated`, `highest`)
/// and `risk_score` (0 to 100) and the card's `fingerprint`; PayPal's
/// `seller_protection.status`. Each is absent when the gateway gave none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskVerdict {
    /// The gateway's risk level.
    pub level: Option<String>,
    /// The gateway's risk score.
    pub score: Option<i64>,
    /// The card's fingerprint (the same card gives the same one).
    pub card_fingerprint: Option<String>,
    /// PayPal's seller protection status (`ELIGIBLE`, `PARTIALLY_ELIGIBLE`,
    /// `NOT_ELIGIBLE`).
    pub seller_protection: Option<String>,
}

impl RiskVerdict {
    /// Why a paid payment with this verdict needs an admin's attention, if
    /// it does: the gateway's highest risk level, or a card the block list
    /// names (`blocked`, the block matching its fingerprint).
    pub fn alarm(&self, blocked: Option<&Block>) -> Option<String> {
        if let Some(block) = blocked {
            return Some(format!("paid with a blocked card ({})", block.reason));
        }
        (self.level.as_deref() == Some("highest"))
            .then(|| format!("the gateway rates it highest risk (score {})", self.score.unwrap_or_default()))
    }
}

/// How far back a refund request shows its payer's refunds.
pub const REFUND_HISTORY: TimeDelta = TimeDelta::days(90);

/// A payer's refunds and paid payments over [`REFUND_HISTORY`], shown to
/// the admins deciding their refund request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundHistory {
    /// Refunds they asked for (not rejected or failed), before this one.
    pub refunds: u32,
    /// Their payments paid.
    pub paid: u32,
}

impl RefundHistory {
    /// Refunds per paid payment, in whole percent (0 without payments).
    pub fn rate_percent(&self) -> u32 {
        self.refunds.saturating_mul(100).checked_div(self.paid).unwrap_or(0)
    }
}

/// A refunds rule and the payer's refunds within its window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundTally {
    /// The rule.
    pub rule: FraudRule,
    /// Their refunds within its window, before this one.
    pub refunds: u64,
}

/// A refund request's screening: the payer's history, and the refunds
/// rules that fired (each sends the request to two admins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundScreening {
    /// The payer's last 90 days.
    pub history: RefundHistory,
    /// The rules that fired, with why.
    pub fired: Vec<Fired>,
}

impl RefundScreening {
    /// Whether the request needs two admins.
    pub fn needs_two_admins(&self) -> bool {
        !self.fired.is_empty()
    }
}

/// Screens a refund request: a refunds rule fires when the payer's
/// refunds within its window (this one not counted) reach its limit.
pub fn decide_refund(history: RefundHistory, tallies: &[RefundTally]) -> RefundScreening {
    let fired = tallies
        .iter()
        .filter(|t| t.rule.enabled && t.rule.signal == Signal::Refunds && t.refunds >= u64::from(t.rule.limit))
        .map(|t| Fired {
            rule_id: Some(t.rule.id),
            block_id: None,
            name: t.rule.name.clone(),
            action: Action::Review,
            why: format!(
                "{} refunds by this user in {} s; limit {} ({} % of {} paid in 90 days)",
                t.refunds,
                t.rule.window.num_seconds(),
                t.rule.limit,
                history.rate_percent(),
                history.paid
            ),
        })
        .collect();
    RefundScreening { history, fired }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    fn attempt() -> Attempt {
        Attempt {
            payment_id: PaymentId::from_uuid(uuid::Uuid::from_u128(1)),
            user_id: UserId::new(42),
            email: Some(" Buyer@Example.COM ".to_owned()),
            client_address: "2001:db8:1:2:aaaa::1".parse().ok(),
            card_fingerprint: None,
            at: at(),
        }
    }

    fn rule(signal: Signal, limit: u32, action: Action, stop: Option<i64>) -> FraudRule {
        FraudRule {
            id: FraudRuleId::from_uuid(uuid::Uuid::from_u128(7)),
            name: "velocity".to_owned(),
            subject: Subject::User,
            signal,
            limit,
            window: TimeDelta::minutes(10),
            action,
            stop_for: stop.map(TimeDelta::seconds),
            enabled: true,
            created_at: at(),
            updated_at: at(),
        }
    }

    fn tally(rule: FraudRule, attempts: u64, declines: u64, in_flight: u64) -> Tally {
        Tally { rule, attempts, declines, in_flight }
    }

    #[test]
    fn nothing_fired_allows() {
        let decision =
            decide_attempt(&attempt(), &[], &[tally(rule(Signal::Declines, 5, Action::Refuse, None), 9, 4, 0)]);
        assert_eq!(decision, Decision { outcome: Outcome::Allow, fired: vec![], stops: vec![] });
    }

    #[test]
    fn a_card_confirmation_is_counted_against_the_card_alone_and_stops_it() {
        let card = Attempt { card_fingerprint: Some("Xt5EWLLDS7FJjR1c".to_owned()), ..attempt() };
        assert_eq!(card.subjects(), vec![(Subject::CardFingerprint, "Xt5EWLLDS7FJjR1c".to_owned())]);
        assert_eq!(card.value_of(Subject::User), None, "its payer was counted at creation");
        let mut limit = rule(Signal::Declines, 5, Action::Refuse, Some(3600));
        limit.subject = Subject::CardFingerprint;
        let decision = decide_attempt(&card, &[], &[tally(limit, 5, 5, 0)]);
        assert_eq!(decision.outcome, Outcome::Refuse);
        assert_eq!(
            decision.stops.iter().map(|s| (s.subject, s.value.as_str())).collect::<Vec<_>>(),
            vec![(Subject::CardFingerprint, "Xt5EWLLDS7FJjR1c")]
        );
        assert!(decision.fired[0].why.contains("for this card_fingerprint"), "{}", decision.fired[0].why);
    }

    #[test]
    fn attempts_in_flight_count_as_possible_declines_but_stop_nobody() {
        let limit = rule(Signal::Declines, 5, Action::Refuse, Some(3600));
        let decision = decide_attempt(&attempt(), &[], &[tally(limit, 5, 1, 4)]);
        assert_eq!(decision.outcome, Outcome::Refuse);
        assert_eq!(decision.fired.len(), 1);
        assert!(decision.fired[0].why.contains("4 still in flight"), "{}", decision.fired[0].why);
        assert!(decision.stops.is_empty());
    }

    #[test]
    fn confirmed_declines_at_the_limit_stop_the_subject_for_the_rules_stop() {
        let limit = rule(Signal::Declines, 5, Action::Refuse, Some(3600));
        let decision = decide_attempt(&attempt(), &[], &[tally(limit.clone(), 5, 5, 0)]);
        assert_eq!(decision.outcome, Outcome::Refuse);
        assert_eq!(
            decision.stops,
            vec![Stop {
                rule_id: limit.id,
                subject: Subject::User,
                value: "42".to_owned(),
                until: at() + TimeDelta::hours(1),
                reason: decision.stops[0].reason.clone(),
            }]
        );
        assert!(decision.stops[0].reason.contains("velocity"));
        // Once stopped, later attempts are refused by the stop, not stopped again.
        let stop = Block {
            id: FraudBlockId::from_uuid(uuid::Uuid::from_u128(3)),
            subject: Subject::User,
            value: "42".to_owned(),
            reason: decision.stops[0].reason.clone(),
            expires_at: Some(at() + TimeDelta::hours(1)),
            created_by: None,
            rule_id: Some(limit.id),
            created_at: at(),
        };
        let again = decide_attempt(&attempt(), &[stop], &[tally(limit, 5, 5, 0)]);
        assert_eq!((again.outcome, again.fired.len(), again.stops.len()), (Outcome::Refuse, 2, 0));
    }

    #[test]
    fn attempts_fire_at_the_limit_and_review_is_weaker_than_refuse() {
        let review = rule(Signal::Attempts, 3, Action::Review, None);
        let decision = decide_attempt(&attempt(), &[], &[tally(review.clone(), 3, 0, 0)]);
        assert_eq!(decision.outcome, Outcome::Review);
        let below = decide_attempt(&attempt(), &[], &[tally(review.clone(), 2, 0, 1)]);
        assert_eq!(below.outcome, Outcome::Allow);
        let refuse = rule(Signal::Declines, 1, Action::Refuse, None);
        let both = decide_attempt(&attempt(), &[], &[tally(review, 3, 0, 0), tally(refuse, 3, 1, 0)]);
        assert_eq!(both.outcome, Outcome::Refuse);
        assert_eq!(both.fired.len(), 2);
    }

    #[test]
    fn a_disabled_rule_never_fires() {
        let mut off = rule(Signal::Attempts, 1, Action::Refuse, None);
        off.enabled = false;
        assert_eq!(decide_attempt(&attempt(), &[], &[tally(off, 100, 100, 0)]).outcome, Outcome::Allow);
    }

    #[test]
    fn a_live_block_refuses_and_an_expired_one_does_not() {
        let block = |expires_at| Block {
            id: FraudBlockId::from_uuid(uuid::Uuid::from_u128(9)),
            subject: Subject::Email,
            value: "buyer@example.com".to_owned(),
            reason: "chargebacks".to_owned(),
            expires_at,
            created_by: Some(UserId::new(1)),
            rule_id: None,
            created_at: at(),
        };
        let live = decide_attempt(&attempt(), &[block(Some(at() + TimeDelta::seconds(1)))], &[]);
        assert_eq!(live.outcome, Outcome::Refuse);
        assert!(live.fired[0].why.contains("chargebacks"));
        assert_eq!(decide_attempt(&attempt(), &[block(None)], &[]).outcome, Outcome::Refuse);
        assert_eq!(decide_attempt(&attempt(), &[block(Some(at()))], &[]).outcome, Outcome::Allow);
    }

    #[test]
    fn subjects_are_normalised_and_sorted() {
        assert_eq!(
            attempt().subjects(),
            vec![
                (Subject::User, "42".to_owned()),
                (Subject::ClientAddress, "2001:db8:1:2::/64".to_owned()),
                (Subject::Email, "buyer@example.com".to_owned()),
            ]
        );
        assert_eq!(address_key("::ffff:10.1.2.3".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))), "10.1.2.3");
    }

    #[test]
    fn block_values_are_checked_and_normalised() {
        assert_eq!(
            BlockValue::parse(Subject::ClientAddress, "10.1.2.3/16").map(|v| v.text()),
            Ok("10.1.0.0/16".into())
        );
        assert_eq!(BlockValue::parse(Subject::ClientAddress, "10.1.2.3").map(|v| v.text()), Ok("10.1.2.3/32".into()));
        assert_eq!(BlockValue::parse(Subject::Email, "A@B.io").map(|v| v.text()), Ok("a@b.io".into()));
        assert!(BlockValue::parse(Subject::User, "0").is_err());
        assert!(BlockValue::parse(Subject::ClientAddress, "somewhere").is_err());
        assert!(BlockValue::parse(Subject::Email, "nobody").is_err());
        assert!(BlockValue::parse(Subject::CardFingerprint, "a b").is_err());
    }

    #[test]
    fn serial_refunders_go_to_two_admins_with_their_history() {
        let mut limit = rule(Signal::Refunds, 3, Action::Review, None);
        limit.window = TimeDelta::days(90);
        let history = RefundHistory { refunds: 3, paid: 4 };
        assert_eq!(history.rate_percent(), 75);
        assert_eq!(RefundHistory { refunds: 1, paid: 0 }.rate_percent(), 0);
        let below = decide_refund(history, &[RefundTally { rule: limit.clone(), refunds: 2 }]);
        assert!(!below.needs_two_admins());
        let at = decide_refund(history, &[RefundTally { rule: limit.clone(), refunds: 3 }]);
        assert!(at.needs_two_admins());
        assert!(at.fired[0].why.contains("3 refunds by this user"), "{}", at.fired[0].why);
        assert!(at.fired[0].why.contains("75 % of 4 paid"), "{}", at.fired[0].why);
        // A refunds rule never screens a payment attempt.
        let attempt_tally = tally(limit, 100, 0, 0);
        assert_eq!(decide_attempt(&attempt(), &[], &[attempt_tally]).outcome, Outcome::Allow);
    }

    #[test]
    fn the_highest_risk_or_a_blocked_card_needs_attention() {
        let normal = RiskVerdict { level: Some("normal".into()), score: Some(12), ..RiskVerdict::default() };
        assert_eq!(normal.alarm(None), None);
        let highest = RiskVerdict { level: Some("highest".into()), score: Some(91), ..RiskVerdict::default() };
        assert_eq!(highest.alarm(None).as_deref(), Some("the gateway rates it highest risk (score 91)"));
        let block = Block {
            id: FraudBlockId::from_uuid(uuid::Uuid::from_u128(4)),
            subject: Subject::CardFingerprint,
            value: "Xt5EWLLDS7FJjR1c".into(),
            reason: "stolen".into(),
            expires_at: None,
            created_by: None,
            rule_id: None,
            created_at: at(),
        };
        assert_eq!(normal.alarm(Some(&block)).as_deref(), Some("paid with a blocked card (stolen)"));
    }

    #[test]
    fn rules_are_validated() {
        let mut refunds = rule(Signal::Refunds, 3, Action::Review, None);
        assert_eq!(refunds.validate(), Ok(()));
        refunds.action = Action::Refuse;
        assert!(refunds.validate().is_err(), "a refunds rule only routes to review");
        assert_eq!(rule(Signal::Declines, 5, Action::Refuse, Some(3600)).validate(), Ok(()));
        assert!(rule(Signal::Declines, 0, Action::Refuse, None).validate().is_err());
        assert!(rule(Signal::Declines, 5, Action::Review, Some(60)).validate().is_err());
        let mut card = rule(Signal::Declines, 5, Action::Refuse, Some(3600));
        card.subject = Subject::CardFingerprint;
        assert_eq!(card.validate(), Ok(()));
        card.signal = Signal::Refunds;
        card.action = Action::Review;
        card.stop_for = None;
        assert!(card.validate().is_err(), "refunds are counted per user");
        let mut long = rule(Signal::Attempts, 5, Action::Refuse, None);
        long.window = TimeDelta::days(91);
        assert!(long.validate().is_err());
    }
}
