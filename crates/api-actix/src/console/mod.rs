//! The admin console: server-rendered pages under `/admin/`, for admins and
//! (their own view) instructors. Every page reads and every action acts
//! through the same use cases as the API, as the signed-in [`Actor`], so
//! role checks are the API's. Reading works without JavaScript; the little
//! there is (confirmations) is embedded like the stylesheet: no CDN.
//!
//! Sessions live in PostgreSQL ([`web_ports::console::ConsoleStore`]); the
//! cookie carries a random secret whose SHA-256 finds the session. Every
//! form carries the session's CSRF token.
//!
//! [`Actor`]: domain::usecases::Actor

mod approval;
mod assets;
mod attention;
mod audit;
mod chart;
mod coupon_detail;
mod coupons;
mod csv;
mod dashboard;
mod details;
mod discrepancies;
mod error;
mod fraud;
mod history;
mod layout;
mod mail;
mod mode;
mod operations;
mod payments;
mod payouts;
mod reconciliation;
mod reconciliation_lines;
mod reconciliation_payouts;
mod refunds;
mod session;
mod settings;
mod webhooks;

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::web;

pub use session::{LINK_TTL_MINUTES, new_secret, secret_hash};

/// Headers on every console answer: no caching of business data, no
/// framing, and only the console's own scripts, styles and images.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .add((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .add((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .add((header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .add((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; \
                 frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
}

/// Registers the console's routes under `/admin`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .wrap(security_headers())
            .service(assets::stylesheet)
            .service(assets::script)
            .service(session::sign_in_page)
            .service(session::sign_in)
            .service(session::link_page)
            .service(session::use_link)
            .service(session::sign_out)
            .service(mode::switch)
            .service(dashboard::dashboard)
            .service(payments::list)
            .service(payments::detail)
            .service(dashboard::request_payout)
            .service(payouts::list)
            .service(payouts::approve)
            .service(payouts::act_with_note)
            .service(coupons::list)
            .service(coupons::create)
            .service(coupons::deactivate)
            .service(coupon_detail::detail)
            .service(coupon_detail::edit)
            .service(details::refund)
            .service(details::payout)
            .service(details::dispute)
            .service(operations::disputes)
            .service(operations::submit_evidence)
            .service(reconciliation::overview)
            .service(reconciliation_lines::list)
            .service(discrepancies::resolve)
            .service(operations::deliveries)
            .service(operations::replay)
            .service(mail::list)
            .service(mail::resend)
            .service(settings::gateways)
            .service(settings::save_gateway)
            .service(webhooks::list)
            .service(webhooks::replay)
            .service(refunds::list)
            .service(refunds::approve)
            .service(refunds::reject)
            .service(audit::audit_log)
            .service(attention::list)
            .service(attention::resolve)
            .service(fraud::overview)
            .service(fraud::release)
            .service(fraud::refund)
            .service(fraud::create_rule)
            .service(fraud::switch_rule)
            .service(fraud::delete_rule)
            .service(fraud::add_block)
            .service(fraud::remove_block)
            .default_service(web::to(error::not_found)),
    );
}
