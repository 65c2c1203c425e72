//! RefundService against mocked ports: who may ask, within which window,
//! what an approval sends to the gateway and what each gateway answer
//! leaves behind. The refund store is a small in-memory stand-in that
//! applies each guarded change, so a test reads the refund's end state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use chrono::Duration;
use domain::builders::{PaymentBuilder, RefundBuilder, gateway};
use domain::ids::{PaymentId, RefundId};
use domain::outbox::EventType;
use domain::payment::{Payment, PaymentMethod, PaymentStatus};
use domain::ports::{
    CreateRefundStoreError, GatewayError, GatewayRefund, GatewayRefundState, Gateways, MockApprovalStore,
    MockPaymentRepository, MockRefundGateway, MockRefundRepository, NewRefund, RefundChange,
};
use domain::refund::{Refund, RefundPlanError, RefundStatus};
use domain::usecases::Forbidden;
use domain::usecases::dual_control::{DualControl, SecondApprovalPolicy};
use domain::usecases::refunds::{RefundError, RefundPorts, RefundService};
use futures::executor::block_on;
use support::*;
use uuid::Uuid;

const PAYMENT: PaymentId = PaymentId::from_uuid(Uuid::from_u128(0xA1));
const REFUND: RefundId = RefundId::from_uuid(Uuid::from_u128(0x2E));
const WINDOW_DAYS: i64 = 14;

/// A 100.00 payment by the student, completed a day ago, fee 20.00.
fn paid() -> Payment {
    PaymentBuilder::new()
        .id(PAYMENT)
        .user(STUDENT)
        .instructor(INSTRUCTOR)
        .provider_payment_id("sbx_1")
        .price(usd(10_000))
        .created_at(now() - Duration::days(1))
        .completed()
        .build()
}

/// A requested refund of `amount` of [`paid`] (a fifth of it platform fee).
fn requested(amount: i64) -> Refund {
    RefundBuilder::new()
        .id(REFUND)
        .payment(PAYMENT)
        .amount(usd(amount), usd(amount / 5))
        .requested_by(STUDENT)
        .created_at(now())
        .build()
}

/// The ports, each a mock a test sets up; the refund store keeps one refund.
struct World {
    refunds: MockRefundRepository,
    payments: MockPaymentRepository,
    gateway: MockRefundGateway,
    stored: Shared<Refund>,
    changes: Shared<Vec<RefundChange>>,
}

/// A value the store and the test both see.
type Shared<T> = Arc<Mutex<T>>;

impl World {
    fn new(payment: Payment) -> World {
        let mut payments = MockPaymentRepository::new();
        payments.expect_find().returning(move |_| Ok(Some(payment.clone())));
        let gateway = MockRefundGateway::new();
        World {
            refunds: MockRefundRepository::new(),
            payments,
            gateway,
            stored: Arc::new(Mutex::new(requested(40_00))),
            changes: Arc::default(),
        }
    }

    /// The store holds `refund` and applies every guarded change to it.
    fn holding(mut self, refund: Refund) -> World {
        *self.stored.lock().unwrap() = refund;
        let stored = self.stored.clone();
        self.refunds.expect_find().returning(move |_| Ok(Some(stored.lock().unwrap().clone())));
        let (stored, changes) = (self.stored.clone(), self.changes.clone());
        self.refunds.expect_apply().returning(move |change| {
            let mut refund = stored.lock().unwrap();
            if refund.status != change.from {
                return Ok(false);
            }
            refund.status = change.to;
            refund.provider_refund_id = change.provider_refund_id.clone().or(refund.provider_refund_id.clone());
            refund.rejection_reason = change.rejection_reason.clone().or(refund.rejection_reason.clone());
            if change.to == RefundStatus::Processed {
                refund.processed_at = Some(change.at);
            }
            changes.lock().unwrap().push(change);
            Ok(true)
        });
        self
    }

    fn service(self) -> (RefundService, Shared<Refund>, Shared<Vec<RefundChange>>) {
        let clock = fixed_clock();
        let ports = RefundPorts {
            refunds: Arc::new(self.refunds),
            payments: Arc::new(self.payments),
            gateways: Gateways::new().register(gateway(PaymentMethod::Sandbox).refunds(Arc::new(self.gateway))),
            clock: clock.clone(),
            ids: sequential_ids(),
            dual_control: DualControl::new(SecondApprovalPolicy::default(), Arc::new(MockApprovalStore::new()), clock),
        };
        (RefundService::new(ports, WINDOW_DAYS), self.stored, self.changes)
    }
}

// --- request ----------------------------------------------------------------

