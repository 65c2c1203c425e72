//! Payment use cases: create (price from the catalog, coupon reserved,
//! free payments completed at once), confirm, complete, fail, cancel, expire,
//! read and list.
//!
//! Gateways are called outside any storage transaction: the pending payment
//! is stored first (the intent), then the gateway is called, then its answer
//! is recorded. Each step can be resumed if the process dies between them: a
//! pending payment nobody confirms expires and gives its coupon use back.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::catalog::{Availability, ItemRef};
use crate::coupon::{CouponCode, CouponContext, CouponRejection, NewRedemption, RedemptionStatus};
use crate::gateway_config::GatewayMode;
use crate::ids::{EventId, JournalId, PaymentId, RedemptionId, UserId};
use crate::ledger::{LedgerError, sale_journal};
use crate::money::{FeeSplit, Money, MoneyError, Rate};
use crate::outbox::{EventType, OutboxEvent};
use crate::paging::Page;
use crate::payment::{
    AppliedCoupon, BillingInfo, ClientInfo, Payment, PaymentEvent, PaymentMethod, PaymentStatus, Transition,
    TransitionError,
};
use crate::ports::{
    Catalog, ChangeOutcome, Clock, CouponRepository, CreatePaymentStoreError, GatewayError, GatewayOutcome, Gateways,
    IdGenerator, NewPayment, NextAction, PaymentChange, PaymentQuery, PaymentRepository, RedemptionChange, SeatRequest,
    StoreError, TestModeNotAllowed,
};
use crate::usecases::Actor;
use crate::usecases::refunds::RefundService;

mod gateway_fees;
mod recovery;

/// How often a status change is retried when another writer moved the
/// payment first (each retry re-reads and re-decides).
const STATUS_CHANGE_ATTEMPTS: usize = 3;

/// Fee and amount rules.
#[derive(Debug, Clone)]
pub struct PaymentPolicy {
    /// The platform's share of every sale (20 % by default).
    pub platform_fee_rate: Rate,
    /// Per-instructor fee rates that replace the default.
    pub instructor_fee_rates: HashMap<UserId, Rate>,
    /// The largest price accepted per currency; a currency without one is
    /// not accepted.
    pub max_amount: crate::per_currency::PerCurrency,
    /// Who bears the gateways' processing fees.
    pub gateway_fee_bearer: crate::ledger::FeeBearer,
}

impl PaymentPolicy {
    /// The fee rate for an instructor.
    pub fn fee_rate_for(&self, instructor: UserId) -> Rate {
        self.instructor_fee_rates.get(&instructor).copied().unwrap_or(self.platform_fee_rate)
    }

    /// True when `amount` is above the configured maximum.
    pub fn exceeds_maximum(&self, amount: Money) -> bool {
        self.max_amount.money(amount.currency()).is_none_or(|limit| amount.minor() > limit.minor())
    }
}

/// The ports the payment use cases need.
#[derive(Clone)]
pub struct PaymentPorts {
    /// Payment storage.
    pub payments: Arc<dyn PaymentRepository>,
    /// Coupon storage.
    pub coupons: Arc<dyn CouponRepository>,
    /// The price authority.
    pub catalog: Arc<dyn Catalog>,
    /// Configured gateways.
    pub gateways: Gateways,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Ids.
    pub ids: Arc<dyn IdGenerator>,
}

/// A student's request to buy something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePayment {
    /// What to buy.
    pub item: ItemRef,
    /// How many tickets (1 for a course).
    pub quantity: u32,
    /// A coupon to apply.
    pub coupon_code: Option<CouponCode>,
    /// How to pay.
    pub method: PaymentMethod,
    /// Billing details.
    pub billing: BillingInfo,
    /// IP and user agent of the request.
    pub client: ClientInfo,
}

/// A created payment and what the client must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentWithAction {
    /// The payment as stored.
    pub payment: Payment,
    /// The client's next step.
    pub next_action: NextAction,
    /// Whether this is the buyer's open payment for the item, found
    /// instead of making another.
    pub reused: bool,
}

