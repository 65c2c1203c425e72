//! Payments: the filtered list (with search, cursor pages and CSV export)
//! of the mode the console shows, and one payment's page with its timeline
//! and ledger lines.

use actix_web::{HttpRequest, HttpResponse, get, web};
use domain::catalog::ItemKind;
use domain::gateway_config::GatewayMode;
use domain::ids::{PaymentId, UserId};
use domain::paging::{Cursor, PageRequest};
use domain::payment::{Payment, PaymentMethod, PaymentStatus};
use domain::ports::PaymentQuery;
use domain::usecases::Actor;
use maud::{Markup, html};
use serde::Deserialize;

use super::csv;
use super::error::ConsoleError;
use super::history::{ledger_table, timeline_table};
use super::layout::{ListPage, Section, html_page, list_url, money, page, pager, status, time};
use super::session::ConsoleUser;
use crate::AppState;
use crate::error::ApiError;
use crate::routes::path_id;

const PAGE_SIZE: u32 = 50;

/// The list's filters as the form sends them (empty fields mean "any").
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    instructor: String,
    /// A payment id, a gateway's payment id, a user id, an e-mail or a
    /// coupon code.
    #[serde(default)]
    q: String,
    #[serde(flatten)]
    list: ListPage,
    #[serde(default)]
    format: String,
    /// Set by a search for a coupon code.
    #[serde(default)]
    coupon: Option<String>,
    /// Set by a search for an e-mail address.
    #[serde(default)]
    email: Option<String>,
}

fn invalid(what: &str) -> ConsoleError {
    ConsoleError::Api(ApiError::InvalidQuery(format!("unknown or malformed {what}")))
}

fn user_id(text: &str, what: &str) -> Result<Option<UserId>, ConsoleError> {
    if text.is_empty() {
        return Ok(None);
    }
    text.trim().parse::<i64>().map(|id| Some(UserId::new(id))).map_err(|_| invalid(what))
}

impl Filters {
    fn query(&self, mode: GatewayMode, page: PageRequest) -> Result<PaymentQuery, ConsoleError> {
        let status = match self.status.as_str() {
            "" => None,
            name => Some(PaymentStatus::NAMES.into_iter().find(|n| *n == name).ok_or_else(|| invalid("status"))?),
        };
        let method = match self.method.as_str() {
            "" => None,
            name => Some(name.parse::<PaymentMethod>().map_err(|_| invalid("method"))?),
        };
        Ok(PaymentQuery {
            user_id: user_id(&self.user, "user id")?,
            instructor_id: user_id(&self.instructor, "instructor id")?,
            status,
            method,
            coupon_code: self.coupon.clone(),
            billing_email: self.email.clone(),
            livemode: Some(mode.is_live()),
            page,
        })
    }