#[test]
fn the_payer_asks_within_the_window_and_the_store_gets_the_request() {
    let mut world = World::new(paid());
    let asked = Arc::new(Mutex::new(None));
    let seen = asked.clone();
    world.refunds.expect_create().times(1).returning(move |request: NewRefund| {
        *seen.lock().unwrap() = Some(request.clone());
        Ok(requested(25_00))
    });
    let (service, _, _) = world.service();

    let refund = block_on(service.request(student(), PAYMENT, Some(usd(25_00)), "  not for me  ".into())).unwrap();

    assert_eq!(refund, requested(25_00));
    let request = asked.lock().unwrap().clone().unwrap();
    assert_eq!(request.id, RefundId::from_uuid(Uuid::from_u128(1)));
    assert_eq!((request.payment_id, request.amount), (PAYMENT, Some(usd(25_00))));
    assert_eq!((request.reason.as_str(), request.requested_by, request.at), ("not for me", Some(student()), now()));
}

#[test]
fn an_empty_or_overlong_reason_is_refused_before_anything_is_read() {
    let mut world = World::new(paid());
    world.payments.checkpoint();
    world.payments.expect_find().never();
    world.refunds.expect_create().never();
    let (service, _, _) = world.service();

    for reason in ["   ".to_owned(), "x".repeat(1_001)] {
        assert_eq!(block_on(service.request(student(), PAYMENT, None, reason)), Err(RefundError::InvalidReason));
    }
}

#[test]
fn someone_else_s_payment_is_not_found_for_a_student() {
    let mut world = World::new(paid());
    world.refunds.expect_create().never();
    let (service, _, _) = world.service();

    assert_eq!(block_on(service.request(stranger(), PAYMENT, None, "mine?".into())), Err(RefundError::NotFound));
}

#[test]
fn after_the_window_only_an_admin_may_ask() {
    let late = PaymentBuilder::new()
        .id(PAYMENT)
        .user(STUDENT)
        .price(usd(10_000))
        .created_at(now() - Duration::days(WINDOW_DAYS + 1))
        .completed()
        .build();
    let mut world = World::new(late);
    world.refunds.expect_create().times(1).returning(|_| Ok(requested(10_000)));
    let (service, _, _) = world.service();

    assert_eq!(
        block_on(service.request(student(), PAYMENT, None, "too late".into())),
        Err(RefundError::WindowClosed(WINDOW_DAYS))
    );
    assert_eq!(block_on(service.request(admin(), PAYMENT, None, "goodwill".into())), Ok(requested(10_000)));
}

#[test]
fn the_store_s_refusal_of_the_amount_reaches_the_caller() {
    let mut world = World::new(paid());
    let refusal = RefundPlanError::ExceedsRefundable { refundable: usd(60_00) };
    world.refunds.expect_create().returning(move |_| Err(CreateRefundStoreError::Refused(refusal.clone())));
    let (service, _, _) = world.service();

    assert_eq!(
        block_on(service.request(student(), PAYMENT, Some(usd(70_00)), "too much".into())),
        Err(RefundError::Refused(RefundPlanError::ExceedsRefundable { refundable: usd(60_00) }))
    );
}

// --- reject -----------------------------------------------------------------

#[test]
fn an_admin_rejects_with_a_reason_and_a_student_may_not() {
    let (service, stored, changes) = World::new(paid()).holding(requested(40_00)).service();

    assert_eq!(block_on(service.reject(student(), REFUND, "no".into())), Err(RefundError::Forbidden(Forbidden)));
    assert!(changes.lock().unwrap().is_empty());

    let rejected = block_on(service.reject(admin(), REFUND, "outside policy".into())).unwrap();

    assert_eq!(rejected.status, RefundStatus::Rejected);
    assert_eq!(stored.lock().unwrap().rejection_reason.as_deref(), Some("outside policy"));
    let again = block_on(service.reject(admin(), REFUND, "again".into())).unwrap();
    assert_eq!(again.rejection_reason.as_deref(), Some("outside policy"), "a repeated rejection changes nothing");
    assert_eq!(changes.lock().unwrap().len(), 1);
    let approved = block_on(service.approve(admin(), REFUND, None));
    assert!(matches!(approved, Err(RefundError::Illegal(_))), "a rejected refund is never sent: {approved:?}");
}

// --- approve ----------------------------------------------------------------

