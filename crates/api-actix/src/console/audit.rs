//! The audit log: recording console actions, and its page.

use actix_web::{HttpResponse, get, web};
use chrono::Utc;
use maud::html;
use serde_json::Value;
use web_ports::console::AuditEntry;

use super::error::ConsoleError;
use super::layout::{Section, html_page, page, time};
use super::session::ConsoleUser;
use crate::AppState;

/// Appends a console action to the audit log: who, what, on which object,
/// the object before and after (as the API shows it), when.
pub async fn record(
    state: &AppState,
    user: &ConsoleUser,
    action: &str,
    object_id: String,
    before: Value,
    after: Value,
) -> Result<(), ConsoleError> {
    let entry = AuditEntry {
        actor: user.actor,
        action: action.to_owned(),
        object_id,
        before: Some(before),
        after: Some(after),
        at: Utc::now(),
    };
    state.console.record(entry).await?;
    Ok(())
}

/// The answer to a first approval of a large refund or payout.
pub fn awaiting_second_approval(user: &ConsoleUser, section: Section, back: &str) -> HttpResponse {
    html_page(page(
        user,
        section,
        "Approval recorded",
        html! {
            p.notice #awaiting-second-approval {
                "Your approval is recorded. This amount needs a second admin: another admin must approve it too."
            }
            p { a href=(back) { "Back" } }
        },
    ))
}

/// The audit log (admins), newest first.
#[get("/audit")]
pub async fn audit_log(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
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
