//! The discrepancies reconciliation found, on the reconciliation page, and
//! their resolution: accept the gateway's figure (an adjusting journal
//! books the difference) or explain it, with a reason, through the same
//! use case as the API (`SettlementService::resolve`), audited.

use actix_web::{HttpRequest, HttpResponse, post, web};
use domain::ids::DiscrepancyId;
use domain::reconciliation::{Discrepancy, DiscrepancyStatus, Resolution};
use domain::usecases::settlement::MAX_REASON_CHARS;
use maud::{Markup, html};
use representations::Represented;
use serde::Deserialize;

use super::audit::record;
use super::error::ConsoleError;
use super::layout::{csrf_field, money, see_other, status, time, unknown};
use super::reconciliation_lines::object_link;
use super::session::ConsoleUser;
use crate::AppState;
use crate::error::{ApiError, FieldError};
use crate::routes::path_id;

/// Every status, in the filter's order.
pub const STATUSES: [DiscrepancyStatus; 4] =
    [DiscrepancyStatus::Open, DiscrepancyStatus::Adjusted, DiscrepancyStatus::Explained, DiscrepancyStatus::Cleared];

/// The status filter: blank is the open ones (the work waiting), `all`
/// every status.
pub fn status_filter(text: &str) -> Result<Option<DiscrepancyStatus>, ConsoleError> {
    match text {
        "" => Ok(Some(DiscrepancyStatus::Open)),
        "all" => Ok(None),
        name => STATUSES.into_iter().find(|s| s.as_str() == name).map(Some).ok_or_else(|| unknown("status")),
    }
}

/// The discrepancies table; open ones carry the resolution form.
pub fn table(user: &ConsoleUser, found: &[Discrepancy], empty: &str) -> Markup {
    html! {
        div.table-wrap {
            table #discrepancies {
                thead { tr {
                    th { "Found" } th { "Gateway" } th { "Object" } th { "Result" } th { "Gateway booked" }
                    th { "Ledger booked" } th { "Difference" } th { "Status" } th { "Resolution" }
                } }
                tbody {
                    @for d in found { (row(user, d)) }
                    @if found.is_empty() { tr { td colspan="9" .muted { (empty) } } }
                }
            }
        }
    }
}

fn row(user: &ConsoleUser, d: &Discrepancy) -> Markup {
    let figures =
        |f: &domain::reconciliation::Figures| html! { (money(f.amount)) br; span.muted { "fee " (money(f.fee)) } };
    html! {
        tr data-discrepancy=(d.id) {
            td { (time(d.opened_at)) }
            td { (d.gateway.as_str()) }
            td { (object_link(d.object_kind.map(|k| k.as_str()), &d.object_id)) }
            td { (status(d.result.as_str())) }
            td.num { (figures(&d.gateway_figures)) }
            td.num { (figures(&d.ledger_figures)) }
            td.num { (d.difference().map_or("—".to_owned(), money)) }
            td { (status(d.status.as_str())) }
            td {
                @if d.status == DiscrepancyStatus::Open {
                    (form(user, d))
                } @else {
                    (resolution(d))
                }
            }
        }
    }
}

/// Who resolved it, when, why, and the adjusting journal if any.
fn resolution(d: &Discrepancy) -> Markup {
    html! {
        @if let (Some(by), Some(at)) = (d.resolved_by, d.resolved_at) { "by admin " (by.get()) " at " (time(at)) }
        @if let Some(reason) = &d.reason { " · " span.note { (reason) } }
        @if let Some(journal) = d.journal_id { " · journal " code { (journal) } }
        @if d.status == DiscrepancyStatus::Cleared { span.muted { "a later run found it agreeing" } }
    }
}

fn form(user: &ConsoleUser, d: &Discrepancy) -> Markup {
    html! {
        form.inline method="post" action={ "/admin/reconciliation/discrepancies/" (d.id) "/resolve" }
            data-confirm="Resolve this discrepancy? Accepting books an adjusting journal; either way it is final." {
            (csrf_field(user))
            input name="reason" required maxlength=(MAX_REASON_CHARS) placeholder="Reason" size="16" aria-label="Reason";
            button type="submit" name="action" value="accept" title="The gateway is right: book the difference" { "Accept" }
            button.secondary type="submit" name="action" value="explain" title="The ledger is right: book nothing" { "Explain" }
        }
    }
}

/// What the page says after a resolution: the discrepancy as stored now.
pub fn resolved_notice(d: &Discrepancy) -> Markup {
    html! {
        p.notice #resolved role="status" {
            "Discrepancy " code { (d.id) } " is " strong { (d.status.as_str()) } "."
            @if let Some(journal) = d.journal_id { " The adjusting journal " code { (journal) } " books the difference." }
            @if d.status == DiscrepancyStatus::Explained { " The ledger is left as it is." }
        }
    }
}

/// The resolution form's body.
#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    csrf: String,
    /// `accept` or `explain`: which button was pressed.
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
}

/// Resolves an open discrepancy as the signed-in admin, and comes back to
/// the page with a notice of what was done.
#[post("/reconciliation/discrepancies/{id}/resolve")]
pub async fn resolve(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ResolveForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let id: DiscrepancyId = path_id(&path)?;
    let reason = form.reason.clone();
    let (action, resolution) = match form.action.as_str() {
        "accept" => ("discrepancy.accept", Resolution::Accept { reason }),
        "explain" => ("discrepancy.explain", Resolution::Explain { reason }),
        _ => return Err(ApiError::Validation(vec![FieldError::new("action", "must be accept or explain")]).into()),
    };
    let before = state.settlement.discrepancy(user.actor, id).await.map_err(ApiError::from)?;
    let after = state.settlement.resolve(user.actor, id, resolution).await.map_err(ApiError::from)?;
    record(&state, &user, action, id.to_string(), before.to_json()?, after.to_json()?).await?;
    Ok(see_other(&format!("/admin/reconciliation?resolved={id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_filter_shows_open_ones_unless_told_otherwise() {
        assert_eq!(status_filter("").ok(), Some(Some(DiscrepancyStatus::Open)));
        assert_eq!(status_filter("all").ok(), Some(None));
        assert_eq!(status_filter("adjusted").ok(), Some(Some(DiscrepancyStatus::Adjusted)));
        assert!(status_filter("closed").is_err());
    }
}
