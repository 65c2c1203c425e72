//! Bearer-token authentication: HS256 JWTs with `sub`, `role`, `exp`, and
//! the optional `test_mode` (`true` lets a caller pay with test-mode
//! gateways while live ones are served; absent means `false`).
//!
//! Only the configured algorithm is accepted (so `alg: none` and algorithm
//! confusion fail), `exp` is required and checked, `nbf` when present, `aud`
//! (a string or an array) when an audience is configured and `iss` when an
//! issuer is.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use domain::ids::UserId;
use domain::usecases::{Actor, Role, TestMode};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;

/// Allowed clock skew when checking `exp`, in seconds.
pub const CLOCK_SKEW_LEEWAY_SECS: u64 = 30;

/// The claims Skillpay reads from a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The platform user id as a decimal string.
    pub sub: String,
    /// The user's role.
    pub role: Role,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// Audience, when the deployment uses one: one, or several (checked
    /// by the validation, which accepts either form).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub aud: Option<Audience>,
    /// Issuer, when the deployment names one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub iss: Option<String>,
    /// May pay with test-mode gateways while live ones are served (testers,
    /// the platform's own checks); admins may without it.
    #[serde(skip_serializing_if = "is_false", default)]
    pub test_mode: bool,
    /// The holder's e-mail address, where their messages go unless the
    /// platform set a contact record for them (docs/notifications.md).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub email: Option<String>,
    /// The holder's name, with `email`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    /// The holder's language (`de`, `fr-CA`), with `email`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub locale: Option<String>,
}

/// A token's `aud`: RFC 7519 allows a string or an array of strings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    /// One audience.
    One(String),
    /// Several.
    Many(Vec<String>),
}

fn is_false(value: &bool) -> bool {
    !value
}

/// How tokens are checked (and, for development tools, minted).
#[derive(Clone)]
pub struct AuthConfig {
    decoding: DecodingKey,
    encoding: EncodingKey,
    validation: Validation,
    audience: Option<String>,
    issuer: Option<String>,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig").field("audience", &self.audience).finish_non_exhaustive()
    }
}

impl AuthConfig {
    /// HS256 with a shared secret; `audience` is enforced when given.
    pub fn hs256(secret: &[u8], audience: Option<String>) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = CLOCK_SKEW_LEEWAY_SECS;
        // A token not valid yet is refused (the claim is optional).
        validation.validate_nbf = true;
        match &audience {
            Some(aud) => {
                validation.set_required_spec_claims(&["exp", "sub", "aud"]);
                validation.set_audience(&[aud]);
            }
            None => {
                validation.set_required_spec_claims(&["exp", "sub"]);
                validation.validate_aud = false;
            }
        }
        Self {
            decoding: DecodingKey::from_secret(secret),
            encoding: EncodingKey::from_secret(secret),
            validation,
            audience,
            issuer: None,
        }
    }

    /// Requires `iss` to be `issuer` too (nothing changes for `None`).
    pub fn with_issuer(mut self, issuer: Option<String>) -> Self {
        if let Some(issuer) = &issuer {
            let mut required: Vec<&str> = vec!["exp", "sub", "iss"];
            if self.audience.is_some() {
                required.push("aud");
            }
            self.validation.set_required_spec_claims(&required);
            self.validation.set_issuer(&[issuer]);
        }
        self.issuer = issuer;
        self
    }

    /// The actor a token speaks for.
    pub fn verify(&self, token: &str) -> Result<Actor, ApiError> {
        self.verify_with_expiry(token).map(|(actor, _)| actor)
    }

    /// The actor a token speaks for, and when the token expires (what a
    /// console session opened with it may last).
    pub fn verify_with_expiry(&self, token: &str) -> Result<(Actor, chrono::DateTime<chrono::Utc>), ApiError> {
        self.verify_claims(token).map(|(actor, expires_at, _)| (actor, expires_at))
    }

    /// The actor a token speaks for, when the token expires, and its
    /// claims.
    pub fn verify_claims(&self, token: &str) -> Result<(Actor, chrono::DateTime<chrono::Utc>, Claims), ApiError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(|_| ApiError::InvalidToken)?;
        let user_id: UserId = data.claims.sub.parse().map_err(|_| ApiError::InvalidToken)?;
        let test_mode = if data.claims.test_mode { TestMode::Allowed } else { TestMode::NotAllowed };
        let expires_at = i64::try_from(data.claims.exp)
            .ok()
            .and_then(|exp| chrono::DateTime::from_timestamp(exp, 0))
            .ok_or(ApiError::InvalidToken)?;
        Ok((Actor::new(user_id, data.claims.role).with_test_mode(test_mode), expires_at, data.claims))
    }

    /// A signed token for `actor` valid for `ttl_secs` (development tools
    /// and tests; production tokens come from the platform).
    pub fn mint(&self, actor: Actor, ttl_secs: u64) -> Result<String, ApiError> {
        let now = u64::try_from(chrono::Utc::now().timestamp()).map_err(|_| ApiError::Internal)?;
        let claims = Claims {
            sub: actor.user_id.to_string(),
            role: actor.role,
            exp: now.saturating_add(ttl_secs),
            aud: self.audience.clone().map(Audience::One),
            iss: self.issuer.clone(),
            test_mode: actor.test_mode == TestMode::Allowed,
            email: None,
            name: None,
            locale: None,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|_| ApiError::Internal)
    }
}

