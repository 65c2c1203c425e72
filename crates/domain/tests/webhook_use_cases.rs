//! WebhookService against mocked ports: verification decides whether an
//! event is looked at, the log decides whether it is processed (once), and
//! each action reaches the one service it names. A port a test does not set
//! up is one the event must not touch (mockall fails the test if it does).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use domain::builders::PayoutBuilder;
use domain::payment::PaymentMethod;
use domain::payout::{PayoutMethod, PayoutStatus};
use domain::ports::{
    Gateways, MockApprovalStore, MockCatalog, MockCouponRepository, MockDisputeRepository, MockEarningsRepository,
    MockPaymentRepository, MockPayoutRepository, MockRefundRepository, MockWebhookLog, MockWebhookVerifier,
    PayoutGateways, ReplayClaim, StoreError, StoredWebhook, VerifiedWebhook, WebhookAction, WebhookClaim, WebhookError,
    WebhookRequest,
};
use domain::usecases::Forbidden;
use domain::usecases::disputes::{DisputeFeePolicy, DisputePorts, DisputeService};
use domain::usecases::dual_control::{DualControl, SecondApprovalPolicy};
use domain::usecases::payments::{PaymentPolicy, PaymentPorts, PaymentService};
use domain::usecases::payouts::{PayoutPolicy, PayoutPorts, PayoutService};
use domain::usecases::refunds::{RefundPorts, RefundService};
use domain::usecases::webhooks::{HandleWebhookError, ReplayWebhookError, WebhookOutcome, WebhookService};
use futures::executor::block_on;
use mockall::predicate::eq;
use serde_json::json;
use support::*;
use uuid::Uuid;

const LOG_ID: Uuid = Uuid::from_u128(0x10);

fn request() -> WebhookRequest {
    WebhookRequest { headers: vec![("Stripe-Signature".into(), "t=1,v1=ab".into())], body: b"{}".to_vec() }
}

fn event(action: WebhookAction) -> VerifiedWebhook {
    VerifiedWebhook {
        provider: PaymentMethod::Stripe,
        event_id: "evt_1".into(),
        event_type: "payment_intent.succeeded".into(),
        action,
        payload: json!({"id": "evt_1"}),
    }
}

/// Every port behind the webhook service, as mocks a test sets up.
struct World {
    verifier: MockWebhookVerifier,
    log: MockWebhookLog,
    payments: MockPaymentRepository,
    refunds: MockRefundRepository,
    disputes: MockDisputeRepository,
    payouts: MockPayoutRepository,
}

impl World {
    fn new() -> World {
        let mut verifier = MockWebhookVerifier::new();
        verifier.expect_provider().return_const(PaymentMethod::Stripe);
        World {
            verifier,
            log: MockWebhookLog::new(),
            payments: MockPaymentRepository::new(),
            refunds: MockRefundRepository::new(),
            disputes: MockDisputeRepository::new(),
            payouts: MockPayoutRepository::new(),
        }
    }

    /// A verifier that accepts the request as an event asking for `action`,
    /// and a log that hands it over for processing.
    fn verified(mut self, action: WebhookAction) -> World {
        self.verifier.expect_verify().times(1).returning(move |_| Ok(event(action.clone())));
        self.log.expect_record().times(1).returning(|_| Ok(WebhookClaim::Process(LOG_ID)));
        self
    }

    fn service(self) -> WebhookService {
        let (clock, ids) = (fixed_clock(), sequential_ids());
        let payments = Arc::new(self.payments);
        let dual_control =
            DualControl::new(SecondApprovalPolicy::default(), Arc::new(MockApprovalStore::new()), clock.clone());
        let payment_service = PaymentService::new(
            PaymentPorts {
                payments: payments.clone(),
                coupons: Arc::new(MockCouponRepository::new()),
                catalog: Arc::new(MockCatalog::new()),
                gateways: Gateways::new(),
                clock: clock.clone(),
                ids: ids.clone(),
            },
            PaymentPolicy {
                platform_fee_rate: percent(20),
                instructor_fee_rates: HashMap::new(),
                max_amount: domain::per_currency::PerCurrency::every(rust_decimal::Decimal::from(1_000_000_i64)),
                gateway_fee_bearer: domain::ledger::FeeBearer::Platform,
            },
        );
        let refunds = RefundService::new(
            RefundPorts {
                refunds: Arc::new(self.refunds),
                payments: payments.clone(),
                gateways: Gateways::new(),
                clock: clock.clone(),
                ids: ids.clone(),
                dual_control: dual_control.clone(),
            },
            14,
        );
        let disputes = DisputeService::new(
            DisputePorts {
                disputes: Arc::new(self.disputes),
                payments,
                gateways: Gateways::new(),
                clock: clock.clone(),
                ids: ids.clone(),
            },
            DisputeFeePolicy { fees: HashMap::new(), bearer: None },
        );
        let payouts = PayoutService::new(
            PayoutPorts {
                payouts: Arc::new(self.payouts),
                earnings: Arc::new(MockEarningsRepository::new()),
                gateways: PayoutGateways::new(),
                clock,
                ids,
                dual_control,
            },
            PayoutPolicy::default(),
        );
        WebhookService::new(
            vec![Arc::new(self.verifier)],
            Arc::new(self.log),
            payment_service,
            refunds,
            disputes,
            payouts,
        )
    }
}

