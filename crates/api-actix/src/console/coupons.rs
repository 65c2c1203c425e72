//! Coupons: the list with usage, creating one (validated exactly as the
//! API validates it) and deactivating one; each action is audited.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{NaiveDate, NaiveTime};
use domain::coupon::Coupon;
use domain::ids::CouponId;
use domain::ports::CouponQuery;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

use super::audit::record;
use super::error::ConsoleError;
use super::layout::{ListPage, Section, csrf_field, html_page, page, pager, see_other, time};
use super::session::{ConsoleUser, CsrfForm};
use crate::AppState;
use crate::dto::{CouponView, CreateCouponBody};
use crate::error::{ApiError, FieldError};
use crate::routes::coupons::parse_coupon;
use crate::routes::path_id;

/// The coupon as the API shows it, for the audit log.
pub fn view(c: &Coupon) -> serde_json::Value {
    serde_json::to_value(CouponView::from(c)).unwrap_or_else(|_| json!({ "id": c.id.to_string() }))
}

fn form(user: &ConsoleUser) -> Markup {
    html! {
        h2 { "New coupon" }
        form.filters #new-coupon method="post" action="/admin/coupons" {
            (csrf_field(user))
            label { "Code" input name="code" required size="12"; }
            label { "Type" select name="discount_type" { option value="percentage" { "percentage" } option value="fixed" { "fixed" } } }
            label { "Value" input name="discount_value" required size="8" placeholder="10 or 5.00"; }
            label { "Currency (fixed)" input name="currency" size="4" placeholder="USD"; }
            label { "Max uses" input name="max_uses" inputmode="numeric" size="6"; }
            label { "Per user" input name="max_uses_per_user" inputmode="numeric" size="4"; }
            label { "Expires (UTC day)" input type="date" name="expires_on"; }
            label { "Courses (ids, comma-separated)" input name="course_ids" size="12"; }
            button type="submit" { "Create" }
        }
    }
}

/// The coupons list's filters.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CouponFilters {
    /// `on`: only coupons usable now (active, valid, not expired, not
    /// exhausted).
    #[serde(default)]
    usable: String,
    #[serde(flatten)]
    list: ListPage,
}

/// The coupons list (admins), newest first, with the creation form.
#[get("/coupons")]
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    filters: web::Query<CouponFilters>,
) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let list = &filters.list;
    let usable = filters.usable == "on";
    let query = CouponQuery { active: None, usable, page: list.request(domain::paging::MAX_PAGE_LIMIT)? };
    let coupons = state.coupons.list(user.actor, query).await.map_err(ApiError::from)?;
    let body = html! {
        form.filters method="get" action="/admin/coupons" {
            label { input type="checkbox" name="usable" checked[usable]; " usable now only" }
            (list.fields())
            button type="submit" { "Filter" }
        }
        div.table-wrap {
            table #coupons {
                thead { tr { th { "Code" } th { "Discount" } th { "Used" } th { "Limit" } th { "Expires" } th { "Active" } th {} } }
                tbody {
                    @for c in &coupons.items {
                        @let v = CouponView::from(c);
                        tr data-coupon=(v.code) {
                            td { a href={ "/admin/coupons/" (c.id) } { code { (v.code) } } }
                            td { (v.discount_value) " " (if v.discount_type == "percentage" { "%" } else { v.currency.as_deref().unwrap_or("") }) }
                            td.num { (v.times_used) }
                            td.num { (v.max_uses.map_or("—".to_owned(), |m| m.to_string())) }
                            td { (c.expires_at.map_or("—".to_owned(), time)) }
                            td { (if c.is_active { "yes" } else { "no" }) }
                            td {
                                @if c.is_active {
                                    form.inline method="post" action={ "/admin/coupons/" (c.id) "/deactivate" } data-confirm={ "Deactivate " (v.code) "?" } {
                                        (csrf_field(&user))
                                        button.danger type="submit" { "Deactivate" }
                                    }
                                }
                            }
                        }
                    }
                    @if coupons.items.is_empty() { tr { td colspan="7" .muted { "No coupons yet." } } }
                }
            }
        }
        (pager("/admin/coupons", &[("usable", if usable { "on" } else { "" })], list, coupons.next.as_ref()))
        (form(&user))
    };
    Ok(html_page(page(&user, Section::Coupons, "Coupons", body)))
}

/// The creation form's fields (empty means "not set").
#[derive(Debug, Deserialize)]
pub struct NewCouponForm {
    csrf: String,
    code: String,
    discount_type: String,
    discount_value: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    max_uses: String,
    #[serde(default)]
    max_uses_per_user: String,
    #[serde(default)]
    expires_on: String,
    #[serde(default)]
    course_ids: String,
}

/// A usage limit typed in a form: empty is none; anything else must be a
/// whole number (else a field error, and `None`).
pub fn typed_limit(field: &str, text: &str, errors: &mut Vec<FieldError>) -> Option<u32> {
    match optional(text).map(|t| t.parse::<u32>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            errors.push(FieldError::new(field, "a whole number, or empty for none"));
            None
        }
    }
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

impl NewCouponForm {
    /// The API's body for this form, or the fields that could not be read.
    fn body(&self) -> Result<CreateCouponBody, ApiError> {
        let mut errors = Vec::new();
        let max_uses = typed_limit("max_uses", &self.max_uses, &mut errors);
        let max_uses_per_user = typed_limit("max_uses_per_user", &self.max_uses_per_user, &mut errors);
        let expires_at = match optional(&self.expires_on) {
            None => None,
            Some(day) => match NaiveDate::parse_from_str(&day, "%Y-%m-%d") {
                // The whole day counts: it expires at the next midnight.
                Ok(day) => Some(day.and_time(NaiveTime::MIN).and_utc() + chrono::Duration::days(1)),
                Err(_) => {
                    errors.push(FieldError::new("expires_on", "a date like 2026-12-31"));
                    None
                }
            },
        };
        let course_ids: Result<Vec<i64>, _> =
            self.course_ids.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::parse::<i64>).collect();
        let course_ids = course_ids.unwrap_or_else(|_| {
            errors.push(FieldError::new("course_ids", "ids separated by commas"));
            Vec::new()
        });
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(CreateCouponBody {
            code: self.code.trim().to_owned(),
            discount_type: self.discount_type.clone(),
            discount_value: self.discount_value.trim().to_owned(),
            currency: optional(&self.currency),
            max_discount_amount: None,
            min_order_amount: None,
            max_uses,
            max_uses_per_user,
            valid_from: None,
            expires_at,
            course_ids: (!course_ids.is_empty()).then_some(course_ids),
            event_ids: None,
            is_active: None,
        })
    }
}

/// Creates a coupon.
#[post("/coupons")]
pub async fn create(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    form: web::Form<NewCouponForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let definition = parse_coupon(form.body()?)?;
    let coupon = state.coupons.create(user.actor, definition).await.map_err(ApiError::from)?;
    record(&state, &user, "coupon.create", coupon.id.to_string(), serde_json::Value::Null, view(&coupon)).await?;
    Ok(see_other("/admin/coupons"))
}

/// Deactivates a coupon; payments in flight keep their discount.
#[post("/coupons/{id}/deactivate")]
pub async fn deactivate(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let id: CouponId = path_id(&path)?;
    let before = state.coupons.usage(user.actor, id).await.map_err(ApiError::from)?.coupon;
    let after = state.coupons.deactivate(user.actor, id).await.map_err(ApiError::from)?;
    record(&state, &user, "coupon.deactivate", id.to_string(), view(&before), view(&after)).await?;
    Ok(see_other("/admin/coupons"))
}
