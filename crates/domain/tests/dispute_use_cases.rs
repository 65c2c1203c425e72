//! DisputeService against mocked ports: the copy of a dispute follows what
//! the gateway says one guarded step at a time (hold, then decide), admins
//! open and decide the disputes no gateway knows, and evidence goes only to
//! open disputes at a gateway. The dispute and payment stores are small
//! in-memory stand-ins that apply each recorded step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::builders::{DisputeBuilder, PaymentBuilder, gateway};
use domain::dispute::{Dispute, DisputeEvent, DisputeStatus, DisputeTransitionError};
use domain::ids::{DisputeId, PaymentId};
use domain::outbox::EventType;
use domain::payment::{Payment, PaymentMethod, PaymentStatus};
use domain::ports::{
    DisputeChange, DisputeEvidence, GatewayDispute, Gateways, MockDisputeGateway, MockDisputeRepository,
    MockPaymentRepository,
};
use domain::usecases::Forbidden;
use domain::usecases::disputes::{DisputeError, DisputeFeePolicy, DisputePorts, DisputeService, ManualDispute};
use futures::executor::block_on;
use mockall::predicate::eq;
use support::*;
use uuid::Uuid;

const PAYMENT: PaymentId = PaymentId::from_uuid(Uuid::from_u128(0xA1));
const DISPUTE: DisputeId = DisputeId::from_uuid(Uuid::from_u128(0xD1));

/// A completed 100.00 Stripe payment (`pi_1`), 20.00 of it platform fee.
fn paid() -> Payment {
    PaymentBuilder::new()
        .id(PAYMENT)
        .user(STUDENT)
        .instructor(INSTRUCTOR)
        .method(PaymentMethod::Stripe)
        .provider_payment_id("pi_1")
        .price(usd(10_000))
        .created_at(now())
        .completed()
        .build()
}

/// What the gateway says about dispute `dp_1` of [`paid`].
fn seen(status: DisputeStatus, amount: i64) -> GatewayDispute {
    GatewayDispute {
        provider_payment_id: "pi_1".into(),
        amount: usd(amount),
        reason: "fraudulent".into(),
        status,
        evidence_due_by: None,
    }
}

type Shared<T> = Arc<Mutex<T>>;

/// The service and what its stores hold: the dispute, the steps recorded, the payment.
type Running = (DisputeService, Shared<Option<Dispute>>, Shared<Vec<DisputeChange>>, Shared<Payment>);

/// The ports; the stores keep one payment and at most one dispute.
struct World {
    gateway: MockDisputeGateway,
    payment: Shared<Payment>,
    dispute: Shared<Option<Dispute>>,
    steps: Shared<Vec<DisputeChange>>,
}

impl World {
    fn new() -> World {
        World {
            gateway: MockDisputeGateway::new(),
            payment: Arc::new(Mutex::new(paid())),
            dispute: Arc::default(),
            steps: Arc::default(),
        }
    }

    fn holding(self, dispute: Dispute) -> World {
        *self.dispute.lock().unwrap() = Some(dispute);
        self
    }

    /// The gateway says `seen` about `dp_1`.
    fn gateway_says(mut self, seen: GatewayDispute) -> World {
        self.gateway.expect_dispute().with(eq("dp_1")).returning(move |_| Ok(seen.clone()));
        self
    }

    fn service(self) -> Running {
        let mut payments = MockPaymentRepository::new();
        let payment = self.payment.clone();
        payments.expect_find().returning(move |id| Ok(Some(payment.lock().unwrap().clone()).filter(|p| p.id == id)));
        let payment = self.payment.clone();
        payments.expect_find_by_provider_id().returning(move |_, provider_id| {
            let payment = payment.lock().unwrap().clone();
            Ok((payment.provider_payment_id.as_deref() == Some(provider_id.as_str())).then_some(payment))
        });
        let mut disputes = MockDisputeRepository::new();
        let dispute = self.dispute.clone();
        disputes.expect_find().returning(move |_| Ok(dispute.lock().unwrap().clone()));
        let dispute = self.dispute.clone();
        disputes.expect_find_by_provider_id().returning(move |provider_id| {
            Ok(dispute.lock().unwrap().clone().filter(|d| d.provider_dispute_id == provider_id))
        });
        let (dispute, steps, payment) = (self.dispute.clone(), self.steps.clone(), self.payment.clone());
        disputes.expect_record().returning(move |step: DisputeChange| {
            *dispute.lock().unwrap() = Some(step.dispute.clone());
            if let Some(update) = &step.payment {
                payment.lock().unwrap().status = update.to;
            }
            steps.lock().unwrap().push(step);
            Ok(true)
        });
        let ports = DisputePorts {
            disputes: Arc::new(disputes),
            payments: Arc::new(payments),
            gateways: Gateways::new().register(gateway(PaymentMethod::Stripe).disputes(Arc::new(self.gateway))),
            clock: fixed_clock(),
            ids: sequential_ids(),
        };
        let fees = DisputeFeePolicy { fees: HashMap::new(), bearer: None };
        (DisputeService::new(ports, fees), self.dispute, self.steps, self.payment)
    }
}

