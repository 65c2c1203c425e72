//! The payment port on PostgreSQL: each state change commits with its
//! coupon redemption change, ledger journal and outbox rows.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use domain::coupon::{CouponRejection, NewRedemption, RedemptionStatus};
use domain::ids::PaymentId;
use domain::ledger::Journal;
use domain::money::Money;
use domain::paging::{Cursor, Page};
use domain::payment::{Payment, PaymentMethod, PaymentStatus};
use domain::ports::{
    ChangeOutcome, CreatePaymentStoreError, NewPayment, PaymentChange, PaymentQuery, PaymentRepository,
    RedemptionChange, StoreError,
};
use uuid::Uuid;

use crate::coupons::{LimitedCoupon, announce_if_exhausted, announce_if_last_use, live_uses};
use crate::errors::{TxError, store_error};
use crate::keyset::keyset_page;
use crate::ledger::write_journal;
use crate::outbox::insert_events;
use crate::pool::PgStore;
use crate::prepared::{PreparedExt, Unread};
use crate::recovery;
use crate::rows::{PaymentRow, settled_name};
use crate::schema::{coupon_redemptions, coupon_use_counts, coupons, payments};
use crate::seats;

/// Cuts `limit + 1` loaded items to a page and its next cursor.
pub(crate) fn paginate<T>(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> (DateTime<Utc>, Uuid)) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let has_more = items.len() > limit;
    items.truncate(limit);
    let next = if has_more {
        items.last().map(|last| {
            let (created_at, id) = key(last);
            Cursor { created_at, id }
        })
    } else {
        None
    };
    Page { items, next }
}

/// Rows each unlimited coupon's use count is spread over.
const USE_SHARDS: u8 = 16;

/// Where a use is counted, decided by [`reserve_redemption`]: on the
/// coupon row (a coupon with a total limit) or on one of its
/// `coupon_use_counts` rows (one without).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UseCounter {
    Coupon,
    Shard(i16),
}

/// Checks a redemption against its coupon before the payment is written.
///
/// Every purchase first takes a key-share lock on the coupon row (the lock
/// the redemption's foreign key takes anyway). Purchases never wait on each
/// other for it, but an edit of the coupon's limits (`FOR UPDATE`) waits
/// for the purchases in flight and they for it, so each purchase checks the
/// limits that stand when it commits.
///
/// Only what has a limit is serialised beyond that: a coupon with a total
/// limit counts the use on its row, whose row lock (taken by the update,
/// compatible with the key-share locks, so no lock is ever upgraded) queues
/// its purchases one at a time while the limit is checked; a per-user limit
/// alone takes a transaction lock on (coupon, user), so one user's
/// purchases queue but nobody else's; a coupon with neither counts the use
/// on one of its [`USE_SHARDS`] count rows by [`count_use`], after the
/// payment (the order every payment change takes: statistics rows, then
/// count rows). A refusal rolls the whole transaction back, count included.
/// The reservations `user` holds of coupon `id` for payments not paid yet.
fn unpaid_holds(
    conn: &mut PgConnection,
    id: domain::ids::CouponId,
    user: domain::ids::UserId,
) -> Result<i64, diesel::result::Error> {
    coupon_redemptions::table
        .filter(coupon_redemptions::coupon_id.eq(id.uuid()))
        .filter(coupon_redemptions::user_id.eq(user.get()))
        .filter(coupon_redemptions::status.eq("reserved"))
        .count()
        .get_result(conn)
}

