//! Double-entry ledger: balanced journal transactions by construction.
//!
//! Amounts in entries are signed minor units: a debit is positive, a credit
//! negative, so a journal balances when its entries sum to zero. A
//! [`Journal`] can only be built through [`JournalBuilder::build`], which
//! refuses an unbalanced or mixed-currency set of entries. Storage writes a
//! journal in the same database transaction as the state change causing it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::ids::{JournalId, PaymentId, PayoutId, UserId};
use crate::money::{Currency, Money, MoneyError};
use crate::payment::{Payment, PaymentMethod};
use crate::payout::{Payout, PayoutMethod};

/// A ledger account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    /// Money the gateway of this method holds for us (asset: debit balance).
    GatewayClearing(PaymentMethod),
    /// The platform's fee income (credit balance).
    PlatformRevenue,
    /// Earnings still inside the payout hold period (credit balance).
    InstructorPending(UserId),
    /// What the platform owes an instructor and can pay out: the
    /// *available* balance (credit balance; a debit balance is money the
    /// instructor owes back).
    InstructorPayable(UserId),
    /// Payouts requested and not yet paid or returned (credit balance).
    PayoutsInTransit(UserId),
    /// Money sent out through a payout method (credit balance: what left).
    PayoutFunds(PayoutMethod),
    /// Money held back while disputes are open (credit balance).
    DisputeHolds,
    /// What the gateways kept as their processing fees, when the platform
    /// bears them (expense: debit balance).
    GatewayFees,
    /// The platform's bank account, into which the gateways pay out their
    /// balances (asset: debit balance).
    PlatformBank,
    /// Differences with a gateway's books accepted by an admin
    /// (docs/reconciliation.md): money the gateway moved that nothing else
    /// in the ledger explains (debit balance: a loss).
    SettlementAdjustments,
    /// Money taken for payments the fraud controls hold for review: owed
    /// to their payers until released as sales or refunded (credit
    /// balance).
    PaymentsInReview,
}

impl Account {
    /// Stable name, e.g. `gateway_clearing:stripe`, `instructor_payable:42`.
    pub fn code(&self) -> String {
        match self {
            Account::GatewayClearing(method) => format!("gateway_clearing:{}", method.as_str()),
            Account::PlatformRevenue => "platform_revenue".to_owned(),
            Account::InstructorPending(user) => format!("instructor_pending:{user}"),
            Account::InstructorPayable(user) => format!("instructor_payable:{user}"),
            Account::PayoutsInTransit(user) => format!("payouts_in_transit:{user}"),
            Account::PayoutFunds(method) => format!("payout_funds:{}", method.as_str()),
            Account::DisputeHolds => "dispute_holds".to_owned(),
            Account::GatewayFees => "gateway_fees".to_owned(),
            Account::PlatformBank => "platform_bank".to_owned(),
            Account::SettlementAdjustments => "settlement_adjustments".to_owned(),
            Account::PaymentsInReview => "payments_in_review".to_owned(),
        }
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

/// An account name that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ledger account")]
pub struct UnknownAccount;

impl FromStr for Account {
    type Err = UnknownAccount;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "platform_revenue" {
            return Ok(Account::PlatformRevenue);
        }
        if s == "dispute_holds" {
            return Ok(Account::DisputeHolds);
        }
        if s == "gateway_fees" {
            return Ok(Account::GatewayFees);
        }
        if s == "platform_bank" {
            return Ok(Account::PlatformBank);
        }
        if s == "settlement_adjustments" {
            return Ok(Account::SettlementAdjustments);
        }
        if s == "payments_in_review" {
            return Ok(Account::PaymentsInReview);
        }
        if let Some(method) = s.strip_prefix("gateway_clearing:") {
            return method.parse().map(Account::GatewayClearing).map_err(|_| UnknownAccount);
        }
        if let Some(user) = s.strip_prefix("instructor_pending:") {
            return user.parse().map(Account::InstructorPending).map_err(|_| UnknownAccount);
        }
        if let Some(user) = s.strip_prefix("instructor_payable:") {
            return user.parse().map(Account::InstructorPayable).map_err(|_| UnknownAccount);
        }
        if let Some(user) = s.strip_prefix("payouts_in_transit:") {
            return user.parse().map(Account::PayoutsInTransit).map_err(|_| UnknownAccount);
        }
        if let Some(method) = s.strip_prefix("payout_funds:") {
            return method.parse().map(Account::PayoutFunds).map_err(|_| UnknownAccount);
        }
        Err(UnknownAccount)
    }
}

/// Why a journal is a sale, a refund, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum JournalKind {
    /// A completed payment.
    Sale,
    /// A paid payment held for review: its money is owed to its payer
    /// until released (then a `Sale`) or refunded.
    ReviewHold,
    /// Money returned to the buyer.
    Refund,
    /// A dispute opened: its amount is held.
    DisputeHold,
    /// A dispute won: the hold is released.
    DisputeRelease,
    /// A dispute lost: the held money is gone (plus any dispute fee).
    DisputeLoss,
    /// A sale's earnings leave the hold period and become available.
    EarningsRelease,
    /// A payout is requested: its amount moves from available to in transit.
    PayoutReserve,
    /// A payout is paid: the money leaves the platform.
    PayoutPaid,
    /// A payout is rejected, cancelled, fails or comes back: the money is
    /// available again.
    PayoutReturn,
    /// The gateway kept its processing fee out of a charge.
    GatewayFee,
    /// The gateway gave back (part of) its fee with a refund.
    GatewayFeeReturn,
    /// A gateway paid its balance out to the platform's bank (or such a
    /// payout came back).
    BankPayout,
    /// An admin accepted a gateway's figure that differed from the
    /// ledger's (settlement reconciliation).
    SettlementAdjustment,
}

