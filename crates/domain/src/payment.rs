//! The payment aggregate and its status machine.
//!
//! Every rule about which status may follow which lives in
//! [`PaymentStatus::apply`]: one exhaustive `match`, no wildcard arm.

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::ItemRef;
use crate::coupon::CouponCode;
use crate::ids::{CouponId, PaymentId, UserId};
use crate::money::Money;

/// How the student pays.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[strum(parse_err_ty = UnknownName, parse_err_fn = UnknownName::from_name)]
pub enum PaymentMethod {
    /// Stripe (cards and wallets through Stripe).
    Stripe,
    /// PayPal checkout.
    Paypal,
    /// The built-in sandbox gateway (development and demos; no real money).
    Sandbox,
    /// Bank transfer, confirmed by an operator.
    BankTransfer,
    /// A platform wallet.
    Wallet,
}

impl PaymentMethod {
    /// Every method.
    pub const ALL: [PaymentMethod; 5] = [Self::Stripe, Self::Paypal, Self::Sandbox, Self::BankTransfer, Self::Wallet];

    /// Stable snake_case name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// A stored name did not match any known variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name")]
pub struct UnknownName;

impl UnknownName {
    /// The error for any unknown `name` (it is not kept).
    fn from_name(_name: &str) -> Self {
        UnknownName
    }
}

/// A status a payment can return to when a dispute on it is won.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SettledStatus {
    /// Paid in full, nothing refunded.
    Completed,
    /// Paid, part refunded.
    PartiallyRefunded,
    /// Paid, all refunded.
    Refunded,
}

impl SettledStatus {
    /// Stable snake_case name, as stored beside a disputed payment.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }

    fn status(self) -> PaymentStatus {
        match self {
            Self::Completed => PaymentStatus::Completed,
            Self::PartiallyRefunded => PaymentStatus::PartiallyRefunded,
            Self::Refunded => PaymentStatus::Refunded,
        }
    }
}

/// Where a payment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(PaymentStatusName),
    doc = "A payment status's stored name, without what a disputed payment remembers.",
    derive(strum::IntoStaticStr, strum::EnumString, strum::VariantNames, strum::EnumCount),
    strum(serialize_all = "snake_case")
)]
pub enum PaymentStatus {
    /// Created; waiting for the student to pay.
    Pending,
    /// The gateway is working on it.
    Processing,
    /// Paid.
    Completed,
    /// Declined or errored at the gateway.
    Failed,
    /// Cancelled before it was paid.
    Cancelled,
    /// Never paid within its time.
    Expired,
    /// Paid, part refunded.
    PartiallyRefunded,
    /// Paid, all refunded.
    Refunded,
    /// Under dispute; remembers the status to return to if the dispute is won.
    Disputed(SettledStatus),
    /// Paid, and held for an admin's review by the fraud controls: the
    /// money is taken, the sale is not completed until it is released (or
    /// it is refunded).
    InReview,
}

impl PaymentStatus {
    /// Whether a payment in this status holds its item for its buyer (and
    /// its seats): open, or paid and not wholly refunded. The holding
    /// statuses of migration `000039_holdings_and_seats` say the same.
    pub fn holds_item(&self) -> bool {
        match self {
            Self::Pending
            | Self::Processing
            | Self::Completed
            | Self::PartiallyRefunded
            | Self::InReview
            | Self::Disputed(_) => true,
            Self::Failed | Self::Cancelled | Self::Expired | Self::Refunded => false,
        }
    }

    /// Every status name as stored and shown.
    pub const NAMES: [&'static str; <PaymentStatusName as strum::EnumCount>::COUNT] =
        match <PaymentStatusName as strum::VariantNames>::VARIANTS.first_chunk() {
            Some(names) => *names,
            // The derive lists one name per variant, COUNT of them.
            None => panic!("a payment status without a name"),
        };

    /// Stable snake_case name (`disputed` for every disputed variant).
    pub fn as_str(&self) -> &'static str {
        PaymentStatusName::from(self).into()
    }

