//! Ports for payouts: their storage (with the balance check under the
//! instructor's lock) and the gateways that send them.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{GatewayError, StoreError};
use crate::gateway_config::GatewayMode;
use crate::ids::{PaymentId, PayoutId, UserId};
use crate::ledger::Journal;
use crate::money::{Currency, Money};
use crate::outbox::OutboxEvent;
use crate::paging::{Page, PageRequest};
use crate::payment::Payment;
use crate::payout::{InstructorBalance, Payout, PayoutDestination, PayoutMethod, PayoutStatus};

/// A payout request with its reserve journal, before the balance is checked.
#[derive(Debug, Clone)]
pub struct NewPayout {
    /// The payout, `requested`.
    pub payout: Payout,
    /// Where it goes (the adapter seals it).
    pub destination: PayoutDestination,
    /// Who asks (recorded in the audit log).
    pub requested_by: crate::usecases::Actor,
    /// Moves its amount from available to in transit.
    pub journal: Journal,
    /// Events to announce.
    pub outbox: Vec<OutboxEvent>,
}

/// Why a payout request was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestPayoutStoreError {
    /// Checked under the instructor's lock: MUST be returned when the amount
    /// exceeds the available balance.
    #[error("the amount exceeds the available balance of {available}")]
    InsufficientBalance {
        /// What is available now.
        available: Money,
    },
    /// Destinations cannot be sealed: no encryption key is configured.
    #[error("no encryption key is configured for payout destinations")]
    NoEncryptionKey,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A payout status change with everything that commits with it.
#[derive(Debug, Clone)]
pub struct PayoutChange {
    /// The payout.
    pub payout_id: PayoutId,
    /// The status it must still be in.
    pub from: PayoutStatus,
    /// Its new status.
    pub to: PayoutStatus,
    /// When.
    pub at: DateTime<Utc>,
    /// The gateway's id or the bank reference, once known.
    pub transaction_id: Option<String>,
    /// Why it failed or was rejected.
    pub failure_reason: Option<String>,
    /// Who decided the change (`None`: the service itself); recorded in
    /// the audit log with it, and as the approver when it approves.
    pub by: Option<crate::usecases::Actor>,
    /// The deciding admin's note, if given.
    pub admin_note: Option<String>,
    /// The ledger journal (paid, or money given back).
    pub journal: Option<Journal>,
    /// Events to announce.
    pub outbox: Vec<OutboxEvent>,
}

/// Which payouts to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayoutQuery {
    /// Only this instructor's.
    pub instructor: Option<UserId>,
    /// Only in this status.
    pub status: Option<PayoutStatus>,
    /// Only by this method.
    pub method: Option<PayoutMethod>,
    /// Only live (`true`) or only test money.
    pub livemode: Option<bool>,
    /// The page.
    pub page: PageRequest,
}

/// Stores payouts and answers instructor balances.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PayoutRepository: Send + Sync {
    /// Stores a payout request and its reserve journal if, read under a lock
    /// on the instructor's balance in that currency and mode, the available balance
    /// covers it; concurrent requests can never overdraw it.
    async fn request(&self, new: NewPayout) -> Result<Payout, RequestPayoutStoreError>;
    /// The payout, or `None`.
    async fn find(&self, id: PayoutId) -> Result<Option<Payout>, StoreError>;
    /// The payout a gateway knows by this id, or `None`.
    async fn find_by_transaction_id(
        &self,
        method: PayoutMethod,
        transaction_id: String,
    ) -> Result<Option<Payout>, StoreError>;
    /// Its destination, unsealed (only to send it).
    async fn destination(&self, id: PayoutId) -> Result<Option<PayoutDestination>, StoreError>;
    /// Payouts matching the query, newest first.
    async fn list(&self, query: PayoutQuery) -> Result<Page<Payout>, StoreError>;
    /// Payouts left in `processing` with a gateway id (to ask where they are).
    async fn processing(&self, limit: u32) -> Result<Vec<Payout>, StoreError>;
    /// Applies a status change if the payout is still in `from`; otherwise
    /// writes nothing and answers `false`.
    async fn apply(&self, change: PayoutChange) -> Result<bool, StoreError>;
    /// The instructor's balances, one per mode and currency they have money
    /// in (live first), read from kept balances (constant cost whatever the
    /// history).
    async fn balances(&self, instructor: UserId) -> Result<Vec<InstructorBalance>, StoreError>;
    /// The instructor's balance in one currency and mode (zeros when none).
    async fn balance(
        &self,
        instructor: UserId,
        currency: Currency,
        livemode: bool,
    ) -> Result<InstructorBalance, StoreError>;
}

