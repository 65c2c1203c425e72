//! Refund use cases: request (payer within the refund window, or an admin),
//! approve and send to the gateway, reject, read and list.
//!
//! Approval records the intent (`processing`) before calling the gateway,
//! outside any transaction, with the refund's id as the gateway's
//! idempotency key; approving again a refund left in `processing` (the
//! process died, or the gateway was down) asks the gateway again and can
//! never refund twice.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

mod fees;
pub use fees::FeeReturnReport;
mod gateway;
pub use gateway::{GATEWAY_REFUND_REASON, GatewayRefundSync};

use crate::ids::{EventId, JournalId, PaymentId, RefundId};
use crate::ledger::{LedgerError, refund_journal};
use crate::money::Money;
use crate::outbox::{EventSubject, EventType, OutboxEvent};
use crate::paging::Page;
use crate::payment::{Payment, PaymentEvent, Transition};
use crate::ports::{
    Clock, CreateRefundStoreError, GatewayError, GatewayRefundState, Gateways, IdGenerator, NewRefund,
    PaymentRefundUpdate, PaymentRepository, RefundChange, RefundQuery, RefundRepository, StoreError,
};
use crate::refund::{Refund, RefundEvent, RefundOrigin, RefundPlanError, RefundStatus, RefundTransitionError};
use crate::usecases::{Actor, Decision, Forbidden};

/// Longest accepted reason text.
pub const MAX_REASON_CHARS: usize = 1_000;
/// Attempts of a guarded refund change before giving up.
const CHANGE_ATTEMPTS: usize = 3;

/// The ports refunds need.
#[derive(Clone)]
pub struct RefundPorts {
    /// Refund storage.
    pub refunds: Arc<dyn RefundRepository>,
    /// Payment storage.
    pub payments: Arc<dyn PaymentRepository>,
    /// Gateways.
    pub gateways: Gateways,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Ids.
    pub ids: Arc<dyn IdGenerator>,
    /// Two-admin approval of large refunds.
    pub dual_control: super::dual_control::DualControl,
}

