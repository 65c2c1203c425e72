//! The fraud controls in the console (admins): payments held for review
//! with the rules that held them (release or refund), the velocity rules
//! and the block list (add, switch off, remove). Every action is recorded
//! in the console's audit log; rule and block changes also in the money
//! audit trail, by the store.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::fraud::{Action, Block, FraudRule, RecordedDecision, Signal, Subject};
use domain::ids::{FraudBlockId, FraudRuleId, PaymentId};
use domain::payment::{Payment, PaymentStatus};
use domain::ports::{DecisionQuery, PaymentQuery};
use domain::usecases::fraud::BlockInput;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

use super::audit::record;
use super::error::ConsoleError;
use super::layout::{Section, csrf_field, html_page, money, page, see_other, time};
use super::session::{ConsoleUser, CsrfForm};
use crate::AppState;
use crate::error::{ApiError, FieldError};
use crate::routes::fraud::{RuleBody, rule_input, to_api};
use crate::routes::path_id;

/// Held payments shown, oldest first.
const HELD_SHOWN: u32 = 100;

const PAGE: &str = "/admin/fraud";

/// The fraud controls' page.
#[get("/fraud")]
pub async fn overview(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, ConsoleError> {
    user.require_admin()?;
    let query = PaymentQuery {
        status: Some(PaymentStatus::InReview.as_str()),
        livemode: Some(user.mode.is_live()),
        page: domain::paging::PageRequest::new(None, Some(HELD_SHOWN)).ordered(
            domain::paging::SortOrder::OldestFirst,
            None,
            None,
        ),
        ..PaymentQuery::default()
    };
    let held = state.payments.list(user.actor, query).await?.items;
    // One read of every held payment's decisions, not one per payment.
    let decisions = if held.is_empty() {
        Vec::new()
    } else {
        let query = DecisionQuery { payment_ids: held.iter().map(|p| p.id).collect(), user_id: None };
        state.fraud.decisions(user.actor, query).await.map_err(to_api)?
    };
    let rules = state.fraud.rules(user.actor).await.map_err(to_api)?;
    let blocks = state.fraud.blocks(user.actor, false).await.map_err(to_api)?;
    let body = html! {
        p.muted { "Rules that stop bad buyers before money moves, and the payments they hold. See docs/fraud.md." }
        h2 { "Held for review" }
        p.muted { "Paid, but no sale until released; refunded in full if nobody decides by the review deadline." }
        div.table-wrap {
            table #held {
                thead { tr { th { "Held" } th { "Payment" } th { "Buyer" } th { "Amount" } th { "Why" } th { "Decide" } } }
                tbody {
                    @for payment in &held { (held_row(&user, payment, &decisions)) }
                    @if held.is_empty() { tr { td colspan="6" .muted { "Nothing is held." } } }
                }
            }
        }
        h2 { "Rules" }
        div.table-wrap {
            table #rules {
                thead { tr { th { "Name" } th { "Counts" } th { "Limit" } th { "Action" } th { "Stop" } th { "" } } }
                tbody {
                    @for rule in &rules { (rule_row(&user, rule)) }
                    @if rules.is_empty() { tr { td colspan="6" .muted { "No rules." } } }
                }
            }
        }
        (rule_form(&user))
        h2 { "Block list" }
        div.table-wrap {
            table #blocks {
                thead { tr { th { "Blocked" } th { "Value" } th { "Why" } th { "Until" } th { "By" } th { "" } } }
                tbody {
                    @for block in &blocks { (block_row(&user, block)) }
                    @if blocks.is_empty() { tr { td colspan="6" .muted { "Nobody is blocked." } } }
                }
            }
        }
        (block_form(&user))
    };
    Ok(html_page(page(&user, Section::Fraud, "Fraud controls", body)))
}

fn held_row(user: &ConsoleUser, p: &Payment, decisions: &[RecordedDecision]) -> Markup {
    html! {
        tr data-held=(p.id) {
            td { @if let Some(at) = p.completed_at { (time(at)) } }
            td { a href={ "/admin/payments/" (p.id) } { (p.id) } }
            td { (p.user_id.get()) }
            td { (money(p.amount)) }
            td {
                @for d in decisions.iter().filter(|d| d.payment_id == p.id) {
                    @for f in &d.fired { div { (f.name) ": " (f.why) } }
                }
            }
            td {
                form.inline method="post" action={ (PAGE) "/payments/" (p.id) "/release" } {
                    (csrf_field(user))
                    button type="submit" { "Release" }
                }
                form.inline method="post" action={ (PAGE) "/payments/" (p.id) "/refund" } {
                    (csrf_field(user))
                    input type="text" name="reason" required maxlength="1000" placeholder="why refund";
                    button.secondary type="submit" { "Refund" }
                }
            }
        }
    }
}

