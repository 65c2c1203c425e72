//! Storing what a gateway gave back of its fee with a refund: the claim
//! of refunds whose figure is missing, and its one-time record.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Timestamptz};
use domain::ids::RefundId;
use domain::ledger::Journal;
use domain::money::Money;
use domain::ports::StoreError;
use domain::refund::Refund;

use super::RefundRow;
use crate::errors::{TxError, store_error};
use crate::ledger::write_journal;
use crate::schema::{payments, refunds};

/// Claims processed gateway refunds since `$1` whose fee return is not
/// recorded, whose payment's fee is, and whose next read is due; each is
/// held for as long as it has been processed (at least `$3` seconds).
const CLAIM: &str = "\
UPDATE refunds r SET fee_read_after = $2 + GREATEST($3 * interval '1 second', $2 - r.processed_at)
 WHERE r.id IN (
     SELECT f.id FROM refunds f JOIN payments p ON p.id = f.payment_id
      WHERE f.gateway_fee_returned_minor IS NULL AND f.status = 'processed' AND f.provider_refund_id IS NOT NULL
        AND f.processed_at > $1 AND p.gateway_fee_minor IS NOT NULL
        AND (f.fee_read_after IS NULL OR f.fee_read_after <= $2)
      ORDER BY f.processed_at LIMIT $4
      FOR UPDATE OF f SKIP LOCKED)
RETURNING r.id";

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
}

pub(super) fn claim(
    conn: &mut PgConnection,
    processed_after: DateTime<Utc>,
    now: DateTime<Utc>,
    min_wait: chrono::Duration,
    limit: u32,
) -> Result<Vec<RefundId>, StoreError> {
    let rows: Vec<Claimed> = diesel::sql_query(CLAIM)
        .bind::<Timestamptz, _>(processed_after)
        .bind::<Timestamptz, _>(now)
        .bind::<Double, _>(min_wait.as_seconds_f64())
        .bind::<BigInt, _>(i64::from(limit))
        .load(conn)
        .map_err(store_error)?;
    Ok(rows.into_iter().map(|row| RefundId::from_uuid(row.id)).collect())
}

/// The refund's figure (only if still unrecorded), its payment's net
/// gateway fee lowered by it, and the journal, in one transaction.
pub(super) fn record(
    conn: &mut PgConnection,
    refund: RefundId,
    returned: Money,
    journal: Option<&Journal>,
) -> Result<Option<Refund>, StoreError> {
    conn.transaction::<Option<Refund>, TxError<()>, _>(|conn| {
        let updated: Option<RefundRow> =
            diesel::update(refunds::table.find(refund.uuid()).filter(refunds::gateway_fee_returned_minor.is_null()))
                .set(refunds::gateway_fee_returned_minor.eq(returned.minor()))
                .returning(RefundRow::as_returning())
                .get_result(conn)
                .optional()?;
        let Some(updated) = updated else {
            return Ok(None);
        };
        diesel::update(payments::table.find(updated.payment_id))
            .set(payments::gateway_fee_minor.eq(payments::gateway_fee_minor - returned.minor()))
            .execute(conn)?;
        if let Some(journal) = journal {
            write_journal(conn, journal)?;
        }
        Ok(Some(updated.into_domain()?))
    })
    .map_err(|e| match e.into_result() {
        Ok(()) => StoreError::Corrupt("unexpected refusal".to_owned()),
        Err(e) => e,
    })
}
