//! Payout use cases: an instructor asks for (part of) their available
//! balance, an admin approves or rejects, the gateway (or, for a bank
//! transfer, the admin) settles it; plus the release of sale earnings once
//! the hold period is over.
//!
//! A request moves its amount out of the available balance at once, under
//! the instructor's lock in storage, so racing requests can never overdraw
//! it. Approval records `processing` before calling the gateway, outside any
//! transaction, with the payout's id as the gateway's idempotency key:
//! approving again a payout left in `processing` can never pay twice.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

use crate::gateway_config::GatewayMode;
use crate::ids::{EventId, JournalId, PayoutId, UserId};
use crate::ledger::{
    LedgerError, earnings_release_journal, payout_paid_journal, payout_reserve_journal, payout_return_journal,
};
use crate::money::{Currency, Money};
use crate::outbox::{EventType, OutboxEvent};
use crate::paging::Page;
use crate::payout::{
    DestinationError, InstructorBalance, Payout, PayoutDestination, PayoutEvent, PayoutMethod, PayoutStatus,
    PayoutTransitionError,
};
use crate::per_currency::PerCurrency;
use crate::ports::{
    Clock, EarningsRepository, GatewayError, GatewayPayoutState, IdGenerator, NewPayout, PayoutChange, PayoutGateway,
    PayoutGateways, PayoutQuery, PayoutRepository, RequestPayoutStoreError, StoreError,
};
use crate::usecases::{Actor, Decision, Forbidden, Role};

/// Attempts of a guarded payout change before giving up.
const CHANGE_ATTEMPTS: usize = 3;
/// Longest accepted reason or reference text.
pub const MAX_NOTE_CHARS: usize = 500;

/// The ports payouts need.
#[derive(Clone)]
pub struct PayoutPorts {
    /// Payout storage and balances.
    pub payouts: Arc<dyn PayoutRepository>,
    /// Release of held earnings.
    pub earnings: Arc<dyn EarningsRepository>,
    /// Gateways sending payouts.
    pub gateways: PayoutGateways,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Ids.
    pub ids: Arc<dyn IdGenerator>,
    /// Two-admin approval of large payouts.
    pub dual_control: super::dual_control::DualControl,
}

/// Payout rules a deployment configures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutPolicy {
    /// Smallest payout per currency; a currency without one cannot be paid
    /// out.
    pub minimum: PerCurrency,
    /// How long sale earnings stay pending before they can be paid out.
    pub hold: Duration,
}

impl Default for PayoutPolicy {
    fn default() -> Self {
        Self { minimum: PerCurrency::every(Decimal::TEN), hold: Duration::days(7) }
    }
}

impl PayoutPolicy {
    /// The minimum in `currency`, rounded up to its minor unit (the
    /// largest amount when the currency has none).
    pub fn minimum_in(&self, currency: Currency) -> Money {
        self.minimum.money(currency).unwrap_or_else(|| Money::from_minor(i64::MAX, currency))
    }
}

