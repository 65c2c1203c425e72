//! The OpenAPI 3.1 document, generated from the handlers and DTOs.

pub mod problems;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use self::problems::CommonProblems;

use crate::routes::{
    catalog, coupons, disputes, events, gateway_configs, health, ledger, payments, payouts, refunds, stats, webhooks,
};

/// Adds the bearer-token security scheme.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// Skillpay's API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Skillpay API",
        description = "Payments for an online-learning marketplace. Amounts are strings with exactly the \
                       currency's minor digits; errors are application/problem+json with a stable `code`."
    ),
    paths(
        health::healthz,
        health::readyz,
        payments::create_payment,
        payments::list_payments,
        payments::get_payment,
        payments::cancel_payment,
        payments::confirm_payment,
        coupons::create_coupon,
        coupons::list_coupons,
        coupons::get_coupon,
        coupons::deactivate_coupon,
        coupons::edit_coupon,
        coupons::validate_coupon,
        catalog::put_item,
        webhooks::stripe,
        webhooks::paypal,
        gateway_configs::put_config,
        gateway_configs::list_configs,
        refunds::request_refund,
        refunds::list_refunds,
        refunds::get_refund,
        refunds::approve_refund,
        refunds::reject_refund,
        ledger::account,
        disputes::list_disputes,
        disputes::get_dispute,
        disputes::submit_evidence,
        disputes::accept_dispute,
        disputes::open_dispute,
        disputes::resolve_dispute,
        payouts::request_payout,
        payouts::balance,
        payouts::list_payouts,
        payouts::get_payout,
        payouts::cancel_payout,
        payouts::approve_payout,
        payouts::reject_payout,
        payouts::mark_paid,
        payouts::mark_failed,
        stats::stats,
        stats::earnings,
        events::create_endpoint,
        events::list_endpoints,
        events::remove_endpoint,
        events::list_deliveries,
        events::get_delivery,
        events::replay_delivery,
    ),
    // Named here: the sets name it only through their variants, which
    // utoipa does not collect.
    components(schemas(crate::error::Problem)),
    modifiers(&BearerAuth, &CommonProblems),
    tags(
        (name = "payments", description = "Buying courses and event tickets"),
        (name = "coupons", description = "Discount codes"),
        (name = "refunds", description = "Money back to the buyer"),
        (name = "disputes", description = "Chargebacks, driven by the gateways"),
        (name = "payouts", description = "Instructor balances and payouts"),
        (name = "stats", description = "Statistics and instructor earnings"),
        (name = "catalog", description = "Prices: the catalog is the price authority"),
        (name = "health", description = "Liveness and readiness"),
        (name = "webhooks", description = "Signed events from the payment gateways"),
        (name = "admin", description = "Operating the service"),
    )
)]
pub struct ApiDoc;
