//! Instructor payouts: methods, destinations, the status machine and the
//! balance an instructor sees.
//!
//! Money for a payout leaves the instructor's *available* balance when it is
//! requested (into *in transit*), so racing requests can never spend it
//! twice; a rejected, cancelled or failed payout gives it back, a paid one
//! sends it out of the platform. See `ledger::payout_*_journal`.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{PayoutId, UserId};
use crate::money::{Currency, Money};

/// How an instructor is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
#[strum(parse_err_ty = UnknownPayoutMethod, parse_err_fn = UnknownPayoutMethod::from_name)]
pub enum PayoutMethod {
    /// A transfer to the instructor's Stripe connected account.
    StripeConnect,
    /// A PayPal payout to an email address.
    Paypal,
    /// A bank transfer an admin sends and then marks paid.
    BankTransfer,
}

impl PayoutMethod {
    /// Every method.
    pub const ALL: [PayoutMethod; 3] = [Self::StripeConnect, Self::Paypal, Self::BankTransfer];

    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// A payout method name that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown payout method")]
pub struct UnknownPayoutMethod;

impl UnknownPayoutMethod {
    /// The error for any unknown `name` (it is not kept).
    fn from_name(_name: &str) -> Self {
        UnknownPayoutMethod
    }
}

impl fmt::Display for PayoutMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a payout goes. Sealed at rest; only [`PayoutDestination::masked`]
/// is ever shown or logged (its `Debug` is masked too).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum PayoutDestination {
    /// A Stripe connected account (`acct_…`).
    StripeConnect {
        /// The connected account's id.
        account_id: String,
    },
    /// A PayPal account.
    Paypal {
        /// The receiver's email.
        email: String,
    },
    /// A bank account.
    BankTransfer {
        /// The account holder's name.
        account_holder: String,
        /// IBAN or account number (letters and digits).
        account_number: String,
        /// BIC/SWIFT or routing code, when the account number needs one.
        bank_code: Option<String>,
    },
}

/// Why destination details were refused (safe to show: never echoes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    /// Not an `acct_…` id.
    #[error("account_id must be a Stripe connected account id (acct_...)")]
    StripeAccount,
    /// Not an email address.
    #[error("email must be an email address")]
    Email,
    /// Holder name missing or too long.
    #[error("account_holder must be 1 to 140 characters")]
    Holder,
    /// Not 4 to 34 letters and digits.
    #[error("account_number must be 4 to 34 letters and digits")]
    AccountNumber,
    /// Not 4 to 11 letters and digits.
    #[error("bank_code must be 4 to 11 letters and digits")]
    BankCode,
}

fn letters_and_digits(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect()
}

fn last_four(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("****{tail}")
}

impl PayoutDestination {
    /// The method this destination belongs to.
    pub fn method(&self) -> PayoutMethod {
        match self {
            Self::StripeConnect { .. } => PayoutMethod::StripeConnect,
            Self::Paypal { .. } => PayoutMethod::Paypal,
            Self::BankTransfer { .. } => PayoutMethod::BankTransfer,
        }
    }

