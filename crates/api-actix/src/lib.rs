//! Skillpay's HTTP API on actix-web: routes, bearer auth, problem+json
//! errors, idempotency keys and the OpenAPI document.
//!
//! Handlers are thin: authenticate (an extractor), parse the body into
//! domain types, call a use case, map the result. This crate depends on the
//! domain and on the ports the web adapters share (`web_ports`: console
//! records, idempotency keys) only; storage and gateways arrive as trait
//! objects in [`AppState`].
//!
//! Error policy: every failure is an [`error::ApiError`] with a stable code;
//! causes of 5xx answers are logged, never sent.
#![forbid(unsafe_code)]

pub mod auth;
pub mod client_addr;
pub mod console;
pub mod convert;
pub mod dto;
pub mod error;
pub mod fallback;
pub mod idempotency;
pub mod json;
pub mod observe;
pub mod openapi;
pub mod routes;
pub mod token_contacts;

use std::sync::{Arc, LazyLock};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::web;
use domain::ports::{HealthCheck, LedgerQueries, OpsQueries};
use domain::usecases::catalog::CatalogService;
use domain::usecases::coupons::CouponService;
use domain::usecases::disputes::DisputeService;
use domain::usecases::events::EventService;
use domain::usecases::gateway_configs::GatewayConfigService;
use domain::usecases::payments::PaymentService;
use domain::usecases::payouts::PayoutService;
use domain::usecases::rate_limits::RateLimits;
use domain::usecases::refunds::RefundService;
use domain::usecases::stats::StatsService;
use domain::usecases::webhooks::WebhookService;
use utoipa_swagger_ui::SwaggerUi;
use web_ports::console::ConsoleStore;
use web_ports::idempotency::IdempotencyStore;

use crate::auth::AuthConfig;
use crate::error::{ApiError, PROBLEM_JSON};

/// Whether this instance is draining before it stops: readiness answers
/// 503 at once so load balancers stop sending it traffic, while requests
/// still arriving are served.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle(Arc<std::sync::atomic::AtomicBool>);

impl Lifecycle {
    /// Readiness turns 503 from now on.
    pub fn start_draining(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether draining has started.
    pub fn is_draining(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Largest accepted request body, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything the handlers need.
#[derive(Clone)]
pub struct AppState {
    /// Payment use cases.
    pub payments: PaymentService,
    /// Coupon use cases.
    pub coupons: CouponService,
    /// Catalog use cases.
    pub catalog: CatalogService,
    /// Gateway webhooks.
    pub webhooks: WebhookService,
    /// Stored gateway configurations.
    pub gateway_configs: GatewayConfigService,
    /// Refunds.
    pub refunds: RefundService,
    /// Fraud rules, the block list and decisions.
    pub fraud: domain::usecases::fraud::FraudService,
    /// Disputes.
    pub disputes: DisputeService,
    /// Instructor payouts and balances.
    pub payouts: PayoutService,
    /// Statistics and instructor earnings.
    pub stats: StatsService,
    /// Settlement reconciliation with the gateways' books.
    pub settlement: domain::usecases::settlement::SettlementService,
    /// Event endpoints and deliveries.
    pub events: EventService,
    /// Receipts and credit notes.
    pub receipts: domain::usecases::receipts::ReceiptService,
    /// Signs and checks the links that show a receipt without a token.
    pub receipt_links: documents::ReceiptLinks,
    /// E-mail: contact records and the admins' view of messages.
    pub mail: domain::usecases::mail::MailService,
    /// Contact records learnt from tokens' claims.
    pub token_contacts: token_contacts::TokenContacts,
    /// Request rate limits.
    pub rate_limits: RateLimits,
    /// Proxies whose forwarding headers name the client.
    pub trusted_proxies: client_addr::TrustedProxies,
    /// Ledger reads for operators.
    pub ledger: Arc<dyn LedgerQueries>,
    /// Idempotency-key storage.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// How long a request's claim on its key holds between renewals.
    pub idempotency_lease: web_ports::idempotency::ClaimLease,
    /// Readiness probe.
    pub health: Arc<dyn HealthCheck>,
    /// Draining before shutdown.
    pub lifecycle: Lifecycle,
    /// Metrics registry (and the `/metrics` token).
    pub metrics: observe::Metrics,
    /// Operational figures for `/metrics`.
    pub ops: Arc<dyn OpsQueries>,
    /// Token checking.
    pub auth: AuthConfig,
    /// The admin console's sessions, sign-in links and audit log.
    pub console: Arc<dyn ConsoleStore>,
    /// Whether the API docs (`/api/docs/`, `/api/openapi.json`) are served.
    pub serve_api_docs: bool,
}

/// The OpenAPI document, built and serialised once for the process: every
/// actix worker runs [`configure`], and a document per worker would be
/// kept (and built) once per worker.
static OPENAPI_JSON: LazyLock<web::Bytes> =
    LazyLock::new(|| serde_json::to_vec(openapi::document()).unwrap_or_default().into());

async fn openapi_json() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().content_type("application/json").body(OPENAPI_JSON.clone())
}

/// Registers every route, the docs page and the error rendering on `cfg`.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        let serve_api_docs = state.serve_api_docs;
        cfg.app_data(web::Data::new(state.metrics.clone()))
            .app_data(web::Data::new(state))
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .configure(routes::register)
            .configure(console::configure)
            .route("/receipts/{id}/", web::get().to(routes::receipts::receipt_by_link))
            .default_service(web::to(fallback::fallback));
        if serve_api_docs {
            cfg.route("/api/openapi.json", web::get().to(openapi_json)).service(
                SwaggerUi::new("/api/docs/{_:.*}").config(utoipa_swagger_ui::Config::from("/api/openapi.json")),
            );
        }
    }
}

/// Middleware that turns every error answer not already problem+json
/// (unknown route, wrong method, oversize body from actix itself) into one.
pub fn problem_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(render_problem)
}

fn render_problem<B: MessageBody + 'static>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // problem+json already, or an HTML page the console rendered itself.
    let already = res
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()) || v.as_bytes().starts_with(b"text/html"));
    if already {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let error = match res.status() {
        StatusCode::NOT_FOUND => ApiError::RouteNotFound,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        StatusCode::BAD_REQUEST => ApiError::MalformedJson("the request could not be read".to_owned()),
        status if status.is_client_error() => ApiError::InvalidQuery("the request could not be read".to_owned()),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::ServiceUnavailable,
        _ => ApiError::Internal,
    };
    let body = serde_json::to_vec(&error.problem()).unwrap_or_default();
    let (req, res) = res.into_parts();
    let mut res = res.set_body(BoxBody::new(body));
    res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    let res = ServiceResponse::new(req, res).map_into_boxed_body().map_into_right_body::<B>();
    Ok(ErrorHandlerResponse::Response(res))
}
