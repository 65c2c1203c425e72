//! The page shell: head, navigation by role, and small shared pieces.

use domain::money::Money;
use domain::usecases::Role;
use maud::{DOCTYPE, Markup, html};

use super::mode;
use super::session::ConsoleUser;

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Skillpay" }
            link rel="stylesheet" href="/admin/assets/console.css";
            script src="/admin/assets/console.js" defer {}
        }
    }
}

/// A page without navigation (sign-in, errors).
pub fn bare_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body { main { (body) } }
        }
    }
}

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The dashboard.
    Dashboard,
    /// Payments.
    Payments,
    /// Refunds.
    Refunds,
    /// Payouts.
    Payouts,
    /// Coupons.
    Coupons,
    /// Disputes.
    Disputes,
    /// Settlement reconciliation.
    Reconciliation,
    /// Outgoing event deliveries.
    Deliveries,
    /// E-mail messages.
    Mail,
    /// Incoming gateway webhooks.
    Webhooks,
    /// Gateway configurations.
    Gateways,
    /// The audit log.
    Audit,
    /// What needs a person.
    Attention,
    /// The fraud controls and the payments they hold.
    Fraud,
}

/// A page of the signed-in console.
pub fn page(user: &ConsoleUser, here: Section, title: &str, body: Markup) -> Markup {
    let entries: &[(Section, &str, &str)] = match user.actor.role {
        Role::Admin => &[
            (Section::Dashboard, "/admin/", "Dashboard"),
            (Section::Attention, "/admin/attention", "Needs attention"),
            (Section::Payments, "/admin/payments", "Payments"),
            (Section::Refunds, "/admin/refunds", "Refunds"),
            (Section::Payouts, "/admin/payouts", "Payouts"),
            (Section::Coupons, "/admin/coupons", "Coupons"),
            (Section::Disputes, "/admin/disputes", "Disputes"),
            (Section::Fraud, "/admin/fraud", "Fraud"),
            (Section::Reconciliation, "/admin/reconciliation", "Reconciliation"),
            (Section::Deliveries, "/admin/deliveries", "Deliveries"),
            (Section::Mail, "/admin/mail", "E-mail"),
            (Section::Webhooks, "/admin/webhooks", "Webhooks"),
            (Section::Gateways, "/admin/gateways", "Gateways"),
            (Section::Audit, "/admin/audit", "Audit log"),
        ],
        Role::Instructor | Role::Student => &[(Section::Dashboard, "/admin/", "My earnings")],
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top {
                    span.brand { "Skillpay" }
                    nav {
                        @for (section, href, label) in entries {
                            a href=(href) class=[(*section == here).then_some("here")] { (label) }
                        }
                    }
                    div.who {
                        (mode::toggle(user))
                        span { (user.actor.role.as_str()) " " (user.actor.user_id.get()) }
                        form.inline method="post" action="/admin/sign-out" {
                            input type="hidden" name="csrf" value=(user.csrf);
                            button.secondary type="submit" { "Sign out" }
                        }
                    }
                }
                (mode::banner(user))
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A status as a coloured pill.
pub fn status(name: &str) -> Markup {
    html! { span class={ "status " (name) } { (name) } }
}

/// An amount with its currency (`12.50 USD`).
pub fn money(amount: Money) -> String {
    format!("{} {}", amount.to_major_string(), amount.currency().code())
}

/// A time in UTC, to the minute.
pub fn time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A 303 to a console page, the answer to every successful form.
pub fn see_other(location: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther().insert_header((actix_web::http::header::LOCATION, location)).finish()
}

/// A rendered page as a 200 answer.
pub fn html_page(markup: Markup) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().content_type("text/html; charset=utf-8").body(markup.into_string())
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(user: &ConsoleUser) -> Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf); }
}

/// Where a list is: its cursor, which way it runs and the creation days
/// it covers (empty: the first page, newest first, all time). Every list's
/// filters carry one (`#[serde(flatten)]`), so every list sorts and filters
/// by date the same way.
#[derive(Debug, Default, Clone, serde::Deserialize, serde::Serialize)]
pub struct ListPage {
    #[serde(default)]
    cursor: String,
    /// `oldest` for oldest first; anything else is newest first.
    #[serde(default)]
    order: String,
    /// First day included (`YYYY-MM-DD`, UTC).
    #[serde(default)]
    from: String,
    /// Last day included.
    #[serde(default)]
    to: String,
}

/// A list filter naming nothing the list knows: 400 `invalid_query`.
pub fn unknown(what: &str) -> super::error::ConsoleError {
    super::error::ConsoleError::Api(crate::error::ApiError::InvalidQuery(format!("unknown {what}")))
}

fn malformed(what: &str) -> super::error::ConsoleError {
    super::error::ConsoleError::Api(crate::error::ApiError::InvalidQuery(format!("malformed {what}")))
}

/// The first instant of a UTC day (`YYYY-MM-DD`); `None` when blank, a
/// 400 when malformed.
pub fn day_start(text: &str, what: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, super::error::ConsoleError> {
    match text.trim() {
        "" => Ok(None),
        day => chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map(|d| Some(d.and_time(chrono::NaiveTime::MIN).and_utc()))
            .map_err(|_| malformed(what)),
    }
}

impl ListPage {
    /// The page of `limit` rows this describes.
    pub fn request(&self, limit: u32) -> Result<domain::paging::PageRequest, super::error::ConsoleError> {
        use domain::paging::{Cursor, PageRequest, SortOrder};
        let after = match self.cursor.as_str() {
            "" => None,
            text => Some(Cursor::decode(text).map_err(|_| malformed("cursor"))?),
        };
        let order = if self.order == "oldest" { SortOrder::OldestFirst } else { SortOrder::NewestFirst };
        // The "to" day is included: the bound is the next midnight.
        let until = day_start(&self.to, "to date")?.map(|t| t + chrono::Duration::days(1));
        Ok(PageRequest::new(after, Some(limit)).ordered(order, day_start(&self.from, "from date")?, until))
    }

    /// The form fields choosing the order and the days.
    pub fn fields(&self) -> Markup {
        html! {
            label { "Created from" input type="date" name="from" value=(self.from); }
            label { "to" input type="date" name="to" value=(self.to); }
            label { "Order"
                select name="order" {
                    option value="" { "newest first" }
                    option value="oldest" selected[self.order == "oldest"] { "oldest first" }
                }
            }
        }
    }
}

/// The address of a list at `path` with its `filters`, order and days,
/// plus `extra` pairs (a cursor, `format=csv`).
pub fn list_url(path: &str, filters: &[(&str, &str)], list: &ListPage, extra: &[(&str, &str)]) -> String {
    let kept = [("order", list.order.as_str()), ("from", list.from.as_str()), ("to", list.to.as_str())];
    let pairs: Vec<(&str, &str)> =
        filters.iter().chain(kept.iter()).chain(extra.iter()).filter(|(_, v)| !v.is_empty()).copied().collect();
    format!("{path}?{}", serde_urlencoded::to_string(&pairs).unwrap_or_default())
}

/// "First page" and "Next page" links for a list at `path`, keeping its
/// other filters, its order and its days.
pub fn pager(path: &str, filters: &[(&str, &str)], list: &ListPage, next: Option<&domain::paging::Cursor>) -> Markup {
    html! {
        div.pager {
            @if !list.cursor.is_empty() { a href=(list_url(path, filters, list, &[])) { "First page" } }
            @if let Some(next) = next { a href=(list_url(path, filters, list, &[("cursor", &next.encode())])) rel="next" { "Next page" } }
        }
    }
}