pub(crate) fn reserve_redemption(
    conn: &mut PgConnection,
    redemption: &NewRedemption,
    at: DateTime<Utc>,
) -> Result<UseCounter, TxError<CouponRejection>> {
    let id = redemption.coupon_id.uuid();
    let limits: Option<(bool, Option<i32>, Option<i32>)> = coupons::table
        .find(id)
        .select((coupons::is_active, coupons::max_uses, coupons::max_uses_per_user))
        .for_key_share()
        .first(conn)
        .optional()?;
    let Some((is_active, max_uses, max_per_user)) = limits else {
        return Err(TxError::Refused(CouponRejection::NotFound));
    };
    if !is_active {
        return Err(TxError::Refused(CouponRejection::Inactive));
    }
    let counter = match max_uses {
        Some(max) => {
            // An exhausted coupon is not updated (the row's CHECK keeps
            // `times_used <= max_uses` too) and needs no lock to refuse.
            let used: Option<i32> = diesel::update(coupons::table.find(id))
                .filter(coupons::times_used.lt(max))
                .set((coupons::times_used.eq(coupons::times_used + 1), coupons::updated_at.eq(at)))
                .returning(coupons::times_used)
                .prepared()
                .get_result(conn)
                .optional()?;
            let Some(used) = used else {
                return Err(TxError::Refused(CouponRejection::Exhausted));
            };
            // Uses counted on rows while the coupon had no limit count too.
            let on_rows: Option<i64> = coupon_use_counts::table
                .filter(coupon_use_counts::coupon_id.eq(id))
                .select(diesel::dsl::sum(coupon_use_counts::uses))
                .first(conn)?;
            if i64::from(used).saturating_add(on_rows.unwrap_or(0)) > i64::from(max) {
                return Err(TxError::Refused(CouponRejection::Exhausted));
            }
            // Under the coupon row's lock (just taken by the update), so
            // one user's racing purchases count each other's holds.
            if let Some(cap) = redemption.unpaid_per_user
                && unpaid_holds(conn, redemption.coupon_id, redemption.user_id)? >= i64::from(cap)
            {
                return Err(TxError::Refused(CouponRejection::UnpaidHold));
            }
            UseCounter::Coupon
        }
        None => UseCounter::Shard(i16::from(redemption.payment_id.uuid().as_bytes()[15] % USE_SHARDS)),
    };
    if let Some(max) = max_per_user {
        if counter != UseCounter::Coupon {
            let key = format!("coupon:{id}:user:{}", redemption.user_id);
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind::<diesel::sql_types::Text, _>(&key)
                .execute(conn)?;
        }
        // Our own use is not written yet (the redemption comes after the
        // payment), so the count is of the others.
        let used = live_uses(conn, redemption.coupon_id, redemption.user_id)?;
        if i64::from(used) >= i64::from(max) {
            return Err(TxError::Refused(CouponRejection::PerUserLimit));
        }
    }
    Ok(counter)
}

/// Counts a use of an unlimited coupon on its count row `shard`.
pub(crate) fn count_use(conn: &mut PgConnection, coupon: Uuid, shard: i16, delta: i32) -> QueryResult<usize> {
    diesel::insert_into(coupon_use_counts::table)
        .values((
            coupon_use_counts::coupon_id.eq(coupon),
            coupon_use_counts::shard.eq(shard),
            coupon_use_counts::uses.eq(delta),
        ))
        .on_conflict((coupon_use_counts::coupon_id, coupon_use_counts::shard))
        .do_update()
        .set(coupon_use_counts::uses.eq(coupon_use_counts::uses + excluded(coupon_use_counts::uses)))
        .returning(coupon_use_counts::uses)
        .prepared()
        .get_results::<i32>(conn)
        .map(|rows| rows.len())
}

/// A redemption and, for a use counted on a count row, that row's count, in
/// one statement. The payment (and, through its triggers, its statistics
/// rows) was written by an earlier statement of the transaction, so count
/// rows are still locked after statistics rows, as by every payment change.
const INSERT_REDEMPTION: &str = "\
WITH redemption AS (
    INSERT INTO coupon_redemptions (id, coupon_id, user_id, payment_id, discount_amount_minor, currency, status,
                                    redeemed_at, updated_at, use_shard, livemode)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10)
    RETURNING coupon_id, use_shard
)
INSERT INTO coupon_use_counts AS c (coupon_id, shard, uses)
SELECT coupon_id, use_shard, 1 FROM redemption WHERE use_shard IS NOT NULL
ON CONFLICT (coupon_id, shard) DO UPDATE SET uses = c.uses + EXCLUDED.uses
RETURNING c.uses";

