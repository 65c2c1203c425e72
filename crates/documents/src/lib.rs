//! Receipts and credit notes for people (see docs/receipts.md): one
//! [`Sheet`] of labelled lines per document and locale, written as an HTML
//! page or a PDF. The e-mails and the API show the same sheet.
#![warn(missing_docs)]

mod html;
mod links;
mod locale;
mod pdf;

pub use html::html;
pub use links::ReceiptLinks;
pub use locale::{Labels, Locale};
pub use pdf::pdf;

use domain::catalog::ItemKind;
use domain::receipt::{DocumentKind, Receipt};

/// A document as it is shown: a title, a test-mode banner when about test
/// money, and labelled lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// "Receipt SK-2026-000123".
    pub title: String,
    /// Shown above everything for test money.
    pub banner: Option<String>,
    /// Label and value, in order.
    pub lines: Vec<(String, String)>,
    /// The language it is written in.
    pub locale: Locale,
}

/// The sheet of `receipt` in `locale`.
pub fn sheet(receipt: &Receipt, locale: Locale) -> Sheet {
    let words = locale.labels();
    let payment = &receipt.payment;
    let mut lines = Vec::new();
    let mut line = |label: &str, value: String| lines.push((label.to_owned(), value));
    let kind = match receipt.kind {
        DocumentKind::Receipt => words.receipt,
        DocumentKind::CreditNote => words.credit_note,
    };
    line(words.number, receipt.number.clone());
    line(words.issued, locale.date_time(receipt.issued_at));
    if let Some(number) = &receipt.receipt_number {
        line(words.refers_to, number.clone());
    }
    let buyer = [payment.billing.name.clone(), payment.billing.email.clone()].into_iter().flatten().collect::<Vec<_>>();
    let user = format!("{} {}", words.user, payment.user_id.get());
    line(words.buyer, if buyer.is_empty() { user } else { format!("{} ({user})", buyer.join(", ")) });
    let item_kind = match payment.item.kind {
        ItemKind::Course => words.course,
        ItemKind::Event => words.event,
    };
    let title = receipt.item_title.clone().map(|t| format!(": {t}")).unwrap_or_default();
    line(words.item, format!("{item_kind} {}{title}", payment.item.id));
    match (&receipt.kind, &receipt.refund) {
        (DocumentKind::CreditNote, Some(refund)) => {
            line(words.amount_paid, locale.money(payment.amount));
            line(words.amount_credited, locale.money(refund.amount));
            line(words.reason, refund.reason.clone());
        }
        _ => {
            line(words.list_price, locale.money(payment.original_amount));
            if !payment.discount_amount.is_zero() {
                let coupon = payment.coupon.as_ref().map(|c| format!(" ({} {})", words.coupon, c.code.as_str()));
                line(
                    words.discount,
                    format!("-{}{}", locale.money(payment.discount_amount), coupon.unwrap_or_default()),
                );
            }
            line(words.amount_paid, locale.money(payment.amount));
            line(words.payment_method, payment.method.as_str().to_owned());
            if let Some(paid) = payment.completed_at {
                line(words.paid_on, locale.date_time(paid));
            }
            if !payment.refunded_amount.is_zero() {
                line(words.refunded, locale.money(payment.refunded_amount));
            }
            for note in &receipt.credit_notes {
                let value =
                    format!("{} · {} · {}", note.number, locale.money(note.amount), locale.date(note.issued_at));
                line(words.credit_notes, value);
            }
        }
    }
    Sheet {
        title: format!("{kind} {}", receipt.number),
        banner: receipt.is_test().then(|| words.test_mode.to_owned()),
        lines,
        locale,
    }
}
