//! The OpenAPI 3.1 document, generated from the handlers and DTOs.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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

/// Documents the answers every operation can give besides its own: 401 and
/// 403 on secured operations, 400 for unreadable requests, 404 where the
/// path names an object, 413/415/422 where there is a body, 503 when the
/// database is unreachable, 500 for bugs; all problem+json. Added once here
/// rather than repeated on every handler.
struct CommonProblems;

impl Modify for CommonProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
        let problem = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        crate::error::PROBLEM_JSON,
                        ContentBuilder::new().schema(Some(utoipa::openapi::Ref::from_schema_name("Problem"))).build(),
                    )
                    .build(),
            )
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names_an_object = path.contains('{');
            let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let takes_body = operation.request_body.is_some();
                let responses = &mut operation.responses.responses;
                let mut add = |code: &str, description: &str| {
                    responses.entry(code.to_owned()).or_insert_with(|| problem(description));
                };
                if secured {
                    add("401", "missing, malformed, expired or wrongly signed bearer token");
                    add("403", "the role does not allow this");
                }
                add("400", "malformed request (JSON syntax, query parameters, Idempotency-Key)");
                if names_an_object {
                    add("404", "no such object, or not one this caller may see");
                }
                if takes_body {
                    add("413", "the body is larger than the limit");
                    add("415", "the body is not application/json");
                    add("422", "the body is well-formed JSON but its fields are invalid");
                }
                add("503", "the database is unreachable; retry later");
                add("500", "a bug; the cause is logged, not sent");
            }
        }
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