#[test]
fn an_approved_refund_the_gateway_makes_is_processed_with_its_journal_and_event() {
    let mut world = World::new(paid()).holding(requested(40_00));
    world
        .gateway
        .expect_refund()
        .withf(|payment, amount, key| payment == "sbx_1" && *amount == usd(40_00) && key == REFUND.to_string())
        .times(1)
        .returning(|_, _, _| {
            Ok(GatewayRefund { provider_refund_id: "re_1".into(), state: GatewayRefundState::Succeeded })
        });
    let (service, _, changes) = world.service();

    let refund = block_on(service.approve(admin(), REFUND, None)).unwrap();

    assert_eq!(refund.status, RefundStatus::Processed);
    assert_eq!((refund.provider_refund_id.as_deref(), refund.processed_at), (Some("re_1"), Some(now())));
    let changes = changes.lock().unwrap();
    let statuses: Vec<_> = changes.iter().map(|c| c.to).collect();
    assert_eq!(statuses, [RefundStatus::Approved, RefundStatus::Processing, RefundStatus::Processed]);
    let approved = &changes[0].outbox;
    assert_eq!(approved.iter().map(|e| e.event_type).collect::<Vec<_>>(), [EventType::RefundApproved]);
    match &approved[0].subject {
        domain::outbox::EventSubject::Refund(r) => {
            assert_eq!((r.status, r.approved_at), (RefundStatus::Approved, Some(now())), "as the store writes it")
        }
        other => panic!("a refund event about {other:?}"),
    }
    assert!(changes[1].outbox.is_empty(), "processing is the gateway's business");
    let settled = changes.last().unwrap();
    let payment = settled.payment.as_ref().unwrap();
    assert_eq!((payment.to, payment.refunded_after), (PaymentStatus::PartiallyRefunded, usd(40_00)));
    assert!(settled.journal.is_some(), "the money movement is journalled with the change");
    let events: Vec<_> = settled.outbox.iter().map(|e| e.event_type).collect();
    assert_eq!(events, [EventType::RefundProcessed], "a partial refund does not announce a refunded payment");
}

#[test]
fn a_refund_of_everything_also_announces_the_payment_refunded() {
    let mut world = World::new(paid()).holding(requested(10_000));
    world.gateway.expect_refund().returning(|_, _, _| {
        Ok(GatewayRefund { provider_refund_id: "re_all".into(), state: GatewayRefundState::Succeeded })
    });
    let (service, _, changes) = world.service();

    block_on(service.approve(admin(), REFUND, None)).unwrap();

    let changes = changes.lock().unwrap();
    let settled = changes.last().unwrap();
    assert_eq!(settled.payment.as_ref().unwrap().to, PaymentStatus::Refunded);
    let events: Vec<_> = settled.outbox.iter().map(|e| e.event_type).collect();
    assert_eq!(events, [EventType::RefundProcessed, EventType::PaymentRefunded]);
}

#[test]
fn a_refund_the_gateway_refuses_fails_and_one_it_cannot_reach_stays_processing() {
    let mut refused = World::new(paid()).holding(requested(40_00));
    refused.gateway.expect_refund().returning(|_, _, _| Err(GatewayError::InvalidRequest("charge disputed".into())));
    let (service, _, changes) = refused.service();
    assert_eq!(block_on(service.approve(admin(), REFUND, None)).unwrap().status, RefundStatus::Failed);
    let announced: Vec<_> =
        changes.lock().unwrap().iter().flat_map(|c| c.outbox.iter().map(|e| e.event_type)).collect();
    assert_eq!(announced, [EventType::RefundApproved, EventType::RefundFailed]);

    let mut down = World::new(paid()).holding(requested(40_00));
    down.gateway.expect_refund().returning(|_, _, _| Err(GatewayError::Unavailable("timeout".into())));
    let (service, stored, changes) = down.service();
    assert_eq!(
        block_on(service.approve(admin(), REFUND, None)),
        Err(RefundError::Gateway(GatewayError::Unavailable("timeout".into())))
    );
    assert_eq!(stored.lock().unwrap().status, RefundStatus::Processing, "approving again retries it");
    assert!(changes.lock().unwrap().iter().all(|c| c.journal.is_none()), "no money moved");
}

#[test]
fn a_pending_answer_keeps_the_gateway_s_id_for_the_webhook_and_the_sweep() {
    let mut world = World::new(paid()).holding(requested(40_00));
    world.gateway.expect_refund().returning(|_, _, _| {
        Ok(GatewayRefund { provider_refund_id: "re_later".into(), state: GatewayRefundState::Pending })
    });
    let (service, _, _) = world.service();

    let refund = block_on(service.approve(admin(), REFUND, None)).unwrap();

    assert_eq!((refund.status, refund.provider_refund_id.as_deref()), (RefundStatus::Processing, Some("re_later")));
}

#[test]
fn only_admins_approve_and_a_settled_refund_is_not_sent_again() {
    let mut world = World::new(paid()).holding(RefundBuilder::new().id(REFUND).status(RefundStatus::Processed).build());
    world.gateway.expect_refund().never();
    let (service, _, changes) = world.service();

    assert_eq!(block_on(service.approve(student(), REFUND, None)), Err(RefundError::Forbidden(Forbidden)));
    let again = block_on(service.approve(admin(), REFUND, None)).unwrap();
    assert_eq!(again.status, RefundStatus::Processed, "approving a processed refund again is a no-op");
    assert!(changes.lock().unwrap().is_empty());
}
