//! Disputes follow the gateway: each dispute event re-reads the dispute at
//! the gateway and moves Skillpay's copy, its payment and the ledger, one
//! guarded step at a time, until they match what the gateway says. So
//! events in any order, repeated or lost in between, end in the same state.

use std::collections::HashMap;
use std::sync::Arc;

use crate::dispute::{
    Dispute, DisputeEvent, DisputeFeeBearer, DisputeStatus, DisputeTransitionError, fee_share, hold_journal,
    loss_journal, release_journal,
};
use crate::ids::{DisputeId, EventId, JournalId};
use crate::ledger::{Journal, LedgerError};
use crate::money::{Currency, Money};
use crate::outbox::{EventType, OutboxEvent};
use crate::paging::Page;
use crate::payment::{Payment, PaymentEvent, PaymentMethod, Transition, TransitionError};
use crate::ports::{
    Clock, DisputeChange, DisputeEvidence, DisputeQuery, DisputeRepository, GatewayDispute, GatewayError, Gateways,
    IdGenerator, PaymentRepository, PaymentStatusUpdate, StoreError,
};
use crate::usecases::{Actor, Forbidden};

/// Guarded steps tried before giving up (each step re-reads).
const SYNC_STEPS: usize = 8;
/// Longest accepted evidence text, in characters.
pub const MAX_EVIDENCE_CHARS: usize = 2_000;
/// Longest accepted reason of an admin-opened dispute.
pub const MAX_REASON_CHARS: usize = 200;
/// Prefix of the ids of disputes admins open (no gateway knows them).
pub const MANUAL_PREFIX: &str = "manual_";

/// How to find a dispute's payment.
#[derive(Debug, Clone, Copy)]
enum PaymentLookup {
    /// By the gateway's payment id the gateway's dispute names.
    ByProvider(PaymentMethod),
    /// By our id (disputes admins open).
    ById(crate::ids::PaymentId),
}

/// A dispute an admin opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualDispute {
    /// The disputed payment.
    pub payment_id: crate::ids::PaymentId,
    /// How much (`None`: the whole payment).
    pub amount: Option<Money>,
    /// Why (1 to 200 characters).
    pub reason: String,
    /// When evidence is due, if known.
    pub evidence_due_by: Option<chrono::DateTime<chrono::Utc>>,
}

/// The ports disputes need.
#[derive(Clone)]
pub struct DisputePorts {
    /// Dispute storage.
    pub disputes: Arc<dyn DisputeRepository>,
    /// Payment storage.
    pub payments: Arc<dyn PaymentRepository>,
    /// Gateways.
    pub gateways: Gateways,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Ids.
    pub ids: Arc<dyn IdGenerator>,
}

/// What a lost dispute costs on top of its amount, per currency.
#[derive(Debug, Clone, Default)]
pub struct DisputeFeePolicy {
    /// The fee per currency (none: no fee).
    pub fees: HashMap<Currency, Money>,
    /// Who pays it.
    pub bearer: Option<DisputeFeeBearer>,
}

