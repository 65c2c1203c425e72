//! Refunds made at the gateway, against mocked ports: the gateway's list
//! decides what is recorded, a refund Skillpay made is settled rather than
//! recorded twice, and what cannot be recorded needs a person instead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use chrono::Duration;
use domain::builders::{PaymentBuilder, RefundBuilder, gateway};
use domain::ids::{PaymentId, RefundId};
use domain::outbox::EventType;
use domain::paging::Page;
use domain::payment::{Payment, PaymentMethod, PaymentStatus};
use domain::ports::{
    GatewayError, GatewayRefundRecord, GatewayRefundState, Gateways, MockApprovalStore, MockPaymentRepository,
    MockRefundGateway, MockRefundRepository, ProcessedRefund, RecordRefundOutcome, RefundChange,
};
use domain::refund::{Refund, RefundOrigin, RefundStatus};
use domain::usecases::dual_control::{DualControl, SecondApprovalPolicy};
use domain::usecases::refunds::{GatewayRefundSync, RefundPorts, RefundService};
use futures::executor::block_on;
use support::*;
use uuid::Uuid;

const PAYMENT: PaymentId = PaymentId::from_uuid(Uuid::from_u128(0xA1));
const OURS: RefundId = RefundId::from_uuid(Uuid::from_u128(0x2E));

/// A 100.00 Stripe payment, fee 20.00, with `refunded` minor units refunded.
fn paid(refunded: i64) -> Payment {
    let mut payment = PaymentBuilder::new()
        .id(PAYMENT)
        .user(STUDENT)
        .instructor(INSTRUCTOR)
        .method(PaymentMethod::Stripe)
        .provider_payment_id("pi_1")
        .price(usd(10_000))
        .created_at(now() - Duration::days(1))
        .completed()
        .build();
    if refunded > 0 {
        payment.refunded_amount = usd(refunded);
        payment.status = PaymentStatus::PartiallyRefunded;
    }
    payment
}

fn listed(id: &str, amount: i64, state: GatewayRefundState, made_for: Option<&str>) -> GatewayRefundRecord {
    GatewayRefundRecord {
        provider_refund_id: id.to_owned(),
        amount: usd(amount),
        state,
        made_for: made_for.map(str::to_owned),
    }
}

type Shared<T> = Arc<Mutex<T>>;

/// The ports: the payment as given, the gateway listing `records`, the
/// store holding `processed` refunds and answering `outcome` to a record.
struct World {
    payments: MockPaymentRepository,
    refunds: MockRefundRepository,
    gateway: MockRefundGateway,
    recorded: Shared<Vec<ProcessedRefund>>,
}

impl World {
    fn new(payment: Payment, records: Vec<GatewayRefundRecord>, processed: Vec<Refund>) -> World {
        let mut payments = MockPaymentRepository::new();
        let found = payment.clone();
        payments.expect_find().returning(move |_| Ok(Some(found.clone())));
        payments.expect_find_by_provider_id().returning(move |_, _| Ok(Some(payment.clone())));
        let mut gateway = MockRefundGateway::new();
        gateway.expect_refunds_of().returning(move |_| Ok(records.clone()));
        let mut refunds = MockRefundRepository::new();
        refunds.expect_find_by_provider_id().returning(|_| Ok(None));
        refunds.expect_list().returning(move |_| Ok(Page { items: processed.clone(), next: None }));
        World { payments, refunds, gateway, recorded: Arc::default() }
    }

    /// The store records what it is given, answering `outcome`.
    fn recording(mut self, outcome: RecordRefundOutcome) -> World {
        let recorded = self.recorded.clone();
        self.refunds.expect_record_processed().returning(move |change| {
            recorded.lock().unwrap().push(change);
            Ok(outcome)
        });
        self
    }

    fn service(self) -> (RefundService, Shared<Vec<ProcessedRefund>>) {
        let clock = fixed_clock();
        let ports = RefundPorts {
            refunds: Arc::new(self.refunds),
            payments: Arc::new(self.payments),
            gateways: Gateways::new().register(gateway(PaymentMethod::Stripe).refunds(Arc::new(self.gateway))),
            clock: clock.clone(),
            ids: sequential_ids(),
            dual_control: DualControl::new(SecondApprovalPolicy::default(), Arc::new(MockApprovalStore::new()), clock),
        };
        (RefundService::new(ports, 14), self.recorded)
    }
}

fn sync(service: &RefundService) -> GatewayRefundSync {
    block_on(service.sync_payment_refunds(PaymentMethod::Stripe, "pi_1")).unwrap()
}