    /// Rebuilds a status from its stored name and, for `disputed`, the
    /// stored status before the dispute.
    pub fn from_parts(name: &str, before_dispute: Option<&str>) -> Result<Self, UnknownName> {
        use PaymentStatusName as N;
        Ok(match name.parse().map_err(|_| UnknownName)? {
            N::Pending => Self::Pending,
            N::Processing => Self::Processing,
            N::Completed => Self::Completed,
            N::Failed => Self::Failed,
            N::Cancelled => Self::Cancelled,
            N::Expired => Self::Expired,
            N::PartiallyRefunded => Self::PartiallyRefunded,
            N::Refunded => Self::Refunded,
            N::Disputed => Self::Disputed(before_dispute.and_then(|name| name.parse().ok()).ok_or(UnknownName)?),
            N::InReview => Self::InReview,
        })
    }

    /// For a disputed payment, the status it returns to if the dispute is won.
    pub fn before_dispute(&self) -> Option<SettledStatus> {
        match self {
            Self::Disputed(previous) => Some(*previous),
            _ => None,
        }
    }

    /// True once money has been received for the payment.
    pub fn is_paid(&self) -> bool {
        self.settled().is_some() || matches!(self, Self::Disputed(_) | Self::InReview)
    }

    /// True for the statuses of a payment Skillpay gave up on (failed,
    /// cancelled, expired): only a recovery ([`PaymentEvent::Recover`])
    /// leaves them, when the gateway reports it paid after all.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Failed | Self::Cancelled | Self::Expired)
    }

    fn settled(&self) -> Option<SettledStatus> {
        match self {
            Self::Completed => Some(SettledStatus::Completed),
            Self::PartiallyRefunded => Some(SettledStatus::PartiallyRefunded),
            Self::Refunded => Some(SettledStatus::Refunded),
            Self::Pending
            | Self::Processing
            | Self::Failed
            | Self::Cancelled
            | Self::Expired
            | Self::Disputed(_)
            | Self::InReview => None,
        }
    }

    /// Applies `event`, answering the new status, `Unchanged` for a repeat
    /// or a stale out-of-order event, or an error for an illegal move.
    ///
    /// Repeats (the same webhook twice, success after success) and stale
    /// events (a failure arriving after completion) are `Unchanged`, never an
    /// error and never a backwards move, so callers write no second ledger
    /// entry. Moves a caller asked for that cannot happen (cancelling a paid
    /// payment) are errors.
    pub fn apply(self, event: PaymentEvent) -> Result<Transition, TransitionError> {
        use PaymentEvent as E;
        use PaymentStatus as S;
        use SettledStatus as P;
        let illegal = Err(TransitionError { from: self, event });
        let to = |status| Ok(Transition::Changed(status));
        let unchanged = Ok(Transition::Unchanged);
        match (self, event) {
            (S::Pending, E::StartProcessing) => to(S::Processing),
            (S::Processing, E::StartProcessing) => unchanged,
            (
                S::Completed
                | S::Failed
                | S::Cancelled
                | S::Expired
                | S::PartiallyRefunded
                | S::Refunded
                | S::Disputed(_)
                | S::InReview,
                E::StartProcessing,
            ) => unchanged,

            (S::Pending | S::Processing, E::Complete) => to(S::Completed),
            (S::Completed | S::PartiallyRefunded | S::Refunded | S::Disputed(_) | S::InReview, E::Complete) => {
                unchanged
            }
            // Money arrived for a payment we had given up on: only the
            // recovery path ([`PaymentEvent::Recover`]) takes it, with its
            // checks and its record, never an ordinary completion.
            (S::Failed | S::Cancelled | S::Expired, E::Complete) => illegal,

            (S::Failed | S::Cancelled | S::Expired | S::Pending | S::Processing, E::Recover) => to(S::Completed),
            (S::Completed | S::PartiallyRefunded | S::Refunded | S::Disputed(_) | S::InReview, E::Recover) => unchanged,

            // Paid, with the fraud controls asking for a review.
            (S::Pending | S::Processing, E::Hold) => to(S::InReview),
            (S::InReview | S::Completed | S::PartiallyRefunded | S::Refunded | S::Disputed(_), E::Hold) => unchanged,
            (S::Failed | S::Cancelled | S::Expired, E::Hold) => illegal,
            (S::InReview, E::Release) => to(S::Completed),
            (S::Completed | S::PartiallyRefunded | S::Refunded | S::Disputed(_), E::Release) => unchanged,
            (S::Pending | S::Processing | S::Failed | S::Cancelled | S::Expired, E::Release) => illegal,

            (S::Pending | S::Processing, E::Fail) => to(S::Failed),
            (
                S::Failed
                | S::Cancelled
                | S::Expired
                | S::Completed
                | S::PartiallyRefunded
                | S::Refunded
                | S::Disputed(_)
                | S::InReview,
                E::Fail,
            ) => unchanged,

            (S::Pending | S::Processing, E::Cancel) => to(S::Cancelled),
            (S::Cancelled | S::Failed | S::Expired, E::Cancel) => unchanged,
            (S::Completed | S::PartiallyRefunded | S::Refunded | S::Disputed(_) | S::InReview, E::Cancel) => illegal,

            (S::Pending | S::Processing, E::Expire) => to(S::Expired),
            (
                S::Expired
                | S::Failed
                | S::Cancelled
                | S::Completed
                | S::PartiallyRefunded
                | S::Refunded
                | S::Disputed(_)
                | S::InReview,
                E::Expire,
            ) => unchanged,

            (S::Completed | S::PartiallyRefunded, E::RefundPartially) => to(S::PartiallyRefunded),
            (S::Completed | S::PartiallyRefunded, E::RefundFully) => to(S::Refunded),
            (S::Refunded, E::RefundFully) => unchanged,
            (S::Refunded, E::RefundPartially) => illegal,
            // Held money goes back whole: the sale never happened.
            (S::InReview, E::RefundFully) => to(S::Refunded),
            (S::InReview, E::RefundPartially) => illegal,
            // A refund already at the gateway when a dispute opened still
            // went through: the payment stays disputed and remembers it, so
            // winning the dispute returns it to the refunded status.
            (S::Disputed(P::Completed | P::PartiallyRefunded), E::RefundPartially) => {
                to(S::Disputed(P::PartiallyRefunded))
            }
            (S::Disputed(P::Completed | P::PartiallyRefunded), E::RefundFully) => to(S::Disputed(P::Refunded)),
            (S::Disputed(P::Refunded), E::RefundFully) => unchanged,
            (S::Disputed(P::Refunded), E::RefundPartially) => illegal,
            (
                S::Pending | S::Processing | S::Failed | S::Cancelled | S::Expired,
                E::RefundPartially | E::RefundFully,
            ) => illegal,

            (S::Completed | S::PartiallyRefunded | S::Refunded, E::OpenDispute) => match self.settled() {
                Some(previous) => to(S::Disputed(previous)),
                None => illegal,
            },
            (S::Disputed(_), E::OpenDispute) => unchanged,
            // A chargeback of held money is not taken yet: see docs/fraud.md.
            (S::Pending | S::Processing | S::Failed | S::Cancelled | S::Expired | S::InReview, E::OpenDispute) => {
                illegal
            }

            (S::Disputed(previous), E::WinDispute) => to(previous.status()),
            (S::Disputed(_), E::LoseDispute) => unchanged,
            (S::Completed | S::PartiallyRefunded | S::Refunded, E::WinDispute | E::LoseDispute) => unchanged,
            (
                S::Pending | S::Processing | S::Failed | S::Cancelled | S::Expired | S::InReview,
                E::WinDispute | E::LoseDispute,
            ) => illegal,
        }
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happens to a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentEvent {
    /// The gateway started working on it.
    StartProcessing,
    /// The money was received.
    Complete,
    /// The gateway reports money received for a payment Skillpay had given
    /// up on (failed, cancelled, expired): the customer paid after all
    /// (a race that cancelling at the gateway narrows but cannot close).
    Recover,
    /// The gateway declined or errored.
    Fail,
    /// Cancelled by the student, an admin or the gateway.
    Cancel,
    /// Unpaid for too long.
    Expire,
    /// The money was received, and the fraud controls hold the payment
    /// for review.
    Hold,
    /// An admin released a held payment: the sale completes.
    Release,
    /// Part of it was refunded.
    RefundPartially,
    /// The rest of it was refunded.
    RefundFully,
    /// A dispute (chargeback) was opened.
    OpenDispute,
    /// The dispute was decided for the platform.
    WinDispute,
    /// The dispute was decided for the cardholder.
    LoseDispute,
}

impl PaymentEvent {
    /// The event as a verb's past participle, for messages.
    pub fn past_participle(&self) -> &'static str {
        match self {
            Self::StartProcessing => "processed",
            Self::Complete => "completed",
            Self::Recover => "recovered",
            Self::Fail => "failed",
            Self::Cancel => "cancelled",
            Self::Expire => "expired",
            Self::Hold => "held for review",
            Self::Release => "released",
            Self::RefundPartially => "partially refunded",
            Self::RefundFully => "refunded",
            Self::OpenDispute => "disputed",
            Self::WinDispute => "resolved as won",
            Self::LoseDispute => "resolved as lost",
        }
    }

    /// Every event, for table tests.
    pub const ALL: [PaymentEvent; 13] = [
        Self::StartProcessing,
        Self::Complete,
        Self::Recover,
        Self::Fail,
        Self::Cancel,
        Self::Expire,
        Self::Hold,
        Self::Release,
        Self::RefundPartially,
        Self::RefundFully,
        Self::OpenDispute,
        Self::WinDispute,
        Self::LoseDispute,
    ];
}

