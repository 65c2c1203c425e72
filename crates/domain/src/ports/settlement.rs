//! Reading what a gateway booked and paid out: its balance lines (each
//! charge, refund, dispute debit, fee, transfer ... as the gateway's own
//! books show it, with the fee it kept) and its payouts to the platform's
//! bank. Settlement reconciliation compares these, to the cent, with the
//! ledger; this port only reads.
//!
//! # Sign convention
//!
//! Every figure is seen from the platform's balance *at the gateway*:
//! money into that balance is positive, money out of it negative. A charge
//! is positive; a refund, a dispute debit, a transfer to an instructor and
//! a payout to the bank are negative; a dispute won back or a reversed
//! transfer is positive. A line's `fee` is what the gateway kept for it
//! (positive when kept, negative when given back), so
//! `net = amount - fee` always, and the sum of the nets of a period is
//! what the balance moved by.
//!
//! # Matching
//!
//! A line names the gateway object it books ([`SettlementLine::source`]) and
//! the object that one belongs to ([`SettlementLine::reference`]), the ids
//! Skillpay stores with its payments, refunds, disputes and payouts, so
//! each line can be tied to the ledger journal that booked the same money.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::GatewayError;
use crate::money::{Currency, Money};

/// A half-open span of time `[since, until)` to read a gateway's books for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettlementPeriod {
    since: DateTime<Utc>,
    until: DateTime<Utc>,
}

/// A period that ends before (or when) it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a settlement period must end after it starts")]
pub struct EmptyPeriod;

impl SettlementPeriod {
    /// The period from `since` (included) to `until` (excluded).
    pub fn new(since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Self, EmptyPeriod> {
        if since < until { Ok(Self { since, until }) } else { Err(EmptyPeriod) }
    }

    /// Its first instant.
    pub fn since(&self) -> DateTime<Utc> {
        self.since
    }

    /// The first instant after it.
    pub fn until(&self) -> DateTime<Utc> {
        self.until
    }

    /// Whether `at` falls in it.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.since <= at && at < self.until
    }

    /// The period cut into consecutive pieces of at most `longest` each
    /// (for gateways that answer only so much time per request), in
    /// order, covering it exactly once.
    pub fn windows(&self, longest: chrono::Duration) -> Vec<SettlementPeriod> {
        let mut windows = Vec::new();
        let mut since = self.since;
        // A non-positive length would never advance: take the whole period.
        let step = if longest > chrono::Duration::zero() { longest } else { self.until - self.since };
        while since < self.until {
            let until = since.checked_add_signed(step).map_or(self.until, |end| end.min(self.until));
            windows.push(SettlementPeriod { since, until });
            since = until;
        }
        windows
    }
}

/// A line's gross amount, the fee the gateway kept for it and what it left
/// in the balance, in one currency; `net = amount - fee` by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAmounts {
    amount: Money,
    fee: Money,
    net: Money,
}

/// Figures a gateway reported that cannot be a line's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LineAmountsError {
    /// Amount, fee and net are not all in one currency.
    #[error("a line's amount, fee and net must share one currency")]
    CurrencyMismatch,
    /// `amount - fee` is not `net`: the gateway's figures disagree with
    /// themselves, and reconciling against them would hide a cent.
    #[error("a line's net {net} is not its amount {amount} less its fee {fee}")]
    DoNotAddUp {
        /// The gross amount.
        amount: Money,
        /// The fee.
        fee: Money,
        /// The net reported.
        net: Money,
    },
    /// `amount - fee` does not fit.
    #[error("a line's figures are out of range")]
    Overflow,
}

impl LineAmounts {
    /// Figures reported with their net (Stripe), checked to add up.
    pub fn new(amount: Money, fee: Money, net: Money) -> Result<Self, LineAmountsError> {
        let computed = Self::from_gross(amount, fee)?;
        if net.currency() != amount.currency() {
            return Err(LineAmountsError::CurrencyMismatch);
        }
        if computed.net != net {
            return Err(LineAmountsError::DoNotAddUp { amount, fee, net });
        }
        Ok(computed)
    }

    /// Figures reported without a net (PayPal): the net is computed.
    pub fn from_gross(amount: Money, fee: Money) -> Result<Self, LineAmountsError> {
        if fee.currency() != amount.currency() {
            return Err(LineAmountsError::CurrencyMismatch);
        }
        let net = amount.checked_sub(fee).map_err(|_| LineAmountsError::Overflow)?;
        Ok(Self { amount, fee, net })
    }

