//! Settlement reconciliation (admin): the runs over the gateways' books,
//! the lines they read with what each matched, the payouts to the
//! platform's bank, and the discrepancies with their resolution; see
//! docs/reconciliation.md.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use domain::ids::{DiscrepancyId, SettlementRunId};
use domain::ports::{DiscrepancyQuery, LineQuery, PayoutSummary, ReconciledLine};
use domain::reconciliation::{DiscrepancyStatus, Resolution, SettledGateway, SettlementRun};
use representations::DiscrepancyView;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, FieldError};
use crate::json::{parse_body, parse_query};
use crate::openapi::problems::{ConflictProblems, ReferenceProblems};
use crate::routes::{checked_limit, path_id};

/// A list, in the order its endpoint states.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListView<T: ToSchema> {
    /// The items.
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last (lines only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Which gateway and mode.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunParams {
    /// `stripe` or `paypal`.
    pub gateway: Option<String>,
    /// Live (`true`) or test (`false`) money; both when absent.
    pub livemode: Option<bool>,
    /// At most this many, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

fn gateway(name: Option<&str>) -> Result<Option<SettledGateway>, ApiError> {
    name.map(|g| g.parse().map_err(|_| ApiError::InvalidQuery("gateway must be stripe or paypal".into()))).transpose()
}

fn run_id(raw: Option<&str>) -> Result<Option<SettlementRunId>, ApiError> {
    raw.map(|r| r.parse().map_err(|_| ApiError::InvalidQuery("malformed run".into()))).transpose()
}

fn limit(asked: Option<u32>) -> Result<u32, ApiError> {
    Ok(checked_limit(asked)?.unwrap_or(20))
}

/// One reconciliation run: a gateway's books of one UTC day.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    /// Id (`srun_…`).
    pub id: String,
    /// `stripe` or `paypal`.
    pub gateway: String,
    /// Live or test money.
    pub livemode: bool,
    /// The period's first instant.
    pub since: DateTime<Utc>,
    /// The first instant after it.
    pub until: DateTime<Utc>,
    /// `reading`, `payouts`, `matching` or `done`.
    pub step: String,
    /// Times started or resumed.
    pub attempts: i32,
    /// Lines read for the period.
    pub lines_read: i32,
    /// Objects that agree.
    pub matched: i32,
    /// Objects and lines that do not.
    pub differing: i32,
    /// Why the last attempt stopped, if it failed.
    pub last_error: Option<String>,
    /// First started.
    pub started_at: DateTime<Utc>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<&SettlementRun> for RunView {
    fn from(run: &SettlementRun) -> Self {
        RunView {
            id: run.id.to_string(),
            gateway: run.gateway.as_str().to_owned(),
            livemode: run.livemode,
            since: run.period.since(),
            until: run.period.until(),
            step: run.step.as_str().to_owned(),
            attempts: run.attempts,
            lines_read: run.lines_read,
            matched: run.matched,
            differing: run.differing,
            last_error: run.last_error.clone(),
            started_at: run.started_at,
            finished_at: run.finished_at,
        }
    }
}

/// Reconciliation runs, newest day first (admin).
#[utoipa::path(tag = "reconciliation", params(RunParams),
    responses((status = 200, description = "Runs, newest day first.", body = ListView<RunView>)),
    security(("bearer" = [])))]
#[get("/api/payments/admin/reconciliation/runs/")]
pub async fn list_runs(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params: RunParams = parse_query(&req)?;
    let runs = state
        .settlement
        .runs(actor, gateway(params.gateway.as_deref())?, params.livemode, limit(params.limit)?)
        .await?;
    Ok(HttpResponse::Ok().json(ListView { data: runs.iter().map(RunView::from).collect(), next_cursor: None }))
}