fn rule_row(user: &ConsoleUser, rule: &FraudRule) -> Markup {
    html! {
        tr data-rule=(rule.id) {
            td { (rule.name) @if !rule.enabled { " " span.muted { "(off)" } } }
            td { (rule.signal.as_str()) " per " (rule.subject.as_str()) }
            td { (rule.limit) " in " (rule.window.num_seconds()) " s" }
            td { (rule.action.as_str()) }
            td { @if let Some(stop) = rule.stop_for { (stop.num_seconds()) " s" } }
            td {
                form.inline method="post" action={ (PAGE) "/rules/" (rule.id) "/switch" } {
                    (csrf_field(user))
                    button.secondary type="submit" { @if rule.enabled { "Switch off" } @else { "Switch on" } }
                }
                form.inline method="post" action={ (PAGE) "/rules/" (rule.id) "/delete" } {
                    (csrf_field(user))
                    button.secondary type="submit" { "Delete" }
                }
            }
        }
    }
}

fn rule_form(user: &ConsoleUser) -> Markup {
    html! {
        form #new-rule method="post" action={ (PAGE) "/rules" } {
            (csrf_field(user))
            input type="text" name="name" required maxlength="200" placeholder="name";
            select name="signal" { @for s in Signal::ALL { option value=(s.as_str()) { (s.as_str()) } } }
            select name="subject" {
                @for s in Subject::ALL { option value=(s.as_str()) { (s.as_str()) } }
            }
            input type="number" name="limit" required min="1" placeholder="limit";
            input type="number" name="window_seconds" required min="1" placeholder="window (s)";
            select name="action" { @for a in Action::ALL { option value=(a.as_str()) { (a.as_str()) } } }
            input type="number" name="stop_seconds" min="1" placeholder="stop (s), refuse only";
            button type="submit" { "Add rule" }
        }
    }
}

fn block_row(user: &ConsoleUser, block: &Block) -> Markup {
    html! {
        tr data-block=(block.id) {
            td { (block.subject.as_str()) }
            td { code { (block.value) } }
            td { (block.reason) }
            td { @match block.expires_at { Some(at) => (time(at)), None => "never" } }
            td { @match block.created_by { Some(admin) => (admin.get()), None => "a rule's stop" } }
            td {
                form.inline method="post" action={ (PAGE) "/blocks/" (block.id) "/remove" } {
                    (csrf_field(user))
                    button.secondary type="submit" { "Remove" }
                }
            }
        }
    }
}

fn block_form(user: &ConsoleUser) -> Markup {
    html! {
        form #new-block method="post" action={ (PAGE) "/blocks" } {
            (csrf_field(user))
            select name="subject" { @for s in Subject::ALL { option value=(s.as_str()) { (s.as_str()) } } }
            input type="text" name="value" required maxlength="254" placeholder="user id, address or CIDR, e-mail, fingerprint";
            input type="text" name="reason" required maxlength="1000" placeholder="why";
            input type="number" name="hours" min="1" placeholder="hours (empty: never expires)";
            button type="submit" { "Block" }
        }
    }
}

/// A refusal's reason.
#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    csrf: String,
    reason: String,
}

/// Releases a held payment: the sale completes.
#[post("/fraud/payments/{id}/release")]
pub async fn release(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let id: PaymentId = path_id(&path)?;
    let payment = state.payments.release(user.actor, id).await.map_err(ApiError::from)?;
    let after = json!({"status": payment.status.as_str()});
    record(&state, &user, "payment.review.release", id.to_string(), json!({"status": "in_review"}), after).await?;
    Ok(see_other(PAGE))
}

/// Refunds a held payment in full.
#[post("/fraud/payments/{id}/refund")]
pub async fn refund(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let id: PaymentId = path_id(&path)?;
    let refund = state.refunds.refund_held(id, Some(user.actor), form.reason.clone()).await.map_err(ApiError::from)?;
    let after = json!({"refund": refund.id.to_string(), "reason": refund.reason});
    record(&state, &user, "payment.review.refund", id.to_string(), json!({"status": "in_review"}), after).await?;
    Ok(see_other(PAGE))
}

