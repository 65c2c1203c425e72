//! Incoming gateway webhooks: verify, log once per (gateway, event id),
//! act, acknowledge.
//!
//! A verified event is not trusted for its amounts or status: for a payment
//! event the payment's state is re-read from the gateway and applied through
//! the same path as confirmation and reconciliation. A forged-but-signed or
//! stale event therefore cannot move money the gateway does not confirm,
//! and events arriving in any order end in the gateway's current state.
//!
//! The state change and the log's `processed` mark are two commits. That is
//! safe because every state change is idempotent (a repeat is a no-op): if
//! the process dies between them, the redelivered event changes nothing and
//! is then marked.

use std::sync::Arc;

use crate::payment::PaymentMethod;
use crate::ports::GatewayError;
use crate::ports::{
    ReplayClaim, StoreError, WebhookAction, WebhookClaim, WebhookError, WebhookLog, WebhookLogId, WebhookRequest,
    WebhookVerifiers,
};
use crate::usecases::disputes::{DisputeError, DisputeService};
use crate::usecases::payments::PaymentService;
use crate::usecases::payouts::PayoutService;
use crate::usecases::refunds::{GatewayRefundSync, RefundService};
use crate::usecases::settlement::SettlementService;
use crate::usecases::{Actor, Forbidden};

/// What happened to a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Acted on (or nothing to do) and marked processed.
    Processed,
    /// Seen and processed before: acknowledged without reprocessing.
    Duplicate,
    /// Another delivery of the same event is being processed.
    InProgress,
}

