//! PayoutService against mocked ports: who may ask for how much, what a
//! request reserves, and what approval, the gateway's answers and an
//! admin's bank-transfer marks leave behind. The payout store is a small
//! in-memory stand-in that applies each guarded change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use domain::builders::PayoutBuilder;
use domain::gateway_config::GatewayMode;
use domain::ids::PayoutId;
use domain::outbox::EventType;
use domain::payout::{Payout, PayoutDestination, PayoutMethod, PayoutStatus};
use domain::ports::{
    GatewayError, GatewayPayout, GatewayPayoutState, MockApprovalStore, MockEarningsRepository, MockPayoutGateway,
    MockPayoutRepository, NewPayout, PayoutChange, PayoutGateways, RequestPayoutStoreError,
};
use domain::usecases::Forbidden;
use domain::usecases::dual_control::{DualControl, SecondApprovalPolicy};
use domain::usecases::payouts::{PayoutError, PayoutPolicy, PayoutPorts, PayoutService};
use futures::executor::block_on;
use mockall::predicate::eq;
use support::*;
use uuid::Uuid;

const PAYOUT: PayoutId = PayoutId::from_uuid(Uuid::from_u128(0xB1));
const ACCOUNT: &str = "acct_1Nv0FGQ9RKHgCVdK";

fn connected() -> PayoutDestination {
    PayoutDestination::StripeConnect { account_id: ACCOUNT.into() }
}

fn bank() -> PayoutDestination {
    PayoutDestination::BankTransfer {
        account_holder: "Ada Lovelace".into(),
        account_number: "DE89370400440532013000".into(),
        bank_code: None,
    }
}

/// A payout of 50.00 by the instructor, in `status`, by `method`.
fn payout(method: PayoutMethod, status: PayoutStatus) -> Payout {
    PayoutBuilder::new()
        .id(PAYOUT)
        .instructor(INSTRUCTOR)
        .amount(usd(50_00))
        .method(method, "acct_****CVdK")
        .status(status)
        .created_at(now())
        .build()
}

type Shared<T> = Arc<Mutex<T>>;

/// The ports, as mocks; the store keeps one payout and applies changes to it.
struct World {
    payouts: MockPayoutRepository,
    gateway: Option<MockPayoutGateway>,
    stored: Shared<Payout>,
    changes: Shared<Vec<PayoutChange>>,
}

impl World {
    /// Stripe Connect payouts configured, bank transfers always available.
    fn new() -> World {
        let mut gateway = MockPayoutGateway::new();
        gateway.expect_method().return_const(PayoutMethod::StripeConnect);
        World {
            payouts: MockPayoutRepository::new(),
            gateway: Some(gateway),
            stored: Arc::new(Mutex::new(payout(PayoutMethod::BankTransfer, PayoutStatus::Requested))),
            changes: Arc::default(),
        }
    }

    fn gateway(&mut self) -> &mut MockPayoutGateway {
        self.gateway.as_mut().unwrap()
    }

    /// The store holds `payout` and applies every guarded change to it.
    fn holding(mut self, payout: Payout) -> World {
        *self.stored.lock().unwrap() = payout;
        let stored = self.stored.clone();
        self.payouts.expect_find().returning(move |_| Ok(Some(stored.lock().unwrap().clone())));
        let (stored, changes) = (self.stored.clone(), self.changes.clone());
        self.payouts.expect_apply().returning(move |change| {
            let mut payout = stored.lock().unwrap();
            if payout.status != change.from {
                return Ok(false);
            }
            payout.status = change.to;
            payout.transaction_id = change.transaction_id.clone().or(payout.transaction_id.clone());
            payout.failure_reason = change.failure_reason.clone().or(payout.failure_reason.clone());
            if change.to == PayoutStatus::Paid {
                payout.paid_at = Some(change.at);
            }
            changes.lock().unwrap().push(change);
            Ok(true)
        });
        self
    }

    fn service(self) -> (PayoutService, Shared<Payout>, Shared<Vec<PayoutChange>>) {
        let clock = fixed_clock();
        let gateways = match self.gateway {
            Some(gateway) => PayoutGateways::new().with(Arc::new(gateway), GatewayMode::Live),
            None => PayoutGateways::new(),
        };
        let ports = PayoutPorts {
            payouts: Arc::new(self.payouts),
            earnings: Arc::new(MockEarningsRepository::new()),
            gateways,
            clock: clock.clone(),
            ids: sequential_ids(),
            dual_control: DualControl::new(SecondApprovalPolicy::default(), Arc::new(MockApprovalStore::new()), clock),
        };
        (PayoutService::new(ports, PayoutPolicy::default()), self.stored, self.changes)
    }
}

