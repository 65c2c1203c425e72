//! `GET /api/payments/admin/ledger/{account}/`: an account's kept balance
//! and its entries, newest first (admin).

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use domain::ledger::Account;
use domain::money::Currency;
use domain::paging::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Admin;
use crate::error::ApiError;
use crate::json::parse_query;
use crate::routes::checked_limit;

/// Query of the ledger endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LedgerParams {
    /// ISO-4217 currency of the entries.
    pub currency: String,
    /// Live (`true`) or test (`false`) money: each mode has its own
    /// books. Default: live when a live gateway is served, test otherwise.
    pub livemode: Option<bool>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// One entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntryItem {
    /// Journal id (`jnl_…`).
    pub journal_id: String,
    /// `sale` or `refund`.
    pub kind: String,
    /// The payment (`pay_…`).
    pub payment_id: Option<String>,
    /// Signed amount: debit positive, credit negative.
    pub amount: String,
    /// Posted at.
    pub posted_at: DateTime<Utc>,
}

/// An account's balance and entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerAccountView {
    /// The account, e.g. `platform_revenue`, `instructor_payable:42`.
    pub account: String,
    /// Currency.
    pub currency: String,
    /// Which money: `true` live, `false` test.
    pub livemode: bool,
    /// Kept balance (debit positive).
    pub balance: String,
    /// Entries, newest first.
    pub entries: Vec<LedgerEntryItem>,
    /// Pass as `cursor` for older entries; `null` at the first entry.
    pub next_cursor: Option<String>,
}

/// An account's kept balance and its entries, newest first (admin).
#[utoipa::path(tag = "admin",
    params(("account" = String, Path, description = "e.g. `platform_revenue`, `instructor_payable:42`, `gateway_clearing:stripe`"), LedgerParams),
    responses((status = 200, description = "The account's balance and a page of its entries, newest first.",
        body = LedgerAccountView)),
    security(("bearer" = [])))]
#[get("/api/payments/admin/ledger/{account}/")]
pub async fn account(
    state: web::Data<AppState>,
    Admin(_actor): Admin,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let account: Account = path.parse().map_err(|_| ApiError::NotFound)?;
    let params: LedgerParams = parse_query(&req)?;
    let currency =
        Currency::from_code(&params.currency).map_err(|_| ApiError::InvalidQuery("unknown currency".into()))?;
    let before = params
        .cursor
        .as_deref()
        .map(|c| c.parse::<i64>().map_err(|_| ApiError::InvalidQuery("malformed cursor".into())))
        .transpose()?;
    let limit = PageRequest::new(None, checked_limit(params.limit)?).limit;
    let livemode = params.livemode.unwrap_or_else(|| state.stats.default_mode().is_live());
    let balance = state.ledger.balance(account, currency, livemode).await?;
    let entries = state.ledger.entries(account, currency, livemode, before, limit).await?;
    let full_page = entries.len() == usize::try_from(limit).unwrap_or(usize::MAX);
    Ok(HttpResponse::Ok().json(LedgerAccountView {
        account: account.code(),
        currency: currency.code().to_owned(),
        livemode,
        balance: balance.to_major_string(),
        next_cursor: if full_page { entries.last().map(|e| e.sequence.to_string()) } else { None },
        entries: entries
            .iter()
            .map(|e| LedgerEntryItem {
                journal_id: e.journal_id.to_string(),
                kind: e.kind.clone(),
                payment_id: e.payment_id.map(|p| p.to_string()),
                amount: e.amount.to_major_string(),
                posted_at: e.posted_at,
            })
            .collect(),
    }))
}