    /// The destination trimmed and normalised, or why it is unusable.
    pub fn normalized(self) -> Result<PayoutDestination, DestinationError> {
        match self {
            Self::StripeConnect { account_id } => {
                let account_id = account_id.trim().to_owned();
                let rest = account_id.strip_prefix("acct_").ok_or(DestinationError::StripeAccount)?;
                if rest.is_empty() || rest.len() > 64 || !rest.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(DestinationError::StripeAccount);
                }
                Ok(Self::StripeConnect { account_id })
            }
            Self::Paypal { email } => {
                let email = email.trim().to_owned();
                let valid = email.len() <= 254
                    && !email.chars().any(|c| c.is_whitespace() || c.is_control())
                    && matches!(email.split_once('@'), Some((local, domain))
                        if !local.is_empty() && domain.contains('.') && !domain.contains('@')
                            && !domain.starts_with('.') && !domain.ends_with('.'));
                if valid { Ok(Self::Paypal { email }) } else { Err(DestinationError::Email) }
            }
            Self::BankTransfer { account_holder, account_number, bank_code } => {
                let account_holder = account_holder.trim().to_owned();
                let holder_chars = account_holder.chars().count();
                if holder_chars == 0 || holder_chars > 140 || account_holder.chars().any(char::is_control) {
                    return Err(DestinationError::Holder);
                }
                let account_number = letters_and_digits(&account_number);
                if !(4..=34).contains(&account_number.len())
                    || !account_number.chars().all(|c| c.is_ascii_alphanumeric())
                {
                    return Err(DestinationError::AccountNumber);
                }
                let bank_code = match bank_code.map(|code| letters_and_digits(&code)) {
                    Some(code) if code.is_empty() => None,
                    Some(code)
                        if !(4..=11).contains(&code.len()) || !code.chars().all(|c| c.is_ascii_alphanumeric()) =>
                    {
                        return Err(DestinationError::BankCode);
                    }
                    other => other,
                };
                Ok(Self::BankTransfer { account_holder, account_number, bank_code })
            }
        }
    }

    /// What may be shown: the last four characters of the account, or the
    /// first letter and domain of an email.
    pub fn masked(&self) -> String {
        match self {
            Self::StripeConnect { account_id } => format!("acct_{}", last_four(account_id)),
            Self::Paypal { email } => match email.split_once('@') {
                Some((local, domain)) => {
                    format!("{}***@{domain}", local.chars().next().map(String::from).unwrap_or_default())
                }
                None => "***".to_owned(),
            },
            Self::BankTransfer { account_number, .. } => last_four(account_number),
        }
    }
}

impl fmt::Debug for PayoutDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PayoutDestination({} {})", self.method(), self.masked())
    }
}

/// Where a payout is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum PayoutStatus {
    /// Asked for; its amount is reserved (in transit).
    Requested,
    /// Approved by an admin; about to be sent.
    Approved,
    /// Sent to the gateway (or, for a bank transfer, being wired).
    Processing,
    /// The money reached the instructor.
    Paid,
    /// The gateway refused or returned it; the money is available again.
    Failed,
    /// Refused by an admin; the money is available again.
    Rejected,
    /// Withdrawn by the instructor; the money is available again.
    Cancelled,
}

impl PayoutStatus {
    /// Every status.
    pub const ALL: [PayoutStatus; 7] =
        [Self::Requested, Self::Approved, Self::Processing, Self::Paid, Self::Failed, Self::Rejected, Self::Cancelled];

    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }

    /// Parses a stable name.
    pub fn parse(name: &str) -> Option<PayoutStatus> {
        name.parse().ok()
    }

    /// True while the payout's money is in transit.
    pub fn is_in_transit(&self) -> bool {
        matches!(self, Self::Requested | Self::Approved | Self::Processing)
    }

    /// Applies `event`: the new status, `None` for a repeat or a stale event,
    /// or an error for a move that cannot happen.
    pub fn apply(self, event: PayoutEvent) -> Result<Option<PayoutStatus>, PayoutTransitionError> {
        use PayoutEvent as E;
        use PayoutStatus as S;
        let illegal = Err(PayoutTransitionError { from: self, event });
        match (self, event) {
            (S::Requested, E::Approve) => Ok(Some(S::Approved)),
            (S::Approved | S::Processing | S::Paid, E::Approve) => Ok(None),
            (S::Failed | S::Rejected | S::Cancelled, E::Approve) => illegal,

            (S::Requested, E::Reject) => Ok(Some(S::Rejected)),
            (S::Rejected, E::Reject) => Ok(None),
            (S::Approved | S::Processing | S::Paid | S::Failed | S::Cancelled, E::Reject) => illegal,

            (S::Requested, E::Cancel) => Ok(Some(S::Cancelled)),
            (S::Cancelled, E::Cancel) => Ok(None),
            (S::Approved | S::Processing | S::Paid | S::Failed | S::Rejected, E::Cancel) => illegal,

            (S::Approved, E::StartProcessing) => Ok(Some(S::Processing)),
            (S::Processing | S::Paid | S::Failed, E::StartProcessing) => Ok(None),
            (S::Requested | S::Rejected | S::Cancelled, E::StartProcessing) => illegal,

            (S::Processing, E::Pay) => Ok(Some(S::Paid)),
            (S::Paid, E::Pay) => Ok(None),
            // A success reported after a failure (or a return) is stale: the
            // money is already back in the balance.
            (S::Failed, E::Pay) => Ok(None),
            (S::Requested | S::Approved | S::Rejected | S::Cancelled, E::Pay) => illegal,

            // Paid money can come back (a reversed transfer, a returned
            // PayPal item, a bounced wire): the payout fails after all.
            (S::Processing | S::Paid, E::Fail) => Ok(Some(S::Failed)),
            (S::Failed, E::Fail) => Ok(None),
            (S::Requested | S::Approved | S::Rejected | S::Cancelled, E::Fail) => illegal,
        }
    }
}

