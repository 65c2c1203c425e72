//! Payouts: the list with filters, and the admin actions (approve, reject,
//! and for bank transfers mark paid or failed), each through the same use
//! cases as the API and recorded in the audit log.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::ids::{PayoutId, UserId};
use domain::payout::{Payout, PayoutMethod, PayoutStatus};
use domain::ports::PayoutQuery;
use domain::usecases::payouts::PayoutError;
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

/// Filters of the payouts list.
#[derive(Debug, Default, Deserialize)]
pub struct PayoutFilters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    instructor: String,
    #[serde(flatten)]
    list: ListPage,
    /// `csv` for an export of the whole filter.
    #[serde(default)]
    format: String,
}

/// The payouts list (admins), newest first, with actions.
#[get("/payouts")]
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    filters: web::Query<PayoutFilters>,
) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let query = PayoutQuery {
        instructor: match filters.instructor.trim() {
            "" => None,
            text => Some(UserId::new(text.parse().map_err(|_| unknown("instructor"))?)),
        },
        status: match filters.status.as_str() {
            "" => None,
            name => Some(PayoutStatus::parse(name).ok_or_else(|| unknown("status"))?),
        },
        method: match filters.method.as_str() {
            "" => None,
            name => Some(name.parse::<PayoutMethod>().map_err(|_| unknown("method"))?),
        },
        livemode: Some(user.mode.is_live()),
        page: filters.list.request(domain::paging::MAX_PAGE_LIMIT)?,
    };
    let kept = [
        ("status", filters.status.as_str()),
        ("method", filters.method.as_str()),
        ("instructor", filters.instructor.as_str()),
    ];
    if filters.format == "csv" {
        const COLUMNS: &str = "id,created_at,status,instructor_id,currency,amount,method,destination,transaction_id,paid_at,failure_reason";
        let (state, actor, first) = (&state, user.actor, query.page);
        let read = |page| {
            let query = PayoutQuery { page, ..query.clone() };
            async move { Ok(state.payouts.list(actor, query).await.map_err(ApiError::from)?) }
        };
        // Destinations only masked, as on the page.
        return csv::export("payouts", COLUMNS, first, read, |p: &Payout| {
            vec![
                p.id.to_string().into(),
                p.created_at.to_rfc3339().into(),
                p.status.as_str().into(),
                p.instructor_id.get().to_string().into(),
                p.amount.currency().code().into(),
                p.amount.into(),
                p.method.as_str().into(),
                p.destination_masked.clone().into(),
                p.transaction_id.clone().unwrap_or_default().into(),
                p.paid_at.map(|t| t.to_rfc3339()).unwrap_or_default().into(),
                p.failure_reason.clone().unwrap_or_default().into(),
            ]
        })
        .await;
    }
    let payouts = state.payouts.list(user.actor, query).await.map_err(ApiError::from)?;
    let body = html! {
        form.filters method="get" action="/admin/payouts" {
            label { "Status"
                select name="status" {
                    option value="" { "any" }
                    @for s in PayoutStatus::ALL { option value=(s.as_str()) selected[s.as_str() == filters.status] { (s.as_str()) } }
                }
            }
            label { "Method"
                select name="method" {
                    option value="" { "any" }
                    @for m in PayoutMethod::ALL { option value=(m.as_str()) selected[m.as_str() == filters.method] { (m.as_str()) } }
                }
            }
            label { "Instructor" input name="instructor" value=(filters.instructor) inputmode="numeric" size="8"; }
            (filters.list.fields())
            button type="submit" { "Filter" }
            a href=(list_url("/admin/payouts", &kept, &filters.list, &[("format", "csv")])) { "Export CSV" }
        }
        div.table-wrap {
            table #payouts {
                thead { tr { th { "Requested" } th { "Payout" } th { "Instructor" } th { "Amount" } th { "Method" } th { "To" } th { "Status" } th { "Actions" } } }
                tbody {
                    @for p in &payouts.items { (row(&user, p)) }
                    @if payouts.items.is_empty() { tr { td colspan="8" .muted { "No payouts match." } } }
                }
            }
        }
        (pager("/admin/payouts", &kept, &filters.list, payouts.next.as_ref()))
    };
    Ok(html_page(page(&user, Section::Payouts, "Payouts", body)))
}

