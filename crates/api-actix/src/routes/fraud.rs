//! Admin endpoints of the fraud controls (docs/fraud.md): velocity rules,
//! the block list, and the decisions recorded on a payment. Every change is
//! audited (`audit_log`, kinds `fraud_rule` and `fraud_block`).

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, TimeDelta, Utc};
use domain::fraud::{Action, Block, Fired, FraudRule, RecordedDecision, Signal, Subject};
use domain::ids::{FraudBlockId, FraudRuleId, PaymentId, UserId};
use domain::ports::DecisionQuery;
use domain::usecases::fraud::{BlockInput, FraudError, RuleInput};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, FieldError};
use crate::json::{parse_body, parse_query};
use crate::routes::{fail_on, path_id};

pub(crate) fn to_api(error: FraudError) -> ApiError {
    match error {
        FraudError::Forbidden(_) => ApiError::Forbidden,
        FraudError::NotFound => ApiError::NotFound,
        FraudError::Invalid(field, why) => ApiError::Validation(vec![FieldError::new(field, why)]),
        FraudError::Store(e) => crate::convert::store(e),
    }
}

/// A velocity rule as written (`POST` and `PUT`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    /// A name for people, 1 to 200 characters.
    pub name: String,
    /// What is counted against: `user`, `client_address` (IPv6 per /64),
    /// `email` (screened when a payment is created) or `card_fingerprint`
    /// (screened when a payment is confirmed with a card the gateway
    /// describes before charging it).
    pub subject: String,
    /// What is counted: `attempts` (let through), `declines` (declined,
    /// plus attempts still in flight) or `refunds` (the user's refund
    /// requests; subject `user`, action `review`: their next request takes
    /// two admins).
    pub signal: String,
    /// The count at which the rule fires (1 to 100000).
    pub limit: u32,
    /// How far back is counted, in seconds (1 to 7776000, 90 days).
    pub window_seconds: u32,
    /// `refuse` (403 `payment_refused_by_rules` before any gateway call)
    /// or `review`.
    pub action: String,
    /// For a refusing rule: how long a subject whose confirmed count
    /// reached the limit is blocked, in seconds (an entry of the block
    /// list).
    pub stop_seconds: Option<u32>,
    /// Whether it applies; true when absent.
    pub enabled: Option<bool>,
}

/// A stored rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    /// Its id (`frr_…`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// `user`, `client_address` or `email`.
    pub subject: String,
    /// `attempts` or `declines`.
    pub signal: String,
    /// The count at which it fires.
    pub limit: u32,
    /// How far back is counted, in seconds.
    pub window_seconds: i64,
    /// `refuse` or `review`.
    pub action: String,
    /// How long a subject is blocked once the limit is reached, in seconds.
    pub stop_seconds: Option<i64>,
    /// Whether it applies.
    pub enabled: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&FraudRule> for RuleView {
    fn from(rule: &FraudRule) -> Self {
        RuleView {
            id: rule.id.to_string(),
            name: rule.name.clone(),
            subject: rule.subject.as_str().to_owned(),
            signal: rule.signal.as_str().to_owned(),
            limit: rule.limit,
            window_seconds: rule.window.num_seconds(),
            action: rule.action.as_str().to_owned(),
            stop_seconds: rule.stop_for.map(|d| d.num_seconds()),
            enabled: rule.enabled,
            created_at: rule.created_at,
            updated_at: rule.updated_at,
        }
    }
}

/// Parses one of a closed list of names, or names the field and the list.
fn one_of<T: std::str::FromStr>(
    field: &'static str,
    raw: &str,
    names: &[&str],
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let parsed = raw.parse::<T>().ok().filter(|_| names.contains(&raw));
    if parsed.is_none() {
        errors.push(FieldError::new(field, format!("must be one of: {}", names.join(", "))));
    }
    parsed
}

