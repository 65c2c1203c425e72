//! Disputes on PostgreSQL: each step commits with its payment's guarded
//! move, its ledger journal and its outbox rows, or not at all.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::dispute::{Dispute, DisputeStatus};
use domain::ids::{DisputeId, PaymentId};
use domain::money::Money;
use domain::paging::Page;
use domain::ports::{DisputeChange, DisputeQuery, DisputeRepository, StoreError};
use uuid::Uuid;

use crate::audit::decided_by;
use crate::errors::{TxError, corrupt, store_error};
use crate::keyset::keyset_page;
use crate::ledger::write_journal;
use crate::outbox::insert_events;
use crate::payments::paginate;
use crate::pool::PgStore;
use crate::rows::{currency, settled_name};
use crate::schema::{payment_disputes as disputes, payments};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = disputes, check_for_backend(diesel::pg::Pg))]
struct DisputeRow {
    id: Uuid,
    payment_id: Uuid,
    provider_dispute_id: Option<String>,
    amount_minor: i64,
    currency: String,
    reason: String,
    status: String,
    evidence_due_by: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    fee_held_minor: i64,
    livemode: bool,
}

impl DisputeRow {
    fn from_domain(d: &Dispute) -> Self {
        DisputeRow {
            id: d.id.uuid(),
            payment_id: d.payment_id.uuid(),
            provider_dispute_id: Some(d.provider_dispute_id.clone()),
            amount_minor: d.amount.minor(),
            currency: d.amount.currency().code().to_owned(),
            reason: d.reason.clone(),
            status: d.status.as_str().to_owned(),
            evidence_due_by: d.evidence_due_by,
            created_at: d.created_at,
            updated_at: d.updated_at,
            resolved_at: d.resolved_at,
            fee_held_minor: d.fee_held.minor(),
            livemode: d.livemode,
        }
    }

    fn into_domain(self) -> Result<Dispute, StoreError> {
        let currency = currency(&self.currency)?;
        Ok(Dispute {
            id: DisputeId::from_uuid(self.id),
            payment_id: PaymentId::from_uuid(self.payment_id),
            provider_dispute_id: self.provider_dispute_id.ok_or_else(|| corrupt("dispute provider id"))?,
            amount: Money::from_minor(self.amount_minor, currency),
            fee_held: Money::from_minor(self.fee_held_minor, currency),
            reason: self.reason,
            status: DisputeStatus::parse(&self.status).ok_or_else(|| corrupt("dispute status"))?,
            evidence_due_by: self.evidence_due_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
            resolved_at: self.resolved_at,
            livemode: self.livemode,
        })
    }
}

#[async_trait]
impl DisputeRepository for PgStore {
    async fn find(&self, id: DisputeId) -> Result<Option<Dispute>, StoreError> {
        self.run(move |conn| {
            disputes::table
                .find(id.uuid())
                .select(DisputeRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(DisputeRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn find_by_provider_id(&self, provider_dispute_id: String) -> Result<Option<Dispute>, StoreError> {
        self.run(move |conn| {
            disputes::table
                .filter(disputes::provider_dispute_id.eq(provider_dispute_id))
                .select(DisputeRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(DisputeRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn list(&self, query: DisputeQuery) -> Result<Page<Dispute>, StoreError> {
        let page = query.page;
        self.run(move |conn| {
            let mut q = disputes::table.select(DisputeRow::as_select()).into_boxed();
            if let Some(livemode) = query.livemode {
                q = q.filter(disputes::livemode.eq(livemode));
            }
            let rows: Vec<DisputeRow> =
                keyset_page!(q, disputes, page).limit(i64::from(page.limit) + 1).load(conn).map_err(store_error)?;
            let items = rows.into_iter().map(DisputeRow::into_domain).collect::<Result<Vec<_>, _>>()?;
            Ok(paginate(items, page.limit, |d| (d.created_at, d.id.uuid())))
        })
        .await
    }

    async fn record(&self, change: DisputeChange) -> Result<bool, StoreError> {
        self.run(move |conn| {
            let result = conn.transaction::<bool, TxError<()>, _>(|conn| {
                decided_by(conn, change.by)?;
                let row = DisputeRow::from_domain(&change.dispute);
                let written = match change.previous {
                    // Another delivery may have created it first: then nothing
                    // is written and the caller re-reads.
                    None => diesel::insert_into(disputes::table)
                        .values(&row)
                        .on_conflict(disputes::provider_dispute_id)
                        .do_nothing()
                        .execute(conn)?,
                    Some(previous) => {
                        diesel::update(disputes::table.find(row.id).filter(disputes::status.eq(previous.as_str())))
                            .set((
                                disputes::status.eq(&row.status),
                                disputes::evidence_due_by.eq(row.evidence_due_by),
                                disputes::updated_at.eq(row.updated_at),
                                disputes::resolved_at.eq(row.resolved_at),
                            ))
                            .execute(conn)?
                    }
                };
                if written == 0 {
                    return Ok(false);
                }
                if let Some(update) = change.payment {
                    let moved = diesel::update(
                        payments::table
                            .find(change.dispute.payment_id.uuid())
                            .filter(payments::status.eq(update.from.as_str()))
                            .filter(
                                payments::status_before_dispute
                                    .is_not_distinct_from(update.from.before_dispute().map(settled_name)),
                            ),
                    )
                    .set((
                        payments::status.eq(update.to.as_str()),
                        payments::status_before_dispute.eq(update.to.before_dispute().map(settled_name)),
                        payments::updated_at.eq(change.dispute.updated_at),
                    ))
                    .execute(conn)?;
                    if moved == 0 {
                        return Err(TxError::Refused(()));
                    }
                }
                if let Some(journal) = &change.journal {
                    write_journal(conn, journal)?;
                }
                insert_events(conn, &change.outbox)?;
                Ok(true)
            });
            match result {
                Ok(applied) => Ok(applied),
                Err(e) => e.into_result().map(|()| false),
            }
        })
        .await
    }
}
