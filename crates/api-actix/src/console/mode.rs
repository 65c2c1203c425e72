//! The console's test-mode switch, as Stripe's dashboard has one: which
//! money the console shows, live or test. The choice is a cookie
//! (`skillpay_console_mode`, scoped to `/admin` like the session), so every
//! page, link, pager and export keeps it without carrying it in addresses.
//! Without a choice the console shows what the API shows by default: live
//! money while a live gateway is served, test money otherwise
//! ([`StatsService::default_mode`]). Every page in test mode carries a
//! "Test data" banner.
//!
//! [`StatsService::default_mode`]: domain::usecases::stats::StatsService::default_mode

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, post, web};
use domain::gateway_config::GatewayMode;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::ConsoleError;
use super::session::ConsoleUser;
use crate::AppState;

/// The cookie holding the chosen mode (`live` or `test`).
const COOKIE: &str = "skillpay_console_mode";

/// The mode the signed-in console shows: the one chosen with the switch,
/// else the default.
pub fn shown(req: &HttpRequest, state: &AppState) -> GatewayMode {
    req.cookie(COOKIE).and_then(|c| GatewayMode::parse(c.value())).unwrap_or_else(|| state.stats.default_mode())
}

/// The switch's form body: the mode wanted and the page to go back to.
#[derive(Debug, Deserialize)]
pub struct SwitchForm {
    csrf: String,
    mode: String,
    #[serde(default)]
    back: String,
}

/// Only a console page to go back to (never another site, `//host`).
fn back_to(back: &str) -> &str {
    let console_page = (back == "/admin" || back.starts_with("/admin/") || back.starts_with("/admin?"))
        && !back.contains("//")
        && !back.contains('\\');
    if console_page { back } else { "/admin/" }
}

/// Switches between live and test data, and back to the page it was on.
#[post("/mode")]
pub async fn switch(
    user: ConsoleUser,
    req: HttpRequest,
    form: web::Form<SwitchForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let mode = GatewayMode::parse(&form.mode).ok_or_else(|| super::layout::unknown("mode"))?;
    let cookie = Cookie::build(COOKIE, mode.as_str())
        .path("/admin")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .finish();
    Ok(HttpResponse::SeeOther().cookie(cookie).insert_header((header::LOCATION, back_to(&form.back))).finish())
}

/// The switch in the page header: shows the mode and flips it.
pub fn toggle(user: &ConsoleUser) -> Markup {
    let test = user.mode == GatewayMode::Test;
    let other = if test { GatewayMode::Live } else { GatewayMode::Test };
    html! {
        form.inline.mode-switch #mode-switch method="post" action="/admin/mode" {
            input type="hidden" name="csrf" value=(user.csrf);
            input type="hidden" name="mode" value=(other.as_str());
            input type="hidden" name="back" value=(user.page);
            button.switch type="submit" role="switch" aria-checked=(if test { "true" } else { "false" })
                title=(if test { "Show live data" } else { "Show test data" }) {
                span.track aria-hidden="true" { span.knob {} }
                " Test mode"
            }
        }
    }
}

/// The banner on every page shown in test mode.
pub fn banner(user: &ConsoleUser) -> Markup {
    html! {
        @if user.mode == GatewayMode::Test {
            div.test-banner #test-data role="status" {
                strong { "Test data" }
                " — figures and lists show test-mode money only (the sandbox, gateways' test keys). Turn off Test mode to see live money."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::back_to;

    #[test]
    fn the_switch_goes_back_only_to_a_console_page() {
        for page in ["/admin/", "/admin", "/admin/payments?status=failed&from=2026-01-01", "/admin?x=1"] {
            assert_eq!(back_to(page), page);
        }
        for elsewhere in
            ["https://evil.example/", "//evil.example/admin/", "/admin//evil", "/administrator", "", "/api/"]
        {
            assert_eq!(back_to(elsewhere), "/admin/", "{elsewhere}");
        }
    }
}
