-- Back to the aggregates of migrations 000008 and 000018, both modes
-- summed together, rebuilt from the payments and refunds.
DROP TRIGGER payments_keep_stats ON payments;
DROP TRIGGER refunds_keep_stats ON refunds;
DROP FUNCTION payments_keep_stats();
DROP FUNCTION refunds_keep_stats();
DROP FUNCTION instructor_sale_add(payments, integer);
DROP FUNCTION payment_stats_add(payments, integer);
DROP FUNCTION fold_stats_shards(date, date);
DROP FUNCTION payment_gateway_fee_of(payments, text);
DROP INDEX payment_disputes_mode_created_idx;
DROP TABLE payment_stats_daily;
DROP TABLE instructor_stats_monthly;
ALTER TABLE payments DROP COLUMN gateway_fee_bearer;

-- Per day of creation, status, method and currency.
CREATE TABLE payment_stats_daily (
    day                 date     NOT NULL,
    status              text     NOT NULL,
    payment_method      text     NOT NULL,
    currency            text     NOT NULL,
    shard               smallint NOT NULL,
    payments            bigint   NOT NULL DEFAULT 0,
    amount_minor        bigint   NOT NULL DEFAULT 0,
    discount_minor      bigint   NOT NULL DEFAULT 0,
    platform_fee_minor  bigint   NOT NULL DEFAULT 0,
    earnings_minor      bigint   NOT NULL DEFAULT 0,
    refunded_minor      bigint   NOT NULL DEFAULT 0,
    PRIMARY KEY (day, status, payment_method, currency, shard)
);

