//! `POST /api/payments/admin/console-sessions/revoke/`: ends every console
//! session of a user at once (admin), for a lost laptop, a leaked cookie or
//! a demoted admin whose sessions still carry the old role.

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::Utc;
use domain::ids::UserId;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use web_ports::console::AuditEntry;

use crate::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, FieldError};
use crate::json::parse_body;

/// Whose sessions end.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeSessionsBody {
    /// The platform user id.
    pub user_id: i64,
}

/// What was ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedSessionsView {
    /// The user.
    pub user_id: i64,
    /// Sessions that were open and are now ended.
    pub revoked: u64,
}

/// Ends every open console session of a user (admin); their next console
/// request goes to the sign-in page. Audited as `console_sessions.revoke`.
#[utoipa::path(tag = "admin", request_body = RevokeSessionsBody,
    responses((status = 200, description = "How many sessions were ended.", body = RevokedSessionsView)),
    security(("bearer" = [])))]
#[post("/api/payments/admin/console-sessions/revoke/")]
pub async fn revoke_sessions(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: RevokeSessionsBody = parse_body(&req, &body)?;
    if input.user_id <= 0 {
        return Err(ApiError::Validation(vec![FieldError::new("user_id", "must be a positive user id")]));
    }
    let user = UserId::new(input.user_id);
    let now = Utc::now();
    let revoked = state.console.end_sessions_of(user, now).await.map_err(crate::convert::store)?;
    let entry = AuditEntry {
        actor,
        action: "console_sessions.revoke".to_owned(),
        object_id: format!("user:{user}"),
        before: None,
        after: Some(json!({"revoked": revoked})),
        at: now,
    };
    state.console.record(entry).await.map_err(crate::convert::store)?;
    tracing::info!(user_id = user.get(), revoked, by = actor.user_id.get(), "console sessions revoked");
    Ok(HttpResponse::Ok().json(RevokedSessionsView { user_id: user.get(), revoked }))
}
