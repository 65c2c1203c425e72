//! The refund port on PostgreSQL. A request is planned under a lock on its
//! payment row, so concurrent requests can never refund more than was paid;
//! a processed refund commits with its journal, its payment's guarded update
//! and its outbox rows.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::sum;
use diesel::prelude::*;
use diesel::result::DatabaseErrorKind;
use domain::ids::{PaymentId, RefundId, UserId};
use domain::money::Money;
use domain::outbox::{EventType, OutboxEvent};
use domain::paging::Page;
use domain::ports::{
    CreateRefundStoreError, NewRefund, PaymentRefundUpdate, ProcessedRefund, RecordRefundOutcome, RefundChange,
    RefundQuery, RefundRepository, StoreError,
};
use domain::refund::{LiveRefunds, Refund, RefundStatus, plan_refund};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::audit::decided_by;
use crate::errors::{TxError, corrupt, store_error};
use crate::keyset::keyset_page;
use crate::ledger::write_journal;
use crate::outbox::insert_events;
use crate::payments::paginate;
use crate::pool::PgStore;
use crate::rows::{PaymentRow, currency, settled_name};
use crate::schema::{payments, refunds};

mod fee_returns;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = refunds, check_for_backend(diesel::pg::Pg))]
pub(crate) struct RefundRow {
    id: Uuid,
    payment_id: Uuid,
    amount_minor: i64,
    currency: String,
    platform_fee_reversed_minor: i64,
    status: String,
    reason: String,
    rejection_reason: Option<String>,
    provider_refund_id: Option<String>,
    requested_by: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    processed_at: Option<DateTime<Utc>>,
    approved_by: Option<i64>,
    approved_at: Option<DateTime<Utc>>,
    admin_note: Option<String>,
    origin: String,
    livemode: bool,
    gateway_fee_returned_minor: Option<i64>,
    payer_refunds_90d: Option<i32>,
    payer_paid_90d: Option<i32>,
    needs_two_admins: bool,
}

impl RefundRow {
    pub(crate) fn into_domain(self) -> Result<Refund, StoreError> {
        let currency = currency(&self.currency)?;
        Ok(Refund {
            id: RefundId::from_uuid(self.id),
            payment_id: PaymentId::from_uuid(self.payment_id),
            amount: Money::from_minor(self.amount_minor, currency),
            platform_fee_reversed: Money::from_minor(self.platform_fee_reversed_minor, currency),
            status: RefundStatus::parse(&self.status).ok_or_else(|| corrupt("refund status"))?,
            reason: self.reason,
            rejection_reason: self.rejection_reason,
            provider_refund_id: self.provider_refund_id,
            origin: self.origin.parse().map_err(|_| corrupt("refund origin"))?,
            livemode: self.livemode,
            requested_by: self.requested_by.map(UserId::new),
            created_at: self.created_at,
            updated_at: self.updated_at,
            processed_at: self.processed_at,
            approved_by: self.approved_by.map(UserId::new),
            approved_at: self.approved_at,
            admin_note: self.admin_note,
            gateway_fee_returned: self.gateway_fee_returned_minor.map(|m| Money::from_minor(m, currency)),
            payer_history: match (self.payer_refunds_90d, self.payer_paid_90d) {
                (Some(refunds), Some(paid)) => Some(domain::fraud::RefundHistory {
                    refunds: u32::try_from(refunds).map_err(|_| corrupt("refund history"))?,
                    paid: u32::try_from(paid).map_err(|_| corrupt("refund history"))?,
                }),
                _ => None,
            },
            needs_two_admins: self.needs_two_admins,
        })
    }
}

#[derive(AsChangeset)]
#[diesel(table_name = refunds)]
struct RefundUpdate<'a> {
    status: &'a str,
    updated_at: DateTime<Utc>,
    rejection_reason: Option<&'a str>,
    processed_at: Option<DateTime<Utc>>,
    provider_refund_id: Option<&'a str>,
    approved_by: Option<i64>,
    approved_at: Option<DateTime<Utc>>,
    admin_note: Option<&'a str>,
}

