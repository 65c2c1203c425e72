//! Skillpay's objects as JSON, one form of each: the API answers with it
//! and every outgoing event carries it as `data.object`, so a consumer that
//! reads an event and then the object sees the same fields.
//!
//! Amounts are strings with exactly the currency's minor digits next to a
//! `currency` code; ids carry their prefix (`pay_…`). The crate knows no
//! transport: `api-actix` sends these views, `adapters-postgres` stores them
//! in the outbox.
#![warn(missing_docs)]

mod approval;
mod coupon;
mod discrepancy;
mod dispute;
mod payment;
mod payout;
mod receipt;
mod refund;

use domain::outbox::EventSubject;
use serde::Serialize;
use serde_json::Value;

pub use approval::ApprovalView;
pub use coupon::CouponView;
pub use discrepancy::DiscrepancyView;
pub use dispute::DisputeView;
pub use payment::PaymentView;
pub use payout::PayoutView;
pub use receipt::{BuyerView, CreditNoteLineView, ItemView, ReceiptView};
pub use refund::RefundView;

/// A domain object with a JSON form.
pub trait Represented {
    /// Its JSON form's type.
    type View: Serialize + for<'a> From<&'a Self>;

    /// Its JSON form, as the API shows it.
    fn to_json(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(Self::View::from(self))
    }
}

impl Represented for domain::payment::Payment {
    type View = PaymentView;
}

impl Represented for domain::refund::Refund {
    type View = RefundView;
}

impl Represented for domain::dispute::Dispute {
    type View = DisputeView;
}

impl Represented for domain::payout::Payout {
    type View = PayoutView;
}

impl Represented for domain::coupon::Coupon {
    type View = CouponView;
}

impl Represented for domain::reconciliation::Discrepancy {
    type View = DiscrepancyView;
}

impl Represented for domain::approval::AwaitedApproval {
    type View = ApprovalView;
}

impl Represented for domain::receipt::Receipt {
    type View = ReceiptView;
}

/// The `data.object` of an event about `subject`.
pub fn event_object(subject: &EventSubject) -> Result<Value, serde_json::Error> {
    match subject {
        EventSubject::Payment(p) => p.to_json(),
        EventSubject::Refund(r) => r.to_json(),
        EventSubject::Dispute(d) => d.to_json(),
        EventSubject::Payout(p) => p.to_json(),
        EventSubject::Coupon(c) => c.to_json(),
        EventSubject::Discrepancy(d) => d.to_json(),
        EventSubject::Receipt(r) => r.to_json(),
        EventSubject::Approval(a) => a.to_json(),
    }
}