    /// The gross amount: positive into the gateway balance, negative out.
    pub fn amount(&self) -> Money {
        self.amount
    }

    /// What the gateway kept for the line (negative: it gave a fee back).
    pub fn fee(&self) -> Money {
        self.fee
    }

    /// What the line moved the balance by: `amount - fee`.
    pub fn net(&self) -> Money {
        self.net
    }

    /// The currency of all three.
    pub fn currency(&self) -> Currency {
        self.amount.currency()
    }
}

/// What a line books, in gateway-neutral terms. The gateway's own type
/// name stays in [`SettlementKind::Other`] when it is none of these, so
/// nothing is dropped or guessed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SettlementKind {
    /// A buyer's payment taken (Stripe `charge`/`payment`; PayPal T00xx
    /// payments). Positive.
    Charge,
    /// Money given back to a buyer (Stripe `refund`/`payment_refund`;
    /// PayPal T1107). Negative.
    Refund,
    /// A refund that did not reach the buyer comes back (Stripe
    /// `refund_failure`/`payment_failure_refund`). Positive.
    RefundFailure,
    /// A dispute's money: taken when opened or lost (negative), given back
    /// when won (positive); Stripe `adjustment` of a `dp_…`, PayPal
    /// chargebacks and reversals (T1106, T12xx).
    Dispute,
    /// Any other correction the gateway made (Stripe `adjustment` not
    /// about a dispute).
    Adjustment,
    /// A fee charged on its own line, outside a charge (Stripe
    /// `stripe_fee`, `stripe_fx_fee`, `tax_fee`; PayPal T01xx). Negative.
    Fee,
    /// Money sent to an instructor (Stripe Connect `transfer`; PayPal
    /// Payouts' T0001). Negative.
    Transfer,
    /// A transfer coming back (Stripe `transfer_refund`,
    /// `transfer_cancel`, `transfer_failure`). Positive.
    TransferReversal,
    /// Funds held back or released (Stripe `reserve_transaction`,
    /// `reserved_funds`; PayPal holds T15xx, T21xx, T1110/T1111).
    Hold,
    /// The balance paid out to the platform's bank (Stripe `payout`;
    /// PayPal T04xx withdrawals). Negative.
    BankPayout,
    /// A bank payout that failed or was cancelled comes back (Stripe
    /// `payout_failure`/`payout_cancel`). Positive.
    BankPayoutReversal,
    /// Anything else, by the gateway's own name (`topup`, `T0200`, ...).
    Other(String),
}

impl SettlementKind {
    const NAMED: [(SettlementKind, &'static str); 11] = [
        (SettlementKind::Charge, "charge"),
        (SettlementKind::Refund, "refund"),
        (SettlementKind::RefundFailure, "refund_failure"),
        (SettlementKind::Dispute, "dispute"),
        (SettlementKind::Adjustment, "adjustment"),
        (SettlementKind::Fee, "fee"),
        (SettlementKind::Transfer, "transfer"),
        (SettlementKind::TransferReversal, "transfer_reversal"),
        (SettlementKind::Hold, "hold"),
        (SettlementKind::BankPayout, "bank_payout"),
        (SettlementKind::BankPayoutReversal, "bank_payout_reversal"),
    ];

    /// Stable name: `charge`, `refund`, ... and `other:<the gateway's
    /// name>` for [`SettlementKind::Other`].
    pub fn name(&self) -> String {
        match self {
            SettlementKind::Other(name) => format!("other:{name}"),
            known => Self::NAMED.iter().find(|(k, _)| k == known).map_or_else(String::new, |(_, n)| (*n).to_owned()),
        }
    }

    /// The kind named `name` (as [`SettlementKind::name`] gives it).
    pub fn from_name(name: &str) -> Option<SettlementKind> {
        if let Some(other) = name.strip_prefix("other:") {
            return Some(SettlementKind::Other(other.to_owned()));
        }
        Self::NAMED.iter().find(|(_, n)| *n == name).map(|(k, _)| k.clone())
    }
}

/// One line of a gateway's books.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementLine {
    /// The gateway's id of the line (Stripe `txn_…`, PayPal's transaction
    /// id); unique per gateway.
    pub id: String,
    /// What it books.
    pub kind: SettlementKind,
    /// Its figures, signed as the module explains.
    pub amounts: LineAmounts,
    /// The gateway object the line books: Stripe `ch_…`/`py_…` (charge),
    /// `re_…`/`pyr_…` (refund), `dp_…` (dispute), `tr_…` (transfer),
    /// `trr_…` (transfer reversal), `po_…` (payout); PayPal the capture,
    /// refund or withdrawal (its transaction id). `None` when the gateway
    /// names none (a Stripe fee line).
    pub source: Option<String>,
    /// The object `source` belongs to, as Skillpay stores it: Stripe the
    /// PaymentIntent of a charge, refund or dispute (or its charge when no
    /// PaymentIntent is named), the transfer of a transfer reversal; PayPal
    /// the `paypal_reference_id` (the order of a capture, the capture of a
    /// refund or reversal).
    pub reference: Option<String>,
    /// The bank payout that paid the line out, when the gateway says
    /// (Stripe, when read by payout).
    pub payout: Option<String>,
    /// When the gateway booked it.
    pub created: DateTime<Utc>,
}

