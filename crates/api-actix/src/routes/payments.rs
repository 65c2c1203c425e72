//! Payments: create, list, read, cancel, confirm.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use domain::coupon::CouponCode;
use domain::ids::{PaymentId, UserId};
use domain::paging::SortOrder;
use domain::payment::{BillingInfo, ClientInfo, PaymentMethod, PaymentStatus};
use domain::ports::PaymentQuery;
use domain::usecases::payments::CreatePayment;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::Authenticated;
use crate::dto::{
    ConfirmPaymentBody, CreatePaymentBody, NextActionView, PageView, PaymentActionView, PaymentView, check_text,
};
use crate::error::{ApiError, FieldError};
use crate::idempotency::{JsonReply, idempotent};
use crate::json::{parse_body, parse_query};
use crate::openapi::problems::{ConfirmProblems, ConflictProblems, PurchaseProblems};
use crate::routes::{IdempotencyBody, fail_on, item_ref, page_request, path_id};
use domain::usecases::rate_limits::LimitedAction;

/// Longest accepted user agent; longer ones are cut.
const MAX_USER_AGENT_CHARS: usize = 500;

fn client_info(req: &HttpRequest, ip_address: Option<std::net::IpAddr>) -> ClientInfo {
    ClientInfo {
        ip_address,
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect()),
    }
}

fn parse_create(body: CreatePaymentBody) -> Result<CreatePayment, ApiError> {
    let mut errors = Vec::new();
    let item = item_ref(body.course_id, body.event_id, &mut errors);
    let method = match body.payment_method.parse::<PaymentMethod>() {
        Ok(m) => Some(m),
        Err(_) => {
            errors.push(FieldError::new(
                "payment_method",
                "must be one of stripe, paypal, sandbox, bank_transfer, wallet",
            ));
            None
        }
    };
    let coupon_code = match body.coupon_code.as_deref().map(CouponCode::parse).transpose() {
        Ok(code) => code,
        Err(e) => {
            errors.push(FieldError::new("coupon_code", e.to_string()));
            None
        }
    };
    for (field, value) in [
        ("billing_name", &body.billing_name),
        ("billing_email", &body.billing_email),
        ("billing_address", &body.billing_address),
        ("billing_city", &body.billing_city),
        ("billing_postal_code", &body.billing_postal_code),
        ("billing_country", &body.billing_country),
    ] {
        check_text(field, value, &mut errors);
    }
    if body.billing_email.as_ref().is_some_and(|e| !e.contains('@')) {
        errors.push(FieldError::new("billing_email", "not an e-mail address"));
    }
    fail_on(errors)?;
    let (Some(item), Some(method)) = (item, method) else {
        return Err(ApiError::Internal);
    };
    Ok(CreatePayment {
        item,
        quantity: body.quantity.unwrap_or(1),
        coupon_code,
        method,
        billing: BillingInfo {
            name: body.billing_name,
            email: body.billing_email,
            address: body.billing_address,
            city: body.billing_city,
            postal_code: body.billing_postal_code,
            country: body.billing_country,
        },
        client: ClientInfo::default(),
    })
}

/// Creates a payment at the catalog price (less any coupon).
///
/// A coupon that makes it free completes it at once. Send an
/// `Idempotency-Key` header to make retries safe.
#[utoipa::path(tag = "payments",
    request_body = CreatePaymentBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, description = "The new payment; `next_action` says what the client does next to pay.",
        body = PaymentActionView),
        (status = 200, description = "The buyer's open payment for the same item (pending or processing), answered \
            instead of a second one: pay it, or cancel it to buy otherwise.", body = PaymentActionView),
        PurchaseProblems),
    security(("bearer" = [])))]
#[post("/api/payments/")]
pub async fn create_payment(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    idempotent(&state, &req, actor, &body, || async {
        // Counted only for requests that do the work: replays of an
        // Idempotency-Key and requests refused for it are free.
        let client = state.trusted_proxies.client_ip(&req);
        state.rate_limits.check(LimitedAction::CreatePayment, actor.user_id, client).await?;
        let input: CreatePaymentBody = parse_body(&req, &body)?;
        let mut command = parse_create(input)?;
        command.client = client_info(&req, client);
        let created = state.payments.create(actor, command).await?;
        let action = NextActionView::from_domain(&created.next_action);
        // The buyer's open payment for the item, found again: not new.
        let status = if created.reused { StatusCode::OK } else { StatusCode::CREATED };
        JsonReply::new(status, &PaymentActionView::new(&created.payment, actor, action))
    })
    .await
}

