//! Refunds: request, list, read, approve, reject.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::ids::{PaymentId, RefundId};
use domain::ports::RefundQuery;
use domain::refund::RefundStatus;
use representations::RefundView;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{Admin, Authenticated};
use crate::dto::{PageView, parse_amount};
use crate::error::ApiError;
use crate::idempotency::{JsonReply, idempotent};
use crate::json::{parse_body, parse_query};
use crate::openapi::problems::{ConflictProblems, GatewayCallProblems, ReferenceProblems};
use crate::routes::{IdempotencyBody, fail_on, page_request, path_id};

/// Body of `POST /api/payments/refunds/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestRefundBody {
    /// The payment (`pay_…`).
    pub payment_id: String,
    /// How much, in the payment's currency; absent: all that is refundable.
    pub amount: Option<String>,
    /// Why (1 to 1000 characters).
    pub reason: String,
}

/// Body of `POST /api/payments/refunds/{id}/reject/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRefundBody {
    /// Why (1 to 1000 characters).
    pub reason: String,
}

/// Optional body of the approve operations of refunds and payouts.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// A note kept with the approval (1 to 1000 characters), shown on the object.
    pub note: Option<String>,
}

impl ApproveBody {
    /// The body of `req`, which may be empty (no note).
    pub fn read(req: &HttpRequest, body: &[u8]) -> Result<ApproveBody, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) { Ok(ApproveBody::default()) } else { parse_body(req, body) }
    }
}

/// Asks for a refund (the payer within the refund window, or an admin).
#[utoipa::path(tag = "refunds", request_body = RequestRefundBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, description = "The requested refund.", body = RefundView), ReferenceProblems),
    security(("bearer" = [])))]
#[post("/api/payments/refunds/")]
pub async fn request_refund(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    idempotent(&state, &req, actor, &body, || async {
        let input: RequestRefundBody = parse_body(&req, &body)?;
        let payment_id: PaymentId = input.payment_id.parse().map_err(|_| ApiError::NotFound)?;
        let payment = state.payments.get(actor, payment_id).await?;
        let mut errors = Vec::new();
        let amount =
            input.amount.as_deref().map(|text| parse_amount("amount", text, payment.amount.currency(), &mut errors));
        fail_on(errors)?;
        let refund = state.refunds.request(actor, payment_id, amount.flatten(), input.reason).await?;
        JsonReply::new(StatusCode::CREATED, &RefundView::seen_by(&refund, actor))
    })
    .await
}

/// Filters of `GET /api/payments/refunds/`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RefundListParams {
    /// Only this status.
    pub status: Option<String>,
    /// Only this payment's.
    pub payment_id: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Lists refunds, newest first: payers their own, admins all.
#[utoipa::path(tag = "refunds", params(RefundListParams),
    responses((status = 200, description = "A page of refunds, newest first.", body = PageView<RefundView>)),
    security(("bearer" = [])))]
#[get("/api/payments/refunds/")]
pub async fn list_refunds(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params: RefundListParams = parse_query(&req)?;
    let invalid = |what: &str| ApiError::InvalidQuery(format!("unknown {what}"));
    let status =
        params.status.as_deref().map(|s| RefundStatus::parse(s).ok_or_else(|| invalid("status"))).transpose()?;
    let payment_id =
        params.payment_id.as_deref().map(|p| p.parse::<PaymentId>().map_err(|_| invalid("payment_id"))).transpose()?;
    let page = page_request(params.cursor.as_deref(), params.limit)?;
    let query = RefundQuery { payer: None, payment_id, status, livemode: None, page };
    let page = state.refunds.list(actor, query).await?;
    Ok(HttpResponse::Ok().json(PageView::of(&page, |r| RefundView::seen_by(r, actor))))
}

/// One refund (its payer or an admin).
#[utoipa::path(tag = "refunds", params(("id" = String, Path)),
    responses((status = 200, description = "The refund.", body = RefundView)),
    security(("bearer" = [])))]
#[get("/api/payments/refunds/{id}/")]
pub async fn get_refund(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let refund = state.refunds.get(actor, path_id::<RefundId>(&path)?).await?;
    Ok(HttpResponse::Ok().json(RefundView::seen_by(&refund, actor)))
}

/// Approves a refund and sends it to the gateway (admin). Approving a
/// refund still `processing` asks the gateway again, safely.
#[utoipa::path(tag = "refunds", params(("id" = String, Path)),
    request_body = Option<ApproveBody>,
    responses((status = 200, description = "The refund as approved and sent to the gateway.",
        body = RefundView), GatewayCallProblems),
    security(("bearer" = [])))]
#[post("/api/payments/refunds/{id}/approve/")]
pub async fn approve_refund(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: IdempotencyBody,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<RefundId>(&path)?;
    idempotent(&state, &req, actor, &body, || async {
        let note = ApproveBody::read(&req, &body)?.note;
        let refund = state.refunds.approve(actor, id, note).await?;
        JsonReply::new(StatusCode::OK, &RefundView::seen_by(&refund, actor))
    })
    .await
}

/// Rejects a requested refund with a reason (admin).
#[utoipa::path(tag = "refunds", params(("id" = String, Path)),
    request_body = RejectRefundBody,
    responses((status = 200, description = "The rejected refund.", body = RefundView), ConflictProblems),
    security(("bearer" = [])))]
#[post("/api/payments/refunds/{id}/reject/")]
pub async fn reject_refund(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<RefundId>(&path)?;
    let input: RejectRefundBody = parse_body(&req, &body)?;
    let refund = state.refunds.reject(actor, id, input.reason).await?;
    Ok(HttpResponse::Ok().json(RefundView::seen_by(&refund, actor)))
}
