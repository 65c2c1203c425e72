//! Disputes (with the evidence form), event endpoints with their mode and
//! outgoing event deliveries (with replay): each action through the API's
//! use cases, audited.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::events::{Delivery, DeliveryStatus, EventEndpoint};
use domain::gateway_config::GatewayMode;
use domain::ids::{DeliveryId, DisputeId};
use domain::ports::{DeliveryQuery, DisputeEvidence, DisputeQuery};
use maud::html;
use representations::Represented;
use serde::Deserialize;
use serde_json::json;

use super::audit::record;
use super::error::ConsoleError;
use super::layout::{ListPage, Section, csrf_field, html_page, money, page, pager, see_other, status, time, unknown};
use super::session::{ConsoleUser, CsrfForm};
use crate::AppState;
use crate::error::ApiError;
use crate::routes::path_id;

/// Disputes (admins) of the mode the console shows, newest first; open
/// ones take evidence.
#[get("/disputes")]
pub async fn disputes(
    state: web::Data<AppState>,
    user: ConsoleUser,
    query: web::Query<ListPage>,
) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let disputes_query =
        DisputeQuery { livemode: Some(user.mode.is_live()), page: query.request(domain::paging::MAX_PAGE_LIMIT)? };
    let disputes = state.disputes.list(user.actor, disputes_query).await.map_err(ApiError::from)?;
    let body = html! {
        form.filters method="get" action="/admin/disputes" {
            (query.fields())
            button type="submit" { "Filter" }
        }
        div.table-wrap {
            table #disputes {
                thead { tr { th { "Opened" } th { "Dispute" } th { "Payment" } th { "Amount" } th { "Reason" } th { "Status" } th { "Evidence due" } th { "Evidence" } } }
                tbody {
                    @for d in &disputes.items {
                        tr {
                            td { (time(d.created_at)) }
                            td { a href={ "/admin/disputes/" (d.id) } { code { (d.id) } } }
                            td { a href={ "/admin/payments/" (d.payment_id) } { (d.payment_id) } }
                            td.num { (money(d.amount)) }
                            td { (d.reason) }
                            td { (status(d.status.as_str())) }
                            td { (d.evidence_due_by.map_or("—".to_owned(), time)) }
                            td {
                                @if !d.status.is_final() {
                                    form.inline method="post" action={ "/admin/disputes/" (d.id) "/evidence" } {
                                        (csrf_field(&user))
                                        input name="explanation" required placeholder="Explanation" size="18" aria-label="Explanation";
                                        input name="customer_email" placeholder="Customer e-mail" size="14" aria-label="Customer e-mail";
                                        button type="submit" { "Submit" }
                                    }
                                }
                            }
                        }
                    }
                    @if disputes.items.is_empty() { tr { td colspan="8" .muted { "No disputes." } } }
                }
            }
        }
        (pager("/admin/disputes", &[], &query, disputes.next.as_ref()))
    };
    Ok(html_page(page(&user, Section::Disputes, "Disputes", body)))
}

/// The evidence form.
#[derive(Debug, Deserialize)]
pub struct EvidenceForm {
    csrf: String,
    explanation: String,
    #[serde(default)]
    customer_email: String,
}

/// Sends evidence contesting a dispute to its gateway.
#[post("/disputes/{id}/evidence")]
pub async fn submit_evidence(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<EvidenceForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let id: DisputeId = path_id(&path)?;
    let before = state.disputes.get(user.actor, id).await.map_err(ApiError::from)?;
    let email = form.customer_email.trim();
    let evidence = DisputeEvidence {
        explanation: form.explanation.clone(),
        product_description: None,
        customer_email: (!email.is_empty()).then(|| email.to_owned()),
    };
    let after = state.disputes.submit_evidence(user.actor, id, evidence).await.map_err(ApiError::from)?;
    record(&state, &user, "dispute.evidence", id.to_string(), before.to_json()?, after.to_json()?).await?;
    Ok(see_other("/admin/disputes"))
}

/// Filters of the deliveries list.
#[derive(Debug, Default, Deserialize)]
pub struct DeliveryFilters {
    #[serde(default)]
    status: String,
    #[serde(flatten)]
    list: ListPage,
}