// --- handle -----------------------------------------------------------------

#[test]
fn a_gateway_without_a_verifier_is_not_configured_and_nothing_is_logged() {
    let mut world = World::new();
    world.log.expect_record().never();
    let service = world.service();

    assert_eq!(block_on(service.handle(PaymentMethod::Paypal, request())), Err(HandleWebhookError::NotConfigured));
}

#[test]
fn a_refused_signature_is_rejected_before_the_log_sees_it() {
    let mut world = World::new();
    world.verifier.expect_verify().returning(|_| Err(WebhookError::InvalidSignature("no v1".into())));
    world.log.expect_record().never();
    let service = world.service();

    assert_eq!(
        block_on(service.handle(PaymentMethod::Stripe, request())),
        Err(HandleWebhookError::Rejected(WebhookError::InvalidSignature("no v1".into())))
    );
}

#[test]
fn a_verifier_that_cannot_answer_asks_the_gateway_to_retry() {
    let mut world = World::new();
    world.verifier.expect_verify().returning(|_| Err(WebhookError::Unavailable("PayPal timed out".into())));
    world.log.expect_record().never();
    let service = world.service();

    assert_eq!(
        block_on(service.handle(PaymentMethod::Stripe, request())),
        Err(HandleWebhookError::VerificationUnavailable)
    );
}

#[test]
fn an_event_already_processed_or_being_processed_is_acknowledged_without_acting() {
    for (claim, outcome) in [
        (WebhookClaim::AlreadyProcessed, WebhookOutcome::Duplicate),
        (WebhookClaim::InProgress, WebhookOutcome::InProgress),
    ] {
        let mut world = World::new();
        let action = WebhookAction::SyncPayment { provider_payment_id: "pi_1".into() };
        world.verifier.expect_verify().returning(move |_| Ok(event(action.clone())));
        world.log.expect_record().times(1).returning(move |_| Ok(claim));
        world.log.expect_mark_processed().never();
        world.payments.expect_find_by_provider_id().never();
        let service = world.service();

        assert_eq!(block_on(service.handle(PaymentMethod::Stripe, request())), Ok(outcome));
    }
}

#[test]
fn an_ignored_event_is_logged_as_processed() {
    let mut world = World::new().verified(WebhookAction::Ignore);
    world.log.expect_mark_processed().with(eq(LOG_ID)).times(1).returning(|_| Ok(()));
    let service = world.service();

    assert_eq!(block_on(service.handle(PaymentMethod::Stripe, request())), Ok(WebhookOutcome::Processed));
}

#[test]
fn an_event_about_a_payment_we_did_not_make_is_acknowledged_and_changes_nothing() {
    let mut world = World::new().verified(WebhookAction::SyncPayment { provider_payment_id: "pi_other".into() });
    world
        .payments
        .expect_find_by_provider_id()
        .with(eq(PaymentMethod::Stripe), eq("pi_other".to_owned()))
        .times(1)
        .returning(|_, _| Ok(None));
    world.payments.expect_apply().never();
    world.log.expect_mark_processed().with(eq(LOG_ID)).times(1).returning(|_| Ok(()));
    let service = world.service();

    assert_eq!(block_on(service.handle(PaymentMethod::Stripe, request())), Ok(WebhookOutcome::Processed));
}

#[test]
fn a_failure_while_acting_is_logged_on_the_event_and_reported_for_a_retry() {
    let mut world = World::new().verified(WebhookAction::SyncRefund { provider_refund_id: "re_1".into() });
    world.refunds.expect_find_by_provider_id().returning(|_| Err(StoreError::Unavailable("db down".into())));
    world
        .log
        .expect_mark_failed()
        .withf(|id, error| *id == LOG_ID && error.contains("db down"))
        .times(1)
        .returning(|_, _| Ok(()));
    world.log.expect_mark_processed().never();
    let service = world.service();

    let answer = block_on(service.handle(PaymentMethod::Stripe, request()));

    assert!(matches!(&answer, Err(HandleWebhookError::ProcessingFailed(e)) if e.contains("db down")), "{answer:?}");
}

