//! PaymentService against mocked ports, one group of tests per use case.
//!
//! A mock method with no expectation fails the test when it is called, so a
//! port a test does not set up is a port the use case must not touch.

// Test helpers fail the test by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Duration;
use domain::builders::{CreatePaymentBuilder, PaymentBuilder};
use domain::catalog::{Availability, CatalogItem};
use domain::coupon::{Coupon, CouponRejection, RedemptionStatus, Targeting};
use domain::ids::{CouponId, PaymentId};
use domain::ledger::Account;
use domain::money::{Currency, Money};
use domain::outbox::EventType;
use domain::paging::Page;
use domain::payment::{Payment, PaymentEvent, PaymentMethod, PaymentStatus, TransitionError};
use domain::ports::{
    ChangeOutcome, CreatePaymentStoreError, GatewayError, GatewayOutcome, GatewaySession, Gateways, MockCatalog,
    MockCouponRepository, MockPaymentGateway, MockPaymentRepository, NewPayment, NextAction, PaymentChange,
    PaymentQuery, RedemptionChange,
};
use domain::usecases::payments::{
    ChangePaymentError, CreatePayment, CreatePaymentError, PaymentPolicy, PaymentPorts, PaymentService,
};
use futures::executor::block_on;
use mockall::Sequence;
use support::*;
use uuid::Uuid;

/// The payment the change tests work on.
const PAYMENT: PaymentId = PaymentId::from_uuid(Uuid::from_u128(0xA1));
/// The sandbox's id for it.
const SESSION: &str = "sbx_session_1";

/// What the ports record, for assertions after the call.
type Log<T> = Arc<Mutex<Vec<T>>>;

/// The single entry of `log`.
fn only<T: Clone + std::fmt::Debug>(log: &Log<T>) -> T {
    let entries = log.lock().unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries[0].clone()
}

/// The mocks, set up by each test, then turned into a service.
struct World {
    payments: MockPaymentRepository,
    coupons: MockCouponRepository,
    catalog: MockCatalog,
    /// The sandbox gateway; `None` when no gateway is configured.
    gateway: Option<MockPaymentGateway>,
    policy: PaymentPolicy,
}

impl World {
    fn new() -> Self {
        let mut gateway = MockPaymentGateway::new();
        gateway.expect_method().return_const(PaymentMethod::Sandbox);
        World {
            payments: MockPaymentRepository::new(),
            coupons: MockCouponRepository::new(),
            catalog: MockCatalog::new(),
            gateway: Some(gateway),
            policy: PaymentPolicy {
                platform_fee_rate: percent(20),
                instructor_fee_rates: HashMap::new(),
                max_amount: domain::per_currency::PerCurrency::every(rust_decimal::Decimal::from(10_000_i64)),
                gateway_fee_bearer: domain::ledger::FeeBearer::Platform,
            },
        }
    }

    fn gateway(&mut self) -> &mut MockPaymentGateway {
        self.gateway.as_mut().unwrap()
    }

    fn service(self) -> PaymentService {
        let gateways = match self.gateway {
            Some(gateway) => Gateways::new().with(Arc::new(gateway)),
            None => Gateways::new(),
        };
        let ports = PaymentPorts {
            payments: Arc::new(self.payments),
            coupons: Arc::new(self.coupons),
            catalog: Arc::new(self.catalog),
            gateways,
            clock: fixed_clock(),
            ids: sequential_ids(),
        };
        PaymentService::new(ports, self.policy)
    }

    /// The catalog answers `item` for [`COURSE`].
    fn selling(&mut self, item: CatalogItem) {
        self.catalog.expect_find().withf(|asked| *asked == COURSE).returning(move |_| Ok(Some(item.clone())));
    }

    /// The coupon repository knows `coupon`; the student holds `uses` live
    /// uses of it, which are counted once if the coupon has a per-user
    /// limit and not at all otherwise.
    fn offering(&mut self, coupon: Coupon, uses: u32) {
        let (id, code) = (coupon.id, coupon.code.clone());
        let counted = usize::from(coupon.max_uses_per_user.is_some());
        self.coupons
            .expect_find_by_code()
            .withf(move |asked| *asked == code)
            .returning(move |_| Ok(Some(coupon.clone())));
        self.coupons
            .expect_live_uses_by_user()
            .withf(move |c, u| *c == id && *u == STUDENT)
            .times(counted)
            .returning(move |_, _| Ok(uses));
    }

    /// The repository stores whatever it is given, as given.
    fn storing_new_payments(&mut self) -> Log<NewPayment> {
        let log = Log::default();
        let record = log.clone();
        self.payments.expect_create().times(1).returning(move |new| {
            record.lock().unwrap().push(new.clone());
            Ok(new.payment)
        });
        log
    }

    /// The gateway opens [`SESSION`] and the repository records its id.
    fn opening_sessions(&mut self) {
        self.gateway().expect_create_session().times(1).returning(|_| {
            Ok(GatewaySession {
                provider_payment_id: SESSION.to_owned(),
                next_action: NextAction::ConfirmWithToken {
                    provider: PaymentMethod::Sandbox,
                    tokens: vec!["tok_success"],
                    authenticate: false,
                },
            })
        });
        self.payments
            .expect_attach_provider_id()
            .withf(|_, provider| provider == SESSION)
            .times(1)
            .returning(|_, _| Ok(()));
    }

