-- Uses of a coupon without a total limit are counted on up to 16 rows per
-- coupon (chosen by the payment), not on the coupon row: nothing has to be
-- checked against a total, so purchases with one popular coupon need not
-- queue on one row. A coupon with a total limit keeps counting on
-- `coupons.times_used` under its row lock, which is what keeps the limit.
-- A coupon's uses are `times_used` plus its counted rows.
CREATE TABLE coupon_use_counts (
    coupon_id uuid     NOT NULL REFERENCES coupons (id),
    shard     smallint NOT NULL,
    uses      integer  NOT NULL DEFAULT 0,
    PRIMARY KEY (coupon_id, shard)
);

-- Where a redemption's use is counted: the coupon_use_counts row of this
-- shard, or (NULL) coupons.times_used. A release gives the use back where
-- it was taken, whatever happened to the coupon meanwhile.
ALTER TABLE coupon_redemptions ADD COLUMN use_shard smallint;