#[test]
fn a_dashboard_refund_of_part_is_recorded_processed_with_its_fee_share() {
    let records = vec![listed("re_dash", 30_00, GatewayRefundState::Succeeded, None)];
    let (service, recorded) =
        World::new(paid(0), records, Vec::new()).recording(RecordRefundOutcome::Recorded).service();

    let sync = sync(&service);

    assert!(sync.needs_attention.is_empty(), "{sync:?}");
    let recorded = recorded.lock().unwrap();
    let change = &recorded[0];
    let refund = &change.refund;
    assert_eq!((refund.amount, refund.platform_fee_reversed), (usd(30_00), usd(6_00)));
    assert_eq!(
        (refund.status, refund.origin, refund.requested_by),
        (RefundStatus::Processed, RefundOrigin::Gateway, None)
    );
    assert_eq!(refund.provider_refund_id.as_deref(), Some("re_dash"));
    assert_eq!((change.payment.from, change.payment.to), (PaymentStatus::Completed, PaymentStatus::PartiallyRefunded));
    assert_eq!((change.payment.refunded_before, change.payment.refunded_after), (usd(0), usd(30_00)));
    assert_eq!((change.journal.kind(), change.journal.entries().len()), (domain::ledger::JournalKind::Refund, 3));
    let events: Vec<EventType> = change.outbox.iter().map(|e| e.event_type).collect();
    assert_eq!(events, vec![EventType::RefundProcessed]);
    assert_eq!(sync.recorded, vec![refund.clone()]);
}

#[test]
fn the_refund_of_the_rest_takes_the_rest_of_the_fee_and_refunds_the_payment() {
    // 33.33 refunded before with 6.67 of fee: the rest, 66.67, takes 13.33.
    let before = RefundBuilder::new()
        .payment(PAYMENT)
        .amount(usd(33_33), usd(6_67))
        .status(RefundStatus::Processed)
        .provider_refund_id("re_first")
        .build();
    let records = vec![
        listed("re_first", 33_33, GatewayRefundState::Succeeded, None),
        listed("re_rest", 66_67, GatewayRefundState::Succeeded, None),
    ];
    let mut world = World::new(paid(33_33), records, vec![before.clone()]).recording(RecordRefundOutcome::Recorded);
    world.refunds.checkpoint();
    world.refunds.expect_find_by_provider_id().returning(move |id| Ok((id == "re_first").then(|| before.clone())));
    let processed = vec![RefundBuilder::new().amount(usd(33_33), usd(6_67)).status(RefundStatus::Processed).build()];
    world.refunds.expect_list().returning(move |_| Ok(Page { items: processed.clone(), next: None }));
    let recorded = world.recorded.clone();
    world.refunds.expect_record_processed().returning(move |change| {
        recorded.lock().unwrap().push(change);
        Ok(RecordRefundOutcome::Recorded)
    });
    // The first, already known and processed, is left as it is.
    world.refunds.expect_find().returning(|_| {
        Ok(Some(RefundBuilder::new().status(RefundStatus::Processed).provider_refund_id("re_first").build()))
    });
    let (service, recorded) = world.service();

    sync(&service);

    let recorded = recorded.lock().unwrap();
    assert_eq!(recorded.len(), 1, "only the new refund is recorded");
    let change = &recorded[0];
    assert_eq!((change.refund.amount, change.refund.platform_fee_reversed), (usd(66_67), usd(13_33)));
    assert_eq!(change.payment.to, PaymentStatus::Refunded);
    let events: Vec<EventType> = change.outbox.iter().map(|e| e.event_type).collect();
    assert_eq!(events, vec![EventType::RefundProcessed, EventType::PaymentRefunded]);
}

#[test]
fn a_refund_above_what_is_left_needs_attention_and_writes_nothing() {
    let records = vec![listed("re_big", 80_00, GatewayRefundState::Succeeded, None)];
    let mut world = World::new(paid(30_00), records, Vec::new());
    world.refunds.checkpoint();
    world.refunds.expect_find_by_provider_id().returning(|_| Ok(None));
    let processed = vec![RefundBuilder::new().amount(usd(30_00), usd(6_00)).status(RefundStatus::Processed).build()];
    world.refunds.expect_list().returning(move |_| Ok(Page { items: processed.clone(), next: None }));
    world.refunds.expect_record_processed().never();
    let (service, _) = world.service();

    let sync = sync(&service);

    assert!(sync.recorded.is_empty());
    assert_eq!(sync.needs_attention.len(), 1);
    assert!(sync.needs_attention[0].contains("re_big"), "{:?}", sync.needs_attention);
}

