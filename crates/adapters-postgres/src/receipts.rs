//! Receipts and credit notes (migration `000036_receipts`): triggers write
//! them unnumbered with the sale or refund; the numbering step here gives
//! them gapless numbers per series, one numberer at a time.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Timestamptz, Uuid as SqlUuid};
use domain::ids::{EventId, PaymentId, ReceiptId, RefundId};
use domain::outbox::{EventType, OutboxEvent};
use domain::ports::{DocumentState, ReceiptStore, StoreError};
use domain::receipt::{CreditNoteLine, DocumentKind, Receipt, number_text, series_of};
use uuid::Uuid;

use crate::errors::{corrupt, store_error, store_transaction};
use crate::outbox::insert_events;
use crate::pool::PgStore;
use crate::refunds::RefundRow;
use crate::rows::PaymentRow;
use crate::schema::{catalog_items, payments, receipts, refunds};

/// A document row as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = receipts, check_for_backend(diesel::pg::Pg))]
struct DocumentRow {
    id: Uuid,
    kind: String,
    payment_id: Uuid,
    refund_id: Option<Uuid>,
    livemode: bool,
    created_at: DateTime<Utc>,
    number: Option<String>,
    quiet: bool,
}

impl DocumentRow {
    fn kind(&self) -> Result<DocumentKind, StoreError> {
        self.kind.parse().map_err(|_| corrupt("receipt kind"))
    }
}