/// Where a payout to the platform's bank stands.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BankPayoutStatus {
    /// Created, not yet sent to the bank.
    Pending,
    /// Sent, not yet confirmed by the bank.
    InTransit,
    /// Arrived.
    Paid,
    /// Refused or returned by the bank; the money went back to the gateway
    /// balance.
    Failed {
        /// The gateway's failure code, when it gives one.
        code: Option<String>,
    },
    /// Cancelled before it went out.
    Canceled,
    /// A status newer than this code, by the gateway's own name.
    Other(String),
}

impl BankPayoutStatus {
    /// Stable name (`paid`, `failed`, ...; a newer status by its own name).
    pub fn name(&self) -> &str {
        match self {
            BankPayoutStatus::Pending => "pending",
            BankPayoutStatus::InTransit => "in_transit",
            BankPayoutStatus::Paid => "paid",
            BankPayoutStatus::Failed { .. } => "failed",
            BankPayoutStatus::Canceled => "canceled",
            BankPayoutStatus::Other(name) => name,
        }
    }

    /// The status named `name` (a failure's code is not kept).
    pub fn from_name(name: &str) -> BankPayoutStatus {
        match name {
            "pending" => BankPayoutStatus::Pending,
            "in_transit" => BankPayoutStatus::InTransit,
            "paid" => BankPayoutStatus::Paid,
            "failed" => BankPayoutStatus::Failed { code: None },
            "canceled" => BankPayoutStatus::Canceled,
            other => BankPayoutStatus::Other(other.to_owned()),
        }
    }
}

/// A payout of the gateway balance to the platform's bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayBankPayout {
    /// The gateway's id (Stripe `po_…`; PayPal the withdrawal's
    /// transaction id).
    pub id: String,
    /// What left the balance for the bank, positive.
    pub amount: Money,
    /// Where it stands.
    pub status: BankPayoutStatus,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// When it is expected at (or reached) the bank, when the gateway says.
    pub arrival: Option<DateTime<Utc>>,
}

/// The lines a bank payout paid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutContents {
    /// Every line it contains, its own `BankPayout` line included (so the
    /// nets sum to zero when the payout is complete).
    Itemised(Vec<SettlementLine>),
    /// The gateway is still tying lines to the payout; ask again later.
    NotYet,
    /// The gateway does not tie lines to this payout (PayPal: a withdrawal
    /// is one line among the others; Stripe: a payout made by hand rather
    /// than by its schedule); reconcile it by period.
    NotItemised,
}

/// A gateway balance in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayBalance {
    /// What can be paid out now.
    pub available: Money,
    /// What is there but not at the platform's disposal yet (Stripe's
    /// pending funds, PayPal's withheld balance).
    pub held: Money,
}

