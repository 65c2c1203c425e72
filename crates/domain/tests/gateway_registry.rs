//! The gateway registry: each capability is answered by the gateway that
//! declared it, absent ones are absent, a real payout rail wins over a
//! stand-in whatever the order of registration, a replacement reaches every
//! clone, and test-mode gateways next to live ones serve only those allowed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use domain::builders::gateway;
use domain::gateway_config::GatewayMode;
use domain::payment::PaymentMethod;
use domain::payout::PayoutMethod;
use domain::ports::{
    Capability, GatewayDescriptor, Gateways, MockDisputeGateway, MockPaymentGateway, MockPayoutGateway,
    MockRefundGateway, MockWebhookVerifier, TestModeNotAllowed, WebhookVerifiers,
};

fn rail(method: PayoutMethod, name: &'static str) -> Arc<MockPayoutGateway> {
    let mut rail = MockPayoutGateway::new();
    rail.expect_method().return_const(method);
    rail.expect_payout_status().returning(move |_| Err(domain::ports::GatewayError::Unavailable(name.to_owned())));
    Arc::new(rail)
}

/// Which rail `gateways` answers for `method` and `mode`'s money: the name
/// each mock carries.
fn rail_name_in(gateways: &Gateways, method: PayoutMethod, mode: GatewayMode) -> String {
    let rail = gateways.payout_gateways().for_payout(method, mode.is_live()).expect("a rail");
    match futures::executor::block_on(rail.payout_status("x")) {
        Err(domain::ports::GatewayError::Unavailable(name)) => name,
        other => panic!("{other:?}"),
    }
}

/// [`rail_name_in`] for test money (the mode of `gateway(...)`).
fn rail_name(gateways: &Gateways, method: PayoutMethod) -> String {
    rail_name_in(gateways, method, GatewayMode::Test)
}

#[test]
fn each_capability_comes_from_the_gateway_that_declared_it() {
    let mut verifier = MockWebhookVerifier::new();
    verifier.expect_provider().return_const(PaymentMethod::Stripe);
    let gateways = Gateways::new()
        .register(
            gateway(PaymentMethod::Stripe)
                .refunds(Arc::new(MockRefundGateway::new()))
                .disputes(Arc::new(MockDisputeGateway::new()))
                .webhooks(Arc::new(verifier)),
        )
        .register(gateway(PaymentMethod::Sandbox).refunds(Arc::new(MockRefundGateway::new())));

    assert_eq!(gateways.methods(), [PaymentMethod::Stripe, PaymentMethod::Sandbox]);
    assert!(gateways.for_method(PaymentMethod::Sandbox).is_some());
    assert!(gateways.refunds(PaymentMethod::Sandbox).is_some());
    assert!(gateways.disputes(PaymentMethod::Sandbox).is_none(), "the sandbox declared no disputes");
    assert!(gateways.disputes(PaymentMethod::Stripe).is_some());
    assert!(gateways.for_method(PaymentMethod::Paypal).is_none(), "not registered");
    assert_eq!(gateways.webhook_verifiers().len(), 1);
    let stripe = gateways.descriptors().into_iter().find(|g| g.method() == PaymentMethod::Stripe).unwrap();
    assert_eq!(
        stripe.capabilities(),
        [Capability::Payments, Capability::Refunds, Capability::Disputes, Capability::Webhooks]
    );
    assert_eq!(stripe.mode(), GatewayMode::Test);
}

#[test]
fn a_real_payout_rail_wins_over_a_stand_in_in_either_order() {
    let stand_in = || gateway(PaymentMethod::Sandbox).stand_in_payouts(rail(PayoutMethod::Paypal, "sandbox"));
    let real = || gateway(PaymentMethod::Paypal).payouts(rail(PayoutMethod::Paypal, "paypal"));

    let stand_in_first = Gateways::new().register(stand_in()).register(real());
    assert_eq!(rail_name(&stand_in_first, PayoutMethod::Paypal), "paypal");
    // Sandbox sorts after PayPal: the stand-in is met last and still loses.
    let real_first = Gateways::new().register(real()).register(stand_in());
    assert_eq!(rail_name(&real_first, PayoutMethod::Paypal), "paypal");

    let alone = Gateways::new().register(stand_in());
    assert_eq!(rail_name(&alone, PayoutMethod::Paypal), "sandbox", "with no real rail the stand-in serves");
    assert!(alone.payout_gateways().for_payout(PayoutMethod::StripeConnect, false).is_none());
}

#[test]
fn test_money_leaves_only_through_test_rails_and_live_money_only_through_live_ones() {
    let sandbox = gateway(PaymentMethod::Sandbox).stand_in_payouts(rail(PayoutMethod::StripeConnect, "sandbox"));
    let gateways = Gateways::new().register(sandbox).register(named_stripe(GatewayMode::Live, "live stripe"));
    let payouts = gateways.payout_gateways();

    assert_eq!(rail_name_in(&gateways, PayoutMethod::StripeConnect, GatewayMode::Live), "live stripe");
    assert_eq!(
        rail_name_in(&gateways, PayoutMethod::StripeConnect, GatewayMode::Test),
        "sandbox",
        "the live rail is real, yet test money still goes to the stand-in of its mode"
    );
    assert!(payouts.serves_live());

    let test_only = Gateways::new()
        .register(gateway(PaymentMethod::Sandbox).stand_in_payouts(rail(PayoutMethod::StripeConnect, "sandbox")));
    assert!(
        test_only.payout_gateways().for_payout(PayoutMethod::StripeConnect, true).is_none(),
        "the sandbox never sends live money"
    );
    assert!(!test_only.payout_gateways().serves_live());
}

