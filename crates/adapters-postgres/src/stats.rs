//! Reads of the aggregates the `payments_keep_stats` and
//! `refunds_keep_stats` triggers keep (migrations `000008_stats`,
//! `000027_stats_by_mode`), with the disputes opened in the same days. Each
//! read sums at most the shards of the keys of one mode in the date range:
//! the mode leads every key, so it narrows the index range read rather
//! than filtering rows.

use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::NaiveDate;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Nullable, Text};
use domain::catalog::ItemRef;
use domain::gateway_config::GatewayMode;
use domain::ids::UserId;
use domain::money::Money;
use domain::ports::{StatsQueries, StoreError};
use domain::stats::{
    DayAggregate, DisputeAggregate, MonthlyEarnings, RangeAggregates, SETTLED_STATUS_NAMES, StatusAggregate,
};

use crate::errors::{corrupt, store_error};
use crate::pool::PgStore;
use crate::prepared::PreparedExt;
use crate::rows::currency;
use crate::text_columns::{AggregateStatusColumn, CurrencyColumn, MethodColumn};

#[derive(QueryableByName)]
struct MonthRow {
    #[diesel(sql_type = Date)]
    month: NaiveDate,
    #[diesel(sql_type = Text)]
    item_kind: String,
    #[diesel(sql_type = BigInt)]
    item_id: i64,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = BigInt)]
    sales: i64,
    #[diesel(sql_type = BigInt)]
    gross: i64,
    #[diesel(sql_type = BigInt)]
    fee: i64,
    #[diesel(sql_type = BigInt)]
    earnings: i64,
    #[diesel(sql_type = BigInt)]
    refunds: i64,
    #[diesel(sql_type = BigInt)]
    refunded: i64,
    #[diesel(sql_type = BigInt)]
    refunded_fee: i64,
    #[diesel(sql_type = BigInt)]
    gateway_fee: i64,
}

/// The columns of one row of [`RANGE_SQL`].
type RangeColumns = (
    Nullable<Date>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Bool>,
    Text,
    BigInt,
    BigInt,
    BigInt,
    BigInt,
    BigInt,
    (BigInt, BigInt, BigInt),
);

/// One row of [`RANGE_SQL`]: (day, status, method, flag, currency, count,
/// amount, discount, fee, refunded, (refunded fee, gateway fee, gateway fee
/// the platform bore)). The flag is whether settled on a day row, whether
/// lost on a dispute row.
type RangeRow = (
    Option<NaiveDate>,
    Option<AggregateStatusColumn>,
    Option<MethodColumn>,
    Option<bool>,
    CurrencyColumn,
    i64,
    i64,
    i64,
    i64,
    i64,
    (i64, i64, i64),
);

/// Everything the statistics of a range need, in one statement: one
/// connection, one trip to a blocking thread and one round trip per
/// request (docs/performance.md says what this serves).
///
/// The first part is one pass over the kept daily aggregates of the range,
/// summed two ways: rows of the first grouping set have no day and no
/// flag, rows of the second neither status nor method (day, status and
/// method are never NULL in the table). A year is then at most 365 × 2
/// day rows per currency plus a dozen status rows rather than 365 × 9 rows
/// of every (day, status, method). Whether a status is settled is the
/// domain's [`SETTLED_STATUS_NAMES`], written into the statement as
/// constants: a grouping key, evaluated once a row (summing the settled
/// ones apart with `FILTER` cost PostgreSQL more than the rows it saved).
///
/// A status row may hold only platform fees given back by refunds (the
/// refund is kept with the status its payment had then, and the payment
/// moved on): it is kept for the totals.
///
/// The second part adds the disputes opened in the range, per currency and
/// whether lost: rows with no day, status or method.
///
/// Read by position: `$1` the mode, `$2`, `$3` the first and last day, `$4`
/// to `$6` the same for the disputes.
static RANGE_SQL: LazyLock<[String; 7]> = LazyLock::new(|| {
    let names: Vec<String> = SETTLED_STATUS_NAMES.iter().map(|name| format!("'{name}'")).collect();
    let settled = format!("status IN ({})", names.join(", "));
    [
        format!(
            "SELECT day, status, payment_method, {settled}, currency, sum(payments)::bigint, \
                    sum(amount_minor)::bigint, sum(discount_minor)::bigint, sum(platform_fee_minor)::bigint, \
                    sum(refunded_minor)::bigint, sum(refunded_fee_minor)::bigint, sum(gateway_fee_minor)::bigint, \
                    sum(platform_gateway_fee_minor)::bigint \
             FROM payment_stats_daily WHERE livemode = "
        ),
        " AND day BETWEEN ".to_owned(),
        " AND ".to_owned(),
        format!(
            " GROUP BY GROUPING SETS ((status, payment_method, currency), (day, {settled}, currency)) \
             HAVING sum(payments) <> 0 OR sum(refunded_fee_minor) <> 0 \
             UNION ALL \
             SELECT NULL, NULL, NULL, status = 'lost', currency, count(*), sum(amount_minor)::bigint, 0, 0, 0, 0, 0, 0 \
             FROM payment_disputes WHERE livemode = "
        ),
        " AND created_at >= ".to_owned(),
        "::date AND created_at < ".to_owned(),
        "::date + 1 GROUP BY currency, status = 'lost'".to_owned(),
    ]
});

