//! `PUT /api/payments/catalog/{courses|events}/{id}/`: the price authority.

use actix_web::{HttpRequest, HttpResponse, put, web};
use domain::catalog::{Availability, ItemRef};
use domain::ids::UserId;
use domain::usecases::catalog::{PutCatalogItem, PutCatalogItemError};

use crate::AppState;
use crate::auth::Admin;
use crate::dto::{CatalogItemView, MAX_TEXT_CHARS, PutCatalogItemBody, parse_amount, parse_currency};
use crate::error::{ApiError, FieldError};
use crate::json::parse_body;
use crate::routes::fail_on;

/// Creates or replaces a course or event (admin).
#[utoipa::path(tag = "catalog",
    params(("kind" = String, Path, description = "`courses` or `events`"), ("id" = i64, Path)),
    request_body = PutCatalogItemBody,
    responses((status = 200, description = "The course or event as stored.", body = CatalogItemView)),
    security(("bearer" = [])))]
#[put("/api/payments/catalog/{kind}/{id}/")]
pub async fn put_item(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (kind, id) = path.into_inner();
    let id: i64 = id.parse().ok().filter(|id| *id > 0).ok_or(ApiError::NotFound)?;
    let item = match kind.as_str() {
        "courses" => ItemRef::course(id),
        "events" => ItemRef::event(id),
        _ => return Err(ApiError::RouteNotFound),
    };
    let input: PutCatalogItemBody = parse_body(&req, &body)?;
    let mut errors = Vec::new();
    if input.title.trim().is_empty() || input.title.chars().count() > MAX_TEXT_CHARS {
        errors.push(FieldError::new("title", format!("1 to {MAX_TEXT_CHARS} characters")));
    }
    if input.instructor_id <= 0 {
        errors.push(FieldError::new("instructor_id", "must be a positive id"));
    }
    let price = parse_currency("currency", &input.currency, &mut errors)
        .and_then(|currency| parse_amount("price", &input.price, currency, &mut errors));
    fail_on(errors)?;
    let price = price.ok_or(ApiError::Internal)?;
    let stored = state
        .catalog
        .put(
            actor,
            PutCatalogItem {
                item,
                title: input.title.trim().to_owned(),
                price,
                instructor_id: UserId::new(input.instructor_id),
                availability: if input.active { Availability::Active } else { Availability::Inactive },
            },
        )
        .await
        .map_err(|e| match e {
            PutCatalogItemError::Forbidden(_) => ApiError::Forbidden,
            PutCatalogItemError::NegativePrice | PutCatalogItemError::AmountTooLarge => {
                ApiError::Validation(vec![FieldError::new("price", e.to_string())])
            }
            PutCatalogItemError::Store(e) => crate::convert::store(e),
        })?;
    Ok(HttpResponse::Ok().json(CatalogItemView::from(&stored)))
}