/// Filters of the lines list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LineParams {
    /// `stripe` or `paypal`.
    pub gateway: Option<String>,
    /// Live (`true`) or test (`false`) money; both when absent.
    pub livemode: Option<bool>,
    /// Read by this run (`srun_…`).
    pub run: Option<String>,
    /// `matched`, `amount_differs`, `fee_differs`, `missing_in_ledger` or
    /// `unexpected_type`.
    pub result: Option<String>,
    /// `charge`, `refund`, `dispute`, `fee`, `transfer`,
    /// `transfer_reversal`, `bank_payout`, ... (`other:<name>` for a type
    /// Skillpay does not know).
    pub kind: Option<String>,
    /// Paid out by this bank payout (the gateway's id, `po_…`).
    pub payout: Option<String>,
    /// Booked at or after.
    pub since: Option<DateTime<Utc>>,
    /// Booked before.
    pub until: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// One line of a gateway's books, with what reconciliation made of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineView {
    /// The gateway's id of the line (`txn_…`, a PayPal transaction id).
    pub id: String,
    /// `stripe` or `paypal`.
    pub gateway: String,
    /// Live or test money.
    pub livemode: bool,
    /// What it books (see `kind` of the filters).
    pub kind: String,
    /// Gross, signed as the gateway's balance sees it (in positive).
    pub amount: String,
    /// What the gateway kept.
    pub fee: String,
    /// `amount - fee`.
    pub net: String,
    /// Currency.
    pub currency: String,
    /// The gateway object it books (`ch_…`, `re_…`, `dp_…`, ...).
    pub source: Option<String>,
    /// The object that one belongs to (a PaymentIntent, a PayPal order, a
    /// capture, a transfer).
    pub reference: Option<String>,
    /// The bank payout that paid it out.
    pub payout: Option<String>,
    /// When the gateway booked it.
    pub created_at: DateTime<Utc>,
    /// The run that read it.
    pub run_id: String,
    /// `sale`, `refund`, `dispute` or `transfer`: what Skillpay matched
    /// it with; absent when nothing it makes explains the line.
    pub object_kind: Option<String>,
    /// The gateway id Skillpay stores for that object.
    pub object_id: Option<String>,
    /// Its object's latest result; absent for bank payouts.
    pub result: Option<String>,
}

impl From<&ReconciledLine> for LineView {
    fn from(l: &ReconciledLine) -> Self {
        LineView {
            id: l.line.id.clone(),
            gateway: l.gateway.as_str().to_owned(),
            livemode: l.livemode,
            kind: l.line.kind.name(),
            amount: l.line.amounts.amount().to_major_string(),
            fee: l.line.amounts.fee().to_major_string(),
            net: l.line.amounts.net().to_major_string(),
            currency: l.line.amounts.currency().code().to_owned(),
            source: l.line.source.clone(),
            reference: l.line.reference.clone(),
            payout: l.line.payout.clone(),
            created_at: l.line.created,
            run_id: l.run_id.to_string(),
            object_kind: l.object.as_ref().map(|(k, _)| k.as_str().to_owned()),
            object_id: l.object.as_ref().map(|(_, id)| id.clone()),
            result: l.result.clone(),
        }
    }
}

/// The query of a lines request.
pub fn line_query(params: LineParams) -> Result<LineQuery, ApiError> {
    let after = params
        .cursor
        .as_deref()
        .map(|c| {
            let (micros, id) = c.split_once(':').ok_or_else(|| ApiError::InvalidQuery("malformed cursor".into()))?;
            let at = micros
                .parse::<i64>()
                .ok()
                .and_then(DateTime::from_timestamp_micros)
                .ok_or_else(|| ApiError::InvalidQuery("malformed cursor".into()))?;
            Ok::<_, ApiError>((at, id.to_owned()))
        })
        .transpose()?;
    Ok(LineQuery {
        gateway: gateway(params.gateway.as_deref())?,
        livemode: params.livemode,
        run_id: run_id(params.run.as_deref())?,
        result: params.result,
        kind: params.kind,
        payout: params.payout,
        since: params.since,
        until: params.until,
        after,
        limit: limit(params.limit)?,
    })
}