impl JournalKind {
    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// What a journal belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JournalSubject {
    /// A payment (sales, refunds, disputes, releases).
    Payment(PaymentId),
    /// A payout.
    Payout(PayoutId),
    /// The platform's settlement with a gateway: bank payouts and accepted
    /// differences (docs/reconciliation.md), which belong to no payment
    /// or payout.
    Settlement,
}

/// The money object a journal records a change of: a payment or a payout,
/// each of one mode, which its journals take (test and live money never
/// meet in one journal; the database refuses a journal of another mode
/// than its payment's or payout's).
pub trait JournalOwner {
    /// What the journal belongs to.
    fn journal_subject(&self) -> JournalSubject;
    /// Live money (`true`) or test money.
    fn livemode(&self) -> bool;
}

impl JournalOwner for Payment {
    fn journal_subject(&self) -> JournalSubject {
        JournalSubject::Payment(self.id)
    }
    fn livemode(&self) -> bool {
        self.livemode
    }
}

impl JournalOwner for Payout {
    fn journal_subject(&self) -> JournalSubject {
        JournalSubject::Payout(self.id)
    }
    fn livemode(&self) -> bool {
        self.livemode
    }
}

/// The owner of a settlement journal: the platform's books of one mode
/// with its gateways.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettlementBooks {
    /// Live money (`true`) or test money.
    pub livemode: bool,
}

impl JournalOwner for SettlementBooks {
    fn journal_subject(&self) -> JournalSubject {
        JournalSubject::Settlement
    }
    fn livemode(&self) -> bool {
        self.livemode
    }
}

/// One line of a journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The account moved.
    pub account: Account,
    /// Signed minor units: debit positive, credit negative.
    pub amount_minor: i64,
}

/// A balanced journal transaction (sum of entries is zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    id: JournalId,
    kind: JournalKind,
    subject: JournalSubject,
    livemode: bool,
    currency: Currency,
    entries: Vec<Entry>,
    posted_at: DateTime<Utc>,
}