/// The result of applying an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The payment moves to this status.
    Changed(PaymentStatus),
    /// A repeat or stale event: nothing to do, nothing to record.
    Unchanged,
}

/// An event that cannot apply to a payment in its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from} payment cannot be {}", event.past_participle())]
pub struct TransitionError {
    /// The status the payment is in.
    pub from: PaymentStatus,
    /// The event refused.
    pub event: PaymentEvent,
}

/// Billing details the student chose to give (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingInfo {
    /// Name on the bill.
    pub name: Option<String>,
    /// E-mail for the receipt.
    pub email: Option<String>,
    /// Street address.
    pub address: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// ISO-3166 alpha-2 country.
    pub country: Option<String>,
}

/// Where a payment request came from, recorded for fraud review.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's IP address.
    pub ip_address: Option<IpAddr>,
    /// The client's user agent.
    pub user_agent: Option<String>,
}

/// The discount a coupon gave a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedCoupon {
    /// The coupon.
    pub coupon_id: CouponId,
    /// Its code as the student typed it (normalised).
    pub code: CouponCode,
}

/// A payment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Its id.
    pub id: PaymentId,
    /// Who pays.
    pub user_id: UserId,
    /// What is bought.
    pub item: ItemRef,
    /// How many: tickets to an event; always 1 for a course.
    pub quantity: u32,
    /// Whether it is its buyer's one holding of its item while it is open
    /// or paid (a course, or an event of one ticket per buyer): a second
    /// purchase finds it instead of making another.
    pub one_per_buyer: bool,
    /// Who earns from it.
    pub instructor_id: UserId,
    /// Where it is in its life.
    pub status: PaymentStatus,
    /// How it is paid.
    pub method: PaymentMethod,
    /// The gateway's id for it, once the gateway knows it.
    pub provider_payment_id: Option<String>,
    /// The catalog price (times the quantity).
    pub original_amount: Money,
    /// The coupon's discount (zero without coupon).
    pub discount_amount: Money,
    /// What the student pays: `original_amount - discount_amount`.
    pub amount: Money,
    /// The platform's fee out of `amount`.
    pub platform_fee: Money,
    /// The instructor's share: `amount - platform_fee`.
    pub instructor_earnings: Money,
    /// Refunded so far.
    pub refunded_amount: Money,
    /// The coupon used, if any.
    pub coupon: Option<AppliedCoupon>,
    /// Billing details.
    pub billing: BillingInfo,
    /// Client IP and user agent.
    pub client: ClientInfo,
    /// Why it failed, if it did (gateway's words, no card data).
    pub failure_reason: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// Live money (true), or test money: the sandbox, Stripe test keys,
    /// PayPal's sandbox. Set at creation from the mode of the gateway that
    /// takes it; everything that hangs off the payment shares it.
    pub livemode: bool,
    /// What the gateway kept of the charge as its processing fee, once it
    /// has reported it (recorded in the ledger; see `ledger::gateway_fee_journal`).
    pub gateway_fee: Option<Money>,
    /// Who bore that fee (the setting when it was recorded): whoever bears
    /// it also gets back what a refund returns of it.
    pub gateway_fee_bearer: Option<crate::ledger::FeeBearer>,
    /// The fraud controls asked for a review: once paid it is held
    /// (`in_review`) until an admin releases or refunds it. Cleared when
    /// released: from then on it is an ordinary sale.
    pub fraud_review: bool,
    /// The gateway's risk verdict on its charge, recorded with its fee.
    pub risk: crate::fraud::RiskVerdict,
}