impl fmt::Display for PayoutStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happens to a payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayoutEvent {
    /// An admin approves it.
    Approve,
    /// An admin rejects it.
    Reject,
    /// The instructor withdraws it.
    Cancel,
    /// It is sent to the gateway or the bank.
    StartProcessing,
    /// The money arrived.
    Pay,
    /// The gateway refused or returned it.
    Fail,
}

impl PayoutEvent {
    /// Every event.
    pub const ALL: [PayoutEvent; 6] =
        [Self::Approve, Self::Reject, Self::Cancel, Self::StartProcessing, Self::Pay, Self::Fail];
}

/// A move a payout's status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {} payout cannot take {event:?}", from.as_str())]
pub struct PayoutTransitionError {
    /// Its status.
    pub from: PayoutStatus,
    /// The event refused.
    pub event: PayoutEvent,
}

/// A payout as stored (its destination is stored sealed, apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    /// Its id (also the gateway's idempotency key).
    pub id: PayoutId,
    /// Who is paid.
    pub instructor_id: UserId,
    /// How much.
    pub amount: Money,
    /// How.
    pub method: PayoutMethod,
    /// Where it stands.
    pub status: PayoutStatus,
    /// The destination, masked.
    pub destination_masked: String,
    /// The gateway's transfer/payout id, or the bank reference.
    pub transaction_id: Option<String>,
    /// Why it failed or was rejected (safe to show).
    pub failure_reason: Option<String>,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was paid.
    pub paid_at: Option<DateTime<Utc>>,
    /// The admin whose approval sent it (with two-admin approval, the
    /// second).
    pub approved_by: Option<UserId>,
    /// When it was approved.
    pub approved_at: Option<DateTime<Utc>>,
    /// The deciding admin's note.
    pub admin_note: Option<String>,
    /// Live money (`true`) or test money: the balance it is taken from and
    /// the rail that may send it (test money only through a test-mode
    /// rail, live money only through a live one).
    pub livemode: bool,
}

/// An instructor's balance in one currency. `available` and
/// `negative_carry` are never both non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstructorBalance {
    /// The currency.
    pub currency: Currency,
    /// Live money (`true`) or test money: each mode has its own balance.
    pub livemode: bool,
    /// Earnings still inside the hold period.
    pub pending: Money,
    /// Earnings that can be paid out.
    pub available: Money,
    /// Requested and not yet paid or returned.
    pub in_transit: Money,
    /// Paid out so far.
    pub paid_out: Money,
    /// What refunds or lost disputes took beyond the available balance;
    /// later earnings pay it back before anything can be paid out.
    pub negative_carry: Money,
}