/// Filters of `GET /api/payments/`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PaymentListParams {
    /// Only this status.
    pub status: Option<String>,
    /// Only this method.
    pub payment_method: Option<String>,
    /// Only this payer (admins).
    pub user_id: Option<i64>,
    /// Only this instructor's sales (admins, or the instructor themself).
    pub instructor_id: Option<i64>,
    /// Created at or after (RFC 3339).
    pub created_from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    pub created_to: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Lists payments, newest first: students see their own, instructors their
/// own purchases or (with `instructor_id` = themself) their sales, admins all.
#[utoipa::path(tag = "payments", params(PaymentListParams),
    responses((status = 200, description = "A page of payments, newest first.", body = PageView<PaymentView>)),
    security(("bearer" = [])))]
#[get("/api/payments/")]
pub async fn list_payments(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params: PaymentListParams = parse_query(&req)?;
    let status = match params.status.as_deref() {
        None => None,
        Some(name) => Some(
            PaymentStatus::NAMES
                .into_iter()
                .find(|n| *n == name)
                .ok_or_else(|| ApiError::InvalidQuery("unknown status".to_owned()))?,
        ),
    };
    let method = params
        .payment_method
        .as_deref()
        .map(|m| m.parse::<PaymentMethod>().map_err(|_| ApiError::InvalidQuery("unknown payment_method".to_owned())))
        .transpose()?;
    let query = PaymentQuery {
        user_id: params.user_id.map(UserId::new),
        instructor_id: params.instructor_id.map(UserId::new),
        status,
        method,
        coupon_code: None,
        billing_email: None,
        livemode: None,
        page: page_request(params.cursor.as_deref(), params.limit)?.ordered(
            SortOrder::NewestFirst,
            params.created_from,
            params.created_to,
        ),
    };
    let page = state.payments.list(actor, query).await?;
    Ok(HttpResponse::Ok().json(PageView::of(&page, |p| PaymentView::seen_by(p, actor))))
}

/// One payment (its payer, its instructor, or an admin).
#[utoipa::path(tag = "payments", params(("id" = String, Path)),
    responses((status = 200, description = "The payment.", body = PaymentView)),
    security(("bearer" = [])))]
#[get("/api/payments/{id}/")]
pub async fn get_payment(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let payment = state.payments.get(actor, path_id::<PaymentId>(&path)?).await?;
    Ok(HttpResponse::Ok().json(PaymentView::seen_by(&payment, actor)))
}

/// Cancels an unpaid payment and gives its coupon use back.
#[utoipa::path(tag = "payments", params(("id" = String, Path)),
    responses((status = 200, description = "The cancelled payment.", body = PaymentView), ConflictProblems),
    security(("bearer" = [])))]
#[post("/api/payments/{id}/cancel/")]
pub async fn cancel_payment(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    body: IdempotencyBody,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<PaymentId>(&path)?;
    idempotent(&state, &req, actor, &body, || async {
        let payment = state.payments.cancel(actor, id).await?;
        JsonReply::new(StatusCode::OK, &PaymentView::seen_by(&payment, actor))
    })
    .await
}

/// Confirms a payment (its payer or an admin) and answers its state after
/// the gateway's verdict: sandbox test tokens decide it; Stripe confirms a
/// `pm_...` token server-side or re-reads the PaymentIntent; PayPal captures
/// the approved order.
#[utoipa::path(tag = "payments", params(("id" = String, Path)),
    request_body = ConfirmPaymentBody,
    responses((status = 200, description = "The payment after the gateway's verdict.",
        body = PaymentActionView), ConfirmProblems),
    security(("bearer" = [])))]
#[post("/api/payments/{id}/confirm/")]
pub async fn confirm_payment(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<PaymentId>(&path)?;
    idempotent(&state, &req, actor, &body, || async {
        let input: ConfirmPaymentBody = parse_body(&req, &body)?;
        let confirmed = state.payments.confirm(actor, id, &input.payment_token).await?;
        let action = NextActionView::from_domain(&confirmed.next_action);
        JsonReply::new(StatusCode::OK, &PaymentActionView::new(&confirmed.payment, actor, action))
    })
    .await
}