/// Why a payout use case failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayoutError {
    /// Not allowed for this role.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No such payout (or not the actor's).
    #[error("not found")]
    NotFound,
    /// Not a positive amount.
    #[error("the amount must be positive")]
    InvalidAmount,
    /// Below the configured minimum.
    #[error("the minimum payout is {minimum}")]
    BelowMinimum {
        /// The minimum in the payout's currency.
        minimum: Money,
    },
    /// More than is available.
    #[error("the amount exceeds the available balance of {available}")]
    InsufficientBalance {
        /// What is available.
        available: Money,
    },
    /// The destination details are unusable.
    #[error(transparent)]
    Destination(#[from] DestinationError),
    /// No gateway is configured for this method.
    #[error("payouts by {0} are not configured")]
    MethodUnavailable(PayoutMethod),
    /// No rail of the payout's mode sends this method: test money leaves
    /// only through a test-mode rail, live money only through a live one
    /// (and bank transfers, sent by hand, take test money only while no
    /// live gateway is served).
    #[error("{method} sends no {} money here", GatewayMode::of(*livemode).as_str())]
    MethodNotInMode {
        /// The method asked for.
        method: PayoutMethod,
        /// The mode of the money.
        livemode: bool,
    },
    /// Test money asked for by a caller who may not use test mode while
    /// live gateways are served.
    #[error("test mode is not allowed for this caller")]
    TestModeNotAllowed,
    /// Only bank transfers are settled by hand.
    #[error("only bank transfers are marked paid or failed by an admin")]
    NotManual,
    /// Another payout was marked paid with this bank reference.
    #[error("another payout already has this bank reference")]
    ReferenceInUse,
    /// A reason or reference of 1 to 500 characters is required.
    #[error("a text of 1 to 500 characters is required")]
    InvalidNote,
    /// The payout's status does not allow it.
    #[error(transparent)]
    Illegal(#[from] PayoutTransitionError),
    /// The gateway is down; a `processing` payout can be approved again.
    #[error(transparent)]
    Gateway(GatewayError),
    /// Destinations cannot be sealed: no encryption key is configured.
    #[error("no encryption key is configured for payout destinations")]
    NoEncryptionKey,
    /// Others kept changing it.
    #[error("the payout is changing concurrently; retry")]
    Contended,
    /// Above the two-admin threshold: this approval is recorded, and a
    /// different admin must approve too.
    #[error("approval recorded; a second admin (not user {first}) must approve this payout too")]
    SecondApprovalRequired {
        /// Who approved first.
        first: crate::ids::UserId,
    },
    /// Ledger construction failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An admin's note or reference, trimmed: line breaks allowed.
fn note(text: String) -> Result<String, PayoutError> {
    crate::actor::admin_text(&text, MAX_NOTE_CHARS).ok_or(PayoutError::InvalidNote)
}

/// Payout use cases.
#[derive(Clone)]
pub struct PayoutService {
    ports: PayoutPorts,
    policy: PayoutPolicy,
}

impl PayoutService {
    /// A service with the deployment's rules.
    pub fn new(ports: PayoutPorts, policy: PayoutPolicy) -> Self {
        Self { ports, policy }
    }

    /// The rules in force.
    pub fn policy(&self) -> &PayoutPolicy {
        &self.policy
    }

    /// An instructor asks for `amount` of their available balance of one
    /// mode (`livemode`; when `None`, live money if a live gateway is
    /// served, test money otherwise) to be paid to `destination`.
    pub async fn request(
        &self,
        actor: Actor,
        amount: Money,
        destination: PayoutDestination,
        livemode: Option<bool>,
    ) -> Result<Payout, PayoutError> {
        if actor.role != Role::Instructor {
            return Err(Forbidden.into());
        }
        let serves_live = self.ports.gateways.serves_live();
        let livemode = livemode.unwrap_or(serves_live);
        if !livemode && serves_live && !actor.may_use_test_mode() {
            return Err(PayoutError::TestModeNotAllowed);
        }
        if amount.minor() <= 0 {
            return Err(PayoutError::InvalidAmount);
        }
        let minimum = self.policy.minimum_in(amount.currency());
        if amount.minor() < minimum.minor() {
            return Err(PayoutError::BelowMinimum { minimum });
        }
        let destination = destination.normalized()?;
        let method = destination.method();
        self.rail(method, livemode)?;
        let at = self.ports.clock.now();
        let payout = Payout {
            id: PayoutId::from_uuid(self.ports.ids.new_id()),
            instructor_id: actor.user_id,
            amount,
            method,
            status: PayoutStatus::Requested,
            destination_masked: destination.masked(),
            transaction_id: None,
            failure_reason: None,
            created_at: at,
            updated_at: at,
            paid_at: None,
            approved_by: None,
            approved_at: None,
            admin_note: None,
            livemode,
        };
        let journal = payout_reserve_journal(self.journal_id(), &payout, at)?;
        let outbox = vec![self.event(EventType::PayoutRequested, &payout, at)];
        self.ports
            .payouts
            .request(NewPayout { payout, destination, requested_by: actor, journal, outbox })
            .await
            .map_err(|e| match e {
                RequestPayoutStoreError::InsufficientBalance { available } => {
                    PayoutError::InsufficientBalance { available }
                }
                RequestPayoutStoreError::NoEncryptionKey => PayoutError::NoEncryptionKey,
                RequestPayoutStoreError::Store(e) => PayoutError::Store(e),
            })
    }

    /// The instructor withdraws a payout not yet approved.
    pub async fn cancel(&self, actor: Actor, id: PayoutId) -> Result<Payout, PayoutError> {
        let payout = self.get(actor, id).await?;
        if payout.instructor_id != actor.user_id {
            return Err(Forbidden.into());
        }
        self.change(id, PayoutEvent::Cancel, None, None, Decision::by(actor)).await
    }

    /// An admin refuses a requested payout; its money is available again.
    pub async fn reject(&self, actor: Actor, id: PayoutId, reason: String) -> Result<Payout, PayoutError> {
        actor.require_admin()?;
        let reason = note(reason)?;
        self.change(id, PayoutEvent::Reject, None, Some(reason), Decision::by(actor)).await
    }

    /// An admin approves a payout and it is sent: through its gateway, or
    /// for a bank transfer left `processing` until the admin marks it.
    /// Approving one left in `processing` asks the gateway again (same
    /// idempotency key), which can never pay twice. `note`, if any, is
    /// kept with the approval.
    pub async fn approve(&self, actor: Actor, id: PayoutId, note: Option<String>) -> Result<Payout, PayoutError> {
        actor.require_admin()?;
        let note = note.map(self::note).transpose()?;
        let current = self.find(id).await?;
        // Before any approval is recorded: a payout no rail of its mode
        // can send is not approved at all.
        let gateway = self.rail(current.method, current.livemode)?;
        if current.status == PayoutStatus::Requested {
            let request = super::dual_control::ApprovalRequest {
                object_id: id.to_string(),
                group: format!("instructor:{}", current.instructor_id),
                amount: current.amount,
                requester: Some(current.instructor_id),
                sole_allowed: true,
                livemode: current.livemode,
            };
            let approval = self.ports.dual_control.approve(request, actor.user_id).await?;
            if let super::dual_control::Approval::AwaitingSecond { first } = approval {
                return Err(PayoutError::SecondApprovalRequired { first });
            }
        }
        self.change(id, PayoutEvent::Approve, None, None, Decision::by(actor).noted(note)).await?;
        let payout = self.change(id, PayoutEvent::StartProcessing, None, None, Decision::by(actor)).await?;
        let Some(gateway) = gateway else {
            return Ok(payout);
        };
        if payout.status != PayoutStatus::Processing {
            return Ok(payout);
        }
        if payout.transaction_id.is_some() {
            return self.sync(id).await;
        }
        let destination = self.ports.payouts.destination(id).await?.ok_or(PayoutError::NotFound)?;
        match gateway.send(&payout, &destination).await {
            Ok(sent) => self.apply_state(id, sent.state, Some(sent.provider_payout_id)).await,
            // Refused outright: it failed and the money is available again.
            Err(GatewayError::InvalidRequest(_) | GatewayError::UnknownPayment) => {
                self.fail(id, "refused by the gateway".to_owned(), None).await
            }
            // Down or timed out: it stays processing; approve again or let
            // the sweep ask.
            Err(error) => Err(PayoutError::Gateway(error)),
        }
    }

    /// An admin records that a bank transfer was sent, with its reference.
    pub async fn mark_paid(&self, actor: Actor, id: PayoutId, reference: String) -> Result<Payout, PayoutError> {
        actor.require_admin()?;
        let reference = note(reference)?;
        if self.find(id).await?.method != PayoutMethod::BankTransfer {
            return Err(PayoutError::NotManual);
        }
        // A bank reference names one transfer (a unique index backs this).
        let holder = self.ports.payouts.find_by_transaction_id(PayoutMethod::BankTransfer, reference.clone()).await?;
        if holder.is_some_and(|other| other.id != id) {
            return Err(PayoutError::ReferenceInUse);
        }
        self.change(id, PayoutEvent::Pay, Some(reference), None, Decision::by(actor)).await
    }

    /// An admin records that a bank transfer failed or bounced.
    pub async fn mark_failed(&self, actor: Actor, id: PayoutId, reason: String) -> Result<Payout, PayoutError> {
        actor.require_admin()?;
        let reason = note(reason)?;
        if self.find(id).await?.method != PayoutMethod::BankTransfer {
            return Err(PayoutError::NotManual);
        }
        self.change(id, PayoutEvent::Fail, None, Some(reason), Decision::by(actor)).await
    }

    /// Asks the gateway where a sent payout stands and applies it (payout
    /// webhooks and the sweep).
    pub async fn sync(&self, id: PayoutId) -> Result<Payout, PayoutError> {
        let payout = self.find(id).await?;
        let Some(transaction_id) = payout.transaction_id.clone() else {
            return Ok(payout);
        };
        if !matches!(payout.status, PayoutStatus::Processing | PayoutStatus::Paid) {
            return Ok(payout);
        }
        let gateway = self
            .ports
            .gateways
            .for_payout(payout.method, payout.livemode)
            .ok_or(PayoutError::MethodUnavailable(payout.method))?;
        let state = gateway.payout_status(&transaction_id).await.map_err(PayoutError::Gateway)?;
        self.apply_state(id, state, None).await
    }

    /// [`PayoutService::sync`] for the payout a gateway knows by its id;
    /// `None` for one we did not send.
    pub async fn sync_by_transaction_id(
        &self,
        method: PayoutMethod,
        transaction_id: &str,
    ) -> Result<Option<Payout>, PayoutError> {
        match self.ports.payouts.find_by_transaction_id(method, transaction_id.to_owned()).await? {
            Some(payout) => self.sync(payout.id).await.map(Some),
            None => Ok(None),
        }
    }

    /// Syncs up to `limit` payouts left in `processing`; answers how many
    /// settled and which checks failed (retried next time).
    pub async fn sync_processing(&self, limit: u32) -> Result<(usize, Vec<(PayoutId, String)>), StoreError> {
        let mut settled = 0;
        let mut failed = Vec::new();
        for payout in self.ports.payouts.processing(limit).await? {
            match self.sync(payout.id).await {
                Ok(after) if after.status != PayoutStatus::Processing => settled += 1,
                Ok(_) => {}
                Err(error) => failed.push((payout.id, error.to_string())),
            }
        }
        Ok((settled, failed))
    }

    /// Moves the earnings of up to `limit` sales completed more than the
    /// hold period ago from pending to available; answers how many. Safe to
    /// run anywhere at once: each release is guarded.
    pub async fn release_due_earnings(&self, limit: u32) -> Result<usize, PayoutError> {
        let now = self.ports.clock.now();
        let mut released = 0;
        for payment in self.ports.earnings.due_releases(now - self.policy.hold, limit).await? {
            let journal = earnings_release_journal(self.journal_id(), &payment, now)?;
            if self.ports.earnings.release(payment.id, now, journal).await? {
                released += 1;
            }
        }
        Ok(released)
    }

    /// One payout: admins any, instructors their own.
    pub async fn get(&self, actor: Actor, id: PayoutId) -> Result<Payout, PayoutError> {
        let payout = self.find(id).await?;
        if actor.is_admin() || payout.instructor_id == actor.user_id { Ok(payout) } else { Err(PayoutError::NotFound) }
    }

    /// Payouts: admins all (with the query's filters), instructors their own.
    pub async fn list(&self, actor: Actor, mut query: PayoutQuery) -> Result<Page<Payout>, PayoutError> {
        match actor.role {
            Role::Admin => {}
            Role::Instructor => query.instructor = Some(actor.user_id),
            Role::Student => return Err(Forbidden.into()),
        }
        Ok(self.ports.payouts.list(query).await?)
    }

    /// Balances per currency: instructors their own, admins anyone's.
    pub async fn balances(
        &self,
        actor: Actor,
        instructor: Option<UserId>,
    ) -> Result<Vec<InstructorBalance>, PayoutError> {
        let whose = actor.instructor_scope(instructor)?;
        Ok(self.ports.payouts.balances(whose).await?)
    }

    async fn find(&self, id: PayoutId) -> Result<Payout, PayoutError> {
        self.ports.payouts.find(id).await?.ok_or(PayoutError::NotFound)
    }

    /// The rail sending `livemode`'s money by `method`, or why there is
    /// none. A bank transfer has no rail (`None`): an admin sends it by
    /// hand, so it takes test money only where no live gateway is served
    /// (a rehearsal in development); next to live gateways nobody is ever
    /// asked to wire real money for a test balance.
    fn rail(&self, method: PayoutMethod, livemode: bool) -> Result<Option<Arc<dyn PayoutGateway>>, PayoutError> {
        if method == PayoutMethod::BankTransfer {
            return if livemode || !self.ports.gateways.serves_live() {
                Ok(None)
            } else {
                Err(PayoutError::MethodNotInMode { method, livemode })
            };
        }
        if let Some(rail) = self.ports.gateways.for_payout(method, livemode) {
            return Ok(Some(rail));
        }
        if self.ports.gateways.for_payout(method, !livemode).is_some() {
            return Err(PayoutError::MethodNotInMode { method, livemode });
        }
        Err(PayoutError::MethodUnavailable(method))
    }

    async fn apply_state(
        &self,
        id: PayoutId,
        state: GatewayPayoutState,
        transaction_id: Option<String>,
    ) -> Result<Payout, PayoutError> {
        match state {
            GatewayPayoutState::Paid => self.pay(id, transaction_id).await,
            GatewayPayoutState::Failed { reason } => self.fail(id, reason, transaction_id).await,
            GatewayPayoutState::Pending => match transaction_id {
                Some(transaction_id) => self.record_transaction_id(id, transaction_id).await,
                None => self.find(id).await,
            },
        }
    }

    async fn pay(&self, id: PayoutId, transaction_id: Option<String>) -> Result<Payout, PayoutError> {
        self.change(id, PayoutEvent::Pay, transaction_id, None, Decision::default()).await
    }

    async fn fail(&self, id: PayoutId, reason: String, transaction_id: Option<String>) -> Result<Payout, PayoutError> {
        self.change(id, PayoutEvent::Fail, transaction_id, Some(reason), Decision::default()).await
    }

    async fn record_transaction_id(&self, id: PayoutId, transaction_id: String) -> Result<Payout, PayoutError> {
        let payout = self.find(id).await?;
        let change = PayoutChange {
            payout_id: id,
            from: payout.status,
            to: payout.status,
            at: self.ports.clock.now(),
            transaction_id: Some(transaction_id),
            failure_reason: None,
            by: None,
            admin_note: None,
            journal: None,
            outbox: Vec::new(),
        };
        self.ports.payouts.apply(change).await?;
        self.find(id).await
    }

    /// A guarded status change with the journal and event it causes.
    async fn change(
        &self,
        id: PayoutId,
        event: PayoutEvent,
        transaction_id: Option<String>,
        reason: Option<String>,
        decision: Decision,
    ) -> Result<Payout, PayoutError> {
        for _ in 0..CHANGE_ATTEMPTS {
            let payout = self.find(id).await?;
            let Some(to) = payout.status.apply(event)? else {
                return Ok(payout);
            };
            let at = self.ports.clock.now();
            let journal = match to {
                PayoutStatus::Paid => Some(payout_paid_journal(self.journal_id(), &payout, at)?),
                PayoutStatus::Failed | PayoutStatus::Rejected | PayoutStatus::Cancelled => {
                    Some(payout_return_journal(self.journal_id(), &payout, payout.status == PayoutStatus::Paid, at)?)
                }
                PayoutStatus::Requested | PayoutStatus::Approved | PayoutStatus::Processing => None,
            };
            // As the store writes it: the deciding admin is the approver
            // only on approval; a note is kept whenever one is given.
            let approver = decision.by.filter(|_| to == PayoutStatus::Approved);
            let after = Payout {
                status: to,
                transaction_id: transaction_id.clone().or(payout.transaction_id.clone()),
                failure_reason: reason.clone().or(payout.failure_reason.clone()),
                paid_at: if to == PayoutStatus::Paid { Some(at) } else { payout.paid_at },
                approved_by: approver.map(|by| by.user_id).or(payout.approved_by),
                approved_at: approver.map(|_| at).or(payout.approved_at),
                admin_note: decision.note.clone().or(payout.admin_note.clone()),
                updated_at: at,
                ..payout.clone()
            };
            let announced = match to {
                PayoutStatus::Approved => Some(EventType::PayoutApproved),
                PayoutStatus::Rejected => Some(EventType::PayoutRejected),
                PayoutStatus::Cancelled => Some(EventType::PayoutCancelled),
                PayoutStatus::Paid => Some(EventType::PayoutPaid),
                PayoutStatus::Failed => Some(EventType::PayoutFailed),
                // Processing is the rail's business.
                PayoutStatus::Requested | PayoutStatus::Processing => None,
            };
            let outbox = announced.map(|t| vec![self.event(t, &after, at)]).unwrap_or_default();
            let change = PayoutChange {
                payout_id: id,
                from: payout.status,
                to,
                at,
                transaction_id: transaction_id.clone(),
                failure_reason: reason.clone(),
                by: decision.by,
                admin_note: decision.note.clone(),
                journal,
                outbox,
            };
            if self.ports.payouts.apply(change).await? {
                return self.find(id).await;
            }
        }
        Err(PayoutError::Contended)
    }

    fn journal_id(&self) -> JournalId {
        JournalId::from_uuid(self.ports.ids.new_id())
    }

    fn event(&self, event_type: EventType, payout: &Payout, at: DateTime<Utc>) -> OutboxEvent {
        OutboxEvent::new(EventId::from_uuid(self.ports.ids.new_id()), event_type, payout.clone(), at)
    }
}
