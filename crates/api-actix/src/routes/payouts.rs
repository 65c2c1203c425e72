//! Payouts: balance, request, list, read, cancel, approve, reject, and the
//! admin's marks for bank transfers.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::ids::{PayoutId, UserId};
use domain::money::Money;
use domain::payout::{InstructorBalance, PayoutDestination, PayoutMethod, PayoutStatus};
use domain::ports::PayoutQuery;
use representations::PayoutView;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{Admin, Authenticated};
use crate::dto::{PageView, parse_amount, parse_currency};
use crate::error::{ApiError, FieldError};
use crate::idempotency::{JsonReply, idempotent};
use crate::json::{parse_body, parse_query};
use crate::openapi::problems::{ConflictProblems, GatewayCallProblems, SecretProblems};
use crate::routes::refunds::ApproveBody;
use crate::routes::{IdempotencyBody, fail_on, page_request, path_id};

/// Destination details; which fields are needed depends on the method.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationBody {
    /// `stripe_connect`: the connected account (`acct_…`).
    pub account_id: Option<String>,
    /// `paypal`: the receiver's email.
    pub email: Option<String>,
    /// `bank_transfer`: the account holder's name.
    pub account_holder: Option<String>,
    /// `bank_transfer`: IBAN or account number.
    pub account_number: Option<String>,
    /// `bank_transfer`: BIC/SWIFT or routing code, when needed.
    pub bank_code: Option<String>,
}

/// Body of `POST /api/payments/payouts/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestPayoutBody {
    /// How much, in major units (`"25.00"`); at least the minimum payout.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
    /// `stripe_connect`, `paypal` or `bank_transfer`.
    pub method: String,
    /// Where to send it (stored encrypted, shown masked).
    pub destination: DestinationBody,
    /// `true` to pay out live money, `false` test money (test-mode rails
    /// only). Default: live when a live gateway is served, test otherwise.
    pub livemode: Option<bool>,
}

/// What a payout request asks for.
pub(crate) struct PayoutRequest {
    /// How much.
    pub amount: Money,
    /// Where to.
    pub destination: PayoutDestination,
    /// Of which money, if named.
    pub livemode: Option<bool>,
}

/// The amount and destination of a payout request, or every field at fault
/// (the destination's value is never echoed).
pub(crate) fn parse_payout_request(input: RequestPayoutBody) -> Result<PayoutRequest, ApiError> {
    let mut errors = Vec::new();
    let currency = parse_currency("currency", &input.currency, &mut errors);
    let amount = currency.and_then(|c| parse_amount("amount", &input.amount, c, &mut errors));
    let method = match input.method.parse::<PayoutMethod>() {
        Ok(method) => Some(method),
        Err(_) => {
            errors.push(FieldError::new("method", "must be stripe_connect, paypal or bank_transfer"));
            None
        }
    };
    let destination = method.and_then(|m| destination(m, input.destination, &mut errors));
    fail_on(errors)?;
    match (amount, destination) {
        (Some(amount), Some(destination)) => Ok(PayoutRequest { amount, destination, livemode: input.livemode }),
        _ => Err(ApiError::Internal),
    }
}

/// Body of reject and mark-failed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutReasonBody {
    /// Why (1 to 500 characters).
    pub reason: String,
}

/// Body of mark-paid.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkPaidBody {
    /// The bank's reference of the transfer (1 to 500 characters).
    pub reference: String,
}

/// An instructor's balance in one currency and mode.
#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    /// Currency.
    pub currency: String,
    /// `true` for live money, `false` for test money (each mode has its
    /// own balance; a payout takes one mode's).
    pub livemode: bool,
    /// Earnings inside the hold period.
    pub pending: String,
    /// Can be paid out now.
    pub available: String,
    /// Requested and not yet paid.
    pub in_transit: String,
    /// Paid out so far.
    pub paid_out: String,
    /// Owed back after refunds or lost disputes; later earnings repay it.
    pub negative_carry: String,
    /// The smallest payout in this currency.
    pub minimum_payout: String,
}

impl BalanceView {
    /// `b`, with the smallest payout `policy` allows in its currency.
    pub fn new(b: &InstructorBalance, policy: &domain::usecases::payouts::PayoutPolicy) -> Self {
        BalanceView {
            minimum_payout: policy.minimum_in(b.currency).to_major_string(),
            currency: b.currency.code().to_owned(),
            livemode: b.livemode,
            pending: b.pending.to_major_string(),
            available: b.available.to_major_string(),
            in_transit: b.in_transit.to_major_string(),
            paid_out: b.paid_out.to_major_string(),
            negative_carry: b.negative_carry.to_major_string(),
        }
    }
}

