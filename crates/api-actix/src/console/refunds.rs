//! Refunds: the list (of the mode the console shows), approving and
//! rejecting (through the same use cases as the API, each recorded in the
//! audit log).

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::ids::{PaymentId, RefundId};
use domain::ports::RefundQuery;
use domain::refund::{Refund, RefundStatus};
use domain::usecases::refunds::RefundError;
use maud::{Markup, html};
use representations::Represented;
use serde::Deserialize;

use super::approval::{ApproveForm, note_field};
use super::audit::{awaiting_second_approval, record};
use super::csv;
use super::error::ConsoleError;
use super::layout::{
    ListPage, Section, csrf_field, html_page, list_url, money, page, pager, see_other, status, time, unknown,
};
use super::session::ConsoleUser;
use crate::AppState;
use crate::error::ApiError;
use crate::routes::path_id;

const STATUSES: [&str; 6] = ["requested", "approved", "processing", "processed", "rejected", "failed"];

/// Filters of the refunds list.
#[derive(Debug, Default, Deserialize)]
pub struct RefundFilters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    payment: String,
    #[serde(flatten)]
    list: ListPage,
    /// `csv` for an export of the whole filter.
    #[serde(default)]
    format: String,
}

/// The refunds list (admins), newest first, with actions on requested ones.
#[get("/refunds")]
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    filters: web::Query<RefundFilters>,
) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let status_filter = if filters.status.is_empty() {
        None
    } else {
        Some(RefundStatus::parse(&filters.status).ok_or_else(|| unknown("status"))?)
    };
    let payment_id = if filters.payment.is_empty() {
        None
    } else {
        Some(filters.payment.parse::<PaymentId>().map_err(|_| unknown("payment"))?)
    };
    let query = RefundQuery {
        payer: None,
        payment_id,
        status: status_filter,
        livemode: Some(user.mode.is_live()),
        page: filters.list.request(domain::paging::MAX_PAGE_LIMIT)?,
    };
    let kept = [("status", filters.status.as_str()), ("payment", filters.payment.as_str())];
    if filters.format == "csv" {
        const COLUMNS: &str = "id,created_at,status,payment_id,currency,amount,platform_fee_reversed,reason,rejection_reason,origin,requested_by,processed_at,provider_refund_id";
        let (state, actor, first) = (&state, user.actor, query.page);
        let read = |page| {
            let query = RefundQuery { page, ..query.clone() };
            async move { Ok(state.refunds.list(actor, query).await?) }
        };
        return csv::export("refunds", COLUMNS, first, read, |r: &Refund| {
            vec![
                r.id.to_string().into(),
                r.created_at.to_rfc3339().into(),
                r.status.as_str().into(),
                r.payment_id.to_string().into(),
                r.amount.currency().code().into(),
                r.amount.into(),
                r.platform_fee_reversed.into(),
                r.reason.clone().into(),
                r.rejection_reason.clone().unwrap_or_default().into(),
                r.origin.as_str().into(),
                r.requested_by.map(|by| by.get().to_string()).unwrap_or_default().into(),
                r.processed_at.map(|t| t.to_rfc3339()).unwrap_or_default().into(),
                r.provider_refund_id.clone().unwrap_or_default().into(),
            ]
        })
        .await;
    }
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
            (filters.list.fields())
            button type="submit" { "Filter" }
            a href=(list_url("/admin/refunds", &kept, &filters.list, &[("format", "csv")])) { "Export CSV" }
        }
        div.table-wrap {
            table #refunds {
                thead { tr { th { "Requested" } th { "Refund" } th { "Payment" } th { "Amount" } th { "Status" } th { "Origin" } th { "Reason" } th { "Actions" } } }
                tbody {
                    @for r in &refunds.items { (row(&user, r)) }
                    @if refunds.items.is_empty() { tr { td colspan="8" .muted { "No refunds match." } } }
                }
            }
        }
        (pager("/admin/refunds", &kept, &filters.list, refunds.next.as_ref()))
    };
    Ok(html_page(page(&user, Section::Refunds, "Refunds", body)))
}

fn row(user: &ConsoleUser, r: &Refund) -> Markup {
    html! {
        tr data-refund=(r.id) {
            td { (time(r.created_at)) }
            td { a href={ "/admin/refunds/" (r.id) } { code { (r.id) } } }
            td { a href={ "/admin/payments/" (r.payment_id) } { (r.payment_id) } }
            td.num { (money(r.amount)) }
            td { (status(r.status.as_str())) }
            td.origin { (r.origin.as_str()) }
            td { (r.reason) }
            td {
                @if r.status == RefundStatus::Requested {
                    form.inline method="post" action={ "/admin/refunds/" (r.id) "/approve" } data-confirm={ "Approve the refund of " (money(r.amount)) "?" } {
                        (csrf_field(user))
                        (note_field(domain::usecases::refunds::MAX_REASON_CHARS))
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

/// Approves a requested refund, with the form's note if any: the money
/// goes back through the gateway.
#[post("/refunds/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ApproveForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let id: RefundId = path_id(&path)?;
    let before = state.refunds.get(user.actor, id).await.map_err(ApiError::from)?;
    match state.refunds.approve(user.actor, id, form.note()).await {
        Ok(after) => {
            record(&state, &user, "refund.approve", after.id.to_string(), before.to_json()?, after.to_json()?).await?;
            Ok(see_other("/admin/refunds"))
        }
        Err(RefundError::SecondApprovalRequired { .. }) => {
            let payload = before.to_json()?;
            record(&state, &user, "refund.approve_first", id.to_string(), payload.clone(), payload).await?;
            Ok(awaiting_second_approval(&user, Section::Refunds, "/admin/refunds"))
        }
        Err(e) => Err(ApiError::from(e).into()),
    }
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
    user.require_admin()?;
    let id: RefundId = path_id(&path)?;
    let reason = form.reason.trim();
    // The same limit as the API's: the domain's.
    let most = domain::usecases::refunds::MAX_REASON_CHARS;
    if reason.is_empty() || reason.chars().count() > most {
        return Err(ConsoleError::Api(ApiError::Validation(vec![crate::error::FieldError::new(
            "reason",
            format!("a reason of 1 to {most} characters is required"),
        )])));
    }
    let before = state.refunds.get(user.actor, id).await.map_err(ApiError::from)?;
    let after = state.refunds.reject(user.actor, id, reason.to_owned()).await.map_err(ApiError::from)?;
    record(&state, &user, "refund.reject", after.id.to_string(), before.to_json()?, after.to_json()?).await?;
    Ok(see_other("/admin/refunds"))
}
