//! Builders of the aggregates for tests (the `mocks` feature): a sensible
//! value from `new()`, chained setters for what a test cares about, and
//! `build()`. A field added to an aggregate is added here once instead of
//! in every test that needs such a value.
//!
//! Defaults are fixed (ids, users, [`BUILT_AT`]) so that tests are
//! repeatable; amounts are USD unless set.
//!
//! ```
//! use domain::builders::PaymentBuilder;
//! use domain::money::{Currency, Money};
//! use domain::payment::PaymentStatus;
//!
//! let paid = PaymentBuilder::new().price(Money::from_minor(50_00, Currency::USD)).completed().build();
//! assert_eq!(paid.status, PaymentStatus::Completed);
//! assert_eq!(paid.platform_fee.to_major_string(), "10.00");
//! assert!(paid.amounts_add_up());
//! ```
// A builder given amounts that cannot add up (two currencies, a discount
// above the price) is a mistake in the test: it panics saying so.
#![allow(clippy::expect_used)]

use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::catalog::ItemRef;
use crate::coupon::{Coupon, CouponCode, Discount, NewCoupon, Targeting};
use crate::dispute::{Dispute, DisputeStatus};
use crate::ids::{CouponId, DisputeId, PaymentId, PayoutId, RefundId, UserId};
use crate::money::{Currency, FeeSplit, Money, Rate};
use crate::payment::{AppliedCoupon, BillingInfo, ClientInfo, Payment, PaymentMethod, PaymentStatus};
use crate::payout::{Payout, PayoutMethod, PayoutStatus};
use crate::refund::{Refund, RefundOrigin, RefundStatus};
use crate::usecases::payments::CreatePayment;

/// The creation time of every built value unless set: 2026-01-01 00:00 UTC.
pub const BUILT_AT: DateTime<Utc> = match DateTime::from_timestamp(1_767_225_600, 0) {
    Some(at) => at,
    None => DateTime::<Utc>::UNIX_EPOCH,
};

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

/// The platform fee unless set: the documented default of 20 %.
fn default_fee_rate() -> Rate {
    Rate::from_str("0.20").expect("0.20 is a rate")
}

/// How a built payment's platform fee is found.
#[derive(Debug, Clone, Copy)]
enum Fee {
    /// This share of the amount, rounded as the domain rounds it.
    Rate(Rate),
    /// Exactly this.
    Exact(Money),
}

/// Builds a [`Payment`]: by default a pending 49.99 USD sandbox payment by
/// user 1000 for course 1 of instructor 2000, 20 % to the platform, no
/// coupon and no gateway session yet. The amounts always add up: set the
/// price, the discount and the fee, and `build` derives the amount paid and
/// the instructor's earnings.
#[derive(Debug, Clone)]
pub struct PaymentBuilder {
    payment: Payment,
    fee: Fee,
}

impl Default for PaymentBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PaymentBuilder {
    /// The default payment.
    pub fn new() -> Self {
        let price = usd(49_99);
        let zero = Money::zero(Currency::USD);
        Self {
            payment: Payment {
                id: PaymentId::from_uuid(Uuid::from_u128(1)),
                user_id: UserId::new(1000),
                item: ItemRef::course(1),
                instructor_id: UserId::new(2000),
                status: PaymentStatus::Pending,
                method: PaymentMethod::Sandbox,
                provider_payment_id: None,
                original_amount: price,
                discount_amount: zero,
                amount: price,
                platform_fee: zero,
                instructor_earnings: price,
                refunded_amount: zero,
                livemode: true,
                gateway_fee: None,
                gateway_fee_bearer: None,
                fraud_review: false,
                risk: Default::default(),
                quantity: 1,
                one_per_buyer: false,
                coupon: None,
                billing: BillingInfo::default(),
                client: ClientInfo::default(),
                failure_reason: None,
                created_at: BUILT_AT,
                updated_at: BUILT_AT,
                completed_at: None,
            },
            fee: Fee::Rate(default_fee_rate()),
        }
    }

