//! The problem+json answers of the document, each described once.
//!
//! Answers that (nearly) every operation can give are added to every
//! operation by [`CommonProblems`]. Answers that only some operations give
//! come in named sets: a handler lists its own success answers and names at
//! most one set, e.g.
//!
//! ```text
//! responses((status = 200, description = "The payment.", body = PaymentView), GatewayCallProblems)
//! ```
//!
//! An answer of a set replaces the common answer with the same status, so a
//! set may describe a status more precisely for its operations.

use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{IntoResponses, Modify};

use crate::error::{PROBLEM_JSON, Problem};

// The common answers.
const MALFORMED: &str = "Malformed request: JSON syntax, query parameters or Idempotency-Key \
                         (`malformed_json`, `invalid_query`, `idempotency_key_invalid`).";
const UNAUTHENTICATED: &str =
    "Missing, malformed, expired or wrongly signed bearer token (`authentication_required`, `invalid_token`).";
const FORBIDDEN: &str = "The role does not allow this (`forbidden`).";
const NOT_FOUND: &str = "No such object, or not one this caller may see (`not_found`).";
const TOO_LARGE: &str = "The body is larger than the limit (`payload_too_large`).";
const NOT_JSON: &str = "The body is not application/json (`unsupported_media_type`).";
const REFUSED: &str = "The body is well-formed JSON but refused: invalid fields (`validation_failed`, listed in \
                       `errors`), an Idempotency-Key used before with another body (`idempotency_key_reused`), \
                       or a rule of the operation; `code` says which.";
const INTERNAL: &str = "A bug; the cause is logged, not sent (`internal_error`).";
const DATABASE_DOWN: &str = "The database is unreachable; retry later (`service_unavailable`).";

// The answers of the sets.
const CONFLICT: &str = "The object's current state does not allow this: its status (`invalid_transition`), a \
                        concurrent change (`conflict`), a request with the same Idempotency-Key still running \
                        (`idempotency_request_in_progress`), or a rule such as a unique coupon code; `code` says \
                        which.";
const PURCHASE_CONFLICT: &str = "The buyer holds the item already (`already_purchased`; the problem's payment_id \
                                 names their paid payment), the event has fewer seats left than asked for (`sold_out`), the \
                                 buyer's tickets would exceed the event's limit per buyer (`ticket_limit_reached`), \
                                 or a request with the same Idempotency-Key is still running \
                                 (`idempotency_request_in_progress`).";
const GATEWAY_REFUSED: &str = "The payment gateway refused the request (`gateway_rejected`), e.g. a declined card.";
const PURCHASE_REFUSED: &str = "The purchase is refused: invalid fields (`validation_failed`, listed in `errors`), \
                                the item is not on sale (`item_inactive`) or priced above the maximum \
                                (`amount_too_large`), the coupon does not apply (`coupon_not_applicable`, with its \
                                reason), no gateway serves the method (`payment_method_unavailable`), the method \
                                is a test-mode one next to live gateways and the token has no test_mode claim \
                                (`test_mode_not_allowed`), or the Idempotency-Key was used with another body \
                                (`idempotency_key_reused`). Nothing is written.";
const PURCHASE_FORBIDDEN: &str = "The role does not allow this (`forbidden`), or the fraud controls refused the \
                                  attempt (`payment_refused_by_rules`, naming no rule); nothing was stored.";
const CARD_REFUSED: &str = "Not the payer or an admin (`forbidden`), or the fraud controls refused the card \
                            (`payment_refused_by_rules`, naming no rule); the payment stays open for another card.";
const GATEWAY_DOWN: &str = "The payment gateway did not answer or failed (`gateway_unavailable`); retry later.";
const NAMED_NOT_FOUND: &str = "An object the body names (course, event or payment) does not exist, or is not one \
                               this caller may see (`item_not_found`, `not_found`).";
const RATE_LIMITED: &str = "Too many requests from this user or address (`rate_limited`); retry after the \
                            Retry-After header's seconds.";
const NO_ENCRYPTION_KEY: &str = "Secrets cannot be stored because no encryption key is configured \
                                 (`encryption_not_configured`), or the database is unreachable \
                                 (`service_unavailable`).";
const WEBHOOK_REFUSED: &str = "The signature or the body was refused (`webhook_rejected`); nothing was written.";
const WEBHOOK_FAILURES: &str = "Too many deliveries from this address failed verification this minute \
                                (`rate_limited`); retry after the Retry-After header's seconds.";
