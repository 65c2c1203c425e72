//! Settlement reconciliation (admins): the gateways' payouts to the
//! platform's bank with their lines summed, the discrepancies found (and
//! their resolution, in [`super::discrepancies`]), the recent runs, and
//! the export of a period's lines ([`super::reconciliation_lines`]). All of
//! the mode the console shows, read through `SettlementService` as the
//! signed-in admin; see docs/reconciliation.md.

use actix_web::{HttpResponse, get, web};
use domain::gateway_config::GatewayMode;
use domain::ports::DiscrepancyQuery;
use domain::reconciliation::{SettledGateway, SettlementRun};
use maud::{Markup, html};
use serde::Deserialize;

use super::discrepancies::{self, STATUSES, status_filter};
use super::error::ConsoleError;
use super::layout::{Section, html_page, page, status, time, unknown};
use super::reconciliation_payouts;
use super::session::ConsoleUser;
use crate::AppState;
use crate::error::ApiError;

/// Payouts, discrepancies and runs shown, newest first.
const PAYOUTS_SHOWN: u32 = 100;
const DISCREPANCIES_SHOWN: u32 = 100;
/// A month of days of both gateways.
const RUNS_SHOWN: u32 = 62;

/// Filters of the page.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    /// `stripe`, `paypal`, or blank for both.
    #[serde(default)]
    gateway: String,
    /// Discrepancies shown: blank for the open ones, `all`, or a status.
    #[serde(default)]
    status: String,
    /// The discrepancy just resolved, to say what became of it.
    #[serde(default)]
    resolved: String,
}

fn gateway_filter(text: &str) -> Result<Option<SettledGateway>, ConsoleError> {
    match text {
        "" => Ok(None),
        name => name.parse().map(Some).map_err(|_| unknown("gateway")),
    }
}

/// The reconciliation page (admins).
#[get("/reconciliation")]
pub async fn overview(
    state: web::Data<AppState>,
    user: ConsoleUser,
    filters: web::Query<Filters>,
) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let gateway = gateway_filter(&filters.gateway)?;
    let shown = status_filter(&filters.status)?;
    let livemode = Some(user.mode.is_live());
    let query = DiscrepancyQuery { gateway, livemode, status: shown, run_id: None, limit: DISCREPANCIES_SHOWN };
    let s = &state.settlement;
    let (payouts, found, runs) = futures::try_join!(
        s.payouts(user.actor, gateway, livemode, PAYOUTS_SHOWN),
        s.discrepancies(user.actor, query),
        s.runs(user.actor, gateway, livemode, RUNS_SHOWN),
    )
    .map_err(ApiError::from)?;
    // Only a well-formed id of a discrepancy that exists makes a notice.
    let resolved = match filters.resolved.parse() {
        Ok(id) => s.discrepancy(user.actor, id).await.ok(),
        Err(_) => None,
    };
    let empty = match shown {
        Some(status) => format!("No {} discrepancies.", status.as_str()),
        None => "No discrepancies.".to_owned(),
    };
    let body = html! {
        @if let Some(d) = &resolved { (discrepancies::resolved_notice(d)) }
        (how_runs_happen(&state, runs.is_empty()))
        form.filters #reconciliation-filters method="get" action="/admin/reconciliation" {
            label { "Gateway"
                select name="gateway" {
                    option value="" { "any" }
                    @for g in SettledGateway::ALL { option value=(g.as_str()) selected[g.as_str() == filters.gateway] { (g.as_str()) } }
                }
            }
            label { "Discrepancies"
                select name="status" {
                    @for st in STATUSES { option value=(st.as_str()) selected[Some(st) == shown] { (st.as_str()) } }
                    option value="all" selected[shown.is_none()] { "all" }
                }
            }
            button type="submit" { "Filter" }
        }
        h2 { "Payouts to the bank" }
        p.muted { "Newest first (the newest " (PAYOUTS_SHOWN) "). Each payout's lines summed, signed as the gateway's balance sees them: money in positive, out negative; the columns add up to the net. Open a payout for its lines." }
        (reconciliation_payouts::table(&payouts))
        h2 { "Discrepancies" }
        p.muted { "What differs between the gateway's books and the ledger. Accept: the gateway is right, an adjusting journal books the difference. Explain: the ledger is right, nothing is booked. A reason is required either way; both are final and audited." }
        (discrepancies::table(&user, &found, &empty))
        h2 { "Runs" }
        (runs_table(&runs))
        h2 { "Export lines" }
        (export_form(&filters.gateway))
    };
    Ok(html_page(page(&user, Section::Reconciliation, "Reconciliation", body)))
}