    /// Its id.
    pub fn id(mut self, id: PaymentId) -> Self {
        self.payment.id = id;
        self
    }

    /// Who pays.
    pub fn user(mut self, user: UserId) -> Self {
        self.payment.user_id = user;
        self
    }

    /// What is bought.
    pub fn item(mut self, item: ItemRef) -> Self {
        self.payment.item = item;
        self
    }

    /// Who earns from it.
    pub fn instructor(mut self, instructor: UserId) -> Self {
        self.payment.instructor_id = instructor;
        self
    }

    /// Its status (see also [`Self::completed`]).
    pub fn status(mut self, status: PaymentStatus) -> Self {
        self.payment.status = status;
        self
    }

    /// Completed when it was created.
    pub fn completed(mut self) -> Self {
        self.payment.status = PaymentStatus::Completed;
        self.payment.completed_at = Some(self.payment.created_at);
        self
    }

    /// How it is paid.
    pub fn method(mut self, method: PaymentMethod) -> Self {
        self.payment.method = method;
        self
    }

    /// The gateway's id for it.
    pub fn provider_payment_id(mut self, id: impl Into<String>) -> Self {
        self.payment.provider_payment_id = Some(id.into());
        self
    }

    /// The catalog price (its currency is the payment's); no discount
    /// unless [`Self::discount`] follows.
    pub fn price(mut self, price: Money) -> Self {
        self.payment.original_amount = price;
        self.payment.discount_amount = Money::zero(price.currency());
        self.payment.refunded_amount = Money::zero(price.currency());
        self
    }

    /// What a coupon took off the price.
    pub fn discount(mut self, discount: Money) -> Self {
        self.payment.discount_amount = discount;
        self
    }

    /// The coupon that gave the discount.
    pub fn coupon(mut self, coupon_id: CouponId, code: &str) -> Self {
        let code = CouponCode::parse(code).expect("a well-formed coupon code");
        self.payment.coupon = Some(AppliedCoupon { coupon_id, code });
        self
    }

    /// The platform's share of the amount paid (default 20 %).
    pub fn fee_rate(mut self, rate: Rate) -> Self {
        self.fee = Fee::Rate(rate);
        self
    }

    /// The platform's fee, exactly.
    pub fn platform_fee(mut self, fee: Money) -> Self {
        self.fee = Fee::Exact(fee);
        self
    }

    /// Refunded so far.
    pub fn refunded(mut self, refunded: Money) -> Self {
        self.payment.refunded_amount = refunded;
        self
    }

    /// Billing details.
    pub fn billing(mut self, billing: BillingInfo) -> Self {
        self.payment.billing = billing;
        self
    }

    /// Client IP and user agent.
    pub fn client(mut self, client: ClientInfo) -> Self {
        self.payment.client = client;
        self
    }

    /// Why it failed.
    pub fn failure_reason(mut self, reason: impl Into<String>) -> Self {
        self.payment.failure_reason = Some(reason.into());
        self
    }

    /// Created (and last changed) at.
    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.payment.created_at = at;
        self.payment.updated_at = at;
        self
    }

    /// Last changed at.
    pub fn updated_at(mut self, at: DateTime<Utc>) -> Self {
        self.payment.updated_at = at;
        self
    }

    /// Completed at.
    pub fn completed_at(mut self, at: DateTime<Utc>) -> Self {
        self.payment.completed_at = Some(at);
        self
    }

    /// The payment, its amount and split derived from price, discount and fee.
    pub fn build(self) -> Payment {
        let mut payment = self.payment;
        payment.amount = payment.original_amount.checked_sub(payment.discount_amount).expect("price and discount");
        let split = match self.fee {
            Fee::Rate(rate) => FeeSplit::of(payment.amount, rate).expect("a fee rate of the amount"),
            Fee::Exact(fee) => FeeSplit {
                platform_fee: fee,
                instructor_earnings: payment.amount.checked_sub(fee).expect("a fee in the payment's currency"),
            },
        };
        payment.platform_fee = split.platform_fee;
        payment.instructor_earnings = split.instructor_earnings;
        payment
    }
}