impl Journal {
    /// Its id.
    pub fn id(&self) -> JournalId {
        self.id
    }
    /// What it records.
    pub fn kind(&self) -> JournalKind {
        self.kind
    }
    /// What it belongs to.
    pub fn subject(&self) -> JournalSubject {
        self.subject
    }
    /// The payment it belongs to, if any.
    pub fn payment_id(&self) -> Option<PaymentId> {
        match self.subject {
            JournalSubject::Payment(id) => Some(id),
            JournalSubject::Payout(_) | JournalSubject::Settlement => None,
        }
    }
    /// The payout it belongs to, if any.
    pub fn payout_id(&self) -> Option<PayoutId> {
        match self.subject {
            JournalSubject::Payout(id) => Some(id),
            JournalSubject::Payment(_) | JournalSubject::Settlement => None,
        }
    }
    /// Live money (`true`) or test money: its owner's mode. Its entries
    /// move that mode's balances only.
    pub fn livemode(&self) -> bool {
        self.livemode
    }
    /// Its single currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }
    /// Its entries (never empty, summing to zero).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
    /// When it was posted.
    pub fn posted_at(&self) -> DateTime<Utc> {
        self.posted_at
    }
}

/// Why a set of entries cannot form a journal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// Debits and credits differ.
    #[error("journal does not balance (off by {0} minor units)")]
    Unbalanced(i64),
    /// Entries of more than one currency.
    #[error("journal mixes currencies")]
    MixedCurrencies,
    /// Nothing to record.
    #[error("journal has no non-zero entry")]
    Empty,
    /// An amount overflowed.
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// Collects entries, then builds a [`Journal`] only if it balances.
#[derive(Debug)]
pub struct JournalBuilder {
    id: JournalId,
    kind: JournalKind,
    subject: JournalSubject,
    livemode: bool,
    currency: Currency,
    entries: Vec<Entry>,
    mixed: bool,
}

impl JournalBuilder {
    /// Starts a journal of `currency` about `owner`, in its mode.
    pub fn new(id: JournalId, kind: JournalKind, owner: &impl JournalOwner, currency: Currency) -> Self {
        Self {
            id,
            kind,
            subject: owner.journal_subject(),
            livemode: owner.livemode(),
            currency,
            entries: Vec::new(),
            mixed: false,
        }
    }

    /// Debits `account` by `amount` (zero amounts are skipped).
    pub fn debit(mut self, account: Account, amount: Money) -> Self {
        self.push(account, amount, 1);
        self
    }

    /// Credits `account` by `amount` (zero amounts are skipped).
    pub fn credit(mut self, account: Account, amount: Money) -> Self {
        self.push(account, amount, -1);
        self
    }

    fn push(&mut self, account: Account, amount: Money, sign: i64) {
        if amount.currency() != self.currency {
            self.mixed = true;
        }
        if !amount.is_zero() {
            self.entries.push(Entry { account, amount_minor: amount.minor().saturating_mul(sign) });
        }
    }

    /// The journal, or why it cannot be one.
    pub fn build(self, posted_at: DateTime<Utc>) -> Result<Journal, LedgerError> {
        if self.mixed {
            return Err(LedgerError::MixedCurrencies);
        }
        if self.entries.is_empty() {
            return Err(LedgerError::Empty);
        }
        let sum = self
            .entries
            .iter()
            .try_fold(0_i64, |acc, e| acc.checked_add(e.amount_minor))
            .ok_or(LedgerError::Money(MoneyError::Overflow))?;
        if sum != 0 {
            return Err(LedgerError::Unbalanced(sum));
        }
        Ok(Journal {
            id: self.id,
            kind: self.kind,
            subject: self.subject,
            livemode: self.livemode,
            currency: self.currency,
            entries: self.entries,
            posted_at,
        })
    }
}

