//! What a payment's recovery writes beside its change (see the domain's
//! `payments::recovery`): the coupon use it gave back, taken again under
//! the same checks as a purchase; its "needs attention" item; and the
//! sweep's claim of given-up payments to re-check at their gateway.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::attention::NewAttention;
use domain::coupon::{CouponRejection, NewRedemption, RedemptionStatus};
use domain::ids::{CouponId, PaymentId, UserId};
use domain::money::Money;
use uuid::Uuid;

use crate::errors::TxError;
use crate::payments::{UseCounter, count_use, reserve_redemption};
use crate::rows::currency;
use crate::schema::{attention_items, coupon_redemptions};

/// Takes again the coupon use a given-up payment released, if the coupon
/// still allows it; a payment without a released use has nothing to take.
pub(crate) fn reclaim_redemption(
    conn: &mut PgConnection,
    payment: PaymentId,
    at: DateTime<Utc>,
) -> Result<(), TxError<CouponRejection>> {
    let released: Option<(Uuid, Uuid, i64, i64, String)> = coupon_redemptions::table
        .filter(coupon_redemptions::payment_id.eq(payment.uuid()))
        .filter(coupon_redemptions::status.eq(RedemptionStatus::Released.as_str()))
        .select((
            coupon_redemptions::id,
            coupon_redemptions::coupon_id,
            coupon_redemptions::user_id,
            coupon_redemptions::discount_amount_minor,
            coupon_redemptions::currency,
        ))
        .for_update()
        .first(conn)
        .optional()?;
    let Some((id, coupon, user, discount, code)) = released else {
        return Ok(());
    };
    let redemption = NewRedemption {
        id: domain::ids::RedemptionId::from_uuid(id),
        coupon_id: CouponId::from_uuid(coupon),
        user_id: UserId::new(user),
        payment_id: payment,
        discount_amount: Money::from_minor(discount, currency(&code)?),
        status: RedemptionStatus::Confirmed,
        unpaid_per_user: None,
    };
    let counter = reserve_redemption(conn, &redemption, at)?;
    let use_shard = match counter {
        UseCounter::Coupon => None,
        UseCounter::Shard(shard) => {
            count_use(conn, coupon, shard, 1)?;
            Some(shard)
        }
    };
    diesel::update(coupon_redemptions::table.find(id))
        .set((
            coupon_redemptions::status.eq(RedemptionStatus::Confirmed.as_str()),
            coupon_redemptions::use_shard.eq(use_shard),
            coupon_redemptions::updated_at.eq(at),
        ))
        .execute(conn)?;
    crate::coupons::announce_if_exhausted(conn, coupon, at)?;
    Ok(())
}

/// Writes a "needs attention" item.
pub(crate) fn insert_attention(conn: &mut PgConnection, item: &NewAttention) -> QueryResult<usize> {
    diesel::insert_into(attention_items::table)
        .values((
            attention_items::id.eq(item.id),
            attention_items::kind.eq(item.kind.as_str()),
            attention_items::payment_id.eq(item.payment_id.uuid()),
            attention_items::detail.eq(&item.detail),
            attention_items::created_at.eq(item.at),
        ))
        .execute(conn)
}

/// Claims completed gateway payments whose fee is not recorded yet and
/// whose next read is due, holding each as long as it has been completed
/// (at least `$3` seconds).
pub(crate) const CLAIM_UNRECORDED_FEES: &str = "\
UPDATE payments p SET reconcile_after = $2 + GREATEST($3 * interval '1 second', $2 - p.completed_at)
 WHERE p.id IN (
     SELECT id FROM payments
      WHERE gateway_fee_minor IS NULL AND provider_payment_id IS NOT NULL AND completed_at IS NOT NULL
        AND completed_at > $1
        AND (reconcile_after IS NULL OR reconcile_after <= $2)
      ORDER BY completed_at LIMIT $4
      FOR UPDATE SKIP LOCKED)
RETURNING p.id";

/// Claims given-up gateway payments whose next re-check is due, holding
/// each for as long as it has been given up (at least `min_wait`).
pub(crate) const CLAIM_GIVEN_UP: &str = "\
UPDATE payments p SET reconcile_after = $2 + GREATEST($3 * interval '1 second', $2 - p.updated_at)
 WHERE p.id IN (
     SELECT id FROM payments
      WHERE status IN ('failed', 'cancelled', 'expired') AND provider_payment_id IS NOT NULL
        AND updated_at > $1
        AND (reconcile_after IS NULL OR reconcile_after <= $2)
      ORDER BY updated_at LIMIT $4
      FOR UPDATE SKIP LOCKED)
RETURNING p.id";
