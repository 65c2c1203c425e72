//! Statistics (admins) and instructor earnings.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{Duration, NaiveDate, Utc};
use domain::catalog::ItemKind;
use domain::gateway_config::GatewayMode;
use domain::ids::UserId;
use domain::money::Money;
use domain::stats::{CurrencyTotals, DailyPoint, EarningsFigures, StatusGroup};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::json::{iso_date, major_units, parse_query};
use crate::routes::payouts::BalanceView;

/// Days covered when no range is given.
const DEFAULT_RANGE_DAYS: i64 = 30;

/// The date range of a statistics request.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RangeParams {
    /// First day (UTC, `YYYY-MM-DD`); default 29 days before `to`.
    pub from: Option<String>,
    /// Last day, inclusive (UTC, `YYYY-MM-DD`); default today.
    pub to: Option<String>,
    /// Earnings only, admins: whose (default: the caller's).
    pub instructor_id: Option<String>,
    /// `true` for live money, `false` for test money; default live while a
    /// live gateway is served, test otherwise.
    pub livemode: Option<String>,
}

/// The mode asked for, if any.
fn mode(params: &RangeParams) -> Result<Option<GatewayMode>, ApiError> {
    match params.livemode.as_deref() {
        None => Ok(None),
        Some("true") => Ok(Some(GatewayMode::Live)),
        Some("false") => Ok(Some(GatewayMode::Test)),
        Some(_) => Err(ApiError::InvalidQuery("livemode must be true or false".to_owned())),
    }
}

fn date(name: &str, text: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    text.map(|t| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map_err(|_| ApiError::InvalidQuery(format!("{name} must be YYYY-MM-DD")))
    })
    .transpose()
}

fn range(params: &RangeParams) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let to = date("to", params.to.as_deref())?.unwrap_or_else(|| Utc::now().date_naive());
    let from = date("from", params.from.as_deref())?.unwrap_or(to - Duration::days(DEFAULT_RANGE_DAYS - 1));
    Ok((from, to))
}

/// Totals in one currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotalsView {
    /// Payments created in the range.
    pub payments: i64,
    /// Of which paid (completed, refunded in part or whole, disputed).
    pub settled: i64,
    /// Sum paid by the settled payments.
    pub gross: String,
    /// Their discounts.
    pub discounts: String,
    /// Their platform fees: the platform's share when paid.
    pub platform_fees: String,
    /// Platform fees given back by refunds.
    pub platform_fees_refunded: String,
    /// Their gateways' processing fees as now recorded, whoever bore them.
    pub gateway_fees: String,
    /// Of which the platform bore.
    pub gateway_fees_platform: String,
    /// Refunded of them.
    pub refunds: String,
    /// Disputes opened in the range.
    pub disputes: i64,
    /// Their amount.
    pub disputed: String,
    /// Amount of the lost ones.
    pub disputes_lost: String,
    /// What the platform keeps: platform fees less those given back by
    /// refunds and less the gateway fees it bore.
    pub net: String,
    /// Gross less refunds and lost disputes.
    pub net_volume: String,
    /// Refunds over gross, four decimals.
    pub refund_rate: String,
    /// Disputes per settled payment, four decimals.
    pub dispute_rate: String,
}

impl From<&CurrencyTotals> for TotalsView {
    fn from(t: &CurrencyTotals) -> Self {
        TotalsView {
            payments: t.payments,
            settled: t.settled,
            gross: t.gross.to_major_string(),
            discounts: t.discounts.to_major_string(),
            platform_fees: t.platform_fees.to_major_string(),
            platform_fees_refunded: t.platform_fees_refunded.to_major_string(),
            gateway_fees: t.gateway_fees.to_major_string(),
            gateway_fees_platform: t.gateway_fees_platform.to_major_string(),
            refunds: t.refunds.to_major_string(),
            disputes: t.disputes,
            disputed: t.disputed.to_major_string(),
            disputes_lost: t.disputes_lost.to_major_string(),
            net: t.net.to_major_string(),
            net_volume: t.net_volume.to_major_string(),
            refund_rate: t.refund_rate.to_string(),
            dispute_rate: t.dispute_rate.to_string(),
        }
    }
}

/// Payments of one status and method.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    /// Status.
    pub status: String,
    /// Method.
    pub payment_method: String,
    /// How many.
    pub payments: i64,
    /// Sum paid.
    pub amount: String,
}

impl From<&StatusGroup> for GroupView {
    fn from(g: &StatusGroup) -> Self {
        GroupView {
            status: g.status.as_str().to_owned(),
            payment_method: g.method.as_str().to_owned(),
            payments: g.payments,
            amount: g.amount.to_major_string(),
        }
    }
}

/// One day. A year's series is hundreds of them: the date and amounts are
/// written straight into the answer, with no `String` each.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayView {
    /// The day (UTC).
    #[serde(serialize_with = "iso_date")]
    pub date: NaiveDate,
    /// Payments created.
    pub payments: i64,
    /// Of which paid.
    pub settled: i64,
    /// Gross of the paid ones.
    #[serde(serialize_with = "major_units")]
    #[schema(value_type = String)]
    pub gross: Money,
    /// Refunded of them.
    #[serde(serialize_with = "major_units")]
    #[schema(value_type = String)]
    pub refunds: Money,
}

impl From<&DailyPoint> for DayView {
    fn from(d: &DailyPoint) -> Self {
        DayView { date: d.day, payments: d.payments, settled: d.settled, gross: d.gross, refunds: d.refunds }
    }
}

/// Statistics in one currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrencyStatsView {
    /// Currency.
    pub currency: String,
    /// Totals.
    pub totals: Option<TotalsView>,
    /// Counts and sums by status and method.
    pub by_status: Vec<GroupView>,
    /// One entry per day that had payments.
    pub daily: Vec<DayView>,
}

