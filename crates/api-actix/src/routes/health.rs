//! Liveness and readiness.

use actix_web::{HttpResponse, get, web};

use crate::AppState;
use crate::dto::HealthView;
use crate::error::ApiError;
use crate::openapi::problems::ReadinessProblems;

/// The process is up.
#[utoipa::path(tag = "health",
    responses((status = 200, description = "The process is up.", body = HealthView)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthView { status: "ok".to_owned() })
}

/// The service can serve: the database answers and it is not shutting down.
#[utoipa::path(tag = "health",
    responses((status = 200, description = "The service can serve.", body = HealthView), ReadinessProblems))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.lifecycle.is_draining() {
        return Err(ApiError::ShuttingDown);
    }
    state.health.ping().await.map_err(crate::convert::store)?;
    Ok(HttpResponse::Ok().json(HealthView { status: "ok".to_owned() }))
}