/// The use takes its payment's mode (`livemode`; a foreign key refuses
/// another).
fn insert_redemption(
    conn: &mut PgConnection,
    r: &NewRedemption,
    counter: UseCounter,
    livemode: bool,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    use diesel::sql_types::{BigInt, Bool, Nullable, SmallInt, Text, Timestamptz};
    let use_shard = match counter {
        UseCounter::Coupon => None,
        UseCounter::Shard(shard) => Some(shard),
    };
    diesel::sql_query(INSERT_REDEMPTION)
        .bind::<diesel::sql_types::Uuid, _>(r.id.uuid())
        .bind::<diesel::sql_types::Uuid, _>(r.coupon_id.uuid())
        .bind::<BigInt, _>(r.user_id.get())
        .bind::<diesel::sql_types::Uuid, _>(r.payment_id.uuid())
        .bind::<BigInt, _>(r.discount_amount.minor())
        .bind::<Text, _>(r.discount_amount.currency().code())
        .bind::<Text, _>(r.status.as_str())
        .bind::<Timestamptz, _>(at)
        .bind::<Nullable<SmallInt>, _>(use_shard)
        .bind::<Bool, _>(livemode)
        .prepared()
        .load::<Unread>(conn)
        .map(|_| ())
}

/// Locks the coupon a payment change will touch before the payment row.
/// A purchase with a limited coupon locks the coupon and then, through the
/// statistics triggers, shared aggregate rows; a change that locked those
/// (by updating the payment) before the coupon could deadlock with it.
/// Confirming a use of an unlimited coupon touches the coupon not at all,
/// and neither does releasing a use counted on a count row: those take no
/// lock. One statement finds the reserved redemption and locks its coupon.
const LOCK_COUPON_FIRST: &str = "\
SELECT c.id FROM coupon_redemptions r JOIN coupons c ON c.id = r.coupon_id
 WHERE r.payment_id = $1 AND r.status = 'reserved'
   AND (c.max_uses IS NOT NULL OR ($2 AND r.use_shard IS NULL))
   FOR UPDATE OF c";

fn lock_coupon_first(conn: &mut PgConnection, payment: PaymentId, change: RedemptionChange) -> QueryResult<()> {
    diesel::sql_query(LOCK_COUPON_FIRST)
        .bind::<diesel::sql_types::Uuid, _>(payment.uuid())
        .bind::<diesel::sql_types::Bool, _>(change == RedemptionChange::Release)
        .prepared()
        .load::<Unread>(conn)
        .map(|_| ())
}

/// Confirms a payment's reserved redemption and, in the same statement,
/// touches its coupon's row when the coupon is limited (the lock under
/// which [`announce_if_last_use`] counts the confirmed uses).
const CONFIRM_REDEMPTION: &str = "\
WITH confirmed AS (
    UPDATE coupon_redemptions SET status = 'confirmed', updated_at = $2
     WHERE payment_id = $1 AND status = 'reserved'
    RETURNING coupon_id
)
UPDATE coupons SET updated_at = $2 FROM confirmed
 WHERE coupons.id = confirmed.coupon_id AND coupons.max_uses IS NOT NULL
RETURNING coupons.id, coupons.max_uses";

/// Moves a payment's reserved redemption on; a release also gives the use
/// back to the coupon's counter.
fn change_redemption(
    conn: &mut PgConnection,
    payment: PaymentId,
    change: RedemptionChange,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    match change {
        RedemptionChange::Confirm => {
            let limited: Vec<LimitedCoupon> = diesel::sql_query(CONFIRM_REDEMPTION)
                .bind::<diesel::sql_types::Uuid, _>(payment.uuid())
                .bind::<diesel::sql_types::Timestamptz, _>(at)
                .prepared()
                .load(conn)?;
            if let Some(coupon) = limited.into_iter().next() {
                announce_if_last_use(conn, coupon, at)?;
            }
        }
        RedemptionChange::Release => {
            let released: Option<(Uuid, Option<i16>)> = diesel::update(
                coupon_redemptions::table
                    .filter(coupon_redemptions::payment_id.eq(payment.uuid()))
                    .filter(coupon_redemptions::status.eq("reserved")),
            )
            .set((coupon_redemptions::status.eq("released"), coupon_redemptions::updated_at.eq(at)))
            .returning((coupon_redemptions::coupon_id, coupon_redemptions::use_shard))
            .prepared()
            .get_result(conn)
            .optional()?;
            match released {
                Some((coupon_id, Some(shard))) => {
                    count_use(conn, coupon_id, shard, -1)?;
                }
                Some((coupon_id, None)) => {
                    diesel::update(coupons::table.find(coupon_id))
                        .set((coupons::times_used.eq(coupons::times_used - 1), coupons::updated_at.eq(at)))
                        .returning(coupons::id)
                        .prepared()
                        .get_result::<Uuid>(conn)?;
                }
                None => {}
            }
        }
        // Taken again before the payment's change (`recovery`).
        RedemptionChange::Reclaim => {}
    }
    Ok(())
}

