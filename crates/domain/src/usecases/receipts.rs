//! Receipts and credit notes for their readers: the buyer and admins.
//! Numbering runs after the commits that made them (the worker's every
//! round), and at once when someone asks for one not numbered yet.

use std::sync::Arc;

use crate::ids::{PaymentId, RefundId};
use crate::ports::{Clock, DocumentState, PaymentRepository, ReceiptStore, RefundRepository, StoreError};
use crate::receipt::Receipt;
use crate::usecases::Actor;

/// Documents numbered per step.
pub const NUMBERING_BATCH: u32 = 500;

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// No such payment or refund, not the actor's, or it has no document.
    #[error("not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The ports receipts need.
#[derive(Clone)]
pub struct ReceiptPorts {
    /// The documents.
    pub receipts: Arc<dyn ReceiptStore>,
    /// Payments, to check who may read.
    pub payments: Arc<dyn PaymentRepository>,
    /// Refunds, to find a credit note's payment.
    pub refunds: Arc<dyn RefundRepository>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// Receipt use cases.
#[derive(Clone)]
pub struct ReceiptService {
    ports: ReceiptPorts,
}

impl ReceiptService {
    /// A service over `ports`.
    pub fn new(ports: ReceiptPorts) -> Self {
        Self { ports }
    }

    /// One numbering step (the worker's round): answers how many
    /// documents were numbered.
    pub async fn number_pending(&self) -> Result<u64, StoreError> {
        self.ports.receipts.number_pending(self.ports.clock.now(), NUMBERING_BATCH).await
    }

    /// The receipt of a payment, for its payer or an admin.
    pub async fn receipt(&self, actor: Actor, payment: PaymentId) -> Result<Receipt, ReceiptError> {
        self.readable(actor, payment).await?;
        self.issued_receipt(payment).await?.ok_or(ReceiptError::NotFound)
    }

    /// The receipt of a payment, for a reader a signed link admitted.
    pub async fn receipt_by_link(&self, payment: PaymentId) -> Result<Receipt, ReceiptError> {
        self.issued_receipt(payment).await?.ok_or(ReceiptError::NotFound)
    }

    /// The credit note of a refund, for its payment's payer or an admin.
    pub async fn credit_note(&self, actor: Actor, refund: RefundId) -> Result<Receipt, ReceiptError> {
        let found = self.ports.refunds.find(refund).await?.ok_or(ReceiptError::NotFound)?;
        self.readable(actor, found.payment_id).await?;
        self.issued_credit_note(refund).await?.ok_or(ReceiptError::NotFound)
    }

    /// A payment's receipt as issued (numbered now if it was still
    /// waiting); `None` when it has none. For Skillpay's own readers (the
    /// mail worker): no actor is checked.
    pub async fn issued_receipt(&self, payment: PaymentId) -> Result<Option<Receipt>, StoreError> {
        let state = self.ports.receipts.receipt_of(payment).await?;
        self.numbered_now(state, || self.ports.receipts.receipt_of(payment)).await
    }

    /// A refund's credit note as issued, like [`Self::issued_receipt`].
    pub async fn issued_credit_note(&self, refund: RefundId) -> Result<Option<Receipt>, StoreError> {
        let state = self.ports.receipts.credit_note_of(refund).await?;
        self.numbered_now(state, || self.ports.receipts.credit_note_of(refund)).await
    }

    /// The document `state` describes; one still waiting for its number is
    /// numbered now (with the others waiting before it) and read again.
    async fn numbered_now<F, Fut>(&self, state: DocumentState, read_again: F) -> Result<Option<Receipt>, StoreError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<DocumentState, StoreError>>,
    {
        let state = if state == DocumentState::Unnumbered {
            self.number_pending().await?;
            read_again().await?
        } else {
            state
        };
        Ok(match state {
            DocumentState::Issued(receipt) => Some(*receipt),
            DocumentState::None | DocumentState::Unnumbered => None,
        })
    }

    /// The payment exists and `actor` is its payer or an admin; anyone
    /// else learns nothing of it.
    async fn readable(&self, actor: Actor, payment: PaymentId) -> Result<(), ReceiptError> {
        let found = self.ports.payments.find(payment).await?.ok_or(ReceiptError::NotFound)?;
        if actor.is_admin() || found.user_id == actor.user_id { Ok(()) } else { Err(ReceiptError::NotFound) }
    }
}
