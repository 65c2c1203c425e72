//! What needs a person: payments paid after they were given up (and what
//! Skillpay did about them), and webhooks acknowledged with something left
//! to look at; marking an item resolved (audited).

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::Utc;
use domain::attention::{AttentionItem, AttentionKind};
use maud::{Markup, html};
use serde_json::json;
use web_ports::console::{WebhookLogQuery, WebhookLogStatus};

use super::audit::record;
use super::error::ConsoleError;
use super::layout::{Section, csrf_field, html_page, page, see_other, time};
use super::session::{ConsoleUser, CsrfForm};
use crate::AppState;
use crate::error::ApiError;
use crate::routes::path_id;

/// Items shown: every open one and the newest resolved, up to this many.
const SHOWN: u32 = 200;

/// The "needs attention" list (admins).
#[get("/attention")]
pub async fn list(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let items = state.console.attention_items(SHOWN).await?;
    let query = WebhookLogQuery { status: Some(WebhookLogStatus::NeedsAttention), ..WebhookLogQuery::default() };
    let webhooks = state.console.webhook_logs(query).await?;
    let body = html! {
        p.muted { "Money that moved in a way Skillpay handled on its own but a person should know of. Open items first." }
        div.table-wrap {
            table #attention {
                thead { tr { th { "Noted" } th { "What" } th { "Payment" } th { "Detail" } th { "Resolved" } } }
                tbody {
                    @for item in &items { (row(&user, item)) }
                    @if items.is_empty() { tr { td colspan="5" .muted { "Nothing needs attention." } } }
                }
            }
        }
        h2 { "Webhooks needing attention" }
        div.table-wrap {
            table #attention-webhooks {
                thead { tr { th { "Received" } th { "Gateway" } th { "Event" } th { "Type" } th { "What" } } }
                tbody {
                    @for w in &webhooks.items {
                        tr {
                            td { (time(w.received_at)) }
                            td { (w.gateway) }
                            td { code { (w.event_id) } }
                            td { (w.event_type) }
                            td { (w.needs_attention.as_deref().unwrap_or("")) }
                        }
                    }
                    @if webhooks.items.is_empty() { tr { td colspan="5" .muted { "None." } } }
                }
            }
        }
        p { a href="/admin/webhooks?status=needs_attention" { "All webhooks needing attention" } }
    };
    Ok(html_page(page(&user, Section::Attention, "Needs attention", body)))
}

fn row(user: &ConsoleUser, item: &AttentionItem) -> Markup {
    html! {
        tr data-attention=(item.id) {
            td { (time(item.created_at)) }
            td { (kind(item.kind)) }
            td { a href={ "/admin/payments/" (item.payment_id) } { (item.payment_id) } }
            td { (item.detail) }
            td {
                @match (item.resolved_at, item.resolved_by) {
                    (Some(at), Some(by)) => { "by " (by.get()) " at " (time(at)) }
                    _ => {
                        form.inline method="post" action={ "/admin/attention/" (item.id) "/resolve" } {
                            (csrf_field(user))
                            button.secondary type="submit" { "Mark resolved" }
                        }
                    }
                }
            }
        }
    }
}

/// How a kind reads in the console.
fn kind(kind: AttentionKind) -> &'static str {
    match kind {
        AttentionKind::PaidAfterGivingUp => "paid after it was given up: completed",
        AttentionKind::PaidUndeliverableRefunded => "paid after it was given up, not deliverable: refunded",
        AttentionKind::RiskyPayment => "paid, but the gateway rates it highest risk or its card is blocked",
    }
}

/// Marks an item resolved: someone has looked at it.
#[post("/attention/{id}/resolve")]
pub async fn resolve(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let id: uuid::Uuid = path_id(&path)?;
    if !state.console.resolve_attention(id, user.actor, Utc::now()).await? {
        return Err(ApiError::NotFound.into());
    }
    record(&state, &user, "attention.resolve", id.to_string(), serde_json::Value::Null, json!({"resolved": true}))
        .await?;
    Ok(see_other("/admin/attention"))
}