const WEBHOOK_FAILED: &str = "The verified event could not be processed (`webhook_processing_failed`); it was \
                              logged and the gateway should deliver it again.";
const WEBHOOK_VERIFIER_DOWN: &str =
    "The call that verifies the signature at the gateway failed (`gateway_unavailable`); retry later.";
const WEBHOOK_CLOSED: &str = "Webhooks from this gateway are not configured, so none is accepted \
                              (`webhook_not_configured`), or the database is unreachable (`service_unavailable`).";
const OTHER_MODE: &str = "The delivery's event is about money of the other mode (live or test) than its endpoint \
                          receives, routed before endpoints had a mode: it is not sent again \
                          (`delivery_mode_mismatch`); or its endpoint was removed (`invalid_transition`).";
const ENDPOINT_REFUSED: &str = "The endpoint is refused: invalid fields (`validation_failed`, listed in `errors`: a \
                                url that is not https, has a user name or password, or is too long; an unknown \
                                event type), or a url whose host is, or resolves to, a loopback, private, \
                                link-local, shared or other non-public address, or does not resolve \
                                (`endpoint_url_forbidden`). Nothing is stored.";
const LIVE_CHANGE_SECOND_ADMIN: &str = "An active live configuration takes two admins: this admin's request is \
                                        recorded (`second_approval_required`) and a different admin must put the \
                                        same configuration. Nothing is stored until then.";
const NOT_READY: &str = "Not ready: the database is unreachable (`service_unavailable`) or this instance is \
                         shutting down (`shutting_down`).";

/// A state change of a named object, or a creation that a unique value
/// or a concurrent request can refuse.
#[derive(IntoResponses)]
pub enum ConflictProblems {
    #[response(status = 409, description = CONFLICT, content_type = PROBLEM_JSON)]
    Conflict(Problem),
}

/// A state change that calls a payment gateway.
#[derive(IntoResponses)]
pub enum GatewayCallProblems {
    #[response(status = 402, description = GATEWAY_REFUSED, content_type = PROBLEM_JSON)]
    Refused(Problem),
    #[response(status = 409, description = CONFLICT, content_type = PROBLEM_JSON)]
    Conflict(Problem),
    #[response(status = 502, description = GATEWAY_DOWN, content_type = PROBLEM_JSON)]
    GatewayDown(Problem),
}

/// A payment's confirmation: a gateway call, and the card screened by the
/// fraud controls first.
#[derive(IntoResponses)]
pub enum ConfirmProblems {
    #[response(status = 402, description = GATEWAY_REFUSED, content_type = PROBLEM_JSON)]
    Refused(Problem),
    #[response(status = 403, description = CARD_REFUSED, content_type = PROBLEM_JSON)]
    Forbidden(Problem),
    #[response(status = 409, description = CONFLICT, content_type = PROBLEM_JSON)]
    Conflict(Problem),
    #[response(status = 502, description = GATEWAY_DOWN, content_type = PROBLEM_JSON)]
    GatewayDown(Problem),
}

/// A purchase: a catalog item named in the body, a rate limit and a
/// gateway call.
#[derive(IntoResponses)]
pub enum PurchaseProblems {
    #[response(status = 402, description = GATEWAY_REFUSED, content_type = PROBLEM_JSON)]
    Refused(Problem),
    #[response(status = 403, description = PURCHASE_FORBIDDEN, content_type = PROBLEM_JSON)]
    Forbidden(Problem),
    #[response(status = 404, description = NAMED_NOT_FOUND, content_type = PROBLEM_JSON)]
    NamedNotFound(Problem),
    #[response(status = 409, description = PURCHASE_CONFLICT, content_type = PROBLEM_JSON)]
    Conflict(Problem),
    #[response(status = 422, description = PURCHASE_REFUSED, content_type = PROBLEM_JSON)]
    PurchaseRefused(Problem),
    #[response(status = 429, description = RATE_LIMITED, content_type = PROBLEM_JSON)]
    RateLimited(Problem),
    #[response(status = 502, description = GATEWAY_DOWN, content_type = PROBLEM_JSON)]
    GatewayDown(Problem),
}

/// A coupon check: a catalog item named in the body and a rate limit.
#[derive(IntoResponses)]
pub enum CouponCheckProblems {
    #[response(status = 404, description = NAMED_NOT_FOUND, content_type = PROBLEM_JSON)]
    NamedNotFound(Problem),
    #[response(status = 429, description = RATE_LIMITED, content_type = PROBLEM_JSON)]
    RateLimited(Problem),
}