    /// The filters links keep (the search regenerates `coupon` and `email`).
    fn kept(&self) -> [(&'static str, &str); 5] {
        [
            ("status", &self.status),
            ("method", &self.method),
            ("user", &self.user),
            ("instructor", &self.instructor),
            ("q", &self.q),
        ]
    }
}

/// What the search box found: one payment of the mode shown, or a
/// filter to apply.
async fn search(state: &AppState, user: &ConsoleUser, q: &str) -> Result<Option<Payment>, ConsoleError> {
    let of_mode = |found: Option<Payment>| found.filter(|p| p.livemode == user.mode.is_live());
    if let Ok(id) = q.parse::<PaymentId>() {
        return Ok(of_mode(state.payments.get(user.actor, id).await.ok()));
    }
    for method in PaymentMethod::ALL {
        if let Some(found) = state.payments.find_by_provider_id(method, q).await? {
            return Ok(of_mode(state.payments.get(user.actor, found.id).await.ok()));
        }
    }
    Ok(None)
}

/// The payments list (admins).
#[get("/payments")]
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let mut filters: Filters = serde_urlencoded::from_str(req.query_string()).map_err(|_| invalid("filter"))?;
    filters.q = filters.q.trim().to_owned();
    if !filters.q.is_empty() {
        // A number searches by payer, an e-mail address by receipt e-mail;
        // a payment's or gateway's id names one payment; anything else is
        // taken for a coupon code.
        if filters.q.chars().all(|c| c.is_ascii_digit()) {
            filters.user = filters.q.clone();
        } else if filters.q.contains('@') {
            filters.email = Some(filters.q.clone());
        } else if let Some(found) = search(&state, &user, &filters.q).await? {
            return Ok(html_page(page(&user, Section::Payments, "Payments", results(&filters, &[found], None))));
        } else {
            filters.coupon = Some(filters.q.to_uppercase());
        }
    }
    if filters.format == "csv" {
        return csv_export(&state, user.actor, user.mode, &filters).await;
    }
    let result = state.payments.list(user.actor, filters.query(user.mode, filters.list.request(PAGE_SIZE)?)?).await?;
    Ok(html_page(page(&user, Section::Payments, "Payments", results(&filters, &result.items, result.next.as_ref()))))
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

fn results(filters: &Filters, items: &[Payment], next: Option<&Cursor>) -> Markup {
    let methods: Vec<&str> = PaymentMethod::ALL.iter().map(PaymentMethod::as_str).collect();
    html! {
        form.filters method="get" action="/admin/payments" {
            label { "Search" input type="search" name="q" value=(filters.q) placeholder="pay_…, pi_…, user id, e-mail, coupon"; }
            (select("status", "Status", &filters.status, &PaymentStatus::NAMES))
            (select("method", "Method", &filters.method, &methods))
            label { "Payer" input name="user" value=(filters.user) inputmode="numeric" size="8"; }
            label { "Instructor" input name="instructor" value=(filters.instructor) inputmode="numeric" size="8"; }
            (filters.list.fields())
            button type="submit" { "Filter" }
            a href=(list_url("/admin/payments", &filters.kept(), &filters.list, &[("format", "csv")])) { "Export CSV" }
        }
        div.table-wrap {
            table #payments {
                thead { tr { th { "Created" } th { "Payment" } th { "Status" } th { "Method" } th { "Amount" } th { "Fee" } th { "Payer" } th { "Instructor" } th { "Item" } } }
                tbody {
                    @for p in items {
                        tr {
                            td { (time(p.created_at)) }
                            td { a href={ "/admin/payments/" (p.id) } { (p.id) } }
                            td { (status(p.status.as_str())) }
                            td { (p.method.as_str()) }
                            td.num { (money(p.amount)) }
                            td.num { (money(p.platform_fee)) }
                            td.num { (p.user_id.get()) }
                            td.num { (p.instructor_id.get()) }
                            td { (p.item.kind.as_str()) " " (p.item.id) }
                        }
                    }
                    @if items.is_empty() { tr { td colspan="9" .muted { "No payments match." } } }
                }
            }
        }
        (pager("/admin/payments", &filters.kept(), &filters.list, next))
    }
}

async fn csv_export(
    state: &AppState,
    actor: Actor,
    mode: GatewayMode,
    filters: &Filters,
) -> Result<HttpResponse, ConsoleError> {
    const COLUMNS: &str = "id,created_at,status,method,currency,original_amount,discount_amount,amount,platform_fee,instructor_earnings,refunded_amount,user_id,instructor_id,item_kind,item_id,coupon_code,provider_payment_id";
    let read = |page| async move { Ok(state.payments.list(actor, filters.query(mode, page)?).await?) };
    csv::export("payments", COLUMNS, filters.list.request(domain::paging::MAX_PAGE_LIMIT)?, read, |p: &Payment| {
        vec![
            p.id.to_string().into(),
            p.created_at.to_rfc3339().into(),
            p.status.as_str().into(),
            p.method.as_str().into(),
            p.amount.currency().code().into(),
            p.original_amount.into(),
            p.discount_amount.into(),
            p.amount.into(),
            p.platform_fee.into(),
            p.instructor_earnings.into(),
            p.refunded_amount.into(),
            p.user_id.get().to_string().into(),
            p.instructor_id.get().to_string().into(),
            p.item.kind.as_str().into(),
            p.item.id.to_string().into(),
            p.coupon.as_ref().map(|c| c.code.as_str().to_owned()).unwrap_or_default().into(),
            p.provider_payment_id.clone().unwrap_or_default().into(),
        ]
    })
    .await
}

