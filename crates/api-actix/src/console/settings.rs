//! Gateway configurations (credentials write-only: never shown, never
//! prefilled).

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::gateway_config::{GatewayConfigSummary, GatewayCredentials, GatewayMode, credential_names};
use domain::payment::PaymentMethod;
use domain::usecases::gateway_configs::PutGatewayConfig;
use maud::html;
use serde_json::json;

use super::audit::record;
use super::error::ConsoleError;
use super::layout::{Section, csrf_field, html_page, page, see_other, time};
use super::session::ConsoleUser;
use crate::AppState;
use crate::error::ApiError;
use crate::routes::gateway_configs::to_api;

/// The gateways whose credentials can be stored.
fn providers() -> impl Iterator<Item = PaymentMethod> {
    PaymentMethod::ALL.into_iter().filter(|p| domain::gateway_config::credential_names(*p).is_some())
}
const MODES: [GatewayMode; 2] = [GatewayMode::Test, GatewayMode::Live];

/// What the audit log keeps of a configuration: never a credential value.
fn summary(s: Option<&GatewayConfigSummary>) -> serde_json::Value {
    s.map_or(
        serde_json::Value::Null,
        |s| json!({ "is_active": s.is_active, "credential_names": s.credential_names, "api_base": s.api_base }),
    )
}

/// The gateway configurations (admins), with a form per provider and mode.
#[get("/gateways")]
pub async fn gateways(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let stored = state.gateway_configs.list(user.actor).await.map_err(to_api)?;
    let find = |p: PaymentMethod, m: GatewayMode| stored.iter().find(|s| s.provider == p && s.mode == m);
    let body = html! {
        p.notice { "Credentials are write-only: they are stored sealed and never shown. Saving replaces them all, so enter every one again to change anything. A change is served from the next request on (other instances within SKILLPAY_GATEWAY_REFRESH_SECS)." }
        @for provider in providers() {
            @for mode in MODES {
                @let current = find(provider, mode);
                @let (names, required) = credential_names(provider).unwrap_or((&[], &[]));
                h2 { (provider.as_str()) " · " (mode.as_str()) }
                p.muted {
                    @match current {
                        Some(s) => { (if s.is_active { "active" } else { "inactive" }) "; credentials set: " (s.credential_names.join(", ")) "; changed " (time(s.updated_at)) }
                        None => { "not configured" }
                    }
                }
                form.filters method="post" action={ "/admin/gateways/" (provider.as_str()) "/" (mode.as_str()) } id={ "gateway-" (provider.as_str()) "-" (mode.as_str()) } {
                    (csrf_field(&user))
                    @for name in names {
                        label { (name) @if required.contains(name) { " *" }
                            input type="password" name=(name) autocomplete="off" size="18";
                        }
                    }
                    label { "API base (optional)" input name="api_base" value=(current.and_then(|s| s.api_base.clone()).unwrap_or_default()) size="22"; }
                    label { "Active" input type="checkbox" name="is_active" value="true" checked[current.is_some_and(|s| s.is_active)]; }
                    button type="submit" { "Save" }
                }
            }
        }
    };
    Ok(html_page(page(&user, Section::Gateways, "Gateways", body)))
}

/// Stores a provider's configuration for one mode.
#[post("/gateways/{provider}/{mode}")]
pub async fn save_gateway(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, ConsoleError> {
    let mut fields = form.into_inner();
    user.check_form(&req, &fields.remove("csrf").unwrap_or_default())?;
    user.require_admin()?;
    let (provider, mode) = path.into_inner();
    let provider = providers().find(|p| p.as_str() == provider).ok_or(ConsoleError::Api(ApiError::RouteNotFound))?;
    let mode = GatewayMode::parse(&mode).ok_or(ConsoleError::Api(ApiError::RouteNotFound))?;
    let is_active = fields.remove("is_active").is_some();
    let api_base = fields.remove("api_base").map(|b| b.trim().to_owned()).filter(|b| !b.is_empty());
    // Empty fields are credentials not given.
    let credentials: BTreeMap<String, String> = fields.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect();
    let before = state.gateway_configs.list(user.actor).await.map_err(to_api)?;
    let before = before.iter().find(|s| s.provider == provider && s.mode == mode);
    let input =
        PutGatewayConfig { provider, mode, is_active, credentials: GatewayCredentials::new(credentials), api_base };
    let after = state.gateway_configs.put(user.actor, input).await.map_err(to_api)?;
    let object = format!("gateway:{}:{}", provider.as_str(), mode.as_str());
    record(&state, &user, "gateway.save", object, summary(before), summary(Some(&after))).await?;
    Ok(see_other("/admin/gateways"))
}