/// Moves sale earnings out of the hold period.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EarningsRepository: Send + Sync {
    /// Completed payments whose earnings are still pending and that
    /// completed before `cutoff`, oldest first.
    async fn due_releases(&self, cutoff: DateTime<Utc>, limit: u32) -> Result<Vec<Payment>, StoreError>;
    /// Marks the payment's earnings released and writes `journal` (if any),
    /// only if they were not released yet; answers whether it did.
    async fn release(
        &self,
        payment: PaymentId,
        at: DateTime<Utc>,
        journal: Option<Journal>,
    ) -> Result<bool, StoreError>;
}

/// A payout as a gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayPayout {
    /// The gateway's id (Stripe transfer `tr_…`, PayPal batch id).
    pub provider_payout_id: String,
    /// Where it stands.
    pub state: GatewayPayoutState,
}

/// Where a payout stands at its gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayPayoutState {
    /// The money reached the destination.
    Paid,
    /// Accepted, not final yet (a webhook or a later check settles it).
    Pending,
    /// Refused, or paid and then returned/reversed; the reason is safe to
    /// show.
    Failed {
        /// Why.
        reason: String,
    },
}

/// A gateway that sends payouts (Stripe Connect, PayPal Payouts, sandbox).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PayoutGateway: Send + Sync {
    /// The method this gateway serves.
    fn method(&self) -> PayoutMethod;
    /// Sends `payout` to `destination`. The payout's id is the idempotency
    /// key: calling again for the same payout MUST NOT pay twice.
    async fn send(&self, payout: &Payout, destination: &PayoutDestination) -> Result<GatewayPayout, GatewayError>;
    /// Where a payout sent earlier stands, by the gateway's id.
    async fn payout_status(&self, provider_payout_id: &str) -> Result<GatewayPayoutState, GatewayError>;
}

/// The payout gateways configured, by method: a fixed set, or the rails of
/// a [`super::Gateways`] registry as it is at each lookup (so a rail built
/// from a new gateway configuration serves the next payout).
#[derive(Clone)]
pub struct PayoutGateways(Rails);

#[derive(Clone)]
enum Rails {
    Fixed(HashMap<(PayoutMethod, GatewayMode), Arc<dyn PayoutGateway>>),
    Registry(super::Gateways),
}

impl Default for PayoutGateways {
    fn default() -> Self {
        Self::new()
    }
}

impl PayoutGateways {
    /// No gateway (bank transfers need none).
    pub fn new() -> Self {
        Self(Rails::Fixed(HashMap::new()))
    }

    /// The rails of `gateways`, read at each lookup.
    pub fn following(gateways: super::Gateways) -> Self {
        Self(Rails::Registry(gateways))
    }

    /// Adds a gateway sending `mode`'s money by the method it serves (to
    /// the rails served now, when these follow a registry: the result no
    /// longer follows it).
    pub fn with(self, gateway: Arc<dyn PayoutGateway>, mode: GatewayMode) -> Self {
        let mut rails = self.rails();
        rails.insert((gateway.method(), mode), gateway);
        Self(Rails::Fixed(rails))
    }

    fn rails(&self) -> HashMap<(PayoutMethod, GatewayMode), Arc<dyn PayoutGateway>> {
        match &self.0 {
            Rails::Fixed(rails) => rails.clone(),
            Rails::Registry(gateways) => [GatewayMode::Live, GatewayMode::Test]
                .into_iter()
                .flat_map(|mode| gateways.payout_rails(mode).into_iter().map(move |(m, g)| ((m, mode), g)))
                .collect(),
        }
    }

    /// The gateway sending `livemode`'s money by `method`, if one is
    /// configured: test money only through a test-mode rail (the sandbox,
    /// a gateway's test mode), live money only through a live one.
    pub fn for_payout(&self, method: PayoutMethod, livemode: bool) -> Option<Arc<dyn PayoutGateway>> {
        let mode = GatewayMode::of(livemode);
        match &self.0 {
            Rails::Fixed(rails) => rails.get(&(method, mode)).cloned(),
            Rails::Registry(gateways) => gateways.payout_rails(mode).remove(&method),
        }
    }

    /// Whether any live rail or live gateway is served: then a payout
    /// request naming no mode takes live money, otherwise test money.
    pub fn serves_live(&self) -> bool {
        match &self.0 {
            Rails::Fixed(rails) => rails.keys().any(|(_, mode)| mode.is_live()),
            Rails::Registry(gateways) => gateways.serves_live(),
        }
    }

    /// Methods with a gateway, in either mode.
    pub fn methods(&self) -> Vec<PayoutMethod> {
        let mut methods: Vec<_> = self.rails().into_keys().map(|(method, _)| method).collect();
        methods.sort();
        methods.dedup();
        methods
    }
}

impl fmt::Debug for PayoutGateways {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.methods()).finish()
    }
}