#[test]
fn a_refund_skillpay_made_is_settled_not_recorded_again() {
    // Skillpay's refund went to the gateway, but its answer was never
    // recorded: the list names it by Skillpay's id.
    let ours = RefundBuilder::new()
        .id(OURS)
        .payment(PAYMENT)
        .amount(usd(40_00), usd(8_00))
        .status(RefundStatus::Processing)
        .build();
    let records = vec![listed("re_ours", 40_00, GatewayRefundState::Succeeded, Some(&OURS.to_string()))];
    let mut world = World::new(paid(0), records, Vec::new());
    world.refunds.expect_record_processed().never();
    let stored = Arc::new(Mutex::new(ours));
    let found = stored.clone();
    world.refunds.expect_find().returning(move |_| Ok(Some(found.lock().unwrap().clone())));
    let changes: Shared<Vec<RefundChange>> = Arc::default();
    let (applied, seen) = (stored.clone(), changes.clone());
    world.refunds.expect_apply().returning(move |change| {
        let mut refund = applied.lock().unwrap();
        refund.status = change.to;
        refund.provider_refund_id = change.provider_refund_id.clone();
        seen.lock().unwrap().push(change);
        Ok(true)
    });
    let (service, _) = world.service();

    let sync = sync(&service);

    assert!(sync.recorded.is_empty() && sync.needs_attention.is_empty(), "{sync:?}");
    let refund = stored.lock().unwrap();
    assert_eq!(refund.status, RefundStatus::Processed);
    assert_eq!(refund.provider_refund_id.as_deref(), Some("re_ours"));
    assert!(changes.lock().unwrap()[0].journal.is_some(), "settled with its journal");
}

#[test]
fn a_replayed_refund_already_recorded_is_not_reported_twice() {
    let records = vec![listed("re_dash", 30_00, GatewayRefundState::Succeeded, None)];
    let (service, recorded) =
        World::new(paid(0), records, Vec::new()).recording(RecordRefundOutcome::AlreadyRecorded).service();

    let sync = sync(&service);

    assert_eq!(recorded.lock().unwrap().len(), 1, "the store decided");
    assert!(sync.recorded.is_empty() && sync.needs_attention.is_empty(), "{sync:?}");
}

#[test]
fn a_refund_still_pending_at_the_gateway_moves_no_money_yet() {
    let records = vec![listed("re_wait", 30_00, GatewayRefundState::Pending, None)];
    let mut world = World::new(paid(0), records, Vec::new());
    world.refunds.expect_record_processed().never();
    let (service, _) = world.service();

    assert_eq!(sync(&service), GatewayRefundSync::default());
}

#[test]
fn a_refund_of_a_payment_skillpay_does_not_know_needs_attention() {
    let mut world = World::new(paid(0), Vec::new(), Vec::new());
    world.payments.checkpoint();
    world.payments.expect_find_by_provider_id().returning(|_, _| Ok(None));
    world.refunds.expect_record_processed().never();
    let (service, _) = world.service();

    let sync = block_on(service.sync_payment_refunds(PaymentMethod::Stripe, "pi_elsewhere")).unwrap();

    assert_eq!(sync.needs_attention.len(), 1);
    assert!(sync.needs_attention[0].contains("pi_elsewhere"));
}

#[test]
fn a_refund_webhook_about_an_unknown_refund_reads_its_payment_at_the_gateway() {
    let records = vec![listed("re_dash", 30_00, GatewayRefundState::Succeeded, None)];
    let mut world = World::new(paid(0), records, Vec::new()).recording(RecordRefundOutcome::Recorded);
    world.gateway.expect_payment_of_refund().withf(|id| id == "re_dash").returning(|_| Ok("pi_1".to_owned()));
    let (service, recorded) = world.service();

    block_on(service.sync_refund_event(PaymentMethod::Stripe, "re_dash")).unwrap();

    assert_eq!(recorded.lock().unwrap().len(), 1);
}

#[test]
fn a_refund_the_gateway_does_not_know_needs_attention() {
    let mut world = World::new(paid(0), Vec::new(), Vec::new());
    world.gateway.expect_payment_of_refund().returning(|_| Err(GatewayError::UnknownPayment));
    let (service, _) = world.service();

    let sync = block_on(service.sync_refund_event(PaymentMethod::Stripe, "re_nowhere")).unwrap();

    assert!(sync.needs_attention[0].contains("re_nowhere"), "{sync:?}");
}
