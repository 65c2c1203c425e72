//! Receipts and credit notes: accounting documents numbered without gaps
//! per series (see docs/receipts.md). A receipt is issued for every
//! completed payment, a credit note for every processed refund of a
//! payment with a receipt; both are numbered after the commit that made
//! them, in the order of the sales and refunds.

use chrono::{DateTime, Datelike, Utc};

use crate::ids::ReceiptId;
use crate::money::Money;
use crate::payment::Payment;
use crate::refund::Refund;

/// Which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum DocumentKind {
    /// For a completed payment.
    Receipt,
    /// For a processed refund, referring to its payment's receipt.
    CreditNote,
}

impl DocumentKind {
    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// The series a document is numbered in: per kind, mode and UTC year of
/// the sale or refund (`SK-2026`, `SK-TEST-2026`, `CN-2026`, ...).
pub fn series_of(kind: DocumentKind, livemode: bool, at: DateTime<Utc>) -> String {
    let prefix = match kind {
        DocumentKind::Receipt => "SK",
        DocumentKind::CreditNote => "CN",
    };
    let mode = if livemode { "" } else { "-TEST" };
    format!("{prefix}{mode}-{}", at.year())
}

/// A document's number as printed: its series and its place in it, with
/// at least six digits (`SK-2026-000123`).
pub fn number_text(series: &str, sequence: u64) -> String {
    format!("{series}-{sequence:06}")
}

/// A credit note as its receipt lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditNoteLine {
    /// Its number.
    pub number: String,
    /// What it credits.
    pub amount: Money,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
}

/// A numbered document with what it is about, as it stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Its id.
    pub id: ReceiptId,
    /// Receipt or credit note.
    pub kind: DocumentKind,
    /// Its number (`SK-2026-000123`).
    pub number: String,
    /// When it was numbered.
    pub issued_at: DateTime<Utc>,
    /// The payment, as it stands now (its refunded amount included).
    pub payment: Payment,
    /// The item's title in the catalog, when the catalog has the item.
    pub item_title: Option<String>,
    /// For a credit note: the refund it documents.
    pub refund: Option<Refund>,
    /// For a credit note: the number of the receipt it refers to.
    pub receipt_number: Option<String>,
    /// For a receipt: its credit notes so far, oldest first.
    pub credit_notes: Vec<CreditNoteLine>,
}

impl Receipt {
    /// Whether it is about test money.
    pub fn is_test(&self) -> bool {
        !self.payment.livemode
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_per_kind_mode_and_year_and_numbers_have_six_digits() {
        let at =
            DateTime::parse_from_rfc3339("2026-12-31T23:59:59Z").map(|d| d.with_timezone(&Utc)).unwrap_or_default();
        assert_eq!(series_of(DocumentKind::Receipt, true, at), "SK-2026");
        assert_eq!(series_of(DocumentKind::Receipt, false, at), "SK-TEST-2026");
        assert_eq!(series_of(DocumentKind::CreditNote, true, at + chrono::TimeDelta::seconds(1)), "CN-2027");
        assert_eq!(number_text("SK-2026", 123), "SK-2026-000123");
        assert_eq!(number_text("SK-2026", 1_234_567), "SK-2026-1234567");
        assert_eq!("credit_note".parse::<DocumentKind>().ok(), Some(DocumentKind::CreditNote));
    }
}
