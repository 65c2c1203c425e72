//! Detail pages of refunds, payouts and disputes: the object's facts, its
//! timeline (events with their deliveries, gateway webhooks naming it,
//! console actions) and its ledger lines. Actions stay on the lists.

use actix_web::{HttpResponse, get, web};
use domain::ids::{DisputeId, PayoutId, RefundId};
use domain::ledger::JournalKind;
use maud::html;
use web_ports::console::JournalLine;

use super::error::ConsoleError;
use super::history::{ledger_table, timeline_table};
use super::layout::{Section, html_page, money, page, status, time};
use super::session::ConsoleUser;
use crate::AppState;
use crate::error::ApiError;
use crate::routes::path_id;

/// The lines of the journals of `kinds` among a payment's journals.
fn of_kinds(lines: Vec<JournalLine>, kinds: &[JournalKind]) -> Vec<JournalLine> {
    lines.into_iter().filter(|l| kinds.iter().any(|k| k.as_str() == l.kind)).collect()
}

/// One refund (admins).
#[get("/refunds/{id}")]
pub async fn refund(
    state: web::Data<AppState>,
    user: ConsoleUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let id: RefundId = path_id(&path)?;
    let r = state.refunds.get(user.actor, id).await.map_err(ApiError::from)?;
    let (timeline, journals) = futures::try_join!(
        state.console.object_timeline(id.to_string(), r.provider_refund_id.clone(), r.created_at),
        state.console.payment_journals(r.payment_id),
    )?;
    let body = html! {
        dl.facts {
            dt { "Status" } dd #refund-status { (status(r.status.as_str())) }
            dt { "Amount" } dd { (money(r.amount)) }
            dt { "Platform fee returned" } dd { (money(r.platform_fee_reversed)) }
            dt { "Payment" } dd { a href={ "/admin/payments/" (r.payment_id) } { (r.payment_id) } }
            dt { "Reason" } dd { (r.reason) }
            @if let Some(why) = &r.rejection_reason { dt { "Rejected because" } dd { (why) } }
            dt { "Origin" } dd #refund-origin { (origin(r.origin)) }
            dt { "Requested" } dd { @if let Some(by) = r.requested_by { "by " (by.get()) " " } "at " (time(r.created_at)) }
            dt { "Approved" } dd #refund-approved { (approval(r.approved_by, r.approved_at, r.admin_note.as_deref())) }
            dt { "Processed" } dd { (r.processed_at.map_or("—".to_owned(), time)) }
            dt { "Gateway id" } dd { (r.provider_refund_id.as_deref().unwrap_or("—")) }
        }
        p { a href={ "/admin/refunds?payment=" (r.payment_id) } { "All refunds of this payment" } }
        h2 { "Timeline" }
        (timeline_table(&timeline))
        h2 { "Ledger" }
        p.muted { "The payment's refund journals (one per processed refund)." }
        (ledger_table(&of_kinds(journals, &[JournalKind::Refund])))
    };
    Ok(html_page(page(&user, Section::Refunds, &format!("Refund {}", r.id), body)))
}

/// Who approved, when, and their note; a dash before approval.
fn approval(
    by: Option<domain::ids::UserId>,
    at: Option<chrono::DateTime<chrono::Utc>>,
    note: Option<&str>,
) -> maud::Markup {
    html! {
        @match (by, at) {
            (Some(by), Some(at)) => {
                "by admin " (by.get()) " at " (time(at))
                @if let Some(note) = note { " · " span.note { (note) } }
            }
            _ => "—",
        }
    }
}

/// One payout (admins).
#[get("/payouts/{id}")]
pub async fn payout(
    state: web::Data<AppState>,
    user: ConsoleUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let id: PayoutId = path_id(&path)?;
    let p = state.payouts.get(user.actor, id).await.map_err(ApiError::from)?;
    let (timeline, journals) = futures::try_join!(
        state.console.object_timeline(id.to_string(), p.transaction_id.clone(), p.created_at),
        state.console.payout_journals(id),
    )?;
    let body = html! {
        dl.facts {
            dt { "Status" } dd #payout-status { (status(p.status.as_str())) }
            dt { "Amount" } dd { (money(p.amount)) }
            dt { "Instructor" } dd { a href={ "/admin/payouts?instructor=" (p.instructor_id.get()) } { (p.instructor_id.get()) } }
            dt { "Method" } dd { (p.method.as_str()) " · " (p.destination_masked) }
            dt { "Requested" } dd { (time(p.created_at)) }
            dt { "Approved" } dd #payout-approved { (approval(p.approved_by, p.approved_at, p.admin_note.as_deref())) }
            dt { "Paid" } dd { (p.paid_at.map_or("—".to_owned(), time)) }
            dt { "Gateway id" } dd { (p.transaction_id.as_deref().unwrap_or("—")) }
            @if let Some(why) = &p.failure_reason { dt { "Failure" } dd { (why) } }
        }
        h2 { "Timeline" }
        (timeline_table(&timeline))
        h2 { "Ledger" }
        (ledger_table(&journals))
    };
    Ok(html_page(page(&user, Section::Payouts, &format!("Payout {}", p.id), body)))
}

/// One dispute (admins).
#[get("/disputes/{id}")]
pub async fn dispute(
    state: web::Data<AppState>,
    user: ConsoleUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let id: DisputeId = path_id(&path)?;
    let d = state.disputes.get(user.actor, id).await.map_err(ApiError::from)?;
    let (timeline, journals) = futures::try_join!(
        state.console.object_timeline(id.to_string(), Some(d.provider_dispute_id.clone()), d.created_at),
        state.console.payment_journals(d.payment_id),
    )?;
    let body = html! {
        dl.facts {
            dt { "Status" } dd #dispute-status { (status(d.status.as_str())) }
            dt { "Amount" } dd { (money(d.amount)) }
            dt { "Fee held" } dd { (money(d.fee_held)) }
            dt { "Payment" } dd { a href={ "/admin/payments/" (d.payment_id) } { (d.payment_id) } }
            dt { "Reason" } dd { (d.reason) }
            dt { "Evidence due" } dd { (d.evidence_due_by.map_or("—".to_owned(), time)) }
            dt { "Opened" } dd { (time(d.created_at)) }
            dt { "Resolved" } dd { (d.resolved_at.map_or("—".to_owned(), time)) }
            dt { "Gateway id" } dd { code { (d.provider_dispute_id) } }
        }
        h2 { "Timeline" }
        (timeline_table(&timeline))
        h2 { "Ledger" }
        p.muted { "The payment's dispute journals." }
        (ledger_table(&of_kinds(journals, &[JournalKind::DisputeHold, JournalKind::DisputeRelease, JournalKind::DisputeLoss])))
    };
    Ok(html_page(page(&user, Section::Disputes, &format!("Dispute {}", d.id), body)))
}

/// How a refund's origin reads in the console.
fn origin(origin: domain::refund::RefundOrigin) -> &'static str {
    match origin {
        domain::refund::RefundOrigin::Request => "asked for in Skillpay",
        domain::refund::RefundOrigin::Gateway => "made at the gateway",
        domain::refund::RefundOrigin::Recovery => "sent back by Skillpay: paid after it was given up, not deliverable",
        domain::refund::RefundOrigin::Review => "held for review, then refused by an admin or past its review deadline",
    }
}
