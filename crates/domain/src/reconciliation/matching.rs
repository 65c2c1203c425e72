//! Matching what a gateway booked with what the ledger booked, object by
//! object (docs/reconciliation.md, "How a line is matched").
//!
//! Each gateway line books one gateway object (a charge, a refund, a
//! dispute, a transfer). Skillpay knows the same objects by the ids it
//! stores: a payment's provider id (Stripe's PaymentIntent, PayPal's
//! order), a refund's, a dispute's, a payout's transfer. Lines are grouped
//! by that key and summed (a dispute won back books a debit and a credit;
//! both belong to the dispute), then compared with what the ledger booked
//! for the key, in the same sign convention: money into the gateway's
//! balance positive, `fee` what the gateway kept. Nothing here corrects
//! anything: a difference is a result for a person to resolve.

use std::collections::BTreeMap;

use crate::money::Money;
use crate::ports::{SettlementKind, SettlementLine};

/// What kind of Skillpay object a line is about: the ledger's journals
/// are found through it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, strum::IntoStaticStr, strum::EnumString, strum::EnumIter,
)]
#[strum(serialize_all = "snake_case")]
pub enum BookedKind {
    /// A payment's sale (and its gateway fee).
    Sale,
    /// A refund (and the fee it gave back).
    Refund,
    /// A dispute (its debit, its reversal when won, its fee).
    Dispute,
    /// A payout sent as a transfer (and its reversal).
    Transfer,
}

/// A gateway object as the ledger booked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booked {
    /// What it is.
    pub kind: BookedKind,
    /// The gateway's id Skillpay stores for it.
    pub gateway_id: String,
    /// What moved through the gateway's balance (signed as the lines).
    pub amount: Money,
    /// What the gateway kept of it (negative: gave back).
    pub fee: Money,
}

/// How one gateway object compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineResult {
    /// Amount and fee agree.
    Matched,
    /// The amounts differ.
    AmountDiffers {
        /// What the gateway booked.
        gateway: Money,
        /// What the ledger booked.
        ledger: Money,
    },
    /// The amounts agree, the fees do not.
    FeeDiffers {
        /// The fee the gateway booked.
        gateway: Money,
        /// The fee the ledger booked.
        ledger: Money,
    },
    /// The gateway booked it; the ledger knows no such object.
    MissingInLedger,
    /// The ledger booked it; no line of the (settled) period does.
    MissingAtGateway,
    /// A line of a kind no Skillpay object explains (a Stripe fee line,
    /// an adjustment, an unknown type): shown for a person to explain.
    UnexpectedType,
}

impl BookedKind {
    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

impl LineResult {
    /// Stable name (`matched`, `amount_differs`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            LineResult::Matched => "matched",
            LineResult::AmountDiffers { .. } => "amount_differs",
            LineResult::FeeDiffers { .. } => "fee_differs",
            LineResult::MissingInLedger => "missing_in_ledger",
            LineResult::MissingAtGateway => "missing_at_gateway",
            LineResult::UnexpectedType => "unexpected_type",
        }
    }
}

/// An amount and the fee kept of it, as one side booked them (zero when
/// that side booked nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    /// What moved through the gateway's balance.
    pub amount: Money,
    /// What the gateway kept of it.
    pub fee: Money,
}

impl Figures {
    /// Nothing, in `currency`.
    pub fn zero(currency: crate::money::Currency) -> Self {
        Figures { amount: Money::zero(currency), fee: Money::zero(currency) }
    }

    /// What it left in the gateway's balance: `amount - fee`.
    pub fn net(&self) -> Result<Money, crate::money::MoneyError> {
        self.amount.checked_sub(self.fee)
    }
}

/// One result, with what it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The object, when the line names one Skillpay could know.
    pub key: Option<(BookedKind, String)>,
    /// The gateway lines it covers (their ids).
    pub lines: Vec<String>,
    /// How it compares.
    pub result: LineResult,
    /// What the gateway's lines sum to (in their first line's currency).
    pub gateway: Figures,
    /// What the ledger booked (zero when nothing).
    pub ledger: Figures,
}

/// What a line is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKey {
    /// A Skillpay object, by its kind and the gateway's id Skillpay stores.
    Object(BookedKind, String),
    /// Nothing Skillpay makes explains it (a fee line, an adjustment, an
    /// unknown type, or a line naming no object).
    Unexplained,
    /// Money between the gateway and the platform's bank: not about an
    /// object (each such line has its own bank payout journal).
    NotAnObject,
}

