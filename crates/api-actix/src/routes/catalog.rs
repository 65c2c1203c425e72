//! `PUT /api/payments/catalog/{courses|events}/{id}/`: the price authority
//! (and an event's seats); `GET` reads an item with the seats left.

use actix_web::{HttpRequest, HttpResponse, get, put, web};
use domain::catalog::{Availability, ItemRef};
use domain::ids::UserId;
use domain::usecases::catalog::{PutCatalogItem, PutCatalogItemError};

use crate::AppState;
use crate::auth::{Admin, Authenticated};
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
    let item = item_of(path.into_inner())?;
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
                capacity: input.capacity,
                tickets_per_buyer: input.tickets_per_buyer.unwrap_or(1),
            },
        )
        .await
        .map_err(|e| match e {
            PutCatalogItemError::Forbidden(_) => ApiError::Forbidden,
            PutCatalogItemError::NegativePrice | PutCatalogItemError::AmountTooLarge => {
                ApiError::Validation(vec![FieldError::new("price", e.to_string())])
            }
            PutCatalogItemError::CourseSeats => ApiError::Validation(vec![FieldError::new("capacity", e.to_string())]),
            PutCatalogItemError::TicketsPerBuyer => {
                ApiError::Validation(vec![FieldError::new("tickets_per_buyer", e.to_string())])
            }
            PutCatalogItemError::CapacityBelowTaken { .. } => ApiError::CapacityBelowTaken(e.to_string()),
            PutCatalogItemError::Store(e) => crate::convert::store(e),
        })?;
    let seats_left = state.catalog.seats_left(&stored).await.map_err(crate::convert::store)?;
    Ok(HttpResponse::Ok().json(CatalogItemView::with_seats(&stored, seats_left)))
}

/// Reads a course or event, with an event's seats left (anyone signed in).
#[utoipa::path(tag = "catalog",
    params(("kind" = String, Path, description = "`courses` or `events`"), ("id" = i64, Path)),
    responses((status = 200, description = "The course or event.", body = CatalogItemView)),
    security(("bearer" = [])))]
#[get("/api/payments/catalog/{kind}/{id}/")]
pub async fn get_item(
    state: web::Data<AppState>,
    Authenticated(_actor): Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let item = item_of(path.into_inner())?;
    let found = state.catalog.find(item).await.map_err(crate::convert::store)?.ok_or(ApiError::NotFound)?;
    let seats_left = state.catalog.seats_left(&found).await.map_err(crate::convert::store)?;
    Ok(HttpResponse::Ok().json(CatalogItemView::with_seats(&found, seats_left)))
}

fn item_of((kind, id): (String, String)) -> Result<ItemRef, ApiError> {
    let id: i64 = id.parse().ok().filter(|id| *id > 0).ok_or(ApiError::NotFound)?;
    match kind.as_str() {
        "courses" => Ok(ItemRef::course(id)),
        "events" => Ok(ItemRef::event(id)),
        _ => Err(ApiError::RouteNotFound),
    }
}
