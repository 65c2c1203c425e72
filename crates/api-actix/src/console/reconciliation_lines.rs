//! The gateways' book lines reconciliation stored, of the mode the console
//! shows: a bank payout's lines (the drill-down of the reconciliation
//! page), a run's, or a period's, with filters, pages, and a CSV export
//! for accountants. The filters are read by the API's own parser
//! ([`line_query`]), so both refuse the same things.

use actix_web::{HttpResponse, get, web};
use domain::paging::MAX_PAGE_LIMIT;
use domain::ports::{LineQuery, ReconciledLine, SettlementKind};
use domain::reconciliation::SettledGateway;
use maud::{Markup, html};
use serde::Deserialize;

use super::csv::{self, Cell};
use super::error::ConsoleError;
use super::layout::{Section, day_start, html_page, page, status, time, unknown};
use super::reconciliation_payouts;
use super::session::ConsoleUser;
use crate::AppState;
use crate::error::ApiError;
use crate::routes::reconciliation::{LineParams, line_cursor, line_query};

/// Results a line can have (`missing_at_gateway` is an object's, never a
/// line's).
pub const RESULTS: [&str; 5] = ["matched", "amount_differs", "fee_differs", "missing_in_ledger", "unexpected_type"];

/// Kinds of lines offered in the filter (`other:<name>` is accepted too).
pub const KINDS: [&str; 11] = [
    "charge",
    "refund",
    "refund_failure",
    "dispute",
    "adjustment",
    "fee",
    "transfer",
    "transfer_reversal",
    "hold",
    "bank_payout",
    "bank_payout_reversal",
];

/// The columns of the CSV export.
const COLUMNS: &str = "gateway,mode,line_id,booked_at,kind,currency,amount,fee,net,source,reference,bank_payout,object_kind,object_id,result,run_id";

/// Filters of the lines page and its export (blank: any).
#[derive(Debug, Default, Deserialize)]
pub struct LineFilters {
    #[serde(default)]
    gateway: String,
    /// A bank payout, by the gateway's id (`po_…`).
    #[serde(default)]
    payout: String,
    /// A run (`srun_…`).
    #[serde(default)]
    run: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    kind: String,
    /// First day booked (`YYYY-MM-DD`, UTC), included.
    #[serde(default)]
    since: String,
    /// Last day booked, included.
    #[serde(default)]
    until: String,
    #[serde(default)]
    cursor: String,
    /// `csv` for an export of the whole filter.
    #[serde(default)]
    format: String,
}

