//! Domain errors mapped to API errors, in one place.

use domain::coupon::{CouponEditError, CouponRejection};
use domain::ports::{GatewayError, StoreError};
use domain::usecases::Forbidden;
use domain::usecases::coupons::{CouponAdminError, CreateCouponError, EditCouponError, ValidateCouponError};
use domain::usecases::payments::{ChangePaymentError, CreatePaymentError};

use crate::error::ApiError;

/// Storage trouble: 503 when the database is unreachable, else 500.
pub fn store(error: StoreError) -> ApiError {
    match error {
        StoreError::Unavailable(cause) => {
            tracing::error!(%cause, "storage unavailable");
            ApiError::ServiceUnavailable
        }
        StoreError::Corrupt(cause) => {
            tracing::error!(%cause, "storage invariant violated");
            ApiError::Internal
        }
    }
}

/// A coupon refusal.
pub fn coupon(reason: CouponRejection) -> ApiError {
    ApiError::CouponRejected { reason: reason.code(), detail: reason.to_string() }
}

fn gateway(error: GatewayError) -> ApiError {
    match error {
        GatewayError::InvalidRequest(message) => ApiError::GatewayRejected(message),
        GatewayError::UnknownPayment => ApiError::GatewayRejected("the gateway does not know this payment".to_owned()),
        GatewayError::Unavailable(cause) => {
            tracing::warn!(%cause, "gateway unavailable");
            ApiError::GatewayUnavailable
        }
    }
}

impl From<Forbidden> for ApiError {
    fn from(_: Forbidden) -> Self {
        ApiError::Forbidden
    }
}

impl From<CreatePaymentError> for ApiError {
    fn from(error: CreatePaymentError) -> Self {
        match error {
            CreatePaymentError::ItemNotFound => ApiError::ItemNotFound,
            CreatePaymentError::ItemInactive => ApiError::ItemInactive,
            CreatePaymentError::AmountTooLarge => ApiError::AmountTooLarge,
            CreatePaymentError::InvalidQuantity(most) => ApiError::Validation(vec![crate::error::FieldError::new(
                "quantity",
                format!("must be 1 to {most} for this item"),
            )]),
            CreatePaymentError::AlreadyPurchased(id) => ApiError::AlreadyPurchased(id.to_string()),
            CreatePaymentError::SoldOut => ApiError::SoldOut,
            CreatePaymentError::TicketLimit(most) => {
                ApiError::TicketLimitReached(format!("at most {most} tickets per buyer for this event"))
            }
            CreatePaymentError::Coupon(reason) => coupon(reason),
            CreatePaymentError::MethodUnavailable(_) => ApiError::PaymentMethodUnavailable,
            CreatePaymentError::TestModeNotAllowed(_) => ApiError::TestModeNotAllowed(
                "this payment method takes test payments only, which this token does not allow; pay with a live method"
                    .to_owned(),
            ),
            CreatePaymentError::RefusedByRules => ApiError::PaymentRefusedByRules,
            CreatePaymentError::Gateway(e) => gateway(e),
            CreatePaymentError::Money(e) => {
                tracing::error!(error = %e, "amount arithmetic failed");
                ApiError::Internal
            }
            CreatePaymentError::Ledger(e) => {
                tracing::error!(error = %e, "ledger construction failed");
                ApiError::Internal
            }
            CreatePaymentError::Store(e) => store(e),
        }
    }
}

impl From<ChangePaymentError> for ApiError {
    fn from(error: ChangePaymentError) -> Self {
        match error {
            ChangePaymentError::NotFound => ApiError::NotFound,
            ChangePaymentError::Illegal(e) => ApiError::InvalidTransition(e.to_string()),
            ChangePaymentError::NoGatewaySession => {
                ApiError::InvalidTransition("the payment has no gateway session to confirm".to_owned())
            }
            ChangePaymentError::MethodUnavailable(_) => ApiError::PaymentMethodUnavailable,
            ChangePaymentError::Gateway(e) => gateway(e),
            ChangePaymentError::Contended => ApiError::Conflict,
            ChangePaymentError::RefusedByRules => ApiError::PaymentRefusedByRules,
            ChangePaymentError::Ledger(e) => {
                tracing::error!(error = %e, "ledger construction failed");
                ApiError::Internal
            }
            ChangePaymentError::Store(e) => store(e),
        }
    }
}