/// The cursor after `line`.
pub fn line_cursor(line: &ReconciledLine) -> String {
    format!("{}:{}", line.line.created.timestamp_micros(), line.line.id)
}

/// The lines read from the gateways' books, oldest first, with filters
/// (admin).
#[utoipa::path(tag = "reconciliation", params(LineParams),
    responses((status = 200, description = "Lines, oldest first.", body = ListView<LineView>)),
    security(("bearer" = [])))]
#[get("/api/payments/admin/reconciliation/lines/")]
pub async fn list_lines(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = line_query(parse_query(&req)?)?;
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let lines = state.settlement.lines(actor, query).await?;
    let next_cursor = (lines.len() == limit).then(|| lines.last().map(line_cursor)).flatten();
    Ok(HttpResponse::Ok().json(ListView { data: lines.iter().map(LineView::from).collect(), next_cursor }))
}

/// What one kind of line of a payout sums to.
#[derive(Debug, Serialize, ToSchema)]
pub struct KindTotal {
    /// `charge`, `refund`, `dispute`, `fee`, `transfer`, ...
    pub kind: String,
    /// Sum of the nets.
    pub net: String,
    /// Sum of the fees.
    pub fee: String,
    /// Lines.
    pub lines: i64,
}

/// A payout of a gateway's balance to the platform's bank.
#[derive(Debug, Serialize, ToSchema)]
pub struct BankPayoutView {
    /// The gateway's id (`po_…`).
    pub id: String,
    /// `stripe` or `paypal`.
    pub gateway: String,
    /// Live or test money.
    pub livemode: bool,
    /// What was sent to the bank.
    pub amount: String,
    /// Currency.
    pub currency: String,
    /// `pending`, `in_transit`, `paid`, `failed`, `canceled`.
    pub status: String,
    /// Made.
    pub created_at: DateTime<Utc>,
    /// Expected at (or reached) the bank.
    pub arrival_at: Option<DateTime<Utc>>,
    /// Whether the gateway has said which lines it paid out.
    pub itemised: bool,
    /// Its lines summed per kind.
    pub totals: Vec<KindTotal>,
    /// Its lines whose object agrees with the ledger.
    pub matched: i64,
    /// Its lines that do not.
    pub differing: i64,
}

impl From<&PayoutSummary> for BankPayoutView {
    fn from(s: &PayoutSummary) -> Self {
        let currency = s.payout.amount.currency();
        let money = |minor| domain::money::Money::from_minor(minor, currency).to_major_string();
        BankPayoutView {
            id: s.payout.id.clone(),
            gateway: s.gateway.as_str().to_owned(),
            livemode: s.livemode,
            amount: s.payout.amount.to_major_string(),
            currency: currency.code().to_owned(),
            status: s.payout.status.name().to_owned(),
            created_at: s.payout.created,
            arrival_at: s.payout.arrival,
            itemised: s.itemised,
            totals: s
                .by_kind
                .iter()
                .map(|(kind, net, fee, lines)| KindTotal {
                    kind: kind.clone(),
                    net: money(*net),
                    fee: money(*fee),
                    lines: *lines,
                })
                .collect(),
            matched: s.matched,
            differing: s.differing,
        }
    }
}

/// The gateways' payouts to the platform's bank, newest first, each with
/// its lines summed (admin).
#[utoipa::path(tag = "reconciliation", params(RunParams),
    responses((status = 200, description = "Payouts, newest first.", body = ListView<BankPayoutView>)),
    security(("bearer" = [])))]