/// What `line` is about.
pub fn key_of(line: &SettlementLine) -> LineKey {
    let of = |kind, id: Option<&String>| id.map_or(LineKey::Unexplained, |id| LineKey::Object(kind, id.clone()));
    match &line.kind {
        SettlementKind::Charge => of(BookedKind::Sale, line.reference.as_ref().or(line.source.as_ref())),
        SettlementKind::Refund | SettlementKind::RefundFailure => of(BookedKind::Refund, line.source.as_ref()),
        SettlementKind::Dispute => of(BookedKind::Dispute, line.source.as_ref()),
        SettlementKind::Transfer => of(BookedKind::Transfer, line.source.as_ref()),
        SettlementKind::TransferReversal => of(BookedKind::Transfer, line.reference.as_ref()),
        SettlementKind::BankPayout | SettlementKind::BankPayoutReversal => LineKey::NotAnObject,
        // A hold moves the balance with no journal behind it: a person
        // says what it is (and usually that its release will follow).
        SettlementKind::Fee | SettlementKind::Adjustment | SettlementKind::Hold | SettlementKind::Other(_) => {
            LineKey::Unexplained
        }
    }
}

/// Compares a settled period's lines with what the ledger booked for the
/// objects they name and for the objects the ledger says moved in that
/// period (`booked`, one per object, already summed over its journals).
/// Results come in a stable order: by kind and id, then the lines no
/// object explains, in the gateway's order.
pub fn match_lines(lines: &[SettlementLine], booked: &[Booked]) -> Vec<Matched> {
    let mut grouped: BTreeMap<(BookedKind, String), Vec<&SettlementLine>> = BTreeMap::new();
    let mut unexplained = Vec::new();
    for line in lines {
        match key_of(line) {
            LineKey::Object(kind, id) => grouped.entry((kind, id)).or_default().push(line),
            LineKey::Unexplained => unexplained.push(line),
            LineKey::NotAnObject => {}
        }
    }
    let mut ledger: BTreeMap<(BookedKind, String), &Booked> =
        booked.iter().map(|b| ((b.kind, b.gateway_id.clone()), b)).collect();
    let mut results = Vec::new();
    for (key, covered) in grouped {
        let ids = covered.iter().map(|l| l.id.clone()).collect();
        let gateway = sum_lines(&covered);
        let (result, ledger_figures) = match ledger.remove(&key) {
            None => (LineResult::MissingInLedger, Figures::zero(gateway.amount.currency())),
            Some(booked) => (compare(&covered, gateway, booked), Figures { amount: booked.amount, fee: booked.fee }),
        };
        results.push(Matched { key: Some(key), lines: ids, result, gateway, ledger: ledger_figures });
    }
    for (key, booked) in ledger {
        results.push(Matched {
            key: Some(key),
            lines: Vec::new(),
            result: LineResult::MissingAtGateway,
            gateway: Figures::zero(booked.amount.currency()),
            ledger: Figures { amount: booked.amount, fee: booked.fee },
        });
    }
    for line in unexplained {
        let gateway = Figures { amount: line.amounts.amount(), fee: line.amounts.fee() };
        results.push(Matched {
            key: None,
            lines: vec![line.id.clone()],
            result: LineResult::UnexpectedType,
            gateway,
            ledger: Figures::zero(line.amounts.currency()),
        });
    }
    results
}

/// The lines' amounts and fees summed, in the first line's currency; a
/// line in another currency (or a sum beyond range) leaves the first
/// line's figures, which `compare` then finds differing.
fn sum_lines(lines: &[&SettlementLine]) -> Figures {
    let Some(first) = lines.first() else {
        return Figures::zero(crate::money::Currency::USD);
    };
    let currency = first.amounts.currency();
    let summed = lines.iter().try_fold(Figures::zero(currency), |total, line| {
        Ok::<_, crate::money::MoneyError>(Figures {
            amount: total.amount.checked_add(line.amounts.amount())?,
            fee: total.fee.checked_add(line.amounts.fee())?,
        })
    });
    summed.unwrap_or(Figures { amount: first.amounts.amount(), fee: first.amounts.fee() })
}

