//! The dashboard: for admins the platform's figures over today, 7 and 30
//! days (gross, gateway fees, platform fee and net apart), work waiting for
//! them and a revenue chart; for instructors their balances and earnings by
//! course and month. The figures are of the mode the console shows
//! ([`super::mode`]).
//!
//! The cards of work waiting (refunds, payouts, disputes to act on) count
//! both modes: test work waits for a person too.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{Days, NaiveDate, Utc};
use domain::money::Currency;
use domain::paging::PageRequest;
use domain::payout::PayoutMethod;
use domain::ports::PayoutQuery;
use domain::stats::{CurrencyTotals, PlatformStats};
use domain::usecases::Role;
use maud::{Markup, html};
use representations::Represented;
use serde::Deserialize;

use super::audit::record;
use super::chart::daily_bars;
use super::error::ConsoleError;
use super::layout::{Section, csrf_field, money, page, see_other, status, time};
use super::session::ConsoleUser;
use crate::AppState;
use crate::error::ApiError;
use crate::routes::payouts::{DestinationBody, RequestPayoutBody, parse_payout_request};

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
    let stats = |from| state.stats.platform(user.actor, Some(user.mode), from, today);
    let (day, week, month) = futures::try_join!(stats(today), stats(days_back(today, 6)), stats(days_back(today, 29)))
        .map_err(ApiError::from)?;
    let pending = state.console.pending_work().await?;
    let currencies: Vec<Currency> = month.currencies.keys().copied().collect();
    let body = html! {
        section.cards aria-label="Waiting for you" {
            a.card href="/admin/refunds?status=requested" { div.label { "Refunds to approve" } div.value #pending-refunds { (pending.refunds) } }
            a.card href="/admin/payouts?status=requested" { div.label { "Payouts to act on" } div.value { (pending.payouts) } }
            a.card href="/admin/disputes" { div.label { "Open disputes" } div.value { (pending.disputes) } }
            a.card href="/admin/attention" { div.label { "Needs attention" } div.value #attention-items { (pending.attention) } }
            a.card href="/admin/webhooks?status=needs_attention" { div.label { "Webhooks needing attention" } div.value #attention-webhooks { (pending.webhooks) } }
        }
        @if currencies.is_empty() {
            p.notice { "No payments in the last 30 days." }
        } @else {
            p.muted { "Net is what the platform keeps: its platform fee, less what refunds gave back and the gateway fees it bore (docs/stats.md)." }
        }
        @for currency in &currencies {
            h2 { "Figures in " (currency.code()) }
            div.table-wrap {
                table.figures id={ "figures-" (currency.code()) } {
                    thead { tr { th { "Period" } th { "Gross" } th { "Refunds" } th { "Gateway fees" } th { "Platform fee" } th { "Net" } th { "Disputed" } th { "Success rate" } th { "Payments" } } }
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
                td.num.gross { (money(t.gross)) } td.num.refunds { (money(t.refunds)) }
                td.num.gateway-fees title=(format!("{} borne by the platform", money(t.gateway_fees_platform))) { (money(t.gateway_fees)) }
                td.num.platform-fee title=(format!("{} given back by refunds", money(t.platform_fees_refunded))) { (money(t.platform_fees)) }
                td.num.net { (money(t.net)) }
                td.num { (money(t.disputed)) } td.num { (success_rate(t)) } td.num { (t.payments) }
            } @else {
                td.muted colspan="8" { "no payments" }
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
    let earnings =
        state.stats.instructor(user.actor, None, Some(user.mode), from, today).await.map_err(ApiError::from)?;
    let earnings_body = html! {
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
                    thead { tr { th { "Course or event" } th { "Sales" } th { "Gross" } th { "Platform fee" } th { "Gateway fees" } th { "Refunds" } th { "Net" } } }
                    tbody {
                        @for (item, f) in &figures.by_item {
                            tr { td { (item.kind.as_str()) " " (item.id) } td.num { (f.sales) } td.num { (money(f.gross)) } td.num { (money(f.fees)) } td.num { (money(f.gateway_fees)) } td.num { (money(f.refunds)) } td.num { (money(f.net)) } }
                        }
                    }
                }
            }
            @let months: Vec<(NaiveDate, i64)> = figures.by_month.iter().map(|(m, f)| (*m, f.net.minor())).collect();
            (daily_bars(&format!("Net earnings by month, {}", currency.code()), &months, u32::from(currency.exponent())))
        }
    };
    let body = earnings_body;
    let payouts = state
        .payouts
        .list(
            user.actor,
            PayoutQuery {
                instructor: None,
                status: None,
                method: None,
                livemode: Some(user.mode.is_live()),
                page: PageRequest::new(None, Some(20)),
            },
        )
        .await
        .map_err(ApiError::from)?;
    let body = html! {
        (body)
        h2 { "Payouts" }
        div.table-wrap {
            table #my-payouts {
                thead { tr { th { "Requested" } th { "Amount" } th { "Method" } th { "To" } th { "Status" } } }
                tbody {
                    @for p in &payouts.items {
                        tr { td { (time(p.created_at)) } td.num { (money(p.amount)) } td { (p.method.as_str()) } td { (p.destination_masked) } td { (status(p.status.as_str())) } }
                    }
                    @if payouts.items.is_empty() { tr { td colspan="5" .muted { "No payouts yet." } } }
                }
            }
        }
        h2 { "Request a payout" }
        form.filters #request-payout method="post" action="/admin/payouts/request" {
            (csrf_field(user))
            label { "Amount" input name="amount" required size="8" placeholder="50.00"; }
            label { "Currency" input name="currency" required size="4" value="USD"; }
            label { "Method"
                select name="method" {
                    @for m in PayoutMethod::ALL { option value=(m.as_str()) { (m.as_str()) } }
                }
            }
            label { "Stripe account (acct_…)" input name="account_id" size="16" autocomplete="off"; }
            label { "PayPal e-mail" input name="email" type="email" size="16" autocomplete="off"; }
            label { "Account holder" input name="account_holder" size="12" autocomplete="off"; }
            label { "IBAN or account number" input name="account_number" size="16" autocomplete="off"; }
            label { "Bank code" input name="bank_code" size="8" autocomplete="off"; }
            button type="submit" { "Request" }
        }
    };
    Ok(page(user, Section::Dashboard, "My earnings", body))
}

/// The payout request form (the destination fields of its method).
#[derive(Debug, Deserialize)]
pub struct PayoutRequestForm {
    csrf: String,
    amount: String,
    currency: String,
    method: String,
    #[serde(default)]
    account_id: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    account_holder: String,
    #[serde(default)]
    account_number: String,
    #[serde(default)]
    bank_code: String,
}

fn given(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// An instructor asks for a payout, validated as the API validates it.
#[post("/payouts/request")]
pub async fn request_payout(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    form: web::Form<PayoutRequestForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let form = form.into_inner();
    let body = RequestPayoutBody {
        amount: form.amount.trim().to_owned(),
        currency: form.currency.trim().to_uppercase(),
        method: form.method,
        destination: DestinationBody {
            account_id: given(&form.account_id),
            email: given(&form.email),
            account_holder: given(&form.account_holder),
            account_number: given(&form.account_number),
            bank_code: given(&form.bank_code),
        },
        // The money of the mode the console shows.
        livemode: Some(user.mode.is_live()),
    };
    let request = parse_payout_request(body)?;
    let payout = state
        .payouts
        .request(user.actor, request.amount, request.destination, request.livemode)
        .await
        .map_err(ApiError::from)?;
    let payload = payout.to_json()?;
    record(&state, &user, "payout.request", payout.id.to_string(), serde_json::Value::Null, payload).await?;
    Ok(see_other("/admin/"))
}
