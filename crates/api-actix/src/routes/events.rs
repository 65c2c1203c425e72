//! Event endpoints and deliveries (admin): register endpoints, read
//! deliveries with their attempts, replay one. See docs/events.md.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use domain::events::{Delivery, DeliveryAttempt, DeliveryStatus, EventEndpoint};
use domain::ids::{DeliveryId, EndpointId, EventId};
use domain::ports::DeliveryQuery;
use domain::usecases::events::EndpointRegistration;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Admin;
use crate::dto::PageView;
use crate::error::ApiError;
use crate::json::{parse_body, parse_query};
use crate::openapi::problems::{EndpointProblems, ReplayProblems};
use crate::routes::{page_request, path_id};

/// Body of `POST /api/payments/admin/event-endpoints/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpointBody {
    /// `https://…` to a host whose every address is public, without a user
    /// name or password, at most 2048 characters (`http://` and private
    /// addresses only where `SKILLPAY_EVENT_ENDPOINTS_ALLOW_PRIVATE` is on,
    /// for development). Stored in its normalised form.
    pub url: String,
    /// Types to receive (`payment.completed`, ...); absent, empty or `*`: all.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// The mode whose events it receives: `true` live money, `false` test
    /// money (events of no mode, such as `coupon.exhausted`, go to both).
    /// Absent: live while a live gateway is served, test otherwise.
    pub livemode: Option<bool>,
}

/// An event endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointView {
    /// Id (`we_…`).
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// Types it receives (empty: all).
    pub event_types: Vec<String>,
    /// The mode whose events it receives: `true` live money, `false` test
    /// money; events of no mode go to both.
    pub livemode: bool,
    /// False once removed.
    pub active: bool,
    /// Registered at.
    pub created_at: DateTime<Utc>,
    /// The signing secret: only in the answer that created the endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl EndpointView {
    fn of(e: &EventEndpoint, secret: Option<String>) -> Self {
        EndpointView {
            id: e.id.to_string(),
            url: e.url.clone(),
            event_types: e.event_types.iter().map(|t| t.as_str().to_owned()).collect(),
            livemode: e.livemode,
            active: e.active,
            created_at: e.created_at,
            secret,
        }
    }
}

/// One delivery of one event to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Id (`dlv_…`).
    pub id: String,
    /// The event (`evt_…`).
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// The object it is about.
    pub aggregate_id: String,
    /// The endpoint (`we_…`).
    pub endpoint_id: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last answer's HTTP status.
    pub last_status: Option<u16>,
    /// The last attempt's failure when it got no answer, as a category:
    /// `timed out`, `connection failed`, `request failed`, `destination
    /// address not allowed`, ...; never the network's own error text.
    pub last_error: Option<String>,
    /// Routed at.
    pub created_at: DateTime<Utc>,
    /// Delivered at.
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        DeliveryView {
            id: d.id.to_string(),
            event_id: d.event_id.to_string(),
            event_type: d.event_type.clone(),
            aggregate_id: d.aggregate_id.clone(),
            endpoint_id: d.endpoint_id.to_string(),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: (d.status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        }
    }
}

/// One attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// When.
    pub at: DateTime<Utc>,
    /// The answer's HTTP status.
    pub response_status: Option<u16>,
    /// The failure when it got no answer, as a category (see
    /// `last_error` of the delivery).
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
}

impl From<&DeliveryAttempt> for AttemptView {
    fn from(a: &DeliveryAttempt) -> Self {
        AttemptView { at: a.at, response_status: a.response_status, error: a.error.clone(), duration_ms: a.duration_ms }
    }
}

/// A delivery with its attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDetailView {
    /// The delivery.
    #[serde(flatten)]
    pub delivery: DeliveryView,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<AttemptView>,
}

/// Registers an endpoint (admin); the answer carries its signing secret,
/// shown this once.
#[utoipa::path(tag = "admin", request_body = CreateEndpointBody,
    responses((status = 201, description = "The new endpoint, with its signing secret (shown this once).",
        body = EndpointView), EndpointProblems),
    security(("bearer" = [])))]
#[post("/api/payments/admin/event-endpoints/")]
pub async fn create_endpoint(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: CreateEndpointBody = parse_body(&req, &body)?;
    let registration =
        EndpointRegistration { url: input.url, event_types: input.event_types, livemode: input.livemode };
    let (endpoint, secret) = state.events.create_endpoint(actor, registration).await?;
    Ok(HttpResponse::Created().json(EndpointView::of(&endpoint, Some(secret))))
}

/// Lists endpoints, newest first (admin; no secrets).
#[utoipa::path(tag = "admin",
    responses((status = 200, description = "Every endpoint, newest first, without secrets.",
        body = Vec<EndpointView>)), security(("bearer" = [])))]