fn compare(lines: &[&SettlementLine], gateway: Figures, booked: &Booked) -> LineResult {
    let one_currency = lines.iter().all(|l| l.amounts.currency() == booked.amount.currency());
    if !one_currency || gateway.amount != booked.amount {
        LineResult::AmountDiffers { gateway: gateway.amount, ledger: booked.amount }
    } else if gateway.fee != booked.fee {
        LineResult::FeeDiffers { gateway: gateway.fee, ledger: booked.fee }
    } else {
        LineResult::Matched
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::money::Currency;
    use crate::ports::LineAmounts;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    fn line(
        id: &str,
        kind: SettlementKind,
        amount: i64,
        fee: i64,
        source: &str,
        reference: Option<&str>,
    ) -> SettlementLine {
        SettlementLine {
            id: id.to_owned(),
            kind,
            amounts: LineAmounts::from_gross(usd(amount), usd(fee)).unwrap(),
            source: Some(source.to_owned()),
            reference: reference.map(str::to_owned),
            payout: None,
            created: Utc::now(),
        }
    }

    fn booked(kind: BookedKind, id: &str, amount: i64, fee: i64) -> Booked {
        Booked { kind, gateway_id: id.to_owned(), amount: usd(amount), fee: usd(fee) }
    }

    fn result_of(results: &[Matched], kind: BookedKind, id: &str) -> LineResult {
        results.iter().find(|m| m.key == Some((kind, id.to_owned()))).map(|m| m.result.clone()).unwrap()
    }

    #[test]
    fn each_object_is_matched_on_its_amount_and_fee_and_every_difference_is_named() {
        let lines = [
            line("txn_1", SettlementKind::Charge, 4999, 175, "ch_1", Some("pi_1")),
            line("txn_2", SettlementKind::Charge, 2000, 88, "ch_2", Some("pi_2")),
            line("txn_3", SettlementKind::Refund, -1000, 0, "re_1", Some("pi_1")),
            line("txn_4", SettlementKind::Charge, 3000, 117, "ch_3", Some("pi_3")),
            line("txn_5", SettlementKind::Charge, 900, 56, "ch_9", Some("pi_unknown")),
            line("txn_6", SettlementKind::Fee, -200, 0, "txn_fee", None),
        ];
        let ledger = [
            booked(BookedKind::Sale, "pi_1", 4999, 175),
            booked(BookedKind::Sale, "pi_2", 2000, 90),
            booked(BookedKind::Refund, "re_1", -1000, 0),
            booked(BookedKind::Sale, "pi_3", 3500, 117),
            booked(BookedKind::Refund, "re_never_booked_there", -500, 0),
        ];
        let results = match_lines(&lines, &ledger);
        assert_eq!(result_of(&results, BookedKind::Sale, "pi_1"), LineResult::Matched);
        assert_eq!(result_of(&results, BookedKind::Refund, "re_1"), LineResult::Matched);
        assert_eq!(
            result_of(&results, BookedKind::Sale, "pi_2"),
            LineResult::FeeDiffers { gateway: usd(88), ledger: usd(90) }
        );
        assert_eq!(
            result_of(&results, BookedKind::Sale, "pi_3"),
            LineResult::AmountDiffers { gateway: usd(3000), ledger: usd(3500) }
        );
        assert_eq!(result_of(&results, BookedKind::Sale, "pi_unknown"), LineResult::MissingInLedger);
        assert_eq!(result_of(&results, BookedKind::Refund, "re_never_booked_there"), LineResult::MissingAtGateway);
        let unexplained: Vec<_> = results.iter().filter(|m| m.key.is_none()).collect();
        assert_eq!(unexplained.len(), 1);
        assert_eq!(
            (unexplained[0].lines.clone(), &unexplained[0].result),
            (vec!["txn_6".to_owned()], &LineResult::UnexpectedType)
        );
        assert_eq!(results.len(), 7, "one result per object and per unexplained line");
    }

    #[test]
    fn a_won_dispute_s_debit_and_reversal_are_one_object_netting_to_what_the_ledger_kept() {
        let lines = [
            line("txn_d1", SettlementKind::Dispute, -4999, 1500, "dp_1", Some("pi_1")),
            line("txn_d2", SettlementKind::Dispute, 4999, -1500, "dp_1", Some("pi_1")),
        ];
        let results = match_lines(&lines, &[booked(BookedKind::Dispute, "dp_1", 0, 0)]);
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].lines, ["txn_d1", "txn_d2"]);
        assert_eq!(results[0].result, LineResult::Matched);
    }

    #[test]
    fn a_transfer_and_its_reversal_belong_to_the_payout_s_transfer_and_bank_payouts_to_no_object() {
        let lines = [
            line("txn_t1", SettlementKind::Transfer, -5000, 0, "tr_1", None),
            line("txn_t2", SettlementKind::TransferReversal, 5000, 0, "trr_1", Some("tr_1")),
            line("txn_p1", SettlementKind::BankPayout, -10000, 0, "po_1", None),
        ];
        let results = match_lines(&lines, &[booked(BookedKind::Transfer, "tr_1", 0, 0)]);
        assert_eq!(results.len(), 1, "the bank payout is reconciled on its own: {results:?}");
        assert_eq!(results[0].lines, ["txn_t1", "txn_t2"]);
        assert_eq!(results[0].result, LineResult::Matched);
    }

    #[test]
    fn a_paypal_capture_is_found_by_its_order_and_a_line_in_another_currency_never_matches() {
        let capture = line("3C6", SettlementKind::Charge, 4999, 224, "3C6", Some("5O19"));
        assert_eq!(key_of(&capture), LineKey::Object(BookedKind::Sale, "5O19".to_owned()));
        let mut euros = line("txn_e", SettlementKind::Charge, 4999, 0, "ch_e", Some("pi_e"));
        euros.amounts =
            LineAmounts::from_gross(Money::from_minor(4999, Currency::EUR), Money::zero(Currency::EUR)).unwrap();
        let results = match_lines(&[euros], &[booked(BookedKind::Sale, "pi_e", 4999, 0)]);
        assert!(matches!(results[0].result, LineResult::AmountDiffers { .. }), "{results:?}");
    }
}