/// Balances, one per currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct BalancesView {
    /// Whose.
    pub instructor_id: i64,
    /// The smallest payout, in major units of each currency not named in
    /// `SKILLPAY_MIN_PAYOUT` (each balance says its own currency's).
    pub minimum_payout: String,
    /// Per mode (live first) and currency.
    pub balances: Vec<BalanceView>,
}

fn destination(method: PayoutMethod, body: DestinationBody, errors: &mut Vec<FieldError>) -> Option<PayoutDestination> {
    let mut required = |value: Option<String>, field: &str| {
        if value.is_none() {
            errors.push(FieldError::new(&format!("destination.{field}"), format!("required for {method}")));
        }
        value
    };
    match method {
        PayoutMethod::StripeConnect => {
            required(body.account_id, "account_id").map(|account_id| PayoutDestination::StripeConnect { account_id })
        }
        PayoutMethod::Paypal => required(body.email, "email").map(|email| PayoutDestination::Paypal { email }),
        PayoutMethod::BankTransfer => {
            let holder = required(body.account_holder, "account_holder");
            let number = required(body.account_number, "account_number");
            Some(PayoutDestination::BankTransfer {
                account_holder: holder?,
                account_number: number?,
                bank_code: body.bank_code,
            })
        }
    }
}

/// Asks for a payout of (part of) the available balance (instructor).
#[utoipa::path(tag = "payouts", request_body = RequestPayoutBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, description = "The requested payout.", body = PayoutView), SecretProblems),
    security(("bearer" = [])))]
#[post("/api/payments/payouts/")]
pub async fn request_payout(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    idempotent(&state, &req, actor, &body, || async {
        let request = parse_payout_request(parse_body(&req, &body)?)?;
        let payout = state.payouts.request(actor, request.amount, request.destination, request.livemode).await?;
        JsonReply::new(StatusCode::CREATED, &PayoutView::from(&payout))
    })
    .await
}

/// Filters of `GET /api/payments/payouts/balance/`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BalanceParams {
    /// Admins: whose balance (default: their own).
    pub instructor_id: Option<String>,
    /// Only live (`true`) or only test (`false`) money; both when absent.
    pub livemode: Option<bool>,
}

/// The balance per mode and currency: pending, available, in transit,
/// paid out (instructors their own; admins anyone's). Constant cost
/// whatever the history: it reads kept balances.
#[utoipa::path(tag = "payouts", params(BalanceParams),
    responses((status = 200, description = "The balances, one per currency.", body = BalancesView)),
    security(("bearer" = [])))]
#[get("/api/payments/payouts/balance/")]
pub async fn balance(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params: BalanceParams = parse_query(&req)?;
    let instructor = params
        .instructor_id
        .as_deref()
        .map(|id| id.parse::<UserId>().map_err(|_| ApiError::InvalidQuery("instructor_id must be a user id".into())))
        .transpose()?;
    let mut balances = state.payouts.balances(actor, instructor).await?;
    if let Some(livemode) = params.livemode {
        balances.retain(|b| b.livemode == livemode);
    }
    Ok(HttpResponse::Ok().json(BalancesView {
        instructor_id: instructor.unwrap_or(actor.user_id).get(),
        minimum_payout: state.payouts.policy().minimum.major_of_others().map(|m| m.to_string()).unwrap_or_default(),
        balances: balances.iter().map(|b| BalanceView::new(b, state.payouts.policy())).collect(),
    }))
}

/// Filters of `GET /api/payments/payouts/`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PayoutListParams {
    /// Only this status.
    pub status: Option<String>,
    /// Only this method.
    pub method: Option<String>,
    /// Admins: only this instructor's.
    pub instructor_id: Option<String>,
    /// Only live (`true`) or only test (`false`) payouts.
    pub livemode: Option<bool>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Lists payouts, newest first: instructors their own, admins all.
#[utoipa::path(tag = "payouts", params(PayoutListParams),
    responses((status = 200, description = "A page of payouts, newest first.", body = PageView<PayoutView>)),
    security(("bearer" = [])))]