/// The journal of a completed sale: the gateway owes us the amount; the
/// instructor is owed their earnings (pending until the hold period ends,
/// see [`earnings_release_journal`]) and the platform keeps its fee.
///
/// A free payment moves no money and has no journal (`Ok(None)`).
pub fn sale_journal(id: JournalId, payment: &Payment, at: DateTime<Utc>) -> Result<Option<Journal>, LedgerError> {
    sale_from(id, payment, Account::GatewayClearing(payment.method), at)
}

/// A sale's split of `payment`'s amount, taken from `source`: the
/// instructor's earnings (still in the hold period) and the platform's fee.
fn sale_from(
    id: JournalId,
    payment: &Payment,
    source: Account,
    at: DateTime<Utc>,
) -> Result<Option<Journal>, LedgerError> {
    if payment.amount.is_zero() {
        return Ok(None);
    }
    JournalBuilder::new(id, JournalKind::Sale, payment, payment.amount.currency())
        .debit(source, payment.amount)
        .credit(Account::InstructorPending(payment.instructor_id), payment.instructor_earnings)
        .credit(Account::PlatformRevenue, payment.platform_fee)
        .build(at)
        .map(Some)
}

/// The journal of a paid payment the fraud controls hold for review: the
/// gateway holds its money, owed to the payer until an admin releases it
/// ([`review_release_journal`]) or it is refunded ([`refund_journal`]).
pub fn review_hold_journal(
    id: JournalId,
    payment: &Payment,
    at: DateTime<Utc>,
) -> Result<Option<Journal>, LedgerError> {
    if payment.amount.is_zero() {
        return Ok(None);
    }
    JournalBuilder::new(id, JournalKind::ReviewHold, payment, payment.amount.currency())
        .debit(Account::GatewayClearing(payment.method), payment.amount)
        .credit(Account::PaymentsInReview, payment.amount)
        .build(at)
        .map(Some)
}

/// The sale of a held payment an admin released: as [`sale_journal`], the
/// money coming out of review instead of the gateway's clearing.
pub fn review_release_journal(
    id: JournalId,
    payment: &Payment,
    at: DateTime<Utc>,
) -> Result<Option<Journal>, LedgerError> {
    sale_from(id, payment, Account::PaymentsInReview, at)
}

/// Who bears a cost the platform does not choose: a gateway's processing
/// fee, a lost dispute's fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum FeeBearer {
    /// The platform (out of its revenue).
    Platform,
    /// The instructor (out of their earnings).
    Instructor,
}

/// The journal of the processing fee the gateway kept out of a payment's
/// charge: the gateway holds that much less for the platform, and the
/// bearer pays it (the platform as an expense, the instructor out of the
/// available balance, as refunds do); `Ok(None)` for a zero fee.
pub fn gateway_fee_journal(
    id: JournalId,
    payment: &Payment,
    fee: Money,
    bearer: FeeBearer,
    at: DateTime<Utc>,
) -> Result<Option<Journal>, LedgerError> {
    if fee.is_zero() {
        return Ok(None);
    }
    let payer = match bearer {
        FeeBearer::Platform => Account::GatewayFees,
        FeeBearer::Instructor => Account::InstructorPayable(payment.instructor_id),
    };
    JournalBuilder::new(id, JournalKind::GatewayFee, payment, fee.currency())
        .debit(payer, fee)
        .credit(Account::GatewayClearing(payment.method), fee)
        .build(at)
        .map(Some)
}