impl InstructorBalance {
    /// Builds the balance of one mode from its kept ledger balances
    /// (credit balances as positive amounts) and the total paid out.
    pub fn from_kept(
        livemode: bool,
        pending: Money,
        payable: Money,
        in_transit: Money,
        paid_out: Money,
    ) -> InstructorBalance {
        InstructorBalance {
            currency: payable.currency(),
            livemode,
            pending,
            available: payable.max_zero(),
            in_transit,
            paid_out,
            negative_carry: Money::from_minor(payable.minor().saturating_neg().max(0), payable.currency()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_event_has_a_defined_answer() {
        use PayoutEvent as E;
        use PayoutStatus as S;
        for status in PayoutStatus::ALL {
            for event in PayoutEvent::ALL {
                let result = status.apply(event);
                let expected = match (status, event) {
                    (S::Requested, E::Approve) => Ok(Some(S::Approved)),
                    (S::Requested, E::Reject) => Ok(Some(S::Rejected)),
                    (S::Requested, E::Cancel) => Ok(Some(S::Cancelled)),
                    (S::Approved, E::StartProcessing) => Ok(Some(S::Processing)),
                    (S::Processing, E::Pay) => Ok(Some(S::Paid)),
                    (S::Processing | S::Paid, E::Fail) => Ok(Some(S::Failed)),
                    (S::Approved | S::Processing | S::Paid, E::Approve)
                    | (S::Rejected, E::Reject)
                    | (S::Cancelled, E::Cancel)
                    | (S::Processing | S::Paid | S::Failed, E::StartProcessing)
                    | (S::Paid | S::Failed, E::Pay)
                    | (S::Failed, E::Fail) => Ok(None),
                    _ => Err(PayoutTransitionError { from: status, event }),
                };
                assert_eq!(result, expected, "{status:?} + {event:?}");
            }
        }
    }

    #[test]
    fn money_stays_in_transit_only_while_the_payout_is_open() {
        let open: Vec<_> = PayoutStatus::ALL.into_iter().filter(PayoutStatus::is_in_transit).collect();
        assert_eq!(open, [PayoutStatus::Requested, PayoutStatus::Approved, PayoutStatus::Processing]);
    }

    #[test]
    fn destinations_are_normalised_and_checked() {
        let bank = PayoutDestination::BankTransfer {
            account_holder: " Ada Lovelace ".into(),
            account_number: "de89 3704 0044 0532 0130 00".into(),
            bank_code: Some(" cobadeffxxx ".into()),
        }
        .normalized()
        .unwrap();
        assert_eq!(
            bank,
            PayoutDestination::BankTransfer {
                account_holder: "Ada Lovelace".into(),
                account_number: "DE89370400440532013000".into(),
                bank_code: Some("COBADEFFXXX".into()),
            }
        );
        assert_eq!(bank.masked(), "****3000");
        assert!(!format!("{bank:?}").contains("370400"));

        let stripe = PayoutDestination::StripeConnect { account_id: "acct_1Nv0FGQ9RKHgCVdK".into() };
        assert_eq!(stripe.clone().normalized().unwrap().masked(), "acct_****CVdK");
        let paypal = PayoutDestination::Paypal { email: "teacher@example.com".into() };
        assert_eq!(paypal.normalized().unwrap().masked(), "t***@example.com");

        for (bad, error) in [
            (PayoutDestination::StripeConnect { account_id: "cus_123".into() }, DestinationError::StripeAccount),
            (PayoutDestination::StripeConnect { account_id: "acct_".into() }, DestinationError::StripeAccount),
            (PayoutDestination::Paypal { email: "no-at-sign".into() }, DestinationError::Email),
            (PayoutDestination::Paypal { email: "a@b@c.com".into() }, DestinationError::Email),
            (PayoutDestination::Paypal { email: "a b@c.com".into() }, DestinationError::Email),
            (
                PayoutDestination::BankTransfer {
                    account_holder: " ".into(),
                    account_number: "12345678".into(),
                    bank_code: None,
                },
                DestinationError::Holder,
            ),
            (
                PayoutDestination::BankTransfer {
                    account_holder: "A".into(),
                    account_number: "12-34".into(),
                    bank_code: None,
                },
                DestinationError::AccountNumber,
            ),
            (
                PayoutDestination::BankTransfer {
                    account_holder: "A".into(),
                    account_number: "12345678".into(),
                    bank_code: Some("x".into()),
                },
                DestinationError::BankCode,
            ),
        ] {
            assert_eq!(bad.normalized(), Err(error));
        }
    }

    #[test]
    fn a_negative_payable_balance_shows_as_a_carry() {
        let usd = |m| Money::from_minor(m, Currency::USD);
        let balance = InstructorBalance::from_kept(true, usd(500), usd(-1_250), usd(0), usd(10_000));
        assert_eq!((balance.available, balance.negative_carry), (usd(0), usd(1_250)));
        let balance = InstructorBalance::from_kept(true, usd(0), usd(4_000), usd(1_000), usd(0));
        assert_eq!((balance.available, balance.negative_carry), (usd(4_000), usd(0)));
    }
}