fn insert_payment(conn: &mut PgConnection, payment: &Payment) -> Result<PaymentRow, TxError<CouponRejection>> {
    let row = PaymentRow::from_domain(payment)?;
    Ok(diesel::insert_into(payments::table)
        .values(&row)
        .returning(PaymentRow::as_returning())
        .prepared()
        .get_result(conn)?)
}

/// Why a new payment was not stored.
enum NotStored {
    Coupon(CouponRejection),
    Held(PaymentId),
    SoldOut,
    TicketLimit,
    Store(StoreError),
}

/// The transaction of a payment with a coupon use, a journal, events or
/// seats. Its order (coupon, payment, seats) is the order every change of
/// a payment takes its locks in.
fn create_in_transaction(conn: &mut PgConnection, new: &NewPayment) -> Result<Payment, TxError<NotStored>> {
    let at = new.payment.created_at;
    if let Some(seats) = new.seats.filter(|s| s.tickets_per_buyer > 1) {
        let held = seats::tickets_held(conn, new.payment.user_id, seats.event_id, new.payment.livemode)?;
        if held.saturating_add(seats.quantity) > seats.tickets_per_buyer {
            return Err(TxError::Refused(NotStored::TicketLimit));
        }
    }
    let counter = match &new.redemption {
        Some(redemption) => {
            Some(reserve_redemption(conn, redemption, at).map_err(|e| e.map_refusal(NotStored::Coupon))?)
        }
        None => None,
    };
    let stored = insert_payment(conn, &new.payment).map_err(|e| e.map_refusal(NotStored::Coupon))?;
    if let Some(seats) = new.seats.filter(|s| s.limited)
        && !seats::take(conn, seats.event_id, new.payment.id, seats.quantity)?
    {
        return Err(TxError::Refused(NotStored::SoldOut));
    }
    if let (Some(redemption), Some(counter)) = (&new.redemption, counter) {
        insert_redemption(conn, redemption, counter, new.payment.livemode, at)?;
        if redemption.status == RedemptionStatus::Confirmed {
            announce_if_exhausted(conn, redemption.coupon_id.uuid(), at)?;
        }
    }
    if let Some(journal) = &new.journal {
        write_journal(conn, journal)?;
    }
    insert_events(conn, &new.outbox)?;
    Ok(stored.into_domain()?)
}

/// Whether an insert failed because the buyer holds the item already.
fn holds_item_already(error: &diesel::result::Error) -> bool {
    matches!(error, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info)
        if info.constraint_name() == Some("payments_one_per_buyer_idx"))
}

/// The buyer's payment that holds an item (open or paid), if any.
fn holding_payment(
    conn: &mut PgConnection,
    user: domain::ids::UserId,
    item: domain::catalog::ItemRef,
    livemode: bool,
) -> QueryResult<Option<PaymentId>> {
    let mut q = payments::table
        .filter(payments::user_id.eq(user.get()))
        .filter(payments::livemode.eq(livemode))
        .filter(payments::one_per_buyer.eq(true))
        .filter(payments::status.eq_any(seats::HOLDING))
        .select(payments::id)
        .into_boxed();
    q = match item.kind {
        domain::catalog::ItemKind::Course => q.filter(payments::course_id.eq(item.id)),
        domain::catalog::ItemKind::Event => q.filter(payments::event_id.eq(item.id)),
    };
    Ok(q.first::<Uuid>(conn).optional()?.map(PaymentId::from_uuid))
}

