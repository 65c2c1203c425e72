//! A difference found between a gateway's books and the ledger, and how
//! an admin resolves it. Nothing is corrected automatically: an admin
//! either accepts the gateway's figure (an adjusting journal books the
//! difference) or marks it explained, with a reason, audited.

use chrono::{DateTime, Utc};

use super::matching::{BookedKind, Figures, LineResult};
use super::run::SettledGateway;
use crate::ids::{DiscrepancyId, JournalId, SettlementRunId, UserId};
use crate::ledger::{Account, Journal, JournalBuilder, JournalKind, LedgerError, SettlementBooks};
use crate::money::{Money, MoneyError};

/// Where a discrepancy stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum DiscrepancyStatus {
    /// Waiting for a person.
    Open,
    /// The gateway's figure was accepted: an adjusting journal booked the
    /// difference.
    Adjusted,
    /// A person explained it; the ledger is left as it is.
    Explained,
    /// A later run found the object agreeing (the other side caught up).
    Cleared,
}

impl DiscrepancyStatus {
    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// A difference between a gateway's books and the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discrepancy {
    /// Its id.
    pub id: DiscrepancyId,
    /// Whose books.
    pub gateway: SettledGateway,
    /// Live money or test money.
    pub livemode: bool,
    /// The run that last found it.
    pub run_id: SettlementRunId,
    /// The kind of object it is about; `None` for a line no object
    /// explains.
    pub object_kind: Option<BookedKind>,
    /// The gateway's id of the object (or the line's id).
    pub object_id: String,
    /// What was found (never `Matched`).
    pub result: LineResult,
    /// What the gateway booked.
    pub gateway_figures: Figures,
    /// What the ledger booked.
    pub ledger_figures: Figures,
    /// Where it stands.
    pub status: DiscrepancyStatus,
    /// Why it was resolved so.
    pub reason: Option<String>,
    /// Who resolved it.
    pub resolved_by: Option<UserId>,
    /// When.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The adjusting journal, once adjusted.
    pub journal_id: Option<JournalId>,
    /// First found.
    pub opened_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl Discrepancy {
    /// The gateway's net less the ledger's: what the gateway's balance
    /// holds more (positive) or less (negative) than the ledger says.
    pub fn difference(&self) -> Result<Money, MoneyError> {
        self.gateway_figures.net()?.checked_sub(self.ledger_figures.net()?)
    }

    /// Whether another finding about the same object says the same.
    pub fn same_figures(&self, gateway: &Figures, ledger: &Figures) -> bool {
        &self.gateway_figures == gateway && &self.ledger_figures == ledger
    }
}

/// How an admin resolves a discrepancy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Accept the gateway's figure: book the difference.
    Accept {
        /// Why.
        reason: String,
    },
    /// Leave the ledger as it is.
    Explain {
        /// Why.
        reason: String,
    },
}

/// The journal accepting a gateway's figure: the gateway's clearing
/// account moves by the difference; a fee the gateway kept more (or less)
/// is a gateway fee, any other amount a settlement adjustment.
pub fn adjustment_journal(id: JournalId, discrepancy: &Discrepancy, at: DateTime<Utc>) -> Result<Journal, LedgerError> {
    let gateway = discrepancy.gateway_figures;
    let ledger = discrepancy.ledger_figures;
    let amount = gateway.amount.checked_sub(ledger.amount)?;
    let fee = gateway.fee.checked_sub(ledger.fee)?;
    let books = SettlementBooks { livemode: discrepancy.livemode };
    JournalBuilder::new(id, JournalKind::SettlementAdjustment, &books, amount.currency())
        .debit(Account::GatewayClearing(discrepancy.gateway.payment_method()), discrepancy.difference()?)
        .debit(Account::GatewayFees, fee)
        .credit(Account::SettlementAdjustments, amount)
        .build(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::payment::PaymentMethod;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    fn discrepancy(gateway: (i64, i64), ledger: (i64, i64)) -> Discrepancy {
        Discrepancy {
            id: DiscrepancyId::from_uuid(uuid::Uuid::nil()),
            gateway: SettledGateway::Stripe,
            livemode: true,
            run_id: SettlementRunId::from_uuid(uuid::Uuid::nil()),
            object_kind: Some(BookedKind::Sale),
            object_id: "pi_1".to_owned(),
            result: LineResult::FeeDiffers { gateway: usd(gateway.1), ledger: usd(ledger.1) },
            gateway_figures: Figures { amount: usd(gateway.0), fee: usd(gateway.1) },
            ledger_figures: Figures { amount: usd(ledger.0), fee: usd(ledger.1) },
            status: DiscrepancyStatus::Open,
            reason: None,
            resolved_by: None,
            resolved_at: None,
            journal_id: None,
            opened_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn entries(journal: &Journal) -> Vec<(Account, i64)> {
        journal.entries().iter().map(|e| (e.account, e.amount_minor)).collect()
    }

    #[test]
    fn accepting_a_higher_fee_books_it_as_a_gateway_fee_out_of_clearing() {
        let found = discrepancy((4999, 175), (4999, 145));
        assert_eq!(found.difference(), Ok(usd(-30)));
        let journal = adjustment_journal(JournalId::from_uuid(uuid::Uuid::nil()), &found, Utc::now()).unwrap();
        assert_eq!(
            entries(&journal),
            [(Account::GatewayClearing(PaymentMethod::Stripe), -30), (Account::GatewayFees, 30)]
        );
    }

    #[test]
    fn accepting_money_the_ledger_never_booked_books_it_as_a_settlement_adjustment() {
        let found = discrepancy((-2500, 1500), (0, 0));
        assert_eq!(found.difference(), Ok(usd(-4000)));
        let journal = adjustment_journal(JournalId::from_uuid(uuid::Uuid::nil()), &found, Utc::now()).unwrap();
        assert_eq!(
            entries(&journal),
            [
                (Account::GatewayClearing(PaymentMethod::Stripe), -4000),
                (Account::GatewayFees, 1500),
                (Account::SettlementAdjustments, 2500),
            ]
        );
    }
}