    /// The repository holds `payment` (every read answers it).
    fn holding(&mut self, payment: Payment) {
        let id = payment.id;
        self.payments.expect_find().withf(move |asked| *asked == id).returning(move |_| Ok(Some(payment.clone())));
    }

    /// The repository commits every change to `before`.
    fn applying_changes_to(&mut self, before: Payment) -> Log<PaymentChange> {
        let log = Log::default();
        let record = log.clone();
        self.payments.expect_apply().returning(move |change| {
            record.lock().unwrap().push(change.clone());
            Ok(ChangeOutcome::Applied(Box::new(committed(&before, &change))))
        });
        log
    }
}

/// `before` as a store holds it after committing `change`.
fn committed(before: &Payment, change: &PaymentChange) -> Payment {
    Payment {
        status: change.to,
        updated_at: change.at,
        completed_at: change.completed_at,
        failure_reason: change.failure_reason.clone(),
        ..before.clone()
    }
}

/// The student buys [`COURSE`] with the sandbox, with an optional coupon.
fn buy(coupon: Option<&str>) -> CreatePayment {
    let command = CreatePaymentBuilder::new().item(COURSE).method(PaymentMethod::Sandbox);
    match coupon {
        Some(code) => command.coupon_code(code).build(),
        None => command.build(),
    }
}

/// A pending 50.00 payment with a 10.00 coupon discount and an open session.
fn pending() -> Payment {
    PaymentBuilder::new()
        .id(PAYMENT)
        .user(STUDENT)
        .item(COURSE)
        .instructor(INSTRUCTOR)
        .method(PaymentMethod::Sandbox)
        .provider_payment_id(SESSION)
        .price(usd(5000))
        .discount(usd(1000))
        .fee_rate(percent(20))
        .coupon(CouponId::from_uuid(Uuid::from_u128(0xC0)), "TENOFF")
        .created_at(now() - Duration::minutes(5))
        .build()
}

fn in_status(status: PaymentStatus) -> Payment {
    Payment { status, ..pending() }
}

// --- create -----------------------------------------------------------------

#[test]
fn a_payment_is_priced_by_the_catalog_and_gets_the_gateway_session() {
    // CreatePayment carries no amount at all: every figure must derive from
    // the catalog's 49.99.
    let mut world = World::new();
    world.selling(course_at(usd(4999)));
    let stored = world.storing_new_payments();
    world.opening_sessions();
    let created = block_on(world.service().create(student(), buy(None))).unwrap();

    let new = only(&stored);
    assert_eq!(new.payment.original_amount, usd(4999));
    assert_eq!(new.payment.amount, usd(4999));
    assert_eq!((new.payment.platform_fee, new.payment.instructor_earnings), (usd(1000), usd(3999)));
    assert_eq!((new.payment.user_id, new.payment.instructor_id), (STUDENT, INSTRUCTOR));
    assert_eq!(new.payment.status, PaymentStatus::Pending);
    // Nothing is owed before the money arrives.
    assert!(new.journal.is_none() && new.outbox.is_empty() && new.redemption.is_none());
    assert_eq!(created.payment.provider_payment_id.as_deref(), Some(SESSION));
    assert_eq!(
        created.next_action,
        NextAction::ConfirmWithToken {
            provider: PaymentMethod::Sandbox,
            tokens: vec!["tok_success"],
            authenticate: false
        }
    );
}

#[test]
fn an_item_the_catalog_does_not_know_is_refused_as_item_not_found() {
    let mut world = World::new();
    world.catalog.expect_find().returning(|_| Ok(None));
    assert_eq!(block_on(world.service().create(student(), buy(None))), Err(CreatePaymentError::ItemNotFound));
}

#[test]
fn an_item_withdrawn_from_sale_is_refused_as_item_inactive() {
    let mut world = World::new();
    world.selling(CatalogItem { availability: Availability::Inactive, ..course_at(usd(4999)) });
    assert_eq!(block_on(world.service().create(student(), buy(None))), Err(CreatePaymentError::ItemInactive));
}

#[test]
fn a_price_above_the_maximum_is_refused_as_amount_too_large() {
    let mut world = World::new();
    // The maximum is 10 000 major units: one cent more is too much.
    world.selling(course_at(usd(1_000_001)));
    let policy = world.policy.clone();
    assert_eq!(block_on(world.service().create(student(), buy(None))), Err(CreatePaymentError::AmountTooLarge));
    assert!(!policy.exceeds_maximum(usd(1_000_000)));
    assert!(!policy.exceeds_maximum(Money::from_minor(10_000, Currency::JPY)));
    assert!(policy.exceeds_maximum(Money::from_minor(10_000_001, Currency::KWD)));
}