/// The journal of what the gateway gave back of its processing fee with a
/// refund: the gateway holds that much more for the platform again, and
/// whoever bears gateway fees gets it back (a negative `returned`, a fee
/// charged for the refund, moves the other way); `Ok(None)` for zero.
pub fn gateway_fee_return_journal(
    id: JournalId,
    payment: &Payment,
    returned: Money,
    bearer: FeeBearer,
    at: DateTime<Utc>,
) -> Result<Option<Journal>, LedgerError> {
    if returned.is_zero() {
        return Ok(None);
    }
    let bearer_account = match bearer {
        FeeBearer::Platform => Account::GatewayFees,
        FeeBearer::Instructor => Account::InstructorPayable(payment.instructor_id),
    };
    let clearing = Account::GatewayClearing(payment.method);
    let size = Money::from_minor(returned.minor().saturating_abs(), returned.currency());
    let (debit, credit) = if returned.minor() > 0 { (clearing, bearer_account) } else { (bearer_account, clearing) };
    JournalBuilder::new(id, JournalKind::GatewayFeeReturn, payment, returned.currency())
        .debit(debit, size)
        .credit(credit, size)
        .build(at)
        .map(Some)
}

/// The journal moving a sale's earnings from pending to available once the
/// hold period is over; `Ok(None)` when the sale earned nothing.
///
/// The whole of the sale's earnings moves, whatever happened since:
/// refunds and disputes take their share from the *available* balance the
/// moment they happen (money leaving is never held back), so releasing the
/// full earnings later leaves every account exact.
pub fn earnings_release_journal(
    id: JournalId,
    payment: &Payment,
    at: DateTime<Utc>,
) -> Result<Option<Journal>, LedgerError> {
    if payment.instructor_earnings.is_zero() {
        return Ok(None);
    }
    JournalBuilder::new(id, JournalKind::EarningsRelease, payment, payment.instructor_earnings.currency())
        .debit(Account::InstructorPending(payment.instructor_id), payment.instructor_earnings)
        .credit(Account::InstructorPayable(payment.instructor_id), payment.instructor_earnings)
        .build(at)
        .map(Some)
}

/// The journal of a payout request: its amount leaves the available balance
/// and waits in transit.
pub fn payout_reserve_journal(id: JournalId, payout: &Payout, at: DateTime<Utc>) -> Result<Journal, LedgerError> {
    JournalBuilder::new(id, JournalKind::PayoutReserve, payout, payout.amount.currency())
        .debit(Account::InstructorPayable(payout.instructor_id), payout.amount)
        .credit(Account::PayoutsInTransit(payout.instructor_id), payout.amount)
        .build(at)
}

/// The journal of a paid payout: the money leaves through its method.
pub fn payout_paid_journal(id: JournalId, payout: &Payout, at: DateTime<Utc>) -> Result<Journal, LedgerError> {
    JournalBuilder::new(id, JournalKind::PayoutPaid, payout, payout.amount.currency())
        .debit(Account::PayoutsInTransit(payout.instructor_id), payout.amount)
        .credit(Account::PayoutFunds(payout.method), payout.amount)
        .build(at)
}

/// The journal giving a payout's money back to the available balance: from
/// in transit (rejected, cancelled, failed before paying) or, when it had
/// been paid and came back, from the method's funds.
pub fn payout_return_journal(
    id: JournalId,
    payout: &Payout,
    was_paid: bool,
    at: DateTime<Utc>,
) -> Result<Journal, LedgerError> {
    let from =
        if was_paid { Account::PayoutFunds(payout.method) } else { Account::PayoutsInTransit(payout.instructor_id) };
    JournalBuilder::new(id, JournalKind::PayoutReturn, payout, payout.amount.currency())
        .debit(from, payout.amount)
        .credit(Account::InstructorPayable(payout.instructor_id), payout.amount)
        .build(at)
}