/// Why a dispute use case failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisputeError {
    /// Admins only.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No such dispute.
    #[error("not found")]
    NotFound,
    /// The gateway could not be asked.
    #[error(transparent)]
    Gateway(GatewayError),
    /// The payment's status does not allow the move (a dispute on an unpaid
    /// payment).
    #[error(transparent)]
    Illegal(#[from] TransitionError),
    /// Others kept changing it.
    #[error("the dispute is changing concurrently; retry")]
    Contended,
    /// Evidence text missing or too long.
    #[error("{field} must be 1 to 2000 characters")]
    InvalidEvidence {
        /// The field at fault.
        field: &'static str,
    },
    /// The dispute's status does not allow this: evidence or a decision on
    /// a decided dispute, evidence twice.
    #[error(transparent)]
    Transition(#[from] DisputeTransitionError),
    /// Not a positive amount within the payment, in its currency.
    #[error("the amount must be positive, in the payment's currency and at most its amount")]
    InvalidAmount,
    /// A gateway's dispute is decided by the gateway (accept it, or submit
    /// evidence), not by an admin.
    #[error("this dispute is decided by its gateway; submit evidence or accept it")]
    DecidedByGateway,
    /// An admin opened it: no gateway knows it; an admin resolves it.
    #[error("this dispute was opened by an admin and no gateway knows it; resolve it instead")]
    NotAtGateway,
    /// Ledger construction failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Dispute use cases.
#[derive(Clone)]
pub struct DisputeService {
    ports: DisputePorts,
    fees: DisputeFeePolicy,
}

impl DisputeService {
    /// A service over the given ports.
    pub fn new(ports: DisputePorts, fees: DisputeFeePolicy) -> Self {
        Self { ports, fees }
    }

    /// Disputes matching the query, newest first (admin).
    pub async fn list(&self, actor: Actor, query: DisputeQuery) -> Result<Page<Dispute>, DisputeError> {
        actor.require_admin()?;
        Ok(self.ports.disputes.list(query).await?)
    }

    /// One dispute (admin).
    pub async fn get(&self, actor: Actor, id: DisputeId) -> Result<Dispute, DisputeError> {
        actor.require_admin()?;
        self.ports.disputes.find(id).await?.ok_or(DisputeError::NotFound)
    }

    /// Submits evidence contesting a dispute to its gateway (admin), then
    /// follows what the gateway answers.
    pub async fn submit_evidence(
        &self,
        actor: Actor,
        id: DisputeId,
        evidence: DisputeEvidence,
    ) -> Result<Dispute, DisputeError> {
        actor.require_admin()?;
        let text_ok = |text: &str| !text.trim().is_empty() && text.chars().count() <= MAX_EVIDENCE_CHARS;
        if !text_ok(&evidence.explanation) {
            return Err(DisputeError::InvalidEvidence { field: "explanation" });
        }
        for (field, value) in
            [("product_description", &evidence.product_description), ("customer_email", &evidence.customer_email)]
        {
            if value.as_deref().is_some_and(|text| !text_ok(text)) {
                return Err(DisputeError::InvalidEvidence { field });
            }
        }
        let dispute = self.at_gateway(id).await?;
        // Only asks whether evidence may go: the status stored next is the
        // one the gateway answers.
        dispute.status.apply(DisputeEvent::SubmitEvidence)?;
        let (method, gateway) = self.gateway_of(&dispute).await?;
        gateway
            .submit_dispute_evidence(&dispute.provider_dispute_id, &evidence)
            .await
            .map_err(DisputeError::Gateway)?;
        self.announce_evidence(actor, id).await?;
        self.sync_as(method, &dispute.provider_dispute_id, Some(actor)).await?.ok_or(DisputeError::NotFound)
    }

    /// Records that `actor`'s evidence reached the gateway: the dispute as
    /// it stands (its status is the gateway's to move), audited, with
    /// `dispute.evidence_submitted`.
    async fn announce_evidence(&self, actor: Actor, id: DisputeId) -> Result<(), DisputeError> {
        for _ in 0..SYNC_STEPS {
            let current = self.ports.disputes.find(id).await?.ok_or(DisputeError::NotFound)?;
            let dispute = Dispute { updated_at: self.ports.clock.now(), ..current.clone() };
            let outbox = vec![self.event(EventType::DisputeEvidenceSubmitted, &dispute)];
            let change = DisputeChange {
                dispute,
                previous: Some(current.status),
                payment: None,
                journal: None,
                outbox,
                by: Some(actor),
            };
            if self.ports.disputes.record(change).await? {
                return Ok(());
            }
        }
        Err(DisputeError::Contended)
    }

    /// Accepts a dispute at its gateway without contesting it (admin): it
    /// is lost, and the ledger follows.
    pub async fn accept(&self, actor: Actor, id: DisputeId) -> Result<Dispute, DisputeError> {
        actor.require_admin()?;
        let dispute = self.at_gateway(id).await?;
        if dispute.status.apply(DisputeEvent::Accept)?.is_none() {
            // Accepted (lost) already: a repeat asks the gateway nothing.
            return Ok(dispute);
        }
        let (method, gateway) = self.gateway_of(&dispute).await?;
        gateway.accept_dispute(&dispute.provider_dispute_id).await.map_err(DisputeError::Gateway)?;
        self.sync_as(method, &dispute.provider_dispute_id, Some(actor)).await?.ok_or(DisputeError::NotFound)
    }

    /// A dispute some gateway knows (not one an admin opened).
    async fn at_gateway(&self, id: DisputeId) -> Result<Dispute, DisputeError> {
        let dispute = self.ports.disputes.find(id).await?.ok_or(DisputeError::NotFound)?;
        if dispute.provider_dispute_id.starts_with(MANUAL_PREFIX) {
            return Err(DisputeError::NotAtGateway);
        }
        Ok(dispute)
    }

    /// The method and gateway of a dispute's payment.
    async fn gateway_of(
        &self,
        dispute: &Dispute,
    ) -> Result<(PaymentMethod, Arc<dyn crate::ports::DisputeGateway>), DisputeError> {
        let payment = self.ports.payments.find(dispute.payment_id).await?.ok_or(DisputeError::NotFound)?;
        let gateway =
            self.ports.gateways.disputes(payment.method).ok_or(DisputeError::Gateway(GatewayError::UnknownPayment))?;
        Ok((payment.method, gateway))
    }

    /// Re-reads a dispute at `method`'s gateway and brings Skillpay's copy
    /// in line; `None` for a dispute about a payment Skillpay did not make.
    pub async fn sync(
        &self,
        method: PaymentMethod,
        provider_dispute_id: &str,
    ) -> Result<Option<Dispute>, DisputeError> {
        self.sync_as(method, provider_dispute_id, None).await
    }

    /// [`DisputeService::sync`], with the changes made on `by`'s behalf
    /// (`None`: the service following a webhook).
    async fn sync_as(
        &self,
        method: PaymentMethod,
        provider_dispute_id: &str,
        by: Option<Actor>,
    ) -> Result<Option<Dispute>, DisputeError> {
        let gateway =
            self.ports.gateways.disputes(method).ok_or(DisputeError::Gateway(GatewayError::UnknownPayment))?;
        let seen = gateway.dispute(provider_dispute_id).await.map_err(DisputeError::Gateway)?;
        self.follow(PaymentLookup::ByProvider(method), provider_dispute_id, &seen, by).await
    }

    /// Opens a dispute an admin learnt of outside the gateways (a bank
    /// transfer recalled, a chargeback notice by mail): it holds the money
    /// like a gateway's, and an admin decides it ([`DisputeService::resolve`]).
    pub async fn open(&self, actor: Actor, manual: ManualDispute) -> Result<Dispute, DisputeError> {
        actor.require_admin()?;
        let reason = manual.reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(DisputeError::InvalidEvidence { field: "reason" });
        }
        let payment = self.ports.payments.find(manual.payment_id).await?.ok_or(DisputeError::NotFound)?;
        let amount = manual.amount.unwrap_or(payment.amount);
        if amount.currency() != payment.amount.currency()
            || amount.minor() <= 0
            || amount.minor() > payment.amount.minor()
        {
            return Err(DisputeError::InvalidAmount);
        }
        let seen = GatewayDispute {
            provider_payment_id: String::new(),
            amount,
            reason,
            status: DisputeStatus::NeedsResponse,
            evidence_due_by: manual.evidence_due_by,
        };
        let provider_dispute_id = format!("{MANUAL_PREFIX}{}", self.ports.ids.new_id().simple());
        self.follow(PaymentLookup::ById(payment.id), &provider_dispute_id, &seen, Some(actor))
            .await?
            .ok_or(DisputeError::NotFound)
    }

    /// Decides a dispute an admin opened: won releases the hold, lost turns
    /// it into a loss. Gateway disputes are decided by their gateway.
    pub async fn resolve(&self, actor: Actor, id: DisputeId, won: bool) -> Result<Dispute, DisputeError> {
        actor.require_admin()?;
        let dispute = self.ports.disputes.find(id).await?.ok_or(DisputeError::NotFound)?;
        if !dispute.provider_dispute_id.starts_with(MANUAL_PREFIX) {
            return Err(DisputeError::DecidedByGateway);
        }
        let event = if won { DisputeEvent::Win } else { DisputeEvent::Lose };
        let Some(status) = dispute.status.apply(event)? else {
            // Decided so already: a repeat changes nothing.
            return Ok(dispute);
        };
        let seen = GatewayDispute {
            provider_payment_id: String::new(),
            amount: dispute.amount,
            reason: dispute.reason.clone(),
            status,
            evidence_due_by: dispute.evidence_due_by,
        };
        self.follow(PaymentLookup::ById(dispute.payment_id), &dispute.provider_dispute_id, &seen, Some(actor))
            .await?
            .ok_or(DisputeError::NotFound)
    }

    /// Steps Skillpay's copy of a dispute toward `seen`, one guarded change
    /// at a time, each made on `by`'s behalf; `None` when the payment is not
    /// one of ours.
    async fn follow(
        &self,
        lookup: PaymentLookup,
        provider_dispute_id: &str,
        seen: &GatewayDispute,
        by: Option<Actor>,
    ) -> Result<Option<Dispute>, DisputeError> {
        for _ in 0..SYNC_STEPS {
            let payment = match lookup {
                PaymentLookup::ByProvider(method) => {
                    self.ports.payments.find_by_provider_id(method, seen.provider_payment_id.clone()).await?
                }
                PaymentLookup::ById(id) => self.ports.payments.find(id).await?,
            };
            let Some(payment) = payment else { return Ok(None) };
            let current = self.ports.disputes.find_by_provider_id(provider_dispute_id.to_owned()).await?;
            let Some(mut change) = self.next_step(&payment, current.as_ref(), seen, provider_dispute_id)? else {
                return Ok(current);
            };
            change.by = by;
            // A guarded step that misses (someone moved first) is re-read.
            self.ports.disputes.record(change).await?;
        }
        Err(DisputeError::Contended)
    }

    /// The one guarded step from `current` toward what the gateway says,
    /// or `None` when there is none ([`DisputeStatus::apply`]: they match,
    /// the report is stale, or the dispute is already decided).
    fn next_step(
        &self,
        payment: &Payment,
        current: Option<&Dispute>,
        seen: &GatewayDispute,
        provider_dispute_id: &str,
    ) -> Result<Option<DisputeChange>, DisputeError> {
        let now = self.ports.clock.now();
        let target = seen.status;
        let Some(current) = current else {
            // New: hold first; a decision seen at once follows in a next step.
            let status = DisputeStatus::opening(target);
            let dispute = Dispute {
                id: DisputeId::from_uuid(self.ports.ids.new_id()),
                payment_id: payment.id,
                provider_dispute_id: provider_dispute_id.to_owned(),
                amount: seen.amount,
                fee_held: fee_share(payment, seen.amount).map_err(LedgerError::from)?,
                reason: seen.reason.clone(),
                status,
                evidence_due_by: seen.evidence_due_by,
                created_at: now,
                updated_at: now,
                resolved_at: status.is_final().then_some(now),
                livemode: payment.livemode,
            };
            return self.hold_if_needed(payment, dispute, None).map(Some);
        };
        let Some(status) = current.status.apply(DisputeEvent::Reported(target))? else {
            return Ok(None);
        };
        let mut next = Dispute { status, evidence_due_by: seen.evidence_due_by, updated_at: now, ..current.clone() };
        if !current.status.holds_money() && status.holds_money() {
            // An inquiry became a dispute: hold first, decide later.
            return self.hold_if_needed(payment, next, Some(current.status)).map(Some);
        }
        let (journal, payment_event, event_type) = match status {
            // Won, or closed as an inquiry after money was held (the charge
            // was refunded meanwhile): the hold is released.
            DisputeStatus::Won | DisputeStatus::WarningClosed if current.status.holds_money() => (
                Some(release_journal(self.journal_id(), payment, current, now)?),
                Some(PaymentEvent::WinDispute),
                Some(EventType::DisputeClosed),
            ),
            DisputeStatus::Lost if current.status.holds_money() => {
                let fee =
                    self.fees.bearer.and_then(|b| self.fees.fees.get(&current.amount.currency()).map(|f| (*f, b)));
                (
                    Some(loss_journal(self.journal_id(), payment, current, fee, now)?),
                    Some(PaymentEvent::LoseDispute),
                    Some(EventType::DisputeClosed),
                )
            }
            // No money moves: the dispute is updated, or closed without
            // money held (an inquiry's end).
            DisputeStatus::NeedsResponse
            | DisputeStatus::UnderReview
            | DisputeStatus::WarningNeedsResponse
            | DisputeStatus::WarningUnderReview
            | DisputeStatus::WarningClosed
            | DisputeStatus::Won
            | DisputeStatus::Lost => {
                let closed = status.is_final();
                (None, None, Some(if closed { EventType::DisputeClosed } else { EventType::DisputeUpdated }))
            }
        };
        if status.is_final() {
            next.resolved_at = Some(now);
        }
        let payment_update = payment_event.map(|e| self.payment_update(payment, e)).transpose()?.flatten();
        let outbox = event_type.map(|t| vec![self.event(t, &next)]).unwrap_or_default();
        Ok(Some(DisputeChange {
            dispute: next,
            previous: Some(current.status),
            payment: payment_update,
            journal,
            outbox,
            by: None,
        }))
    }

    /// The change storing `dispute`, with the hold journal, the payment's
    /// move to disputed and `dispute.opened` when it holds money; a new
    /// inquiry (holding nothing) is stored with `dispute.opened` alone.
    fn hold_if_needed(
        &self,
        payment: &Payment,
        dispute: Dispute,
        previous: Option<DisputeStatus>,
    ) -> Result<DisputeChange, DisputeError> {
        if !dispute.status.holds_money() {
            // An inquiry holds nothing, but is announced when it opens.
            let outbox =
                if previous.is_none() { vec![self.event(EventType::DisputeOpened, &dispute)] } else { Vec::new() };
            return Ok(DisputeChange { dispute, previous, payment: None, journal: None, outbox, by: None });
        }
        let journal: Option<Journal> = Some(hold_journal(self.journal_id(), payment, &dispute, dispute.updated_at)?);
        let payment_update = self.payment_update(payment, PaymentEvent::OpenDispute)?;
        let outbox = vec![self.event(EventType::DisputeOpened, &dispute)];
        Ok(DisputeChange { dispute, previous, payment: payment_update, journal, outbox, by: None })
    }

    fn payment_update(
        &self,
        payment: &Payment,
        event: PaymentEvent,
    ) -> Result<Option<PaymentStatusUpdate>, DisputeError> {
        Ok(match payment.status.apply(event)? {
            Transition::Changed(to) => Some(PaymentStatusUpdate { from: payment.status, to }),
            Transition::Unchanged => None,
        })
    }

    fn journal_id(&self) -> JournalId {
        JournalId::from_uuid(self.ports.ids.new_id())
    }

    fn event(&self, event_type: EventType, dispute: &Dispute) -> OutboxEvent {
        OutboxEvent::new(EventId::from_uuid(self.ports.ids.new_id()), event_type, dispute.clone(), dispute.updated_at)
    }
}
