//! The OpenAPI 3.1 document, generated from the handlers and DTOs.
//!
//! Its operations are those of the routes the router registers (the
//! `api_routes!` list in [`crate::routes`]); what is not an operation
//! (title, tags, security scheme, the answers every operation can give)
//! is added here.

pub mod problems;

use std::sync::LazyLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use self::problems::CommonProblems;

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

/// The document, built once for the process: the description below with
/// the operations of every route the router registers.
static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| {
    let mut document = ApiDoc::openapi();
    let (paths, schemas) = crate::routes::operations();
    document.paths.merge(paths);
    document.components.get_or_insert_with(Default::default).schemas.extend(schemas);
    // After the operations are in: it adds answers to each of them.
    CommonProblems.modify(&mut document);
    document
});

/// The OpenAPI document served at `/api/openapi.json`.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    &DOCUMENT
}

/// Skillpay's API description, without its operations (see [`document`]).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Skillpay API",
        description = "Payments for an online-learning marketplace. Amounts are strings with exactly the \
                       currency's minor digits; errors are application/problem+json with a stable `code`."
    ),
    // Named here: the sets name it only through their variants, which
    // utoipa does not collect.
    components(schemas(crate::error::Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "payments", description = "Buying courses and event tickets"),
        (name = "coupons", description = "Discount codes"),
        (name = "refunds", description = "Money back to the buyer"),
        (name = "disputes", description = "Chargebacks, driven by the gateways"),
        (name = "payouts", description = "Instructor balances and payouts"),
        (name = "stats", description = "Statistics and instructor earnings"),
        (name = "mail", description = "Contact records for e-mail notifications"),
        (name = "catalog", description = "Prices: the catalog is the price authority"),
        (name = "health", description = "Liveness and readiness"),
        (name = "webhooks", description = "Signed events from the payment gateways"),
        (name = "admin", description = "Operating the service"),
        (name = "reconciliation", description = "The gateways' books against the ledger (admin)"),
    )
)]
struct ApiDoc;
