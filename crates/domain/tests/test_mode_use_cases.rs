//! Test and live money kept apart: while a live gateway is served, a
//! payment with a test-mode gateway is only for admins and callers allowed
//! test mode; everyone else is refused before anything is read or written.
//! With only test-mode gateways (development, demos) anyone may use them.
//!
//! A mock with no expectation fails the test when called: a refused
//! request that read the catalog or stored a payment would fail here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use domain::builders::CreatePaymentBuilder;
use domain::gateway_config::GatewayMode;
use domain::payment::PaymentMethod;
use domain::ports::{
    GatewayDescriptor, GatewaySession, Gateways, MockCatalog, MockCouponRepository, MockPaymentGateway,
    MockPaymentRepository, NextAction, TestModeNotAllowed,
};
use domain::usecases::payments::{CreatePayment, CreatePaymentError, PaymentPolicy, PaymentPorts, PaymentService};
use domain::usecases::{Actor, TestMode};
use futures::executor::block_on;
use support::*;

/// A gateway of `method` in `mode`; when `sells`, it opens one session.
fn gateway(method: PaymentMethod, mode: GatewayMode, sells: bool) -> GatewayDescriptor {
    let mut gateway = MockPaymentGateway::new();
    gateway.expect_method().return_const(method);
    if sells {
        gateway.expect_create_session().times(1).returning(move |_| {
            Ok(GatewaySession { provider_payment_id: "session_1".to_owned(), next_action: NextAction::None })
        });
    }
    GatewayDescriptor::new(mode, Arc::new(gateway))
}

fn service(gateways: Gateways, payments: MockPaymentRepository, catalog: MockCatalog) -> PaymentService {
    let ports = PaymentPorts {
        payments: Arc::new(payments),
        // A refused request must not reach the coupons either.
        coupons: Arc::new(MockCouponRepository::new()),
        catalog: Arc::new(catalog),
        gateways,
        clock: fixed_clock(),
        ids: sequential_ids(),
    };
    let policy = PaymentPolicy {
        platform_fee_rate: percent(20),
        instructor_fee_rates: std::collections::HashMap::new(),
        max_amount: domain::per_currency::PerCurrency::every(rust_decimal::Decimal::from(10_000_i64)),
        gateway_fee_bearer: domain::ledger::FeeBearer::Platform,
    };
    PaymentService::new(ports, policy)
}

fn buy(method: PaymentMethod) -> CreatePayment {
    CreatePaymentBuilder::new().item(COURSE).method(method).build()
}

fn buy_with_coupon(method: PaymentMethod) -> CreatePayment {
    CreatePaymentBuilder::new().item(COURSE).method(method).coupon_code("FREE").build()
}

/// A service whose catalog and repository take one sale at 49.99.
fn selling(gateways: Gateways) -> PaymentService {
    let mut catalog = MockCatalog::new();
    catalog.expect_find().times(1).returning(|_| Ok(Some(course_at(usd(4999)))));
    let mut payments = MockPaymentRepository::new();
    payments.expect_create().times(1).returning(|new| Ok(new.payment));
    payments.expect_attach_provider_id().times(1).returning(|_, _| Ok(()));
    service(gateways, payments, catalog)
}

/// The sandbox next to a live Stripe; the gateway of `selling` (if any)
/// opens one session.
fn sandbox_next_to_live_stripe(selling: Option<PaymentMethod>) -> Gateways {
    let sells = |method| selling == Some(method);
    Gateways::new()
        .register(gateway(PaymentMethod::Sandbox, GatewayMode::Test, sells(PaymentMethod::Sandbox)))
        .register(gateway(PaymentMethod::Stripe, GatewayMode::Live, sells(PaymentMethod::Stripe)))
}

fn tester() -> Actor {
    student().with_test_mode(TestMode::Allowed)
}

#[test]
fn a_student_not_allowed_test_mode_is_refused_the_sandbox_next_to_live_and_nothing_is_read_or_written() {
    for actor in [student(), instructor()] {
        let refused = service(sandbox_next_to_live_stripe(None), MockPaymentRepository::new(), MockCatalog::new());
        for command in [buy(PaymentMethod::Sandbox), buy_with_coupon(PaymentMethod::Sandbox)] {
            assert_eq!(
                block_on(refused.create(actor, command)),
                Err(CreatePaymentError::TestModeNotAllowed(TestModeNotAllowed(PaymentMethod::Sandbox)))
            );
        }
    }
}

#[test]
fn a_caller_allowed_test_mode_and_an_admin_pay_with_the_sandbox_next_to_live() {
    for actor in [tester(), admin()] {
        let created = block_on(
            selling(sandbox_next_to_live_stripe(Some(PaymentMethod::Sandbox)))
                .create(actor, buy(PaymentMethod::Sandbox)),
        );
        assert_eq!(created.map(|c| c.payment.method), Ok(PaymentMethod::Sandbox), "{actor:?}");
    }
}

#[test]
fn the_live_method_next_to_the_sandbox_is_for_everyone() {
    let created = block_on(
        selling(sandbox_next_to_live_stripe(Some(PaymentMethod::Stripe))).create(student(), buy(PaymentMethod::Stripe)),
    );
    assert_eq!(created.map(|c| c.payment.method), Ok(PaymentMethod::Stripe));
}

#[test]
fn with_only_test_mode_gateways_anyone_pays_with_them() {
    let only_test = Gateways::new()
        .register(gateway(PaymentMethod::Sandbox, GatewayMode::Test, true))
        .register(gateway(PaymentMethod::Stripe, GatewayMode::Test, false));
    let created = block_on(selling(only_test).create(student(), buy(PaymentMethod::Sandbox)));
    assert_eq!(created.map(|c| c.payment.method), Ok(PaymentMethod::Sandbox));
}

#[test]
fn a_method_not_served_next_to_live_is_unavailable_not_a_test_mode_refusal() {
    let live_only = Gateways::new().register(gateway(PaymentMethod::Stripe, GatewayMode::Live, false));
    let mut catalog = MockCatalog::new();
    catalog.expect_find().times(1).returning(|_| Ok(Some(course_at(usd(4999)))));
    let service = service(live_only, MockPaymentRepository::new(), catalog);
    assert_eq!(
        block_on(service.create(student(), buy(PaymentMethod::Sandbox))),
        Err(CreatePaymentError::MethodUnavailable(PaymentMethod::Sandbox))
    );
}