fn into_range(rows: Vec<RangeRow>) -> Result<RangeAggregates, StoreError> {
    let mut range = RangeAggregates::default();
    for (day, status, method, flag, currency, count, amount, discount, fee, refunded, gateway) in rows {
        let (refunded_fee, gateway_fee, platform_gateway_fee) = gateway;
        let money = |minor| Money::from_minor(minor, currency.0);
        match (day, status, method, flag) {
            (None, Some(status), Some(method), None) => range.by_status.push(StatusAggregate {
                status: status.0,
                method: method.0,
                payments: count,
                amount: money(amount),
                discount: money(discount),
                platform_fee: money(fee),
                refunded: money(refunded),
                refunded_fee: money(refunded_fee),
                gateway_fee: money(gateway_fee),
                platform_gateway_fee: money(platform_gateway_fee),
            }),
            // A day whose only figures are fees given back by refunds.
            (Some(_), None, None, Some(_)) if count == 0 && amount == 0 => {}
            (Some(day), None, None, Some(settled)) => range.by_day.push(DayAggregate {
                day,
                settled,
                payments: count,
                amount: money(amount),
                refunded: money(refunded),
            }),
            (None, None, None, Some(lost)) => {
                range.disputes.push(DisputeAggregate { disputes: count, amount: money(amount), lost })
            }
            _ => return Err(corrupt("statistics grouping")),
        }
    }
    Ok(range)
}

#[async_trait]
impl StatsQueries for PgStore {
    async fn range(&self, mode: GatewayMode, from: NaiveDate, to: NaiveDate) -> Result<RangeAggregates, StoreError> {
        let livemode = mode == GatewayMode::Live;
        self.run_stats_read(move |conn| {
            let [select, from_day, and, disputes, disputes_from, disputes_and, end] = &*RANGE_SQL;
            let rows: Vec<RangeRow> = sql::<RangeColumns>(select)
                .bind::<Bool, _>(livemode)
                .sql(from_day)
                .bind::<Date, _>(from)
                .sql(and)
                .bind::<Date, _>(to)
                .sql(disputes)
                .bind::<Bool, _>(livemode)
                .sql(disputes_from)
                .bind::<Date, _>(from)
                .sql(disputes_and)
                .bind::<Date, _>(to)
                .sql(end)
                .prepared()
                .load(conn)
                .map_err(store_error)?;
            into_range(rows)
        })
        .await
    }

    async fn instructor_months(
        &self,
        instructor: UserId,
        mode: GatewayMode,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<MonthlyEarnings>, StoreError> {
        let livemode = mode == GatewayMode::Live;
        self.run_stats_read(move |conn| {
            let rows: Vec<MonthRow> = diesel::sql_query(
                "SELECT month, item_kind, item_id, currency, sum(sales)::bigint AS sales, \
                        sum(gross_minor)::bigint AS gross, sum(platform_fee_minor)::bigint AS fee, \
                        sum(earnings_minor)::bigint AS earnings, sum(refunds)::bigint AS refunds, \
                        sum(refunded_minor)::bigint AS refunded, sum(refunded_fee_minor)::bigint AS refunded_fee, \
                        sum(instructor_gateway_fee_minor)::bigint AS gateway_fee \
                 FROM instructor_stats_monthly \
                 WHERE instructor_id = $1 AND livemode = $2 AND month BETWEEN $3 AND $4 \
                 GROUP BY month, item_kind, item_id, currency \
                 HAVING sum(sales) <> 0 OR sum(refunds) <> 0 \
                 ORDER BY month, item_kind, item_id, currency",
            )
            .bind::<BigInt, _>(instructor.get())
            .bind::<Bool, _>(livemode)
            .bind::<Date, _>(from)
            .bind::<Date, _>(to)
            .prepared()
            .load(conn)
            .map_err(store_error)?;
            rows.into_iter()
                .map(|r| {
                    let currency = currency(&r.currency)?;
                    let money = |minor| Money::from_minor(minor, currency);
                    let item = match r.item_kind.as_str() {
                        "course" => ItemRef::course(r.item_id),
                        "event" => ItemRef::event(r.item_id),
                        _ => return Err(corrupt("item kind")),
                    };
                    Ok(MonthlyEarnings {
                        month: r.month,
                        item,
                        sales: r.sales,
                        gross: money(r.gross),
                        fees: money(r.fee),
                        earnings: money(r.earnings),
                        refunds: r.refunds,
                        refunded: money(r.refunded),
                        refunded_fees: money(r.refunded_fee),
                        gateway_fees: money(r.gateway_fee),
                    })
                })
                .collect()
        })
        .await
    }

    async fn fold_shards(&self, before_day: NaiveDate, before_month: NaiveDate) -> Result<u64, StoreError> {
        self.run(move |conn| {
            let folded: FoldedRow = diesel::sql_query("SELECT fold_stats_shards($1, $2) AS folded")
                .bind::<Date, _>(before_day)
                .bind::<Date, _>(before_month)
                .get_result(conn)
                .map_err(store_error)?;
            u64::try_from(folded.folded).map_err(|_| corrupt("folded rows"))
        })
        .await
    }
}

#[derive(QueryableByName)]
struct FoldedRow {
    #[diesel(sql_type = BigInt)]
    folded: i64,
}