pub(crate) fn rule_input(body: RuleBody) -> Result<RuleInput, ApiError> {
    let mut errors = Vec::new();
    let subjects: Vec<&str> = Subject::ALL.iter().map(Subject::as_str).collect();
    let subject = one_of::<Subject>("subject", &body.subject, &subjects, &mut errors);
    let signals: Vec<&str> = Signal::ALL.iter().map(Signal::as_str).collect();
    let signal = one_of::<Signal>("signal", &body.signal, &signals, &mut errors);
    let actions: Vec<&str> = Action::ALL.iter().map(Action::as_str).collect();
    let action = one_of::<Action>("action", &body.action, &actions, &mut errors);
    fail_on(errors)?;
    let (Some(subject), Some(signal), Some(action)) = (subject, signal, action) else {
        return Err(ApiError::Validation(Vec::new()));
    };
    Ok(RuleInput {
        name: body.name,
        subject,
        signal,
        limit: body.limit,
        window: TimeDelta::seconds(i64::from(body.window_seconds)),
        action,
        stop_for: body.stop_seconds.map(|s| TimeDelta::seconds(i64::from(s))),
        enabled: body.enabled.unwrap_or(true),
    })
}

/// Every rule, oldest first (admin).
#[utoipa::path(tag = "admin",
    responses((status = 200, description = "Every fraud rule, oldest first.", body = Vec<RuleView>)),
    security(("bearer" = [])))]
#[get("/api/payments/admin/fraud/rules/")]
pub async fn list_rules(state: web::Data<AppState>, Admin(actor): Admin) -> Result<HttpResponse, ApiError> {
    let rules = state.fraud.rules(actor).await.map_err(to_api)?;
    Ok(HttpResponse::Ok().json(rules.iter().map(RuleView::from).collect::<Vec<_>>()))
}

/// Adds a velocity rule (admin); it applies from the next attempt on.
/// Audited.
#[utoipa::path(tag = "admin", request_body = RuleBody,
    responses((status = 201, description = "The new rule.", body = RuleView)),
    security(("bearer" = [])))]
#[post("/api/payments/admin/fraud/rules/")]
pub async fn create_rule(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input = rule_input(parse_body(&req, &body)?)?;
    let rule = state.fraud.create_rule(actor, input).await.map_err(to_api)?;
    tracing::info!(rule = %rule.id, by = actor.user_id.get(), "fraud rule created");
    Ok(HttpResponse::Created().json(RuleView::from(&rule)))
}

/// Replaces a rule's settings (admin). Audited.
#[utoipa::path(tag = "admin", params(("id" = String, Path)), request_body = RuleBody,
    responses((status = 200, description = "The rule as it now is.", body = RuleView)),
    security(("bearer" = [])))]
#[put("/api/payments/admin/fraud/rules/{id}/")]
pub async fn update_rule(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id: FraudRuleId = path_id(&path)?;
    let input = rule_input(parse_body(&req, &body)?)?;
    let rule = state.fraud.update_rule(actor, id, input).await.map_err(to_api)?;
    tracing::info!(rule = %rule.id, by = actor.user_id.get(), "fraud rule changed");
    Ok(HttpResponse::Ok().json(RuleView::from(&rule)))
}

/// Deletes a rule (admin); recorded decisions keep its name and why.
/// Audited.
#[utoipa::path(tag = "admin", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted.")),
    security(("bearer" = [])))]
