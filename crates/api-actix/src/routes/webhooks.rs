//! Incoming gateway webhooks. No bearer token: the gateway's signature over
//! the raw body is the authentication, checked before anything is written.
//!
//! Verifying can cost a call to the gateway (PayPal's), so an address whose
//! deliveries keep failing verification is refused with 429 before its next
//! one is verified. Only failures are counted: a gateway sending many
//! genuine events is never slowed down.

use actix_web::{HttpRequest, HttpResponse, post, web};
use domain::payment::PaymentMethod;
use domain::ports::WebhookRequest;
use domain::usecases::webhooks::{HandleWebhookError, WebhookOutcome};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;
use crate::openapi::problems::WebhookProblems;

/// What the acknowledgement of a webhook means, for the document.
const RECEIVED: &str = "Received (`status`): processed now, seen before, or being processed by another delivery.";

/// The acknowledgement of a webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    /// Always true.
    pub received: bool,
    /// `processed`, `duplicate` (seen before) or `in_progress` (another
    /// delivery of the same event is being processed).
    pub status: String,
}

async fn receive(
    state: &AppState,
    provider: PaymentMethod,
    req: &HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let headers = req
        .headers()
        .iter()
        .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str().to_ascii_lowercase(), v.to_owned())))
        .collect();
    let request = WebhookRequest { headers, body: body.to_vec() };
    let client = state.trusted_proxies.client_ip(req);
    if let Some(ip) = client {
        state.rate_limits.check_webhook_failures(provider.as_str(), ip).await?;
    }
    let handled = state.webhooks.handle(provider, request).await;
    if let (Err(HandleWebhookError::Rejected(_)), Some(ip)) = (&handled, client) {
        // Counted after the answer is known; a lost count only lets one
        // more forged delivery through, so it is logged, not sent back.
        if let Err(cause) = state.rate_limits.count_webhook_failure(provider.as_str(), ip).await {
            tracing::warn!(provider = provider.as_str(), %cause, "counting a failed webhook failed");
        }
    }
    let outcome = handled.map_err(|e| match e {
        HandleWebhookError::NotConfigured => ApiError::WebhookNotConfigured,
        HandleWebhookError::Rejected(reason) => ApiError::WebhookRejected(reason.to_string()),
        HandleWebhookError::VerificationUnavailable => ApiError::GatewayUnavailable,
        HandleWebhookError::ProcessingFailed(cause) => {
            tracing::warn!(provider = provider.as_str(), %cause, "webhook processing failed; the gateway will retry");
            ApiError::WebhookProcessingFailed
        }
        HandleWebhookError::Store(e) => crate::convert::store(e),
    })?;
    let status = match outcome {
        WebhookOutcome::Processed => "processed",
        WebhookOutcome::Duplicate => "duplicate",
        WebhookOutcome::InProgress => "in_progress",
    };
    Ok(HttpResponse::Ok().json(WebhookAck { received: true, status: status.to_owned() }))
}

/// A gateway's events, authenticated the gateway's own way: Stripe signs
/// with `Stripe-Signature`; PayPal's are checked with PayPal's
/// verify-webhook-signature call. A gateway Skillpay does not know is 404;
/// a known one that is not configured answers 503 (fail closed). An address
/// whose deliveries failed verification too often this minute gets 429.
#[utoipa::path(tag = "webhooks",
    params(("gateway" = String, Path, description = "The gateway's name, e.g. `stripe` or `paypal`")),
    request_body(content = String, description = "The gateway's event, exactly as it sent it", content_type = "application/json"),
    responses((status = 200, description = RECEIVED, body = WebhookAck),
        WebhookProblems))]
#[post("/api/payments/webhooks/{gateway}/")]
pub async fn receive_from(
    state: web::Data<AppState>,
    gateway: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let provider: PaymentMethod = crate::routes::path_id(&gateway)?;
    // A gateway's event can be larger than any request of ours (Stripe's
    // exceed 64 KiB with expanded objects): read up to its own limit.
    let body = payload
        .to_bytes_limited(MAX_WEBHOOK_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?
        .map_err(|_| ApiError::MalformedJson("the body could not be read".to_owned()))?;
    receive(&state, provider, &req, body).await
}

/// Largest accepted webhook body, in bytes: 1 MiB.
pub const MAX_WEBHOOK_BODY_BYTES: usize = 1024 * 1024;
