//! `Idempotency-Key` handling for POSTs that create or move money.
//!
//! The key is claimed atomically per user before the work runs. The same
//! key with the same request (method, path, body) replays the first
//! response byte for byte; with a different request it is 422; while the
//! first is still running, 409. Client errors (4xx) are kept and replayed
//! like successes, since repeating the request would give the same answer;
//! server errors release the key so a retry can run the work again.
//!
//! While the work runs, its claim is renewed every third of the lease, so
//! a request that outlasts the lease (a gateway call with its timeouts and
//! retries, a slow database) is still "in progress" to a retry and never
//! runs twice. Only a claim whose request died stops being renewed, and a
//! retry takes it over once its lease has run out.

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use domain::ids::UserId;
use domain::usecases::Actor;
use futures::future::{Either, select};
use sha2::{Digest, Sha256};
use web_ports::idempotency::{ClaimLease, IdempotencyBegin, IdempotencyKey, IdempotencyStore, StoredResponse};

use crate::AppState;
use crate::error::{ApiError, PROBLEM_JSON};

/// Header naming the key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// Header set on a replayed response.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";

/// A response body ready to send or keep.
pub struct JsonReply {
    /// Status.
    pub status: StatusCode,
    /// Serialized JSON.
    pub body: Vec<u8>,
}

impl JsonReply {
    /// Serializes `value` with `status`.
    pub fn new<T: serde::Serialize>(status: StatusCode, value: &T) -> Result<Self, ApiError> {
        let body = serde_json::to_vec(value).map_err(|_| ApiError::Internal)?;
        Ok(Self { status, body })
    }

    fn into_response(self, content_type: &str, replayed: bool) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        builder.content_type(content_type.to_owned());
        if replayed {
            builder.insert_header((REPLAYED_HEADER, "true"));
        }
        builder.body(self.body)
    }
}

fn fingerprint(req: &HttpRequest, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(req.path().as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// Runs `work` at most once per (user, key); see the module docs.
pub async fn idempotent<F, Fut>(
    state: &AppState,
    req: &HttpRequest,
    actor: Actor,
    body: &[u8],
    work: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<JsonReply, ApiError>>,
{
    let Some(raw) = req.headers().get(IDEMPOTENCY_KEY_HEADER) else {
        return Ok(work().await?.into_response("application/json", false));
    };
    let key =
        raw.to_str().ok().and_then(|text| IdempotencyKey::parse(text).ok()).ok_or(ApiError::IdempotencyKeyInvalid)?;
    let store = &state.idempotency;
    let lease = state.idempotency_lease;
    match store.begin(actor.user_id, key.clone(), fingerprint(req, body), lease).await.map_err(crate::convert::store)? {
        IdempotencyBegin::Replay(stored) => {
            let status = StatusCode::from_u16(stored.status).map_err(|_| ApiError::Internal)?;
            let content_type = if status.is_success() { "application/json" } else { PROBLEM_JSON };
            return Ok(JsonReply { status, body: stored.body }.into_response(content_type, true));
        }
        IdempotencyBegin::InProgress => return Err(ApiError::IdempotencyInProgress),
        IdempotencyBegin::Mismatch => return Err(ApiError::IdempotencyKeyReused),
        IdempotencyBegin::Started => {}
    }
    match renewing(store.as_ref(), actor.user_id, &key, lease, work()).await {
        Ok(reply) => {
            let stored = StoredResponse { status: reply.status.as_u16(), body: reply.body.clone() };
            store.complete(actor.user_id, key, stored).await.map_err(crate::convert::store)?;
            Ok(reply.into_response("application/json", false))
        }
        // A client error is the request's answer and is replayed; a rate
        // limit is about the moment, so the key is released for a retry.
        Err(error) if error.status().is_client_error() && !matches!(error, ApiError::RateLimited(_)) => {
            let body = serde_json::to_vec(&error.problem()).map_err(|_| ApiError::Internal)?;
            let stored = StoredResponse { status: error.status().as_u16(), body };
            store.complete(actor.user_id, key, stored).await.map_err(crate::convert::store)?;
            Err(error)
        }
        Err(error) => {
            if let Err(release) = store.abandon(actor.user_id, key).await {
                tracing::warn!(error = %release, "could not release an idempotency key");
            }
            Err(error)
        }
    }
}

/// Runs `work` while renewing the claim on `key` every
/// [`ClaimLease::renew_every`]. Both are polled by this one task: the
/// renewals end when the work does, or when the request is dropped with
/// it. A failed renewal is only logged (the next one may succeed; the work
/// itself is never interrupted).
async fn renewing<T>(
    store: &dyn IdempotencyStore,
    owner: UserId,
    key: &IdempotencyKey,
    lease: ClaimLease,
    work: impl Future<Output = T>,
) -> T {
    let renewals = async {
        loop {
            actix_web::rt::time::sleep(lease.renew_every()).await;
            if let Err(error) = store.renew(owner, key.clone(), lease).await {
                tracing::warn!(error = %error, "could not renew an idempotency claim");
            }
        }
    };
    match select(std::pin::pin!(work), std::pin::pin!(renewals)).await {
        Either::Left((output, _)) => output,
        Either::Right((_, work)) => work.await,
    }
}