#[test]
fn a_coupon_discount_is_applied_and_the_fee_split_adds_up() {
    let mut world = World::new();
    world.selling(course_at(usd(4999)));
    world.offering(percent_off("SPRING25", 25), 0);
    let stored = world.storing_new_payments();
    world.opening_sessions();
    block_on(world.service().create(student(), buy(Some("spring25")))).unwrap();

    let new = only(&stored);
    let p = &new.payment;
    // 25 % of 49.99 = 12.4975 -> 12.50; 20 % of 37.49 = 7.498 -> 7.50.
    assert_eq!((p.original_amount, p.discount_amount, p.amount), (usd(4999), usd(1250), usd(3749)));
    assert_eq!((p.platform_fee, p.instructor_earnings), (usd(750), usd(2999)));
    assert!(p.amounts_add_up());
    assert_eq!(p.coupon.as_ref().map(|c| c.code.as_str()), Some("SPRING25"));
    let redemption = new.redemption.unwrap();
    assert_eq!(redemption.status, RedemptionStatus::Reserved);
    assert_eq!((redemption.payment_id, redemption.user_id, redemption.discount_amount), (p.id, STUDENT, usd(1250)));
}

#[test]
fn every_coupon_rejection_surfaces_as_a_coupon_error_before_anything_is_stored() {
    let base = || percent_off("SPRING25", 25);
    let cases: Vec<(CouponRejection, Option<Coupon>, u32)> = vec![
        (CouponRejection::NotFound, None, 0),
        (CouponRejection::Inactive, Some(Coupon { is_active: false, ..base() }), 0),
        (CouponRejection::NotYetValid, Some(Coupon { valid_from: Some(now() + Duration::days(1)), ..base() }), 0),
        (CouponRejection::Expired, Some(Coupon { expires_at: Some(now()), ..base() }), 0),
        (CouponRejection::Exhausted, Some(Coupon { max_uses: Some(5), times_used: 5, ..base() }), 0),
        (CouponRejection::PerUserLimit, Some(Coupon { max_uses_per_user: Some(1), ..base() }), 1),
        (
            CouponRejection::NotApplicable,
            Some(Coupon { targeting: Targeting { course_ids: vec![99], event_ids: vec![] }, ..base() }),
            0,
        ),
        (CouponRejection::CurrencyMismatch, Some(Coupon { currency: Some(Currency::EUR), ..base() }), 0),
        (
            CouponRejection::MinOrderNotMet,
            Some(Coupon { currency: Some(Currency::USD), min_order_amount: Some(usd(10_000)), ..base() }),
            0,
        ),
    ];
    for (reason, coupon, uses) in cases {
        let mut world = World::new();
        world.selling(course_at(usd(4999)));
        match coupon {
            Some(coupon) => world.offering(coupon, uses),
            None => {
                world.coupons.expect_find_by_code().returning(|_| Ok(None));
            }
        }
        let result = block_on(world.service().create(student(), buy(Some("SPRING25"))));
        assert_eq!(result, Err(CreatePaymentError::Coupon(reason)), "{reason:?}");
    }
}

#[test]
fn a_coupon_refused_by_the_store_under_lock_surfaces_as_coupon_exhausted() {
    let mut world = World::new();
    world.selling(course_at(usd(4999)));
    world.offering(percent_off("SPRING25", 25), 0);
    // The snapshot said yes; the last use went to a concurrent buyer.
    world.payments.expect_create().returning(|_| Err(CreatePaymentStoreError::Coupon(CouponRejection::Exhausted)));
    world.gateway().expect_create_session().never();
    let result = block_on(world.service().create(student(), buy(Some("SPRING25"))));
    assert_eq!(result, Err(CreatePaymentError::Coupon(CouponRejection::Exhausted)));
}

#[test]
fn a_method_without_a_gateway_is_refused_as_method_unavailable() {
    let mut world = World::new();
    world.gateway = None;
    world.selling(course_at(usd(4999)));
    let result = block_on(world.service().create(student(), buy(None)));
    assert_eq!(result, Err(CreatePaymentError::MethodUnavailable(PaymentMethod::Sandbox)));
}

#[test]
fn a_payment_discounted_to_zero_completes_without_calling_the_gateway() {
    let mut world = World::new();
    world.selling(course_at(usd(4999)));
    world.offering(percent_off("FREE", 100), 0);
    let stored = world.storing_new_payments();
    world.gateway().expect_create_session().never();
    world.gateway().expect_confirm().never();
    let created = block_on(world.service().create(student(), buy(Some("FREE")))).unwrap();

    let new = only(&stored);
    assert_eq!(new.payment.status, PaymentStatus::Completed);
    assert_eq!(new.payment.completed_at, Some(now()));
    assert_eq!((new.payment.amount, new.payment.discount_amount), (usd(0), usd(4999)));
    assert_eq!(new.redemption.map(|r| r.status), Some(RedemptionStatus::Confirmed));
    // No money moved, so nothing to journal; the platform still enrolls the student.
    assert!(new.journal.is_none());
    assert_eq!(new.outbox.len(), 1);
    assert_eq!(new.outbox[0].event_type, EventType::PaymentCompleted);
    assert_eq!(new.outbox[0].aggregate_id(), new.payment.id.to_string());
    assert_eq!(created.next_action, NextAction::None);
}