/// How runs come about; a notice while there are none.
fn how_runs_happen(state: &AppState, none_yet: bool) -> Markup {
    let reading = state.settlement.reconciled();
    html! {
        div #how-runs class=(if none_yet { "notice" } else { "muted" }) {
            @if none_yet { p { strong { "No reconciliation runs yet for this filter." } } }
            p {
                "Runs happen on their own: on every sweep, the server's scheduled pass reads the books of each gateway that reports them (Stripe's balance transactions and payouts, PayPal's transaction search), one whole UTC day at a time, every day since the last one reconciled (yesterday the first time), and compares every line with the ledger. "
                "To reconcile earlier days, run "
                code { "skillpay reconcile settlement --gateway stripe --since YYYY-MM-DD" }
                " (or " code { "--gateway paypal" } "); " code { "skillpay reconcile" } " runs the scheduled pass once. A day reconciled before is not read twice."
            }
            p #books-read {
                "Books read here now: "
                @if reading.is_empty() { "none (no Stripe or PayPal gateway is configured)." }
                @for (i, (gateway, live)) in reading.iter().enumerate() {
                    @if i > 0 { ", " }
                    (gateway.as_str()) " (" (GatewayMode::of(*live).as_str()) ")"
                }
            }
        }
    }
}

fn day(run: &SettlementRun) -> String {
    let (since, until) = (run.period.since(), run.period.until());
    if until - since == chrono::Duration::days(1) {
        since.format("%Y-%m-%d").to_string()
    } else {
        format!("{} – {}", since.format("%Y-%m-%d %H:%M"), until.format("%Y-%m-%d %H:%M"))
    }
}

fn runs_table(runs: &[SettlementRun]) -> Markup {
    html! {
        div.table-wrap {
            table #runs {
                thead { tr {
                    th { "Day" } th { "Gateway" } th { "Mode" } th { "Step" } th { "Attempts" } th { "Lines read" }
                    th { "Matched" } th { "Differing" } th { "Last error" } th { "Started" } th { "Finished" }
                } }
                tbody {
                    @for r in runs {
                        tr data-run=(r.id) {
                            td { a href={ "/admin/reconciliation/lines?run=" (r.id) } title="Lines this run read" { (day(r)) } }
                            td { (r.gateway.as_str()) }
                            td { (GatewayMode::of(r.livemode).as_str()) }
                            td { (status(r.step.as_str())) }
                            td.num { (r.attempts) }
                            td.num { (r.lines_read) }
                            td.num { (r.matched) }
                            td.num { @if r.differing > 0 { strong.bad { (r.differing) } } @else { (r.differing) } }
                            td.wrap { (r.last_error.as_deref().unwrap_or("—")) }
                            td { (time(r.started_at)) }
                            td { (r.finished_at.map_or("—".to_owned(), time)) }
                        }
                    }
                    @if runs.is_empty() { tr { td colspan="11" .muted { "No runs yet." } } }
                }
            }
        }
    }
}

/// A period's lines as CSV, for accountants: UTC days, both included.
fn export_form(gateway: &str) -> Markup {
    html! {
        form.filters #export-lines method="get" action="/admin/reconciliation/lines" {
            input type="hidden" name="format" value="csv";
            label { "Booked from" input type="date" name="since" required; }
            label { "to (included)" input type="date" name="until" required; }
            label { "Gateway"
                select name="gateway" {
                    option value="" { "any" }
                    @for g in SettledGateway::ALL { option value=(g.as_str()) selected[g.as_str() == gateway] { (g.as_str()) } }
                }
            }
            button type="submit" { "Export CSV" }
            a href="/admin/reconciliation/lines" { "Browse lines" }
        }
        p.muted { "Every line of the period in the mode shown, with what it matched; at most 10,000 rows (narrow the period for more). Amounts are numbers; text that could start a formula is prefixed with '." }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_filter_knows_both_gateways_and_refuses_others() {
        assert_eq!(gateway_filter("").ok(), Some(None));
        assert_eq!(gateway_filter("paypal").ok(), Some(Some(SettledGateway::Paypal)));
        assert!(gateway_filter("adyen").is_err());
    }
}
