//! Reading request bodies and query strings with clear errors.
//!
//! Bodies are read as bytes (the idempotency fingerprint needs them) and
//! parsed here: syntax errors are 400 `malformed_json`, wrong shapes
//! (unknown or missing fields, wrong types) 422 `validation_failed`.

use actix_web::HttpRequest;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// Parses a JSON body, requiring `Content-Type: application/json`.
pub fn parse_body<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, ApiError> {
    let content_type =
        req.headers().get(actix_web::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::UnsupportedMediaType);
    }
    // PostgreSQL text cannot hold NUL, and no field of ours needs it.
    if body.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "body",
            "text must not contain NUL (\\u0000) characters",
        )]));
    }
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ApiError::Validation(vec![FieldError::new("body", strip_position(&e.to_string()))])
        }
        serde_json::error::Category::Io | serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            ApiError::MalformedJson(strip_position(&e.to_string()))
        }
    })
}

/// Parses the query string.
pub fn parse_query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    serde_urlencoded::from_str(req.query_string()).map_err(|e| ApiError::InvalidQuery(e.to_string()))
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}
