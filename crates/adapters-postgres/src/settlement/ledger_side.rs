//! What the ledger booked, per gateway object, read from the rows each
//! money change commits with its journal (a payment's sale and gateway
//! fee, a refund and the fee it gave back, a payout's transfer) and, for
//! disputes, from their journals: the hold is the ledger saying the
//! gateway took the money, a release that it came back, a loss's clearing
//! credit beyond the amount the dispute fee.
//!
//! Figures are signed as the gateway's lines are: money into its balance
//! positive, `fee` what it kept.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Text, Timestamptz};
use domain::money::Money;
use domain::ports::{ObjectKey, SettlementPeriod, StoreError};
use domain::reconciliation::{Booked, BookedKind, SettledGateway};

use crate::errors::corrupt;
use crate::rows::currency;

/// `$1` payment method, `$2` payout method, `$3` mode, `$4`/`$5` period.
const ACTIVE_OBJECTS: &str = "\
SELECT 'sale' AS kind, provider_payment_id AS id FROM payments
 WHERE payment_method = $1 AND livemode = $3 AND provider_payment_id IS NOT NULL AND amount_minor > 0
   AND completed_at >= $4 AND completed_at < $5
UNION
SELECT 'refund', r.provider_refund_id FROM refunds r JOIN payments p ON p.id = r.payment_id
 WHERE p.payment_method = $1 AND r.livemode = $3 AND r.status = 'processed' AND r.provider_refund_id IS NOT NULL
   AND r.processed_at >= $4 AND r.processed_at < $5
UNION
SELECT 'dispute', d.provider_dispute_id FROM payment_disputes d JOIN payments p ON p.id = d.payment_id
 WHERE p.payment_method = $1 AND d.livemode = $3 AND d.provider_dispute_id IS NOT NULL
   AND EXISTS (SELECT 1 FROM ledger_journals j WHERE j.payment_id = p.id
                  AND j.kind IN ('dispute_hold', 'dispute_release', 'dispute_loss')
                  AND j.posted_at >= $4 AND j.posted_at < $5)
UNION
SELECT 'transfer', transaction_id FROM payouts
 WHERE method = $2 AND livemode = $3 AND transaction_id IS NOT NULL
   AND EXISTS (SELECT 1 FROM ledger_journals j WHERE j.payout_id = payouts.id
                  AND j.kind IN ('payout_paid', 'payout_return') AND j.posted_at >= $4 AND j.posted_at < $5)";

/// `$1` payment method, `$2` payout method, `$3` mode, `$4` kinds, `$5`
/// ids (the objects asked for, pairwise).
const BOOKED: &str = "\
WITH asked AS (SELECT * FROM unnest($4::text[], $5::text[]) AS a (kind, id))
SELECT 'sale' AS kind, p.provider_payment_id AS id, p.currency,
       p.amount_minor AS amount,
       -- The fee kept of the charge: the payment keeps it net of what
       -- refunds gave back, which their own lines book.
       coalesce(p.gateway_fee_minor, 0)
         + coalesce((SELECT sum(r.gateway_fee_returned_minor) FROM refunds r
                      WHERE r.payment_id = p.id AND r.status = 'processed'), 0)::bigint AS fee
  FROM payments p JOIN asked a ON a.kind = 'sale' AND a.id = p.provider_payment_id
 WHERE p.payment_method = $1 AND p.livemode = $3 AND p.completed_at IS NOT NULL AND p.amount_minor > 0
UNION ALL
SELECT 'refund', r.provider_refund_id, r.currency, -r.amount_minor, -coalesce(r.gateway_fee_returned_minor, 0)
  FROM refunds r JOIN asked a ON a.kind = 'refund' AND a.id = r.provider_refund_id
  JOIN payments p ON p.id = r.payment_id
 WHERE p.payment_method = $1 AND r.livemode = $3 AND r.status = 'processed'