fn events(step: &DisputeChange) -> Vec<EventType> {
    step.outbox.iter().map(|e| e.event_type).collect()
}

// --- following the gateway --------------------------------------------------

#[test]
fn a_new_dispute_holds_its_amount_and_the_fee_part_and_marks_the_payment_disputed() {
    let world = World::new().gateway_says(seen(DisputeStatus::NeedsResponse, 5_000));
    let (service, _, steps, payment) = world.service();

    let dispute = block_on(service.sync(PaymentMethod::Stripe, "dp_1")).unwrap().unwrap();

    assert_eq!(
        (dispute.status, dispute.payment_id, dispute.amount),
        (DisputeStatus::NeedsResponse, PAYMENT, usd(5_000))
    );
    assert_eq!(dispute.fee_held, usd(1_000), "half the payment disputed holds half its fee");
    let steps = steps.lock().unwrap();
    assert_eq!(steps.len(), 1);
    assert!(steps[0].journal.is_some());
    assert_eq!(events(&steps[0]), [EventType::DisputeOpened]);
    assert!(matches!(payment.lock().unwrap().status, PaymentStatus::Disputed(_)));
}

#[test]
fn a_dispute_first_seen_lost_is_held_then_lost_in_two_steps() {
    let world = World::new().gateway_says(seen(DisputeStatus::Lost, 10_000));
    let (service, _, steps, _) = world.service();

    let dispute = block_on(service.sync(PaymentMethod::Stripe, "dp_1")).unwrap().unwrap();

    assert_eq!((dispute.status, dispute.resolved_at), (DisputeStatus::Lost, Some(now())));
    let steps = steps.lock().unwrap();
    let statuses: Vec<_> = steps.iter().map(|s| s.dispute.status).collect();
    assert_eq!(statuses, [DisputeStatus::NeedsResponse, DisputeStatus::Lost]);
    assert_eq!(events(&steps[1]), [EventType::DisputeClosed]);
    assert!(steps.iter().all(|s| s.journal.is_some()), "the hold and the loss are both journalled");
}

#[test]
fn a_won_dispute_releases_the_hold_and_gives_the_payment_its_status_back() {
    let world = World::new().gateway_says(seen(DisputeStatus::NeedsResponse, 10_000));
    let (service, _, steps, payment) = world.service();
    block_on(service.sync(PaymentMethod::Stripe, "dp_1")).unwrap();

    // The same stores, now that the gateway says the dispute is won.
    let mut won = World::new().gateway_says(seen(DisputeStatus::Won, 10_000));
    won.payment = payment;
    won.dispute = Arc::new(Mutex::new(last_recorded(&steps)));
    let (service, _, won_steps, payment) = won.service();
    let dispute = block_on(service.sync(PaymentMethod::Stripe, "dp_1")).unwrap().unwrap();

    assert_eq!(dispute.status, DisputeStatus::Won);
    let won_steps = won_steps.lock().unwrap();
    assert_eq!(won_steps.len(), 1);
    assert!(won_steps[0].journal.is_some(), "the release is journalled");
    assert_eq!(events(&won_steps[0]), [EventType::DisputeClosed]);
    assert_eq!(payment.lock().unwrap().status, PaymentStatus::Completed);
}

/// The dispute the last recorded step left.
fn last_recorded(steps: &Shared<Vec<DisputeChange>>) -> Option<Dispute> {
    steps.lock().unwrap().last().map(|s| s.dispute.clone())
}

#[test]
fn the_same_news_twice_changes_nothing_and_a_decided_dispute_stays_decided() {
    let lost =
        DisputeBuilder::new().id(DISPUTE).payment(PAYMENT).status(DisputeStatus::Lost).resolved_at(now()).build();
    for (stored, news) in [
        (DisputeBuilder::new().id(DISPUTE).payment(PAYMENT).build(), DisputeStatus::NeedsResponse),
        (lost, DisputeStatus::Won),
    ] {
        let (service, dispute, steps, _) =
            World::new().holding(stored.clone()).gateway_says(seen(news, 4_999)).service();

        assert_eq!(block_on(service.sync(PaymentMethod::Stripe, "dp_1")).unwrap(), Some(stored.clone()));
        assert!(steps.lock().unwrap().is_empty());
        assert_eq!(dispute.lock().unwrap().as_ref(), Some(&stored));
    }
}