impl From<CreateCouponError> for ApiError {
    fn from(error: CreateCouponError) -> Self {
        match error {
            CreateCouponError::Forbidden(_) => ApiError::Forbidden,
            CreateCouponError::Invalid(e) => {
                ApiError::Validation(vec![crate::error::FieldError::new("body", e.to_string())])
            }
            CreateCouponError::DuplicateCode => ApiError::DuplicateCouponCode,
            CreateCouponError::Store(e) => store(e),
        }
    }
}

impl From<EditCouponError> for ApiError {
    fn from(error: EditCouponError) -> Self {
        match error {
            EditCouponError::Forbidden(_) => ApiError::Forbidden,
            EditCouponError::NotFound => ApiError::NotFound,
            EditCouponError::Rejected(CouponEditError::Invalid(e)) => {
                ApiError::Validation(vec![crate::error::FieldError::new("body", e.to_string())])
            }
            EditCouponError::Rejected(e @ CouponEditError::LimitBelowUses { .. }) => {
                ApiError::CouponLimitBelowUses(e.to_string())
            }
            EditCouponError::Store(e) => store(e),
        }
    }
}

impl From<ValidateCouponError> for ApiError {
    fn from(error: ValidateCouponError) -> Self {
        match error {
            ValidateCouponError::ItemNotFound => ApiError::ItemNotFound,
            ValidateCouponError::ItemInactive => ApiError::ItemInactive,
            ValidateCouponError::Money(_) => ApiError::Internal,
            ValidateCouponError::Store(e) => store(e),
        }
    }
}

impl From<CouponAdminError> for ApiError {
    fn from(error: CouponAdminError) -> Self {
        match error {
            CouponAdminError::Forbidden(_) => ApiError::Forbidden,
            CouponAdminError::NotFound => ApiError::NotFound,
            CouponAdminError::Store(e) => store(e),
        }
    }
}

impl From<domain::usecases::refunds::RefundError> for ApiError {
    fn from(error: domain::usecases::refunds::RefundError) -> Self {
        use domain::refund::RefundPlanError;
        use domain::usecases::refunds::RefundError as E;
        match error {
            E::Forbidden(_) => ApiError::Forbidden,
            E::NotFound => ApiError::NotFound,
            E::WindowClosed(_) => ApiError::RefundWindowClosed(error.to_string()),
            E::InvalidReason => ApiError::Validation(vec![crate::error::FieldError::new("reason", error.to_string())]),
            E::Refused(RefundPlanError::ExceedsRefundable { refundable }) => ApiError::RefundExceedsRefundable(
                format!("at most {} {} can still be refunded", refundable.to_major_string(), refundable.currency()),
            ),
            E::Refused(RefundPlanError::NotPositive) => {
                ApiError::Validation(vec![crate::error::FieldError::new("amount", "must be above zero")])
            }
            E::Refused(RefundPlanError::NotRefundable(status)) => {
                ApiError::InvalidTransition(format!("a {status} payment cannot be refunded"))
            }
            E::Refused(RefundPlanError::Money(e)) => {
                tracing::error!(error = %e, "refund arithmetic failed");
                ApiError::Internal
            }
            E::Illegal(e) => ApiError::InvalidTransition(e.to_string()),
            E::Gateway(e) => gateway(e),
            E::Contended => ApiError::Conflict,
            E::SecondApprovalRequired { .. } => ApiError::SecondApprovalRequired(error.to_string()),
            E::Ledger(e) => {
                tracing::error!(error = %e, "ledger construction failed");
                ApiError::Internal
            }
            E::Store(e) => store(e),
        }
    }
}