/// Numbers the next `limit` unnumbered documents (see
/// [`ReceiptStore::number_pending`]) inside the caller's transaction.
fn number_in(conn: &mut PgConnection, now: DateTime<Utc>, limit: u32) -> Result<u64, StoreError> {
    // One numberer at a time: numbers are taken in the order of the sales.
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('skillpay:receipt-numbering', 0))")
        .execute(conn)
        .map_err(store_error)?;
    let pending: Vec<DocumentRow> = receipts::table
        .filter(receipts::number.is_null())
        // Receipts first ('receipt' > 'credit_note'): a credit note's
        // receipt has its number before it.
        .order((receipts::kind.desc(), receipts::created_at, receipts::id))
        .limit(i64::from(limit))
        .select(DocumentRow::as_select())
        .load(conn)
        .map_err(store_error)?;
    if pending.is_empty() {
        return Ok(0);
    }
    let series: Vec<String> = pending
        .iter()
        .map(|row| Ok(series_of(row.kind()?, row.livemode, row.created_at)))
        .collect::<Result<_, StoreError>>()?;
    let mut counts: Vec<(&str, i64)> = Vec::new();
    for name in &series {
        match counts.iter_mut().find(|(n, _)| n == name) {
            Some((_, count)) => *count += 1,
            None => counts.push((name, 1)),
        }
    }
    // Each series' counter moves by its count at once; its first number
    // follows the last one taken.
    let mut next: HashMap<&str, i64> = HashMap::new();
    for (name, count) in counts {
        let last: i64 = diesel::sql_query(
            "INSERT INTO receipt_series (series, last_number) VALUES ($1, $2) \
             ON CONFLICT (series) DO UPDATE SET last_number = receipt_series.last_number + EXCLUDED.last_number \
             RETURNING last_number AS n",
        )
        .bind::<Text, _>(name)
        .bind::<BigInt, _>(count)
        .get_result::<Count>(conn)
        .map_err(store_error)?
        .n;
        next.insert(name, last - count + 1);
    }
    let mut ids = Vec::with_capacity(pending.len());
    let mut sequences = Vec::with_capacity(pending.len());
    let mut numbers = Vec::with_capacity(pending.len());
    for (row, name) in pending.iter().zip(&series) {
        let sequence = next.get_mut(name.as_str()).ok_or_else(|| corrupt("receipt series"))?;
        ids.push(row.id);
        sequences.push(*sequence);
        numbers.push(number_text(name, u64::try_from(*sequence).map_err(|_| corrupt("receipt sequence"))?));
        *sequence += 1;
    }
    diesel::sql_query(
        "UPDATE receipts r SET series = u.series, sequence = u.sequence, number = u.number, issued_at = $5 \
         FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[]) AS u(id, series, sequence, number) \
         WHERE r.id = u.id",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Text>, _>(&series)
    .bind::<Array<BigInt>, _>(&sequences)
    .bind::<Array<Text>, _>(&numbers)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .map_err(store_error)?;
    let mut events = Vec::with_capacity(pending.len());
    for row in pending.into_iter().filter(|row| !row.quiet) {
        let event_type = match row.kind()? {
            DocumentKind::Receipt => EventType::ReceiptIssued,
            DocumentKind::CreditNote => EventType::CreditNoteIssued,
        };
        let id = row.id;
        let issued = load(conn, row)?.ok_or_else(|| corrupt(&format!("receipt {id} just numbered")))?;
        events.push(OutboxEvent::new(EventId::from_uuid(Uuid::now_v7()), event_type, issued, now));
    }
    insert_events(conn, &events).map_err(store_error)?;
    Ok(u64::try_from(ids.len()).unwrap_or(0))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A document with what it is about, read as it stands (`row` gives its
/// id; its number is read again); `None` while it has no number.
fn load(conn: &mut PgConnection, row: DocumentRow) -> Result<Option<Receipt>, StoreError> {
    let (number, issued_at): (Option<String>, Option<DateTime<Utc>>) = receipts::table
        .find(row.id)
        .select((receipts::number, receipts::issued_at))
        .first(conn)
        .map_err(store_error)?;
    let (Some(number), Some(issued_at)) = (number, issued_at) else {
        return Ok(None);
    };
    let kind = row.kind()?;
    let payment =
        payments::table.find(row.payment_id).select(PaymentRow::as_select()).first(conn).map_err(store_error)?;
    let payment = payment.into_domain()?;
    let item_title: Option<String> = catalog_items::table
        .filter(catalog_items::kind.eq(payment.item.kind.as_str()))
        .filter(catalog_items::item_id.eq(payment.item.id))
        .select(catalog_items::title)
        .first(conn)
        .optional()
        .map_err(store_error)?;
    let refund = match row.refund_id {
        Some(id) => Some(
            refunds::table.find(id).select(RefundRow::as_select()).first(conn).map_err(store_error)?.into_domain()?,
        ),
        None => None,
    };
    let (receipt_number, credit_notes) = match kind {
        DocumentKind::CreditNote => {
            let receipt_number: Option<String> = receipts::table
                .filter(receipts::payment_id.eq(row.payment_id))
                .filter(receipts::kind.eq(DocumentKind::Receipt.as_str()))
                .select(receipts::number)
                .first(conn)
                .optional()
                .map_err(store_error)?
                .flatten();
            (receipt_number, Vec::new())
        }
        DocumentKind::Receipt => (None, credit_notes_of(conn, row.payment_id)?),
    };
    Ok(Some(Receipt {
        id: ReceiptId::from_uuid(row.id),
        kind,
        number,
        issued_at,
        payment,
        item_title,
        refund,
        receipt_number,
        credit_notes,
    }))
}

/// A credit note's number, issue time, and its refund's amount and currency.
type CreditNoteRow = (Option<String>, Option<DateTime<Utc>>, i64, String);

/// A payment's numbered credit notes, oldest first.
fn credit_notes_of(conn: &mut PgConnection, payment: Uuid) -> Result<Vec<CreditNoteLine>, StoreError> {
    let rows: Vec<CreditNoteRow> = receipts::table
        .inner_join(refunds::table)
        .filter(receipts::payment_id.eq(payment))
        .filter(receipts::number.is_not_null())
        .order(receipts::sequence)
        .select((receipts::number, receipts::issued_at, refunds::amount_minor, refunds::currency))
        .load(conn)
        .map_err(store_error)?;
    rows.into_iter()
        .map(|(number, issued_at, amount, currency)| {
            Ok(CreditNoteLine {
                number: number.ok_or_else(|| corrupt("credit note number"))?,
                amount: domain::money::Money::from_minor(amount, crate::rows::currency(&currency)?),
                issued_at: issued_at.ok_or_else(|| corrupt("credit note issue time"))?,
            })
        })
        .collect()
}

/// Where a document stands (`None`: there is none).
fn state_of(conn: &mut PgConnection, row: Option<DocumentRow>) -> Result<DocumentState, StoreError> {
    let Some(row) = row else {
        return Ok(DocumentState::None);
    };
    if row.number.is_none() {
        return Ok(DocumentState::Unnumbered);
    }
    Ok(load(conn, row)?.map_or(DocumentState::Unnumbered, |receipt| DocumentState::Issued(Box::new(receipt))))
}

#[async_trait]
impl ReceiptStore for PgStore {
    async fn number_pending(&self, now: DateTime<Utc>, limit: u32) -> Result<u64, StoreError> {
        self.run(move |conn| store_transaction(conn, |conn| number_in(conn, now, limit))).await
    }

    async fn receipt_of(&self, payment: PaymentId) -> Result<DocumentState, StoreError> {
        self.run(move |conn| {
            let row = receipts::table
                .filter(receipts::payment_id.eq(payment.uuid()))
                .filter(receipts::kind.eq(DocumentKind::Receipt.as_str()))
                .select(DocumentRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?;
            state_of(conn, row)
        })
        .await
    }

    async fn credit_note_of(&self, refund: RefundId) -> Result<DocumentState, StoreError> {
        self.run(move |conn| {
            let row = receipts::table
                .filter(receipts::refund_id.eq(refund.uuid()))
                .select(DocumentRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?;
            state_of(conn, row)
        })
        .await
    }
}