#[test]
fn a_payout_made_outside_the_service_is_acknowledged_and_left_alone() {
    let mut world = World::new().verified(WebhookAction::SyncPayout {
        method: PayoutMethod::StripeConnect,
        provider_payout_id: "tr_dashboard".into(),
    });
    world
        .payouts
        .expect_find_by_transaction_id()
        .with(eq(PayoutMethod::StripeConnect), eq("tr_dashboard".to_owned()))
        .times(1)
        .returning(|_, _| Ok(None));
    world.log.expect_mark_processed().times(1).returning(|_| Ok(()));
    let service = world.service();

    assert_eq!(block_on(service.handle(PaymentMethod::Stripe, request())), Ok(WebhookOutcome::Processed));
}

#[test]
fn money_refunded_at_the_gateway_for_an_unknown_payment_is_acknowledged_as_needing_attention() {
    let mut world =
        World::new().verified(WebhookAction::SyncPaymentRefunds { provider_payment_id: "pi_elsewhere".into() });
    world.payments.expect_find_by_provider_id().times(1).returning(|_, _| Ok(None));
    world.log.expect_mark_processed().never();
    world
        .log
        .expect_mark_needs_attention()
        .withf(|id, note| *id == LOG_ID && note.contains("pi_elsewhere"))
        .times(1)
        .returning(|_, _| Ok(()));
    let service = world.service();

    assert_eq!(block_on(service.handle(PaymentMethod::Stripe, request())), Ok(WebhookOutcome::Processed));
}

#[test]
fn a_late_event_about_a_failed_payout_leaves_it_failed() {
    let failed = PayoutBuilder::new().method(PayoutMethod::StripeConnect, "acct_****1").status(PayoutStatus::Failed);
    let failed = failed.transaction_id("tr_1").build();
    let mut world = World::new()
        .verified(WebhookAction::SyncPayout { method: PayoutMethod::StripeConnect, provider_payout_id: "tr_1".into() });
    let found = failed.clone();
    world.payouts.expect_find_by_transaction_id().times(1).returning(move |_, _| Ok(Some(found.clone())));
    world.payouts.expect_find().returning(move |_| Ok(Some(failed.clone())));
    world.payouts.expect_apply().never();
    world.log.expect_mark_processed().times(1).returning(|_| Ok(()));
    let service = world.service();

    assert_eq!(block_on(service.handle(PaymentMethod::Stripe, request())), Ok(WebhookOutcome::Processed));
}

// --- replay -----------------------------------------------------------------

#[test]
fn only_admins_replay_and_an_unknown_log_entry_is_not_found() {
    let mut world = World::new();
    world.log.expect_claim_for_replay().with(eq(LOG_ID)).times(1).returning(|_| Ok(None));
    let service = world.service();

    assert_eq!(block_on(service.replay(student(), LOG_ID)), Err(ReplayWebhookError::Forbidden(Forbidden)));
    assert_eq!(block_on(service.replay(admin(), LOG_ID)), Err(ReplayWebhookError::NotFound));
}

#[test]
fn a_replayed_event_is_read_from_the_log_acted_on_and_marked() {
    let mut world = World::new();
    let stored = StoredWebhook {
        id: LOG_ID,
        provider: PaymentMethod::Stripe,
        event_type: "payment_intent.succeeded".into(),
        payload: json!({"id": "evt_1"}),
    };
    world.log.expect_claim_for_replay().returning(move |_| Ok(Some(ReplayClaim::Claimed(stored.clone()))));
    world
        .verifier
        .expect_read_stored()
        .withf(|payload| payload["id"] == "evt_1")
        .returning(|_| Ok(WebhookAction::SyncPayment { provider_payment_id: "pi_gone".into() }));
    world.payments.expect_find_by_provider_id().times(1).returning(|_, _| Ok(None));
    world.log.expect_mark_processed().with(eq(LOG_ID)).times(1).returning(|_| Ok(()));
    let service = world.service();

    assert_eq!(block_on(service.replay(admin(), LOG_ID)), Ok(WebhookOutcome::Processed));
}

#[test]
fn a_stored_event_that_no_longer_reads_is_marked_failed() {
    let mut world = World::new();
    let stored = StoredWebhook {
        id: LOG_ID,
        provider: PaymentMethod::Stripe,
        event_type: "payment_intent.succeeded".into(),
        payload: json!({"garbled": true}),
    };
    world.log.expect_claim_for_replay().returning(move |_| Ok(Some(ReplayClaim::Claimed(stored.clone()))));
    world.verifier.expect_read_stored().returning(|_| Err(WebhookError::Malformed("no type".into())));
    world
        .log
        .expect_mark_failed()
        .withf(|id, error| *id == LOG_ID && error.contains("no type"))
        .times(1)
        .returning(|_, _| Ok(()));
    let service = world.service();

    assert!(matches!(block_on(service.replay(admin(), LOG_ID)), Err(ReplayWebhookError::ProcessingFailed(_))));
}