impl From<domain::usecases::disputes::DisputeError> for ApiError {
    fn from(error: domain::usecases::disputes::DisputeError) -> Self {
        use domain::usecases::disputes::DisputeError as E;
        match error {
            E::Forbidden(_) => ApiError::Forbidden,
            E::NotFound => ApiError::NotFound,
            E::Gateway(e) => gateway(e),
            E::Illegal(e) => ApiError::InvalidTransition(e.to_string()),
            E::Contended => ApiError::Conflict,
            E::InvalidEvidence { field } => {
                ApiError::Validation(vec![crate::error::FieldError::new(field, error.to_string())])
            }
            E::Transition(_) | E::DecidedByGateway | E::NotAtGateway => ApiError::InvalidTransition(error.to_string()),
            E::InvalidAmount => ApiError::Validation(vec![crate::error::FieldError::new("amount", error.to_string())]),
            E::Ledger(e) => {
                tracing::error!(error = %e, "ledger construction failed");
                ApiError::Internal
            }
            E::Store(e) => store(e),
        }
    }
}

impl From<domain::usecases::settlement::ResolveError> for ApiError {
    fn from(error: domain::usecases::settlement::ResolveError) -> Self {
        use domain::usecases::settlement::ResolveError as E;
        match error {
            E::Forbidden(_) => ApiError::Forbidden,
            E::NotFound => ApiError::NotFound,
            E::NotOpen(_) => ApiError::InvalidTransition(error.to_string()),
            E::InvalidReason => ApiError::Validation(vec![crate::error::FieldError::new("reason", error.to_string())]),
            E::Ledger(e) => {
                tracing::error!(error = %e, "adjusting journal construction failed");
                ApiError::Internal
            }
            E::Store(e) => store(e),
        }
    }
}

