//! A payment paid after Skillpay gave up on it, against mocked ports: the
//! gateway's word decides, the recovery is one guarded change with its
//! sale journal and its attention note, and a coupon that can no longer
//! take the use makes it a refund rather than a delivery.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Duration;
use domain::attention::AttentionKind;
use domain::builders::PaymentBuilder;
use domain::catalog::Availability;
use domain::coupon::CouponRejection;
use domain::ids::{CouponId, PaymentId};
use domain::outbox::EventType;
use domain::payment::{Payment, PaymentMethod, PaymentStatus};
use domain::ports::{
    ChangeOutcome, GatewayOutcome, Gateways, MockCatalog, MockCouponRepository, MockPaymentGateway,
    MockPaymentRepository, PaymentChange, RedemptionChange,
};
use domain::usecases::payments::{PaymentPolicy, PaymentPorts, PaymentService};
use futures::executor::block_on;
use support::*;
use uuid::Uuid;

const PAYMENT: PaymentId = PaymentId::from_uuid(Uuid::from_u128(0xA1));

/// A 50.00 sandbox payment declined at `sbx_1`, with a coupon if asked.
fn declined(with_coupon: bool) -> Payment {
    let mut builder = PaymentBuilder::new()
        .id(PAYMENT)
        .user(STUDENT)
        .instructor(INSTRUCTOR)
        .provider_payment_id("sbx_1")
        .price(usd(50_00))
        .created_at(now() - Duration::hours(2))
        .status(PaymentStatus::Failed);
    if with_coupon {
        builder = builder.coupon(CouponId::from_uuid(Uuid::from_u128(0xC0)), "ONCE");
    }
    let mut payment = builder.build();
    payment.failure_reason = Some("card_declined".to_owned());
    payment
}

/// The ports: the payment stored as given, the gateway answering
/// `outcome`, the catalog selling the course (or not), and a store that
/// records each change and answers `answers` in turn.
struct World {
    payments: MockPaymentRepository,
    catalog: MockCatalog,
    gateway: MockPaymentGateway,
    changes: Arc<Mutex<Vec<PaymentChange>>>,
}

impl World {
    fn new(payment: Payment, outcome: GatewayOutcome, on_sale: bool) -> World {
        let stored = Arc::new(Mutex::new(payment));
        let mut payments = MockPaymentRepository::new();
        let found = stored.clone();
        payments.expect_find().returning(move |_| Ok(Some(found.lock().unwrap().clone())));
        let mut gateway = MockPaymentGateway::new();
        gateway.expect_method().return_const(PaymentMethod::Sandbox);
        gateway.expect_status().returning(move |_| Ok(outcome.clone()));
        let mut catalog = MockCatalog::new();
        let mut course = course_at(usd(50_00));
        if !on_sale {
            course.availability = Availability::Inactive;
        }
        catalog.expect_find().returning(move |_| Ok(Some(course.clone())));
        let changes: Arc<Mutex<Vec<PaymentChange>>> = Arc::default();
        let (seen, applied) = (changes.clone(), stored);
        payments.expect_apply().returning(move |change| {
            seen.lock().unwrap().push(change.clone());
            let mut payment = applied.lock().unwrap();
            payment.status = change.to;
            payment.completed_at = change.completed_at;
            Ok(ChangeOutcome::Applied(Box::new(payment.clone())))
        });
        World { payments, catalog, gateway, changes }
    }

    fn service(self) -> (PaymentService, Arc<Mutex<Vec<PaymentChange>>>) {
        let ports = PaymentPorts {
            payments: Arc::new(self.payments),
            coupons: Arc::new(MockCouponRepository::new()),
            catalog: Arc::new(self.catalog),
            gateways: Gateways::new().with(Arc::new(self.gateway)),
            clock: fixed_clock(),
            ids: sequential_ids(),
        };
        let policy = PaymentPolicy {
            platform_fee_rate: percent(20),
            instructor_fee_rates: HashMap::new(),
            max_amount: domain::per_currency::PerCurrency::every(rust_decimal::Decimal::from(10_000_i64)),
            gateway_fee_bearer: domain::ledger::FeeBearer::Platform,
        };
        (PaymentService::new(ports, policy), self.changes)
    }
}