/// Why a webhook was not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandleWebhookError {
    /// The gateway's webhooks are not configured: fail closed.
    #[error("webhooks from this gateway are not configured")]
    NotConfigured,
    /// Signature or body refused; nothing was written.
    #[error(transparent)]
    Rejected(WebhookError),
    /// Verification needs the gateway, which is unavailable; retry.
    #[error("webhook verification unavailable")]
    VerificationUnavailable,
    /// Logged, but acting on it failed; the error is on the log row and the
    /// gateway should deliver it again.
    #[error("processing failed: {0}")]
    ProcessingFailed(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a logged webhook could not be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayWebhookError {
    /// Only admins may.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No such log row.
    #[error("webhook not found")]
    NotFound,
    /// The gateway's webhooks are no longer configured.
    #[error("webhooks from this gateway are not configured")]
    NotConfigured,
    /// Acting on it failed again; the error is on the log row.
    #[error("processing failed: {0}")]
    ProcessingFailed(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Webhook use cases.
#[derive(Clone)]
pub struct WebhookService {
    verifiers: WebhookVerifiers,
    log: Arc<dyn WebhookLog>,
    payments: PaymentService,
    refunds: RefundService,
    disputes: DisputeService,
    payouts: PayoutService,
    settlement: Option<SettlementService>,
}

impl WebhookService {
    /// A service for the given verifiers (one per gateway): a list, or a
    /// `Gateways` registry whose verifiers are looked up at each webhook,
    /// so a replaced gateway's new secrets apply to the next one.
    pub fn new(
        verifiers: impl Into<WebhookVerifiers>,
        log: Arc<dyn WebhookLog>,
        payments: PaymentService,
        refunds: RefundService,
        disputes: DisputeService,
        payouts: PayoutService,
    ) -> Self {
        let verifiers = verifiers.into();
        Self { verifiers, log, payments, refunds, disputes, payouts, settlement: None }
    }

    /// Records the gateways' payouts to the platform's bank their events
    /// announce (without it those events are acknowledged only).
    pub fn with_settlement(mut self, settlement: SettlementService) -> Self {
        self.settlement = Some(settlement);
        self
    }

    /// Verifies, logs and acts on one delivery from `provider`.
    pub async fn handle(
        &self,
        provider: PaymentMethod,
        request: WebhookRequest,
    ) -> Result<WebhookOutcome, HandleWebhookError> {
        let verifier = self.verifiers.get(&provider).ok_or(HandleWebhookError::NotConfigured)?;
        let event = verifier.verify(&request).await.map_err(|e| match e {
            WebhookError::NotConfigured => HandleWebhookError::NotConfigured,
            WebhookError::Unavailable(_) => HandleWebhookError::VerificationUnavailable,
            other => HandleWebhookError::Rejected(other),
        })?;
        let action = event.action.clone();
        let log_id = match self.log.record(event).await? {
            WebhookClaim::AlreadyProcessed => return Ok(WebhookOutcome::Duplicate),
            WebhookClaim::InProgress => return Ok(WebhookOutcome::InProgress),
            WebhookClaim::Process(id) => id,
        };
        match self.act(provider, action).await {
            Ok(Acted::Done) => {
                self.log.mark_processed(log_id).await?;
                Ok(WebhookOutcome::Processed)
            }
            Ok(Acted::NeedsAttention(note)) => {
                self.log.mark_needs_attention(log_id, note).await?;
                Ok(WebhookOutcome::Processed)
            }
            Err(error) => {
                self.log.mark_failed(log_id, error.clone()).await?;
                Err(HandleWebhookError::ProcessingFailed(error))
            }
        }
    }

    /// Acts again on a logged webhook (admins): its action is read from
    /// the stored event and, like every webhook action, re-reads the
    /// object's state from the gateway, so a replay of a processed event
    /// changes nothing that is already right. Used when processing failed
    /// for a reason since fixed, or to pull a gateway's state once more.
    pub async fn replay(&self, actor: Actor, id: WebhookLogId) -> Result<WebhookOutcome, ReplayWebhookError> {
        actor.require_admin()?;
        let stored = match self.log.claim_for_replay(id).await?.ok_or(ReplayWebhookError::NotFound)? {
            ReplayClaim::InProgress => return Ok(WebhookOutcome::InProgress),
            ReplayClaim::Claimed(stored) => stored,
        };
        let outcome = match self.verifiers.get(&stored.provider) {
            None => Err(ReplayWebhookError::NotConfigured),
            Some(verifier) => match verifier.read_stored(&stored.payload) {
                Ok(action) => self.act(stored.provider, action).await.map_err(ReplayWebhookError::ProcessingFailed),
                Err(e) => Err(ReplayWebhookError::ProcessingFailed(e.to_string())),
            },
        };
        match outcome {
            Ok(Acted::Done) => {
                self.log.mark_processed(stored.id).await?;
                Ok(WebhookOutcome::Processed)
            }
            Ok(Acted::NeedsAttention(note)) => {
                self.log.mark_needs_attention(stored.id, note).await?;
                Ok(WebhookOutcome::Processed)
            }
            Err(error) => {
                self.log.mark_failed(stored.id, error.to_string()).await?;
                Err(error)
            }
        }
    }

    async fn act(&self, provider: PaymentMethod, action: WebhookAction) -> Result<Acted, String> {
        let (provider_payment_id, capture) = match action {
            WebhookAction::Ignore => return Ok(Acted::Done),
            WebhookAction::SyncDispute { provider_dispute_id } => {
                // A dispute about a payment we did not make (or one the
                // gateway does not show us) is acknowledged, not retried.
                return match self.disputes.sync(provider, &provider_dispute_id).await {
                    Ok(_) | Err(DisputeError::Gateway(GatewayError::UnknownPayment)) => Ok(Acted::Done),
                    Err(e) => Err(e.to_string()),
                };
            }
            WebhookAction::SyncRefund { provider_refund_id } => {
                // A refund made outside Skillpay (in the gateway's
                // dashboard) is recorded from the gateway's list.
                return self
                    .refunds
                    .sync_refund_event(provider, &provider_refund_id)
                    .await
                    .map(Acted::from)
                    .map_err(|e| e.to_string());
            }
            WebhookAction::SyncPaymentRefunds { provider_payment_id } => {
                return self
                    .refunds
                    .sync_payment_refunds(provider, &provider_payment_id)
                    .await
                    .map(Acted::from)
                    .map_err(|e| e.to_string());
            }
            WebhookAction::SyncPayout { method, provider_payout_id } => {
                // A payout sent outside Skillpay is acknowledged and left alone.
                return self
                    .payouts
                    .sync_by_transaction_id(method, &provider_payout_id)
                    .await
                    .map(|_| Acted::Done)
                    .map_err(|e| e.to_string());
            }
            WebhookAction::SyncBankPayout { provider_payout_id } => {
                let Some(settlement) = &self.settlement else {
                    return Ok(Acted::Done);
                };
                return settlement
                    .follow_bank_payout(provider, &provider_payout_id)
                    .await
                    .map(|_| Acted::Done)
                    .map_err(|e| e.to_string());
            }
            WebhookAction::SyncPayment { provider_payment_id } => (provider_payment_id, false),
            WebhookAction::CapturePayment { provider_payment_id } => (provider_payment_id, true),
        };
        let payment =
            self.payments.find_by_provider_id(provider, &provider_payment_id).await.map_err(|e| e.to_string())?;
        // An event about a payment we did not create (another integration on
        // the same account) is acknowledged and left alone.
        let Some(payment) = payment else {
            return Ok(Acted::Done);
        };
        let result = if capture {
            self.payments.capture_read(payment).await
        } else {
            self.payments.reconcile_read(payment).await
        };
        result.map(|_| Acted::Done).map_err(|e| e.to_string())
    }
}

/// What acting on a webhook came to.
enum Acted {
    /// Done (or nothing to do).
    Done,
    /// Acknowledged, but a person must look at it.
    NeedsAttention(String),
}

impl From<GatewayRefundSync> for Acted {
    fn from(sync: GatewayRefundSync) -> Self {
        if sync.needs_attention.is_empty() {
            Acted::Done
        } else {
            Acted::NeedsAttention(sync.needs_attention.join("; "))
        }
    }
}
