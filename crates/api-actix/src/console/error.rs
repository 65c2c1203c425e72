//! Console failures, rendered as HTML pages (the API's are problem+json).
//! Use-case errors go through the API's mapping to [`ApiError`] first, so a
//! refusal has the same status and code in the console as in the API.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use maud::html;

use super::layout::bare_page;
use crate::error::ApiError;

/// Why a console request failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No session (or an ended or expired one): go and sign in.
    #[error("not signed in")]
    SignedOut,
    /// The role does not allow this page or action.
    #[error("forbidden")]
    Forbidden,
    /// A form without this session's CSRF token, or from another site.
    #[error("forged form")]
    Forgery,
    /// A refusal or failure from a use case, as the API would answer it.
    #[error("{0}")]
    Api(#[from] ApiError),
    /// A bug.
    #[error("internal error")]
    Internal,
}

impl From<domain::ports::StoreError> for ConsoleError {
    fn from(e: domain::ports::StoreError) -> Self {
        ConsoleError::Api(e.into())
    }
}

/// An object that could not be written as JSON for an audit entry; the
/// views are plain data, so this is a bug.
impl From<serde_json::Error> for ConsoleError {
    fn from(e: serde_json::Error) -> Self {
        tracing::error!(error = %e, "an object could not be written as JSON");
        ConsoleError::Internal
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignedOut => StatusCode::SEE_OTHER,
            ConsoleError::Forbidden | ConsoleError::Forgery => StatusCode::FORBIDDEN,
            ConsoleError::Api(e) => e.status(),
            ConsoleError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ConsoleError::SignedOut = self {
            return HttpResponse::SeeOther().insert_header((header::LOCATION, "/admin/sign-in")).finish();
        }
        let (title, detail) = match self {
            ConsoleError::Forbidden => ("Not allowed", "Your role does not allow this page.".to_owned()),
            ConsoleError::Forgery => (
                "Form refused",
                "This form did not come from your console session. Reload the page and try again.".to_owned(),
            ),
            ConsoleError::Api(e) => {
                if e.status().is_server_error() {
                    tracing::warn!(code = e.code(), "console request failed");
                }
                ("Refused", e.problem().detail)
            }
            ConsoleError::SignedOut | ConsoleError::Internal => ("Error", "Something went wrong.".to_owned()),
        };
        let code = match self {
            ConsoleError::Api(e) => e.code(),
            ConsoleError::Forgery => "csrf_failed",
            _ => "",
        };
        HttpResponse::build(self.status_code()).content_type("text/html; charset=utf-8").body(
            bare_page(
                title,
                html! {
                    div.sign-in {
                        h1 { (title) }
                        p.notice.error data-code=(code) { (detail) }
                        p { a href="/admin/" { "Back to the console" } }
                    }
                },
            )
            .into_string(),
        )
    }
}

/// Unknown console page.
pub async fn not_found() -> HttpResponse {
    ConsoleError::Api(ApiError::RouteNotFound).error_response()
}