/// One payment: its facts, timeline and ledger lines (admins).
#[get("/payments/{id}")]
pub async fn detail(
    state: web::Data<AppState>,
    user: ConsoleUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let id: PaymentId = path_id(&path)?;
    let p = state.payments.get(user.actor, id).await.map_err(ApiError::from)?;
    let (timeline, journals) =
        futures::try_join!(state.console.payment_timeline(id), state.console.payment_journals(id))?;
    let query = domain::ports::DecisionQuery { payment_ids: vec![id], user_id: None };
    let decisions = state.fraud.decisions(user.actor, query).await.map_err(crate::routes::fraud::to_api)?;
    let risk = &p.risk;
    // Only an event has seats: a course's page reads no catalog item.
    let event = match p.item.kind {
        ItemKind::Event => state.catalog.find(p.item).await.map_err(crate::convert::store)?,
        ItemKind::Course => None,
    };
    let seats_left = match &event {
        Some(item) => state.catalog.seats_left(item).await.map_err(crate::convert::store)?,
        None => None,
    };
    let body = html! {
        dl.facts {
            dt { "Status" } dd #payment-status { (status(p.status.as_str())) }
            dt { "Amount" } dd { (money(p.amount)) " (list " (money(p.original_amount)) ", discount " (money(p.discount_amount)) ")" }
            dt { "Platform fee" } dd { (money(p.platform_fee)) }
            dt { "Instructor earnings" } dd { (money(p.instructor_earnings)) }
            dt { "Refunded" } dd { (money(p.refunded_amount)) }
            dt { "Mode" } dd #payment-mode { (GatewayMode::of(p.livemode).as_str()) }
            dt { "Method" } dd { (p.method.as_str()) @if let Some(pid) = &p.provider_payment_id { " · " code { (pid) } } }
            dt { "Payer" } dd { a href={ "/admin/payments?user=" (p.user_id.get()) } { (p.user_id.get()) } }
            dt { "Instructor" } dd { a href={ "/admin/payments?instructor=" (p.instructor_id.get()) } { (p.instructor_id.get()) } }
            dt { "Item" } dd #payment-item {
                (p.item.kind.as_str()) " " (p.item.id)
                @if p.quantity > 1 { " × " (p.quantity) " tickets" }
                @if let Some(left) = seats_left { " · " (left) " seats left" }
            }
            dt { "Coupon" } dd { (p.coupon.as_ref().map_or("—", |c| c.code.as_str())) }
            dt { "Created" } dd { (time(p.created_at)) }
            dt { "Completed" } dd { (p.completed_at.map_or("—".to_owned(), time)) }
            @if let Some(reason) = &p.failure_reason { dt { "Failure" } dd { (reason) } }
            @if let Some(level) = &risk.level {
                dt { "Gateway risk" } dd #payment-risk { (level) @if let Some(score) = risk.score { " (score " (score) ")" } }
            }
            @if let Some(protection) = &risk.seller_protection { dt { "Seller protection" } dd { (protection) } }
            @if let Some(card) = &risk.card_fingerprint { dt { "Card fingerprint" } dd { code { (card) } } }
        }
        @if !decisions.is_empty() {
            h2 { "Fraud decisions" }
            ul #fraud-decisions {
                @for d in &decisions {
                    @for f in &d.fired { li { (time(d.at)) " · " (d.outcome.as_str()) " · " (f.name) ": " (f.why) } }
                }
            }
        }
        p { a href={ "/admin/refunds?payment=" (p.id) } { "Refunds of this payment" } }
        h2 { "Timeline" }
        (timeline_table(&timeline))
        h2 { "Ledger" }
        (ledger_table(&journals))
    };
    Ok(html_page(page(&user, Section::Payments, &format!("Payment {}", p.id), body)))
}