/// Builds a [`CreatePayment`]: by default course 1 with the sandbox, no
/// coupon, no billing or client details.
#[derive(Debug, Clone)]
pub struct CreatePaymentBuilder {
    command: CreatePayment,
}

impl Default for CreatePaymentBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl CreatePaymentBuilder {
    /// The default request.
    pub fn new() -> Self {
        Self {
            command: CreatePayment {
                item: ItemRef::course(1),
                quantity: 1,
                coupon_code: None,
                method: PaymentMethod::Sandbox,
                billing: BillingInfo::default(),
                client: ClientInfo::default(),
            },
        }
    }

    /// How many tickets.
    pub fn quantity(mut self, quantity: u32) -> Self {
        self.command.quantity = quantity;
        self
    }

    /// What to buy.
    pub fn item(mut self, item: ItemRef) -> Self {
        self.command.item = item;
        self
    }

    /// A coupon code to apply.
    pub fn coupon_code(mut self, code: &str) -> Self {
        self.command.coupon_code = Some(CouponCode::parse(code).expect("a well-formed coupon code"));
        self
    }

    /// How to pay.
    pub fn method(mut self, method: PaymentMethod) -> Self {
        self.command.method = method;
        self
    }

    /// Billing details.
    pub fn billing(mut self, billing: BillingInfo) -> Self {
        self.command.billing = billing;
        self
    }

    /// IP and user agent of the request.
    pub fn client(mut self, client: ClientInfo) -> Self {
        self.command.client = client;
        self
    }

    /// The request.
    pub fn build(self) -> CreatePayment {
        self.command
    }
}

/// Builds a [`Refund`]: by default a requested 10.00 USD refund of payment
/// 1 asked by user 1000, 2.00 of it platform fee.
#[derive(Debug, Clone)]
pub struct RefundBuilder {
    refund: Refund,
}

impl Default for RefundBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RefundBuilder {
    /// The default refund.
    pub fn new() -> Self {
        Self {
            refund: Refund {
                id: RefundId::from_uuid(Uuid::from_u128(0x2EF)),
                payment_id: PaymentId::from_uuid(Uuid::from_u128(1)),
                amount: usd(10_00),
                platform_fee_reversed: usd(2_00),
                status: RefundStatus::Requested,
                reason: "the course was not what I expected".to_owned(),
                rejection_reason: None,
                provider_refund_id: None,
                origin: RefundOrigin::Request,
                livemode: true,
                requested_by: Some(UserId::new(1000)),
                created_at: BUILT_AT,
                updated_at: BUILT_AT,
                processed_at: None,
                approved_by: None,
                approved_at: None,
                admin_note: None,
                gateway_fee_returned: None,
                payer_history: None,
                needs_two_admins: false,
            },
        }
    }

    /// Its id.
    pub fn id(mut self, id: RefundId) -> Self {
        self.refund.id = id;
        self
    }

    /// The payment refunded.
    pub fn payment(mut self, payment: PaymentId) -> Self {
        self.refund.payment_id = payment;
        self
    }

    /// How much goes back, and the platform fee part of it.
    pub fn amount(mut self, amount: Money, platform_fee_reversed: Money) -> Self {
        self.refund.amount = amount;
        self.refund.platform_fee_reversed = platform_fee_reversed;
        self
    }

    /// Its status.
    pub fn status(mut self, status: RefundStatus) -> Self {
        self.refund.status = status;
        self
    }