impl From<domain::usecases::settlement::ReadError> for ApiError {
    fn from(error: domain::usecases::settlement::ReadError) -> Self {
        use domain::usecases::settlement::ReadError as E;
        match error {
            E::Forbidden(_) => ApiError::Forbidden,
            E::NotFound => ApiError::NotFound,
            E::Store(e) => store(e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        store(error)
    }
}

impl From<domain::usecases::payouts::PayoutError> for ApiError {
    fn from(error: domain::usecases::payouts::PayoutError) -> Self {
        use domain::usecases::payouts::PayoutError as E;
        let field =
            |name: &str, error: &E| ApiError::Validation(vec![crate::error::FieldError::new(name, error.to_string())]);
        match error {
            E::Forbidden(_) => ApiError::Forbidden,
            E::NotFound => ApiError::NotFound,
            E::InvalidAmount => field("amount", &error),
            E::BelowMinimum { minimum } => ApiError::PayoutBelowMinimum(format!(
                "the minimum payout is {} {}",
                minimum.to_major_string(),
                minimum.currency()
            )),
            E::InsufficientBalance { available } => ApiError::InsufficientBalance(format!(
                "the amount exceeds the available balance of {} {}",
                available.to_major_string(),
                available.currency()
            )),
            E::Destination(_) => field("destination", &error),
            E::MethodUnavailable(_) | E::MethodNotInMode { .. } => ApiError::PayoutMethodUnavailable(error.to_string()),
            E::TestModeNotAllowed => ApiError::TestModeNotAllowed(
                "a payout of test money needs a token that allows test mode while live gateways are served".to_owned(),
            ),
            E::NotManual => ApiError::InvalidTransition(error.to_string()),
            E::ReferenceInUse => ApiError::Conflict,
            E::InvalidNote => field("reason", &error),
            E::Illegal(e) => ApiError::InvalidTransition(e.to_string()),
            E::Gateway(e) => gateway(e),
            E::NoEncryptionKey => ApiError::EncryptionNotConfigured,
            E::Contended => ApiError::Conflict,
            E::SecondApprovalRequired { .. } => ApiError::SecondApprovalRequired(error.to_string()),
            E::Ledger(e) => {
                tracing::error!(error = %e, "ledger construction failed");
                ApiError::Internal
            }
            E::Store(e) => store(e),
        }
    }
}

impl From<domain::usecases::stats::StatsError> for ApiError {
    fn from(error: domain::usecases::stats::StatsError) -> Self {
        use domain::usecases::stats::StatsError as E;
        match error {
            E::Forbidden(_) => ApiError::Forbidden,
            E::InvalidRange => ApiError::InvalidQuery(error.to_string()),
            E::Money(e) => {
                tracing::error!(error = %e, "statistics arithmetic failed");
                ApiError::Internal
            }
            E::Store(e) => store(e),
        }
    }
}

impl From<domain::usecases::mail::MailError> for ApiError {
    fn from(error: domain::usecases::mail::MailError) -> Self {
        use domain::usecases::mail::MailError as E;
        match error {
            E::Forbidden(_) => ApiError::Forbidden,
            E::NotFound => ApiError::NotFound,
            E::Contact(domain::mail::ContactError(field, why)) => {
                ApiError::Validation(vec![crate::error::FieldError::new(field, why)])
            }
            E::Store(e) => store(e),
        }
    }
}

impl From<domain::usecases::receipts::ReceiptError> for ApiError {
    fn from(error: domain::usecases::receipts::ReceiptError) -> Self {
        use domain::usecases::receipts::ReceiptError as E;
        match error {
            E::NotFound => ApiError::NotFound,
            E::Store(e) => store(e),
        }
    }
}

impl From<domain::usecases::events::EventError> for ApiError {
    fn from(error: domain::usecases::events::EventError) -> Self {
        use domain::usecases::events::EventError as E;
        match error {
            E::Forbidden(_) => ApiError::Forbidden,
            E::NotFound => ApiError::NotFound,
            E::Endpoint(domain::events::EndpointError::Url) => {
                ApiError::Validation(vec![crate::error::FieldError::new("url", error.to_string())])
            }
            E::Endpoint(domain::events::EndpointError::Destination) => {
                ApiError::EndpointUrlForbidden(error.to_string())
            }
            E::Endpoint(domain::events::EndpointError::EventType(_)) => {
                ApiError::Validation(vec![crate::error::FieldError::new("event_types", error.to_string())])
            }
            E::NoEncryptionKey => ApiError::EncryptionNotConfigured,
            E::OtherMode => ApiError::DeliveryModeMismatch(error.to_string()),
            E::EndpointRemoved => ApiError::InvalidTransition(error.to_string()),
            E::Window(field, why) => ApiError::Validation(vec![crate::error::FieldError::new(field, why)]),
            E::Store(e) => store(e),
        }
    }
}

impl From<domain::usecases::rate_limits::RateLimitError> for ApiError {
    fn from(error: domain::usecases::rate_limits::RateLimitError) -> Self {
        use domain::usecases::rate_limits::RateLimitError as E;
        match error {
            E::Limited { retry_after_secs } => ApiError::RateLimited(retry_after_secs),
            E::Store(e) => store(e),
        }
    }
}

impl From<domain::usecases::webhooks::ReplayWebhookError> for ApiError {
    fn from(error: domain::usecases::webhooks::ReplayWebhookError) -> Self {
        use domain::usecases::webhooks::ReplayWebhookError as E;
        match error {
            E::Forbidden(_) => ApiError::Forbidden,
            E::NotFound => ApiError::NotFound,
            E::NotConfigured => ApiError::WebhookNotConfigured,
            E::ProcessingFailed(_) => ApiError::WebhookProcessingFailed,
            E::Store(e) => store(e),
        }
    }
}