// --- modes ------------------------------------------------------------------

#[test]
fn a_request_names_its_money_and_takes_live_money_where_live_rails_are_served() {
    let mut world = World::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    world.payouts.expect_request().returning(move |new: NewPayout| {
        kept.lock().unwrap().push((new.payout.livemode, new.journal.livemode()));
        Ok(new.payout)
    });
    let (service, _, _) = world.service();
    let tester = instructor().with_test_mode(domain::actor::TestMode::Allowed);

    block_on(service.request(instructor(), usd(50_00), connected(), None)).unwrap();
    block_on(service.request(tester, usd(50_00), bank(), Some(true))).unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![(true, true), (true, true)], "live money, live journals");

    assert_eq!(
        block_on(service.request(instructor(), usd(50_00), connected(), Some(false))),
        Err(PayoutError::TestModeNotAllowed),
        "test money next to live rails only for callers allowed test mode"
    );
    assert_eq!(
        block_on(service.request(tester, usd(50_00), connected(), Some(false))),
        Err(PayoutError::MethodNotInMode { method: PayoutMethod::StripeConnect, livemode: false }),
        "the only Stripe Connect rail is live: test money cannot leave through it"
    );
    assert_eq!(
        block_on(service.request(tester, usd(50_00), bank(), Some(false))),
        Err(PayoutError::MethodNotInMode { method: PayoutMethod::BankTransfer, livemode: false }),
        "nobody is asked to wire money for a test balance next to live gateways"
    );
}

#[test]
fn where_only_test_rails_are_served_a_request_takes_test_money_and_bank_transfers_rehearse() {
    let mut world = World::new();
    world.gateway = None;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    world.payouts.expect_request().returning(move |new: NewPayout| {
        kept.lock().unwrap().push(new.payout.livemode);
        Ok(new.payout)
    });
    let (service, _, _) = world.service();

    block_on(service.request(instructor(), usd(50_00), bank(), None)).unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![false]);
    assert_eq!(
        block_on(service.request(instructor(), usd(50_00), connected(), None)),
        Err(PayoutError::MethodUnavailable(PayoutMethod::StripeConnect))
    );
}

#[test]
fn an_approved_test_payout_is_never_sent_through_a_live_rail() {
    let mut world = World::new();
    // The live rail must not be called.
    world.gateway().expect_send().never();
    let mut test_payout = payout(PayoutMethod::StripeConnect, PayoutStatus::Requested);
    test_payout.livemode = false;
    let (service, stored, _) = world.holding(test_payout).service();
    assert_eq!(
        block_on(service.approve(admin(), PAYOUT, None)),
        Err(PayoutError::MethodNotInMode { method: PayoutMethod::StripeConnect, livemode: false })
    );
    assert_eq!(stored.lock().unwrap().status, PayoutStatus::Requested, "nothing changed");
}

// --- request ----------------------------------------------------------------

#[test]
fn an_instructor_s_request_reserves_the_amount_with_a_journal_and_an_event() {
    let mut world = World::new();
    let sent = Arc::new(Mutex::new(None));
    let seen = sent.clone();
    world.payouts.expect_request().times(1).returning(move |new: NewPayout| {
        *seen.lock().unwrap() = Some(new.clone());
        Ok(new.payout)
    });
    let (service, _, _) = world.service();

    let payout = block_on(service.request(instructor(), usd(50_00), connected(), None)).unwrap();

    assert_eq!((payout.instructor_id, payout.amount, payout.status), (INSTRUCTOR, usd(50_00), PayoutStatus::Requested));
    assert_eq!((payout.method, payout.destination_masked.as_str()), (PayoutMethod::StripeConnect, "acct_****CVdK"));
    let new = sent.lock().unwrap().clone().unwrap();
    assert_eq!(new.destination, connected(), "the full destination goes to the store, to be sealed there");
    assert_eq!(new.journal.payout_id(), Some(payout.id), "the reservation is journalled with the request");
    let events: Vec<_> = new.outbox.iter().map(|e| e.event_type).collect();
    assert_eq!(events, [EventType::PayoutRequested]);
}

