//! The gateways' payouts to the platform's bank, and what their lines sum
//! to per kind.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Text};
use domain::money::Money;
use domain::ports::{BankPayoutStatus, GatewayBankPayout, PayoutSummary, StoreError};
use domain::reconciliation::SettledGateway;

use super::rows::gateway as gateway_named;
use crate::errors::store_error;
use crate::rows::currency;
use crate::schema::settlement_payouts as payouts;

#[derive(Queryable, Selectable, Insertable, Debug)]
#[diesel(table_name = payouts, check_for_backend(diesel::pg::Pg))]
struct PayoutRow {
    gateway: String,
    livemode: bool,
    payout_id: String,
    amount_minor: i64,
    currency: String,
    status: String,
    created_at: chrono::DateTime<chrono::Utc>,
    arrival_at: Option<chrono::DateTime<chrono::Utc>>,
    itemised: bool,
}

pub(super) fn save(
    conn: &mut PgConnection,
    gateway: SettledGateway,
    livemode: bool,
    paid_out: &[GatewayBankPayout],
) -> Result<(), StoreError> {
    for payout in paid_out {
        let row = PayoutRow {
            gateway: gateway.as_str().to_owned(),
            livemode,
            payout_id: payout.id.clone(),
            amount_minor: payout.amount.minor(),
            currency: payout.amount.currency().code().to_owned(),
            status: payout.status.name().to_owned(),
            created_at: payout.created,
            arrival_at: payout.arrival,
            itemised: false,
        };
        diesel::insert_into(payouts::table)
            .values(&row)
            .on_conflict((payouts::gateway, payouts::livemode, payouts::payout_id))
            .do_update()
            .set((payouts::status.eq(&row.status), payouts::arrival_at.eq(row.arrival_at)))
            .execute(conn)
            .map_err(store_error)?;
    }
    Ok(())
}

pub(super) fn unitemised(
    conn: &mut PgConnection,
    gateway: SettledGateway,
    livemode: bool,
) -> Result<Vec<String>, StoreError> {
    payouts::table
        .filter(payouts::gateway.eq(gateway.as_str()))
        .filter(payouts::livemode.eq(livemode))
        .filter(payouts::itemised.eq(false))
        .order((payouts::created_at, payouts::payout_id))
        .select(payouts::payout_id)
        .load(conn)
        .map_err(store_error)
}

pub(super) fn mark_itemised(
    conn: &mut PgConnection,
    gateway: SettledGateway,
    livemode: bool,
    payout: &str,
) -> Result<(), StoreError> {
    diesel::update(payouts::table.find((gateway.as_str(), livemode, payout)))
        .set(payouts::itemised.eq(true))
        .execute(conn)
        .map(|_| ())
        .map_err(store_error)
}

#[derive(QueryableByName)]
struct KindSum {
    #[diesel(sql_type = Text)]
    payout: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    net: i64,
    #[diesel(sql_type = BigInt)]
    fee: i64,
    #[diesel(sql_type = BigInt)]
    lines: i64,
    #[diesel(sql_type = BigInt)]
    matched: i64,
    #[diesel(sql_type = BigInt)]
    differing: i64,
}

pub(super) fn summaries(
    conn: &mut PgConnection,
    gateway: Option<SettledGateway>,
    livemode: Option<bool>,
    limit: u32,
) -> Result<Vec<PayoutSummary>, StoreError> {
    let mut query = payouts::table.select(PayoutRow::as_select()).into_boxed();
    if let Some(gateway) = gateway {
        query = query.filter(payouts::gateway.eq(gateway.as_str()));
    }
    if let Some(livemode) = livemode {
        query = query.filter(payouts::livemode.eq(livemode));
    }
    let rows: Vec<PayoutRow> = query
        .order((payouts::created_at.desc(), payouts::payout_id))
        .limit(i64::from(limit))
        .load(conn)
        .map_err(store_error)?;
    let (gateways, ids): (Vec<String>, Vec<String>) =
        rows.iter().map(|r| (r.gateway.clone(), r.payout_id.clone())).unzip();
    let sums: Vec<KindSum> = diesel::sql_query(
        "SELECT l.bank_payout AS payout, l.kind, sum(l.net_minor)::bigint AS net, sum(l.fee_minor)::bigint AS fee,
                count(*) AS lines, count(*) FILTER (WHERE l.result = 'matched') AS matched,
                count(*) FILTER (WHERE l.result IS NOT NULL AND l.result <> 'matched') AS differing
           FROM settlement_lines l
           JOIN unnest($1::text[], $2::text[]) AS p (gateway, id) ON l.gateway = p.gateway AND l.bank_payout = p.id
          WHERE $3::boolean IS NULL OR l.livemode = $3
          GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .bind::<Array<Text>, _>(&gateways)
    .bind::<Array<Text>, _>(&ids)
    .bind::<diesel::sql_types::Nullable<Bool>, _>(livemode)
    .load(conn)
    .map_err(store_error)?;
    let mut by_payout: BTreeMap<String, Vec<KindSum>> = BTreeMap::new();
    for sum in sums {
        by_payout.entry(sum.payout.clone()).or_default().push(sum);
    }
    rows.into_iter()
        .map(|row| {
            let sums = by_payout.remove(&row.payout_id).unwrap_or_default();
            Ok(PayoutSummary {
                gateway: gateway_named(&row.gateway)?,
                livemode: row.livemode,
                itemised: row.itemised,
                matched: sums.iter().map(|s| s.matched).sum(),
                differing: sums.iter().map(|s| s.differing).sum(),
                by_kind: sums.into_iter().map(|s| (s.kind, s.net, s.fee, s.lines)).collect(),
                payout: GatewayBankPayout {
                    id: row.payout_id,
                    amount: Money::from_minor(row.amount_minor, currency(&row.currency)?),
                    status: BankPayoutStatus::from_name(&row.status),
                    created: row.created_at,
                    arrival: row.arrival_at,
                },
            })
        })
        .collect()
}