#[async_trait]
impl PaymentRepository for PgStore {
    async fn create(&self, new: NewPayment) -> Result<Payment, CreatePaymentStoreError> {
        let coupon_turn = match &new.redemption {
            Some(redemption) => Some(self.coupon_turn(redemption.coupon_id.uuid()).await?),
            None => None,
        };
        let buyer = (new.payment.user_id, new.payment.item, new.payment.livemode);
        let outcome = self
            .run(move |conn| {
                let _coupon_turn = coupon_turn;
                // A payment with nothing beside it (no coupon use, journal,
                // event or seat: an unpaid purchase without a coupon) is one
                // statement, atomic by itself, without BEGIN and COMMIT.
                let alone =
                    new.redemption.is_none() && new.journal.is_none() && new.outbox.is_empty() && new.seats.is_none();
                let result = if alone {
                    insert_payment(conn, &new.payment)
                        .map_err(|e| e.map_refusal(NotStored::Coupon))
                        .and_then(|row| Ok(row.into_domain()?))
                } else {
                    conn.transaction::<Payment, TxError<NotStored>, _>(|conn| create_in_transaction(conn, &new))
                };
                match result {
                    Ok(payment) => Ok(Ok(payment)),
                    Err(TxError::Db(e)) if holds_item_already(&e) => {
                        let (user, item, livemode) = buyer;
                        let held = holding_payment(conn, user, item, livemode).map_err(store_error)?;
                        // Ended between the conflict and this read: try again.
                        Ok(Err(held.map_or_else(
                            || {
                                NotStored::Store(StoreError::Unavailable(
                                    "a purchase of the same item ended meanwhile; try again".to_owned(),
                                ))
                            },
                            NotStored::Held,
                        )))
                    }
                    Err(e) => e.into_result().map(Err),
                }
            })
            .await?;
        outcome.map_err(|refusal| match refusal {
            NotStored::Coupon(reason) => CreatePaymentStoreError::Coupon(reason),
            NotStored::Held(id) => CreatePaymentStoreError::AlreadyHeld(id),
            NotStored::SoldOut => CreatePaymentStoreError::SoldOut,
            NotStored::TicketLimit => CreatePaymentStoreError::TicketLimit,
            NotStored::Store(e) => CreatePaymentStoreError::Store(e),
        })
    }