#[delete("/api/payments/admin/fraud/rules/{id}/")]
pub async fn delete_rule(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: FraudRuleId = path_id(&path)?;
    state.fraud.delete_rule(actor, id).await.map_err(to_api)?;
    tracing::info!(rule = %id, by = actor.user_id.get(), "fraud rule deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// An entry of the block list as written.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockBody {
    /// `user`, `client_address`, `email` or `card_fingerprint`.
    pub subject: String,
    /// A user id, an address or CIDR range, an e-mail, or a gateway's card
    /// fingerprint.
    pub value: String,
    /// Why, 1 to 1000 characters.
    pub reason: String,
    /// When it stops applying (RFC 3339, in the future); never when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

/// An entry of the block list.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockView {
    /// Its id (`frb_…`).
    pub id: String,
    /// What is blocked.
    pub subject: String,
    /// The value, normalised (an address as a CIDR range, an e-mail
    /// lower-cased).
    pub value: String,
    /// Why.
    pub reason: String,
    /// When it stops applying.
    pub expires_at: Option<DateTime<Utc>>,
    /// The admin who added it; absent when a rule's stop did.
    pub created_by: Option<i64>,
    /// The rule whose stop added it.
    pub rule_id: Option<String>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

impl From<&Block> for BlockView {
    fn from(block: &Block) -> Self {
        BlockView {
            id: block.id.to_string(),
            subject: block.subject.as_str().to_owned(),
            value: block.value.clone(),
            reason: block.reason.clone(),
            expires_at: block.expires_at,
            created_by: block.created_by.map(|u| u.get()),
            rule_id: block.rule_id.map(|r| r.to_string()),
            created_at: block.created_at,
        }
    }
}

/// Query of the block list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BlockListParams {
    /// Also list entries that have expired.
    pub include_expired: Option<bool>,
}

/// The block list, newest first, at most 1000 entries (admin).
#[utoipa::path(tag = "admin", params(BlockListParams),
    responses((status = 200, description = "Entries of the block list, newest first.", body = Vec<BlockView>)),
    security(("bearer" = [])))]
#[get("/api/payments/admin/fraud/blocks/")]
pub async fn list_blocks(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query: BlockListParams = parse_query(&req)?;
    let blocks = state.fraud.blocks(actor, query.include_expired.unwrap_or(false)).await.map_err(to_api)?;
    Ok(HttpResponse::Ok().json(blocks.iter().map(BlockView::from).collect::<Vec<_>>()))
}

/// Adds an entry to the block list (admin): attempts it matches are
/// refused from the next one on. Audited.
#[utoipa::path(tag = "admin", request_body = BlockBody,
    responses((status = 201, description = "The new entry.", body = BlockView)),
    security(("bearer" = [])))]
#[post("/api/payments/admin/fraud/blocks/")]
pub async fn add_block(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: BlockBody = parse_body(&req, &body)?;
    let mut errors = Vec::new();
    let names: Vec<&str> = Subject::ALL.iter().map(Subject::as_str).collect();
    let subject = one_of::<Subject>("subject", &input.subject, &names, &mut errors);
    fail_on(errors)?;
    let Some(subject) = subject else {
        return Err(ApiError::Validation(Vec::new()));
    };
    let input = BlockInput { subject, value: input.value, reason: input.reason, expires_at: input.expires_at };
    let block = state.fraud.add_block(actor, input).await.map_err(to_api)?;
    tracing::info!(block = %block.id, subject = block.subject.as_str(), by = actor.user_id.get(), "blocked");
    Ok(HttpResponse::Created().json(BlockView::from(&block)))
}

/// Removes an entry of the block list, a rule's stop included (admin).
/// Audited.
#[utoipa::path(tag = "admin", params(("id" = String, Path)),
    responses((status = 204, description = "Removed.")),
    security(("bearer" = [])))]
#[delete("/api/payments/admin/fraud/blocks/{id}/")]
pub async fn remove_block(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: FraudBlockId = path_id(&path)?;
    state.fraud.remove_block(actor, id).await.map_err(to_api)?;
    tracing::info!(block = %id, by = actor.user_id.get(), "unblocked");
    Ok(HttpResponse::NoContent().finish())
}

/// A rule that fired or a block that matched.
#[derive(Debug, Serialize, ToSchema)]
pub struct FiredView {
    /// The rule, if a rule fired.
    pub rule_id: Option<String>,
    /// The block, if a block matched.
    pub block_id: Option<String>,
    /// The rule's name, or `block list`.
    pub name: String,
    /// `refuse` or `review`.
    pub action: String,
    /// Why, in words.
    pub why: String,
}

impl From<&Fired> for FiredView {
    fn from(f: &Fired) -> Self {
        FiredView {
            rule_id: f.rule_id.map(|id| id.to_string()),
            block_id: f.block_id.map(|id| id.to_string()),
            name: f.name.clone(),
            action: f.action.as_str().to_owned(),
            why: f.why.clone(),
        }
    }
}