#[test]
fn a_gateway_that_cannot_open_a_session_fails_the_payment_and_releases_the_coupon() {
    let mut world = World::new();
    world.selling(course_at(usd(4999)));
    world.offering(percent_off("SPRING25", 25), 0);
    // The store hands back what it stored when the failure re-reads it.
    let stored: Arc<Mutex<Option<Payment>>> = Arc::default();
    let (keep, read) = (stored.clone(), stored.clone());
    world.payments.expect_create().returning(move |new| {
        *keep.lock().unwrap() = Some(new.payment.clone());
        Ok(new.payment)
    });
    world.payments.expect_find().returning(move |_| Ok(read.lock().unwrap().clone()));
    let down = GatewayError::Unavailable("503".to_owned());
    let answer = down.clone();
    world.gateway().expect_create_session().times(1).returning(move |_| Err(answer.clone()));
    world.payments.expect_attach_provider_id().never();
    let changes = world.applying_changes_to(pending());

    let result = block_on(world.service().create(student(), buy(Some("SPRING25"))));
    assert_eq!(result, Err(CreatePaymentError::Gateway(down)));
    let change = only(&changes);
    assert_eq!((change.from, change.to), (PaymentStatus::Pending, PaymentStatus::Failed));
    assert_eq!(change.redemption, Some(RedemptionChange::Release));
    assert!(change.failure_reason.is_some());
    assert_eq!(change.outbox.iter().map(|e| e.event_type).collect::<Vec<_>>(), [EventType::PaymentFailed]);
}

#[test]
fn an_instructor_fee_override_replaces_the_default_rate() {
    let mut world = World::new();
    world.policy.instructor_fee_rates.insert(INSTRUCTOR, percent(10));
    world.selling(course_at(usd(10_000)));
    let stored = world.storing_new_payments();
    world.opening_sessions();
    block_on(world.service().create(student(), buy(None))).unwrap();

    let p = only(&stored).payment;
    assert_eq!((p.platform_fee, p.instructor_earnings), (usd(1000), usd(9000)));
}

// --- confirm ----------------------------------------------------------------

/// A world where the student confirms [`pending`] and the gateway answers `outcome`.
fn confirming(outcome: GatewayOutcome) -> (World, Log<PaymentChange>) {
    let mut world = World::new();
    world.holding(pending());
    world
        .gateway()
        .expect_confirm()
        .withf(|session, token| session == SESSION && token == "tok_success")
        .times(1)
        .returning(move |_, _| Ok(outcome.clone()));
    let changes = world.applying_changes_to(pending());
    (world, changes)
}

#[test]
fn a_successful_confirmation_completes_the_payment_with_a_balanced_sale_journal() {
    let (world, changes) = confirming(GatewayOutcome::Succeeded);
    let confirmed = block_on(world.service().confirm(student(), PAYMENT, "tok_success")).unwrap();
    assert_eq!(confirmed.payment.status, PaymentStatus::Completed);
    assert_eq!(confirmed.next_action, NextAction::None);

    let change = only(&changes);
    assert_eq!(
        (change.from, change.to, change.completed_at),
        (PaymentStatus::Pending, PaymentStatus::Completed, Some(now()))
    );
    assert_eq!(change.redemption, Some(RedemptionChange::Confirm));
    let journal = change.journal.unwrap();
    assert_eq!(journal.payment_id(), Some(PAYMENT));
    assert_eq!(journal.entries().iter().map(|e| e.amount_minor).sum::<i64>(), 0);
    let moved = |account| journal.entries().iter().find(|e| e.account == account).map(|e| e.amount_minor);
    let p = pending();
    assert_eq!(moved(Account::GatewayClearing(PaymentMethod::Sandbox)), Some(p.amount.minor()));
    assert_eq!(moved(Account::InstructorPending(INSTRUCTOR)), Some(-p.instructor_earnings.minor()));
    assert_eq!(moved(Account::PlatformRevenue), Some(-p.platform_fee.minor()));
    assert_eq!(change.outbox.iter().map(|e| e.event_type).collect::<Vec<_>>(), [EventType::PaymentCompleted]);
}

#[test]
fn a_payment_the_fraud_controls_flagged_is_held_when_paid_with_its_money_owed_to_the_payer() {
    let flagged = Payment { fraud_review: true, ..pending() };
    let mut world = World::new();
    world.holding(flagged.clone());
    world.gateway().expect_confirm().times(1).returning(|_, _| Ok(GatewayOutcome::Succeeded));
    let changes = world.applying_changes_to(flagged);
    let held = block_on(world.service().confirm(student(), PAYMENT, "tok_success")).unwrap();
    assert_eq!(held.payment.status, PaymentStatus::InReview);

    let change = only(&changes);
    assert_eq!((change.to, change.completed_at), (PaymentStatus::InReview, Some(now())));
    assert_eq!(change.redemption, Some(RedemptionChange::Confirm), "the money was taken");
    let announced: Vec<_> = change.outbox.iter().map(|e| e.event_type).collect();
    assert_eq!(announced, [EventType::PaymentHeld], "held, not payment.completed: nothing is enrolled");
    let journal = change.journal.unwrap();
    let moved = |account| journal.entries().iter().find(|e| e.account == account).map(|e| e.amount_minor);
    assert_eq!(moved(Account::PaymentsInReview), Some(-pending().amount.minor()));
    assert_eq!(moved(Account::InstructorPending(INSTRUCTOR)), None, "no earnings while held");
}