/// The form of an action that needs a note (`field` names it).
fn action(user: &ConsoleUser, id: PayoutId, verb: &str, label: &str, field: &str) -> Markup {
    html! {
        form.inline method="post" action={ "/admin/payouts/" (id) "/" (verb) } {
            (csrf_field(user))
            input name="note" required placeholder=(field) size="12" aria-label=(field);
            button type="submit" class=[(verb == "reject" || verb == "mark-failed").then_some("danger")] { (label) }
        }
    }
}

fn row(user: &ConsoleUser, p: &Payout) -> Markup {
    let bank = p.method == PayoutMethod::BankTransfer;
    html! {
        tr data-payout=(p.id) {
            td { (time(p.created_at)) }
            td { a href={ "/admin/payouts/" (p.id) } { code { (p.id) } } }
            td.num { (p.instructor_id.get()) }
            td.num { (money(p.amount)) }
            td { (p.method.as_str()) }
            td { (p.destination_masked) }
            td { (status(p.status.as_str())) @if let Some(reason) = &p.failure_reason { " " span.muted { (reason) } } }
            td {
                @if p.status == PayoutStatus::Requested {
                    form.inline method="post" action={ "/admin/payouts/" (p.id) "/approve" } {
                        (csrf_field(user))
                        (note_field(domain::usecases::payouts::MAX_NOTE_CHARS))
                        button type="submit" { "Approve" }
                    }
                    (action(user, p.id, "reject", "Reject", "Reason"))
                }
                @if bank && p.status == PayoutStatus::Processing {
                    (action(user, p.id, "mark-paid", "Mark paid", "Bank reference"))
                    (action(user, p.id, "mark-failed", "Mark failed", "Reason"))
                }
            }
        }
    }
}

/// The form of the actions that take a note (reason or bank reference).
#[derive(Debug, Deserialize)]
pub struct NoteForm {
    csrf: String,
    note: String,
}

/// Approves a requested payout, with the form's note if any: it is sent
/// (bank transfers wait to be marked).
#[post("/payouts/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ApproveForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let id: PayoutId = path_id(&path)?;
    let before = state.payouts.get(user.actor, id).await.map_err(ApiError::from)?;
    match state.payouts.approve(user.actor, id, form.note()).await {
        Ok(after) => {
            record(&state, &user, "payout.approve", id.to_string(), before.to_json()?, after.to_json()?).await?;
            Ok(see_other("/admin/payouts"))
        }
        Err(PayoutError::SecondApprovalRequired { .. }) => {
            let payload = before.to_json()?;
            record(&state, &user, "payout.approve_first", id.to_string(), payload.clone(), payload).await?;
            Ok(awaiting_second_approval(&user, Section::Payouts, "/admin/payouts"))
        }
        Err(e) => Err(ApiError::from(e).into()),
    }
}

/// Rejects, marks paid or marks failed, with the form's note.
#[post("/payouts/{id}/{verb}")]
pub async fn act_with_note(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<NoteForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let (id, verb) = path.into_inner();
    let id: PayoutId = path_id(&id)?;
    let note = form.note.trim().to_owned();
    let before = state.payouts.get(user.actor, id).await.map_err(ApiError::from)?;
    let (action, result) = match verb.as_str() {
        "reject" => ("payout.reject", state.payouts.reject(user.actor, id, note).await),
        "mark-paid" => ("payout.mark_paid", state.payouts.mark_paid(user.actor, id, note).await),
        "mark-failed" => ("payout.mark_failed", state.payouts.mark_failed(user.actor, id, note).await),
        _ => return Err(ConsoleError::Api(ApiError::RouteNotFound)),
    };
    let after = result.map_err(ApiError::from)?;
    record(&state, &user, action, id.to_string(), before.to_json()?, after.to_json()?).await?;
    Ok(see_other("/admin/payouts"))
}