/// Why a payment could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreatePaymentError {
    /// The catalog has no such course or event.
    #[error("no such course or event")]
    ItemNotFound,
    /// The item is not on sale.
    #[error("this course or event is not on sale")]
    ItemInactive,
    /// The item's price is above the configured maximum.
    #[error("the price is above the accepted maximum")]
    AmountTooLarge,
    /// The quantity is not 1 to the item's tickets per buyer.
    #[error("quantity must be 1 to {0}")]
    InvalidQuantity(u32),
    /// The buyer holds the item already (a payment for it paid and not
    /// wholly refunded): this one.
    #[error("you have bought this already")]
    AlreadyPurchased(PaymentId),
    /// Fewer seats are left than asked for.
    #[error("sold out")]
    SoldOut,
    /// The buyer's tickets would exceed the event's limit per buyer.
    #[error("at most {0} tickets per buyer")]
    TicketLimit(u32),
    /// The coupon does not apply.
    #[error(transparent)]
    Coupon(CouponRejection),
    /// No gateway is configured for the method.
    #[error("payment method {0:?} is not available")]
    MethodUnavailable(PaymentMethod),
    /// The method's gateway is in test mode, a live one is served too, and
    /// the actor may not use test mode: nothing was written.
    #[error(transparent)]
    TestModeNotAllowed(#[from] TestModeNotAllowed),
    /// The fraud rules or the block list refused the attempt: nothing was
    /// stored and no gateway was called. The reasons are recorded for the
    /// admins, never told to the payer.
    #[error("the payment was refused")]
    RefusedByRules,
    /// The gateway failed; the payment was marked failed and its coupon use
    /// given back.
    #[error(transparent)]
    Gateway(GatewayError),
    /// Amount arithmetic failed.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// Ledger construction failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a status change failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangePaymentError {
    /// No such payment (or not the actor's).
    #[error("payment not found")]
    NotFound,
    /// The payment's status does not allow it.
    #[error(transparent)]
    Illegal(#[from] TransitionError),
    /// The payment has no gateway session to act on.
    #[error("the payment has no gateway session")]
    NoGatewaySession,
    /// No gateway is configured for the payment's method.
    #[error("payment method {0:?} is not available")]
    MethodUnavailable(PaymentMethod),
    /// The gateway failed.
    #[error(transparent)]
    Gateway(GatewayError),
    /// Other writers kept moving the payment.
    #[error("the payment is changing concurrently; retry")]
    Contended,
    /// The fraud rules or the block list refused the card; the payment
    /// stays open for another.
    #[error("the payment was refused by the fraud rules")]
    RefusedByRules,
    /// Ledger construction failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one pass over expired review holds did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpiredHolds {
    /// Payments refunded (or sent to be refunded).
    pub refunded: usize,
    /// Payments whose refund failed, with why; tried again next time.
    pub failed: Vec<(PaymentId, String)>,
}

/// Payment use cases.
#[derive(Clone)]
pub struct PaymentService {
    ports: PaymentPorts,
    policy: PaymentPolicy,
    /// Refunds in full a payment paid after it was given up that cannot
    /// be delivered (see `recovery`); without it such a payment is only
    /// completed and listed as needing attention.
    recovery_refunds: Option<RefundService>,
    /// How unpaid payments may hold limited coupons' uses.
    coupon_holds: crate::coupon::CouponHoldPolicy,
    /// Screens each attempt against the fraud rules and block list; none
    /// screens nothing.
    fraud: Option<Arc<dyn crate::ports::FraudStore>>,
}

impl PaymentService {
    /// A service over the given ports and policy.
    pub fn new(ports: PaymentPorts, policy: PaymentPolicy) -> Self {
        Self {
            ports,
            policy,
            recovery_refunds: None,
            coupon_holds: crate::coupon::CouponHoldPolicy::default(),
            fraud: None,
        }
    }

    /// The same service, refunding undeliverable recovered payments
    /// through `refunds`.
    pub fn with_recovery_refunds(self, refunds: RefundService) -> Self {
        Self { recovery_refunds: Some(refunds), ..self }
    }

    /// This service with `holds` instead of the default coupon holds.
    pub fn with_coupon_holds(self, holds: crate::coupon::CouponHoldPolicy) -> Self {
        Self { coupon_holds: holds, ..self }
    }

    /// This service screening every attempt with `store` (see
    /// [`crate::fraud`]).
    pub fn with_fraud_screening(self, store: Arc<dyn crate::ports::FraudStore>) -> Self {
        Self { fraud: Some(store), ..self }
    }

    /// How unpaid payments may hold limited coupons' uses.
    pub fn coupon_holds(&self) -> crate::coupon::CouponHoldPolicy {
        self.coupon_holds
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now()
    }

    pub(crate) fn payments(&self) -> &Arc<dyn PaymentRepository> {
        &self.ports.payments
    }

    pub(crate) fn coupons(&self) -> &Arc<dyn CouponRepository> {
        &self.ports.coupons
    }

    pub(crate) fn gateway_for(&self, method: PaymentMethod) -> Option<Arc<dyn crate::ports::PaymentGateway>> {
        self.ports.gateways.for_method(method)
    }

    /// The methods with a configured gateway.
    pub fn available_methods(&self) -> Vec<PaymentMethod> {
        self.ports.gateways.methods()
    }

    /// Creates a payment for `actor` at the catalog price, less any coupon.
    ///
    /// A payment discounted to zero completes at once with no gateway call.
    /// A test-mode method next to a live gateway is refused first, before
    /// anything is read or written, unless the actor may use test mode.
    pub async fn create(&self, actor: Actor, command: CreatePayment) -> Result<PaymentWithAction, CreatePaymentError> {
        // Looked up once: a gateway replaced meanwhile does not change this request.
        let served = self.ports.gateways.for_payment_by(command.method, &actor)?;
        let now = self.ports.clock.now();
        let item = self.ports.catalog.find(command.item).await?.ok_or(CreatePaymentError::ItemNotFound)?;
        if item.availability != Availability::Active {
            return Err(CreatePaymentError::ItemInactive);
        }
        if command.quantity == 0 || command.quantity > item.tickets_per_buyer {
            return Err(CreatePaymentError::InvalidQuantity(item.tickets_per_buyer));
        }
        let price = item.price.checked_mul(i64::from(command.quantity))?;
        if self.policy.exceeds_maximum(price) {
            return Err(CreatePaymentError::AmountTooLarge);
        }
        let (coupon, discount) = match &command.coupon_code {
            None => (None, Money::zero(price.currency())),
            Some(code) => {
                let coupon = self
                    .ports
                    .coupons
                    .find_by_code(code.clone())
                    .await?
                    .ok_or(CreatePaymentError::Coupon(CouponRejection::NotFound))?;
                let uses_by_user =
                    super::coupons::uses_under_limit(self.ports.coupons.as_ref(), &coupon, actor.user_id).await?;
                let context = CouponContext { item: command.item, price, now, uses_by_user };
                let discount = coupon.evaluate(&context).map_err(CreatePaymentError::Coupon)?;
                (Some(coupon), discount)
            }
        };
        let amount = price.checked_sub(discount)?;
        let free = amount.is_zero();
        let gateway = match (free, served) {
            (true, _) => None,
            (false, Some(gateway)) => Some(gateway),
            (false, None) => return Err(CreatePaymentError::MethodUnavailable(command.method)),
        };
        let split = FeeSplit::of(amount, self.policy.fee_rate_for(item.instructor_id))?;
        // The mode of the gateway that takes it; a free payment no gateway
        // serves is test money for the sandbox, live otherwise.
        let livemode = match self.ports.gateways.mode_of(command.method) {
            Some(mode) => mode == GatewayMode::Live,
            None => command.method != PaymentMethod::Sandbox,
        };
        let mut payment = Payment {
            id: PaymentId::from_uuid(self.ports.ids.new_id()),
            user_id: actor.user_id,
            item: command.item,
            quantity: command.quantity,
            one_per_buyer: item.one_per_buyer(),
            instructor_id: item.instructor_id,
            status: if free { PaymentStatus::Completed } else { PaymentStatus::Pending },
            method: command.method,
            provider_payment_id: None,
            original_amount: price,
            discount_amount: discount,
            amount,
            platform_fee: split.platform_fee,
            instructor_earnings: split.instructor_earnings,
            refunded_amount: Money::zero(amount.currency()),
            coupon: coupon.as_ref().map(|c| AppliedCoupon { coupon_id: c.id, code: c.code.clone() }),
            billing: command.billing,
            client: command.client,
            failure_reason: None,
            created_at: now,
            updated_at: now,
            completed_at: free.then_some(now),
            livemode,
            gateway_fee: None,
            gateway_fee_bearer: None,
            fraud_review: false,
            risk: Default::default(),
        };
        debug_assert!(payment.amounts_add_up());
        let redemption = coupon.map(|c| NewRedemption {
            id: RedemptionId::from_uuid(self.ports.ids.new_id()),
            coupon_id: c.id,
            user_id: actor.user_id,
            payment_id: payment.id,
            discount_amount: discount,
            status: if free { RedemptionStatus::Confirmed } else { RedemptionStatus::Reserved },
            unpaid_per_user: (c.max_uses.is_some() && !free).then_some(self.coupon_holds.unpaid_per_user),
        });
        payment.fraud_review = self.screen(&payment, free).await? == crate::fraud::Outcome::Review;
        let outbox = if free { vec![self.event(EventType::PaymentCompleted, &payment, now)] } else { Vec::new() };
        let journal = if free { sale_journal(self.journal_id(), &payment, now)? } else { None };
        let payment_id = payment.id;
        let seats = (item.has_seats() || !item.one_per_buyer()).then_some(SeatRequest {
            event_id: command.item.id,
            quantity: command.quantity,
            limited: item.has_seats(),
            tickets_per_buyer: item.tickets_per_buyer,
        });
        let new = NewPayment { payment, redemption, journal, outbox, seats };
        let stored = match self.ports.payments.create(new).await {
            Ok(stored) => stored,
            Err(e) => {
                // Not stored: the attempt ends here, without a decline.
                self.release_attempt(payment_id).await;
                return match e {
                    CreatePaymentStoreError::AlreadyHeld(existing) => self.held_already(existing).await,
                    CreatePaymentStoreError::Coupon(reason) => Err(CreatePaymentError::Coupon(reason)),
                    CreatePaymentStoreError::SoldOut => Err(CreatePaymentError::SoldOut),
                    CreatePaymentStoreError::TicketLimit => {
                        Err(CreatePaymentError::TicketLimit(item.tickets_per_buyer))
                    }
                    CreatePaymentStoreError::Store(e) => Err(CreatePaymentError::Store(e)),
                };
            }
        };
        let Some(gateway) = gateway else {
            return Ok(PaymentWithAction { payment: stored, next_action: NextAction::None, reused: false });
        };
        match gateway.create_session(&stored).await {
            Ok(session) => {
                self.ports.payments.attach_provider_id(stored.id, session.provider_payment_id.clone()).await?;
                let payment = Payment { provider_payment_id: Some(session.provider_payment_id), ..stored };
                Ok(PaymentWithAction { payment, next_action: session.next_action, reused: false })
            }
            Err(error) => {
                // The gateway never took the payment: fail it so the coupon
                // use is given back, then report the gateway's failure. No
                // card was declined, so its attempt does not count as one.
                self.release_attempt(stored.id).await;
                let reason = "the payment gateway could not open a session".to_owned();
                self.change(stored.id, PaymentEvent::Fail, Some(reason)).await.map_err(|e| match e {
                    ChangePaymentError::Store(s) => CreatePaymentError::Store(s),
                    _ => CreatePaymentError::Gateway(error.clone()),
                })?;
                Err(CreatePaymentError::Gateway(error))
            }
        }
    }

    /// The answer to a purchase of an item its buyer holds: their open
    /// payment for it, to pay or cancel, or 409 with the paid one.
    async fn held_already(&self, existing: PaymentId) -> Result<PaymentWithAction, CreatePaymentError> {
        let payment = self
            .ports
            .payments
            .find(existing)
            .await?
            .ok_or(StoreError::Corrupt(format!("payment {existing} holds an item and cannot be read")))?;
        match payment.status {
            PaymentStatus::Pending | PaymentStatus::Processing => {
                Ok(PaymentWithAction { payment, next_action: NextAction::None, reused: true })
            }
            _ => Err(CreatePaymentError::AlreadyPurchased(existing)),
        }
    }

    /// Screens the attempt to create `payment` (its id chosen, nothing
    /// stored yet); refused, nothing is stored and no gateway is called.
    async fn screen(&self, payment: &Payment, free: bool) -> Result<crate::fraud::Outcome, CreatePaymentError> {
        let Some(fraud) = &self.fraud else {
            return Ok(crate::fraud::Outcome::Allow);
        };
        let attempt = crate::fraud::Attempt {
            payment_id: payment.id,
            user_id: payment.user_id,
            email: payment.billing.email.clone(),
            client_address: payment.client.ip_address,
            card_fingerprint: None,
            at: payment.created_at,
        };
        match fraud.screen(attempt, free).await?.outcome {
            crate::fraud::Outcome::Refuse => Err(CreatePaymentError::RefusedByRules),
            // A free payment moves no money to hold.
            crate::fraud::Outcome::Review if free => Ok(crate::fraud::Outcome::Allow),
            outcome @ (crate::fraud::Outcome::Allow | crate::fraud::Outcome::Review) => Ok(outcome),
        }
    }

    /// Settles the slots of an attempt that ended before any decline. On a
    /// storage failure they stay in flight and count until their window
    /// passes: the safe side for a limit.
    async fn release_attempt(&self, payment: PaymentId) {
        if let Some(fraud) = &self.fraud {
            let _ = fraud.release(payment).await;
        }
    }

    /// Confirms a payment with a client token (the sandbox's test tokens;
    /// real gateways are re-checked with the gateway). Only its payer or an
    /// admin may. A payment no longer open (paid, failed, cancelled, expired)
    /// is answered as it is, without calling the gateway again.
    pub async fn confirm(
        &self,
        actor: Actor,
        id: PaymentId,
        token: &str,
    ) -> Result<PaymentWithAction, ChangePaymentError> {
        let payment = self.owned(actor, id).await?;
        if !matches!(payment.status, PaymentStatus::Pending | PaymentStatus::Processing) {
            return Ok(PaymentWithAction { payment, next_action: NextAction::None, reused: false });
        }
        let provider_id = payment.provider_payment_id.clone().ok_or(ChangePaymentError::NoGatewaySession)?;
        let gateway = self
            .ports
            .gateways
            .for_method(payment.method)
            .ok_or(ChangePaymentError::MethodUnavailable(payment.method))?;
        self.screen_card(&payment, gateway.as_ref(), token).await?;
        let outcome = gateway.confirm(&provider_id, token).await.map_err(ChangePaymentError::Gateway)?;
        self.apply_outcome(id, outcome).await
    }

    /// Screens the card a confirmation names, when the gateway tells its
    /// fingerprint before charging it: the block list and the card rules.
    /// A refusal leaves the payment open for another card; a review
    /// decision flags it to be held once paid (the store sets the flag in
    /// the screening's transaction).
    async fn screen_card(
        &self,
        payment: &Payment,
        gateway: &dyn crate::ports::PaymentGateway,
        token: &str,
    ) -> Result<(), ChangePaymentError> {
        let Some(fraud) = &self.fraud else {
            return Ok(());
        };
        let Some(card) = gateway.card_fingerprint(token).await.map_err(ChangePaymentError::Gateway)? else {
            return Ok(());
        };
        let attempt = crate::fraud::Attempt {
            payment_id: payment.id,
            user_id: payment.user_id,
            email: None,
            client_address: None,
            card_fingerprint: Some(card),
            at: self.ports.clock.now(),
        };
        match fraud.screen(attempt, false).await?.outcome {
            crate::fraud::Outcome::Refuse => Err(ChangePaymentError::RefusedByRules),
            crate::fraud::Outcome::Allow | crate::fraud::Outcome::Review => Ok(()),
        }
    }

    /// Applies the gateway's verdict on a payment: the one path shared by
    /// confirmation, webhooks and reconciliation.
    pub async fn apply_outcome(
        &self,
        id: PaymentId,
        outcome: GatewayOutcome,
    ) -> Result<PaymentWithAction, ChangePaymentError> {
        let (payment, next_action) = match outcome {
            GatewayOutcome::Succeeded => (self.change(id, PaymentEvent::Complete, None).await?, NextAction::None),
            GatewayOutcome::Declined { reason } => (self.fail_declined(id, reason).await?, NextAction::None),
            GatewayOutcome::Processing | GatewayOutcome::AwaitingCapture => {
                (self.change(id, PaymentEvent::StartProcessing, None).await?, NextAction::None)
            }
            GatewayOutcome::Canceled => (self.change(id, PaymentEvent::Cancel, None).await?, NextAction::None),
            GatewayOutcome::AwaitingBuyer => {
                (self.ports.payments.find(id).await?.ok_or(ChangePaymentError::NotFound)?, NextAction::None)
            }
            GatewayOutcome::RequiresAction(action) => {
                (self.change(id, PaymentEvent::StartProcessing, None).await?, action)
            }
        };
        Ok(PaymentWithAction { payment, next_action, reused: false })
    }

    /// Asks the gateway for the true state of a payment and applies it
    /// (payments stuck in pending or processing; webhooks re-read here).
    pub async fn reconcile(&self, id: PaymentId) -> Result<Payment, ChangePaymentError> {
        let payment = self.ports.payments.find(id).await?.ok_or(ChangePaymentError::NotFound)?;
        self.reconcile_read(payment).await
    }

    /// [`Self::reconcile`] of a payment the caller has just read (a webhook
    /// finds it by the gateway's id), saving a second read. The change
    /// after the gateway's answer reads it again, since it may have moved
    /// while the gateway was asked.
    pub async fn reconcile_read(&self, payment: Payment) -> Result<Payment, ChangePaymentError> {
        let id = payment.id;
        if payment.status.is_final() {
            // Given up on: paid after all? (`recovery`)
            return self.recheck_given_up(payment).await;
        }
        if !matches!(payment.status, PaymentStatus::Pending | PaymentStatus::Processing) {
            return Ok(payment);
        }
        let Some(provider_id) = payment.provider_payment_id.clone() else {
            return Ok(payment);
        };
        let gateway = self
            .ports
            .gateways
            .for_method(payment.method)
            .ok_or(ChangePaymentError::MethodUnavailable(payment.method))?;
        let mut outcome = gateway.status(&provider_id).await.map_err(ChangePaymentError::Gateway)?;
        if outcome == GatewayOutcome::AwaitingCapture {
            // Approved but never captured (the approval webhook was lost, or
            // its processing died): capture it now.
            outcome = gateway.capture(&provider_id).await.map_err(ChangePaymentError::Gateway)?;
        }
        Ok(self.apply_outcome(id, outcome).await?.payment)
    }

    /// Captures an approved payment at its gateway and applies the result
    /// (a buyer's approval the gateway takes the money of only when asked).
    pub async fn capture(&self, id: PaymentId) -> Result<Payment, ChangePaymentError> {
        let payment = self.ports.payments.find(id).await?.ok_or(ChangePaymentError::NotFound)?;
        self.capture_read(payment).await
    }

    /// [`Self::capture`] of a payment the caller has just read, like
    /// [`Self::reconcile_read`].
    pub async fn capture_read(&self, payment: Payment) -> Result<Payment, ChangePaymentError> {
        let id = payment.id;
        if !matches!(payment.status, PaymentStatus::Pending | PaymentStatus::Processing) {
            return Ok(payment);
        }
        let provider_id = payment.provider_payment_id.clone().ok_or(ChangePaymentError::NoGatewaySession)?;
        let gateway = self
            .ports
            .gateways
            .for_method(payment.method)
            .ok_or(ChangePaymentError::MethodUnavailable(payment.method))?;
        let outcome = gateway.capture(&provider_id).await.map_err(ChangePaymentError::Gateway)?;
        Ok(self.apply_outcome(id, outcome).await?.payment)
    }

    /// The payment a gateway knows by its own id, if any.
    pub async fn find_by_provider_id(
        &self,
        method: PaymentMethod,
        provider_payment_id: &str,
    ) -> Result<Option<Payment>, StoreError> {
        self.ports.payments.find_by_provider_id(method, provider_payment_id.to_owned()).await
    }

    /// Cancels an unpaid payment (its owner or an admin). Cancelling a
    /// cancelled, failed or expired payment changes nothing.
    pub async fn cancel(&self, actor: Actor, id: PaymentId) -> Result<Payment, ChangePaymentError> {
        let payment = self.owned(actor, id).await?;
        if let Transition::Unchanged = payment.status.apply(PaymentEvent::Cancel)? {
            return Ok(payment);
        }
        if let (Some(provider_id), Some(gateway)) =
            (&payment.provider_payment_id, self.ports.gateways.for_method(payment.method))
        {
            gateway.cancel(provider_id).await.map_err(ChangePaymentError::Gateway)?;
        }
        self.change(id, PaymentEvent::Cancel, None).await
    }

    /// Releases a payment held for review (admin): the sale completes, with
    /// its journal and `payment.completed` event. A payment no longer held
    /// is answered as it is when released already, refused otherwise.
    pub async fn release(&self, actor: Actor, id: PaymentId) -> Result<Payment, ChangePaymentError> {
        if !actor.is_admin() {
            return Err(ChangePaymentError::NotFound);
        }
        self.change(id, PaymentEvent::Release, None).await
    }

    /// Payments held for review whose deadline passed at `now` (held more
    /// than `deadline` ago), oldest first, at most `limit`: for the sweep
    /// to refund.
    pub async fn held_past_deadline(
        &self,
        now: DateTime<Utc>,
        deadline: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<Payment>, StoreError> {
        let cutoff = now - deadline;
        let query = PaymentQuery {
            status: Some(PaymentStatus::InReview.as_str()),
            // Created before it was held, so before the cutoff too.
            page: crate::paging::PageRequest::new(None, Some(limit)).ordered(
                crate::paging::SortOrder::OldestFirst,
                None,
                Some(cutoff),
            ),
            ..PaymentQuery::default()
        };
        let page = self.ports.payments.list(query).await?;
        Ok(page.items.into_iter().filter(|p| p.completed_at.is_some_and(|held| held <= cutoff)).collect())
    }

    /// Refunds in full every payment held for review longer than
    /// `deadline` (at most `limit` per call): nobody released it in time.
    /// One that fails is reported and tried again at the next call.
    pub async fn refund_expired_holds(
        &self,
        deadline: chrono::Duration,
        limit: u32,
    ) -> Result<ExpiredHolds, StoreError> {
        let mut report = ExpiredHolds::default();
        let Some(refunds) = &self.recovery_refunds else {
            return Ok(report);
        };
        for payment in self.held_past_deadline(self.now(), deadline, limit).await? {
            let reason = format!("not released within the review deadline ({} h)", deadline.num_hours());
            match refunds.refund_held(payment.id, None, reason).await {
                Ok(_) => report.refunded += 1,
                Err(error) => report.failed.push((payment.id, error.to_string())),
            }
        }
        Ok(report)
    }

    /// Marks a payment paid (gateway confirmation or webhook).
    pub async fn complete(&self, id: PaymentId) -> Result<Payment, ChangePaymentError> {
        self.change(id, PaymentEvent::Complete, None).await
    }

    /// Marks a payment failed with the gateway's reason.
    pub async fn fail(&self, id: PaymentId, reason: String) -> Result<Payment, ChangePaymentError> {
        self.change(id, PaymentEvent::Fail, Some(reason)).await
    }

    /// Expires an unpaid payment, giving its coupon use back.
    pub async fn expire(&self, id: PaymentId) -> Result<Payment, ChangePaymentError> {
        self.change(id, PaymentEvent::Expire, None).await
    }

    /// One payment, if the actor may see it (owner, its instructor, admins).
    pub async fn get(&self, actor: Actor, id: PaymentId) -> Result<Payment, ChangePaymentError> {
        self.visible(actor, id).await
    }

    /// Payments the actor may see: students their own, instructors their
    /// sales, admins everything (with the query's filters).
    pub async fn list(&self, actor: Actor, mut query: PaymentQuery) -> Result<Page<Payment>, StoreError> {
        match actor.role {
            crate::usecases::Role::Admin => {}
            crate::usecases::Role::Instructor if query.instructor_id == Some(actor.user_id) => {}
            crate::usecases::Role::Student | crate::usecases::Role::Instructor => {
                query.user_id = Some(actor.user_id);
            }
        }
        self.ports.payments.list(query).await
    }

    /// The payment if the actor may act on it: its payer or an admin (its
    /// instructor may read it, not pay or cancel it).
    async fn owned(&self, actor: Actor, id: PaymentId) -> Result<Payment, ChangePaymentError> {
        let payment = self.ports.payments.find(id).await?.ok_or(ChangePaymentError::NotFound)?;
        if actor.is_admin() || payment.user_id == actor.user_id {
            Ok(payment)
        } else {
            Err(ChangePaymentError::NotFound)
        }
    }

    async fn visible(&self, actor: Actor, id: PaymentId) -> Result<Payment, ChangePaymentError> {
        let payment = self.ports.payments.find(id).await?.ok_or(ChangePaymentError::NotFound)?;
        let allowed = actor.is_admin() || payment.user_id == actor.user_id || payment.instructor_id == actor.user_id;
        if allowed { Ok(payment) } else { Err(ChangePaymentError::NotFound) }
    }

    /// Applies `event` with a guarded update, re-reading and re-deciding if
    /// another writer moved the payment first. Repeats are no-ops.
    /// Fails a payment its gateway declined, after ending its session at
    /// the gateway: a declined session left open can still be paid (the
    /// buyer tries another card), and that money would reach no sale. If
    /// the gateway cannot be told, the payment stays open for the sweep to
    /// settle later, and the gateway's error is answered.
    async fn fail_declined(&self, id: PaymentId, reason: String) -> Result<Payment, ChangePaymentError> {
        let payment = self.ports.payments.find(id).await?.ok_or(ChangePaymentError::NotFound)?;
        if let Transition::Unchanged = payment.status.apply(PaymentEvent::Fail)? {
            return Ok(payment);
        }
        if let (Some(provider_id), Some(gateway)) =
            (&payment.provider_payment_id, self.ports.gateways.for_method(payment.method))
        {
            gateway.cancel(provider_id).await.map_err(ChangePaymentError::Gateway)?;
        }
        self.change(id, PaymentEvent::Fail, Some(reason)).await
    }

    async fn change(
        &self,
        id: PaymentId,
        event: PaymentEvent,
        reason: Option<String>,
    ) -> Result<Payment, ChangePaymentError> {
        for _ in 0..STATUS_CHANGE_ATTEMPTS {
            let payment = self.ports.payments.find(id).await?.ok_or(ChangePaymentError::NotFound)?;
            // Paid, a payment the fraud controls flagged is held instead.
            let event =
                if event == PaymentEvent::Complete && payment.fraud_review { PaymentEvent::Hold } else { event };
            let Transition::Changed(to) = payment.status.apply(event)? else {
                return Ok(payment);
            };
            let change = self.describe_change(&payment, to, reason.clone())?;
            match self.ports.payments.apply(change).await? {
                ChangeOutcome::Applied(updated) => return Ok(*updated),
                ChangeOutcome::StatusMoved => continue,
                // Only a recovery takes a coupon use again.
                ChangeOutcome::CouponRefused(reason) => {
                    return Err(StoreError::Corrupt(format!("a coupon refusal of an ordinary change: {reason}")).into());
                }
            }
        }
        Err(ChangePaymentError::Contended)
    }

    /// Everything that commits with a move of `payment` to `to`.
    fn describe_change(
        &self,
        payment: &Payment,
        to: PaymentStatus,
        reason: Option<String>,
    ) -> Result<PaymentChange, LedgerError> {
        let at = self.ports.clock.now();
        let mut after = payment.clone();
        after.status = to;
        after.updated_at = at;
        let (redemption, journal, event_type) = match to {
            // Released from review: the money was taken (and the coupon use
            // confirmed) when it was held.
            PaymentStatus::Completed if payment.status == PaymentStatus::InReview => {
                after.fraud_review = false;
                let journal = crate::ledger::review_release_journal(self.journal_id(), &after, at)?;
                (None, journal, Some(EventType::PaymentCompleted))
            }
            PaymentStatus::Completed => {
                after.completed_at = Some(at);
                let journal = sale_journal(self.journal_id(), &after, at)?;
                (Some(RedemptionChange::Confirm), journal, Some(EventType::PaymentCompleted))
            }
            // Paid: the money is taken (its `completed_at`), the sale is not.
            PaymentStatus::InReview => {
                after.completed_at = Some(at);
                let journal = crate::ledger::review_hold_journal(self.journal_id(), &after, at)?;
                (Some(RedemptionChange::Confirm), journal, Some(EventType::PaymentHeld))
            }
            PaymentStatus::Failed => {
                after.failure_reason = reason.clone();
                (Some(RedemptionChange::Release), None, Some(EventType::PaymentFailed))
            }
            PaymentStatus::Cancelled => (Some(RedemptionChange::Release), None, Some(EventType::PaymentCancelled)),
            PaymentStatus::Expired => (Some(RedemptionChange::Release), None, Some(EventType::PaymentExpired)),
            PaymentStatus::Pending
            | PaymentStatus::Processing
            | PaymentStatus::PartiallyRefunded
            | PaymentStatus::Refunded
            | PaymentStatus::Disputed(_) => (None, None, None),
        };
        let outbox = event_type.map(|t| vec![self.event(t, &after, at)]).unwrap_or_default();
        Ok(PaymentChange {
            payment_id: payment.id,
            from: payment.status,
            to,
            at,
            completed_at: after.completed_at,
            failure_reason: after.failure_reason,
            redemption: payment.coupon.as_ref().and(redemption),
            journal,
            outbox,
            attention: None,
        })
    }

    fn event(&self, event_type: EventType, payment: &Payment, at: DateTime<Utc>) -> OutboxEvent {
        OutboxEvent::new(EventId::from_uuid(self.ports.ids.new_id()), event_type, payment.clone(), at)
    }

    fn journal_id(&self) -> JournalId {
        JournalId::from_uuid(self.ports.ids.new_id())
    }
}