#[test]
fn a_declined_confirmation_fails_the_payment_with_the_reason_and_releases_the_coupon() {
    let (mut world, changes) = confirming(GatewayOutcome::Declined { reason: "card_declined".to_owned() });
    // The declined session is ended at the gateway first, so it cannot be paid later.
    world.gateway().expect_cancel().withf(|session| session == SESSION).times(1).returning(|_| Ok(()));
    let declined = block_on(world.service().confirm(student(), PAYMENT, "tok_success")).unwrap();
    assert_eq!(declined.payment.status, PaymentStatus::Failed);
    assert_eq!(declined.payment.failure_reason.as_deref(), Some("card_declined"));

    let change = only(&changes);
    assert_eq!(change.to, PaymentStatus::Failed);
    assert_eq!(change.failure_reason.as_deref(), Some("card_declined"));
    assert_eq!(change.redemption, Some(RedemptionChange::Release));
    assert!(change.journal.is_none());
}

#[test]
fn a_decline_whose_session_cannot_be_cancelled_leaves_the_payment_open() {
    let (mut world, changes) = confirming(GatewayOutcome::Declined { reason: "card_declined".to_owned() });
    world.gateway().expect_cancel().times(1).returning(|_| Err(GatewayError::Unavailable("timed out".into())));
    let result = block_on(world.service().confirm(student(), PAYMENT, "tok_success"));
    assert_eq!(
        result.map(|r| r.payment.status),
        Err(ChangePaymentError::Gateway(GatewayError::Unavailable("timed out".into())))
    );
    assert!(changes.lock().unwrap().is_empty(), "not failed while the gateway may still take the money");
}

#[test]
fn a_confirmation_that_requires_action_moves_to_processing_and_hands_back_the_action() {
    let (world, changes) = confirming(GatewayOutcome::RequiresAction(NextAction::ConfirmWithToken {
        provider: PaymentMethod::Sandbox,
        tokens: vec!["tok_success"],
        authenticate: true,
    }));
    let answered = block_on(world.service().confirm(student(), PAYMENT, "tok_success")).unwrap();
    assert_eq!(answered.payment.status, PaymentStatus::Processing);
    assert_eq!(
        answered.next_action,
        NextAction::ConfirmWithToken {
            provider: PaymentMethod::Sandbox,
            tokens: vec!["tok_success"],
            authenticate: true
        }
    );

    let change = only(&changes);
    assert_eq!(change.to, PaymentStatus::Processing);
    // Still in flight: the coupon use stays reserved and nothing is announced.
    assert!(change.redemption.is_none() && change.journal.is_none() && change.outbox.is_empty());
}

#[test]
fn confirming_a_completed_payment_answers_it_without_calling_the_gateway() {
    let mut world = World::new();
    world.holding(in_status(PaymentStatus::Completed));
    world.gateway().expect_confirm().never();
    world.payments.expect_apply().never();
    let answered = block_on(world.service().confirm(student(), PAYMENT, "tok_success")).unwrap();
    assert_eq!(answered.payment.status, PaymentStatus::Completed);
    assert_eq!(answered.next_action, NextAction::None);
}

#[test]
fn confirming_a_payment_without_a_gateway_session_is_refused() {
    let mut world = World::new();
    world.holding(Payment { provider_payment_id: None, ..pending() });
    let result = block_on(world.service().confirm(student(), PAYMENT, "tok_success"));
    assert_eq!(result, Err(ChangePaymentError::NoGatewaySession));
}

#[test]
fn the_instructor_of_a_payment_cannot_confirm_it() {
    let mut world = World::new();
    world.holding(pending());
    world.gateway().expect_confirm().never();
    world.payments.expect_apply().never();
    // Instructors may read their sales, but only the payer or an admin pays.
    let result = block_on(world.service().confirm(instructor(), PAYMENT, "tok_success"));
    assert_eq!(result, Err(ChangePaymentError::NotFound));
}

// --- cancel -----------------------------------------------------------------

#[test]
fn cancelling_a_pending_payment_cancels_the_gateway_session_before_recording_it() {
    let mut world = World::new();
    world.holding(pending());
    let mut order = Sequence::new();
    world
        .gateway()
        .expect_cancel()
        .withf(|session| session == SESSION)
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(()));
    let log = Log::default();
    let record = log.clone();
    world.payments.expect_apply().times(1).in_sequence(&mut order).returning(move |change| {
        record.lock().unwrap().push(change.clone());
        Ok(ChangeOutcome::Applied(Box::new(committed(&pending(), &change))))
    });
    let cancelled = block_on(world.service().cancel(student(), PAYMENT)).unwrap();
    assert_eq!(cancelled.status, PaymentStatus::Cancelled);

    let change: PaymentChange = only(&log);
    assert_eq!(change.redemption, Some(RedemptionChange::Release));
    assert_eq!(change.outbox.iter().map(|e| e.event_type).collect::<Vec<_>>(), [EventType::PaymentCancelled]);
}

#[test]
fn cancelling_a_completed_payment_is_an_illegal_transition() {
    let mut world = World::new();
    world.holding(in_status(PaymentStatus::Completed));
    world.gateway().expect_cancel().never();
    let result = block_on(world.service().cancel(student(), PAYMENT));
    let illegal = TransitionError { from: PaymentStatus::Completed, event: PaymentEvent::Cancel };
    assert_eq!(result, Err(ChangePaymentError::Illegal(illegal)));
}

#[test]
fn cancelling_another_users_payment_answers_not_found() {
    let mut world = World::new();
    world.holding(pending());
    world.gateway().expect_cancel().never();
    assert_eq!(block_on(world.service().cancel(stranger(), PAYMENT)), Err(ChangePaymentError::NotFound));
}