/// The authenticated caller; extracting it rejects the request with 401
/// when the token is missing or invalid.
#[derive(Debug, Clone, Copy)]
pub struct Authenticated(pub Actor);

fn authenticate(req: &HttpRequest) -> Result<Actor, ApiError> {
    let state = req.app_data::<web::Data<AppState>>().ok_or(ApiError::Internal)?;
    let header = req.headers().get(actix_web::http::header::AUTHORIZATION).ok_or(ApiError::AuthenticationRequired)?;
    let value = header.to_str().map_err(|_| ApiError::InvalidToken)?;
    let token =
        value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).ok_or(ApiError::InvalidToken)?;
    let (actor, _, claims) = state.auth.verify_claims(token.trim())?;
    state.token_contacts.learn(&state.mail, actor.user_id, &claims);
    Ok(actor)
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(Authenticated))
    }
}

/// An authenticated admin; 403 for other roles.
#[derive(Debug, Clone, Copy)]
pub struct Admin(pub Actor);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(
            authenticate(req)
                .and_then(|actor| if actor.is_admin() { Ok(Admin(actor)) } else { Err(ApiError::Forbidden) }),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

    #[test]
    fn the_test_mode_claim_is_optional_and_carried_into_the_actor() {
        let auth = AuthConfig::hs256(SECRET, None);
        let student = Actor::new(UserId::new(7), Role::Student);
        let plain = auth.mint(student, 60).unwrap();
        let tester = auth.mint(student.with_test_mode(TestMode::Allowed), 60).unwrap();

        assert_eq!(auth.verify(&plain).unwrap().test_mode, TestMode::NotAllowed);
        assert_eq!(auth.verify(&tester).unwrap().test_mode, TestMode::Allowed);
        // Tokens minted before the claim existed carry no such field.
        let payload = plain.split('.').nth(1).unwrap();
        let tester_payload = tester.split('.').nth(1).unwrap();
        assert!(payload.len() < tester_payload.len(), "the claim is written only when true");
    }

    fn token(claims: serde_json::Value) -> String {
        encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET)).unwrap()
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn a_token_not_valid_yet_is_refused() {
        let auth = AuthConfig::hs256(SECRET, None);
        let later = token(serde_json::json!({"sub": "7", "role": "student", "exp": now() + 600, "nbf": now() + 300}));
        assert!(matches!(auth.verify(&later), Err(ApiError::InvalidToken)));
        let valid = token(serde_json::json!({"sub": "7", "role": "student", "exp": now() + 600, "nbf": now() - 5}));
        assert!(auth.verify(&valid).is_ok());
    }

    #[test]
    fn the_audience_may_be_a_string_or_an_array_naming_ours() {
        let auth = AuthConfig::hs256(SECRET, Some("skillpay".into()));
        let claims =
            |aud: serde_json::Value| serde_json::json!({"sub": "7", "role": "admin", "exp": now() + 600, "aud": aud});
        assert!(auth.verify(&token(claims(serde_json::json!("skillpay")))).is_ok());
        assert!(auth.verify(&token(claims(serde_json::json!(["platform", "skillpay"])))).is_ok());
        assert!(auth.verify(&token(claims(serde_json::json!(["platform"])))).is_err());
        assert!(auth.verify(&token(claims(serde_json::json!("platform")))).is_err());
    }

    #[test]
    fn a_configured_issuer_is_required_and_must_match() {
        let auth = AuthConfig::hs256(SECRET, None).with_issuer(Some("https://platform.example".into()));
        let claims = |iss: Option<&str>| {
            let mut claims = serde_json::json!({"sub": "7", "role": "admin", "exp": now() + 600});
            if let Some(iss) = iss {
                claims["iss"] = serde_json::json!(iss);
            }
            claims
        };
        assert!(auth.verify(&token(claims(Some("https://platform.example")))).is_ok());
        assert!(auth.verify(&token(claims(Some("https://elsewhere.example")))).is_err());
        assert!(auth.verify(&token(claims(None))).is_err(), "required");
        let minted = auth.mint(Actor::new(UserId::new(7), Role::Admin), 60).unwrap();
        assert!(auth.verify(&minted).is_ok(), "development tokens carry it");
    }
}