/// Why a refund use case failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    /// Not allowed for this role.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No such refund or payment (or not the actor's).
    #[error("not found")]
    NotFound,
    /// The payer's refund window has closed.
    #[error("the refund window of {0} days has closed; ask an admin")]
    WindowClosed(i64),
    /// The reason is empty or too long.
    #[error("a reason of 1 to 1000 characters is required")]
    InvalidReason,
    /// The amount or the payment's state does not allow it.
    #[error(transparent)]
    Refused(RefundPlanError),
    /// The refund's status does not allow it.
    #[error(transparent)]
    Illegal(#[from] RefundTransitionError),
    /// The gateway refused or is down; a `processing` refund can be
    /// approved again to retry.
    #[error(transparent)]
    Gateway(GatewayError),
    /// Others kept changing it.
    #[error("the refund is changing concurrently; retry")]
    Contended,
    /// Above the two-admin threshold: this approval is recorded, and a
    /// different admin must approve too.
    #[error("approval recorded; a second admin (not user {first}) must approve this refund too")]
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

/// An admin's note, trimmed: at most [`MAX_REASON_CHARS`] characters, line
/// breaks allowed.
fn admin_note(text: String) -> Result<String, RefundError> {
    crate::actor::admin_text(&text, MAX_REASON_CHARS).ok_or(RefundError::InvalidReason)
}

/// Refund use cases.
#[derive(Clone)]
pub struct RefundService {
    ports: RefundPorts,
    window: Duration,
    /// Screens refund requests against the refunds rules; none screens
    /// nothing.
    fraud: Option<Arc<dyn crate::ports::FraudStore>>,
}

impl RefundService {
    /// A service; payers may ask within `window_days` of completion.
    pub fn new(ports: RefundPorts, window_days: i64) -> Self {
        Self { ports, window: Duration::days(window_days), fraud: None }
    }

    /// This service screening every refund request with `store`: the
    /// payer's history is kept with the request, and a refunds rule that
    /// fires sends it to two admins.
    pub fn with_refund_screening(self, store: Arc<dyn crate::ports::FraudStore>) -> Self {
        Self { fraud: Some(store), ..self }
    }

    /// Asks for a refund of `amount` (`None`: all that is left).
    pub async fn request(
        &self,
        actor: Actor,
        payment_id: PaymentId,
        amount: Option<Money>,
        reason: String,
    ) -> Result<Refund, RefundError> {
        let reason = reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(RefundError::InvalidReason);
        }
        let payment = self.ports.payments.find(payment_id).await?.ok_or(RefundError::NotFound)?;
        if !actor.is_admin() {
            if payment.user_id != actor.user_id {
                return Err(RefundError::NotFound);
            }
            let now = self.ports.clock.now();
            if payment.completed_at.is_some_and(|done| now > done + self.window) {
                return Err(RefundError::WindowClosed(self.window.num_days()));
            }
        }
        let at = self.ports.clock.now();
        let screening = match &self.fraud {
            Some(fraud) => Some(fraud.screen_refund(payment.user_id, payment_id, at).await?),
            None => None,
        };
        let request = NewRefund {
            id: RefundId::from_uuid(self.ports.ids.new_id()),
            payment_id,
            amount,
            reason,
            origin: RefundOrigin::Request,
            requested_by: Some(actor),
            at,
            screening,
            event_id: EventId::from_uuid(self.ports.ids.new_id()),
        };
        self.store_request(request).await
    }

    /// Refunds in full, at once and without an admin's approval, a payment
    /// paid after Skillpay gave up on it that cannot be delivered (origin
    /// `recovery`; see `payments::recovery`). A gateway that does not take
    /// it at once leaves it `processing`, as an approval would.
    pub async fn refund_recovered(&self, payment_id: PaymentId, reason: String) -> Result<Refund, RefundError> {
        let request = NewRefund {
            id: RefundId::from_uuid(self.ports.ids.new_id()),
            payment_id,
            amount: None,
            reason,
            origin: RefundOrigin::Recovery,
            requested_by: None,
            at: self.ports.clock.now(),
            screening: None,
            event_id: EventId::from_uuid(self.ports.ids.new_id()),
        };
        let refund = self.store_request(request).await?;
        self.change(refund.id, RefundEvent::Approve, |_| {}).await?;
        self.send(refund.id, None).await
    }

    /// Refunds in full a payment held for review (origin `review`): an
    /// admin's refusal (`by`), or the sweep's once the review deadline
    /// passed (`by` `None`). Money going back to its own payer takes one
    /// admin. A payment no longer held is refused (`not_refundable`); the
    /// reason is checked as an admin's note is.
    pub async fn refund_held(
        &self,
        payment_id: PaymentId,
        by: Option<Actor>,
        reason: String,
    ) -> Result<Refund, RefundError> {
        if let Some(actor) = by {
            actor.require_admin()?;
        }
        let reason = admin_note(reason)?;
        let payment = self.ports.payments.find(payment_id).await?.ok_or(RefundError::NotFound)?;
        if payment.status != crate::payment::PaymentStatus::InReview {
            return Err(RefundError::Refused(crate::refund::RefundPlanError::NotRefundable(payment.status)));
        }
        let request = NewRefund {
            id: RefundId::from_uuid(self.ports.ids.new_id()),
            payment_id,
            amount: None,
            reason,
            origin: RefundOrigin::Review,
            requested_by: None,
            at: self.ports.clock.now(),
            screening: None,
            event_id: EventId::from_uuid(self.ports.ids.new_id()),
        };
        let refund = self.store_request(request).await?;
        self.change(refund.id, RefundEvent::Approve, |change| change.by = by).await?;
        self.send(refund.id, by).await
    }

    async fn store_request(&self, request: NewRefund) -> Result<Refund, RefundError> {
        self.ports.refunds.create(request).await.map_err(|e| match e {
            CreateRefundStoreError::PaymentNotFound => RefundError::NotFound,
            CreateRefundStoreError::Refused(reason) => RefundError::Refused(reason),
            CreateRefundStoreError::Store(e) => RefundError::Store(e),
        })
    }

    /// Rejects a requested refund with a reason (admin).
    pub async fn reject(&self, actor: Actor, id: RefundId, reason: String) -> Result<Refund, RefundError> {
        actor.require_admin()?;
        let reason = reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(RefundError::InvalidReason);
        }
        self.change(id, RefundEvent::Reject, |change| {
            change.rejection_reason = Some(reason.clone());
            change.by = Some(actor);
        })
        .await
    }

    /// Approves a refund and sends it to the gateway (admin). Approving one
    /// left in `processing` asks the gateway again (same idempotency key):
    /// a gateway that already made it answers the same refund. `note`, if
    /// any, is kept with the approval.
    pub async fn approve(&self, actor: Actor, id: RefundId, note: Option<String>) -> Result<Refund, RefundError> {
        actor.require_admin()?;
        let decision = Decision::by(actor).noted(note.map(admin_note).transpose()?);
        let current = self.ports.refunds.find(id).await?.ok_or(RefundError::NotFound)?;
        if current.status == RefundStatus::Requested {
            let request = super::dual_control::ApprovalRequest {
                object_id: id.to_string(),
                group: format!("payment:{}", current.payment_id),
                amount: current.amount,
                // An admin refunding on a student's behalf decides it like
                // any approval; the sum rule still bounds what they move.
                requester: None,
                // A serial refunder's request takes two admins.
                sole_allowed: !current.needs_two_admins,
                livemode: current.livemode,
            };
            let approval = self.ports.dual_control.approve(request, actor.user_id).await?;
            if let super::dual_control::Approval::AwaitingSecond { first } = approval {
                return Err(RefundError::SecondApprovalRequired { first });
            }
        }
        self.change(id, RefundEvent::Approve, |change| {
            change.by = decision.by;
            change.admin_note = decision.note.clone();
        })
        .await?;
        self.send(id, Some(actor)).await
    }

    /// Sends an approved refund to the gateway (`by`: the approving admin,
    /// `None` for Skillpay itself), or asks the gateway where one already
    /// sent stands.
    async fn send(&self, id: RefundId, by: Option<Actor>) -> Result<Refund, RefundError> {
        let refund = self.change(id, RefundEvent::StartProcessing, |change| change.by = by).await?;
        if refund.status != RefundStatus::Processing {
            return Ok(refund);
        }
        if refund.provider_refund_id.is_some() {
            // The gateway already has it: ask where it stands rather than
            // asking again (an idempotent replay would only repeat its
            // first answer).
            return self.sync(id).await;
        }
        let payment = self.ports.payments.find(refund.payment_id).await?.ok_or(RefundError::NotFound)?;
        let outcome = match (&payment.provider_payment_id, self.ports.gateways.refunds(payment.method)) {
            (Some(provider_id), Some(gateway)) => {
                match gateway.refund(provider_id, refund.amount, &refund.id.to_string()).await {
                    Ok(outcome) => outcome,
                    // Refused outright: the refund failed and stops counting
                    // against the refundable amount.
                    Err(GatewayError::InvalidRequest(_) | GatewayError::UnknownPayment) => {
                        return self.change(id, RefundEvent::Fail, |_| {}).await;
                    }
                    // Down or timed out: it stays processing; approve again
                    // or let the sweep ask.
                    Err(error) => return Err(RefundError::Gateway(error)),
                }
            }
            // Nothing was charged at a gateway for this payment.
            _ => return self.change(id, RefundEvent::Fail, |_| {}).await,
        };
        let provider_refund_id = Some(outcome.provider_refund_id);
        match outcome.state {
            GatewayRefundState::Succeeded => self.settle(id, provider_refund_id).await,
            GatewayRefundState::Pending => self.record_provider_id(&refund, provider_refund_id).await,
            GatewayRefundState::Failed { .. } => {
                self.change(id, RefundEvent::Fail, |change| change.provider_refund_id = provider_refund_id.clone())
                    .await
            }
        }
    }

    /// Asks the gateway where a processing refund stands and applies it
    /// (refund webhooks and the sweep). Settled refunds are left alone.
    pub async fn sync(&self, id: RefundId) -> Result<Refund, RefundError> {
        let refund = self.ports.refunds.find(id).await?.ok_or(RefundError::NotFound)?;
        let Some(provider_refund_id) = refund.provider_refund_id.clone() else {
            return Ok(refund);
        };
        if refund.status != RefundStatus::Processing {
            return Ok(refund);
        }
        let payment = self.ports.payments.find(refund.payment_id).await?.ok_or(RefundError::NotFound)?;
        let gateway =
            self.ports.gateways.refunds(payment.method).ok_or(RefundError::Gateway(GatewayError::UnknownPayment))?;
        match gateway.refund_status(&provider_refund_id).await.map_err(RefundError::Gateway)? {
            GatewayRefundState::Succeeded => self.settle(id, None).await,
            GatewayRefundState::Failed { .. } => self.change(id, RefundEvent::Fail, |_| {}).await,
            GatewayRefundState::Pending => Ok(refund),
        }
    }

    /// [`RefundService::sync`] for the refund a gateway knows by its id;
    /// `None` for a refund we did not make.
    pub async fn sync_by_provider_id(&self, provider_refund_id: &str) -> Result<Option<Refund>, RefundError> {
        match self.ports.refunds.find_by_provider_id(provider_refund_id.to_owned()).await? {
            Some(refund) => self.sync(refund.id).await.map(Some),
            None => Ok(None),
        }
    }

    /// Syncs up to `limit` refunds left in `processing`; answers how many
    /// settled and which checks failed (retried next time). Safe to run
    /// anywhere at once: every change is guarded.
    pub async fn sync_processing(&self, limit: u32) -> Result<(usize, Vec<(RefundId, String)>), StoreError> {
        let mut settled = 0;
        let mut failed = Vec::new();
        for refund in self.ports.refunds.processing(limit).await? {
            match self.sync(refund.id).await {
                Ok(after) if after.status != RefundStatus::Processing => settled += 1,
                Ok(_) => {}
                Err(error) => failed.push((refund.id, error.to_string())),
            }
        }
        Ok((settled, failed))
    }

    /// One refund: admins any, payers their own.
    pub async fn get(&self, actor: Actor, id: RefundId) -> Result<Refund, RefundError> {
        let refund = self.ports.refunds.find(id).await?.ok_or(RefundError::NotFound)?;
        if actor.is_admin() {
            return Ok(refund);
        }
        let payment = self.ports.payments.find(refund.payment_id).await?.ok_or(RefundError::NotFound)?;
        if payment.user_id == actor.user_id { Ok(refund) } else { Err(RefundError::NotFound) }
    }

    /// Refunds: admins all (with the query's filters), others their own.
    pub async fn list(&self, actor: Actor, mut query: RefundQuery) -> Result<Page<Refund>, StoreError> {
        if !actor.is_admin() {
            query.payer = Some(actor.user_id);
        }
        self.ports.refunds.list(query).await
    }

    /// Marks a processing refund processed: journal, payment update and
    /// events commit together; retried if the payment moved meanwhile.
    async fn settle(&self, id: RefundId, provider_refund_id: Option<String>) -> Result<Refund, RefundError> {
        for _ in 0..CHANGE_ATTEMPTS {
            let refund = self.ports.refunds.find(id).await?.ok_or(RefundError::NotFound)?;
            let Some(to) = refund.status.apply(RefundEvent::Succeed)? else {
                return Ok(refund);
            };
            let payment = self.ports.payments.find(refund.payment_id).await?.ok_or(RefundError::NotFound)?;
            let at = self.ports.clock.now();
            let mut settled = refund.clone();
            settled.status = to;
            settled.provider_refund_id = provider_refund_id.clone().or(refund.provider_refund_id.clone());
            settled.processed_at = Some(at);
            let settlement = self.settlement(&payment, &settled, at)?;
            let change = RefundChange {
                refund_id: id,
                from: refund.status,
                to,
                at,
                provider_refund_id: settled.provider_refund_id.clone(),
                rejection_reason: None,
                by: None,
                admin_note: None,
                payment: Some(settlement.payment),
                journal: Some(settlement.journal),
                outbox: settlement.outbox,
            };
            if self.ports.refunds.apply(change).await? {
                return self.ports.refunds.find(id).await?.ok_or(RefundError::NotFound);
            }
        }
        Err(RefundError::Contended)
    }

    /// What the money of `settled` (a refund now processed) going back
    /// writes beside it: its payment's guarded move, the refund journal
    /// and the events. Refused when it would take the refunded total above
    /// the amount paid (refunds made at the gateway took the room).
    fn settlement(&self, payment: &Payment, settled: &Refund, at: DateTime<Utc>) -> Result<Settlement, RefundError> {
        let refunded_after = payment.refunded_amount.checked_add(settled.amount).map_err(LedgerError::from)?;
        if refunded_after.compare(&payment.amount).map_err(LedgerError::from)? == std::cmp::Ordering::Greater {
            let refundable = payment.amount.checked_sub(payment.refunded_amount).map_err(LedgerError::from)?;
            return Err(RefundError::Refused(RefundPlanError::ExceedsRefundable { refundable }));
        }
        let full = refunded_after == payment.amount;
        let event = if full { PaymentEvent::RefundFully } else { PaymentEvent::RefundPartially };
        let to_status = match payment.status.apply(event).map_err(|_| RefundError::Contended)? {
            Transition::Changed(status) => status,
            Transition::Unchanged => payment.status,
        };
        let mut outbox = vec![self.event(EventType::RefundProcessed, settled.clone().into(), at)];
        if full {
            let after = Payment { status: to_status, refunded_amount: refunded_after, ..payment.clone() };
            outbox.push(self.event(EventType::PaymentRefunded, after.into(), at));
        }
        Ok(Settlement {
            payment: PaymentRefundUpdate {
                from: payment.status,
                refunded_before: payment.refunded_amount,
                to: to_status,
                refunded_after,
            },
            journal: refund_journal(JournalId::from_uuid(self.ports.ids.new_id()), payment, settled, at)?,
            outbox,
        })
    }

    /// Records the gateway's id of a refund it has not settled yet, so its
    /// webhook and the sweep can find it.
    async fn record_provider_id(
        &self,
        refund: &Refund,
        provider_refund_id: Option<String>,
    ) -> Result<Refund, RefundError> {
        let change = RefundChange {
            refund_id: refund.id,
            from: refund.status,
            to: refund.status,
            at: self.ports.clock.now(),
            provider_refund_id,
            rejection_reason: None,
            by: None,
            admin_note: None,
            payment: None,
            journal: None,
            outbox: Vec::new(),
        };
        self.ports.refunds.apply(change).await?;
        self.ports.refunds.find(refund.id).await?.ok_or(RefundError::NotFound)
    }

    /// A guarded change without money movement.
    async fn change(
        &self,
        id: RefundId,
        event: RefundEvent,
        fill: impl Fn(&mut RefundChange),
    ) -> Result<Refund, RefundError> {
        for _ in 0..CHANGE_ATTEMPTS {
            let refund = self.ports.refunds.find(id).await?.ok_or(RefundError::NotFound)?;
            let Some(to) = refund.status.apply(event)? else {
                return Ok(refund);
            };
            let mut change = RefundChange {
                refund_id: id,
                from: refund.status,
                to,
                at: self.ports.clock.now(),
                provider_refund_id: None,
                rejection_reason: None,
                by: None,
                admin_note: None,
                payment: None,
                journal: None,
                outbox: Vec::new(),
            };
            fill(&mut change);
            let announced = match to {
                RefundStatus::Approved => Some(EventType::RefundApproved),
                RefundStatus::Rejected => Some(EventType::RefundRejected),
                RefundStatus::Failed => Some(EventType::RefundFailed),
                // Processing is the gateway's business; processed is
                // announced by `settle`, with its money.
                RefundStatus::Requested | RefundStatus::Processing | RefundStatus::Processed => None,
            };
            if let Some(event_type) = announced {
                let after = change.applied_to(&refund);
                change.outbox.push(self.event(event_type, after.into(), change.at));
            }
            if self.ports.refunds.apply(change).await? {
                return self.ports.refunds.find(id).await?.ok_or(RefundError::NotFound);
            }
        }
        Err(RefundError::Contended)
    }

    fn event(&self, event_type: EventType, subject: EventSubject, at: chrono::DateTime<chrono::Utc>) -> OutboxEvent {
        OutboxEvent::new(EventId::from_uuid(self.ports.ids.new_id()), event_type, subject, at)
    }
}

/// What a processed refund writes beside it (see `RefundService::settlement`).
struct Settlement {
    /// Its payment's guarded move.
    payment: PaymentRefundUpdate,
    /// The refund journal.
    journal: crate::ledger::Journal,
    /// `refund.processed`, and `payment.refunded` when nothing is left.
    outbox: Vec<OutboxEvent>,
}
