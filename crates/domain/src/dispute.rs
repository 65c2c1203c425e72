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
}

/// Who pays the gateway's fee for a lost dispute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisputeFeeBearer {
    /// The platform (out of its revenue).
    Platform,
    /// The instructor (out of their earnings).
    Instructor,
}

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
    JournalBuilder::new(id, JournalKind::DisputeHold, payment.id, dispute.amount.currency())
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
    JournalBuilder::new(id, JournalKind::DisputeRelease, payment.id, dispute.amount.currency())
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
    let mut builder = JournalBuilder::new(id, JournalKind::DisputeLoss, payment.id, dispute.amount.currency())
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
