//! Refund use cases: request (payer within the refund window, or an admin),
//! approve and send to the gateway, reject, read and list.
//!
//! Approval records the intent (`processing`) before calling the gateway,
//! outside any transaction, with the refund's id as the gateway's
//! idempotency key; approving again a refund left in `processing` (the
//! process died, or the gateway was down) asks the gateway again and can
//! never refund twice.

use std::sync::Arc;

use chrono::Duration;

use crate::ids::{EventId, JournalId, PaymentId, RefundId};
use crate::ledger::{LedgerError, refund_journal};
use crate::money::Money;
use crate::outbox::{EventType, OutboxEvent, payment_payload, refund_payload};
use crate::paging::Page;
use crate::payment::{Payment, PaymentEvent, Transition};
use crate::ports::{
    Clock, CreateRefundStoreError, GatewayError, GatewayRefundState, Gateways, IdGenerator, NewRefund,
    PaymentRefundUpdate, PaymentRepository, RefundChange, RefundQuery, RefundRepository, StoreError,
};
use crate::refund::{Refund, RefundEvent, RefundPlanError, RefundStatus, RefundTransitionError};
use crate::usecases::{Actor, Forbidden};

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
    /// Ledger construction failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Refund use cases.
#[derive(Clone)]
pub struct RefundService {
    ports: RefundPorts,
    window: Duration,
}

impl RefundService {
    /// A service; payers may ask within `window_days` of completion.
    pub fn new(ports: RefundPorts, window_days: i64) -> Self {
        Self { ports, window: Duration::days(window_days) }
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
        let request = NewRefund {
            id: RefundId::from_uuid(self.ports.ids.new_id()),
            payment_id,
            amount,
            reason,
            requested_by: actor.user_id,
            at: self.ports.clock.now(),
        };
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
        self.change(id, RefundEvent::Reject, |change| change.rejection_reason = Some(reason.clone())).await
    }

    /// Approves a refund and sends it to the gateway (admin). Approving one
    /// left in `processing` asks the gateway again (same idempotency key).
    pub async fn approve(&self, actor: Actor, id: RefundId) -> Result<Refund, RefundError> {
        actor.require_admin()?;
        self.change(id, RefundEvent::Approve, |_| {}).await?;
        let refund = self.change(id, RefundEvent::StartProcessing, |_| {}).await?;
        if refund.status != RefundStatus::Processing {
            return Ok(refund);
        }
        let payment = self.ports.payments.find(refund.payment_id).await?.ok_or(RefundError::NotFound)?;
        let outcome = match (&payment.provider_payment_id, self.ports.gateways.for_method(payment.method)) {
            (Some(provider_id), Some(gateway)) => gateway
                .refund(provider_id, refund.amount, &refund.id.to_string())
                .await
                .map_err(RefundError::Gateway)?,
            // Nothing was charged at a gateway for this payment.
            _ => return Err(RefundError::Gateway(GatewayError::UnknownPayment)),
        };
        let provider_refund_id = Some(outcome.provider_refund_id);
        match outcome.state {
            GatewayRefundState::Succeeded => self.settle(id, provider_refund_id).await,
            GatewayRefundState::Pending => Ok(refund),
            GatewayRefundState::Failed { .. } => {
                self.change(id, RefundEvent::Fail, |change| change.provider_refund_id = provider_refund_id.clone())
                    .await
            }
        }
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
            let refunded_after = payment.refunded_amount.checked_add(refund.amount).map_err(LedgerError::from)?;
            let full = refunded_after == payment.amount;
            let event = if full { PaymentEvent::RefundFully } else { PaymentEvent::RefundPartially };
            let to_status = match payment.status.apply(event).map_err(|_| RefundError::Contended)? {
                Transition::Changed(status) => status,
                Transition::Unchanged => payment.status,
            };
            let mut settled = refund.clone();
            settled.status = to;
            settled.provider_refund_id = provider_refund_id.clone().or(refund.provider_refund_id.clone());
            settled.processed_at = Some(at);
            let after = Payment { status: to_status, refunded_amount: refunded_after, ..payment.clone() };
            let mut outbox =
                vec![self.event(EventType::RefundProcessed, settled.id.to_string(), refund_payload(&settled), at)];
            if full {
                outbox.push(self.event(
                    EventType::PaymentRefunded,
                    payment.id.to_string(),
                    payment_payload(&after),
                    at,
                ));
            }
            let change = RefundChange {
                refund_id: id,
                from: refund.status,
                to,
                at,
                provider_refund_id: settled.provider_refund_id.clone(),
                rejection_reason: None,
                payment: Some(PaymentRefundUpdate {
                    from: payment.status,
                    refunded_before: payment.refunded_amount,
                    to: to_status,
                    refunded_after,
                }),
                journal: Some(refund_journal(JournalId::from_uuid(self.ports.ids.new_id()), &payment, &refund, at)?),
                outbox,
            };
            if self.ports.refunds.apply(change).await? {
                return self.ports.refunds.find(id).await?.ok_or(RefundError::NotFound);
            }
        }
        Err(RefundError::Contended)
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
                payment: None,
                journal: None,
                outbox: Vec::new(),
            };
            fill(&mut change);
            if self.ports.refunds.apply(change).await? {
                return self.ports.refunds.find(id).await?.ok_or(RefundError::NotFound);
            }
        }
        Err(RefundError::Contended)
    }

    fn event(
        &self,
        event_type: EventType,
        aggregate_id: String,
        payload: serde_json::Value,
        at: chrono::DateTime<chrono::Utc>,
    ) -> OutboxEvent {
        OutboxEvent {
            id: EventId::from_uuid(self.ports.ids.new_id()),
            event_type,
            aggregate_id,
            payload,
            created_at: at,
        }
    }
}