#[test]
fn the_instructor_of_a_payment_cannot_cancel_it() {
    let mut world = World::new();
    world.holding(pending());
    world.gateway().expect_cancel().never();
    world.payments.expect_apply().never();
    // Instructors may read their sales, but only the payer or an admin acts on them.
    assert_eq!(block_on(world.service().cancel(instructor(), PAYMENT)), Err(ChangePaymentError::NotFound));
}

// --- complete, fail, expire -------------------------------------------------

/// The status-change use cases driven by gateways, webhooks and the expiry job.
#[derive(Debug, Clone, Copy)]
enum Op {
    Complete,
    Fail,
    Expire,
}

impl Op {
    fn run(self, service: &PaymentService) -> Result<Payment, ChangePaymentError> {
        match self {
            Op::Complete => block_on(service.complete(PAYMENT)),
            Op::Fail => block_on(service.fail(PAYMENT, "card_declined".to_owned())),
            Op::Expire => block_on(service.expire(PAYMENT)),
        }
    }

    fn target(self) -> PaymentStatus {
        match self {
            Op::Complete => PaymentStatus::Completed,
            Op::Fail => PaymentStatus::Failed,
            Op::Expire => PaymentStatus::Expired,
        }
    }
}

#[test]
fn repeating_complete_fail_or_expire_writes_nothing() {
    for op in [Op::Complete, Op::Fail, Op::Expire] {
        let mut world = World::new();
        world.holding(in_status(op.target()));
        world.payments.expect_apply().never();
        let answered = op.run(&world.service()).unwrap();
        assert_eq!(answered, in_status(op.target()), "{op:?}");
    }
}

#[test]
fn expiring_a_pending_payment_releases_its_coupon_and_announces_it() {
    let mut world = World::new();
    world.holding(pending());
    let changes = world.applying_changes_to(pending());
    assert_eq!(Op::Expire.run(&world.service()).unwrap().status, PaymentStatus::Expired);
    let change = only(&changes);
    assert_eq!(change.redemption, Some(RedemptionChange::Release));
    assert_eq!(change.outbox.iter().map(|e| e.event_type).collect::<Vec<_>>(), [EventType::PaymentExpired]);
}

#[test]
fn completing_a_payment_without_coupon_changes_no_redemption() {
    let mut world = World::new();
    let no_coupon = Payment { coupon: None, ..pending() };
    world.holding(no_coupon.clone());
    let changes = world.applying_changes_to(no_coupon);
    Op::Complete.run(&world.service()).unwrap();
    assert_eq!(only(&changes).redemption, None);
}

#[test]
fn completing_a_payment_that_was_given_up_on_is_illegal() {
    let mut world = World::new();
    world.holding(in_status(PaymentStatus::Expired));
    world.payments.expect_apply().never();
    let illegal = TransitionError { from: PaymentStatus::Expired, event: PaymentEvent::Complete };
    assert_eq!(Op::Complete.run(&world.service()), Err(ChangePaymentError::Illegal(illegal)));
}

#[test]
fn changing_a_payment_the_store_does_not_know_is_not_found() {
    let mut world = World::new();
    world.payments.expect_find().returning(|_| Ok(None));
    assert_eq!(Op::Fail.run(&world.service()), Err(ChangePaymentError::NotFound));
}

#[test]
fn a_status_moved_answer_makes_the_service_re_read_and_decide_again() {
    let mut world = World::new();
    // The expiry job read a pending payment, but the student paid meanwhile.
    let mut reads = vec![pending(), in_status(PaymentStatus::Completed)].into_iter();
    world.payments.expect_find().times(2).returning(move |_| Ok(reads.next()));
    world.payments.expect_apply().times(1).returning(|_| Ok(ChangeOutcome::StatusMoved));
    // Expiring a completed payment is a no-op, so there is no second apply.
    assert_eq!(Op::Expire.run(&world.service()).unwrap().status, PaymentStatus::Completed);
}

#[test]
fn the_retry_after_a_status_moved_answer_is_guarded_on_the_status_read_again() {
    let mut world = World::new();
    let mut reads = vec![pending(), in_status(PaymentStatus::Processing)].into_iter();
    world.payments.expect_find().times(2).returning(move |_| Ok(reads.next()));
    let log: Log<PaymentChange> = Log::default();
    let record = log.clone();
    world.payments.expect_apply().times(2).returning(move |change| {
        let mut seen = record.lock().unwrap();
        seen.push(change.clone());
        Ok(if seen.len() == 1 {
            ChangeOutcome::StatusMoved
        } else {
            ChangeOutcome::Applied(Box::new(committed(&pending(), &change)))
        })
    });
    assert_eq!(Op::Complete.run(&world.service()).unwrap().status, PaymentStatus::Completed);
    let froms: Vec<_> = log.lock().unwrap().iter().map(|c| c.from).collect();
    assert_eq!(froms, [PaymentStatus::Pending, PaymentStatus::Processing]);
}

#[test]
fn three_status_moved_answers_in_a_row_give_up_as_contended() {
    let mut world = World::new();
    world.payments.expect_find().times(3).returning(|_| Ok(Some(pending())));
    world.payments.expect_apply().times(3).returning(|_| Ok(ChangeOutcome::StatusMoved));
    assert_eq!(Op::Complete.run(&world.service()), Err(ChangePaymentError::Contended));
}