/// A new rule's fields, as typed.
#[derive(Debug, Deserialize)]
pub struct RuleForm {
    csrf: String,
    name: String,
    subject: String,
    signal: String,
    limit: String,
    window_seconds: String,
    action: String,
    #[serde(default)]
    stop_seconds: String,
}

fn number(field: &'static str, text: &str) -> Result<u32, ConsoleError> {
    text.trim().parse().map_err(|_| ApiError::Validation(vec![FieldError::new(field, "a whole number")]).into())
}

/// Adds a rule.
#[post("/fraud/rules")]
pub async fn create_rule(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    form: web::Form<RuleForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let stop = form.stop_seconds.trim();
    let body = RuleBody {
        name: form.name.clone(),
        subject: form.subject.clone(),
        signal: form.signal.clone(),
        limit: number("limit", &form.limit)?,
        window_seconds: number("window_seconds", &form.window_seconds)?,
        action: form.action.clone(),
        stop_seconds: if stop.is_empty() { None } else { Some(number("stop_seconds", stop)?) },
        enabled: Some(true),
    };
    let rule = state.fraud.create_rule(user.actor, rule_input(body)?).await.map_err(to_api)?;
    let after = json!({"name": rule.name, "signal": rule.signal.as_str(), "limit": rule.limit});
    record(&state, &user, "fraud_rule.create", rule.id.to_string(), serde_json::Value::Null, after).await?;
    Ok(see_other(PAGE))
}

/// Switches a rule on or off.
#[post("/fraud/rules/{id}/switch")]
pub async fn switch_rule(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let id: FraudRuleId = path_id(&path)?;
    let rules = state.fraud.rules(user.actor).await.map_err(to_api)?;
    let rule = rules.into_iter().find(|r| r.id == id).ok_or(ApiError::NotFound)?;
    let input = domain::usecases::fraud::RuleInput {
        name: rule.name.clone(),
        subject: rule.subject,
        signal: rule.signal,
        limit: rule.limit,
        window: rule.window,
        action: rule.action,
        stop_for: rule.stop_for,
        enabled: !rule.enabled,
    };
    let after = state.fraud.update_rule(user.actor, id, input).await.map_err(to_api)?;
    let (before, after) = (json!({"enabled": rule.enabled}), json!({"enabled": after.enabled}));
    record(&state, &user, "fraud_rule.switch", id.to_string(), before, after).await?;
    Ok(see_other(PAGE))
}

/// Deletes a rule.
#[post("/fraud/rules/{id}/delete")]
pub async fn delete_rule(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let id: FraudRuleId = path_id(&path)?;
    state.fraud.delete_rule(user.actor, id).await.map_err(to_api)?;
    record(&state, &user, "fraud_rule.delete", id.to_string(), serde_json::Value::Null, json!({"deleted": true}))
        .await?;
    Ok(see_other(PAGE))
}

/// A new block's fields, as typed.
#[derive(Debug, Deserialize)]
pub struct BlockForm {
    csrf: String,
    subject: String,
    value: String,
    reason: String,
    #[serde(default)]
    hours: String,
}

/// Adds an entry to the block list.
#[post("/fraud/blocks")]
pub async fn add_block(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    form: web::Form<BlockForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let subject = form
        .subject
        .parse::<Subject>()
        .map_err(|_| ApiError::Validation(vec![FieldError::new("subject", "not a subject")]))?;
    let hours = form.hours.trim();
    let expires_at = if hours.is_empty() {
        None
    } else {
        Some(chrono::Utc::now() + chrono::Duration::hours(i64::from(number("hours", hours)?)))
    };
    let input = BlockInput { subject, value: form.value.clone(), reason: form.reason.clone(), expires_at };
    let block = state.fraud.add_block(user.actor, input).await.map_err(to_api)?;
    let after = json!({"subject": block.subject.as_str(), "value": block.value, "reason": block.reason});
    record(&state, &user, "fraud_block.add", block.id.to_string(), serde_json::Value::Null, after).await?;
    Ok(see_other(PAGE))
}

/// Removes an entry of the block list.
#[post("/fraud/blocks/{id}/remove")]
pub async fn remove_block(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    user.require_admin()?;
    let id: FraudBlockId = path_id(&path)?;
    state.fraud.remove_block(user.actor, id).await.map_err(to_api)?;
    record(&state, &user, "fraud_block.remove", id.to_string(), serde_json::Value::Null, json!({"removed": true}))
        .await?;
    Ok(see_other(PAGE))
}