fn minor(total: Option<Decimal>) -> Result<i64, StoreError> {
    i64::try_from(total.unwrap_or_default()).map_err(|_| corrupt("refund total"))
}

#[async_trait]
impl RefundRepository for PgStore {
    async fn claim_unrecorded_fee_returns(
        &self,
        processed_after: DateTime<Utc>,
        now: DateTime<Utc>,
        min_wait: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<RefundId>, StoreError> {
        self.run(move |conn| fee_returns::claim(conn, processed_after, now, min_wait, limit)).await
    }

    async fn record_fee_returned(
        &self,
        refund: RefundId,
        returned: Money,
        journal: Option<domain::ledger::Journal>,
    ) -> Result<Option<Refund>, StoreError> {
        self.run(move |conn| fee_returns::record(conn, refund, returned, journal.as_ref())).await
    }

    async fn create(&self, request: NewRefund) -> Result<Refund, CreateRefundStoreError> {
        self.run(move |conn| {
            let result = conn.transaction::<Refund, TxError<CreateRefundStoreError>, _>(|conn| {
                let payment: Option<PaymentRow> = payments::table
                    .find(request.payment_id.uuid())
                    .select(PaymentRow::as_select())
                    .for_update()
                    .first(conn)
                    .optional()?;
                let payment =
                    payment.ok_or(TxError::Refused(CreateRefundStoreError::PaymentNotFound))?.into_domain()?;
                let (amount, fee): (Option<Decimal>, Option<Decimal>) = refunds::table
                    .filter(refunds::payment_id.eq(request.payment_id.uuid()))
                    .filter(refunds::status.ne_all(["rejected", "failed"]))
                    .select((sum(refunds::amount_minor), sum(refunds::platform_fee_reversed_minor)))
                    .first(conn)?;
                let currency = payment.amount.currency();
                let live = LiveRefunds {
                    amount: Money::from_minor(minor(amount)?, currency),
                    platform_fee_reversed: Money::from_minor(minor(fee)?, currency),
                };
                let (amount, fee) = plan_refund(&payment, live, request.amount)
                    .map_err(|e| TxError::Refused(CreateRefundStoreError::Refused(e)))?;
                let history = request.screening.as_ref().map(|s| s.history);
                let row = RefundRow {
                    id: request.id.uuid(),
                    payment_id: request.payment_id.uuid(),
                    amount_minor: amount.minor(),
                    currency: currency.code().to_owned(),
                    platform_fee_reversed_minor: fee.minor(),
                    status: RefundStatus::Requested.as_str().to_owned(),
                    reason: request.reason.clone(),
                    rejection_reason: None,
                    provider_refund_id: None,
                    requested_by: request.requested_by.map(|by| by.user_id.get()),
                    created_at: request.at,
                    updated_at: request.at,
                    processed_at: None,
                    approved_by: None,
                    approved_at: None,
                    admin_note: None,
                    origin: request.origin.as_str().to_owned(),
                    livemode: payment.livemode,
                    gateway_fee_returned_minor: None,
                    payer_refunds_90d: history.map(|h| i32::try_from(h.refunds).unwrap_or(i32::MAX)),
                    payer_paid_90d: history.map(|h| i32::try_from(h.paid).unwrap_or(i32::MAX)),
                    needs_two_admins: request.screening.as_ref().is_some_and(|s| s.needs_two_admins()),
                };
                decided_by(conn, request.requested_by)?;
                let stored: RefundRow = diesel::insert_into(refunds::table)
                    .values(&row)
                    .returning(RefundRow::as_returning())
                    .get_result(conn)?;
                let refund = stored.into_domain()?;
                let requested =
                    OutboxEvent::new(request.event_id, EventType::RefundRequested, refund.clone(), request.at);
                insert_events(conn, &[requested])?;
                Ok(refund)
            });
            match result {
                Ok(refund) => Ok(Ok(refund)),
                Err(e) => e.into_result().map(Err),
            }
        })
        .await?
    }

    async fn find(&self, id: RefundId) -> Result<Option<Refund>, StoreError> {
        self.run(move |conn| {
            refunds::table
                .find(id.uuid())
                .select(RefundRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(RefundRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn find_by_provider_id(&self, provider_refund_id: String) -> Result<Option<Refund>, StoreError> {
        self.run(move |conn| {
            refunds::table
                .filter(refunds::provider_refund_id.eq(provider_refund_id))
                .select(RefundRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(RefundRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn processing(&self, limit: u32) -> Result<Vec<Refund>, StoreError> {
        self.run(move |conn| {
            let rows: Vec<RefundRow> = refunds::table
                .filter(refunds::status.eq(RefundStatus::Processing.as_str()))
                // Random order: refunds a gateway keeps pending cannot
                // crowd the others out of a batch.
                .order(diesel::dsl::sql::<diesel::sql_types::Double>("random()"))
                .limit(i64::from(limit))
                .select(RefundRow::as_select())
                .load(conn)
                .map_err(store_error)?;
            rows.into_iter().map(RefundRow::into_domain).collect()
        })
        .await
    }

    async fn list(&self, query: RefundQuery) -> Result<Page<Refund>, StoreError> {
        self.run(move |conn| {
            let mut q = refunds::table.select(RefundRow::as_select()).into_boxed();
            if let Some(payer) = query.payer {
                q = q.filter(
                    refunds::payment_id
                        .eq_any(payments::table.filter(payments::user_id.eq(payer.get())).select(payments::id)),
                );
            }
            if let Some(payment) = query.payment_id {
                q = q.filter(refunds::payment_id.eq(payment.uuid()));
            }
            if let Some(status) = query.status {
                q = q.filter(refunds::status.eq(status.as_str()));
            }
            if let Some(livemode) = query.livemode {
                q = q.filter(refunds::livemode.eq(livemode));
            }
            let rows: Vec<RefundRow> = keyset_page!(q, refunds, query.page)
                .limit(i64::from(query.page.limit) + 1)
                .load(conn)
                .map_err(store_error)?;
            let items = rows.into_iter().map(RefundRow::into_domain).collect::<Result<Vec<_>, _>>()?;
            Ok(paginate(items, query.page.limit, |r| (r.created_at, r.id.uuid())))
        })
        .await
    }

    async fn record_processed(&self, change: ProcessedRefund) -> Result<RecordRefundOutcome, StoreError> {
        self.run(move |conn| {
            let result = conn.transaction::<RecordRefundOutcome, TxError<RecordRefundOutcome>, _>(|conn| {
                let refund = &change.refund;
                let known: i64 = refunds::table
                    .filter(refunds::provider_refund_id.eq(refund.provider_refund_id.as_deref()))
                    .count()
                    .get_result(conn)?;
                if known > 0 {
                    return Err(TxError::Refused(RecordRefundOutcome::AlreadyRecorded));
                }
                let row = RefundRow {
                    id: refund.id.uuid(),
                    payment_id: refund.payment_id.uuid(),
                    amount_minor: refund.amount.minor(),
                    currency: refund.amount.currency().code().to_owned(),
                    platform_fee_reversed_minor: refund.platform_fee_reversed.minor(),
                    status: refund.status.as_str().to_owned(),
                    reason: refund.reason.clone(),
                    rejection_reason: None,
                    provider_refund_id: refund.provider_refund_id.clone(),
                    requested_by: refund.requested_by.map(|by| by.get()),
                    created_at: refund.created_at,
                    updated_at: refund.updated_at,
                    processed_at: refund.processed_at,
                    approved_by: None,
                    approved_at: None,
                    admin_note: None,
                    origin: refund.origin.as_str().to_owned(),
                    livemode: refund.livemode,
                    gateway_fee_returned_minor: None,
                    payer_refunds_90d: None,
                    payer_paid_90d: None,
                    needs_two_admins: false,
                };
                // A concurrent delivery of the same refund waits here on the
                // unique gateway id, then finds it taken.
                let inserted = diesel::insert_into(refunds::table).values(&row).execute(conn);
                if let Err(diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) = inserted {
                    return Err(TxError::Refused(RecordRefundOutcome::AlreadyRecorded));
                }
                inserted?;
                // Then the payment, in the order a settling refund takes its
                // locks (refund row and its statistics, then the payment):
                // the other order deadlocks with it.
                if !update_payment(
                    conn,
                    refund.payment_id.uuid(),
                    &change.payment,
                    refund.processed_at.unwrap_or(refund.updated_at),
                )? {
                    return Err(TxError::Refused(RecordRefundOutcome::PaymentMoved));
                }
                write_journal(conn, &change.journal)?;
                insert_events(conn, &change.outbox)?;
                Ok(RecordRefundOutcome::Recorded)
            });
            match result {
                Ok(outcome) => Ok(outcome),
                Err(e) => e.into_result(),
            }
        })
        .await
    }

    async fn apply(&self, change: RefundChange) -> Result<bool, StoreError> {
        self.run(move |conn| {
            let result = conn.transaction::<bool, TxError<()>, _>(|conn| {
                let processed_at = (change.to == RefundStatus::Processed).then_some(change.at);
                decided_by(conn, change.by)?;
                let approver = change.by.filter(|_| change.to == RefundStatus::Approved);
                // One statement, so the audit log has one entry per change:
                // `None` fields are left as they are.
                let update = RefundUpdate {
                    status: change.to.as_str(),
                    updated_at: change.at,
                    rejection_reason: change.rejection_reason.as_deref(),
                    processed_at,
                    provider_refund_id: change.provider_refund_id.as_deref(),
                    approved_by: approver.map(|by| by.user_id.get()),
                    approved_at: approver.map(|_| change.at),
                    admin_note: approver.and(change.admin_note.as_deref()),
                };
                let moved = diesel::update(
                    refunds::table.find(change.refund_id.uuid()).filter(refunds::status.eq(change.from.as_str())),
                )
                .set(&update)
                .execute(conn)?;
                if moved == 0 {
                    return Ok(false);
                }
                if let Some(update) = &change.payment {
                    let payment_id: Uuid =
                        refunds::table.find(change.refund_id.uuid()).select(refunds::payment_id).first(conn)?;
                    if !update_payment(conn, payment_id, update, change.at)? {
                        // The payment moved under us: undo everything.
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

/// Moves a refunded payment as `update` says if it is still as `update`
/// expects; false (nothing written) if it moved. Tickets to an event wholly
/// refunded give their seats back in the same transaction, whichever way
/// the refund came (through Skillpay or the gateway's dashboard).
fn update_payment(
    conn: &mut PgConnection,
    payment_id: Uuid,
    update: &PaymentRefundUpdate,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    let moved: Option<Option<i64>> = diesel::update(
        payments::table
            .find(payment_id)
            .filter(payments::status.eq(update.from.as_str()))
            .filter(
                payments::status_before_dispute.is_not_distinct_from(update.from.before_dispute().map(settled_name)),
            )
            .filter(payments::refunded_amount_minor.eq(update.refunded_before.minor())),
    )
    .set((
        payments::status.eq(update.to.as_str()),
        payments::status_before_dispute.eq(update.to.before_dispute().map(settled_name)),
        payments::refunded_amount_minor.eq(update.refunded_after.minor()),
        payments::updated_at.eq(at),
    ))
    .returning(payments::event_id)
    .get_result(conn)
    .optional()?;
    let Some(event) = moved else { return Ok(false) };
    if event.is_some() && update.from.holds_item() && !update.to.holds_item() {
        crate::seats::release(conn, payment_id)?;
    }
    Ok(true)
}
