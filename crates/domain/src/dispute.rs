//! Disputes (chargebacks): opened by the gateway, resolved by it.
//!
//! Opening one holds the disputed amount: its fee share comes off platform
//! revenue and the rest off the instructor's earnings, both moved to the
//! dispute-holds account. Won, the hold is released back. Lost, the held
//! money is gone to the gateway, and a configured dispute fee is charged to
//! the platform or the instructor.

use chrono::{DateTime, Utc};

use crate::ids::{DisputeId, JournalId, PaymentId};
use crate::ledger::{Account, Journal, JournalBuilder, JournalKind, LedgerError};
use crate::money::{Money, MoneyError};
use crate::payment::Payment;

/// Where a dispute stands, as the gateway reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum DisputeStatus {
    /// Evidence is wanted by `evidence_due_by`.
    NeedsResponse,
    /// Evidence submitted; the bank decides.
    UnderReview,
    /// An inquiry that may become a dispute; evidence wanted.
    WarningNeedsResponse,
    /// An inquiry under review.
    WarningUnderReview,
    /// An inquiry closed without becoming a dispute.
    WarningClosed,
    /// Decided for the platform.
    Won,
    /// Decided for the cardholder.
    Lost,
}

impl DisputeStatus {
    /// Every status.
    pub const ALL: [DisputeStatus; 7] = [
        Self::NeedsResponse,
        Self::UnderReview,
        Self::WarningNeedsResponse,
        Self::WarningUnderReview,
        Self::WarningClosed,
        Self::Won,
        Self::Lost,
    ];

    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }

    /// Parses a stable name.
    pub fn parse(name: &str) -> Option<Self> {
        name.parse().ok()
    }

    /// True once decided; a decided dispute never changes again.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Won | Self::Lost | Self::WarningClosed)
    }

    /// True when the money is held (an inquiry holds nothing).
    pub fn holds_money(&self) -> bool {
        matches!(self, Self::NeedsResponse | Self::UnderReview | Self::Won | Self::Lost)
    }

    /// The status a dispute first seen as `reported` is stored with: a
    /// dispute first seen decided is held first and decided in a next step,
    /// so that its hold and its decision are journalled like any other's.
    pub fn opening(reported: DisputeStatus) -> DisputeStatus {
        if reported.holds_money() && reported.is_final() { Self::NeedsResponse } else { reported }
    }

    /// Applies `event`: the next status, `None` for a repeat or a stale
    /// report, or an error for a move that cannot happen.
    ///
    /// A gateway's report is the gateway's word and never an error (a
    /// webhook must be acknowledged), but it never moves a dispute
    /// backwards: a decided dispute stays decided (a late `needs_response`
    /// after `won` changes nothing, and so does a contradicting decision),
    /// `under_review` does not return to `needs_response`, and a dispute
    /// holding money does not become an inquiry again. An inquiry reported
    /// decided is escalated first ([`DisputeStatus::NeedsResponse`]): the
    /// caller applies the report again to reach the decision.
    pub fn apply(self, event: DisputeEvent) -> Result<Option<DisputeStatus>, DisputeTransitionError> {
        use DisputeEvent as E;
        use DisputeStatus as S;
        let illegal = Err(DisputeTransitionError { from: self, event });
        match (self, event) {
            (from, E::Reported(to)) if from == to => Ok(None),
            (S::Won | S::Lost | S::WarningClosed, E::Reported(_)) => Ok(None),
            (S::NeedsResponse | S::UnderReview, E::Reported(to)) => Ok(match to {
                S::UnderReview | S::Won | S::Lost | S::WarningClosed => Some(to),
                S::NeedsResponse | S::WarningNeedsResponse | S::WarningUnderReview => None,
            }),
            (S::WarningNeedsResponse | S::WarningUnderReview, E::Reported(to)) => Ok(match to {
                S::NeedsResponse | S::UnderReview | S::WarningUnderReview | S::WarningClosed => Some(to),
                S::Won | S::Lost => Some(S::NeedsResponse),
                S::WarningNeedsResponse => None,
            }),

            (S::NeedsResponse, E::SubmitEvidence) => Ok(Some(S::UnderReview)),
            (S::WarningNeedsResponse, E::SubmitEvidence) => Ok(Some(S::WarningUnderReview)),
            // Evidence goes once; then the bank decides.
            (S::UnderReview | S::WarningUnderReview | S::Won | S::Lost | S::WarningClosed, E::SubmitEvidence) => {
                illegal
            }

            (S::NeedsResponse | S::UnderReview, E::Accept) => Ok(Some(S::Lost)),
            (S::WarningNeedsResponse | S::WarningUnderReview, E::Accept) => Ok(Some(S::WarningClosed)),
            (S::Lost, E::Accept) => Ok(None),
            (S::Won | S::WarningClosed, E::Accept) => illegal,

            (S::NeedsResponse | S::UnderReview, E::Win) => Ok(Some(S::Won)),
            (S::Won, E::Win) => Ok(None),
            (S::Lost | S::WarningNeedsResponse | S::WarningUnderReview | S::WarningClosed, E::Win) => illegal,

            (S::NeedsResponse | S::UnderReview, E::Lose) => Ok(Some(S::Lost)),
            (S::Lost, E::Lose) => Ok(None),
            (S::Won | S::WarningNeedsResponse | S::WarningUnderReview | S::WarningClosed, E::Lose) => illegal,
        }
    }
}