    async fn find(&self, id: PaymentId) -> Result<Option<Payment>, StoreError> {
        self.run(move |conn| {
            payments::table
                .find(id.uuid())
                .select(PaymentRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(PaymentRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn find_by_provider_id(
        &self,
        method: PaymentMethod,
        provider_payment_id: String,
    ) -> Result<Option<Payment>, StoreError> {
        self.run(move |conn| {
            payments::table
                .filter(payments::payment_method.eq(method.as_str()))
                .filter(payments::provider_payment_id.eq(provider_payment_id))
                .select(PaymentRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(PaymentRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn list(&self, query: PaymentQuery) -> Result<Page<Payment>, StoreError> {
        let work = move |conn: &mut PgConnection| {
            let mut q = payments::table.select(PaymentRow::as_select()).into_boxed();
            if let Some(user) = query.user_id {
                q = q.filter(payments::user_id.eq(user.get()));
            }
            if let Some(instructor) = query.instructor_id {
                q = q.filter(payments::instructor_id.eq(instructor.get()));
            }
            if let Some(status) = query.status {
                q = q.filter(payments::status.eq(status));
            }
            if let Some(method) = query.method {
                q = q.filter(payments::payment_method.eq(method.as_str()));
            }
            if let Some(code) = query.coupon_code {
                q = q.filter(payments::coupon_code.eq(code));
            }
            if let Some(livemode) = query.livemode {
                q = q.filter(payments::livemode.eq(livemode));
            }
            if let Some(email) = query.billing_email {
                // Matches the expression of payments_billing_email_idx.
                q = q.filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>(
                        "billing ? 'email' AND lower(billing ->> 'email') = lower(",
                    )
                    .bind::<diesel::sql_types::Text, _>(email)
                    .sql(")"),
                );
            }
            let rows: Vec<PaymentRow> = keyset_page!(q, payments, query.page)
                .limit(i64::from(query.page.limit) + 1)
                .load(conn)
                .map_err(store_error)?;
            let items = rows.into_iter().map(PaymentRow::into_domain).collect::<Result<Vec<_>, _>>()?;
            Ok(paginate(items, query.page.limit, |p| (p.created_at, p.id.uuid())))
        };
        self.run(work).await
    }

    async fn attach_provider_id(&self, id: PaymentId, provider_payment_id: String) -> Result<(), StoreError> {
        self.run(move |conn| {
            diesel::update(payments::table.find(id.uuid()))
                .set((payments::provider_payment_id.eq(provider_payment_id), payments::updated_at.eq(Utc::now())))
                .returning(payments::id)
                .prepared()
                .get_results::<Uuid>(conn)
                .map(|_| ())
                .map_err(store_error)
        })
        .await
    }

    async fn claim_open_payments(
        &self,
        created_before: DateTime<Utc>,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PaymentId>, StoreError> {
        #[derive(QueryableByName)]
        struct Claimed {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: Uuid,
        }
        self.run(move |conn| {
            let claimed: Vec<Claimed> = diesel::sql_query(
                "UPDATE payments SET reconcile_after = $1 WHERE id IN (
                     SELECT id FROM payments
                     WHERE status IN ('pending', 'processing') AND created_at < $2
                       AND (reconcile_after IS NULL OR reconcile_after <= $3)
                     ORDER BY created_at LIMIT $4
                     FOR UPDATE SKIP LOCKED)
                 RETURNING id",
            )
            .bind::<diesel::sql_types::Timestamptz, _>(lease_until)
            .bind::<diesel::sql_types::Timestamptz, _>(created_before)
            .bind::<diesel::sql_types::Timestamptz, _>(now)
            .bind::<diesel::sql_types::BigInt, _>(i64::from(limit))
            .load(conn)
            .map_err(store_error)?;
            Ok(claimed.into_iter().map(|c| PaymentId::from_uuid(c.id)).collect())
        })
        .await
    }

    async fn claim_given_up_payments(
        &self,
        given_up_after: DateTime<Utc>,
        now: DateTime<Utc>,
        min_wait: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<PaymentId>, StoreError> {
        self.claim_due(recovery::CLAIM_GIVEN_UP, given_up_after, now, min_wait, limit).await
    }

    async fn claim_unrecorded_fees(
        &self,
        completed_after: DateTime<Utc>,
        now: DateTime<Utc>,
        min_wait: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<PaymentId>, StoreError> {
        self.claim_due(recovery::CLAIM_UNRECORDED_FEES, completed_after, now, min_wait, limit).await
    }

    async fn record_gateway_fee(
        &self,
        id: PaymentId,
        fee: Money,
        bearer: domain::ledger::FeeBearer,
        journal: Option<Journal>,
        risk: domain::fraud::RiskVerdict,
        attention: Option<domain::attention::NewAttention>,
    ) -> Result<Option<Payment>, StoreError> {
        let bearer: &'static str = bearer.into();
        self.run(move |conn| {
            conn.transaction::<Option<Payment>, TxError<()>, _>(|conn| {
                let updated: Option<PaymentRow> =
                    diesel::update(payments::table.find(id.uuid()).filter(payments::gateway_fee_minor.is_null()))
                        .set((
                            payments::gateway_fee_minor.eq(fee.minor()),
                            payments::gateway_fee_bearer.eq(bearer),
                            payments::risk.eq(crate::rows::risk_json(&risk)),
                        ))
                        .returning(PaymentRow::as_returning())
                        .get_result(conn)
                        .optional()?;
                let Some(updated) = updated else {
                    return Ok(None);
                };
                if let Some(journal) = &journal {
                    write_journal(conn, journal)?;
                }
                if let Some(attention) = &attention {
                    recovery::insert_attention(conn, attention)?;
                }
                Ok(Some(updated.into_domain()?))
            })
            .map_err(|e| match e.into_result() {
                Ok(()) => StoreError::Corrupt("unexpected refusal".to_owned()),
                Err(e) => e,
            })
        })
        .await
    }

    async fn apply(&self, change: PaymentChange) -> Result<ChangeOutcome, StoreError> {
        self.run(move |conn| {
            let result = conn.transaction::<ChangeOutcome, TxError<Refusal>, _>(|conn| {
                match change.redemption {
                    // Taken again before the payment row, in the order
                    // every purchase locks a coupon and then its payment.
                    Some(RedemptionChange::Reclaim) => recovery::reclaim_redemption(conn, change.payment_id, change.at)
                        .map_err(|e| e.map_refusal(Refusal::Coupon))?,
                    Some(redemption) => lock_coupon_first(conn, change.payment_id, redemption)?,
                    None => {}
                }
                let updated: Option<PaymentRow> = diesel::update(
                    payments::table.find(change.payment_id.uuid()).filter(payments::status.eq(change.from.as_str())),
                )
                .set((
                    payments::status.eq(change.to.as_str()),
                    payments::status_before_dispute.eq(change.to.before_dispute().map(settled_name)),
                    payments::updated_at.eq(change.at),
                    payments::completed_at.eq(change.completed_at),
                    payments::failure_reason.eq(&change.failure_reason),
                ))
                .returning(PaymentRow::as_returning())
                .prepared()
                .get_result(conn)
                .optional()?;
                let Some(updated) = updated else {
                    // Undo a use taken again above.
                    return Err(TxError::Refused(Refusal::StatusMoved));
                };
                if change.from == PaymentStatus::InReview {
                    // Released from review: an ordinary sale from then on.
                    diesel::update(payments::table.find(change.payment_id.uuid()))
                        .set(payments::fraud_review.eq(false))
                        .execute(conn)?;
                }
                if let Some(redemption) = change.redemption {
                    change_redemption(conn, change.payment_id, redemption, change.at)?;
                }
                match (change.from.holds_item(), change.to.holds_item(), updated.event_id) {
                    // Only an event's tickets hold seats.
                    (true, false, Some(_)) => seats::release(conn, change.payment_id.uuid())?,
                    // Paid after it was given up: its seats again, if any
                    // are left (see docs/payments.md#event-seats).
                    (false, true, Some(event)) => {
                        let quantity = u32::try_from(updated.quantity).unwrap_or(1);
                        seats::take(conn, event, change.payment_id, quantity)?;
                    }
                    _ => {}
                }
                if let Some(journal) = &change.journal {
                    write_journal(conn, journal)?;
                }
                insert_events(conn, &change.outbox)?;
                crate::fraud::settle_attempt(conn, change.payment_id, change.to)?;
                if let Some(attention) = &change.attention {
                    recovery::insert_attention(conn, attention)?;
                }
                Ok(ChangeOutcome::Applied(Box::new(updated.into_domain()?)))
            });
            match result {
                Ok(outcome) => Ok(outcome),
                Err(e) => e.into_result().map(|refusal| match refusal {
                    Refusal::StatusMoved => ChangeOutcome::StatusMoved,
                    Refusal::Coupon(reason) => ChangeOutcome::CouponRefused(reason),
                }),
            }
        })
        .await
    }
}

/// Why a payment change wrote nothing.
enum Refusal {
    /// The payment was no longer in the expected status.
    StatusMoved,
    /// The coupon use could not be taken again.
    Coupon(CouponRejection),
}

impl PgStore {
    /// Runs one of the sweep's claims of due payments (`recovery`).
    async fn claim_due(
        &self,
        claim: &'static str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        min_wait: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<PaymentId>, StoreError> {
        #[derive(QueryableByName)]
        struct Claimed {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: Uuid,
        }
        self.run(move |conn| {
            let claimed: Vec<Claimed> = diesel::sql_query(claim)
                .bind::<diesel::sql_types::Timestamptz, _>(since)
                .bind::<diesel::sql_types::Timestamptz, _>(now)
                .bind::<diesel::sql_types::Double, _>(min_wait.as_seconds_f64())
                .bind::<diesel::sql_types::BigInt, _>(i64::from(limit))
                .load(conn)
                .map_err(store_error)?;
            Ok(claimed.into_iter().map(|c| PaymentId::from_uuid(c.id)).collect())
        })
        .await
    }
}
