//! Route handlers, one file per resource.

pub mod catalog;
pub mod console_sessions;
pub mod coupons;
pub mod disputes;
pub mod events;
pub mod fraud;
pub mod gateway_configs;
pub mod health;
pub mod ledger;
pub mod mail;
pub mod metrics;
pub mod payments;
pub mod payouts;
pub mod receipts;
pub mod reconciliation;
pub mod refunds;
pub mod stats;
pub mod webhooks;

use domain::catalog::ItemRef;
use utoipa::openapi::path::Paths;
use utoipa::openapi::{RefOr, Schema};
use utoipa_actix_web::OpenApiFactory;

use crate::error::{ApiError, FieldError};

/// The raw body of an operation that documents none, read only to match
/// `Idempotency-Key` replays. Named apart because utoipa documents every
/// `Bytes` argument of a handler as a request body.
pub type IdempotencyBody = actix_web::web::Bytes;

/// Declares the API's routes once, for both the router ([`register`]) and
/// the document ([`operations`]), in the order actix tries them.
macro_rules! api_routes {
    ($($handler:path),* $(,)?) => {
        /// Registers every API route, and the metrics endpoint, which is not
        /// part of the API document.
        pub fn register(cfg: &mut actix_web::web::ServiceConfig) {
            $(cfg.service($handler);)*
            // After the API: a scrape is rare, an API request is not.
            cfg.service(metrics::metrics);
        }

        /// The OpenAPI operations of every API route, and the schemas they
        /// name. Built apart from [`register`] so that a worker's router
        /// does not build (and keep the memory of) a document.
        pub fn operations() -> (Paths, Vec<(String, RefOr<Schema>)>) {
            let mut paths = Paths::new();
            let mut schemas = Vec::new();
            $(
                paths.merge(OpenApiFactory::paths(&$handler));
                OpenApiFactory::schemas(&$handler, &mut schemas);
            )*
            (paths, schemas)
        }
    };
}

api_routes![
    // The busiest fixed paths first: actix tries routes in order, and
    // each `{id}` route passed on the way costs a regex match.
    payments::create_payment,
    payments::list_payments,
    webhooks::receive_from,
    payouts::balance,
    stats::stats,
    health::healthz,
    health::readyz,
    // Fixed paths before `{id}` paths so `coupons` is never an id.
    coupons::validate_coupon,
    coupons::create_coupon,
    coupons::list_coupons,
    coupons::get_coupon,
    coupons::deactivate_coupon,
    coupons::edit_coupon,
    disputes::list_disputes,
    disputes::open_dispute,
    disputes::get_dispute,
    disputes::submit_evidence,
    disputes::accept_dispute,
    disputes::resolve_dispute,
    refunds::request_refund,
    refunds::list_refunds,
    refunds::get_refund,
    receipts::get_credit_note,
    refunds::approve_refund,
    refunds::reject_refund,
    stats::earnings,
    payouts::request_payout,
    payouts::list_payouts,
    payouts::get_payout,
    payouts::cancel_payout,
    payouts::approve_payout,
    payouts::reject_payout,
    payouts::mark_paid,
    payouts::mark_failed,
    catalog::put_item,
    catalog::get_item,
    ledger::account,
    reconciliation::list_runs,
    reconciliation::list_lines,
    reconciliation::list_bank_payouts,
    reconciliation::list_discrepancies,
    reconciliation::get_discrepancy,
    reconciliation::resolve_discrepancy,
    events::create_endpoint,
    events::list_endpoints,
    events::remove_endpoint,
    events::backfill_endpoint,
    events::list_deliveries,
    events::get_delivery,
    events::replay_delivery,
    mail::list_mail,
    mail::resend_mail,
    mail::put_contact,
    mail::get_contact,
    gateway_configs::list_configs,
    gateway_configs::put_config,
    console_sessions::revoke_sessions,
    fraud::list_rules,
    fraud::create_rule,
    fraud::update_rule,
    fraud::delete_rule,
    fraud::list_blocks,
    fraud::add_block,
    fraud::remove_block,
    fraud::list_decisions,
    fraud::review_payment,
    payments::get_payment,
    receipts::get_receipt,
    payments::cancel_payment,
    payments::confirm_payment,
];

/// Exactly one of `course_id` and `event_id`, as an item reference.
pub fn item_ref(course_id: Option<i64>, event_id: Option<i64>, errors: &mut Vec<FieldError>) -> Option<ItemRef> {
    match (course_id, event_id) {
        (Some(id), None) if id > 0 => Some(ItemRef::course(id)),
        (None, Some(id)) if id > 0 => Some(ItemRef::event(id)),
        (Some(_), None) => {
            errors.push(FieldError::new("course_id", "must be a positive id"));
            None
        }
        (None, Some(_)) => {
            errors.push(FieldError::new("event_id", "must be a positive id"));
            None
        }
        _ => {
            errors.push(FieldError::new("course_id", "give exactly one of course_id and event_id"));
            None
        }
    }
}

/// The page a list request asks for (`cursor`, `limit` query parameters).
pub fn page_request(cursor: Option<&str>, limit: Option<u32>) -> Result<domain::paging::PageRequest, ApiError> {
    let after = cursor
        .map(|c| domain::paging::Cursor::decode(c).map_err(|_| ApiError::InvalidQuery("malformed cursor".to_owned())))
        .transpose()?;
    Ok(domain::paging::PageRequest::new(after, checked_limit(limit)?))
}

/// A page size as the document states it: 1 to 100. Out of range is a 400,
/// not silently clamped, so a client learns its page is not what it asked.
pub fn checked_limit(limit: Option<u32>) -> Result<Option<u32>, ApiError> {
    match limit {
        Some(n) if !(1..=domain::paging::MAX_PAGE_LIMIT).contains(&n) => {
            Err(ApiError::InvalidQuery(format!("limit must be 1 to {}", domain::paging::MAX_PAGE_LIMIT)))
        }
        _ => Ok(limit),
    }
}

/// An id from the path; an id that cannot exist is simply not found.
pub fn path_id<T: std::str::FromStr>(raw: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

/// Turns collected field errors into a 422.
pub fn fail_on(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() { Ok(()) } else { Err(ApiError::Validation(errors)) }
}