fn given(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

impl LineFilters {
    /// The query of `limit` lines of `livemode` these filters describe.
    fn query(&self, livemode: bool, limit: u32) -> Result<LineQuery, ConsoleError> {
        if !self.result.is_empty() && !RESULTS.contains(&self.result.as_str()) {
            return Err(unknown("result"));
        }
        if !self.kind.is_empty() && SettlementKind::from_name(&self.kind).is_none() {
            return Err(unknown("kind"));
        }
        // The last day is included: the bound is the next midnight.
        let until = day_start(&self.until, "until date")?.map(|t| t + chrono::Duration::days(1));
        let params = LineParams {
            gateway: given(&self.gateway),
            livemode: Some(livemode),
            run: given(&self.run),
            result: given(&self.result),
            kind: given(&self.kind),
            payout: given(&self.payout),
            since: day_start(&self.since, "since date")?,
            until,
            cursor: given(&self.cursor),
            limit: Some(limit),
        };
        Ok(line_query(params)?)
    }

    /// The filters links keep.
    fn kept(&self) -> [(&'static str, &str); 7] {
        [
            ("gateway", &self.gateway),
            ("payout", &self.payout),
            ("run", &self.run),
            ("result", &self.result),
            ("kind", &self.kind),
            ("since", &self.since),
            ("until", &self.until),
        ]
    }

    /// The lines page with these filters and `extra` pairs.
    fn url(&self, extra: &[(&str, &str)]) -> String {
        let pairs: Vec<(&str, &str)> =
            self.kept().iter().chain(extra.iter()).filter(|(_, v)| !v.is_empty()).copied().collect();
        format!("/admin/reconciliation/lines?{}", serde_urlencoded::to_string(&pairs).unwrap_or_default())
    }
}

/// A line's or discrepancy's object: a sale links to the payments search
/// by the gateway's id (which opens the payment of the mode shown); the
/// console has no search for refunds, disputes or transfers by a gateway's
/// id, so those are shown as text.
pub fn object_link(kind: Option<&str>, id: &str) -> Markup {
    let search = format!("/admin/payments?{}", serde_urlencoded::to_string([("q", id)]).unwrap_or_default());
    html! {
        @match kind {
            Some("sale") => { "sale " a href=(search) title="Find the payment" { code { (id) } } }
            Some(kind) => { (kind) " " code { (id) } }
            None => { "line " code { (id) } }
        }
    }
}

/// Lines of the mode shown, oldest first, 100 a page (admins); `format=csv`
/// exports the whole filter.
#[get("/reconciliation/lines")]
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    filters: web::Query<LineFilters>,
) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    if filters.format == "csv" {
        return export(&state, &user, &filters).await;
    }
    let query = filters.query(user.mode.is_live(), MAX_PAGE_LIMIT)?;
    let gateway = query.gateway;
    let lines = state.settlement.lines(user.actor, query).await.map_err(ApiError::from)?;
    let full = lines.len() == usize::try_from(MAX_PAGE_LIMIT).unwrap_or(usize::MAX);
    let next = if full { lines.last().map(line_cursor) } else { None };
    let payout = match given(&filters.payout) {
        Some(id) => payout_of(&state, &user, gateway, &id).await?,
        None => None,
    };
    let title = match (given(&filters.payout), given(&filters.run)) {
        (Some(payout), _) => format!("Bank payout {payout}"),
        (None, Some(run)) => format!("Lines of run {run}"),
        (None, None) => "Settlement lines".to_owned(),
    };
    let body = html! {
        p { a href="/admin/reconciliation" { "← Reconciliation" } }
        @if let Some(summary) = &payout { (reconciliation_payouts::table(std::slice::from_ref(summary))) h2 { "Its lines" } }
        (filter_form(&filters))
        (table(&lines))
        div.pager {
            @if !filters.cursor.is_empty() { a href=(filters.url(&[])) { "First page" } }
            @if let Some(next) = &next { a href=(filters.url(&[("cursor", next)])) rel="next" { "Next page" } }
        }
    };
    Ok(html_page(page(&user, Section::Reconciliation, &title, body)))
}

/// The payout's summary, if it is among the newest ones of the mode shown.
async fn payout_of(
    state: &AppState,
    user: &ConsoleUser,
    gateway: Option<SettledGateway>,
    id: &str,
) -> Result<Option<domain::ports::PayoutSummary>, ConsoleError> {
    let payouts = state
        .settlement
        .payouts(user.actor, gateway, Some(user.mode.is_live()), MAX_PAGE_LIMIT)
        .await
        .map_err(ApiError::from)?;
    Ok(payouts.into_iter().find(|p| p.payout.id == id))
}

fn select(name: &str, label: &str, current: &str, options: &[&str]) -> Markup {
    html! {
        label { (label)
            select name=(name) {
                option value="" { "any" }
                @for o in options { option value=(o) selected[*o == current] { (o) } }
            }
        }
    }
}

fn filter_form(f: &LineFilters) -> Markup {
    let gateways: Vec<&str> = SettledGateway::ALL.iter().map(SettledGateway::as_str).collect();
    html! {
        form.filters #line-filters method="get" action="/admin/reconciliation/lines" {
            (select("gateway", "Gateway", &f.gateway, &gateways))
            (select("result", "Result", &f.result, &RESULTS))
            (select("kind", "Kind", &f.kind, &KINDS))
            label { "Bank payout" input name="payout" value=(f.payout) placeholder="po_…" size="14"; }
            label { "Run" input name="run" value=(f.run) placeholder="srun_…" size="14"; }
            label { "Booked from" input type="date" name="since" value=(f.since); }
            label { "to" input type="date" name="until" value=(f.until); }
            button type="submit" { "Filter" }
            a href=(f.url(&[("format", "csv")])) { "Export CSV" }
        }
    }
}

fn table(lines: &[ReconciledLine]) -> Markup {
    html! {
        div.table-wrap {
            table #lines {
                thead { tr {
                    th { "Booked" } th { "Line" } th { "Kind" } th { "Currency" } th { "Amount" } th { "Fee" } th { "Net" }
                    th { "Source" } th { "Reference" } th { "Bank payout" } th { "Object" } th { "Result" }
                } }
                tbody {
                    @for l in lines { (row(l)) }
                    @if lines.is_empty() { tr { td colspan="12" .muted { "No lines match." } } }
                }
            }
        }
    }
}