#[test]
#[should_panic(expected = "a webhook verifier registered under another gateway")]
fn a_verifier_of_another_gateway_is_a_wiring_mistake() {
    let mut payments = MockPaymentGateway::new();
    payments.expect_method().return_const(PaymentMethod::Stripe);
    let mut verifier = MockWebhookVerifier::new();
    verifier.expect_provider().return_const(PaymentMethod::Paypal);
    let _ = GatewayDescriptor::new(GatewayMode::Live, Arc::new(payments)).webhooks(Arc::new(verifier));
}

/// A Stripe gateway in `mode` whose `status` answers with `name`, so a
/// test can tell two of them apart.
fn named_stripe(mode: GatewayMode, name: &'static str) -> GatewayDescriptor {
    let mut payments = MockPaymentGateway::new();
    payments.expect_method().return_const(PaymentMethod::Stripe);
    payments.expect_status().returning(move |_| Err(domain::ports::GatewayError::Unavailable(name.to_owned())));
    let mut verifier = MockWebhookVerifier::new();
    verifier.expect_provider().return_const(PaymentMethod::Stripe);
    verifier.expect_read_stored().returning(move |_| Err(domain::ports::WebhookError::Malformed(name.to_owned())));
    GatewayDescriptor::new(mode, Arc::new(payments))
        .payouts(rail(PayoutMethod::StripeConnect, name))
        .webhooks(Arc::new(verifier))
}

fn name_of(gateway: &Arc<dyn domain::ports::PaymentGateway>) -> String {
    match futures::executor::block_on(gateway.status("pi_1")) {
        Err(domain::ports::GatewayError::Unavailable(name)) => name,
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_clone_sees_a_replacement_and_a_gateway_handed_out_before_keeps_working() {
    let served = Gateways::new().register(named_stripe(GatewayMode::Test, "old key"));
    let held_by_a_use_case = served.clone();
    let payouts = held_by_a_use_case.payout_gateways();
    let verifiers = WebhookVerifiers::from(held_by_a_use_case.clone());
    let in_flight = held_by_a_use_case.for_method(PaymentMethod::Stripe).unwrap();

    served.replace(&Gateways::new().register(named_stripe(GatewayMode::Live, "new key")));

    assert_eq!(name_of(&held_by_a_use_case.for_method(PaymentMethod::Stripe).unwrap()), "new key");
    assert_eq!(held_by_a_use_case.descriptors()[0].mode(), GatewayMode::Live);
    assert_eq!(rail_name_in(&held_by_a_use_case, PayoutMethod::StripeConnect, GatewayMode::Live), "new key");
    let rail = payouts.for_payout(PayoutMethod::StripeConnect, true).unwrap();
    assert!(matches!(
        futures::executor::block_on(rail.payout_status("x")),
        Err(domain::ports::GatewayError::Unavailable(name)) if name == "new key"
    ));
    let verifier = verifiers.get(&PaymentMethod::Stripe).unwrap();
    assert!(matches!(
        verifier.read_stored(&serde_json::Value::Null),
        Err(domain::ports::WebhookError::Malformed(name)) if name == "new key"
    ));
    assert_eq!(name_of(&in_flight), "old key", "a request in flight finishes on the gateway it started with");

    served.replace(&Gateways::new());
    assert!(held_by_a_use_case.for_method(PaymentMethod::Stripe).is_none(), "a removed gateway is gone for all");
    assert!(verifiers.get(&PaymentMethod::Stripe).is_none());
}

fn live_stripe() -> GatewayDescriptor {
    let mut payments = MockPaymentGateway::new();
    payments.expect_method().return_const(PaymentMethod::Stripe);
    GatewayDescriptor::new(GatewayMode::Live, Arc::new(payments))
}

#[test]
fn next_to_a_live_gateway_a_test_mode_one_serves_only_callers_allowed_test_mode() {
    use domain::usecases::{Actor, Role, TestMode};
    let student = Actor::new(domain::ids::UserId::new(7), Role::Student);
    let tester = student.with_test_mode(TestMode::Allowed);
    let instructor = Actor::new(domain::ids::UserId::new(8), Role::Instructor);
    let admin = Actor::new(domain::ids::UserId::new(1), Role::Admin);
    let test_only = Gateways::new().register(gateway(PaymentMethod::Sandbox));
    let mixed = Gateways::new().register(gateway(PaymentMethod::Sandbox)).register(live_stripe());
    let refused = Err(TestModeNotAllowed(PaymentMethod::Sandbox));

    let admitted =
        |gateways: &Gateways, method, actor: Actor| gateways.for_payment_by(method, &actor).map(|g| g.is_some());
    for actor in [student, tester, instructor, admin] {
        assert_eq!(admitted(&test_only, PaymentMethod::Sandbox, actor), Ok(true), "only test mode served: {actor:?}");
        assert_eq!(admitted(&mixed, PaymentMethod::Stripe, actor), Ok(true), "the live method: {actor:?}");
        assert_eq!(admitted(&mixed, PaymentMethod::Paypal, actor), Ok(false), "not served: {actor:?}");
    }
    assert_eq!(admitted(&mixed, PaymentMethod::Sandbox, student), refused);
    assert_eq!(admitted(&mixed, PaymentMethod::Sandbox, instructor), refused);
    assert_eq!(admitted(&mixed, PaymentMethod::Sandbox, tester), Ok(true));
    assert_eq!(admitted(&mixed, PaymentMethod::Sandbox, admin), Ok(true));
}
