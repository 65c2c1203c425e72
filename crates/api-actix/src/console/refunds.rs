//! Refunds: the list, approving and rejecting (through the same use cases
//! as the API, each recorded in the audit log), and the audit log page.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::Utc;
use domain::ids::{PaymentId, RefundId};
use domain::outbox::refund_payload;
use domain::paging::PageRequest;
use domain::ports::{AuditEntry, RefundQuery};
use domain::refund::{Refund, RefundStatus};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::ConsoleError;
use super::layout::{Section, csrf_field, money, page, status, time};
use super::session::{ConsoleUser, CsrfForm};
use crate::AppState;
use crate::error::ApiError;

const STATUSES: [&str; 6] = ["requested", "approved", "processing", "processed", "rejected", "failed"];

/// Filters of the refunds list.
#[derive(Debug, Default, Deserialize)]
pub struct RefundFilters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    payment: String,
}

fn admin_only(user: &ConsoleUser) -> Result<(), ConsoleError> {
    if user.actor.is_admin() { Ok(()) } else { Err(ConsoleError::Forbidden) }
}

fn html_page(markup: Markup) -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(markup.into_string())
}

/// The refunds list (admins), newest first, with actions on requested ones.
#[get("/refunds")]
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    filters: web::Query<RefundFilters>,
) -> Result<HttpResponse, ConsoleError> {
    admin_only(&user)?;
    let bad = |what: &str| ConsoleError::Api(ApiError::InvalidQuery(format!("unknown {what}")));
    let status_filter = if filters.status.is_empty() {
        None
    } else {
        Some(RefundStatus::parse(&filters.status).ok_or_else(|| bad("status"))?)
    };
    let payment_id = if filters.payment.is_empty() {
        None
    } else {
        Some(filters.payment.parse::<PaymentId>().map_err(|_| bad("payment"))?)
    };
    let query = RefundQuery {
        payer: None,
        payment_id,
        status: status_filter,
        page: PageRequest::new(None, Some(domain::paging::MAX_PAGE_LIMIT)),
    };
    let refunds = state.refunds.list(user.actor, query).await?;
    let body = html! {
        form.filters method="get" action="/admin/refunds" {
            label { "Status"
                select name="status" {
                    option value="" { "any" }
                    @for s in STATUSES { option value=(s) selected[s == filters.status] { (s) } }
                }
            }
            label { "Payment" input name="payment" value=(filters.payment) placeholder="pay_…"; }
            button type="submit" { "Filter" }
        }
        div.table-wrap {
            table #refunds {
                thead { tr { th { "Requested" } th { "Refund" } th { "Payment" } th { "Amount" } th { "Status" } th { "Reason" } th { "Actions" } } }
                tbody {
                    @for r in &refunds.items { (row(&user, r)) }
                    @if refunds.items.is_empty() { tr { td colspan="7" .muted { "No refunds match." } } }
                }
            }
        }
        @if refunds.next.is_some() { p.muted { "Showing the newest 100; narrow the filter to see older ones." } }
    };
    Ok(html_page(page(&user, Section::Refunds, "Refunds", body)))
}

fn row(user: &ConsoleUser, r: &Refund) -> Markup {
    html! {
        tr data-refund=(r.id) {
            td { (time(r.created_at)) }
            td { code { (r.id) } }
            td { a href={ "/admin/payments/" (r.payment_id) } { (r.payment_id) } }
            td.num { (money(r.amount)) }
            td { (status(r.status.as_str())) }
            td { (r.reason) }
            td {
                @if r.status == RefundStatus::Requested {
                    form.inline method="post" action={ "/admin/refunds/" (r.id) "/approve" } data-confirm={ "Approve the refund of " (money(r.amount)) "?" } {
                        (csrf_field(user))
                        button type="submit" { "Approve" }
                    }
                    form.inline method="post" action={ "/admin/refunds/" (r.id) "/reject" } {
                        (csrf_field(user))
                        input name="reason" required placeholder="Reason" size="12" aria-label="Rejection reason";
                        button.danger type="submit" { "Reject" }
                    }
                }
            }
        }
    }
}

fn refund_id(path: &str) -> Result<RefundId, ConsoleError> {
    path.parse().map_err(|_| ConsoleError::Api(ApiError::NotFound))
}

/// Records a console action in the audit log.
async fn audit(
    state: &AppState,
    user: &ConsoleUser,
    action: &str,
    before: &Refund,
    after: &Refund,
) -> Result<(), ConsoleError> {
    let entry = AuditEntry {
        actor: user.actor,
        action: action.to_owned(),
        object_id: after.id.to_string(),
        before: Some(refund_payload(before)),
        after: Some(refund_payload(after)),
        at: Utc::now(),
    };
    state.console.record(entry).await?;
    Ok(())
}

fn back_to_refunds() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, "/admin/refunds")).finish()
}

/// Approves a requested refund: the money goes back through the gateway.
#[post("/refunds/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    admin_only(&user)?;
    let id = refund_id(&path)?;
    let before = state.refunds.get(user.actor, id).await.map_err(ApiError::from)?;
    let after = state.refunds.approve(user.actor, id).await.map_err(ApiError::from)?;
    audit(&state, &user, "refund.approve", &before, &after).await?;
    Ok(back_to_refunds())
}

/// The reject form's body.
#[derive(Debug, Deserialize)]
pub struct RejectForm {
    csrf: String,
    reason: String,
}

/// Rejects a requested refund with a reason.
#[post("/refunds/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<RejectForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    admin_only(&user)?;
    let id = refund_id(&path)?;
    let reason = form.reason.trim();
    if reason.is_empty() || reason.chars().count() > crate::dto::MAX_TEXT_CHARS {
        return Err(ConsoleError::Api(ApiError::Validation(vec![crate::error::FieldError::new(
            "reason",
            "a reason of 1 to 500 characters is required",
        )])));
    }
    let before = state.refunds.get(user.actor, id).await.map_err(ApiError::from)?;
    let after = state.refunds.reject(user.actor, id, reason.to_owned()).await.map_err(ApiError::from)?;
    audit(&state, &user, "refund.reject", &before, &after).await?;
    Ok(back_to_refunds())
}

/// The audit log (admins), newest first.
#[get("/audit")]
pub async fn audit_log(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, ConsoleError> {
    admin_only(&user)?;
    let entries = state.console.audit_log(None, None, 200).await?;
    let body = html! {
        p.muted { "Every console action, append-only. The newest 200." }
        div.table-wrap {
            table #audit {
                thead { tr { th { "When" } th { "Who" } th { "Action" } th { "Object" } th { "Before → after" } } }
                tbody {
                    @for (_, e) in &entries {
                        tr {
                            td { (time(e.at)) }
                            td { (e.actor.role.as_str()) " " (e.actor.user_id.get()) }
                            td { (e.action) }
                            td { code { (e.object_id) } }
                            td { (summary(e.before.as_ref())) " → " (summary(e.after.as_ref())) }
                        }
                    }
                    @if entries.is_empty() { tr { td colspan="5" .muted { "No actions yet." } } }
                }
            }
        }
    };
    Ok(html_page(page(&user, Section::Audit, "Audit log", body)))
}

/// The status of an audited object, as the short form of its change.
fn summary(value: Option<&serde_json::Value>) -> String {
    value.and_then(|v| v.get("status")).and_then(|s| s.as_str()).unwrap_or("—").to_owned()
}