fn row(l: &ReconciledLine) -> Markup {
    let a = l.line.amounts;
    html! {
        tr data-line=(l.line.id) {
            td { (time(l.line.created)) }
            td { code { (l.line.id) } }
            td { (l.line.kind.name()) }
            td { (a.currency().code()) }
            td.num { (a.amount().to_major_string()) }
            td.num { (a.fee().to_major_string()) }
            td.num { (a.net().to_major_string()) }
            td { code { (l.line.source.as_deref().unwrap_or("—")) } }
            td { code { (l.line.reference.as_deref().unwrap_or("—")) } }
            td { code { (l.line.payout.as_deref().unwrap_or("—")) } }
            td { @if let Some((kind, id)) = &l.object { (object_link(Some(kind.as_str()), id)) } @else { "—" } }
            td { @if let Some(result) = &l.result { (status(result)) } @else { span.muted { "—" } } }
        }
    }
}

/// The whole filter as CSV, page after page, at most [`csv::MAX_ROWS`]
/// rows: amounts as numbers, text guarded against formulas.
async fn export(state: &AppState, user: &ConsoleUser, filters: &LineFilters) -> Result<HttpResponse, ConsoleError> {
    let mut query = LineQuery { after: None, ..filters.query(user.mode.is_live(), MAX_PAGE_LIMIT)? };
    let page_size = usize::try_from(MAX_PAGE_LIMIT).unwrap_or(usize::MAX);
    let mut rows = Vec::new();
    loop {
        let lines = state.settlement.lines(user.actor, query.clone()).await.map_err(ApiError::from)?;
        rows.extend(lines.iter().map(csv_row));
        match lines.last() {
            Some(last) if lines.len() == page_size && rows.len() < csv::MAX_ROWS => {
                query.after = Some((last.line.created, last.line.id.clone()));
            }
            _ => break,
        }
    }
    csv::respond("settlement-lines", COLUMNS, &rows)
}

fn csv_row(l: &ReconciledLine) -> Vec<Cell> {
    let text = |value: Option<&String>| Cell::from(value.cloned().unwrap_or_default());
    let a = l.line.amounts;
    vec![
        l.gateway.as_str().into(),
        domain::gateway_config::GatewayMode::of(l.livemode).as_str().into(),
        l.line.id.clone().into(),
        l.line.created.to_rfc3339().into(),
        l.line.kind.name().into(),
        a.currency().code().into(),
        a.amount().into(),
        a.fee().into(),
        a.net().into(),
        text(l.line.source.as_ref()),
        text(l.line.reference.as_ref()),
        text(l.line.payout.as_ref()),
        l.object.as_ref().map(|(kind, _)| kind.as_str()).unwrap_or_default().into(),
        text(l.object.as_ref().map(|(_, id)| id)),
        text(l.result.as_ref()),
        l.run_id.to_string().into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(pairs: &str) -> LineFilters {
        serde_urlencoded::from_str(pairs).unwrap()
    }

    #[test]
    fn days_are_whole_utc_days_both_included_and_filters_are_checked() {
        let q = filters("since=2026-10-01&until=2026-10-31&gateway=stripe&kind=other:topup").query(true, 100).unwrap();
        assert_eq!(q.since.map(|t| t.to_rfc3339()).as_deref(), Some("2026-10-01T00:00:00+00:00"));
        assert_eq!(q.until.map(|t| t.to_rfc3339()).as_deref(), Some("2026-11-01T00:00:00+00:00"));
        assert_eq!(
            (q.gateway, q.livemode, q.kind.as_deref()),
            (Some(SettledGateway::Stripe), Some(true), Some("other:topup"))
        );
        for bad in ["since=yesterday", "gateway=adyen", "result=odd", "kind=topup", "run=x", "cursor=abc"] {
            assert!(filters(bad).query(false, 100).is_err(), "{bad}");
        }
    }

    #[test]
    fn links_keep_the_filters_and_only_sales_link_to_a_payment() {
        let f = filters("gateway=stripe&payout=po_1&result=");
        assert_eq!(f.url(&[("format", "csv")]), "/admin/reconciliation/lines?gateway=stripe&payout=po_1&format=csv");
        let sale = object_link(Some("sale"), "pi_1&x").into_string();
        assert!(sale.contains("href=\"/admin/payments?q=pi_1%26x\""), "{sale}");
        assert!(!object_link(Some("refund"), "re_1").into_string().contains("href"));
    }
}