    /// Why it was asked for.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.refund.reason = reason.into();
        self
    }

    /// Why it was rejected.
    pub fn rejection_reason(mut self, reason: impl Into<String>) -> Self {
        self.refund.rejection_reason = Some(reason.into());
        self
    }

    /// The gateway's id for it.
    pub fn provider_refund_id(mut self, id: impl Into<String>) -> Self {
        self.refund.provider_refund_id = Some(id.into());
        self
    }

    /// Who asked.
    pub fn requested_by(mut self, user: UserId) -> Self {
        self.refund.requested_by = Some(user);
        self
    }

    /// Made at the gateway: no requester.
    pub fn from_gateway(mut self) -> Self {
        self.refund.origin = RefundOrigin::Gateway;
        self.refund.requested_by = None;
        self
    }

    /// Asked (and last changed) at.
    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.refund.created_at = at;
        self.refund.updated_at = at;
        self
    }

    /// Money went back at.
    pub fn processed_at(mut self, at: DateTime<Utc>) -> Self {
        self.refund.processed_at = Some(at);
        self
    }

    /// The refund.
    pub fn build(self) -> Refund {
        self.refund
    }
}

/// Builds a [`Payout`]: by default a requested 50.00 USD bank transfer to
/// instructor 2000.
#[derive(Debug, Clone)]
pub struct PayoutBuilder {
    payout: Payout,
}

impl Default for PayoutBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PayoutBuilder {
    /// The default payout.
    pub fn new() -> Self {
        Self {
            payout: Payout {
                id: PayoutId::from_uuid(Uuid::from_u128(0xB0)),
                instructor_id: UserId::new(2000),
                amount: usd(50_00),
                method: PayoutMethod::BankTransfer,
                status: PayoutStatus::Requested,
                destination_masked: "DE89 **** 3000".to_owned(),
                transaction_id: None,
                failure_reason: None,
                created_at: BUILT_AT,
                updated_at: BUILT_AT,
                paid_at: None,
                approved_by: None,
                approved_at: None,
                admin_note: None,
                livemode: true,
            },
        }
    }

    /// Its id.
    pub fn id(mut self, id: PayoutId) -> Self {
        self.payout.id = id;
        self
    }

    /// Who is paid.
    pub fn instructor(mut self, instructor: UserId) -> Self {
        self.payout.instructor_id = instructor;
        self
    }

    /// How much.
    pub fn amount(mut self, amount: Money) -> Self {
        self.payout.amount = amount;
        self
    }

    /// How, and where to (masked).
    pub fn method(mut self, method: PayoutMethod, destination_masked: impl Into<String>) -> Self {
        self.payout.method = method;
        self.payout.destination_masked = destination_masked.into();
        self
    }

    /// Its status.
    pub fn status(mut self, status: PayoutStatus) -> Self {
        self.payout.status = status;
        self
    }

    /// The gateway's transfer id or the bank reference.
    pub fn transaction_id(mut self, id: impl Into<String>) -> Self {
        self.payout.transaction_id = Some(id.into());
        self
    }

    /// Why it failed or was rejected.
    pub fn failure_reason(mut self, reason: impl Into<String>) -> Self {
        self.payout.failure_reason = Some(reason.into());
        self
    }

    /// Asked (and last changed) at.
    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.payout.created_at = at;
        self.payout.updated_at = at;
        self
    }

    /// Paid at.
    pub fn paid_at(mut self, at: DateTime<Utc>) -> Self {
        self.payout.paid_at = Some(at);
        self
    }

    /// The payout.
    pub fn build(self) -> Payout {
        self.payout
    }
}

/// Builds a [`Dispute`]: by default a `needs_response` dispute `dp_1` of
/// 49.99 USD (9.99 of it platform fee) over payment 1, reason `fraudulent`.
#[derive(Debug, Clone)]
pub struct DisputeBuilder {
    dispute: Dispute,
}

impl Default for DisputeBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl DisputeBuilder {
    /// The default dispute.
    pub fn new() -> Self {
        Self {
            dispute: Dispute {
                id: DisputeId::from_uuid(Uuid::from_u128(0xD1)),
                payment_id: PaymentId::from_uuid(Uuid::from_u128(1)),
                provider_dispute_id: "dp_1".to_owned(),
                amount: usd(49_99),
                fee_held: usd(9_99),
                reason: "fraudulent".to_owned(),
                status: DisputeStatus::NeedsResponse,
                evidence_due_by: None,
                created_at: BUILT_AT,
                updated_at: BUILT_AT,
                resolved_at: None,
                livemode: true,
            },
        }
    }

