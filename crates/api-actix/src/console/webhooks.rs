//! The log of incoming gateway webhooks, filtered by gateway and status,
//! and replaying one (its action acted on again through the webhook use
//! case, audited).

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::payment::PaymentMethod;
use domain::usecases::webhooks::{ReplayWebhookError, WebhookOutcome};
use maud::html;
use serde::Deserialize;
use serde_json::json;
use web_ports::console::{WebhookLogQuery, WebhookLogStatus};

use super::audit::record;
use super::error::ConsoleError;
use super::layout::{ListPage, Section, csrf_field, html_page, page, pager, see_other, status, time, unknown};
use super::session::{ConsoleUser, CsrfForm};
use crate::AppState;
use crate::error::ApiError;
use crate::routes::path_id;

/// The gateways the filter offers: every method's name (a gateway's
/// webhooks are logged under it).
fn gateway_names() -> impl Iterator<Item = &'static str> {
    PaymentMethod::ALL.into_iter().map(|m| m.as_str())
}

/// Filters of the webhooks list.
#[derive(Debug, Default, Deserialize)]
pub struct WebhookFilters {
    #[serde(default)]
    gateway: String,
    #[serde(default)]
    status: String,
    #[serde(flatten)]
    list: ListPage,
}

/// Incoming webhooks (admins), newest first, 100 a page; payloads are not
/// shown (they can carry personal data).
#[get("/webhooks")]
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    filters: web::Query<WebhookFilters>,
) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let gateway = match filters.gateway.as_str() {
        "" => None,
        g if gateway_names().any(|name| name == g) => Some(g.to_owned()),
        _ => return Err(unknown("gateway")),
    };
    let wanted = match filters.status.as_str() {
        "" => None,
        s => Some(WebhookLogStatus::parse(s).ok_or_else(|| unknown("status"))?),
    };
    let query =
        WebhookLogQuery { gateway, status: wanted, page: filters.list.request(domain::paging::MAX_PAGE_LIMIT)? };
    let logs = state.console.webhook_logs(query).await?;
    let body = html! {
        form.filters method="get" action="/admin/webhooks" {
            label { "Gateway"
                select name="gateway" {
                    option value="" { "any" }
                    @for g in gateway_names() { option value=(g) selected[g == filters.gateway] { (g) } }
                }
            }
            label { "Status"
                select name="status" {
                    option value="" { "any" }
                    @for s in WebhookLogStatus::ALL { option value=(s.as_str()) selected[s.as_str() == filters.status] { (s.as_str()) } }
                }
            }
            (filters.list.fields())
            button type="submit" { "Filter" }
        }
        div.table-wrap {
            table #webhooks {
                thead { tr { th { "Received" } th { "Gateway" } th { "Event" } th { "Type" } th { "Status" } th { "Attempts" } th { "Error or attention" } th {} } }
                tbody {
                    @for w in &logs.items {
                        tr data-webhook=(w.event_id) {
                            td { (time(w.received_at)) }
                            td { (w.gateway) }
                            td { code { (w.event_id) } }
                            td { (w.event_type) }
                            td { (status(webhook_status(w))) }
                            td.num { (w.attempts) }
                            td { (w.error.as_deref().or(w.needs_attention.as_deref()).unwrap_or("")) }
                            td {
                                form.inline method="post" action={ "/admin/webhooks/" (w.id) "/replay" } data-confirm={ "Act on " (w.event_type) " again?" } {
                                    (csrf_field(&user))
                                    button.secondary type="submit" { "Replay" }
                                }
                            }
                        }
                    }
                    @if logs.items.is_empty() { tr { td colspan="8" .muted { "No webhooks match." } } }
                }
            }
        }
        (pager("/admin/webhooks", &[("gateway", &filters.gateway), ("status", &filters.status)], &filters.list, logs.next.as_ref()))
    };
    Ok(html_page(page(&user, Section::Webhooks, "Incoming webhooks", body)))
}

/// Acts on a logged webhook again. A failure is recorded on the row (and
/// shown in the list), so the answer goes back to the list either way.
#[post("/webhooks/{id}/replay")]
pub async fn replay(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let id: uuid::Uuid = path_id(&path)?;
    let result = match state.webhooks.replay(user.actor, id).await {
        Ok(WebhookOutcome::InProgress) => json!({ "result": "in_progress" }),
        Ok(_) => json!({ "result": "processed" }),
        Err(ReplayWebhookError::ProcessingFailed(error)) => json!({ "result": "failed", "error": error }),
        Err(other) => return Err(ApiError::from(other).into()),
    };
    record(&state, &user, "webhook.replay", id.to_string(), serde_json::Value::Null, result).await?;
    Ok(see_other("/admin/webhooks"))
}

/// The status a webhook's row shows.
fn webhook_status(w: &web_ports::console::WebhookLogLine) -> &'static str {
    match (w.processed, &w.error, &w.needs_attention) {
        (true, _, Some(_)) => "needs_attention",
        (true, _, None) => "processed",
        (false, Some(_), _) => "failed",
        (false, None, _) => "pending",
    }
}
