//! The dashboard: for admins the platform's figures over today, 7 and 30
//! days, work waiting for them and a revenue chart; for instructors their
//! balances and earnings by course and month.

use actix_web::{get, web};
use chrono::{Days, NaiveDate, Utc};
use domain::money::Currency;
use domain::stats::{CurrencyTotals, PlatformStats};
use domain::usecases::Role;
use maud::{Markup, html};

use super::chart::daily_bars;
use super::error::ConsoleError;
use super::layout::{Section, money, page};
use super::session::ConsoleUser;
use crate::AppState;
use crate::error::ApiError;

/// The dashboard of the signed-in user's role.
#[get("/")]
pub async fn dashboard(state: web::Data<AppState>, user: ConsoleUser) -> Result<Markup, ConsoleError> {
    let today = Utc::now().date_naive();
    match user.actor.role {
        Role::Admin => admin_dashboard(&state, &user, today).await,
        Role::Instructor => instructor_dashboard(&state, &user, today).await,
        Role::Student => Err(ConsoleError::Forbidden),
    }
}

fn days_back(today: NaiveDate, days: u64) -> NaiveDate {
    today.checked_sub_days(Days::new(days)).unwrap_or(today)
}

async fn admin_dashboard(state: &AppState, user: &ConsoleUser, today: NaiveDate) -> Result<Markup, ConsoleError> {
    let stats = |from| state.stats.platform(user.actor, from, today);
    let (day, week, month) = futures::try_join!(stats(today), stats(days_back(today, 6)), stats(days_back(today, 29)))
        .map_err(ApiError::from)?;
    let pending = state.console.pending_work().await?;
    let currencies: Vec<Currency> = month.currencies.keys().copied().collect();
    let body = html! {
        section.cards aria-label="Waiting for you" {
            a.card href="/admin/refunds?status=requested" { div.label { "Refunds to approve" } div.value #pending-refunds { (pending.refunds) } }
            div.card { div.label { "Payouts to act on" } div.value { (pending.payouts) } }
            div.card { div.label { "Open disputes" } div.value { (pending.disputes) } }
        }
        @if currencies.is_empty() {
            p.notice { "No payments in the last 30 days." }
        }
        @for currency in &currencies {
            h2 { "Figures in " (currency.code()) }
            div.table-wrap {
                table {
                    thead { tr { th { "Period" } th { "Gross" } th { "Net" } th { "Fees" } th { "Refunds" } th { "Disputed" } th { "Success rate" } th { "Payments" } } }
                    tbody {
                        (period_row("Today", &day, *currency))
                        (period_row("7 days", &week, *currency))
                        (period_row("30 days", &month, *currency))
                    }
                }
            }
            (revenue_chart(&month, *currency, days_back(today, 29), today))
        }
    };
    Ok(page(user, Section::Dashboard, "Dashboard", body))
}

/// Settled share of payments created, as a percentage with one decimal.
fn success_rate(t: &CurrencyTotals) -> String {
    if t.payments == 0 {
        return "—".to_owned();
    }
    let per_mille = t.settled * 1000 / t.payments;
    format!("{}.{}%", per_mille / 10, per_mille % 10)
}

fn period_row(label: &str, stats: &PlatformStats, currency: Currency) -> Markup {
    let totals = stats.currencies.get(&currency).and_then(|c| c.totals.as_ref());
    html! {
        tr {
            td { (label) }
            @if let Some(t) = totals {
                td.num { (money(t.gross)) } td.num { (money(t.net)) } td.num { (money(t.platform_fees)) }
                td.num { (money(t.refunds)) } td.num { (money(t.disputed)) } td.num { (success_rate(t)) } td.num { (t.payments) }
            } @else {
                td.muted colspan="7" { "no payments" }
            }
        }
    }
}

fn revenue_chart(stats: &PlatformStats, currency: Currency, from: NaiveDate, to: NaiveDate) -> Markup {
    let daily = stats.currencies.get(&currency).map(|c| c.daily.as_slice()).unwrap_or_default();
    let days: Vec<(NaiveDate, i64)> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| (d, daily.iter().find(|p| p.day == d).map_or(0, |p| p.gross.minor())))
        .collect();
    daily_bars(&format!("Gross by day, last 30 days, {}", currency.code()), &days, u32::from(currency.exponent()))
}

async fn instructor_dashboard(state: &AppState, user: &ConsoleUser, today: NaiveDate) -> Result<Markup, ConsoleError> {
    let from = days_back(today, 364);
    let earnings = state.stats.instructor(user.actor, None, from, today).await.map_err(ApiError::from)?;
    let body = html! {
        h2 { "Balance" }
        @if earnings.balances.is_empty() { p.muted { "No earnings yet." } }
        div.table-wrap {
            table {
                thead { tr { th { "Currency" } th { "Pending (on hold)" } th { "Available" } th { "In transit" } th { "Paid out" } } }
                tbody {
                    @for b in &earnings.balances {
                        tr { td { (b.currency.code()) } td.num { (money(b.pending)) } td.num { (money(b.available)) } td.num { (money(b.in_transit)) } td.num { (money(b.paid_out)) } }
                    }
                }
            }
        }
        @for (currency, figures) in &earnings.currencies {
            h2 { "Earnings in " (currency.code()) ", last 12 months" }
            div.table-wrap {
                table {
                    thead { tr { th { "Course or event" } th { "Sales" } th { "Gross" } th { "Fees" } th { "Refunds" } th { "Net" } } }
                    tbody {
                        @for (item, f) in &figures.by_item {
                            tr { td { (item.kind.as_str()) " " (item.id) } td.num { (f.sales) } td.num { (money(f.gross)) } td.num { (money(f.fees)) } td.num { (money(f.refunds)) } td.num { (money(f.net)) } }
                        }
                    }
                }
            }
            @let months: Vec<(NaiveDate, i64)> = figures.by_month.iter().map(|(m, f)| (*m, f.net.minor())).collect();
            (daily_bars(&format!("Net earnings by month, {}", currency.code()), &months, u32::from(currency.exponent())))
        }
    };
    Ok(page(user, Section::Dashboard, "My earnings", body))
}