#[get("/api/payments/admin/event-endpoints/")]
pub async fn list_endpoints(state: web::Data<AppState>, Admin(actor): Admin) -> Result<HttpResponse, ApiError> {
    let endpoints = state.events.endpoints(actor).await?;
    Ok(HttpResponse::Ok().json(endpoints.iter().map(|e| EndpointView::of(e, None)).collect::<Vec<_>>()))
}

/// Stops deliveries to an endpoint (admin).
#[utoipa::path(tag = "admin", params(("id" = String, Path)),
    responses((status = 200, description = "The endpoint, no longer delivered to.", body = EndpointView)),
    security(("bearer" = [])))]
#[delete("/api/payments/admin/event-endpoints/{id}/")]
pub async fn remove_endpoint(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let endpoint = state.events.remove_endpoint(actor, path_id::<EndpointId>(&path)?).await?;
    Ok(HttpResponse::Ok().json(EndpointView::of(&endpoint, None)))
}

/// Body of `POST /api/payments/admin/event-endpoints/{id}/backfill/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackfillBody {
    /// The window's start (inclusive), no further back than events are
    /// kept (`SKILLPAY_EVENT_RETENTION_DAYS`, 30 days by default).
    pub from: DateTime<Utc>,
    /// The window's end (exclusive); absent or later than now: now.
    pub to: Option<DateTime<Utc>>,
}

/// What a backfill queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackfillView {
    /// Deliveries queued: the window's events the endpoint receives and
    /// had not received yet. Asking again for the same window queues none.
    pub queued: u64,
}

/// Queues to an endpoint the past events of a window that it receives and
/// has not received yet (admin): events from before it was registered, or
/// that found no endpoint. They are delivered like any event, in order per
/// object.
#[utoipa::path(tag = "admin", params(("id" = String, Path)), request_body = BackfillBody,
    responses((status = 200, description = "How many deliveries were queued.", body = BackfillView)),
    security(("bearer" = [])))]
#[post("/api/payments/admin/event-endpoints/{id}/backfill/")]
pub async fn backfill_endpoint(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<EndpointId>(&path)?;
    let input: BackfillBody = parse_body(&req, &body)?;
    let queued = state.events.backfill(actor, id, input.from, input.to).await?;
    Ok(HttpResponse::Ok().json(BackfillView { queued }))
}

/// Filters of `GET /api/payments/admin/event-deliveries/`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryListParams {
    /// `pending`, `delivered` or `dead`.
    pub status: Option<String>,
    /// Only to this endpoint.
    pub endpoint_id: Option<String>,
    /// Only of this event.
    pub event_id: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Lists deliveries, newest first (admin).
#[utoipa::path(tag = "admin", params(DeliveryListParams),
    responses((status = 200, description = "A page of deliveries, newest first.",
        body = PageView<DeliveryView>)), security(("bearer" = [])))]
#[get("/api/payments/admin/event-deliveries/")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params: DeliveryListParams = parse_query(&req)?;
    let invalid = |what: &str| ApiError::InvalidQuery(format!("unknown {what}"));
    let query = DeliveryQuery {
        status: params
            .status
            .as_deref()
            .map(|s| DeliveryStatus::parse(s).ok_or_else(|| invalid("status")))
            .transpose()?,
        endpoint: params
            .endpoint_id
            .as_deref()
            .map(|e| e.parse::<EndpointId>().map_err(|_| invalid("endpoint_id")))
            .transpose()?,
        event: params.event_id.as_deref().map(|e| e.parse::<EventId>().map_err(|_| invalid("event_id"))).transpose()?,
        page: page_request(params.cursor.as_deref(), params.limit)?,
    };
    let page = state.events.deliveries(actor, query).await?;
    Ok(HttpResponse::Ok().json(PageView::of(&page, |d| DeliveryView::from(d))))
}

/// One delivery with every attempt (admin).
#[utoipa::path(tag = "admin", params(("id" = String, Path)),
    responses((status = 200, description = "The delivery with every attempt.", body = DeliveryDetailView)),
    security(("bearer" = [])))]
#[get("/api/payments/admin/event-deliveries/{id}/")]
pub async fn get_delivery(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (delivery, attempts) = state.events.delivery(actor, path_id::<DeliveryId>(&path)?).await?;
    Ok(HttpResponse::Ok().json(DeliveryDetailView {
        delivery: DeliveryView::from(&delivery),
        attempt_log: attempts.iter().map(AttemptView::from).collect(),
    }))
}

/// Sends a delivered or dead event again now (admin), unless its event is
/// of the other mode than its endpoint.
#[utoipa::path(tag = "admin", params(("id" = String, Path)),
    responses((status = 200, description = "The delivery, sent again.", body = DeliveryView), ReplayProblems),
    security(("bearer" = [])))]
#[post("/api/payments/admin/event-deliveries/{id}/replay/")]
pub async fn replay_delivery(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let delivery = state.events.replay(actor, path_id::<DeliveryId>(&path)?).await?;
    Ok(HttpResponse::Ok().json(DeliveryView::from(&delivery)))
}
