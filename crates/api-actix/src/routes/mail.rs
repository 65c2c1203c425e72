//! E-mail (see docs/notifications.md): the contact records the platform
//! keeps current, and the admins' view of messages with a resend.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use domain::ids::{MailId, UserId};
use domain::mail::{Contact, MailMessage, MailStatus};
use domain::ports::MailQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{Admin, Authenticated};
use crate::dto::PageView;
use crate::error::ApiError;
use crate::json::{parse_body, parse_query};
use crate::routes::{page_request, path_id};

/// Body of `PUT /api/payments/contacts/{user_id}/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// Where to write: one address, without spaces or line breaks.
    pub email: String,
    /// How to greet them, at most 200 characters.
    pub name: Option<String>,
    /// `en` (default), `de`, `fr` or `ja`: amounts and dates in e-mail.
    pub locale: Option<String>,
}

/// A contact record.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactView {
    /// Whose.
    pub user_id: i64,
    /// Where e-mail goes.
    pub email: String,
    /// Their name.
    pub name: Option<String>,
    /// `en`, `de`, `fr` or `ja`.
    pub locale: String,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<&Contact> for ContactView {
    fn from(c: &Contact) -> Self {
        ContactView {
            user_id: c.user_id.get(),
            email: c.email.clone(),
            name: c.name.clone(),
            locale: c.locale.clone(),
            updated_at: c.updated_at,
        }
    }
}

fn user_of(path: &str) -> Result<UserId, ApiError> {
    path.parse::<i64>().ok().filter(|id| *id > 0).map(UserId::new).ok_or(ApiError::NotFound)
}

/// Creates or replaces a user's contact record (an admin, or the user for
/// themselves): the address e-mail to them goes to.
#[utoipa::path(tag = "mail", params(("user_id" = i64, Path)), request_body = ContactBody,
    responses((status = 200, description = "The contact record as stored.", body = ContactView)),
    security(("bearer" = [])))]
#[put("/api/payments/contacts/{user_id}/")]
pub async fn put_contact(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let user = user_of(&path)?;
    let input: ContactBody = parse_body(&req, &body)?;
    let contact = state.mail.put_contact(actor, user, input.email, input.name, input.locale).await?;
    Ok(HttpResponse::Ok().json(ContactView::from(&contact)))
}

/// A user's contact record (an admin, or the user's own).
#[utoipa::path(tag = "mail", params(("user_id" = i64, Path)),
    responses((status = 200, description = "The contact record.", body = ContactView)),
    security(("bearer" = [])))]
#[get("/api/payments/contacts/{user_id}/")]
pub async fn get_contact(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let contact = state.mail.contact(actor, user_of(&path)?).await?;
    Ok(HttpResponse::Ok().json(ContactView::from(&contact)))
}

/// An e-mail message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailView {
    /// Id (`mail_…`).
    pub id: String,
    /// The event it tells of (`evt_…`).
    pub event_id: String,
    /// Its templates' name (`receipt`, `refund_processed`, ...).
    pub template: String,
    /// `buyer`, `instructor` or `admins`.
    pub audience: String,
    /// `pending`, `sent`, `failed` (cannot be rendered: see
    /// `last_error`), `suppressed` (test money to an address not allowed)
    /// or `dead` (the server kept refusing it for a day).
    pub status: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Who it went (or would have gone) to.
    pub recipients: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When the server accepted it.
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<&MailMessage> for MailView {
    fn from(m: &MailMessage) -> Self {
        MailView {
            id: m.id.to_string(),
            event_id: m.event_id.to_string(),
            template: m.template.clone(),
            audience: m.audience.as_str().to_owned(),
            status: m.status.as_str().to_owned(),
            attempts: m.attempts,
            last_error: m.last_error.clone(),
            recipients: m.recipients.clone(),
            created_at: m.created_at,
            sent_at: m.sent_at,
        }
    }
}

/// Filters of `GET /api/payments/admin/mail/`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MailListParams {
    /// `pending`, `sent`, `failed`, `suppressed` or `dead`.
    pub status: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// E-mail messages, newest first (admin).
#[utoipa::path(tag = "admin", params(MailListParams),
    responses((status = 200, description = "A page of messages, newest first.", body = PageView<MailView>)),
    security(("bearer" = [])))]
#[get("/api/payments/admin/mail/")]
pub async fn list_mail(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params: MailListParams = parse_query(&req)?;
    let status = params
        .status
        .as_deref()
        .map(|s| s.parse::<MailStatus>().map_err(|_| ApiError::InvalidQuery("unknown status".to_owned())))
        .transpose()?;
    let query = MailQuery { status, page: page_request(params.cursor.as_deref(), params.limit)? };
    let page = state.mail.messages(actor, query).await?;
    Ok(HttpResponse::Ok().json(PageView::of(&page, |m| MailView::from(m))))
}

/// Sends a message again now, whatever became of it (admin): after a
/// contact was fixed, or a dead one once the server is back.
#[utoipa::path(tag = "admin", params(("id" = String, Path)),
    responses((status = 200, description = "The message, pending again.", body = MailView)),
    security(("bearer" = [])))]
#[post("/api/payments/admin/mail/{id}/resend/")]
pub async fn resend_mail(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let message = state.mail.resend(actor, path_id::<MailId>(&path)?).await?;
    Ok(HttpResponse::Ok().json(MailView::from(&message)))
}