    /// Its id.
    pub fn id(mut self, id: DisputeId) -> Self {
        self.dispute.id = id;
        self
    }

    /// The disputed payment.
    pub fn payment(mut self, payment: PaymentId) -> Self {
        self.dispute.payment_id = payment;
        self
    }

    /// The gateway's id.
    pub fn provider_dispute_id(mut self, id: impl Into<String>) -> Self {
        self.dispute.provider_dispute_id = id.into();
        self
    }

    /// The disputed amount and the platform fee part of it.
    pub fn amount(mut self, amount: Money, fee_held: Money) -> Self {
        self.dispute.amount = amount;
        self.dispute.fee_held = fee_held;
        self
    }

    /// The gateway's reason code.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.dispute.reason = reason.into();
        self
    }

    /// Its status.
    pub fn status(mut self, status: DisputeStatus) -> Self {
        self.dispute.status = status;
        self
    }

    /// When evidence is due.
    pub fn evidence_due_by(mut self, at: DateTime<Utc>) -> Self {
        self.dispute.evidence_due_by = Some(at);
        self
    }

    /// Opened (and last changed) at.
    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.dispute.created_at = at;
        self.dispute.updated_at = at;
        self
    }

    /// Decided at.
    pub fn resolved_at(mut self, at: DateTime<Utc>) -> Self {
        self.dispute.resolved_at = Some(at);
        self
    }

    /// The dispute.
    pub fn build(self) -> Dispute {
        self.dispute
    }
}

/// Builds a [`Coupon`] as stored, or the [`NewCoupon`] that defines it: by
/// default an active `SPRING25` taking 25 % off everything, without limits,
/// dates or uses.
#[derive(Debug, Clone)]
pub struct CouponBuilder {
    coupon: Coupon,
}

impl Default for CouponBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl CouponBuilder {
    /// The default coupon.
    pub fn new() -> Self {
        Self {
            coupon: Coupon {
                id: CouponId::from_uuid(Uuid::from_u128(0xC0)),
                code: CouponCode::parse("SPRING25").expect("a well-formed coupon code"),
                discount: Discount::Percentage { rate: Rate::from_str("0.25").expect("a rate"), max_discount: None },
                currency: None,
                min_order_amount: None,
                max_uses: None,
                max_uses_per_user: None,
                valid_from: None,
                expires_at: None,
                targeting: Targeting::default(),
                is_active: true,
                times_used: 0,
                created_at: BUILT_AT,
            },
        }
    }

    /// The coupon a store holds for `definition`, no use taken yet.
    pub fn from_definition(definition: NewCoupon) -> Self {
        Self {
            coupon: Coupon {
                id: definition.id,
                code: definition.code,
                discount: definition.discount,
                currency: definition.currency,
                min_order_amount: definition.min_order_amount,
                max_uses: definition.max_uses,
                max_uses_per_user: definition.max_uses_per_user,
                valid_from: definition.valid_from,
                expires_at: definition.expires_at,
                targeting: definition.targeting,
                is_active: definition.is_active,
                times_used: 0,
                created_at: definition.created_at,
            },
        }
    }

    /// Its id.
    pub fn id(mut self, id: CouponId) -> Self {
        self.coupon.id = id;
        self
    }

    /// Its code.
    pub fn code(mut self, code: &str) -> Self {
        self.coupon.code = CouponCode::parse(code).expect("a well-formed coupon code");
        self
    }

    /// What it takes off; the coupon's currency becomes that of a fixed
    /// amount or a cap (none for a plain percentage).
    pub fn discount(mut self, discount: Discount) -> Self {
        self.coupon.currency = match &discount {
            Discount::Fixed { amount } => Some(amount.currency()),
            Discount::Percentage { max_discount, .. } => max_discount.map(|cap| cap.currency()),
        };
        self.coupon.discount = discount;
        self
    }

    /// The currency of its amounts, whatever the discount says.
    pub fn currency(mut self, currency: Option<Currency>) -> Self {
        self.coupon.currency = currency;
        self
    }

