//! Typed identifiers, so a payment id can never be passed where a refund id
//! belongs. Uuid-backed ids print with a resource prefix (`pay_…`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why an id string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed id")]
pub struct MalformedId;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// The prefix of the id's string form.
            pub const PREFIX: &'static str = $prefix;

            /// Wraps a uuid.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying uuid.
            pub fn uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, self.0.simple())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = MalformedId;
            /// Accepts `prefix_<32 hex>` and, for convenience, a bare uuid.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let raw = s.strip_prefix(concat!($prefix, "_")).unwrap_or(s);
                Uuid::try_parse(raw).map(Self).map_err(|_| MalformedId)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

uuid_id!(
    /// Identifies a payment.
    PaymentId,
    "pay"
);
uuid_id!(
    /// Identifies a coupon.
    CouponId,
    "cpn"
);
uuid_id!(
    /// Identifies a coupon redemption.
    RedemptionId,
    "red"
);
uuid_id!(
    /// Identifies a refund.
    RefundId,
    "re"
);
uuid_id!(
    /// Identifies a dispute.
    DisputeId,
    "dp"
);
uuid_id!(
    /// Identifies an instructor payout.
    PayoutId,
    "po"
);
uuid_id!(
    /// Identifies an event endpoint.
    EndpointId,
    "we"
);
uuid_id!(
    /// Identifies one event's delivery to one endpoint.
    DeliveryId,
    "dlv"
);
uuid_id!(
    /// Identifies a ledger journal transaction.
    JournalId,
    "jnl"
);
uuid_id!(
    /// Identifies a settlement reconciliation run.
    SettlementRunId,
    "srun"
);
uuid_id!(
    /// Identifies a difference found between a gateway's books and the
    /// ledger.
    DiscrepancyId,
    "sdis"
);
uuid_id!(
    /// Identifies a fraud rule.
    FraudRuleId,
    "frr"
);
uuid_id!(
    /// Identifies an entry of the fraud block list.
    FraudBlockId,
    "frb"
);
uuid_id!(
    /// Identifies a fraud screening decision.
    FraudDecisionId,
    "frd"
);
uuid_id!(
    /// Identifies an outbox event.
    EventId,
    "evt"
);
uuid_id!(
    /// Identifies a receipt or a credit note.
    ReceiptId,
    "rcpt"
);
uuid_id!(
    /// Identifies an e-mail message.
    MailId,
    "mail"
);

/// A platform user id (students, instructors and admins alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(i64);

impl UserId {
    /// Wraps the platform's integer user id.
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    /// The integer id.
    pub fn get(&self) -> i64 {
        self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for UserId {
    type Err = MalformedId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.parse::<i64>() {
            Ok(id) if id > 0 && !s.starts_with('+') => Ok(Self(id)),
            _ => Err(MalformedId),
        }
    }
}