/// Something that happens to a dispute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisputeEvent {
    /// The gateway reports this status.
    Reported(DisputeStatus),
    /// An admin submits evidence contesting it.
    SubmitEvidence,
    /// An admin accepts it without contest.
    Accept,
    /// An admin decides a dispute they opened for the platform.
    Win,
    /// An admin decides a dispute they opened for the cardholder.
    Lose,
}

impl DisputeEvent {
    /// Every event: each report, then the admins' actions.
    pub const ALL: [DisputeEvent; 11] = [
        Self::Reported(DisputeStatus::NeedsResponse),
        Self::Reported(DisputeStatus::UnderReview),
        Self::Reported(DisputeStatus::WarningNeedsResponse),
        Self::Reported(DisputeStatus::WarningUnderReview),
        Self::Reported(DisputeStatus::WarningClosed),
        Self::Reported(DisputeStatus::Won),
        Self::Reported(DisputeStatus::Lost),
        Self::SubmitEvidence,
        Self::Accept,
        Self::Win,
        Self::Lose,
    ];
}

/// A move a dispute's status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {} dispute cannot take {}", from.as_str(), event_name(*event))]
pub struct DisputeTransitionError {
    /// Its status.
    pub from: DisputeStatus,
    /// The event refused.
    pub event: DisputeEvent,
}

/// How an event is named in messages shown to admins.
fn event_name(event: DisputeEvent) -> &'static str {
    match event {
        DisputeEvent::Reported(_) => "a status report",
        DisputeEvent::SubmitEvidence => "evidence",
        DisputeEvent::Accept => "an acceptance",
        DisputeEvent::Win | DisputeEvent::Lose => "a decision",
    }
}

/// A dispute as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispute {
    /// Its id.
    pub id: DisputeId,
    /// The disputed payment.
    pub payment_id: PaymentId,
    /// The gateway's id.
    pub provider_dispute_id: String,
    /// The disputed amount.
    pub amount: Money,
    /// The platform fee part of `amount` (held from platform revenue).
    pub fee_held: Money,
    /// The gateway's reason code (`fraudulent`, `product_not_received`, ...).
    pub reason: String,
    /// Where it stands.
    pub status: DisputeStatus,
    /// When evidence is due.
    pub evidence_due_by: Option<DateTime<Utc>>,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Decided.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Its payment's mode: live money or test money.
    pub livemode: bool,
}

/// Who pays the gateway's fee for a lost dispute.
pub use crate::ledger::FeeBearer as DisputeFeeBearer;

/// The fee part of a disputed `amount` of `payment`: its share of the
/// platform fee, rounded half-even once.
pub fn fee_share(payment: &Payment, amount: Money) -> Result<Money, MoneyError> {
    payment.platform_fee.proportion(amount.minor(), payment.amount.minor())?.max_zero().min(amount)
}

/// The journal holding a dispute's amount.
pub fn hold_journal(
    id: JournalId,
    payment: &Payment,
    dispute: &Dispute,
    at: DateTime<Utc>,
) -> Result<Journal, LedgerError> {
    JournalBuilder::new(id, JournalKind::DisputeHold, payment, dispute.amount.currency())
        .debit(Account::InstructorPayable(payment.instructor_id), dispute.amount.checked_sub(dispute.fee_held)?)
        .debit(Account::PlatformRevenue, dispute.fee_held)
        .credit(Account::DisputeHolds, dispute.amount)
        .build(at)
}

/// The journal releasing a won dispute's hold.
pub fn release_journal(
    id: JournalId,
    payment: &Payment,
    dispute: &Dispute,
    at: DateTime<Utc>,
) -> Result<Journal, LedgerError> {
    JournalBuilder::new(id, JournalKind::DisputeRelease, payment, dispute.amount.currency())
        .debit(Account::DisputeHolds, dispute.amount)
        .credit(Account::InstructorPayable(payment.instructor_id), dispute.amount.checked_sub(dispute.fee_held)?)
        .credit(Account::PlatformRevenue, dispute.fee_held)
        .build(at)
}