#[test]
fn only_instructors_ask_and_only_for_a_positive_amount_above_the_minimum() {
    let mut world = World::new();
    world.payouts.expect_request().never();
    let (service, _, _) = world.service();

    assert_eq!(block_on(service.request(student(), usd(50_00), bank(), None)), Err(PayoutError::Forbidden(Forbidden)));
    assert_eq!(block_on(service.request(admin(), usd(50_00), bank(), None)), Err(PayoutError::Forbidden(Forbidden)));
    assert_eq!(block_on(service.request(instructor(), usd(0), bank(), None)), Err(PayoutError::InvalidAmount));
    assert_eq!(
        block_on(service.request(instructor(), usd(9_99), bank(), None)),
        Err(PayoutError::BelowMinimum { minimum: usd(10_00) })
    );
}

#[test]
fn a_method_without_a_gateway_is_unavailable_before_anything_is_reserved() {
    let mut world = World::new();
    world.gateway = None;
    world.payouts.expect_request().never();
    let (service, _, _) = world.service();

    assert_eq!(
        block_on(service.request(instructor(), usd(50_00), connected(), None)),
        Err(PayoutError::MethodUnavailable(PayoutMethod::StripeConnect))
    );
}

#[test]
fn the_store_s_balance_check_decides_and_its_answer_reaches_the_caller() {
    let mut world = World::new();
    world
        .payouts
        .expect_request()
        .returning(|_| Err(RequestPayoutStoreError::InsufficientBalance { available: usd(30_00) }));
    let (service, _, _) = world.service();

    assert_eq!(
        block_on(service.request(instructor(), usd(50_00), bank(), None)),
        Err(PayoutError::InsufficientBalance { available: usd(30_00) })
    );
}

// --- approve ----------------------------------------------------------------

#[test]
fn an_approved_payout_the_gateway_pays_is_paid_with_its_journal_and_event() {
    let mut world = World::new().holding(payout(PayoutMethod::StripeConnect, PayoutStatus::Requested));
    world.payouts.expect_destination().with(eq(PAYOUT)).returning(|_| Ok(Some(connected())));
    world
        .gateway()
        .expect_send()
        .withf(|payout, destination| payout.status == PayoutStatus::Processing && *destination == connected())
        .times(1)
        .returning(|_, _| Ok(GatewayPayout { provider_payout_id: "tr_1".into(), state: GatewayPayoutState::Paid }));
    let (service, _, changes) = world.service();

    let paid = block_on(service.approve(admin(), PAYOUT, None)).unwrap();

    assert_eq!(
        (paid.status, paid.transaction_id.as_deref(), paid.paid_at),
        (PayoutStatus::Paid, Some("tr_1"), Some(now()))
    );
    let changes = changes.lock().unwrap();
    let statuses: Vec<_> = changes.iter().map(|c| c.to).collect();
    assert_eq!(statuses, [PayoutStatus::Approved, PayoutStatus::Processing, PayoutStatus::Paid]);
    let last = changes.last().unwrap();
    assert!(last.journal.is_some());
    assert_eq!(last.outbox.iter().map(|e| e.event_type).collect::<Vec<_>>(), [EventType::PayoutPaid]);
}

#[test]
fn a_refusal_fails_the_payout_and_returns_the_money_while_an_outage_leaves_it_processing() {
    let mut refused = World::new().holding(payout(PayoutMethod::StripeConnect, PayoutStatus::Requested));
    refused.payouts.expect_destination().returning(|_| Ok(Some(connected())));
    refused.gateway().expect_send().returning(|_, _| Err(GatewayError::InvalidRequest("account closed".into())));
    let (service, _, changes) = refused.service();
    let failed = block_on(service.approve(admin(), PAYOUT, None)).unwrap();
    assert_eq!(
        (failed.status, failed.failure_reason.as_deref()),
        (PayoutStatus::Failed, Some("refused by the gateway"))
    );
    let last = changes.lock().unwrap().last().cloned().unwrap();
    assert!(last.journal.is_some(), "the reserved money is journalled back");
    assert_eq!(last.outbox.iter().map(|e| e.event_type).collect::<Vec<_>>(), [EventType::PayoutFailed]);

    let mut down = World::new().holding(payout(PayoutMethod::StripeConnect, PayoutStatus::Requested));
    down.payouts.expect_destination().returning(|_| Ok(Some(connected())));
    down.gateway().expect_send().returning(|_, _| Err(GatewayError::Unavailable("timeout".into())));
    let (service, stored, _) = down.service();
    assert_eq!(
        block_on(service.approve(admin(), PAYOUT, None)),
        Err(PayoutError::Gateway(GatewayError::Unavailable("timeout".into())))
    );
    assert_eq!(stored.lock().unwrap().status, PayoutStatus::Processing, "approving again retries it");
}

