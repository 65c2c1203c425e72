//! The API's one closed error type, rendered as RFC 9457 problem+json.
//!
//! Each variant has an HTTP status and a unique, stable snake_case `code`
//! that clients may match on. 5xx bodies are generic; their cause goes to
//! the log only.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field (JSON name), or `body` for the body as a whole.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_owned(), message: message.into() }
    }
}

/// Every error the API answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No bearer token.
    #[error("authentication required: send Authorization: Bearer <token>")]
    AuthenticationRequired,
    /// The token is malformed, wrongly signed, expired or for someone else.
    #[error("the bearer token is invalid or expired")]
    InvalidToken,
    /// The role does not allow the action.
    #[error("your role does not allow this")]
    Forbidden,
    /// The fraud controls refused a payment attempt; why is the admins'
    /// to know, not the payer's.
    #[error("this payment cannot be accepted; contact support if you think this is a mistake")]
    PaymentRefusedByRules,
    /// No such resource (or not yours).
    #[error("not found")]
    NotFound,
    /// No such route.
    #[error("no such route")]
    RouteNotFound,
    /// The route exists but not with this method.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The body is not JSON.
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    /// The body is not `application/json`.
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    /// The body is too large.
    #[error("the body is too large")]
    PayloadTooLarge,
    /// Fields are invalid.
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    /// Query parameters are invalid.
    #[error("invalid query parameters: {0}")]
    InvalidQuery(String),
    /// The `Idempotency-Key` header is malformed.
    #[error("Idempotency-Key must be 1 to 255 visible ASCII characters")]
    IdempotencyKeyInvalid,
    /// The key was used with a different request.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    /// The key's first request is still running.
    #[error("a request with this Idempotency-Key is in progress; retry later")]
    IdempotencyInProgress,
    /// The course or event does not exist.
    #[error("no such course or event")]
    ItemNotFound,
    /// The course or event is not on sale.
    #[error("this course or event is not on sale")]
    ItemInactive,
    /// The price is above the accepted maximum.
    #[error("the price is above the accepted maximum")]
    AmountTooLarge,
    /// A coupon does not apply (reason is one of the nine stable codes).
    #[error("coupon not applicable: {detail}")]
    CouponRejected {
        /// Stable reason code (`exhausted`, `expired`, ...).
        reason: &'static str,
        /// Human explanation.
        detail: String,
    },
    /// A coupon with the code exists.
    #[error("a coupon with this code exists")]
    DuplicateCouponCode,
    /// The method has no configured gateway.
    #[error("this payment method is not available")]
    PaymentMethodUnavailable,
    /// Test money asked for (a test-mode payment method, a payout of test
    /// money) while live gateways are served, by a token that does not
    /// allow test mode.
    #[error("{0}")]
    TestModeNotAllowed(String),
    /// The payment's status does not allow the action.
    #[error("{0}")]
    InvalidTransition(String),
    /// The payment is being changed concurrently.
    #[error("the resource is being changed concurrently; retry")]
    Conflict,
    /// The gateway refused the request.
    #[error("the payment gateway refused the request: {0}")]
    GatewayRejected(String),
    /// The gateway is down.
    #[error("the payment gateway is unavailable; retry later")]
    GatewayUnavailable,
    /// The database is down.
    #[error("the service is temporarily unavailable; retry later")]
    ServiceUnavailable,
    /// Too many requests; retry after this many seconds.
    #[error("too many requests; retry in {0} s")]
    RateLimited(i64),
    /// This instance is shutting down (readiness only).
    #[error("this instance is shutting down")]
    ShuttingDown,
    /// A webhook's signature or body was refused; nothing was written.
    #[error("webhook rejected: {0}")]
    WebhookRejected(String),
    /// Webhooks from this gateway are not configured (fail closed).
    #[error("webhooks from this gateway are not configured")]
    WebhookNotConfigured,
    /// The payer's refund window has closed.
    #[error("{0}")]
    RefundWindowClosed(String),
    /// The refund would exceed what is left to refund.
    #[error("{0}")]
    RefundExceedsRefundable(String),
    /// The payout is below the configured minimum.
    #[error("{0}")]
    PayoutBelowMinimum(String),
    /// The payout is more than the available balance.
    #[error("{0}")]
    InsufficientBalance(String),
    /// No gateway is configured for the payout method.
    #[error("{0}")]
    PayoutMethodUnavailable(String),
    /// Above the two-admin threshold: recorded; another admin must approve.
    #[error("{0}")]
    SecondApprovalRequired(String),
    /// A coupon's total limit cannot go below the uses it holds.
    #[error("{0}")]
    CouponLimitBelowUses(String),
    /// The buyer holds the item already: the id of their paid payment.
    #[error("you have bought this already: payment {0}")]
    AlreadyPurchased(String),
    /// Fewer seats are left than asked for.
    #[error("sold out: fewer seats are left than asked for")]
    SoldOut,
    /// The buyer's tickets would exceed the event's limit per buyer.
    #[error("{0}")]
    TicketLimitReached(String),
    /// A capacity below the seats open and paid payments hold.
    #[error("{0}")]
    CapacityBelowTaken(String),
    /// An event delivery of the other mode than its endpoint is not sent
    /// again.
    #[error("{0}")]
    DeliveryModeMismatch(String),
    /// An event endpoint URL whose host is, or resolves to, an address
    /// deliveries may not reach (or does not resolve).
    #[error("{0}")]
    EndpointUrlForbidden(String),
    /// Secrets cannot be stored: no encryption key is configured.
    #[error("SKILLPAY_ENCRYPTION_KEY is not set; secrets (gateway credentials, payout destinations) cannot be stored")]
    EncryptionNotConfigured,
    /// A verified webhook could not be processed; it was logged with the
    /// error and the gateway should deliver it again.
    #[error("the webhook could not be processed; it will be retried")]
    WebhookProcessingFailed,
    /// A bug; details are in the log.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    /// Every variant's code, for the uniqueness test.
    pub const ALL_CODES: [&'static str; 47] = [
        "authentication_required",
        "invalid_token",
        "forbidden",
        "not_found",
        "route_not_found",
        "method_not_allowed",
        "malformed_json",
        "unsupported_media_type",
        "payload_too_large",
        "validation_failed",
        "invalid_query",
        "idempotency_key_invalid",
        "idempotency_key_reused",
        "idempotency_request_in_progress",
        "item_not_found",
        "item_inactive",
        "amount_too_large",
        "coupon_not_applicable",
        "duplicate_coupon_code",
        "payment_method_unavailable",
        "test_mode_not_allowed",
        "invalid_transition",
        "conflict",
        "gateway_rejected",
        "gateway_unavailable",
        "service_unavailable",
        "shutting_down",
        "rate_limited",
        "webhook_rejected",
        "webhook_not_configured",
        "webhook_processing_failed",
        "encryption_not_configured",
        "refund_window_closed",
        "refund_exceeds_refundable",
        "payout_below_minimum",
        "insufficient_balance",
        "payout_method_unavailable",
        "second_approval_required",
        "coupon_limit_below_uses",
        "already_purchased",
        "sold_out",
        "ticket_limit_reached",
        "capacity_below_taken",
        "delivery_mode_mismatch",
        "endpoint_url_forbidden",
        "payment_refused_by_rules",
        "internal_error",
    ];

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AuthenticationRequired => "authentication_required",
            Self::InvalidToken => "invalid_token",
            Self::Forbidden => "forbidden",
            Self::PaymentRefusedByRules => "payment_refused_by_rules",
            Self::NotFound => "not_found",
            Self::RouteNotFound => "route_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::MalformedJson(_) => "malformed_json",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Validation(_) => "validation_failed",
            Self::InvalidQuery(_) => "invalid_query",
            Self::IdempotencyKeyInvalid => "idempotency_key_invalid",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::IdempotencyInProgress => "idempotency_request_in_progress",
            Self::ItemNotFound => "item_not_found",
            Self::ItemInactive => "item_inactive",
            Self::AmountTooLarge => "amount_too_large",
            Self::CouponRejected { .. } => "coupon_not_applicable",
            Self::DuplicateCouponCode => "duplicate_coupon_code",
            Self::PaymentMethodUnavailable => "payment_method_unavailable",
            Self::TestModeNotAllowed(_) => "test_mode_not_allowed",
            Self::InvalidTransition(_) => "invalid_transition",
            Self::Conflict => "conflict",
            Self::GatewayRejected(_) => "gateway_rejected",
            Self::GatewayUnavailable => "gateway_unavailable",
            Self::ServiceUnavailable => "service_unavailable",
            Self::ShuttingDown => "shutting_down",
            Self::RateLimited(_) => "rate_limited",
            Self::WebhookRejected(_) => "webhook_rejected",
            Self::WebhookNotConfigured => "webhook_not_configured",
            Self::WebhookProcessingFailed => "webhook_processing_failed",
            Self::EncryptionNotConfigured => "encryption_not_configured",
            Self::RefundWindowClosed(_) => "refund_window_closed",
            Self::RefundExceedsRefundable(_) => "refund_exceeds_refundable",
            Self::PayoutBelowMinimum(_) => "payout_below_minimum",
            Self::InsufficientBalance(_) => "insufficient_balance",
            Self::PayoutMethodUnavailable(_) => "payout_method_unavailable",
            Self::SecondApprovalRequired(_) => "second_approval_required",
            Self::AlreadyPurchased(_) => "already_purchased",
            Self::SoldOut => "sold_out",
            Self::TicketLimitReached(_) => "ticket_limit_reached",
            Self::CapacityBelowTaken(_) => "capacity_below_taken",
            Self::CouponLimitBelowUses(_) => "coupon_limit_below_uses",
            Self::DeliveryModeMismatch(_) => "delivery_mode_mismatch",
            Self::EndpointUrlForbidden(_) => "endpoint_url_forbidden",
            Self::Internal => "internal_error",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::AuthenticationRequired | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::PaymentRefusedByRules => StatusCode::FORBIDDEN,
            Self::NotFound | Self::RouteNotFound | Self::ItemNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::MalformedJson(_) | Self::InvalidQuery(_) | Self::IdempotencyKeyInvalid | Self::WebhookRejected(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Validation(_)
            | Self::IdempotencyKeyReused
            | Self::ItemInactive
            | Self::AmountTooLarge
            | Self::CouponRejected { .. }
            | Self::PaymentMethodUnavailable
            | Self::TestModeNotAllowed(_)
            | Self::RefundWindowClosed(_)
            | Self::RefundExceedsRefundable(_)
            | Self::PayoutBelowMinimum(_)
            | Self::InsufficientBalance(_)
            | Self::PayoutMethodUnavailable(_)
            | Self::EndpointUrlForbidden(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::IdempotencyInProgress
            | Self::DuplicateCouponCode
            | Self::InvalidTransition(_)
            | Self::Conflict
            | Self::SecondApprovalRequired(_)
            | Self::AlreadyPurchased(_)
            | Self::SoldOut
            | Self::TicketLimitReached(_)
            | Self::CapacityBelowTaken(_)
            | Self::CouponLimitBelowUses(_)
            | Self::DeliveryModeMismatch(_) => StatusCode::CONFLICT,
            Self::GatewayRejected(_) => StatusCode::PAYMENT_REQUIRED,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::GatewayUnavailable => StatusCode::BAD_GATEWAY,
            Self::ServiceUnavailable
            | Self::ShuttingDown
            | Self::WebhookNotConfigured
            | Self::EncryptionNotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal | Self::WebhookProcessingFailed => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        Problem {
            problem_type: format!("urn:skillpay:problem:{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            code: self.code().to_owned(),
            detail: self.to_string(),
            reason: match self {
                Self::CouponRejected { reason, .. } => Some((*reason).to_owned()),
                _ => None,
            },
            errors: match self {
                Self::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
            payment_id: match self {
                Self::AlreadyPurchased(id) => Some(id.clone()),
                _ => None,
            },
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// URI naming the problem type (`urn:skillpay:problem:<code>`).
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary (the HTTP reason phrase).
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// Stable machine-readable code.
    pub code: String,
    /// Human explanation.
    pub detail: String,
    /// For `coupon_not_applicable`: the coupon reason code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `validation_failed`: the invalid fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For `already_purchased`: the buyer's paid payment for the item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        if self.status().is_server_error() {
            tracing::warn!(code = self.code(), "request failed");
        }
        let mut response = HttpResponse::build(self.status());
        if let Self::RateLimited(secs) = self {
            response.insert_header((actix_web::http::header::RETRY_AFTER, secs.to_string()));
        }
        response.content_type(PROBLEM_JSON).json(self.problem())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn error_codes_are_unique_and_each_is_listed() {
        let unique: HashSet<_> = ApiError::ALL_CODES.iter().collect();
        assert_eq!(unique.len(), ApiError::ALL_CODES.len());
        let samples = [
            ApiError::AuthenticationRequired,
            ApiError::InvalidToken,
            ApiError::Forbidden,
            ApiError::PaymentRefusedByRules,
            ApiError::NotFound,
            ApiError::RouteNotFound,
            ApiError::MethodNotAllowed,
            ApiError::MalformedJson(String::new()),
            ApiError::UnsupportedMediaType,
            ApiError::PayloadTooLarge,
            ApiError::Validation(Vec::new()),
            ApiError::InvalidQuery(String::new()),
            ApiError::IdempotencyKeyInvalid,
            ApiError::IdempotencyKeyReused,
            ApiError::IdempotencyInProgress,
            ApiError::ItemNotFound,
            ApiError::ItemInactive,
            ApiError::AmountTooLarge,
            ApiError::CouponRejected { reason: "expired", detail: String::new() },
            ApiError::DuplicateCouponCode,
            ApiError::PaymentMethodUnavailable,
            ApiError::TestModeNotAllowed(String::new()),
            ApiError::InvalidTransition(String::new()),
            ApiError::Conflict,
            ApiError::GatewayRejected(String::new()),
            ApiError::GatewayUnavailable,
            ApiError::ServiceUnavailable,
            ApiError::ShuttingDown,
            ApiError::RateLimited(1),
            ApiError::WebhookRejected(String::new()),
            ApiError::WebhookNotConfigured,
            ApiError::WebhookProcessingFailed,
            ApiError::EncryptionNotConfigured,
            ApiError::RefundWindowClosed(String::new()),
            ApiError::RefundExceedsRefundable(String::new()),
            ApiError::PayoutBelowMinimum(String::new()),
            ApiError::InsufficientBalance(String::new()),
            ApiError::PayoutMethodUnavailable(String::new()),
            ApiError::SecondApprovalRequired(String::new()),
            ApiError::CouponLimitBelowUses(String::new()),
            ApiError::AlreadyPurchased(String::new()),
            ApiError::SoldOut,
            ApiError::TicketLimitReached(String::new()),
            ApiError::CapacityBelowTaken(String::new()),
            ApiError::DeliveryModeMismatch(String::new()),
            ApiError::EndpointUrlForbidden(String::new()),
            ApiError::Internal,
        ];
        let used: HashSet<_> = samples.iter().map(ApiError::code).collect();
        assert_eq!(used, unique.into_iter().copied().collect());
    }

    #[test]
    fn server_errors_do_not_leak_their_cause() {
        let problem = ApiError::Internal.problem();
        assert_eq!(problem.detail, "internal error");
        assert_eq!(problem.status, 500);
    }
}
