//! E-mail messages (admins): every message with its status, recipients and
//! last error, and sending one again (audited). See docs/notifications.md.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::ids::MailId;
use domain::mail::{MailMessage, MailStatus};
use domain::ports::MailQuery;
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::audit::record;
use super::error::ConsoleError;
use super::layout::{ListPage, Section, csrf_field, html_page, page, pager, see_other, status, time, unknown};
use super::session::{ConsoleUser, CsrfForm};
use crate::AppState;
use crate::error::ApiError;
use crate::routes::path_id;

/// Every status, for the filter.
const STATUSES: [MailStatus; 5] =
    [MailStatus::Pending, MailStatus::Sent, MailStatus::Failed, MailStatus::Suppressed, MailStatus::Dead];

/// Filters of the list.
#[derive(Debug, Default, Deserialize)]
pub struct MailFilters {
    #[serde(default)]
    status: String,
    #[serde(flatten)]
    list: ListPage,
}

fn row(user: &ConsoleUser, m: &MailMessage) -> maud::Markup {
    html! {
        tr data-mail=(m.id) {
            td { (time(m.created_at)) }
            td { (m.template) }
            td { (m.audience.as_str()) }
            td { (m.recipients.as_deref().unwrap_or("—")) }
            td { (status(m.status.as_str())) }
            td.num { (m.attempts) }
            td { @if let Some(e) = &m.last_error { span.muted { (e) } } }
            td {
                @if m.status != MailStatus::Pending {
                    form.inline method="post" action={ "/admin/mail/" (m.id) "/resend" } {
                        (csrf_field(user))
                        button.secondary type="submit" { "Resend" }
                    }
                }
            }
        }
    }
}

/// E-mail messages (admins), newest first.
#[get("/mail")]
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    filters: web::Query<MailFilters>,
) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let status_filter = match filters.status.as_str() {
        "" => None,
        name => Some(STATUSES.into_iter().find(|s| s.as_str() == name).ok_or_else(|| unknown("status"))?),
    };
    let query = MailQuery { status: status_filter, page: filters.list.request(domain::paging::MAX_PAGE_LIMIT)? };
    let list = state.mail.messages(user.actor, query).await.map_err(ApiError::from)?;
    let body = html! {
        form.filters method="get" action="/admin/mail" {
            label { "Status"
                select name="status" {
                    option value="" { "any" }
                    @for s in STATUSES { option value=(s.as_str()) selected[s.as_str() == filters.status] { (s.as_str()) } }
                }
            }
            (filters.list.fields())
            button type="submit" { "Filter" }
        }
        div.table-wrap {
            table #mail {
                thead { tr { th { "Created" } th { "Message" } th { "For" } th { "Recipients" } th { "Status" } th { "Attempts" } th { "Last error" } th {} } }
                tbody {
                    @for m in &list.items { (row(&user, m)) }
                    @if list.items.is_empty() { tr { td colspan="8" .muted { "No messages." } } }
                }
            }
        }
        (pager("/admin/mail", &[("status", &filters.status)], &filters.list, list.next.as_ref()))
    };
    Ok(html_page(page(&user, Section::Mail, "E-mail", body)))
}

/// Sends a message again now (a fresh day of retries, the same Message-ID).
#[post("/mail/{id}/resend")]
pub async fn resend(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let id: MailId = path_id(&path)?;
    let after = state.mail.resend(user.actor, id).await.map_err(ApiError::from)?;
    let summary = |status: &str| json!({ "id": id.to_string(), "status": status });
    record(&state, &user, "mail.resend", id.to_string(), summary("resent"), summary(after.status.as_str())).await?;
    Ok(see_other("/admin/mail"))
}