/// A screening in which something fired.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    /// Its id (`frd_…`).
    pub id: String,
    /// The payment attempted (never stored when refused).
    pub payment_id: String,
    /// Who attempted.
    pub user_id: i64,
    /// `allow`, `review` or `refuse`.
    pub outcome: String,
    /// Every rule that fired and block that matched.
    pub fired: Vec<FiredView>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<&RecordedDecision> for DecisionView {
    fn from(d: &RecordedDecision) -> Self {
        DecisionView {
            id: d.id.to_string(),
            payment_id: d.payment_id.to_string(),
            user_id: d.user_id.get(),
            outcome: d.outcome.as_str().to_owned(),
            fired: d.fired.iter().map(FiredView::from).collect(),
            created_at: d.at,
        }
    }
}

/// Query of the decisions.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DecisionListParams {
    /// Only the decision on this payment's attempt (`pay_…`; a refused
    /// attempt's payment is never stored).
    pub payment_id: Option<String>,
    /// Only this user's attempts.
    pub user_id: Option<i64>,
}

/// The screenings in which a rule fired or a block matched (all of a named
/// payment's, else the newest 100),
/// newest first, with which and why (admin).
#[utoipa::path(tag = "admin", params(DecisionListParams),
    responses((status = 200, description = "Decisions, newest first.", body = Vec<DecisionView>)),
    security(("bearer" = [])))]
#[get("/api/payments/admin/fraud/decisions/")]
pub async fn list_decisions(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params: DecisionListParams = parse_query(&req)?;
    let payment_id = params
        .payment_id
        .map(|raw| {
            raw.parse::<PaymentId>().map_err(|_| ApiError::InvalidQuery("payment_id is not a payment id".into()))
        })
        .transpose()?;
    let user_id = match params.user_id {
        Some(id) if id <= 0 => return Err(ApiError::InvalidQuery("user_id must be a positive user id".into())),
        other => other.map(UserId::new),
    };
    let decisions = state
        .fraud
        .decisions(actor, DecisionQuery { payment_ids: payment_id.into_iter().collect(), user_id })
        .await
        .map_err(to_api)?;
    Ok(HttpResponse::Ok().json(decisions.iter().map(DecisionView::from).collect::<Vec<_>>()))
}

/// An admin's decision on a payment held for review.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// `release` (the sale completes: journal, `payment.completed`) or
    /// `refund` (the money goes back in full).
    pub decision: String,
    /// Why, 1 to 1000 characters; required to refund.
    pub reason: Option<String>,
}

/// Decides a payment held for review (admin): releases it as a sale or
/// refunds it in full. Audited (`payment.review.release` /
/// `payment.review.refund`). A payment not held is `invalid_transition`
/// (a release repeated answers the payment as it is).
#[utoipa::path(tag = "admin", params(("id" = String, Path)), request_body = ReviewBody,
    responses((status = 200, description = "The payment after the decision.", body = crate::dto::PaymentView),
        crate::openapi::problems::ConflictProblems),
    security(("bearer" = [])))]
#[post("/api/payments/{id}/review/")]
pub async fn review_payment(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id: PaymentId = path_id(&path)?;
    let input: ReviewBody = parse_body(&req, &body)?;
    let before = state.payments.get(actor, id).await?;
    let payment = match input.decision.as_str() {
        "release" => state.payments.release(actor, id).await?,
        "refund" => {
            state.refunds.refund_held(id, Some(actor), input.reason.clone().unwrap_or_default()).await?;
            state.payments.get(actor, id).await?
        }
        _ => return Err(ApiError::Validation(vec![FieldError::new("decision", "must be one of: release, refund")])),
    };
    let entry = web_ports::console::AuditEntry {
        actor,
        action: format!("payment.review.{}", input.decision),
        object_id: id.to_string(),
        before: Some(serde_json::json!({"status": before.status.as_str()})),
        after: Some(serde_json::json!({"status": payment.status.as_str(), "reason": input.reason})),
        at: Utc::now(),
    };
    state.console.record(entry).await.map_err(crate::convert::store)?;
    tracing::info!(payment = %id, decision = input.decision.as_str(), by = actor.user_id.get(), "review decided");
    Ok(HttpResponse::Ok().json(crate::dto::PaymentView::from(&payment)))
}