impl Payment {
    /// Checks the amount invariants every stored payment must hold.
    pub fn amounts_add_up(&self) -> bool {
        let discounted = self.original_amount.checked_sub(self.discount_amount).ok();
        let split = self.platform_fee.checked_add(self.instructor_earnings).ok();
        discounted == Some(self.amount) && split == Some(self.amount) && !self.discount_amount.is_negative()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PaymentEvent as E;
    use PaymentStatus as S;

    const ALL_STATUSES: [PaymentStatus; 12] = [
        S::Pending,
        S::Processing,
        S::Completed,
        S::Failed,
        S::Cancelled,
        S::Expired,
        S::PartiallyRefunded,
        S::Refunded,
        S::Disputed(SettledStatus::Completed),
        S::Disputed(SettledStatus::PartiallyRefunded),
        S::Disputed(SettledStatus::Refunded),
        S::InReview,
    ];

    /// The expected outcome of every (status, event) pair, written out as a
    /// table independent of the `match` in `apply`.
    fn expected(status: PaymentStatus, event: PaymentEvent) -> Result<Transition, ()> {
        use Transition::{Changed as C, Unchanged as U};
        let paid = matches!(status, S::Completed | S::PartiallyRefunded | S::Refunded | S::Disputed(_));
        let held = status == S::InReview;
        let open = matches!(status, S::Pending | S::Processing);
        let dead = matches!(status, S::Failed | S::Cancelled | S::Expired);
        match event {
            E::StartProcessing if status == S::Pending => Ok(C(S::Processing)),
            E::StartProcessing => Ok(U),
            E::Complete if open => Ok(C(S::Completed)),
            E::Complete if paid || held => Ok(U),
            E::Complete => Err(()),
            E::Recover if paid || held => Ok(U),
            E::Hold if open => Ok(C(S::InReview)),
            E::Hold if paid || held => Ok(U),
            E::Hold => Err(()),
            E::Release if held => Ok(C(S::Completed)),
            E::Release if paid => Ok(U),
            E::Release => Err(()),
            E::Recover => Ok(C(S::Completed)),
            E::Fail if open => Ok(C(S::Failed)),
            E::Fail => Ok(U),
            E::Cancel if open => Ok(C(S::Cancelled)),
            E::Cancel if dead => Ok(U),
            E::Cancel => Err(()),
            E::Expire if open => Ok(C(S::Expired)),
            E::Expire => Ok(U),
            E::RefundPartially if matches!(status, S::Completed | S::PartiallyRefunded) => Ok(C(S::PartiallyRefunded)),
            E::RefundPartially
                if matches!(status, S::Disputed(SettledStatus::Completed | SettledStatus::PartiallyRefunded)) =>
            {
                Ok(C(S::Disputed(SettledStatus::PartiallyRefunded)))
            }
            E::RefundPartially => Err(()),
            E::RefundFully if matches!(status, S::Completed | S::PartiallyRefunded | S::InReview) => Ok(C(S::Refunded)),
            E::RefundFully
                if matches!(status, S::Disputed(SettledStatus::Completed | SettledStatus::PartiallyRefunded)) =>
            {
                Ok(C(S::Disputed(SettledStatus::Refunded)))
            }
            E::RefundFully if matches!(status, S::Refunded | S::Disputed(SettledStatus::Refunded)) => Ok(U),
            E::RefundFully => Err(()),
            E::OpenDispute if status == S::Completed => Ok(C(S::Disputed(SettledStatus::Completed))),
            E::OpenDispute if status == S::PartiallyRefunded => Ok(C(S::Disputed(SettledStatus::PartiallyRefunded))),
            E::OpenDispute if status == S::Refunded => Ok(C(S::Disputed(SettledStatus::Refunded))),
            E::OpenDispute if paid => Ok(U),
            E::OpenDispute => Err(()),
            E::WinDispute => match status {
                S::Disputed(previous) => Ok(C(previous.status())),
                _ if paid => Ok(U),
                _ => Err(()),
            },
            E::LoseDispute if paid => Ok(U),
            E::LoseDispute => Err(()),
        }
    }

    #[test]
    fn every_status_and_event_pair_follows_the_table() {
        let mut pairs = 0;
        for status in ALL_STATUSES {
            for event in PaymentEvent::ALL {
                let actual = status.apply(event).map_err(|_| ());
                assert_eq!(actual, expected(status, event), "{status:?} + {event:?}");
                pairs += 1;
            }
        }
        assert_eq!(pairs, 156);
    }

    #[test]
    fn a_paid_payment_never_moves_back_to_an_unpaid_status() {
        for status in ALL_STATUSES.into_iter().filter(PaymentStatus::is_paid) {
            for event in PaymentEvent::ALL {
                if let Ok(Transition::Changed(next)) = status.apply(event) {
                    assert!(next.is_paid(), "{status:?} + {event:?} -> {next:?}");
                }
            }
        }
    }

    #[test]
    fn a_given_up_payment_changes_only_by_recovery() {
        for status in ALL_STATUSES.into_iter().filter(PaymentStatus::is_final) {
            for event in PaymentEvent::ALL.into_iter().filter(|e| *e != E::Recover) {
                assert!(!matches!(status.apply(event), Ok(Transition::Changed(_))), "{status:?} + {event:?}");
            }
            assert_eq!(status.apply(E::Recover), Ok(Transition::Changed(S::Completed)), "{status:?}");
        }
    }

    #[test]
    fn status_names_round_trip() {
        for status in ALL_STATUSES {
            let before = status.before_dispute().map(|s| s.status().as_str());
            assert_eq!(PaymentStatus::from_parts(status.as_str(), before), Ok(status));
        }
        assert!(PaymentStatus::from_parts("disputed", None).is_err());
        assert!(PaymentStatus::from_parts("paid", None).is_err());
    }

    #[test]
    fn methods_round_trip_through_their_names() {
        for method in PaymentMethod::ALL {
            assert_eq!(method.as_str().parse(), Ok(method));
        }
    }

    /// The names are stored in the database and shown in the API and in
    /// events: a derive that changed one would break both.
    #[test]
    fn every_enum_keeps_its_stored_name_and_parses_it_back() {
        use crate::dispute::DisputeStatus;
        use crate::events::DeliveryStatus;
        use crate::gateway_config::GatewayMode;
        use crate::outbox::EventType;
        use crate::payout::{PayoutMethod, PayoutStatus, UnknownPayoutMethod};
        use crate::refund::RefundStatus;
        use crate::usecases::Role;

        let names = |names: Vec<&str>| names.join(" ");
        assert_eq!(
            names(PaymentMethod::ALL.iter().map(PaymentMethod::as_str).collect()),
            "stripe paypal sandbox bank_transfer wallet"
        );
        assert_eq!("cash".parse::<PaymentMethod>(), Err(UnknownName));
        assert_eq!(
            PaymentStatus::NAMES.join(" "),
            "pending processing completed failed cancelled expired partially_refunded refunded disputed in_review"
        );
        let disputed = PaymentStatus::Disputed(SettledStatus::PartiallyRefunded);
        assert_eq!((disputed.as_str(), SettledStatus::PartiallyRefunded.as_str()), ("disputed", "partially_refunded"));
        assert_eq!(PaymentStatus::from_parts("disputed", Some("partially_refunded")), Ok(disputed));
        assert_eq!(PaymentStatus::from_parts("disputed", None), Err(UnknownName));
        assert_eq!(PaymentStatus::from_parts("Pending", None), Err(UnknownName));
        for name in PaymentStatus::NAMES.iter().filter(|name| **name != "disputed") {
            assert_eq!(PaymentStatus::from_parts(name, None).map(|s| s.as_str()), Ok(*name));
        }
        assert_eq!(
            names(PayoutMethod::ALL.iter().map(PayoutMethod::as_str).collect()),
            "stripe_connect paypal bank_transfer"
        );
        assert_eq!("wire".parse::<PayoutMethod>(), Err(UnknownPayoutMethod));
        assert_eq!(
            names(PayoutStatus::ALL.iter().map(PayoutStatus::as_str).collect()),
            "requested approved processing paid failed rejected cancelled"
        );
        assert_eq!(
            names(RefundStatus::ALL.iter().map(RefundStatus::as_str).collect()),
            "requested approved processing processed rejected failed"
        );
        assert_eq!(
            names(DisputeStatus::ALL.iter().map(DisputeStatus::as_str).collect()),
            "needs_response under_review warning_needs_response warning_under_review warning_closed won lost"
        );
        assert_eq!(names(DeliveryStatus::ALL.iter().map(DeliveryStatus::as_str).collect()), "pending delivered dead");
        assert_eq!(
            names(EventType::ALL.iter().map(EventType::as_str).collect()),
            "payment.completed payment.held payment.failed payment.cancelled payment.expired refund.requested refund.approved \
             refund.rejected refund.failed refund.processed payment.refunded dispute.opened dispute.updated \
             dispute.evidence_submitted dispute.closed payout.requested payout.approved payout.rejected \
             payout.cancelled payout.paid payout.failed coupon.exhausted approval.requested receipt.issued \
             credit_note.issued \
             reconciliation.discrepancy"
        );
        assert_eq!((GatewayMode::Test.as_str(), GatewayMode::parse("live")), ("test", Some(GatewayMode::Live)));
        assert_eq!(
            (Role::Instructor.as_str(), Role::parse("admin"), Role::parse("Admin")),
            ("instructor", Some(Role::Admin), None)
        );
        for status in PayoutStatus::ALL {
            assert_eq!(PayoutStatus::parse(status.as_str()), Some(status));
        }
        for status in RefundStatus::ALL {
            assert_eq!(RefundStatus::parse(status.as_str()), Some(status));
        }
        for status in DisputeStatus::ALL {
            assert_eq!(DisputeStatus::parse(status.as_str()), Some(status));
        }
        for status in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(status));
        }
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventType::parse("payment_completed"), None);
        use crate::catalog::ItemKind;
        use crate::coupon::RedemptionStatus;
        use crate::ledger::JournalKind;
        assert_eq!((ItemKind::Course.as_str(), "event".parse()), ("course", Ok(ItemKind::Event)));
        let redemptions = [RedemptionStatus::Reserved, RedemptionStatus::Confirmed, RedemptionStatus::Released];
        assert_eq!(names(redemptions.iter().map(RedemptionStatus::as_str).collect()), "reserved confirmed released");
        let journals = [
            JournalKind::Sale,
            JournalKind::Refund,
            JournalKind::DisputeHold,
            JournalKind::DisputeRelease,
            JournalKind::DisputeLoss,
            JournalKind::EarningsRelease,
            JournalKind::PayoutReserve,
            JournalKind::PayoutPaid,
            JournalKind::PayoutReturn,
        ];
        assert_eq!(
            names(journals.iter().map(JournalKind::as_str).collect()),
            "sale refund dispute_hold dispute_release dispute_loss earnings_release payout_reserve payout_paid \
             payout_return"
        );
    }
}