-- Per instructor, month of completion, item and currency: settled sales
-- (completed, partially refunded, refunded, disputed) and their processed
-- refunds (attributed to the sale's month).
CREATE TABLE instructor_stats_monthly (
    instructor_id       bigint   NOT NULL,
    month               date     NOT NULL,
    item_kind           text     NOT NULL CHECK (item_kind IN ('course', 'event')),
    item_id             bigint   NOT NULL,
    currency            text     NOT NULL,
    shard               smallint NOT NULL,
    sales               bigint   NOT NULL DEFAULT 0,
    gross_minor         bigint   NOT NULL DEFAULT 0,
    platform_fee_minor  bigint   NOT NULL DEFAULT 0,
    earnings_minor      bigint   NOT NULL DEFAULT 0,
    refunds             bigint   NOT NULL DEFAULT 0,
    refunded_minor      bigint   NOT NULL DEFAULT 0,
    refunded_fee_minor  bigint   NOT NULL DEFAULT 0,
    PRIMARY KEY (instructor_id, month, item_kind, item_id, currency, shard)
);

CREATE FUNCTION payment_stats_add(p payments, sign integer) RETURNS void AS $$
BEGIN
    INSERT INTO payment_stats_daily AS s (day, status, payment_method, currency, shard, payments, amount_minor,
            discount_minor, platform_fee_minor, earnings_minor, refunded_minor)
    VALUES ((p.created_at AT TIME ZONE 'UTC')::date, p.status, p.payment_method, p.currency,
            (hashtext(p.id::text) & 7)::smallint, sign, sign * p.amount_minor, sign * p.discount_amount_minor,
            sign * p.platform_fee_minor, sign * p.instructor_earnings_minor, sign * p.refunded_amount_minor)
    ON CONFLICT (day, status, payment_method, currency, shard) DO UPDATE SET
        payments = s.payments + EXCLUDED.payments,
        amount_minor = s.amount_minor + EXCLUDED.amount_minor,
        discount_minor = s.discount_minor + EXCLUDED.discount_minor,
        platform_fee_minor = s.platform_fee_minor + EXCLUDED.platform_fee_minor,
        earnings_minor = s.earnings_minor + EXCLUDED.earnings_minor,
        refunded_minor = s.refunded_minor + EXCLUDED.refunded_minor;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION instructor_sale_add(p payments, sign integer) RETURNS void AS $$
BEGIN
    INSERT INTO instructor_stats_monthly AS s (instructor_id, month, item_kind, item_id, currency, shard, sales,
            gross_minor, platform_fee_minor, earnings_minor)
    VALUES (p.instructor_id, date_trunc('month', p.completed_at AT TIME ZONE 'UTC')::date,
            CASE WHEN p.course_id IS NOT NULL THEN 'course' ELSE 'event' END, coalesce(p.course_id, p.event_id),
            p.currency, (hashtext(p.id::text) & 7)::smallint, sign, sign * p.amount_minor,
            sign * p.platform_fee_minor, sign * p.instructor_earnings_minor)
    ON CONFLICT (instructor_id, month, item_kind, item_id, currency, shard) DO UPDATE SET
        sales = s.sales + EXCLUDED.sales,
        gross_minor = s.gross_minor + EXCLUDED.gross_minor,
        platform_fee_minor = s.platform_fee_minor + EXCLUDED.platform_fee_minor,
        earnings_minor = s.earnings_minor + EXCLUDED.earnings_minor;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION payments_keep_stats() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM payment_stats_add(NEW, 1);
        IF payment_is_settled(NEW) THEN PERFORM instructor_sale_add(NEW, 1); END IF;
        RETURN NEW;
    END IF;
    IF OLD.status IS DISTINCT FROM NEW.status OR OLD.refunded_amount_minor <> NEW.refunded_amount_minor THEN
        -- Old and new rows differ only by status: touch them in status
        -- order so two transactions never wait on each other crosswise.
        IF OLD.status <= NEW.status THEN
            PERFORM payment_stats_add(OLD, -1);
            PERFORM payment_stats_add(NEW, 1);
        ELSE
            PERFORM payment_stats_add(NEW, 1);
            PERFORM payment_stats_add(OLD, -1);
        END IF;
    END IF;
    IF payment_is_settled(OLD) <> payment_is_settled(NEW) THEN
        PERFORM instructor_sale_add(CASE WHEN payment_is_settled(NEW) THEN NEW ELSE OLD END,
                                    CASE WHEN payment_is_settled(NEW) THEN 1 ELSE -1 END);
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER payments_keep_stats AFTER INSERT OR UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION payments_keep_stats();

CREATE FUNCTION refunds_keep_stats() RETURNS trigger AS $$
DECLARE
    p payments;
BEGIN
    IF NEW.status = 'processed' AND (TG_OP = 'INSERT' OR OLD.status <> 'processed') THEN
        SELECT * INTO p FROM payments WHERE id = NEW.payment_id;
        IF p.completed_at IS NOT NULL THEN
            INSERT INTO instructor_stats_monthly AS s (instructor_id, month, item_kind, item_id, currency, shard,
                    refunds, refunded_minor, refunded_fee_minor)
            VALUES (p.instructor_id, date_trunc('month', p.completed_at AT TIME ZONE 'UTC')::date,
                    CASE WHEN p.course_id IS NOT NULL THEN 'course' ELSE 'event' END,
                    coalesce(p.course_id, p.event_id), p.currency, (hashtext(p.id::text) & 7)::smallint, 1,
                    NEW.amount_minor, NEW.platform_fee_reversed_minor)
            ON CONFLICT (instructor_id, month, item_kind, item_id, currency, shard) DO UPDATE SET
                refunds = s.refunds + 1,
                refunded_minor = s.refunded_minor + EXCLUDED.refunded_minor,
                refunded_fee_minor = s.refunded_fee_minor + EXCLUDED.refunded_fee_minor;
        END IF;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER refunds_keep_stats AFTER INSERT OR UPDATE ON refunds
    FOR EACH ROW EXECUTE FUNCTION refunds_keep_stats();

-- Existing data.
INSERT INTO payment_stats_daily (day, status, payment_method, currency, shard, payments, amount_minor,
        discount_minor, platform_fee_minor, earnings_minor, refunded_minor)
SELECT (created_at AT TIME ZONE 'UTC')::date, status, payment_method, currency, (hashtext(id::text) & 7)::smallint,
       count(*), sum(amount_minor), sum(discount_amount_minor), sum(platform_fee_minor),
       sum(instructor_earnings_minor), sum(refunded_amount_minor)
FROM payments GROUP BY 1, 2, 3, 4, 5;

INSERT INTO instructor_stats_monthly (instructor_id, month, item_kind, item_id, currency, shard, sales,
        gross_minor, platform_fee_minor, earnings_minor)
SELECT instructor_id, date_trunc('month', completed_at AT TIME ZONE 'UTC')::date,
       CASE WHEN course_id IS NOT NULL THEN 'course' ELSE 'event' END, coalesce(course_id, event_id), currency,
       (hashtext(id::text) & 7)::smallint, count(*), sum(amount_minor), sum(platform_fee_minor),
       sum(instructor_earnings_minor)
FROM payments p WHERE payment_is_settled(p) GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO instructor_stats_monthly AS s (instructor_id, month, item_kind, item_id, currency, shard, refunds,
        refunded_minor, refunded_fee_minor)
SELECT p.instructor_id, date_trunc('month', p.completed_at AT TIME ZONE 'UTC')::date,
       CASE WHEN p.course_id IS NOT NULL THEN 'course' ELSE 'event' END, coalesce(p.course_id, p.event_id),
       p.currency, (hashtext(p.id::text) & 7)::smallint, count(*), sum(r.amount_minor),
       sum(r.platform_fee_reversed_minor)
FROM refunds r JOIN payments p ON p.id = r.payment_id
WHERE r.status = 'processed' AND p.completed_at IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT (instructor_id, month, item_kind, item_id, currency, shard) DO UPDATE SET
    refunds = s.refunds + EXCLUDED.refunds,
    refunded_minor = s.refunded_minor + EXCLUDED.refunded_minor,
    refunded_fee_minor = s.refunded_fee_minor + EXCLUDED.refunded_fee_minor;

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
