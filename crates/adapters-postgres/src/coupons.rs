//! The coupon port on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use domain::coupon::{Coupon, CouponCode, CouponEdit, CouponEditError, CouponUsage, NewCoupon, RedemptionStatus};
use domain::ids::{CouponId, EventId, UserId};
use domain::money::Money;
use domain::outbox::{EventType, OutboxEvent};
use domain::paging::Page;
use domain::ports::{
    CouponEdited, CouponQuery, CouponRepository, CreateCouponStoreError, EditCouponStoreError, StoreError,
};
use domain::usecases::Actor;
use uuid::Uuid;

use crate::audit::decided_by;
use crate::errors::{TxError, corrupt, store_error};
use crate::keyset::keyset_page;
use crate::outbox::insert_events;
use crate::pool::PgStore;
use crate::prepared::PreparedExt;
use crate::rows::{CouponRow, currency, limit};
use crate::schema::{coupon_redemptions, coupons};

/// Redemption statuses that count against a coupon's limits.
pub(crate) const LIVE_REDEMPTION: [&str; 2] = ["reserved", "confirmed"];

#[async_trait]
impl CouponRepository for PgStore {
    async fn create(&self, coupon: NewCoupon, by: Actor) -> Result<Coupon, CreateCouponStoreError> {
        self.run(move |conn| {
            let row = CouponRow::from_new(&coupon)?;
            let inserted = conn.transaction::<CouponRow, DieselError, _>(|conn| {
                decided_by(conn, Some(by))?;
                diesel::insert_into(coupons::table).values(&row).returning(CouponRow::as_returning()).get_result(conn)
            });
            match inserted {
                Ok(row) => Ok(Ok(row.into_domain()?)),
                Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                    Ok(Err(CreateCouponStoreError::DuplicateCode))
                }
                Err(e) => Err(store_error(e)),
            }
        })
        .await?
    }

    async fn find(&self, id: CouponId) -> Result<Option<Coupon>, StoreError> {
        self.run(move |conn| {
            coupons::table
                .find(id.uuid())
                .select(CouponRow::as_select())
                .limit(1)
                .prepared()
                .get_result(conn)
                .optional()
                .map_err(store_error)?
                .map(CouponRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn find_by_code(&self, code: CouponCode) -> Result<Option<Coupon>, StoreError> {
        self.run(move |conn| {
            coupons::table
                .filter(coupons::code.eq(code.as_str()))
                .select(CouponRow::as_select())
                .limit(1)
                .prepared()
                .get_result(conn)
                .optional()
                .map_err(store_error)?
                .map(CouponRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn list(&self, query: CouponQuery) -> Result<Page<Coupon>, StoreError> {
        self.run(move |conn| {
            let mut q = coupons::table.select(CouponRow::as_select()).into_boxed();
            if let Some(active) = query.active {
                q = q.filter(coupons::is_active.eq(active));
            }
            if query.usable {
                // A limited coupon counts its uses (reserved and confirmed)
                // on `times_used`, so below `max_uses` is not exhausted.
                q = q.filter(
                    coupons::is_active
                        .eq(true)
                        .and(coupons::valid_from.is_null().or(coupons::valid_from.le(diesel::dsl::now)))
                        .and(coupons::expires_at.is_null().or(coupons::expires_at.gt(diesel::dsl::now)))
                        .and(coupons::max_uses.is_null().or(coupons::times_used.nullable().lt(coupons::max_uses))),
                );
            }
            let limit = i64::from(query.page.limit);
            let rows: Vec<CouponRow> =
                keyset_page!(q, coupons, query.page).limit(limit + 1).load(conn).map_err(store_error)?;
            let items = rows.into_iter().map(CouponRow::into_domain).collect::<Result<Vec<_>, _>>()?;
            Ok(crate::payments::paginate(items, query.page.limit, |c| (c.created_at, c.id.uuid())))
        })
        .await
    }

    async fn deactivate(&self, id: CouponId, by: Actor) -> Result<Option<Coupon>, StoreError> {
        self.run(move |conn| {
            conn.transaction::<_, DieselError, _>(|conn| {
                decided_by(conn, Some(by))?;
                diesel::update(coupons::table.find(id.uuid()))
                    .set((coupons::is_active.eq(false), coupons::updated_at.eq(chrono::Utc::now())))
                    .returning(CouponRow::as_returning())
                    .get_result(conn)
                    .optional()
            })
            .map_err(store_error)?
            .map(CouponRow::into_domain)
            .transpose()
        })
        .await
    }

    async fn edit(
        &self,
        id: CouponId,
        edit: CouponEdit,
        by: Actor,
    ) -> Result<Option<CouponEdited>, EditCouponStoreError> {
        let outcome = self
            .run(move |conn| {
                conn.transaction::<_, TxError<CouponEditError>, _>(|conn| {
                    decided_by(conn, Some(by))?;
                    // The row lock orders this edit with every reservation of
                    // the coupon: it waits for the purchases in flight (their
                    // key-share locks) and new ones wait for it. The coupon
                    // is read after, in a statement of its own: a statement
                    // that waited for the lock reads the uses on the count
                    // rows (a subquery) as of its start, without the
                    // purchases it waited for.
                    let locked: Option<Uuid> =
                        coupons::table.find(id.uuid()).select(coupons::id).for_update().first(conn).optional()?;
                    if locked.is_none() {
                        return Ok(None);
                    }
                    let row = coupons::table.find(id.uuid()).select(CouponRow::as_select()).first(conn)?;
                    let before = row.into_domain()?;
                    let after = before.edited(&edit).map_err(TxError::Refused)?;
                    let now = Utc::now();
                    diesel::update(coupons::table.find(id.uuid()))
                        .set((
                            coupons::max_uses.eq(limit(after.max_uses)?),
                            coupons::max_uses_per_user.eq(limit(after.max_uses_per_user)?),
                            coupons::valid_from.eq(after.valid_from),
                            coupons::expires_at.eq(after.expires_at),
                            coupons::is_active.eq(after.is_active),
                            coupons::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                    if after.max_uses != before.max_uses {
                        announce_if_exhausted(conn, id.uuid(), now)?;
                    }
                    Ok(Some(CouponEdited { before, after }))
                })
                .map(Ok)
                .or_else(|e| e.into_result().map(Err))
            })
            .await?;
        outcome.map_err(EditCouponStoreError::Rejected)
    }

    async fn live_uses_by_user(&self, id: CouponId, user: UserId) -> Result<u32, StoreError> {
        self.run(move |conn| live_uses(conn, id, user)).await
    }

    async fn usage(&self, id: CouponId) -> Result<CouponUsage, StoreError> {
        self.run(move |conn| {
            let rows: Vec<(String, String, i64, Option<rust_decimal::Decimal>)> = coupon_redemptions::table
                .filter(coupon_redemptions::coupon_id.eq(id.uuid()))
                .group_by((coupon_redemptions::status, coupon_redemptions::currency))
                .select((
                    coupon_redemptions::status,
                    coupon_redemptions::currency,
                    count_star(),
                    diesel::dsl::sum(coupon_redemptions::discount_amount_minor),
                ))
                .load(conn)
                .map_err(store_error)?;
            let mut usage =
                CouponUsage { coupon_id: id, reserved: 0, confirmed: 0, released: 0, confirmed_discount: Vec::new() };
            for (status, code, count, sum) in rows {
                let count = u32::try_from(count).map_err(|_| corrupt("redemption count"))?;
                match status.parse().map_err(|_| corrupt("redemption status"))? {
                    RedemptionStatus::Reserved => usage.reserved += count,
                    RedemptionStatus::Confirmed => {
                        usage.confirmed += count;
                        let total = i64::try_from(sum.unwrap_or_default()).map_err(|_| corrupt("discount total"))?;
                        usage.confirmed_discount.push(Money::from_minor(total, currency(&code)?));
                    }
                    RedemptionStatus::Released => usage.released += count,
                }
            }
            Ok(usage)
        })
        .await
    }
}

pub(crate) fn live_uses(conn: &mut PgConnection, id: CouponId, user: UserId) -> Result<u32, StoreError> {
    let count: i64 = coupon_redemptions::table
        .filter(coupon_redemptions::coupon_id.eq(id.uuid()))
        .filter(coupon_redemptions::user_id.eq(user.get()))
        .filter(coupon_redemptions::status.eq_any(LIVE_REDEMPTION))
        .count()
        .prepared()
        .get_result(conn)
        .map_err(store_error)?;
    u32::try_from(count).map_err(|_| corrupt("redemption count"))
}

/// Writes a `coupon.exhausted` event when the redemption just confirmed is
/// a limited coupon's last use. The coupon row is locked first, so of two
/// concurrent last confirmations the second counts after the first commits
/// and exactly one of them announces it. Unlimited coupons take no lock.
pub(crate) fn announce_if_exhausted(conn: &mut PgConnection, coupon_id: Uuid, at: DateTime<Utc>) -> QueryResult<()> {
    let limited: Option<Option<i32>> = diesel::update(coupons::table.find(coupon_id))
        .filter(coupons::max_uses.is_not_null())
        .set(coupons::updated_at.eq(at))
        .returning(coupons::max_uses)
        .prepared()
        .get_result(conn)
        .optional()?;
    match limited {
        Some(Some(max_uses)) => announce_if_last_use(conn, LimitedCoupon { id: coupon_id, max_uses }, at),
        _ => Ok(()),
    }
}

/// A limited coupon whose row this transaction has locked (also read as a
/// row of a hand-written statement that locks it).
#[derive(QueryableByName)]
pub(crate) struct LimitedCoupon {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub max_uses: i32,
}

/// The second half of [`announce_if_exhausted`], for a caller that has
/// locked the coupon's row itself (and read its limit).
pub(crate) fn announce_if_last_use(
    conn: &mut PgConnection,
    coupon: LimitedCoupon,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    let confirmed: i64 = coupon_redemptions::table
        .filter(coupon_redemptions::coupon_id.eq(coupon.id))
        .filter(coupon_redemptions::status.eq("confirmed"))
        .count()
        .get_result(conn)?;
    if confirmed != i64::from(coupon.max_uses) {
        return Ok(());
    }
    // The event carries the whole coupon as the API shows it.
    let exhausted = coupons::table
        .find(coupon.id)
        .select(CouponRow::as_select())
        .get_result(conn)?
        .into_domain()
        .map_err(|e| DieselError::DeserializationError(Box::new(e)))?;
    let event = OutboxEvent::new(EventId::from_uuid(Uuid::now_v7()), EventType::CouponExhausted, exhausted, at);
    insert_events(conn, &[event]).map(|_| ())
}