// --- reconcile and capture --------------------------------------------------

/// A world where the gateway reports `outcome` as [`pending`]'s true state.
fn reconciling(outcome: GatewayOutcome) -> (World, Log<PaymentChange>) {
    let mut world = World::new();
    world.holding(pending());
    world
        .gateway()
        .expect_status()
        .withf(|session| session == SESSION)
        .times(1)
        .returning(move |_| Ok(outcome.clone()));
    let changes = world.applying_changes_to(pending());
    (world, changes)
}

#[test]
fn reconciling_applies_the_state_the_gateway_reports() {
    let (world, changes) = reconciling(GatewayOutcome::Succeeded);
    assert_eq!(block_on(world.service().reconcile(PAYMENT)).unwrap().status, PaymentStatus::Completed);
    let change = only(&changes);
    assert_eq!(change.redemption, Some(RedemptionChange::Confirm));
    assert!(change.journal.is_some());
}

#[test]
fn reconciling_a_payment_just_read_reads_it_again_only_after_the_gateway_answers() {
    let mut world = World::new();
    // One read: the change's, after the gateway's answer (the payment may
    // have moved meanwhile). The caller's read is not repeated before it.
    world.payments.expect_find().times(1).returning(|_| Ok(Some(pending())));
    world.gateway().expect_status().times(1).returning(|_| Ok(GatewayOutcome::Succeeded));
    let changes = world.applying_changes_to(pending());
    assert_eq!(block_on(world.service().reconcile_read(pending())).unwrap().status, PaymentStatus::Completed);
    assert_eq!(only(&changes).to, PaymentStatus::Completed);
}

#[test]
fn a_payment_cancelled_at_the_gateway_is_cancelled_and_gives_its_coupon_back() {
    let (world, changes) = reconciling(GatewayOutcome::Canceled);
    assert_eq!(block_on(world.service().reconcile(PAYMENT)).unwrap().status, PaymentStatus::Cancelled);
    assert_eq!(only(&changes).redemption, Some(RedemptionChange::Release));
}

#[test]
fn a_payment_still_awaiting_its_buyer_is_left_as_it_is() {
    let (world, changes) = reconciling(GatewayOutcome::AwaitingBuyer);
    assert_eq!(block_on(world.service().reconcile(PAYMENT)), Ok(pending()));
    assert!(changes.lock().unwrap().is_empty());
}

#[test]
fn reconciling_a_paid_payment_does_not_ask_the_gateway() {
    // (A given-up one does: it may have been paid after all; see
    // payment_recovery_use_cases.rs.)
    for status in [PaymentStatus::Completed, PaymentStatus::Refunded] {
        let mut world = World::new();
        world.holding(in_status(status));
        world.gateway().expect_status().never();
        world.payments.expect_apply().never();
        assert_eq!(block_on(world.service().reconcile(PAYMENT)), Ok(in_status(status)));
    }
}

#[test]
fn capturing_asks_the_gateway_to_capture_and_applies_the_result() {
    let mut world = World::new();
    world.holding(pending());
    world.gateway().expect_confirm().never();
    world
        .gateway()
        .expect_capture()
        .withf(|session| session == SESSION)
        .times(1)
        .returning(|_| Ok(GatewayOutcome::Succeeded));
    let changes = world.applying_changes_to(pending());
    assert_eq!(block_on(world.service().capture(PAYMENT)).unwrap().status, PaymentStatus::Completed);
    assert_eq!(only(&changes).to, PaymentStatus::Completed);
}

// --- get and list -----------------------------------------------------------

/// The query the repository receives when `actor` lists with `query`.
fn listed_query(actor: domain::usecases::Actor, query: PaymentQuery) -> PaymentQuery {
    let mut world = World::new();
    let log = Log::default();
    let record = log.clone();
    world.payments.expect_list().times(1).returning(move |q| {
        record.lock().unwrap().push(q);
        Ok(Page { items: vec![], next: None })
    });
    block_on(world.service().list(actor, query)).unwrap();
    only(&log)
}

#[test]
fn a_student_listing_payments_sees_only_their_own() {
    for asked in [None, Some(STRANGER)] {
        let query = PaymentQuery { user_id: asked, ..Default::default() };
        assert_eq!(listed_query(student(), query).user_id, Some(STUDENT), "{asked:?}");
    }
}

#[test]
fn an_instructor_listing_their_own_sales_keeps_the_instructor_filter() {
    let query = PaymentQuery { instructor_id: Some(INSTRUCTOR), ..Default::default() };
    assert_eq!(listed_query(instructor(), query.clone()), query);
}

#[test]
fn an_instructor_asking_for_someone_elses_sales_sees_only_their_own_purchases() {
    let query = PaymentQuery { instructor_id: Some(STRANGER), ..Default::default() };
    assert_eq!(listed_query(instructor(), query).user_id, Some(INSTRUCTOR));
}

#[test]
fn an_admin_query_is_passed_on_unchanged() {
    let query = PaymentQuery { user_id: Some(STRANGER), status: Some("failed"), ..Default::default() };
    assert_eq!(listed_query(admin(), query.clone()), query);
}