/// The registered endpoints, each with its mode, below the deliveries.
fn endpoints_table(endpoints: &[EventEndpoint]) -> maud::Markup {
    html! {
        h2 { "Endpoints" }
        div.table-wrap {
            table #endpoints {
                thead { tr { th { "Registered" } th { "Endpoint" } th { "URL" } th { "Mode" } th { "Types" } th { "Active" } } }
                tbody {
                    @for e in endpoints {
                        tr data-endpoint=(e.id) {
                            td { (time(e.created_at)) }
                            td { code { (e.id) } }
                            td { code { (e.url) } }
                            td { (status(GatewayMode::of(e.livemode).as_str())) }
                            td {
                                @if e.event_types.is_empty() { "all" }
                                @for (i, t) in e.event_types.iter().enumerate() { @if i > 0 { ", " } (t.as_str()) }
                            }
                            td { @if e.active { "yes" } @else { "removed" } }
                        }
                    }
                    @if endpoints.is_empty() { tr { td colspan="6" .muted { "No endpoints." } } }
                }
            }
        }
    }
}

fn delivery_row(user: &ConsoleUser, d: &Delivery, endpoints: &[EventEndpoint]) -> maud::Markup {
    let endpoint_mode = endpoints.iter().find(|e| e.id == d.endpoint_id).map(|e| GatewayMode::of(e.livemode).as_str());
    html! {
        tr data-delivery=(d.id) {
            td { (time(d.created_at)) }
            td { (d.event_type) }
            td { code { (d.aggregate_id) } }
            td { code { (d.endpoint_id) } @if let Some(m) = endpoint_mode { " " (status(m)) } }
            td { (status(d.status.as_str())) }
            td.num { (d.attempts) }
            td { (d.last_status.map_or("—".to_owned(), |s| s.to_string())) @if let Some(e) = &d.last_error { " " span.muted { (e) } } }
            td {
                @if d.status != DeliveryStatus::Delivered {
                    form.inline method="post" action={ "/admin/deliveries/" (d.id) "/replay" } {
                        (csrf_field(user))
                        button.secondary type="submit" { "Replay" }
                    }
                }
            }
        }
    }
}

/// Outgoing event deliveries (admins), newest first.
#[get("/deliveries")]
pub async fn deliveries(
    state: web::Data<AppState>,
    user: ConsoleUser,
    filters: web::Query<DeliveryFilters>,
) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let status_filter = match filters.status.as_str() {
        "" => None,
        name => Some(DeliveryStatus::ALL.into_iter().find(|s| s.as_str() == name).ok_or_else(|| unknown("status"))?),
    };
    let query = DeliveryQuery {
        status: status_filter,
        endpoint: None,
        event: None,
        page: filters.list.request(domain::paging::MAX_PAGE_LIMIT)?,
    };
    let list = state.events.deliveries(user.actor, query).await.map_err(ApiError::from)?;
    let endpoints = state.events.endpoints(user.actor).await.map_err(ApiError::from)?;
    let body = html! {
        form.filters method="get" action="/admin/deliveries" {
            label { "Status"
                select name="status" {
                    option value="" { "any" }
                    @for s in DeliveryStatus::ALL { option value=(s.as_str()) selected[s.as_str() == filters.status] { (s.as_str()) } }
                }
            }
            (filters.list.fields())
            button type="submit" { "Filter" }
        }
        div.table-wrap {
            table #deliveries {
                thead { tr { th { "Created" } th { "Event" } th { "Object" } th { "Endpoint" } th { "Status" } th { "Attempts" } th { "Last answer" } th {} } }
                tbody {
                    @for d in &list.items { (delivery_row(&user, d, &endpoints)) }
                    @if list.items.is_empty() { tr { td colspan="8" .muted { "No deliveries." } } }
                }
            }
        }
        (pager("/admin/deliveries", &[("status", &filters.status)], &filters.list, list.next.as_ref()))
        (endpoints_table(&endpoints))
    };
    Ok(html_page(page(&user, Section::Deliveries, "Event deliveries", body)))
}

/// Sends a delivery again from its first attempt.
#[post("/deliveries/{id}/replay")]
pub async fn replay(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let id: DeliveryId = path_id(&path)?;
    let after = state.events.replay(user.actor, id).await.map_err(ApiError::from)?;
    let summary = |status: &str| json!({ "id": id.to_string(), "status": status });
    record(&state, &user, "delivery.replay", id.to_string(), summary("replayed"), summary(after.status.as_str()))
        .await?;
    Ok(see_other("/admin/deliveries"))
}
