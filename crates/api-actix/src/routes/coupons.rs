//! Coupons: create, list, read with usage, edit, validate, deactivate.

use std::str::FromStr;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use domain::coupon::{CouponCode, CouponEdit, Discount, NewCoupon, Targeting};
use domain::ids::CouponId;
use domain::money::{Currency, Rate};
use domain::ports::CouponQuery;
use domain::usecases::coupons::CouponCheck;
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::{Admin, Authenticated};
use crate::dto::{
    AmountView, CouponUsageView, CouponValidationView, CouponView, CreateCouponBody, EditCouponBody, PageView,
    ValidateCouponBody, parse_amount, parse_currency,
};
use crate::error::{ApiError, FieldError};
use crate::idempotency::{JsonReply, idempotent};
use crate::json::{parse_body, parse_query};
use crate::openapi::problems::{ConflictProblems, CouponCheckProblems};
use crate::routes::{fail_on, item_ref, page_request, path_id};
use domain::usecases::rate_limits::LimitedAction;

/// Most ids a coupon may be restricted to.
const MAX_TARGET_IDS: usize = 1_000;

pub(crate) fn parse_coupon(body: CreateCouponBody) -> Result<NewCoupon, ApiError> {
    let mut errors = Vec::new();
    let code = CouponCode::parse(&body.code).map_err(|e| errors.push(FieldError::new("code", e.to_string()))).ok();
    let currency: Option<Currency> = body.currency.as_deref().and_then(|c| parse_currency("currency", c, &mut errors));
    let money = |field: &str, text: &Option<String>, errors: &mut Vec<FieldError>| match (text, currency) {
        (None, _) => None,
        (Some(t), Some(c)) => parse_amount(field, t, c, errors),
        (Some(_), None) => {
            errors.push(FieldError::new(field, "needs a currency"));
            None
        }
    };
    let max_discount = money("max_discount_amount", &body.max_discount_amount, &mut errors);
    let min_order = money("min_order_amount", &body.min_order_amount, &mut errors);
    let discount = match body.discount_type.as_str() {
        "percentage" => {
            let percent = Decimal::from_str(&body.discount_value)
                .ok()
                .filter(|p| {
                    *p > Decimal::ZERO
                        && *p <= Decimal::ONE_HUNDRED
                        && p.scale() <= 4
                        && !body.discount_value.contains(['e', 'E'])
                })
                .and_then(|p| Rate::from_percent(p).ok());
            match percent {
                Some(rate) => Some(Discount::Percentage { rate, max_discount }),
                None => {
                    errors.push(FieldError::new("discount_value", "a percentage above 0 and at most 100"));
                    None
                }
            }
        }
        "fixed" => money("discount_value", &Some(body.discount_value.clone()), &mut errors)
            .map(|amount| Discount::Fixed { amount }),
        _ => {
            errors.push(FieldError::new("discount_type", "must be percentage or fixed"));
            None
        }
    };
    let course_ids = body.course_ids.unwrap_or_default();
    let event_ids = body.event_ids.unwrap_or_default();
    if course_ids.len() + event_ids.len() > MAX_TARGET_IDS {
        errors.push(FieldError::new("course_ids", format!("at most {MAX_TARGET_IDS} ids in all")));
    }
    if course_ids.iter().chain(&event_ids).any(|id| *id <= 0) {
        errors.push(FieldError::new("course_ids", "ids must be positive"));
    }
    fail_on(errors)?;
    let (Some(code), Some(discount)) = (code, discount) else {
        return Err(ApiError::Internal);
    };
    Ok(NewCoupon {
        id: CouponId::from_uuid(uuid::Uuid::nil()),
        code,
        discount,
        currency,
        min_order_amount: min_order,
        max_uses: body.max_uses,
        max_uses_per_user: body.max_uses_per_user,
        valid_from: body.valid_from,
        expires_at: body.expires_at,
        targeting: Targeting { course_ids, event_ids },
        is_active: body.is_active.unwrap_or(true),
        created_at: chrono::Utc::now(),
    })
}

/// Creates a coupon (admin).
#[utoipa::path(tag = "coupons", request_body = CreateCouponBody,
    responses((status = 201, description = "The new coupon.", body = CouponView), ConflictProblems),
    security(("bearer" = [])))]
#[post("/api/payments/coupons/")]
pub async fn create_coupon(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    idempotent(&state, &req, actor, &body, || async {
        let definition = parse_coupon(parse_body(&req, &body)?)?;
        let coupon = state.coupons.create(actor, definition).await?;
        JsonReply::new(StatusCode::CREATED, &CouponView::from(&coupon))
    })
    .await
}