/// Reads a gateway's books. Every method only reads, and every method is
/// required (no defaults), so a wrapper such as
/// [`crate::breaker::Breaking`] cannot forget to pass one on.
///
/// Errors: a figure in a currency Skillpay does not know, or figures that
/// do not add up, MUST be `InvalidRequest` (the read stops rather than
/// skipping money); the gateway down or unreadable MUST be `Unavailable`;
/// a payout the gateway does not know MUST be `UnknownPayment` (a gateway
/// that itemises no payout answers `NotItemised` for any id, unasked).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SettlementGateway: Send + Sync {
    /// The payouts to the platform's bank created in `period`, all pages,
    /// each once.
    async fn payouts(&self, period: SettlementPeriod) -> Result<Vec<GatewayBankPayout>, GatewayError>;
    /// Every line booked in `period`, all pages, each once.
    async fn lines(&self, period: SettlementPeriod) -> Result<Vec<SettlementLine>, GatewayError>;
    /// The lines a payout (by the gateway's id) paid out.
    async fn payout_lines(&self, payout_id: &str) -> Result<PayoutContents, GatewayError>;
    /// One payout to the bank as the gateway reports it now (after its
    /// `payout.paid` or `payout.failed` event); `UnknownPayment` for a
    /// gateway that reports none by id.
    async fn payout(&self, payout_id: &str) -> Result<GatewayBankPayout, GatewayError>;
    /// The balance now, one entry per currency held.
    async fn balances(&self) -> Result<Vec<GatewayBalance>, GatewayError>;
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    #[test]
    fn a_line_s_net_is_its_amount_less_its_fee() {
        let charge = LineAmounts::new(usd(10_000), usd(320), usd(9_680)).unwrap();
        assert_eq!((charge.amount(), charge.fee(), charge.net()), (usd(10_000), usd(320), usd(9_680)));
        assert_eq!(LineAmounts::from_gross(usd(-2_500), usd(-30)).unwrap().net(), usd(-2_470));
    }

    #[test]
    fn figures_that_do_not_add_up_or_mix_currencies_are_refused() {
        assert!(matches!(
            LineAmounts::new(usd(10_000), usd(320), usd(9_681)),
            Err(LineAmountsError::DoNotAddUp { .. })
        ));
        let eur = Money::from_minor(320, Currency::EUR);
        assert_eq!(LineAmounts::from_gross(usd(10_000), eur), Err(LineAmountsError::CurrencyMismatch));
        assert_eq!(
            LineAmounts::new(usd(10_000), usd(320), Money::from_minor(9_680, Currency::EUR)),
            Err(LineAmountsError::CurrencyMismatch)
        );
        assert_eq!(LineAmounts::from_gross(usd(i64::MIN), usd(1)), Err(LineAmountsError::Overflow));
    }

    #[test]
    fn kinds_keep_their_names_and_an_unknown_one_keeps_the_gateway_s() {
        for (kind, _) in SettlementKind::NAMED {
            assert_eq!(SettlementKind::from_name(&kind.name()), Some(kind));
        }
        let topup = SettlementKind::Other("topup".to_owned());
        assert_eq!(topup.name(), "other:topup");
        assert_eq!(SettlementKind::from_name("other:topup"), Some(topup));
        assert_eq!(SettlementKind::from_name("topup"), None);
    }

    #[test]
    fn a_period_must_end_after_it_starts() {
        let at = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
        assert_eq!(SettlementPeriod::new(at, at), Err(EmptyPeriod));
        assert_eq!(SettlementPeriod::new(at, at - Duration::seconds(1)), Err(EmptyPeriod));
        let period = SettlementPeriod::new(at, at + Duration::days(1)).unwrap();
        assert!(period.contains(at));
        assert!(!period.contains(at + Duration::days(1)), "the end is excluded");
    }

    #[test]
    fn windows_cover_a_period_exactly_once_and_none_is_longer_than_asked() {
        let since = Utc.with_ymd_and_hms(2026, 8, 1, 0, 0, 0).unwrap();
        let until = Utc.with_ymd_and_hms(2026, 10, 15, 12, 0, 0).unwrap();
        let windows = SettlementPeriod::new(since, until).unwrap().windows(Duration::days(31));
        assert_eq!(windows.len(), 3);
        assert_eq!(windows[0].since(), since);
        assert_eq!(windows[2].until(), until);
        for pair in windows.windows(2) {
            assert_eq!(pair[0].until(), pair[1].since(), "no gap, no overlap");
        }
        assert!(windows.iter().all(|w| w.until() - w.since() <= Duration::days(31)));
        let short = SettlementPeriod::new(since, since + Duration::hours(1)).unwrap();
        assert_eq!(short.windows(Duration::days(31)), vec![short]);
        assert_eq!(short.windows(Duration::zero()), vec![short], "a useless length takes the whole period");
    }
}