/// A record about another object that the body names (a refund or a
/// dispute of a payment).
#[derive(IntoResponses)]
pub enum ReferenceProblems {
    #[response(status = 404, description = NAMED_NOT_FOUND, content_type = PROBLEM_JSON)]
    NamedNotFound(Problem),
    #[response(status = 409, description = CONFLICT, content_type = PROBLEM_JSON)]
    Conflict(Problem),
}

/// A replay of an event delivery.
#[derive(IntoResponses)]
pub enum ReplayProblems {
    #[response(status = 409, description = OTHER_MODE, content_type = PROBLEM_JSON)]
    OtherMode(Problem),
}

/// An operation that stores a secret, encrypted (gateway credentials,
/// event endpoint signing secrets, payout destinations).
#[derive(IntoResponses)]
pub enum SecretProblems {
    #[response(status = 503, description = NO_ENCRYPTION_KEY, content_type = PROBLEM_JSON)]
    NoEncryptionKey(Problem),
}

/// The storing of a gateway configuration: sealed credentials, and two
/// admins for an active live one.
#[derive(IntoResponses)]
pub enum GatewayConfigProblems {
    #[response(status = 409, description = LIVE_CHANGE_SECOND_ADMIN, content_type = PROBLEM_JSON)]
    SecondAdmin(Problem),
    #[response(status = 503, description = NO_ENCRYPTION_KEY, content_type = PROBLEM_JSON)]
    NoEncryptionKey(Problem),
}

/// The registration of an event endpoint: its URL checked, its secret
/// stored encrypted.
#[derive(IntoResponses)]
pub enum EndpointProblems {
    #[response(status = 422, description = ENDPOINT_REFUSED, content_type = PROBLEM_JSON)]
    Refused(Problem),
    #[response(status = 503, description = NO_ENCRYPTION_KEY, content_type = PROBLEM_JSON)]
    NoEncryptionKey(Problem),
}

/// An incoming gateway webhook: signed, not authenticated by a token. A
/// gateway that verifies signatures on a call of its own (PayPal) may also
/// be unreachable (502).
#[derive(IntoResponses)]
pub enum WebhookProblems {
    #[response(status = 404, description = "No gateway of this name (`not_found`).", content_type = PROBLEM_JSON)]
    UnknownGateway(Problem),
    #[response(status = 400, description = WEBHOOK_REFUSED, content_type = PROBLEM_JSON)]
    Refused(Problem),
    #[response(status = 429, description = WEBHOOK_FAILURES, content_type = PROBLEM_JSON)]
    TooManyFailures(Problem),
    #[response(status = 500, description = WEBHOOK_FAILED, content_type = PROBLEM_JSON)]
    Failed(Problem),
    #[response(status = 502, description = WEBHOOK_VERIFIER_DOWN, content_type = PROBLEM_JSON)]
    VerifierDown(Problem),
    #[response(status = 503, description = WEBHOOK_CLOSED, content_type = PROBLEM_JSON)]
    Closed(Problem),
}

/// The readiness probe.
#[derive(IntoResponses)]
pub enum ReadinessProblems {
    #[response(status = 503, description = NOT_READY, content_type = PROBLEM_JSON)]
    NotReady(Problem),
}

/// Documents the answers every operation can give besides its own: 401 and
/// 403 on secured operations, 400 for unreadable requests, 404 where the
/// path names an object, 413/415/422 where there is a body, 503 when the
/// database is unreachable, 500 for bugs; all problem+json. Added once here
/// rather than repeated on every handler; a status the handler already
/// documents (through its set) is left as it is.
pub struct CommonProblems;

impl Modify for CommonProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let problem = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
                    .build(),
            )
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names_an_object = path.contains('{');
            let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let takes_body = operation.request_body.is_some();
                let responses = &mut operation.responses.responses;
                let mut add = |code: &str, description: &str| {
                    responses.entry(code.to_owned()).or_insert_with(|| problem(description));
                };
                if secured {
                    add("401", UNAUTHENTICATED);
                    add("403", FORBIDDEN);
                }
                add("400", MALFORMED);
                if names_an_object {
                    add("404", NOT_FOUND);
                }
                if takes_body {
                    add("413", TOO_LARGE);
                    add("415", NOT_JSON);
                    add("422", REFUSED);
                }
                add("503", DATABASE_DOWN);
                add("500", INTERNAL);
            }
        }
    }
}
