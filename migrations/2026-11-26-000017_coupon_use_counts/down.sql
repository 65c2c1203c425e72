-- Uses counted on rows go back to the coupon's own counter.
UPDATE coupons c SET times_used = c.times_used + u.uses
FROM (SELECT coupon_id, sum(uses)::integer AS uses FROM coupon_use_counts GROUP BY coupon_id) u
WHERE u.coupon_id = c.id;
ALTER TABLE coupon_redemptions DROP COLUMN use_shard;
DROP TABLE coupon_use_counts;
