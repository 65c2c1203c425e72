//! One coupon: its terms, usage, history, and the form that edits its
//! limits, validity window and switch through the API's edit use case.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use domain::coupon::{Coupon, CouponEdit};
use domain::ids::CouponId;
use maud::html;
use serde::Deserialize;

use super::audit::record;
use super::coupons::{typed_limit, view};
use super::error::ConsoleError;
use super::history::timeline_table;
use super::layout::{Section, csrf_field, html_page, money, page, see_other, time};
use super::session::ConsoleUser;
use crate::AppState;
use crate::dto::CouponView;
use crate::error::{ApiError, FieldError};
use crate::routes::path_id;

/// `datetime-local` inputs speak minutes without a zone; the console reads
/// and writes them as UTC.
const LOCAL_MINUTES: &str = "%Y-%m-%dT%H:%M";

fn local(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| t.format(LOCAL_MINUTES).to_string()).unwrap_or_default()
}

/// One coupon with its usage, timeline and edit form (admins).
#[get("/coupons/{id}")]
pub async fn detail(
    state: web::Data<AppState>,
    user: ConsoleUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let id: CouponId = path_id(&path)?;
    let found = state.coupons.usage(user.actor, id).await.map_err(ApiError::from)?;
    let timeline = state.console.object_timeline(id.to_string(), None, found.coupon.created_at).await?;
    let (c, usage) = (&found.coupon, &found.usage);
    let v = CouponView::from(c);
    let limit = |l: Option<u32>| l.map_or(String::new(), |n| n.to_string());
    let body = html! {
        dl.facts {
            dt { "Discount" } dd { (v.discount_value) " " (if v.discount_type == "percentage" { "%" } else { v.currency.as_deref().unwrap_or("") }) }
            dt { "Active" } dd #coupon-active { (if c.is_active { "yes" } else { "no" }) }
            dt { "Uses" } dd #coupon-uses { (c.times_used) " of " (c.max_uses.map_or("unlimited".to_owned(), |m| m.to_string())) }
            dt { "Reserved / confirmed / released" } dd { (usage.reserved) " / " (usage.confirmed) " / " (usage.released) }
            dt { "Discount given" } dd { @for m in &usage.confirmed_discount { (money(*m)) " " } @if usage.confirmed_discount.is_empty() { "—" } }
            dt { "Valid" } dd { (c.valid_from.map_or("—".to_owned(), time)) " to " (c.expires_at.map_or("—".to_owned(), time)) }
            dt { "Created" } dd { (time(c.created_at)) }
        }
        p { a href={ "/admin/payments?q=" (c.code.as_str()) } { "Payments with this coupon" } }
        h2 { "Edit" }
        p.muted { "An empty limit or date means none. Code, discount and targeting cannot change." }
        form.filters #edit-coupon method="post" action={ "/admin/coupons/" (c.id) "/edit" } {
            (csrf_field(&user))
            label { "Max uses" input name="max_uses" inputmode="numeric" size="6" value=(limit(c.max_uses)); }
            label { "Per user" input name="max_uses_per_user" inputmode="numeric" size="4" value=(limit(c.max_uses_per_user)); }
            label { "Valid from (UTC)" input type="datetime-local" name="valid_from" value=(local(c.valid_from)); }
            label { "Expires at (UTC)" input type="datetime-local" name="expires_at" value=(local(c.expires_at)); }
            label { "Active" input type="checkbox" name="is_active" value="on" checked[c.is_active]; }
            button type="submit" { "Save" }
        }
        h2 { "History" }
        (timeline_table(&timeline))
    };
    Ok(html_page(page(&user, Section::Coupons, &format!("Coupon {}", c.code), body)))
}

/// The edit form's fields (empty means "none").
#[derive(Debug, Deserialize)]
pub struct EditCouponForm {
    csrf: String,
    #[serde(default)]
    max_uses: String,
    #[serde(default)]
    max_uses_per_user: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    expires_at: String,
    /// Present only when the box is ticked.
    is_active: Option<String>,
}

impl EditCouponForm {
    /// The edit, naming only the fields whose shown value was changed, so
    /// a time kept to the second is not cut to the minute by a save.
    fn edit(&self, current: &Coupon) -> Result<CouponEdit, ApiError> {
        let mut errors = Vec::new();
        let mut limit = |field: &str, text: &str, now: Option<u32>| {
            let before = errors.len();
            let new = typed_limit(field, text, &mut errors);
            (errors.len() == before && new != now).then_some(new)
        };
        let max_uses = limit("max_uses", &self.max_uses, current.max_uses);
        let max_uses_per_user = limit("max_uses_per_user", &self.max_uses_per_user, current.max_uses_per_user);
        let mut moment = |field: &str, text: &str, now: Option<DateTime<Utc>>| {
            if text.trim() == local(now) {
                return None;
            }
            match text.trim() {
                "" => Some(None),
                t => match NaiveDateTime::parse_from_str(t, LOCAL_MINUTES) {
                    Ok(at) => Some(Some(at.and_utc())),
                    Err(_) => {
                        errors.push(FieldError::new(field, "a date and time like 2026-12-31T23:59"));
                        None
                    }
                },
            }
        };
        let valid_from = moment("valid_from", &self.valid_from, current.valid_from);
        let expires_at = moment("expires_at", &self.expires_at, current.expires_at);
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let is_active = self.is_active.is_some();
        Ok(CouponEdit {
            max_uses,
            max_uses_per_user,
            valid_from,
            expires_at,
            is_active: (is_active != current.is_active).then_some(is_active),
        })
    }
}

/// Saves an edit; the before and after go to the audit log.
#[post("/coupons/{id}/edit")]
pub async fn edit(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<EditCouponForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let id: CouponId = path_id(&path)?;
    let current = state.coupons.usage(user.actor, id).await.map_err(ApiError::from)?.coupon;
    let edit = form.edit(&current)?;
    let edited = state.coupons.edit(user.actor, id, edit).await.map_err(ApiError::from)?;
    record(&state, &user, "coupon.edit", id.to_string(), view(&edited.before), view(&edited.after)).await?;
    Ok(see_other(&format!("/admin/coupons/{id}")))
}