/// `GET /api/payments/stats/`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsView {
    /// Whose figures these are: live money (`true`) or test money.
    pub livemode: bool,
    /// First day.
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// Per currency.
    pub currencies: Vec<CurrencyStatsView>,
}

/// Payment statistics over a date range (admin), of one mode's money:
/// counts and sums by status, method and currency, totals (gross, gateway
/// fees, platform fees, net), rates and a daily series. Read from
/// aggregates kept as payments change.
#[utoipa::path(tag = "stats", params(RangeParams),
    responses((status = 200, description = "The statistics of the range.", body = StatsView)),
    security(("bearer" = [])))]
#[get("/api/payments/stats/")]
pub async fn stats(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params: RangeParams = parse_query(&req)?;
    if params.instructor_id.is_some() {
        return Err(ApiError::InvalidQuery("unknown parameter instructor_id".to_owned()));
    }
    let (from, to) = range(&params)?;
    let stats = state.stats.platform(actor, mode(&params)?, from, to).await?;
    let currencies = stats
        .currencies
        .iter()
        .map(|(currency, s)| CurrencyStatsView {
            currency: currency.code().to_owned(),
            totals: s.totals.as_ref().map(TotalsView::from),
            by_status: s.groups.iter().map(GroupView::from).collect(),
            daily: s.daily.iter().map(DayView::from).collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(StatsView { livemode: stats.mode == GatewayMode::Live, from, to, currencies }))
}

/// Gross, fees, refunds and net.
#[derive(Debug, Serialize, ToSchema)]
pub struct FiguresView {
    /// Sales.
    pub sales: i64,
    /// Sum paid.
    pub gross: String,
    /// Platform fees kept (net of refunds).
    pub fees: String,
    /// Gateway fees charged to the instructor (only those they bore).
    pub gateway_fees: String,
    /// Refunded.
    pub refunds: String,
    /// Earned, net of refunds and of the gateway fees the instructor bore.
    pub net: String,
}

impl From<&EarningsFigures> for FiguresView {
    fn from(f: &EarningsFigures) -> Self {
        FiguresView {
            sales: f.sales,
            gross: f.gross.to_major_string(),
            fees: f.fees.to_major_string(),
            gateway_fees: f.gateway_fees.to_major_string(),
            refunds: f.refunds.to_major_string(),
            net: f.net.to_major_string(),
        }
    }
}

/// Figures of one course or event.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemFiguresView {
    /// The course, for a course.
    pub course_id: Option<i64>,
    /// The event, for an event ticket.
    pub event_id: Option<i64>,
    /// Its figures.
    #[serde(flatten)]
    pub figures: FiguresView,
}

/// Figures of one month.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthFiguresView {
    /// `YYYY-MM` (UTC, month of the sale's completion).
    pub month: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: FiguresView,
}

/// Earnings in one currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrencyEarningsView {
    /// Currency.
    pub currency: String,
    /// Over the range.
    pub totals: FiguresView,
    /// Per course or event.
    pub by_item: Vec<ItemFiguresView>,
    /// Per month.
    pub by_month: Vec<MonthFiguresView>,
}

/// `GET /api/payments/instructor/earnings/`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EarningsView {
    /// Whose.
    pub instructor_id: i64,
    /// Whose figures these are: live money (`true`) or test money.
    pub livemode: bool,
    /// First day.
    pub from: NaiveDate,
    /// Last day (inclusive); whole months are counted.
    pub to: NaiveDate,
    /// Per currency.
    pub currencies: Vec<CurrencyEarningsView>,
    /// Pending vs available now.
    pub balances: Vec<BalanceView>,
}

/// An instructor's earnings (instructors their own; admins anyone's with
/// `instructor_id`) of one mode's money: gross, platform fees, the gateway
/// fees they bore, refunds and net, by course or event and by month of the
/// sale, and the balance pending vs available now.
#[utoipa::path(tag = "stats", params(RangeParams),
    responses((status = 200, description = "The instructor's earnings.", body = EarningsView)),
    security(("bearer" = [])))]
#[get("/api/payments/instructor/earnings/")]
pub async fn earnings(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params: RangeParams = parse_query(&req)?;
    let (from, to) = range(&params)?;
    let instructor = params
        .instructor_id
        .as_deref()
        .map(|id| id.parse::<UserId>().map_err(|_| ApiError::InvalidQuery("instructor_id must be a user id".into())))
        .transpose()?;
    let earnings = state.stats.instructor(actor, instructor, mode(&params)?, from, to).await?;
    let currencies = earnings
        .currencies
        .iter()
        .map(|(currency, e)| CurrencyEarningsView {
            currency: currency.code().to_owned(),
            totals: FiguresView::from(&e.totals),
            by_item: e
                .by_item
                .iter()
                .map(|(item, figures)| ItemFiguresView {
                    course_id: (item.kind == ItemKind::Course).then_some(item.id),
                    event_id: (item.kind == ItemKind::Event).then_some(item.id),
                    figures: FiguresView::from(figures),
                })
                .collect(),
            by_month: e
                .by_month
                .iter()
                .map(|(month, figures)| MonthFiguresView {
                    month: month.format("%Y-%m").to_string(),
                    figures: FiguresView::from(figures),
                })
                .collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(EarningsView {
        instructor_id: earnings.instructor.get(),
        livemode: earnings.mode == GatewayMode::Live,
        from,
        to,
        currencies,
        balances: earnings.balances.iter().map(|b| BalanceView::new(b, state.payouts.policy())).collect(),
    }))
}
