//! Signing in and out, the session extractor and CSRF checks.
//!
//! A session is a random 32-byte secret in an HttpOnly, Secure,
//! SameSite=Strict cookie scoped to `/admin`; the database keeps only its
//! SHA-256 and the session's CSRF token, which every form sends back.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, get, post, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use domain::gateway_config::GatewayMode;
use domain::usecases::{Actor, Role};
use maud::html;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use web_ports::console::ConsoleSession;

use super::error::ConsoleError;
use super::layout::bare_page;
use crate::AppState;

/// The session cookie's name.
const COOKIE: &str = "skillpay_console";
/// The longest a session lasts (one opened with a token ends sooner when
/// the token does).
const SESSION_HOURS: i64 = 12;
/// Minutes a session opened by a one-time link lasts without a request.
pub const LINK_IDLE_MINUTES: i64 = 30;
/// How long a printed sign-in link stays usable.
pub const LINK_TTL_MINUTES: i64 = 15;

/// A new random secret (32 bytes, base64url).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a secret.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Compares two strings in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The signed-in user of a console request.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    /// Who, with their role.
    pub actor: Actor,
    /// The token forms must carry.
    pub csrf: String,
    /// Which money the console shows ([`super::mode`]).
    pub mode: GatewayMode,
    /// This request's console page (path and query), where the mode
    /// switch comes back to.
    pub page: String,
    token_hash: Vec<u8>,
}

impl ConsoleUser {
    /// Refuses anyone but an admin.
    pub fn require_admin(&self) -> Result<(), ConsoleError> {
        if self.actor.is_admin() { Ok(()) } else { Err(ConsoleError::Forbidden) }
    }

    /// Refuses a form whose CSRF token is not this session's, or that comes
    /// from another site (`Origin` naming another host).
    pub fn check_form(&self, req: &HttpRequest, sent: &str) -> Result<(), ConsoleError> {
        if !same_origin(req) || !same_secret(sent, &self.csrf) {
            return Err(ConsoleError::Forgery);
        }
        Ok(())
    }
}

/// An `Origin` header, when sent, must name this host.
fn same_origin(req: &HttpRequest) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = req.connection_info().host().to_owned();
    origin.split_once("://").is_some_and(|(_, rest)| rest == host)
}

impl FromRequest for ConsoleUser {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let secret = req.cookie(COOKIE).map(|c| c.value().to_owned());
        let mode = state.as_ref().map(|state| super::mode::shown(req, state));
        let page = req.uri().path_and_query().map_or_else(|| "/admin/".to_owned(), |p| p.as_str().to_owned());
        Box::pin(async move {
            let state = state.ok_or(ConsoleError::Internal)?;
            let mode = mode.ok_or(ConsoleError::Internal)?;
            let secret = secret.ok_or(ConsoleError::SignedOut)?;
            let token_hash = secret_hash(&secret);
            let session = state.console.find_session(token_hash.clone(), Utc::now()).await?;
            let session = session.ok_or(ConsoleError::SignedOut)?;
            Ok(ConsoleUser { actor: session.actor, csrf: session.csrf_token, mode, page, token_hash })
        })
    }
}

fn session_cookie(value: String, max_age: actix_web::cookie::time::Duration) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path("/admin")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .max_age(max_age)
        .finish()
}

/// How a session was opened, which bounds how long it lasts.
enum Opened {
    /// With a platform token: never past the token's own expiry, so the
    /// role copied from it is not kept longer than the token vouches for it.
    Token { expires_at: chrono::DateTime<Utc> },
    /// With a one-time link: ends after [`LINK_IDLE_MINUTES`] unused.
    Link,
}