#[get("/api/payments/payouts/")]
pub async fn list_payouts(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params: PayoutListParams = parse_query(&req)?;
    let invalid = |what: &str| ApiError::InvalidQuery(format!("unknown {what}"));
    let status =
        params.status.as_deref().map(|s| PayoutStatus::parse(s).ok_or_else(|| invalid("status"))).transpose()?;
    let method = params.method.as_deref().map(|m| m.parse().map_err(|_| invalid("method"))).transpose()?;
    let instructor =
        params.instructor_id.as_deref().map(|i| i.parse().map_err(|_| invalid("instructor_id"))).transpose()?;
    let page = page_request(params.cursor.as_deref(), params.limit)?;
    let page =
        state.payouts.list(actor, PayoutQuery { instructor, status, method, livemode: params.livemode, page }).await?;
    Ok(HttpResponse::Ok().json(PageView::of(&page, |p| PayoutView::from(p))))
}

/// One payout (its instructor or an admin).
#[utoipa::path(tag = "payouts", params(("id" = String, Path)),
    responses((status = 200, description = "The payout.", body = PayoutView)),
    security(("bearer" = [])))]
#[get("/api/payments/payouts/{id}/")]
pub async fn get_payout(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let payout = state.payouts.get(actor, path_id::<PayoutId>(&path)?).await?;
    Ok(HttpResponse::Ok().json(PayoutView::from(&payout)))
}

/// Withdraws a payout not yet approved (its instructor).
#[utoipa::path(tag = "payouts", params(("id" = String, Path)),
    responses((status = 200, description = "The cancelled payout.", body = PayoutView), ConflictProblems),
    security(("bearer" = [])))]
#[post("/api/payments/payouts/{id}/cancel/")]
pub async fn cancel_payout(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let payout = state.payouts.cancel(actor, path_id::<PayoutId>(&path)?).await?;
    Ok(HttpResponse::Ok().json(PayoutView::from(&payout)))
}

/// Approves a payout and sends it (admin). Approving one still
/// `processing` asks its gateway again, safely.
#[utoipa::path(tag = "payouts", params(("id" = String, Path)),
    request_body = Option<ApproveBody>,
    responses((status = 200, description = "The payout as approved and sent to its gateway.",
        body = PayoutView), GatewayCallProblems),
    security(("bearer" = [])))]
#[post("/api/payments/payouts/{id}/approve/")]
pub async fn approve_payout(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: IdempotencyBody,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<PayoutId>(&path)?;
    idempotent(&state, &req, actor, &body, || async {
        let note = ApproveBody::read(&req, &body)?.note;
        let payout = state.payouts.approve(actor, id, note).await?;
        JsonReply::new(StatusCode::OK, &PayoutView::from(&payout))
    })
    .await
}

/// Rejects a requested payout with a reason (admin); its money is
/// available again.
#[utoipa::path(tag = "payouts", params(("id" = String, Path)),
    request_body = PayoutReasonBody,
    responses((status = 200, description = "The rejected payout.", body = PayoutView), ConflictProblems),
    security(("bearer" = [])))]
#[post("/api/payments/payouts/{id}/reject/")]
pub async fn reject_payout(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<PayoutId>(&path)?;
    let input: PayoutReasonBody = parse_body(&req, &body)?;
    let payout = state.payouts.reject(actor, id, input.reason).await?;
    Ok(HttpResponse::Ok().json(PayoutView::from(&payout)))
}

/// Records that a bank transfer was sent, with the bank's reference (admin).
#[utoipa::path(tag = "payouts", params(("id" = String, Path)),
    request_body = MarkPaidBody,
    responses((status = 200, description = "The paid payout.", body = PayoutView), ConflictProblems),
    security(("bearer" = [])))]
#[post("/api/payments/payouts/{id}/mark-paid/")]
pub async fn mark_paid(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<PayoutId>(&path)?;
    let input: MarkPaidBody = parse_body(&req, &body)?;
    let payout = state.payouts.mark_paid(actor, id, input.reference).await?;
    Ok(HttpResponse::Ok().json(PayoutView::from(&payout)))
}

/// Records that a bank transfer failed or bounced (admin); its money is
/// available again.
#[utoipa::path(tag = "payouts", params(("id" = String, Path)),
    request_body = PayoutReasonBody,
    responses((status = 200, description = "The failed payout.", body = PayoutView), ConflictProblems),
    security(("bearer" = [])))]
#[post("/api/payments/payouts/{id}/mark-failed/")]
pub async fn mark_failed(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<PayoutId>(&path)?;
    let input: PayoutReasonBody = parse_body(&req, &body)?;
    let payout = state.payouts.mark_failed(actor, id, input.reason).await?;
    Ok(HttpResponse::Ok().json(PayoutView::from(&payout)))
}