#[test]
fn a_dispute_about_a_payment_we_did_not_make_is_left_alone() {
    let mut news = seen(DisputeStatus::NeedsResponse, 1_000);
    news.provider_payment_id = "pi_someone_else".into();
    let (service, dispute, steps, _) = World::new().gateway_says(news).service();

    assert_eq!(block_on(service.sync(PaymentMethod::Stripe, "dp_1")), Ok(None));
    assert!(steps.lock().unwrap().is_empty() && dispute.lock().unwrap().is_none());
}

// --- disputes opened by an admin --------------------------------------------

fn manual(amount: Option<i64>, reason: &str) -> ManualDispute {
    ManualDispute { payment_id: PAYMENT, amount: amount.map(usd), reason: reason.into(), evidence_due_by: None }
}

#[test]
fn an_admin_opens_a_dispute_no_gateway_knows_and_decides_it() {
    let (service, _, steps, _) = World::new().service();

    let opened = block_on(service.open(admin(), manual(Some(3_000), "chargeback by letter"))).unwrap();

    assert!(opened.provider_dispute_id.starts_with("manual_"), "{}", opened.provider_dispute_id);
    assert_eq!((opened.status, opened.amount), (DisputeStatus::NeedsResponse, usd(3_000)));
    let lost = block_on(service.resolve(admin(), opened.id, false)).unwrap();
    assert_eq!(lost.status, DisputeStatus::Lost);
    assert_eq!(steps.lock().unwrap().len(), 2);
    assert_eq!(
        block_on(service.resolve(admin(), opened.id, true)),
        Err(DisputeError::Transition(DisputeTransitionError { from: DisputeStatus::Lost, event: DisputeEvent::Win }))
    );
    assert_eq!(block_on(service.resolve(admin(), opened.id, false)), Ok(lost), "the same decision again is a no-op");
    let steps = steps.lock().unwrap();
    assert_eq!(steps.len(), 2, "a refused or repeated decision records nothing");
    assert!(steps.iter().all(|s| s.by == Some(admin())), "each step is the admin's, for the audit log");
}

#[test]
fn opening_by_hand_needs_an_admin_a_reason_and_an_amount_within_the_payment() {
    let (service, _, steps, _) = World::new().service();

    assert_eq!(block_on(service.open(student(), manual(None, "mine"))), Err(DisputeError::Forbidden(Forbidden)));
    assert_eq!(
        block_on(service.open(admin(), manual(None, "  "))),
        Err(DisputeError::InvalidEvidence { field: "reason" })
    );
    for amount in [0, 10_001] {
        assert_eq!(
            block_on(service.open(admin(), manual(Some(amount), "bank letter"))),
            Err(DisputeError::InvalidAmount)
        );
    }
    assert!(steps.lock().unwrap().is_empty());
}

#[test]
fn a_gateway_s_dispute_is_decided_by_the_gateway_not_by_an_admin() {
    let at_gateway = DisputeBuilder::new().id(DISPUTE).payment(PAYMENT).build();
    let (service, _, steps, _) = World::new().holding(at_gateway).service();

    assert_eq!(block_on(service.resolve(admin(), DISPUTE, true)), Err(DisputeError::DecidedByGateway));
    assert!(steps.lock().unwrap().is_empty());
}

// --- evidence and acceptance ------------------------------------------------

fn evidence(explanation: &str) -> DisputeEvidence {
    DisputeEvidence { explanation: explanation.into(), product_description: None, customer_email: None }
}

#[test]
fn evidence_goes_to_the_gateway_and_the_dispute_follows_its_answer() {
    let mut world =
        World::new().holding(DisputeBuilder::new().id(DISPUTE).payment(PAYMENT).amount(usd(4_999), usd(999)).build());
    world
        .gateway
        .expect_submit_dispute_evidence()
        .withf(|id, evidence| id == "dp_1" && evidence.explanation == "The student finished the course.")
        .times(1)
        .returning(|_, _| Ok(seen(DisputeStatus::UnderReview, 4_999)));
    let world = world.gateway_says(seen(DisputeStatus::UnderReview, 4_999));
    let (service, _, _, _) = world.service();

    assert_eq!(
        block_on(service.submit_evidence(student(), DISPUTE, evidence("x"))),
        Err(DisputeError::Forbidden(Forbidden))
    );
    assert_eq!(
        block_on(service.submit_evidence(admin(), DISPUTE, evidence(" "))),
        Err(DisputeError::InvalidEvidence { field: "explanation" })
    );
    let reviewed = block_on(service.submit_evidence(admin(), DISPUTE, evidence("The student finished the course.")));

    assert_eq!(reviewed.unwrap().status, DisputeStatus::UnderReview);
}

