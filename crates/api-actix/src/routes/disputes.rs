//! Disputes (admin): list, read, submit evidence, accept. They are opened,
//! moved and decided by the gateways (their webhooks, or the answer to an
//! evidence submission); see docs/disputes.md.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use domain::ids::DisputeId;
use domain::ports::DisputeQuery;
use representations::DisputeView;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Admin;
use crate::dto::PageView;
use crate::error::ApiError;
use crate::json::{parse_body, parse_query};
use crate::openapi::problems::{ConflictProblems, GatewayCallProblems, ReferenceProblems};
use crate::routes::{page_request, path_id};

/// Paging of `GET /api/payments/disputes/`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DisputeListParams {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Lists disputes, newest first (admin).
#[utoipa::path(tag = "disputes", params(DisputeListParams),
    responses((status = 200, description = "A page of disputes, newest first.", body = PageView<DisputeView>)),
    security(("bearer" = [])))]
#[get("/api/payments/disputes/")]
pub async fn list_disputes(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params: DisputeListParams = parse_query(&req)?;
    let query = DisputeQuery { livemode: None, page: page_request(params.cursor.as_deref(), params.limit)? };
    let page = state.disputes.list(actor, query).await?;
    Ok(HttpResponse::Ok().json(PageView::of(&page, |d| DisputeView::from(d))))
}

/// One dispute (admin).
#[utoipa::path(tag = "disputes", params(("id" = String, Path)),
    responses((status = 200, description = "The dispute.", body = DisputeView)),
    security(("bearer" = [])))]
#[get("/api/payments/disputes/{id}/")]
pub async fn get_dispute(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let dispute = state.disputes.get(actor, path_id::<DisputeId>(&path)?).await?;
    Ok(HttpResponse::Ok().json(DisputeView::from(&dispute)))
}

/// Body of `POST /api/payments/disputes/{id}/evidence/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceBody {
    /// Why the charge is valid (1 to 2000 characters).
    pub explanation: String,
    /// What was sold and how access was given.
    pub product_description: Option<String>,
    /// The buyer's email, when known.
    pub customer_email: Option<String>,
}

/// Submits evidence contesting a dispute to its gateway (admin); answers
/// the dispute as the gateway then reports it (usually `under_review`).
#[utoipa::path(tag = "disputes", params(("id" = String, Path)),
    request_body = EvidenceBody,
    responses((status = 200, description = "The dispute as the gateway reports it after the evidence.",
        body = DisputeView), GatewayCallProblems),
    security(("bearer" = [])))]
#[post("/api/payments/disputes/{id}/evidence/")]
pub async fn submit_evidence(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<DisputeId>(&path)?;
    let input: EvidenceBody = parse_body(&req, &body)?;
    let evidence = domain::ports::DisputeEvidence {
        explanation: input.explanation,
        product_description: input.product_description,
        customer_email: input.customer_email,
    };
    let dispute = state.disputes.submit_evidence(actor, id, evidence).await?;
    Ok(HttpResponse::Ok().json(DisputeView::from(&dispute)))
}

/// Accepts a dispute at its gateway without contesting it (admin): it is
/// lost, and the held money goes to the cardholder.
#[utoipa::path(tag = "disputes", params(("id" = String, Path)),
    responses((status = 200, description = "The dispute, lost.", body = DisputeView), GatewayCallProblems),
    security(("bearer" = [])))]
#[post("/api/payments/disputes/{id}/accept/")]
pub async fn accept_dispute(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let dispute = state.disputes.accept(actor, path_id::<DisputeId>(&path)?).await?;
    Ok(HttpResponse::Ok().json(DisputeView::from(&dispute)))
}

/// Body of `POST /api/payments/disputes/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenDisputeBody {
    /// The disputed payment (`pay_…`).
    pub payment_id: String,
    /// How much, in the payment's currency (default: all of it).
    pub amount: Option<String>,
    /// Why (1 to 200 characters).
    pub reason: String,
    /// When evidence is due.
    pub evidence_due_by: Option<DateTime<Utc>>,
}

/// Opens a dispute learnt of outside the gateways (admin): the disputed
/// amount is held at once; an admin resolves it.
#[utoipa::path(tag = "disputes", request_body = OpenDisputeBody,
    responses((status = 201, description = "The new dispute; its amount is held.",
        body = DisputeView), ReferenceProblems),
    security(("bearer" = [])))]
#[post("/api/payments/disputes/")]
pub async fn open_dispute(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: OpenDisputeBody = parse_body(&req, &body)?;
    let payment_id: domain::ids::PaymentId = input.payment_id.parse().map_err(|_| ApiError::NotFound)?;
    let payment = state.payments.get(actor, payment_id).await?;
    let mut errors = Vec::new();
    let amount = input
        .amount
        .as_deref()
        .map(|text| crate::dto::parse_amount("amount", text, payment.amount.currency(), &mut errors));
    crate::routes::fail_on(errors)?;
    let manual = domain::usecases::disputes::ManualDispute {
        payment_id,
        amount: amount.flatten(),
        reason: input.reason,
        evidence_due_by: input.evidence_due_by,
    };
    let dispute = state.disputes.open(actor, manual).await?;
    Ok(HttpResponse::Created().json(DisputeView::from(&dispute)))
}

/// Body of `POST /api/payments/disputes/{id}/resolve/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveDisputeBody {
    /// `won` (the hold is released) or `lost` (the money is gone).
    pub outcome: String,
}

/// Decides a dispute an admin opened (admin). Gateway disputes are decided
/// by their gateway: 409.
#[utoipa::path(tag = "disputes", params(("id" = String, Path)),
    request_body = ResolveDisputeBody,
    responses((status = 200, description = "The decided dispute.", body = DisputeView), ConflictProblems),
    security(("bearer" = [])))]
#[post("/api/payments/disputes/{id}/resolve/")]
pub async fn resolve_dispute(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<DisputeId>(&path)?;
    let input: ResolveDisputeBody = parse_body(&req, &body)?;
    let won = match input.outcome.as_str() {
        "won" => true,
        "lost" => false,
        _ => return Err(ApiError::Validation(vec![crate::error::FieldError::new("outcome", "must be won or lost")])),
    };
    let dispute = state.disputes.resolve(actor, id, won).await?;
    Ok(HttpResponse::Ok().json(DisputeView::from(&dispute)))
}
