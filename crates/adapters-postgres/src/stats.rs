//! Reads of the aggregates the `payments_keep_stats` and
//! `refunds_keep_stats` triggers keep (migration `000008_stats`), and of
//! disputes by creation day. Each read sums at most the shards of the keys
//! in the date range.

use async_trait::async_trait;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Text};
use domain::catalog::ItemRef;
use domain::ids::UserId;
use domain::money::Money;
use domain::payment::{PaymentStatus, SettledStatus};
use domain::ports::{StatsQueries, StoreError};
use domain::stats::{DailyAggregate, DisputeAggregate, MonthlyEarnings};

use crate::errors::{corrupt, store_error};
use crate::pool::PgStore;
use crate::prepared::PreparedExt;
use crate::rows::currency;

#[derive(QueryableByName)]
struct DailyRow {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    payment_method: String,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = BigInt)]
    payments: i64,
    #[diesel(sql_type = BigInt)]
    amount: i64,
    #[diesel(sql_type = BigInt)]
    discount: i64,
    #[diesel(sql_type = BigInt)]
    fee: i64,
    #[diesel(sql_type = BigInt)]
    earnings: i64,
    #[diesel(sql_type = BigInt)]
    refunded: i64,
}

#[derive(QueryableByName)]
struct DisputeRow {
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Bool)]
    lost: bool,
    #[diesel(sql_type = BigInt)]
    disputes: i64,
    #[diesel(sql_type = BigInt)]
    amount: i64,
}

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
}

/// The aggregates keep `disputed` without the status to return to; any
/// settled one stands for it (its name is what is shown).
fn status(name: &str) -> Result<PaymentStatus, StoreError> {
    if name == "disputed" {
        return Ok(PaymentStatus::Disputed(SettledStatus::Completed));
    }
    PaymentStatus::from_parts(name, None).map_err(|_| corrupt("payment status"))
}

#[async_trait]
impl StatsQueries for PgStore {
    async fn daily(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DailyAggregate>, StoreError> {
        self.run(move |conn| {
            let rows: Vec<DailyRow> = diesel::sql_query(
                "SELECT day, status, payment_method, currency, sum(payments)::bigint AS payments, \
                        sum(amount_minor)::bigint AS amount, sum(discount_minor)::bigint AS discount, \
                        sum(platform_fee_minor)::bigint AS fee, sum(earnings_minor)::bigint AS earnings, \
                        sum(refunded_minor)::bigint AS refunded \
                 FROM payment_stats_daily WHERE day BETWEEN $1 AND $2 \
                 GROUP BY day, status, payment_method, currency \
                 HAVING sum(payments) <> 0 \
                 ORDER BY day, status, payment_method, currency",
            )
            .bind::<Date, _>(from)
            .bind::<Date, _>(to)
            .prepared()
            .load(conn)
            .map_err(store_error)?;
            rows.into_iter()
                .map(|r| {
                    let currency = currency(&r.currency)?;
                    let money = |minor| Money::from_minor(minor, currency);
                    Ok(DailyAggregate {
                        day: r.day,
                        status: status(&r.status)?,
                        method: r.payment_method.parse().map_err(|_| corrupt("payment method"))?,
                        payments: r.payments,
                        amount: money(r.amount),
                        discount: money(r.discount),
                        platform_fee: money(r.fee),
                        earnings: money(r.earnings),
                        refunded: money(r.refunded),
                    })
                })
                .collect()
        })
        .await
    }

    async fn disputes(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DisputeAggregate>, StoreError> {
        self.run(move |conn| {
            let rows: Vec<DisputeRow> = diesel::sql_query(
                "SELECT currency, status = 'lost' AS lost, count(*)::bigint AS disputes, \
                        sum(amount_minor)::bigint AS amount \
                 FROM payment_disputes \
                 WHERE created_at >= $1::date AND created_at < $2::date + 1 \
                 GROUP BY currency, status = 'lost' ORDER BY currency",
            )
            .bind::<Date, _>(from)
            .bind::<Date, _>(to)
            .prepared()
            .load(conn)
            .map_err(store_error)?;
            rows.into_iter()
                .map(|r| {
                    Ok(DisputeAggregate {
                        disputes: r.disputes,
                        amount: Money::from_minor(r.amount, currency(&r.currency)?),
                        lost: r.lost,
                    })
                })
                .collect()
        })
        .await
    }

    async fn instructor_months(
        &self,
        instructor: UserId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<MonthlyEarnings>, StoreError> {
        self.run(move |conn| {
            let rows: Vec<MonthRow> = diesel::sql_query(
                "SELECT month, item_kind, item_id, currency, sum(sales)::bigint AS sales, \
                        sum(gross_minor)::bigint AS gross, sum(platform_fee_minor)::bigint AS fee, \
                        sum(earnings_minor)::bigint AS earnings, sum(refunds)::bigint AS refunds, \
                        sum(refunded_minor)::bigint AS refunded, sum(refunded_fee_minor)::bigint AS refunded_fee \
                 FROM instructor_stats_monthly \
                 WHERE instructor_id = $1 AND month BETWEEN $2 AND $3 \
                 GROUP BY month, item_kind, item_id, currency \
                 HAVING sum(sales) <> 0 OR sum(refunds) <> 0 \
                 ORDER BY month, item_kind, item_id, currency",
            )
            .bind::<BigInt, _>(instructor.get())
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
