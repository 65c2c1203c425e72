//! Incoming gateway webhooks. No bearer token: the gateway's signature over
//! the raw body is the authentication, checked before anything is written.

use actix_web::{HttpRequest, HttpResponse, post, web};
use domain::payment::PaymentMethod;
use domain::ports::WebhookRequest;
use domain::usecases::webhooks::{HandleWebhookError, WebhookOutcome};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;
use crate::openapi::problems::{RemotelyVerifiedWebhookProblems, WebhookProblems};

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
    let outcome = state.webhooks.handle(provider, request).await.map_err(|e| match e {
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

/// Stripe events, signed with `Stripe-Signature`.
#[utoipa::path(tag = "webhooks",
    request_body(content = String, description = "A Stripe event, exactly as Stripe sent it", content_type = "application/json"),
    responses((status = 200, description = RECEIVED, body = WebhookAck), WebhookProblems))]
#[post("/api/payments/webhooks/stripe/")]
pub async fn stripe(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    receive(&state, PaymentMethod::Stripe, &req, body).await
}

/// PayPal events, verified with PayPal's verify-webhook-signature call.
#[utoipa::path(tag = "webhooks",
    request_body(content = String, description = "A PayPal event, exactly as PayPal sent it", content_type = "application/json"),
    responses((status = 200, description = RECEIVED, body = WebhookAck), RemotelyVerifiedWebhookProblems))]
#[post("/api/payments/webhooks/paypal/")]
pub async fn paypal(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    receive(&state, PaymentMethod::Paypal, &req, body).await
}
