//! Admin endpoints for stored gateway configurations. Credentials are
//! write-only: they are sealed at rest and never returned or logged; the
//! answers name which credentials are set.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, get, put, web};
use chrono::{DateTime, Utc};
use domain::gateway_config::{GatewayConfigSummary, GatewayCredentials, GatewayMode};
use domain::payment::PaymentMethod;
use domain::usecases::gateway_configs::{GatewayConfigError, PutGatewayConfig};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, FieldError};
use crate::json::parse_body;
use crate::openapi::problems::GatewayConfigProblems;

/// Body of `PUT /api/payments/admin/gateway-configs/{provider}/{mode}/`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutGatewayConfigBody {
    /// Serve this configuration (deactivates the other mode); `false` stops
    /// serving it (the environment's settings apply again).
    pub is_active: bool,
    /// Stripe: `secret_key` (required), `webhook_secret` (comma-separated
    /// during rotation). PayPal: `client_id`, `client_secret` (required),
    /// `webhook_id`. Write-only.
    pub credentials: BTreeMap<String, String>,
    /// API base URL (a stand-in, or the gateway's default when absent).
    pub api_base: Option<String>,
}

impl std::fmt::Debug for PutGatewayConfigBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PutGatewayConfigBody").field("credentials", &self.credentials.keys()).finish_non_exhaustive()
    }
}

/// A stored configuration, without credential values.
#[derive(Debug, Serialize, ToSchema)]
pub struct GatewayConfigView {
    /// Its id.
    pub id: String,
    /// `stripe` or `paypal`.
    pub provider: String,
    /// `test` or `live`.
    pub mode: String,
    /// Served.
    pub is_active: bool,
    /// Names of the credentials set (never their values).
    pub credential_names: Vec<String>,
    /// API base URL, if set.
    pub api_base: Option<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<&GatewayConfigSummary> for GatewayConfigView {
    fn from(s: &GatewayConfigSummary) -> Self {
        GatewayConfigView {
            id: s.id.to_string(),
            provider: s.provider.as_str().to_owned(),
            mode: s.mode.as_str().to_owned(),
            is_active: s.is_active,
            credential_names: s.credential_names.clone(),
            api_base: s.api_base.clone(),
            updated_at: s.updated_at,
        }
    }
}

pub(crate) fn to_api(error: GatewayConfigError) -> ApiError {
    let field = |name: &str, e: &GatewayConfigError| ApiError::Validation(vec![FieldError::new(name, e.to_string())]);
    match &error {
        GatewayConfigError::Forbidden(_) => ApiError::Forbidden,
        GatewayConfigError::UnsupportedProvider => ApiError::RouteNotFound,
        GatewayConfigError::UnknownCredential(_)
        | GatewayConfigError::MissingCredential(_)
        | GatewayConfigError::ModeMismatch(_) => field("credentials", &error),
        GatewayConfigError::InvalidApiBase | GatewayConfigError::LiveApiBase(_) => field("api_base", &error),
        GatewayConfigError::NoEncryptionKey(_) => ApiError::EncryptionNotConfigured,
        GatewayConfigError::SecondApprovalRequired { .. } => ApiError::SecondApprovalRequired(error.to_string()),
        GatewayConfigError::Store(e) => crate::convert::store(e.clone()),
    }
}

/// Creates or replaces the configuration of a gateway in one mode (admin).
/// Served from the next request on, without a restart (by other instances
/// within `SKILLPAY_GATEWAY_REFRESH_SECS`).
#[utoipa::path(tag = "admin",
    params(("provider" = String, Path, description = "`stripe` or `paypal`"), ("mode" = String, Path, description = "`test` or `live`")),
    request_body = PutGatewayConfigBody,
    responses((status = 200, description = "The stored configuration, without credential values.",
        body = GatewayConfigView), GatewayConfigProblems),
    security(("bearer" = [])))]
#[put("/api/payments/admin/gateway-configs/{provider}/{mode}/")]
pub async fn put_config(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (provider, mode) = path.into_inner();
    let provider = match provider.parse::<PaymentMethod>() {
        Ok(p) if domain::gateway_config::credential_names(p).is_some() => p,
        _ => return Err(ApiError::RouteNotFound),
    };
    let mode = GatewayMode::parse(&mode).ok_or(ApiError::RouteNotFound)?;
    let input: PutGatewayConfigBody = parse_body(&req, &body)?;
    let summary = state
        .gateway_configs
        .put(
            actor,
            PutGatewayConfig {
                provider,
                mode,
                is_active: input.is_active,
                credentials: GatewayCredentials::new(input.credentials),
                api_base: input.api_base,
            },
        )
        .await
        .map_err(to_api)?;
    Ok(HttpResponse::Ok().json(GatewayConfigView::from(&summary)))
}

/// Lists the stored gateway configurations, without credential values (admin).
#[utoipa::path(tag = "admin",
    responses((status = 200, description = "Every stored configuration, without credential values.",
        body = Vec<GatewayConfigView>)),
    security(("bearer" = [])))]
#[get("/api/payments/admin/gateway-configs/")]
pub async fn list_configs(state: web::Data<AppState>, Admin(actor): Admin) -> Result<HttpResponse, ApiError> {
    let list = state.gateway_configs.list(actor).await.map_err(to_api)?;
    Ok(HttpResponse::Ok().json(list.iter().map(GatewayConfigView::from).collect::<Vec<_>>()))
}
