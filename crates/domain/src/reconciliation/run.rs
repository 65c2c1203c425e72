//! The gateways whose books are reconciled, the runs that do it, and the
//! journal moving a payout to the platform's bank out of the gateway's
//! clearing account.

use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::ids::{JournalId, SettlementRunId};
use crate::ledger::{Account, Journal, JournalBuilder, JournalKind, LedgerError, SettlementBooks};
use crate::money::Money;
use crate::payment::PaymentMethod;
use crate::payout::PayoutMethod;
use crate::ports::{SettlementKind, SettlementLine, SettlementPeriod};

/// A gateway that holds a balance for the platform and reports its books.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum SettledGateway {
    /// Stripe: charges, refunds, disputes and Connect transfers all go
    /// through the platform's Stripe balance.
    Stripe,
    /// PayPal: captures, refunds, reversals and Payouts all go through the
    /// platform's PayPal balance.
    Paypal,
}

impl SettledGateway {
    /// Every such gateway.
    pub const ALL: [SettledGateway; 2] = [SettledGateway::Stripe, SettledGateway::Paypal];

    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }

    /// The payment method whose money it holds.
    pub fn payment_method(&self) -> PaymentMethod {
        match self {
            SettledGateway::Stripe => PaymentMethod::Stripe,
            SettledGateway::Paypal => PaymentMethod::Paypal,
        }
    }

    /// The payout method that pays instructors out of its balance.
    pub fn payout_method(&self) -> PayoutMethod {
        match self {
            SettledGateway::Stripe => PayoutMethod::StripeConnect,
            SettledGateway::Paypal => PayoutMethod::Paypal,
        }
    }

    /// The gateway holding `method`'s money, if it is reconciled.
    pub fn of_method(method: PaymentMethod) -> Option<SettledGateway> {
        SettledGateway::ALL.into_iter().find(|g| g.payment_method() == method)
    }

    /// The ledger accounts that, together, stand for its balance: what it
    /// holds of payments, and what it sent to instructors from it.
    pub fn clearing_accounts(&self) -> [Account; 2] {
        [Account::GatewayClearing(self.payment_method()), Account::PayoutFunds(self.payout_method())]
    }
}

/// How far a run got; a run interrupted resumes at its step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum RunStep {
    /// Reading the period's lines.
    Reading,
    /// Reading the payouts to the bank and which lines each paid out.
    Payouts,
    /// Comparing with the ledger.
    Matching,
    /// Finished.
    Done,
}

impl RunStep {
    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// One reconciliation of one gateway's books, in one mode, over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRun {
    /// Its id.
    pub id: SettlementRunId,
    /// Whose books.
    pub gateway: SettledGateway,
    /// Live money or test money.
    pub livemode: bool,
    /// The period read.
    pub period: SettlementPeriod,
    /// How far it got.
    pub step: RunStep,
    /// Times it was started or resumed.
    pub attempts: i32,
    /// Lines read for the period.
    pub lines_read: i32,
    /// Objects that agree.
    pub matched: i32,
    /// Objects and lines that do not.
    pub differing: i32,
    /// Why its last attempt stopped, if it failed.
    pub last_error: Option<String>,
    /// First started.
    pub started_at: DateTime<Utc>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// The whole UTC days from `since`'s day to `until`'s (exclusive), the
/// periods runs take: each day is reconciled once, whoever asks.
pub fn days_between(since: DateTime<Utc>, until: DateTime<Utc>) -> Vec<SettlementPeriod> {
    let day = Duration::days(1);
    let (Ok(first), Ok(last)) = (since.duration_trunc(day), until.duration_trunc(day)) else {
        return Vec::new();
    };
    SettlementPeriod::new(first, last).map(|span| span.windows(day)).unwrap_or_default()
}

/// The journal of a line moving money between the gateway's balance and
/// the platform's bank: a payout (negative) leaves the clearing account
/// for the bank, a payout coming back (positive) returns; a fee on the
/// payout is a gateway fee. `Ok(None)` for other lines, and for zero.
pub fn bank_payout_journal(
    id: JournalId,
    gateway: SettledGateway,
    livemode: bool,
    line: &SettlementLine,
) -> Result<Option<Journal>, LedgerError> {
    if !matches!(line.kind, SettlementKind::BankPayout | SettlementKind::BankPayoutReversal) {
        return Ok(None);
    }
    if line.amounts.amount().is_zero() && line.amounts.fee().is_zero() {
        return Ok(None);
    }
    let amount = line.amounts.amount();
    let books = SettlementBooks { livemode };
    // Signed: a negative debit is a credit. The bank receives what left
    // the balance, less the fee the gateway kept for sending it.
    JournalBuilder::new(id, JournalKind::BankPayout, &books, amount.currency())
        .debit(Account::PlatformBank, Money::zero(amount.currency()).checked_sub(amount)?)
        .debit(Account::GatewayFees, line.amounts.fee())
        .debit(Account::GatewayClearing(gateway.payment_method()), line.amounts.net())
        .build(line.created)
        .map(Some)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::money::Currency;
    use crate::ports::LineAmounts;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    #[test]
    fn a_payout_to_the_bank_moves_its_net_from_clearing_to_the_bank_and_its_fee_to_gateway_fees() {
        let line = SettlementLine {
            id: "txn_po".to_owned(),
            kind: SettlementKind::BankPayout,
            amounts: LineAmounts::from_gross(usd(-10_000), usd(150)).unwrap(),
            source: Some("po_1".to_owned()),
            reference: None,
            payout: Some("po_1".to_owned()),
            created: Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap(),
        };
        let journal = bank_payout_journal(JournalId::from_uuid(uuid::Uuid::nil()), SettledGateway::Stripe, true, &line)
            .unwrap()
            .unwrap();
        let entries: Vec<(Account, i64)> = journal.entries().iter().map(|e| (e.account, e.amount_minor)).collect();
        assert_eq!(
            entries,
            [
                (Account::PlatformBank, 10_000),
                (Account::GatewayFees, 150),
                (Account::GatewayClearing(PaymentMethod::Stripe), -10_150),
            ]
        );
        assert!(journal.livemode());
        assert_eq!(journal.kind(), JournalKind::BankPayout);
    }

    #[test]
    fn runs_take_whole_utc_days() {
        let since = Utc.with_ymd_and_hms(2026, 11, 1, 13, 5, 0).unwrap();
        let until = Utc.with_ymd_and_hms(2026, 11, 4, 2, 0, 0).unwrap();
        let days = days_between(since, until);
        assert_eq!(days.len(), 3);
        assert_eq!(days[0].since(), Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap());
        assert_eq!(days[2].until(), Utc.with_ymd_and_hms(2026, 11, 4, 0, 0, 0).unwrap());
        assert!(days_between(until, since).is_empty());
    }
}