#[test]
fn evidence_and_acceptance_are_refused_for_decided_and_hand_made_disputes() {
    let won = DisputeBuilder::new().id(DISPUTE).payment(PAYMENT).status(DisputeStatus::Won).build();
    let mut world = World::new().holding(won);
    world.gateway.expect_submit_dispute_evidence().never();
    world.gateway.expect_accept_dispute().never();
    let (service, dispute, _, _) = world.service();

    let refused = |event| Err(DisputeError::Transition(DisputeTransitionError { from: DisputeStatus::Won, event }));
    assert_eq!(
        block_on(service.submit_evidence(admin(), DISPUTE, evidence("late"))),
        refused(DisputeEvent::SubmitEvidence)
    );
    assert_eq!(block_on(service.accept(admin(), DISPUTE)), refused(DisputeEvent::Accept));

    *dispute.lock().unwrap() =
        Some(DisputeBuilder::new().id(DISPUTE).payment(PAYMENT).provider_dispute_id("manual_1").build());
    assert_eq!(block_on(service.accept(admin(), DISPUTE)), Err(DisputeError::NotAtGateway));
}

#[test]
fn evidence_goes_once_then_the_bank_decides() {
    let reviewed = DisputeBuilder::new().id(DISPUTE).payment(PAYMENT).status(DisputeStatus::UnderReview).build();
    let mut world = World::new().holding(reviewed);
    world.gateway.expect_submit_dispute_evidence().never();
    let (service, _, steps, _) = world.service();

    assert_eq!(
        block_on(service.submit_evidence(admin(), DISPUTE, evidence("more"))),
        Err(DisputeError::Transition(DisputeTransitionError {
            from: DisputeStatus::UnderReview,
            event: DisputeEvent::SubmitEvidence
        }))
    );
    assert!(steps.lock().unwrap().is_empty());
}

#[test]
fn accepting_a_lost_dispute_again_changes_nothing_and_asks_no_gateway() {
    let lost =
        DisputeBuilder::new().id(DISPUTE).payment(PAYMENT).status(DisputeStatus::Lost).resolved_at(now()).build();
    let mut world = World::new().holding(lost.clone());
    world.gateway.expect_accept_dispute().never();
    world.gateway.expect_dispute().never();
    let (service, _, steps, _) = world.service();

    assert_eq!(block_on(service.accept(admin(), DISPUTE)), Ok(lost));
    assert!(steps.lock().unwrap().is_empty());
}

#[test]
fn an_accepted_dispute_is_lost_on_the_admin_s_behalf_and_a_webhook_s_steps_on_no_one_s() {
    let open = DisputeBuilder::new().id(DISPUTE).payment(PAYMENT).amount(usd(4_999), usd(999)).build();
    let mut world = World::new().holding(open);
    world.gateway.expect_accept_dispute().with(eq("dp_1")).times(1).returning(|_| Ok(seen(DisputeStatus::Lost, 4_999)));
    let (service, _, steps, _) = world.gateway_says(seen(DisputeStatus::Lost, 4_999)).service();

    assert_eq!(block_on(service.accept(admin(), DISPUTE)).unwrap().status, DisputeStatus::Lost);
    let by: Vec<_> = steps.lock().unwrap().iter().map(|s| (s.dispute.status, s.by)).collect();
    assert_eq!(by, [(DisputeStatus::Lost, Some(admin()))]);

    let (service, _, steps, _) = World::new().gateway_says(seen(DisputeStatus::NeedsResponse, 4_999)).service();
    block_on(service.sync(PaymentMethod::Stripe, "dp_1")).unwrap();
    assert_eq!(steps.lock().unwrap()[0].by, None, "a webhook's step is the service's own");
}

#[test]
fn late_or_stale_reports_never_move_a_dispute_backwards() {
    for (stored, late) in [
        (DisputeStatus::Won, DisputeStatus::NeedsResponse),
        (DisputeStatus::Lost, DisputeStatus::UnderReview),
        (DisputeStatus::UnderReview, DisputeStatus::NeedsResponse),
        (DisputeStatus::NeedsResponse, DisputeStatus::WarningNeedsResponse),
    ] {
        let dispute = DisputeBuilder::new().id(DISPUTE).payment(PAYMENT).status(stored).build();
        let (service, kept, steps, payment) =
            World::new().holding(dispute.clone()).gateway_says(seen(late, 4_999)).service();
        let before = payment.lock().unwrap().status;

        assert_eq!(block_on(service.sync(PaymentMethod::Stripe, "dp_1")), Ok(Some(dispute.clone())), "{stored:?}");
        assert!(steps.lock().unwrap().is_empty(), "{stored:?} then {late:?} records nothing");
        assert_eq!(kept.lock().unwrap().as_ref(), Some(&dispute));
        assert_eq!(payment.lock().unwrap().status, before, "and moves no money");
    }
}