#[test]
fn a_declined_payment_the_gateway_reports_paid_is_completed_with_its_sale_and_a_note() {
    let (service, changes) = World::new(declined(true), GatewayOutcome::Succeeded, true).service();

    let recovered = block_on(service.reconcile(PAYMENT)).unwrap();

    assert_eq!(recovered.status, PaymentStatus::Completed);
    let changes = changes.lock().unwrap();
    assert_eq!(changes.len(), 1);
    let change = &changes[0];
    assert_eq!((change.from, change.to), (PaymentStatus::Failed, PaymentStatus::Completed));
    assert_eq!(change.redemption, Some(RedemptionChange::Reclaim), "the coupon use is taken again");
    assert!(change.journal.is_some(), "the sale is booked");
    let events: Vec<EventType> = change.outbox.iter().map(|e| e.event_type).collect();
    assert_eq!(events, vec![EventType::PaymentCompleted]);
    let note = change.attention.as_ref().unwrap();
    assert_eq!(note.kind, AttentionKind::PaidAfterGivingUp);
    assert!(note.detail.contains("card_declined"), "{}", note.detail);
}

#[test]
fn a_given_up_payment_the_gateway_does_not_report_paid_is_left_alone() {
    for outcome in [GatewayOutcome::Canceled, GatewayOutcome::AwaitingCapture, GatewayOutcome::AwaitingBuyer] {
        let (service, changes) = World::new(declined(false), outcome.clone(), true).service();

        let read = block_on(service.reconcile(PAYMENT)).unwrap();

        assert_eq!(read.status, PaymentStatus::Failed, "{outcome:?}");
        assert!(changes.lock().unwrap().is_empty(), "{outcome:?}: nothing written, nothing captured");
    }
}

#[test]
fn a_withdrawn_item_is_completed_without_delivery_for_its_refund() {
    let (service, changes) = World::new(declined(true), GatewayOutcome::Succeeded, false).service();

    block_on(service.reconcile(PAYMENT)).unwrap();

    let changes = changes.lock().unwrap();
    assert_eq!(changes.len(), 1);
    let change = &changes[0];
    assert_eq!(change.to, PaymentStatus::Completed);
    assert_eq!(change.redemption, None, "no coupon use for what is not delivered");
    assert!(change.outbox.is_empty(), "no payment.completed: nothing is delivered");
    assert!(change.journal.is_some(), "the money received is booked, to be refunded");
    assert_eq!(change.attention.as_ref().unwrap().kind, AttentionKind::PaidUndeliverableRefunded);
}

#[test]
fn a_coupon_used_up_meanwhile_turns_the_recovery_into_a_refund() {
    let mut world = World::new(declined(true), GatewayOutcome::Succeeded, true);
    // The store refuses the coupon's use on the first try.
    world.payments.checkpoint();
    let stored = Arc::new(Mutex::new(declined(true)));
    let found = stored.clone();
    world.payments.expect_find().returning(move |_| Ok(Some(found.lock().unwrap().clone())));
    let seen = world.changes.clone();
    world.payments.expect_apply().returning(move |change| {
        seen.lock().unwrap().push(change.clone());
        if change.redemption == Some(RedemptionChange::Reclaim) {
            return Ok(ChangeOutcome::CouponRefused(CouponRejection::Exhausted));
        }
        let mut payment = stored.lock().unwrap();
        payment.status = change.to;
        Ok(ChangeOutcome::Applied(Box::new(payment.clone())))
    });
    let (service, changes) = world.service();

    let read = block_on(service.reconcile(PAYMENT)).unwrap();

    assert_eq!(read.status, PaymentStatus::Completed);
    let changes = changes.lock().unwrap();
    assert_eq!(changes.len(), 2, "tried with the coupon, then without");
    let note = changes[1].attention.as_ref().unwrap();
    assert_eq!(note.kind, AttentionKind::PaidUndeliverableRefunded);
    assert!(note.detail.contains("no uses left"), "{}", note.detail);
    assert!(changes[1].outbox.is_empty());
}

#[test]
fn a_payment_recovered_by_someone_else_meanwhile_is_not_recovered_twice() {
    let mut completed = declined(false);
    completed.status = PaymentStatus::Completed;
    let mut world = World::new(declined(false), GatewayOutcome::Succeeded, true);
    // Read failed first, completed by the time the change is decided.
    world.payments.checkpoint();
    let reads = Arc::new(Mutex::new(vec![declined(false), completed.clone()]));
    world.payments.expect_find().returning(move |_| {
        let mut reads = reads.lock().unwrap();
        Ok(Some(if reads.len() > 1 { reads.remove(0) } else { reads[0].clone() }))
    });
    world.payments.expect_apply().never();
    let (service, _) = world.service();

    assert_eq!(block_on(service.reconcile(PAYMENT)).unwrap().status, PaymentStatus::Completed);
}
