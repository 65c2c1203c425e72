//! Port for receipts and credit notes: the numbering step after the
//! commits that made them, and reading them (see docs/receipts.md).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::ids::{PaymentId, RefundId};
use crate::receipt::Receipt;

/// Where a payment's receipt (or a refund's credit note) stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentState {
    /// None was made: the payment never completed (the refund was never
    /// processed, or its payment has no receipt).
    None,
    /// Made with its sale or refund, waiting for the numbering step.
    Unnumbered,
    /// Numbered and issued.
    Issued(Box<Receipt>),
}

/// Stores receipts and credit notes.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ReceiptStore: Send + Sync {
    /// Numbers up to `limit` unnumbered documents, oldest first and
    /// receipts before credit notes, one numberer at a time: adds their
    /// count to each series' counter, writes each number
    /// ([`crate::receipt::series_of`], [`crate::receipt::number_text`]) with
    /// `now` as its issue time and a `receipt.issued` or
    /// `credit_note.issued` event, all in one transaction. Answers how
    /// many were numbered.
    async fn number_pending(&self, now: DateTime<Utc>, limit: u32) -> Result<u64, StoreError>;
    /// A payment's receipt.
    async fn receipt_of(&self, payment: PaymentId) -> Result<DocumentState, StoreError>;
    /// A refund's credit note.
    async fn credit_note_of(&self, refund: RefundId) -> Result<DocumentState, StoreError>;
}
