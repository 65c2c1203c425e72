-- Shards spread concurrent writes of one key over 8 rows (000008); once a
-- day (or month) is past, writes to it are rare, so its shards are folded
-- into shard 0 and rows that net to nothing are dropped. A statistics read
-- over a long range then sums one row per key instead of eight.
--
-- A trigger writing a folded day concurrently waits on the DELETE's row
-- lock, finds its shard row gone and inserts a fresh one: the sums stay
-- exact, and the next fold takes it in.

CREATE INDEX payment_stats_daily_unfolded_idx ON payment_stats_daily (day) WHERE shard <> 0;
CREATE INDEX instructor_stats_monthly_unfolded_idx ON instructor_stats_monthly (month) WHERE shard <> 0;

CREATE FUNCTION fold_stats_shards(before_day date, before_month date) RETURNS bigint AS $$
DECLARE
    folded bigint := 0;
    n bigint;
BEGIN
    WITH moved AS (
        DELETE FROM payment_stats_daily WHERE day < before_day AND shard <> 0 RETURNING *
    ), summed AS (
        SELECT day, status, payment_method, currency, sum(payments) AS payments, sum(amount_minor) AS amount_minor,
               sum(discount_minor) AS discount_minor, sum(platform_fee_minor) AS platform_fee_minor,
               sum(earnings_minor) AS earnings_minor, sum(refunded_minor) AS refunded_minor
          FROM moved GROUP BY day, status, payment_method, currency
    )
    INSERT INTO payment_stats_daily AS s (day, status, payment_method, currency, shard, payments, amount_minor,
            discount_minor, platform_fee_minor, earnings_minor, refunded_minor)
    SELECT day, status, payment_method, currency, 0, payments, amount_minor, discount_minor, platform_fee_minor,
           earnings_minor, refunded_minor FROM summed
    ON CONFLICT (day, status, payment_method, currency, shard) DO UPDATE SET
        payments = s.payments + EXCLUDED.payments,
        amount_minor = s.amount_minor + EXCLUDED.amount_minor,
        discount_minor = s.discount_minor + EXCLUDED.discount_minor,
        platform_fee_minor = s.platform_fee_minor + EXCLUDED.platform_fee_minor,
        earnings_minor = s.earnings_minor + EXCLUDED.earnings_minor,
        refunded_minor = s.refunded_minor + EXCLUDED.refunded_minor;
    GET DIAGNOSTICS n = ROW_COUNT;
    folded := folded + n;
    DELETE FROM payment_stats_daily
     WHERE day < before_day AND payments = 0 AND amount_minor = 0 AND discount_minor = 0
       AND platform_fee_minor = 0 AND earnings_minor = 0 AND refunded_minor = 0;

    WITH moved AS (
        DELETE FROM instructor_stats_monthly WHERE month < before_month AND shard <> 0 RETURNING *
    ), summed AS (
        SELECT instructor_id, month, item_kind, item_id, currency, sum(sales) AS sales, sum(gross_minor) AS gross_minor,
               sum(platform_fee_minor) AS platform_fee_minor, sum(earnings_minor) AS earnings_minor,
               sum(refunds) AS refunds, sum(refunded_minor) AS refunded_minor,
               sum(refunded_fee_minor) AS refunded_fee_minor
          FROM moved GROUP BY instructor_id, month, item_kind, item_id, currency
    )
    INSERT INTO instructor_stats_monthly AS s (instructor_id, month, item_kind, item_id, currency, shard, sales,
            gross_minor, platform_fee_minor, earnings_minor, refunds, refunded_minor, refunded_fee_minor)
    SELECT instructor_id, month, item_kind, item_id, currency, 0, sales, gross_minor, platform_fee_minor,
           earnings_minor, refunds, refunded_minor, refunded_fee_minor FROM summed
    ON CONFLICT (instructor_id, month, item_kind, item_id, currency, shard) DO UPDATE SET
        sales = s.sales + EXCLUDED.sales,
        gross_minor = s.gross_minor + EXCLUDED.gross_minor,
        platform_fee_minor = s.platform_fee_minor + EXCLUDED.platform_fee_minor,
        earnings_minor = s.earnings_minor + EXCLUDED.earnings_minor,
        refunds = s.refunds + EXCLUDED.refunds,
        refunded_minor = s.refunded_minor + EXCLUDED.refunded_minor,
        refunded_fee_minor = s.refunded_fee_minor + EXCLUDED.refunded_fee_minor;
    GET DIAGNOSTICS n = ROW_COUNT;
    folded := folded + n;
    RETURN folded;
END $$ LANGUAGE plpgsql;
