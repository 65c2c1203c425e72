//! The console's stylesheet and script, compiled into the binary.

use actix_web::{HttpResponse, get};

const STYLESHEET: &str = include_str!("assets/console.css");
const SCRIPT: &str = include_str!("assets/console.js");

/// The stylesheet.
#[get("/assets/console.css")]
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok().content_type("text/css; charset=utf-8").body(STYLESHEET)
}

/// The script: asks before a form marked `data-confirm` is sent.
#[get("/assets/console.js")]
pub async fn script() -> HttpResponse {
    HttpResponse::Ok().content_type("text/javascript; charset=utf-8").body(SCRIPT)
}