/// The journal of a lost dispute: the held money goes to the gateway, and
/// the dispute fee (if any) is charged to its bearer.
pub fn loss_journal(
    id: JournalId,
    payment: &Payment,
    dispute: &Dispute,
    fee: Option<(Money, DisputeFeeBearer)>,
    at: DateTime<Utc>,
) -> Result<Journal, LedgerError> {
    let clearing = Account::GatewayClearing(payment.method);
    let mut builder = JournalBuilder::new(id, JournalKind::DisputeLoss, payment, dispute.amount.currency())
        .debit(Account::DisputeHolds, dispute.amount)
        .credit(clearing, dispute.amount);
    if let Some((fee, bearer)) = fee {
        let payer = match bearer {
            DisputeFeeBearer::Platform => Account::PlatformRevenue,
            DisputeFeeBearer::Instructor => Account::InstructorPayable(payment.instructor_id),
        };
        builder = builder.debit(payer, fee).credit(clearing, fee);
    }
    builder.build(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use DisputeEvent as E;
    use DisputeStatus as S;

    /// Every legal (status, event) pair and what it leads to (`None`: no
    /// change); every pair absent is illegal.
    const LEGAL: &[(DisputeStatus, DisputeEvent, Option<DisputeStatus>)] = &[
        // Reports: repeats change nothing.
        (S::NeedsResponse, E::Reported(S::NeedsResponse), None),
        (S::UnderReview, E::Reported(S::UnderReview), None),
        (S::WarningNeedsResponse, E::Reported(S::WarningNeedsResponse), None),
        (S::WarningUnderReview, E::Reported(S::WarningUnderReview), None),
        (S::WarningClosed, E::Reported(S::WarningClosed), None),
        (S::Won, E::Reported(S::Won), None),
        (S::Lost, E::Reported(S::Lost), None),
        // A held dispute moves forward, and may close as an inquiry (the
        // charge was refunded meanwhile: the hold is released).
        (S::NeedsResponse, E::Reported(S::UnderReview), Some(S::UnderReview)),
        (S::NeedsResponse, E::Reported(S::Won), Some(S::Won)),
        (S::NeedsResponse, E::Reported(S::Lost), Some(S::Lost)),
        (S::NeedsResponse, E::Reported(S::WarningClosed), Some(S::WarningClosed)),
        (S::UnderReview, E::Reported(S::Won), Some(S::Won)),
        (S::UnderReview, E::Reported(S::Lost), Some(S::Lost)),
        (S::UnderReview, E::Reported(S::WarningClosed), Some(S::WarningClosed)),
        // ...but never backwards, nor back to an inquiry: stale reports.
        (S::UnderReview, E::Reported(S::NeedsResponse), None),
        (S::NeedsResponse, E::Reported(S::WarningNeedsResponse), None),
        (S::NeedsResponse, E::Reported(S::WarningUnderReview), None),
        (S::UnderReview, E::Reported(S::WarningNeedsResponse), None),
        (S::UnderReview, E::Reported(S::WarningUnderReview), None),
        // An inquiry moves forward, escalates, and is held before a decision.
        (S::WarningNeedsResponse, E::Reported(S::WarningUnderReview), Some(S::WarningUnderReview)),
        (S::WarningNeedsResponse, E::Reported(S::WarningClosed), Some(S::WarningClosed)),
        (S::WarningNeedsResponse, E::Reported(S::NeedsResponse), Some(S::NeedsResponse)),
        (S::WarningNeedsResponse, E::Reported(S::UnderReview), Some(S::UnderReview)),
        (S::WarningNeedsResponse, E::Reported(S::Won), Some(S::NeedsResponse)),
        (S::WarningNeedsResponse, E::Reported(S::Lost), Some(S::NeedsResponse)),
        (S::WarningUnderReview, E::Reported(S::WarningNeedsResponse), None),
        (S::WarningUnderReview, E::Reported(S::WarningClosed), Some(S::WarningClosed)),
        (S::WarningUnderReview, E::Reported(S::NeedsResponse), Some(S::NeedsResponse)),
        (S::WarningUnderReview, E::Reported(S::UnderReview), Some(S::UnderReview)),
        (S::WarningUnderReview, E::Reported(S::Won), Some(S::NeedsResponse)),
        (S::WarningUnderReview, E::Reported(S::Lost), Some(S::NeedsResponse)),
        // A decided dispute stays decided, whatever arrives late.
        (S::Won, E::Reported(S::NeedsResponse), None),
        (S::Won, E::Reported(S::UnderReview), None),
        (S::Won, E::Reported(S::WarningNeedsResponse), None),
        (S::Won, E::Reported(S::WarningUnderReview), None),
        (S::Won, E::Reported(S::WarningClosed), None),
        (S::Won, E::Reported(S::Lost), None),
        (S::Lost, E::Reported(S::NeedsResponse), None),
        (S::Lost, E::Reported(S::UnderReview), None),
        (S::Lost, E::Reported(S::WarningNeedsResponse), None),
        (S::Lost, E::Reported(S::WarningUnderReview), None),
        (S::Lost, E::Reported(S::WarningClosed), None),
        (S::Lost, E::Reported(S::Won), None),
        (S::WarningClosed, E::Reported(S::NeedsResponse), None),
        (S::WarningClosed, E::Reported(S::UnderReview), None),
        (S::WarningClosed, E::Reported(S::WarningNeedsResponse), None),
        (S::WarningClosed, E::Reported(S::WarningUnderReview), None),
        (S::WarningClosed, E::Reported(S::Won), None),
        (S::WarningClosed, E::Reported(S::Lost), None),
        // Admins' actions.
        (S::NeedsResponse, E::SubmitEvidence, Some(S::UnderReview)),
        (S::WarningNeedsResponse, E::SubmitEvidence, Some(S::WarningUnderReview)),
        (S::NeedsResponse, E::Accept, Some(S::Lost)),
        (S::UnderReview, E::Accept, Some(S::Lost)),
        (S::WarningNeedsResponse, E::Accept, Some(S::WarningClosed)),
        (S::WarningUnderReview, E::Accept, Some(S::WarningClosed)),
        (S::Lost, E::Accept, None),
        (S::NeedsResponse, E::Win, Some(S::Won)),
        (S::UnderReview, E::Win, Some(S::Won)),
        (S::Won, E::Win, None),
        (S::NeedsResponse, E::Lose, Some(S::Lost)),
        (S::UnderReview, E::Lose, Some(S::Lost)),
        (S::Lost, E::Lose, None),
    ];

    #[test]
    fn every_status_and_event_pair_follows_the_table() {
        for status in DisputeStatus::ALL {
            for event in DisputeEvent::ALL {
                let expected = LEGAL.iter().find(|(s, e, _)| *s == status && *e == event).map(|(_, _, to)| *to);
                match expected {
                    Some(to) => assert_eq!(status.apply(event), Ok(to), "{status:?} + {event:?}"),
                    None => assert_eq!(
                        status.apply(event),
                        Err(DisputeTransitionError { from: status, event }),
                        "{status:?} + {event:?} should be illegal"
                    ),
                }
            }
        }
    }

    #[test]
    fn a_gateway_s_report_is_never_refused() {
        for status in DisputeStatus::ALL {
            for reported in DisputeStatus::ALL {
                assert!(status.apply(E::Reported(reported)).is_ok(), "{status:?} + {reported:?}");
            }
        }
    }

    #[test]
    fn a_decided_dispute_takes_no_evidence_and_no_other_decision() {
        for decided in [S::Won, S::Lost, S::WarningClosed] {
            assert!(decided.apply(E::SubmitEvidence).is_err(), "{decided:?}");
        }
        assert!(S::Won.apply(E::Lose).is_err() && S::Lost.apply(E::Win).is_err());
        assert!(S::Won.apply(E::Accept).is_err());
        let refused = S::Won.apply(E::SubmitEvidence).unwrap_err();
        assert_eq!(refused.to_string(), "a won dispute cannot take evidence");
    }

    #[test]
    fn a_dispute_first_seen_decided_is_held_first() {
        assert_eq!(DisputeStatus::opening(S::Won), S::NeedsResponse);
        assert_eq!(DisputeStatus::opening(S::Lost), S::NeedsResponse);
        for status in
            [S::NeedsResponse, S::UnderReview, S::WarningNeedsResponse, S::WarningUnderReview, S::WarningClosed]
        {
            assert_eq!(DisputeStatus::opening(status), status);
        }
    }

    #[test]
    fn names_round_trip_and_only_decisions_are_final() {
        for status in DisputeStatus::ALL {
            assert_eq!(DisputeStatus::parse(status.as_str()), Some(status));
        }
        let finals: Vec<_> = DisputeStatus::ALL.into_iter().filter(DisputeStatus::is_final).collect();
        assert_eq!(finals, [DisputeStatus::WarningClosed, DisputeStatus::Won, DisputeStatus::Lost]);
        let holding: Vec<_> = DisputeStatus::ALL.into_iter().filter(DisputeStatus::holds_money).collect();
        assert_eq!(
            holding,
            [DisputeStatus::NeedsResponse, DisputeStatus::UnderReview, DisputeStatus::Won, DisputeStatus::Lost]
        );
        assert_eq!(DisputeStatus::parse("closed"), None);
    }
}