#[get("/api/payments/admin/reconciliation/payouts/")]
pub async fn list_bank_payouts(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params: RunParams = parse_query(&req)?;
    let payouts = state
        .settlement
        .payouts(actor, gateway(params.gateway.as_deref())?, params.livemode, limit(params.limit)?)
        .await?;
    Ok(HttpResponse::Ok()
        .json(ListView { data: payouts.iter().map(BankPayoutView::from).collect(), next_cursor: None }))
}

/// Filters of the discrepancies list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiscrepancyParams {
    /// `open`, `adjusted`, `explained` or `cleared`.
    pub status: Option<String>,
    /// `stripe` or `paypal`.
    pub gateway: Option<String>,
    /// Live (`true`) or test (`false`) money; both when absent.
    pub livemode: Option<bool>,
    /// Last found by this run (`srun_…`).
    pub run: Option<String>,
    /// At most this many, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The differences found between the gateways' books and the ledger,
/// newest first (admin).
#[utoipa::path(tag = "reconciliation", params(DiscrepancyParams),
    responses((status = 200, description = "Discrepancies, newest first.", body = ListView<DiscrepancyView>)),
    security(("bearer" = [])))]
#[get("/api/payments/admin/reconciliation/discrepancies/")]
pub async fn list_discrepancies(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params: DiscrepancyParams = parse_query(&req)?;
    let query = DiscrepancyQuery {
        gateway: gateway(params.gateway.as_deref())?,
        livemode: params.livemode,
        status: params
            .status
            .as_deref()
            .map(|s| s.parse::<DiscrepancyStatus>().map_err(|_| ApiError::InvalidQuery("unknown status".into())))
            .transpose()?,
        run_id: run_id(params.run.as_deref())?,
        limit: limit(params.limit)?,
    };
    let found = state.settlement.discrepancies(actor, query).await?;
    Ok(HttpResponse::Ok().json(ListView { data: found.iter().map(DiscrepancyView::from).collect(), next_cursor: None }))
}

/// One discrepancy (admin).
#[utoipa::path(tag = "reconciliation", params(("id" = String, Path)),
    responses((status = 200, description = "The discrepancy.", body = DiscrepancyView), ReferenceProblems),
    security(("bearer" = [])))]
#[get("/api/payments/admin/reconciliation/discrepancies/{id}/")]
pub async fn get_discrepancy(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let found = state.settlement.discrepancy(actor, path_id::<DiscrepancyId>(&path)?).await?;
    Ok(HttpResponse::Ok().json(DiscrepancyView::from(&found)))
}

/// Body of `POST /api/payments/admin/reconciliation/discrepancies/{id}/resolve/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveDiscrepancyBody {
    /// `accept`: the gateway's figure is right; an adjusting journal books
    /// the difference. `explain`: the ledger is right; nothing is booked.
    pub action: String,
    /// Why (1 to 1000 characters); kept with the resolution and audited.
    pub reason: String,
}

/// Resolves an open discrepancy (admin): accept the gateway's figure with
/// an adjusting journal, or mark it explained. Once only: 409 after.
#[utoipa::path(tag = "reconciliation", params(("id" = String, Path)),
    request_body = ResolveDiscrepancyBody,
    responses((status = 200, description = "The resolved discrepancy.", body = DiscrepancyView), ConflictProblems),
    security(("bearer" = [])))]
#[post("/api/payments/admin/reconciliation/discrepancies/{id}/resolve/")]
pub async fn resolve_discrepancy(
    state: web::Data<AppState>,
    Admin(actor): Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<DiscrepancyId>(&path)?;
    let input: ResolveDiscrepancyBody = parse_body(&req, &body)?;
    let resolution = match input.action.as_str() {
        "accept" => Resolution::Accept { reason: input.reason },
        "explain" => Resolution::Explain { reason: input.reason },
        _ => return Err(ApiError::Validation(vec![FieldError::new("action", "must be accept or explain")])),
    };
    let resolved = state.settlement.resolve(actor, id, resolution).await?;
    Ok(HttpResponse::Ok().json(DiscrepancyView::from(&resolved)))
}