UNION ALL
SELECT 'dispute', d.provider_dispute_id, d.currency, s.held,
       CASE WHEN s.lost_beyond_hold = 0 THEN 0 ELSE s.lost_beyond_hold + s.held END
  FROM payment_disputes d JOIN asked a ON a.kind = 'dispute' AND a.id = d.provider_dispute_id
  JOIN payments p ON p.id = d.payment_id
  CROSS JOIN LATERAL (
      SELECT coalesce(sum(e.amount_minor) FILTER (WHERE e.account = 'dispute_holds'
                                                   AND j.kind IN ('dispute_hold', 'dispute_release')), 0)::bigint AS held,
             coalesce(-sum(e.amount_minor) FILTER (WHERE e.account = 'gateway_clearing:' || p.payment_method
                                                    AND j.kind = 'dispute_loss'), 0)::bigint AS lost_beyond_hold
        FROM ledger_journals j JOIN ledger_entries e ON e.journal_id = j.id
       WHERE j.payment_id = p.id) s
 WHERE p.payment_method = $1 AND d.livemode = $3
   AND EXISTS (SELECT 1 FROM ledger_journals j WHERE j.payment_id = p.id AND j.kind = 'dispute_hold')
UNION ALL
SELECT 'transfer', o.transaction_id, o.currency, CASE WHEN o.status = 'paid' THEN -o.amount_minor ELSE 0 END, 0
  FROM payouts o JOIN asked a ON a.kind = 'transfer' AND a.id = o.transaction_id
 WHERE o.method = $2 AND o.livemode = $3 AND (o.status = 'paid' OR (o.status = 'failed' AND o.paid_at IS NOT NULL))";

#[derive(QueryableByName)]
struct ObjectRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName)]
struct BookedRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = BigInt)]
    amount: i64,
    #[diesel(sql_type = BigInt)]
    fee: i64,
}

fn kind(name: &str) -> Result<BookedKind, StoreError> {
    name.parse().map_err(|_| corrupt("object kind"))
}

pub(super) fn active_objects(
    conn: &mut PgConnection,
    gateway: SettledGateway,
    livemode: bool,
    period: SettlementPeriod,
) -> Result<Vec<ObjectKey>, StoreError> {
    let rows: Vec<ObjectRow> = diesel::sql_query(ACTIVE_OBJECTS)
        .bind::<Text, _>(gateway.payment_method().as_str())
        .bind::<Text, _>(gateway.payout_method().as_str())
        .bind::<Bool, _>(livemode)
        .bind::<Timestamptz, DateTime<Utc>>(period.since())
        .bind::<Timestamptz, DateTime<Utc>>(period.until())
        .load(conn)
        .map_err(crate::errors::store_error)?;
    rows.into_iter().map(|r| Ok((kind(&r.kind)?, r.id))).collect()
}

pub(super) fn booked(
    conn: &mut PgConnection,
    gateway: SettledGateway,
    livemode: bool,
    objects: &[ObjectKey],
) -> Result<Vec<Booked>, StoreError> {
    let (kinds, ids): (Vec<&str>, Vec<&str>) = objects.iter().map(|(k, id)| (k.as_str(), id.as_str())).unzip();
    let rows: Vec<BookedRow> = diesel::sql_query(BOOKED)
        .bind::<Text, _>(gateway.payment_method().as_str())
        .bind::<Text, _>(gateway.payout_method().as_str())
        .bind::<Bool, _>(livemode)
        .bind::<Array<Text>, _>(kinds)
        .bind::<Array<Text>, _>(ids)
        .load(conn)
        .map_err(crate::errors::store_error)?;
    rows.into_iter()
        .map(|r| {
            let currency = currency(&r.currency)?;
            Ok(Booked {
                kind: kind(&r.kind)?,
                gateway_id: r.id,
                amount: Money::from_minor(r.amount, currency),
                fee: Money::from_minor(r.fee, currency),
            })
        })
        .collect()
}