#[test]
fn getting_someone_elses_payment_answers_not_found() {
    let mut world = World::new();
    world.holding(pending());
    assert_eq!(block_on(world.service().get(stranger(), PAYMENT)), Err(ChangePaymentError::NotFound));
}

#[test]
fn the_payer_its_instructor_and_admins_may_get_a_payment() {
    for actor in [student(), instructor(), admin()] {
        let mut world = World::new();
        world.holding(pending());
        assert_eq!(block_on(world.service().get(actor, PAYMENT)), Ok(pending()), "{actor:?}");
    }
}

// --- defence in depth --------------------------------------------------------

/// A definition with a negative cap is refused when created; should one be
/// stored anyway, the discount is clamped at zero and the price never rises.
#[test]
fn a_coupon_never_raises_the_price() {
    let mut world = World::new();
    world.selling(course_at(usd(1000)));
    let raise = Coupon {
        discount: domain::coupon::Discount::Percentage { rate: percent(10), max_discount: Some(usd(-500)) },
        currency: Some(Currency::USD),
        ..percent_off("RAISE", 10)
    };
    world.offering(raise, 0);
    let stored = world.storing_new_payments();
    world.opening_sessions();
    let created = block_on(world.service().create(student(), buy(Some("RAISE")))).unwrap();
    assert_eq!(created.payment.amount, usd(1000));
    assert_eq!(created.payment.discount_amount, usd(0));
    assert_eq!(stored.lock().unwrap().len(), 1);
}

// --- one purchase per buyer, tickets ----------------------------------------

#[test]
fn a_course_the_buyer_holds_answers_their_open_payment_or_already_purchased() {
    for (held, expected) in [
        (PaymentStatus::Pending, Ok(true)),
        (PaymentStatus::Completed, Err(CreatePaymentError::AlreadyPurchased(PAYMENT))),
    ] {
        let mut world = World::new();
        world.selling(course_at(usd(4999)));
        world.payments.expect_create().times(1).returning(|new| {
            assert!(new.payment.one_per_buyer && new.seats.is_none(), "a course is one per buyer, without seats");
            Err(CreatePaymentStoreError::AlreadyHeld(PAYMENT))
        });
        world.holding(in_status(held));
        world.gateway().expect_create_session().never();
        let answer = block_on(world.service().create(student(), buy(None)));
        let answer = answer.map(|found| {
            assert_eq!(found.payment.id, PAYMENT);
            found.reused
        });
        assert_eq!(answer, expected, "{held:?}");
    }
}

/// An event of 12.50 with `capacity` seats and `per_buyer` tickets per buyer.
fn event_of(capacity: Option<u32>, per_buyer: u32) -> CatalogItem {
    CatalogItem {
        item: domain::catalog::ItemRef::event(7),
        capacity,
        tickets_per_buyer: per_buyer,
        ..course_at(usd(1250))
    }
}

fn tickets(quantity: u32) -> CreatePayment {
    CreatePaymentBuilder::new()
        .item(domain::catalog::ItemRef::event(7))
        .quantity(quantity)
        .method(PaymentMethod::Sandbox)
        .build()
}

#[test]
fn tickets_cost_the_price_times_the_quantity_and_ask_the_store_for_seats() {
    let mut world = World::new();
    let event = event_of(Some(50), 4);
    world.catalog.expect_find().returning(move |_| Ok(Some(event.clone())));
    let stored = world.storing_new_payments();
    world.opening_sessions();
    block_on(world.service().create(student(), tickets(3))).unwrap();
    let new = only(&stored);
    assert_eq!((new.payment.original_amount, new.payment.quantity), (usd(3750), 3));
    assert_eq!((new.payment.platform_fee, new.payment.instructor_earnings), (usd(750), usd(3000)));
    assert!(!new.payment.one_per_buyer, "several tickets per buyer");
    assert_eq!(
        new.seats,
        Some(domain::ports::SeatRequest { event_id: 7, quantity: 3, limited: true, tickets_per_buyer: 4 })
    );
}

#[test]
fn a_quantity_out_of_bounds_is_refused_before_anything_is_stored() {
    for (item, quantity, most) in
        [(event_of(Some(50), 4), 5, 4), (event_of(None, 2), 0, 2), (course_at(usd(4999)), 2, 1)]
    {
        let mut world = World::new();
        world.catalog.expect_find().returning(move |_| Ok(Some(item.clone())));
        world.payments.expect_create().never();
        let result = block_on(world.service().create(student(), tickets(quantity)));
        assert_eq!(result.map(|_| ()), Err(CreatePaymentError::InvalidQuantity(most)));
    }
}

#[test]
fn seats_and_ticket_limits_refused_under_lock_surface_as_such() {
    for (refusal, expected) in [
        (CreatePaymentStoreError::SoldOut, CreatePaymentError::SoldOut),
        (CreatePaymentStoreError::TicketLimit, CreatePaymentError::TicketLimit(4)),
    ] {
        let mut world = World::new();
        let event = event_of(Some(50), 4);
        world.catalog.expect_find().returning(move |_| Ok(Some(event.clone())));
        let answer = refusal.clone();
        world.payments.expect_create().returning(move |_| Err(answer.clone()));
        world.gateway().expect_create_session().never();
        let result = block_on(world.service().create(student(), tickets(1)));
        assert_eq!(result.map(|_| ()), Err(expected));
    }
}