/// The journal of a processed refund: the reverse of a sale's, for the
/// refunded amount, its fee part coming off platform revenue and the rest
/// off the instructor's earnings.
pub fn refund_journal(
    id: JournalId,
    payment: &Payment,
    refund: &crate::refund::Refund,
    at: DateTime<Utc>,
) -> Result<Journal, LedgerError> {
    if payment.status == crate::payment::PaymentStatus::InReview {
        // Never sold: the money owed to the payer goes back to them.
        return JournalBuilder::new(id, JournalKind::Refund, payment, refund.amount.currency())
            .debit(Account::PaymentsInReview, refund.amount)
            .credit(Account::GatewayClearing(payment.method), refund.amount)
            .build(at);
    }
    JournalBuilder::new(id, JournalKind::Refund, payment, refund.amount.currency())
        .debit(Account::InstructorPayable(payment.instructor_id), refund.earnings_reversed()?)
        .debit(Account::PlatformRevenue, refund.platform_fee_reversed)
        .credit(Account::GatewayClearing(payment.method), refund.amount)
        .build(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (JournalId, Payment) {
        (JournalId::from_uuid(uuid::Uuid::nil()), crate::builders::PaymentBuilder::new().build())
    }

    #[test]
    fn a_held_payment_owes_its_money_to_the_payer_until_released_or_refunded() {
        let payment = crate::builders::PaymentBuilder::new().build();
        let id = JournalId::from_uuid(uuid::Uuid::nil());
        let amount = payment.amount.minor();
        let line = |journal: &Journal, account: Account| {
            journal.entries().iter().filter(|e| e.account == account).map(|e| e.amount_minor).sum::<i64>()
        };
        let hold = review_hold_journal(id, &payment, Utc::now()).unwrap().unwrap();
        assert_eq!(hold.kind(), JournalKind::ReviewHold);
        assert_eq!(line(&hold, Account::PaymentsInReview), -amount);
        assert_eq!(line(&hold, Account::GatewayClearing(payment.method)), amount);
        let release = review_release_journal(id, &payment, Utc::now()).unwrap().unwrap();
        assert_eq!((release.kind(), line(&release, Account::PaymentsInReview)), (JournalKind::Sale, amount));
        assert_eq!(line(&release, Account::PlatformRevenue), -payment.platform_fee.minor());
        let held = Payment { status: crate::payment::PaymentStatus::InReview, ..payment.clone() };
        let refund =
            crate::builders::RefundBuilder::new().payment(held.id).amount(held.amount, held.platform_fee).build();
        let back = refund_journal(id, &held, &refund, Utc::now()).unwrap();
        assert_eq!(line(&back, Account::PaymentsInReview), refund.amount.minor());
        assert_eq!(line(&back, Account::InstructorPayable(held.instructor_id)), 0, "never earned, never reversed");
    }

    #[test]
    fn an_unbalanced_journal_cannot_be_built() {
        let (j, p) = ids();
        let usd = |m| Money::from_minor(m, Currency::USD);
        let result = JournalBuilder::new(j, JournalKind::Sale, &p, Currency::USD)
            .debit(Account::PlatformRevenue, usd(100))
            .credit(Account::InstructorPayable(UserId::new(1)), usd(99))
            .build(Utc::now());
        assert_eq!(result, Err(LedgerError::Unbalanced(1)));
    }

    #[test]
    fn a_mixed_currency_journal_cannot_be_built() {
        let (j, p) = ids();
        let result = JournalBuilder::new(j, JournalKind::Sale, &p, Currency::USD)
            .debit(Account::PlatformRevenue, Money::from_minor(1, Currency::EUR))
            .credit(Account::PlatformRevenue, Money::from_minor(1, Currency::EUR))
            .build(Utc::now());
        assert_eq!(result, Err(LedgerError::MixedCurrencies));
    }

    #[test]
    fn an_empty_journal_cannot_be_built() {
        let (j, p) = ids();
        let result = JournalBuilder::new(j, JournalKind::Sale, &p, Currency::USD).build(Utc::now());
        assert_eq!(result, Err(LedgerError::Empty));
    }

    #[test]
    fn a_gateway_fee_is_charged_to_its_bearer_out_of_the_clearing_account() {
        use crate::builders::PaymentBuilder;
        let payment =
            PaymentBuilder::new().instructor(UserId::new(9)).method(PaymentMethod::Stripe).completed().build();
        let fee = Money::from_minor(175, payment.amount.currency());
        let (j, _) = ids();
        for (bearer, payer) in [
            (FeeBearer::Platform, Account::GatewayFees),
            (FeeBearer::Instructor, Account::InstructorPayable(UserId::new(9))),
        ] {
            let journal = gateway_fee_journal(j, &payment, fee, bearer, Utc::now()).unwrap().unwrap();
            assert_eq!(journal.kind(), JournalKind::GatewayFee);
            let entries: Vec<(Account, i64)> = journal.entries().iter().map(|e| (e.account, e.amount_minor)).collect();
            assert_eq!(
                entries,
                vec![(payer, 175), (Account::GatewayClearing(PaymentMethod::Stripe), -175)],
                "{bearer:?}"
            );
        }
        let none =
            gateway_fee_journal(j, &payment, Money::zero(payment.amount.currency()), FeeBearer::Platform, Utc::now());
        assert_eq!(none, Ok(None), "a zero fee writes no journal");
    }

    #[test]
    fn a_returned_fee_goes_back_to_its_bearer_and_a_fee_charged_for_a_refund_the_other_way() {
        use crate::builders::PaymentBuilder;
        let payment =
            PaymentBuilder::new().instructor(UserId::new(9)).method(PaymentMethod::Paypal).completed().build();
        let (j, _) = ids();
        let usd = |minor| Money::from_minor(minor, payment.amount.currency());
        let clearing = Account::GatewayClearing(PaymentMethod::Paypal);
        let entries = |returned, bearer| -> Vec<(Account, i64)> {
            let journal = gateway_fee_return_journal(j, &payment, returned, bearer, Utc::now()).unwrap().unwrap();
            assert_eq!(journal.kind(), JournalKind::GatewayFeeReturn);
            journal.entries().iter().map(|e| (e.account, e.amount_minor)).collect()
        };
        assert_eq!(entries(usd(45), FeeBearer::Platform), vec![(clearing, 45), (Account::GatewayFees, -45)]);
        let instructor = Account::InstructorPayable(UserId::new(9));
        assert_eq!(entries(usd(45), FeeBearer::Instructor), vec![(clearing, 45), (instructor, -45)]);
        assert_eq!(entries(usd(-30), FeeBearer::Platform), vec![(Account::GatewayFees, 30), (clearing, -30)]);
        assert_eq!(gateway_fee_return_journal(j, &payment, usd(0), FeeBearer::Platform, Utc::now()), Ok(None));
    }

    #[test]
    fn a_journal_takes_the_mode_of_its_payment_or_payout() {
        use crate::builders::{PaymentBuilder, PayoutBuilder};
        let (j, _) = ids();
        for livemode in [true, false] {
            let mut payment = PaymentBuilder::new().completed().build();
            payment.livemode = livemode;
            let sale = sale_journal(j, &payment, Utc::now()).unwrap().unwrap();
            assert_eq!(sale.livemode(), livemode);
            let mut payout = PayoutBuilder::new().build();
            payout.livemode = livemode;
            assert_eq!(payout_reserve_journal(j, &payout, Utc::now()).unwrap().livemode(), livemode);
        }
    }

    #[test]
    fn account_codes_round_trip() {
        for account in [
            Account::PlatformRevenue,
            Account::GatewayClearing(PaymentMethod::Paypal),
            Account::GatewayClearing(PaymentMethod::BankTransfer),
            Account::InstructorPayable(UserId::new(42)),
            Account::InstructorPending(UserId::new(7)),
            Account::PayoutsInTransit(UserId::new(7)),
            Account::PayoutFunds(PayoutMethod::StripeConnect),
            Account::PayoutFunds(PayoutMethod::BankTransfer),
            Account::DisputeHolds,
            Account::GatewayFees,
        ] {
            assert_eq!(account.code().parse(), Ok(account));
        }
        assert!("instructor_payable:x".parse::<Account>().is_err());
        assert!("cash".parse::<Account>().is_err());
    }
}