/// Filters of `GET /api/payments/coupons/`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CouponListParams {
    /// Only active (`true`) or inactive (`false`) coupons.
    pub is_active: Option<bool>,
    /// `true`: only coupons usable now (active, valid from before now, not
    /// expired, not exhausted).
    pub usable: Option<bool>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Lists coupons, newest first (admin).
#[utoipa::path(tag = "coupons", params(CouponListParams),
    responses((status = 200, description = "A page of coupons, newest first.", body = PageView<CouponView>)),
    security(("bearer" = [])))]
#[get("/api/payments/coupons/")]
pub async fn list_coupons(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params: CouponListParams = parse_query(&req)?;
    let page = state
        .coupons
        .list(
            actor,
            CouponQuery {
                active: params.is_active,
                usable: params.usable == Some(true),
                page: page_request(params.cursor.as_deref(), params.limit)?,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(PageView::of(&page, |c| CouponView::from(c))))
}

/// A coupon with its usage figures (admin).
#[utoipa::path(tag = "coupons", params(("id" = String, Path)),
    responses((status = 200, description = "The coupon with its usage figures.", body = CouponUsageView)),
    security(("bearer" = [])))]
#[get("/api/payments/coupons/{id}/")]
pub async fn get_coupon(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let found = state.coupons.usage(actor, path_id::<CouponId>(&path)?).await?;
    Ok(HttpResponse::Ok().json(CouponUsageView {
        coupon: CouponView::from(&found.coupon),
        reserved: found.usage.reserved,
        confirmed: found.usage.confirmed,
        released: found.usage.released,
        confirmed_discount: found
            .usage
            .confirmed_discount
            .iter()
            .map(|m| AmountView { amount: m.to_major_string(), currency: m.currency().code().to_owned() })
            .collect(),
    }))
}

impl From<EditCouponBody> for CouponEdit {
    fn from(body: EditCouponBody) -> Self {
        CouponEdit {
            max_uses: body.max_uses,
            max_uses_per_user: body.max_uses_per_user,
            valid_from: body.valid_from,
            expires_at: body.expires_at,
            is_active: body.is_active,
        }
    }
}

/// Changes a coupon's limits, validity or switch (admin). Fields left out
/// stay; `null` removes a limit. `max_uses` below the uses already taken is
/// refused with 409 `coupon_limit_below_uses`.
#[utoipa::path(tag = "coupons", params(("id" = String, Path)),
    request_body = EditCouponBody,
    responses((status = 200, description = "The coupon as edited.", body = CouponView), ConflictProblems),
    security(("bearer" = [])))]
#[patch("/api/payments/coupons/{id}/")]
pub async fn edit_coupon(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<CouponId>(&path)?;
    let input: EditCouponBody = parse_body(&req, &body)?;
    let edited = state.coupons.edit(actor, id, input.into()).await?;
    Ok(HttpResponse::Ok().json(CouponView::from(&edited.after)))
}

/// Deactivates a coupon (admin); payments in flight keep their discount.
#[utoipa::path(tag = "coupons", params(("id" = String, Path)),
    responses((status = 200, description = "The deactivated coupon.", body = CouponView)),
    security(("bearer" = [])))]
#[delete("/api/payments/coupons/{id}/")]
pub async fn deactivate_coupon(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let coupon = state.coupons.deactivate(actor, path_id::<CouponId>(&path)?).await?;
    Ok(HttpResponse::Ok().json(CouponView::from(&coupon)))
}

/// Tells whether a coupon applies to a course or event, and the price after
/// it. Reserves nothing.
#[utoipa::path(tag = "coupons", request_body = ValidateCouponBody,
    responses((status = 200,
        description = "Whether the coupon applies: the discount and final price, or the reason it does not.",
        body = CouponValidationView), CouponCheckProblems),
    security(("bearer" = [])))]
#[post("/api/payments/coupons/validate/")]
pub async fn validate_coupon(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let client = state.trusted_proxies.client_ip(&req);
    state.rate_limits.check(LimitedAction::ValidateCoupon, actor.user_id, client).await?;
    let input: ValidateCouponBody = parse_body(&req, &body)?;
    let mut errors = Vec::new();
    let item = item_ref(input.course_id, input.event_id, &mut errors);
    fail_on(errors)?;
    let item = item.ok_or(ApiError::Internal)?;
    let check = state.coupons.validate(actor, &input.code, item).await?;
    let view = match check {
        CouponCheck::Valid { discount, final_amount } => CouponValidationView {
            valid: true,
            discount_amount: Some(discount.to_major_string()),
            final_amount: Some(final_amount.to_major_string()),
            currency: Some(final_amount.currency().code().to_owned()),
            reason: None,
        },
        CouponCheck::Invalid(reason) => CouponValidationView {
            valid: false,
            discount_amount: None,
            final_amount: None,
            currency: None,
            reason: Some(reason.code().to_owned()),
        },
    };
    Ok(HttpResponse::Ok().json(view))
}