/// Starts a session for `actor` and sends them to the dashboard.
async fn start_session(state: &AppState, actor: Actor, opened: Opened) -> Result<HttpResponse, ConsoleError> {
    if actor.role == Role::Student {
        return Err(ConsoleError::Forbidden);
    }
    let secret = new_secret();
    let now = Utc::now();
    let longest = now + Duration::hours(SESSION_HOURS);
    let (expires_at, idle_timeout) = match opened {
        Opened::Token { expires_at } => (expires_at.min(longest), None),
        Opened::Link => (longest, Some(Duration::minutes(LINK_IDLE_MINUTES))),
    };
    let session = ConsoleSession { actor, csrf_token: new_secret(), expires_at, idle_timeout };
    state.console.create_session(secret_hash(&secret), session, now).await?;
    tracing::info!(user_id = actor.user_id.get(), role = actor.role.as_str(), "console sign-in");
    let max_age = actix_web::cookie::time::Duration::seconds((expires_at - now).num_seconds().max(0));
    Ok(HttpResponse::SeeOther()
        .cookie(session_cookie(secret, max_age))
        .insert_header((header::LOCATION, "/admin/"))
        .finish())
}

/// The sign-in page: paste a token from the platform.
#[get("/sign-in")]
pub async fn sign_in_page() -> maud::Markup {
    sign_in_form(None)
}

fn sign_in_form(problem: Option<&str>) -> maud::Markup {
    bare_page(
        "Sign in",
        html! {
            div.sign-in {
                h1 { "Skillpay console" }
                @if let Some(problem) = problem { p.notice.error { (problem) } }
                form method="post" action="/admin/sign-in" {
                    label for="token" { "Access token from the platform (admin or instructor)" }
                    textarea #token name="token" required autocomplete="off" spellcheck="false" {}
                    p { button type="submit" { "Sign in" } }
                }
                p.muted { "Or open a one-time link printed by " code { "skillpay admin-link" } "." }
            }
        },
    )
}

/// The sign-in form's body.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    token: String,
}

/// Signs in with a platform token (checked exactly as the API checks it).
#[post("/sign-in")]
pub async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, ConsoleError> {
    if !same_origin(&req) {
        return Err(ConsoleError::Forgery);
    }
    let Ok((actor, expires_at)) = state.auth.verify_with_expiry(form.token.trim()) else {
        return Ok(HttpResponse::Unauthorized().content_type("text/html; charset=utf-8").body(
            sign_in_form(Some("That token is not valid (expired, malformed or wrongly signed).")).into_string(),
        ));
    };
    start_session(&state, actor, Opened::Token { expires_at }).await
}

/// A one-time link's page: one button, so that link previews and
/// prefetching (which only GET) cannot use the link up.
#[get("/link/{secret}")]
pub async fn link_page(path: web::Path<String>) -> maud::Markup {
    bare_page(
        "Sign in",
        html! {
            div.sign-in {
                h1 { "Skillpay console" }
                form method="post" action={ "/admin/link/" (path.as_str()) } {
                    button type="submit" { "Continue to the console" }
                }
            }
        },
    )
}

/// Uses a one-time link: it signs in once, within its lifetime.
#[post("/link/{secret}")]
pub async fn use_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    if !same_origin(&req) {
        return Err(ConsoleError::Forgery);
    }
    match state.console.use_link(secret_hash(&path), Utc::now()).await? {
        Some(actor) => start_session(&state, actor, Opened::Link).await,
        None => Ok(HttpResponse::Gone()
            .content_type("text/html; charset=utf-8")
            .body(sign_in_form(Some("That link was already used or has expired.")).into_string())),
    }
}

/// The form body of every console action: its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// The session's CSRF token.
    pub csrf: String,
}

/// Ends the session.
#[post("/sign-out")]
pub async fn sign_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    state.console.end_session(user.token_hash.clone(), Utc::now()).await?;
    Ok(HttpResponse::SeeOther()
        .cookie(session_cookie(String::new(), actix_web::cookie::time::Duration::ZERO))
        .insert_header((header::LOCATION, "/admin/sign-in"))
        .finish())
}