#[test]
fn a_bank_transfer_waits_in_processing_for_the_admin_who_sends_it() {
    let mut world = World::new().holding(payout(PayoutMethod::BankTransfer, PayoutStatus::Requested));
    world.gateway().expect_send().never();
    world.payouts.expect_find_by_transaction_id().returning(|_, _| Ok(None));
    let (service, _, _) = world.service();

    let approved = block_on(service.approve(admin(), PAYOUT, None)).unwrap();
    assert_eq!(approved.status, PayoutStatus::Processing);

    assert_eq!(block_on(service.mark_paid(admin(), PAYOUT, " \n ".into())), Err(PayoutError::InvalidNote));
    let paid = block_on(service.mark_paid(admin(), PAYOUT, "SEPA-2026-0042".into())).unwrap();
    assert_eq!((paid.status, paid.transaction_id.as_deref()), (PayoutStatus::Paid, Some("SEPA-2026-0042")));
}

#[test]
fn a_bank_reference_names_one_transfer_and_gateway_payouts_are_not_marked_by_hand() {
    let mut world = World::new().holding(payout(PayoutMethod::BankTransfer, PayoutStatus::Processing));
    let other = PayoutBuilder::new().id(PayoutId::from_uuid(Uuid::from_u128(0xB2))).build();
    world.payouts.expect_find_by_transaction_id().returning(move |_, _| Ok(Some(other.clone())));
    let (service, stored, changes) = world.service();

    assert_eq!(block_on(service.mark_paid(admin(), PAYOUT, "SEPA-1".into())), Err(PayoutError::ReferenceInUse));
    assert!(changes.lock().unwrap().is_empty());

    *stored.lock().unwrap() = payout(PayoutMethod::StripeConnect, PayoutStatus::Processing);
    assert_eq!(block_on(service.mark_paid(admin(), PAYOUT, "SEPA-2".into())), Err(PayoutError::NotManual));
    assert_eq!(block_on(service.mark_failed(admin(), PAYOUT, "bounced".into())), Err(PayoutError::NotManual));
}

// --- reject and cancel ------------------------------------------------------

#[test]
fn an_admin_rejects_with_a_reason_and_the_money_is_returned() {
    let (service, _, changes) =
        World::new().holding(payout(PayoutMethod::BankTransfer, PayoutStatus::Requested)).service();

    assert_eq!(block_on(service.reject(instructor(), PAYOUT, "no".into())), Err(PayoutError::Forbidden(Forbidden)));
    let rejected = block_on(service.reject(admin(), PAYOUT, "account name mismatch".into())).unwrap();

    assert_eq!(
        (rejected.status, rejected.failure_reason.as_deref()),
        (PayoutStatus::Rejected, Some("account name mismatch"))
    );
    assert!(changes.lock().unwrap()[0].journal.is_some(), "the reserved money is journalled back");
}

#[test]
fn only_the_instructor_who_asked_cancels_and_not_once_it_is_sent() {
    let (service, stored, _) =
        World::new().holding(payout(PayoutMethod::BankTransfer, PayoutStatus::Requested)).service();
    let other_instructor = domain::usecases::Actor::new(STRANGER, domain::usecases::Role::Instructor);

    assert_eq!(block_on(service.cancel(other_instructor, PAYOUT)), Err(PayoutError::NotFound));
    assert_eq!(block_on(service.cancel(instructor(), PAYOUT)).unwrap().status, PayoutStatus::Cancelled);

    *stored.lock().unwrap() = payout(PayoutMethod::BankTransfer, PayoutStatus::Processing);
    assert!(matches!(block_on(service.cancel(instructor(), PAYOUT)), Err(PayoutError::Illegal(_))));
}