    /// The smallest price it applies to.
    pub fn min_order_amount(mut self, amount: Money) -> Self {
        self.coupon.min_order_amount = Some(amount);
        self
    }

    /// Uses allowed in all.
    pub fn max_uses(mut self, uses: Option<u32>) -> Self {
        self.coupon.max_uses = uses;
        self
    }

    /// Uses allowed per user.
    pub fn max_uses_per_user(mut self, uses: Option<u32>) -> Self {
        self.coupon.max_uses_per_user = uses;
        self
    }

    /// Valid from this time.
    pub fn valid_from(mut self, at: DateTime<Utc>) -> Self {
        self.coupon.valid_from = Some(at);
        self
    }

    /// Expires at this time.
    pub fn expires_at(mut self, at: DateTime<Utc>) -> Self {
        self.coupon.expires_at = Some(at);
        self
    }

    /// The items it applies to.
    pub fn targeting(mut self, targeting: Targeting) -> Self {
        self.coupon.targeting = targeting;
        self
    }

    /// Switched off.
    pub fn inactive(mut self) -> Self {
        self.coupon.is_active = false;
        self
    }

    /// Uses taken so far.
    pub fn times_used(mut self, uses: u32) -> Self {
        self.coupon.times_used = uses;
        self
    }

    /// Created at.
    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.coupon.created_at = at;
        self
    }

    /// The coupon as stored.
    pub fn build(self) -> Coupon {
        self.coupon
    }

    /// The definition an admin gives to create this coupon (uses aside).
    pub fn build_new(self) -> NewCoupon {
        let c = self.coupon;
        NewCoupon {
            id: c.id,
            code: c.code,
            discount: c.discount,
            currency: c.currency,
            min_order_amount: c.min_order_amount,
            max_uses: c.max_uses,
            max_uses_per_user: c.max_uses_per_user,
            valid_from: c.valid_from,
            expires_at: c.expires_at,
            targeting: c.targeting,
            is_active: c.is_active,
            created_at: c.created_at,
        }
    }
}

/// A test-mode gateway for `method` whose payment side only answers its
/// method: add the mocked capability the test is about, e.g.
/// `Gateways::new().register(gateway(PaymentMethod::Stripe).refunds(Arc::new(refunds)))`.
pub fn gateway(method: PaymentMethod) -> crate::ports::GatewayDescriptor {
    let mut payments = crate::ports::MockPaymentGateway::new();
    payments.expect_method().return_const(method);
    crate::ports::GatewayDescriptor::new(crate::gateway_config::GatewayMode::Test, std::sync::Arc::new(payments))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_built_payment_derives_its_amounts_from_price_discount_and_fee() {
        let payment = PaymentBuilder::new().price(usd(50_00)).discount(usd(10_00)).build();
        assert_eq!(
            (payment.amount, payment.platform_fee, payment.instructor_earnings),
            (usd(40_00), usd(8_00), usd(32_00))
        );
        assert!(payment.amounts_add_up());

        let yen = Money::from_minor(500, Currency::JPY);
        let exact = PaymentBuilder::new().price(yen).platform_fee(Money::from_minor(7, Currency::JPY)).build();
        assert_eq!(exact.instructor_earnings, Money::from_minor(493, Currency::JPY));
        assert_eq!(exact.refunded_amount, Money::zero(Currency::JPY));
        assert!(exact.amounts_add_up());
    }

    #[test]
    fn the_default_values_hold_their_own_rules() {
        assert!(PaymentBuilder::new().build().amounts_add_up());
        let completed = PaymentBuilder::new().completed().build();
        assert_eq!(completed.completed_at, Some(BUILT_AT));
        let refund = RefundBuilder::new().build();
        assert_eq!(refund.earnings_reversed().unwrap(), usd(8_00));
        let coupon = CouponBuilder::new().discount(Discount::Fixed { amount: usd(5_00) }).build_new();
        assert_eq!((coupon.currency, coupon.check()), (Some(Currency::USD), Ok(())));
    }
}
