-- Statistics and earnings kept per mode, with the gateway's fees apart.
--
-- Live and test money never share an aggregate row: `livemode` (the
-- payment's) is part of every key, so a reader of one mode sums only that
-- mode's rows, through the key, as cheaply as before. Next to the platform
-- fee the rows now keep the gateway's processing fee (`gateway_fee_minor`
-- of migration 000023, read as the payment's current fee: a refund that
-- gives part of it back lowers it) and who bore it, and the platform fee
-- given back by refunds, so gross, gateway fees, platform fee and net can
-- be told apart (docs/stats.md).
--
-- The tables are rebuilt from the payments and refunds: the aggregates are
-- a function of them, and a rebuild is exact whatever the old rows held.

-- Who bore a payment's gateway fee, as charged when the fee was recorded
-- (the `gateway_fee` journal debits `gateway_fees` or the instructor's
-- payable account). The bearer setting can change later; the aggregates
-- follow what was charged. NULL until a fee is recorded; a fee written
-- without one (by hand) counts as the platform's, the default bearer.
ALTER TABLE payments ADD COLUMN gateway_fee_bearer text CHECK (gateway_fee_bearer IN ('platform', 'instructor'));
UPDATE payments p SET gateway_fee_bearer = CASE WHEN EXISTS (
        SELECT 1 FROM ledger_journals j JOIN ledger_entries e ON e.journal_id = j.id
         WHERE j.payment_id = p.id AND j.kind = 'gateway_fee' AND e.account LIKE 'instructor_payable:%'
           AND e.amount_minor > 0) THEN 'instructor' ELSE 'platform' END
 WHERE gateway_fee_minor IS NOT NULL;

DROP TRIGGER payments_keep_stats ON payments;
DROP TRIGGER refunds_keep_stats ON refunds;
DROP FUNCTION payments_keep_stats();
DROP FUNCTION refunds_keep_stats();
DROP FUNCTION instructor_sale_add(payments, integer);
DROP FUNCTION payment_stats_add(payments, integer);
DROP FUNCTION fold_stats_shards(date, date);
DROP TABLE payment_stats_daily;
DROP TABLE instructor_stats_monthly;

-- Per mode, day of creation, status, method and currency. Besides the
-- payments' own figures: `refunded_fee_minor`, the platform fee given back
-- by their processed refunds (added by the refund, to the row of the
-- payment's status at that moment: always a settled one); the gateway fees
-- of the payments (`gateway_fee_minor`) and the part the platform bore.
CREATE TABLE payment_stats_daily (
    livemode                   boolean  NOT NULL,
    day                        date     NOT NULL,
    status                     text     NOT NULL,
    payment_method             text     NOT NULL,
    currency                   text     NOT NULL,
    shard                      smallint NOT NULL,
    payments                   bigint   NOT NULL DEFAULT 0,
    amount_minor               bigint   NOT NULL DEFAULT 0,
    discount_minor             bigint   NOT NULL DEFAULT 0,
    platform_fee_minor         bigint   NOT NULL DEFAULT 0,
    earnings_minor             bigint   NOT NULL DEFAULT 0,
    refunded_minor             bigint   NOT NULL DEFAULT 0,
    refunded_fee_minor         bigint   NOT NULL DEFAULT 0,
    gateway_fee_minor          bigint   NOT NULL DEFAULT 0,
    platform_gateway_fee_minor bigint   NOT NULL DEFAULT 0,
    PRIMARY KEY (livemode, day, status, payment_method, currency, shard)
);

-- Per instructor, mode, month of completion, item and currency: settled
-- sales, their processed refunds, and the gateway fees the instructor bore
-- on them (`instructor_gateway_fee_minor`).
CREATE TABLE instructor_stats_monthly (
    instructor_id                bigint   NOT NULL,
    livemode                     boolean  NOT NULL,
    month                        date     NOT NULL,
    item_kind                    text     NOT NULL CHECK (item_kind IN ('course', 'event')),
    item_id                      bigint   NOT NULL,
    currency                     text     NOT NULL,
    shard                        smallint NOT NULL,
    sales                        bigint   NOT NULL DEFAULT 0,
    gross_minor                  bigint   NOT NULL DEFAULT 0,
    platform_fee_minor           bigint   NOT NULL DEFAULT 0,
    earnings_minor               bigint   NOT NULL DEFAULT 0,
    refunds                      bigint   NOT NULL DEFAULT 0,
    refunded_minor               bigint   NOT NULL DEFAULT 0,
    refunded_fee_minor           bigint   NOT NULL DEFAULT 0,
    instructor_gateway_fee_minor bigint   NOT NULL DEFAULT 0,
    PRIMARY KEY (instructor_id, livemode, month, item_kind, item_id, currency, shard)
);

CREATE INDEX payment_stats_daily_unfolded_idx ON payment_stats_daily (day) WHERE shard <> 0;
CREATE INDEX instructor_stats_monthly_unfolded_idx ON instructor_stats_monthly (month) WHERE shard <> 0;
-- The disputes of one mode opened in a range, through the key too.
CREATE INDEX payment_disputes_mode_created_idx ON payment_disputes (livemode, created_at);

-- The part of a payment's current gateway fee `bearer` bore.
CREATE FUNCTION payment_gateway_fee_of(p payments, bearer text) RETURNS bigint AS $$
    SELECT CASE WHEN coalesce(p.gateway_fee_bearer, 'platform') = bearer THEN coalesce(p.gateway_fee_minor, 0)
                ELSE 0 END;
$$ LANGUAGE sql IMMUTABLE;

CREATE FUNCTION payment_stats_add(p payments, sign integer) RETURNS void AS $$
BEGIN
    INSERT INTO payment_stats_daily AS s (livemode, day, status, payment_method, currency, shard, payments,
            amount_minor, discount_minor, platform_fee_minor, earnings_minor, refunded_minor, gateway_fee_minor,
            platform_gateway_fee_minor)
    VALUES (p.livemode, (p.created_at AT TIME ZONE 'UTC')::date, p.status, p.payment_method, p.currency,
            (hashtext(p.id::text) & 7)::smallint, sign, sign * p.amount_minor, sign * p.discount_amount_minor,
            sign * p.platform_fee_minor, sign * p.instructor_earnings_minor, sign * p.refunded_amount_minor,
            sign * coalesce(p.gateway_fee_minor, 0), sign * payment_gateway_fee_of(p, 'platform'))
    ON CONFLICT (livemode, day, status, payment_method, currency, shard) DO UPDATE SET
        payments = s.payments + EXCLUDED.payments,
        amount_minor = s.amount_minor + EXCLUDED.amount_minor,
        discount_minor = s.discount_minor + EXCLUDED.discount_minor,
        platform_fee_minor = s.platform_fee_minor + EXCLUDED.platform_fee_minor,
        earnings_minor = s.earnings_minor + EXCLUDED.earnings_minor,
        refunded_minor = s.refunded_minor + EXCLUDED.refunded_minor,
        gateway_fee_minor = s.gateway_fee_minor + EXCLUDED.gateway_fee_minor,
        platform_gateway_fee_minor = s.platform_gateway_fee_minor + EXCLUDED.platform_gateway_fee_minor;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION instructor_sale_add(p payments, sign integer) RETURNS void AS $$
BEGIN
    INSERT INTO instructor_stats_monthly AS s (instructor_id, livemode, month, item_kind, item_id, currency, shard,
            sales, gross_minor, platform_fee_minor, earnings_minor, instructor_gateway_fee_minor)
    VALUES (p.instructor_id, p.livemode, date_trunc('month', p.completed_at AT TIME ZONE 'UTC')::date,
            CASE WHEN p.course_id IS NOT NULL THEN 'course' ELSE 'event' END, coalesce(p.course_id, p.event_id),
            p.currency, (hashtext(p.id::text) & 7)::smallint, sign, sign * p.amount_minor,
            sign * p.platform_fee_minor, sign * p.instructor_earnings_minor,
            sign * payment_gateway_fee_of(p, 'instructor'))
    ON CONFLICT (instructor_id, livemode, month, item_kind, item_id, currency, shard) DO UPDATE SET
        sales = s.sales + EXCLUDED.sales,
        gross_minor = s.gross_minor + EXCLUDED.gross_minor,
        platform_fee_minor = s.platform_fee_minor + EXCLUDED.platform_fee_minor,
        earnings_minor = s.earnings_minor + EXCLUDED.earnings_minor,
        instructor_gateway_fee_minor = s.instructor_gateway_fee_minor + EXCLUDED.instructor_gateway_fee_minor;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION payments_keep_stats() RETURNS trigger AS $$
DECLARE
    fee_changed boolean;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM payment_stats_add(NEW, 1);
        IF payment_is_settled(NEW) THEN PERFORM instructor_sale_add(NEW, 1); END IF;
        RETURN NEW;
    END IF;
    fee_changed := OLD.gateway_fee_minor IS DISTINCT FROM NEW.gateway_fee_minor
                   OR OLD.gateway_fee_bearer IS DISTINCT FROM NEW.gateway_fee_bearer;
    IF OLD.status IS DISTINCT FROM NEW.status OR OLD.refunded_amount_minor <> NEW.refunded_amount_minor
       OR fee_changed THEN
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
    ELSIF fee_changed AND payment_is_settled(NEW) THEN
        -- The sale stays; its fee (or who bore it) moves: the same row.
        PERFORM instructor_sale_add(OLD, -1);
        PERFORM instructor_sale_add(NEW, 1);
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
        INSERT INTO payment_stats_daily AS s (livemode, day, status, payment_method, currency, shard,
                refunded_fee_minor)
        VALUES (p.livemode, (p.created_at AT TIME ZONE 'UTC')::date, p.status, p.payment_method, p.currency,
                (hashtext(p.id::text) & 7)::smallint, NEW.platform_fee_reversed_minor)
        ON CONFLICT (livemode, day, status, payment_method, currency, shard) DO UPDATE SET
            refunded_fee_minor = s.refunded_fee_minor + EXCLUDED.refunded_fee_minor;
        IF p.completed_at IS NOT NULL THEN
            INSERT INTO instructor_stats_monthly AS s (instructor_id, livemode, month, item_kind, item_id, currency,
                    shard, refunds, refunded_minor, refunded_fee_minor)
            VALUES (p.instructor_id, p.livemode, date_trunc('month', p.completed_at AT TIME ZONE 'UTC')::date,
                    CASE WHEN p.course_id IS NOT NULL THEN 'course' ELSE 'event' END,
                    coalesce(p.course_id, p.event_id), p.currency, (hashtext(p.id::text) & 7)::smallint, 1,
                    NEW.amount_minor, NEW.platform_fee_reversed_minor)
            ON CONFLICT (instructor_id, livemode, month, item_kind, item_id, currency, shard) DO UPDATE SET
                refunds = s.refunds + 1,
                refunded_minor = s.refunded_minor + EXCLUDED.refunded_minor,
                refunded_fee_minor = s.refunded_fee_minor + EXCLUDED.refunded_fee_minor;
        END IF;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER refunds_keep_stats AFTER INSERT OR UPDATE ON refunds
    FOR EACH ROW EXECUTE FUNCTION refunds_keep_stats();

-- Folds past shards into shard 0 (as migration 000018's), mode kept apart.
CREATE FUNCTION fold_stats_shards(before_day date, before_month date) RETURNS bigint AS $$
DECLARE
    folded bigint := 0;
    n bigint;
BEGIN
    WITH moved AS (
        DELETE FROM payment_stats_daily WHERE day < before_day AND shard <> 0 RETURNING *
    ), summed AS (
        SELECT livemode, day, status, payment_method, currency, sum(payments) AS payments,
               sum(amount_minor) AS amount_minor, sum(discount_minor) AS discount_minor,
               sum(platform_fee_minor) AS platform_fee_minor, sum(earnings_minor) AS earnings_minor,
               sum(refunded_minor) AS refunded_minor, sum(refunded_fee_minor) AS refunded_fee_minor,
               sum(gateway_fee_minor) AS gateway_fee_minor,
               sum(platform_gateway_fee_minor) AS platform_gateway_fee_minor
          FROM moved GROUP BY livemode, day, status, payment_method, currency
    )
    INSERT INTO payment_stats_daily AS s (livemode, day, status, payment_method, currency, shard, payments,
            amount_minor, discount_minor, platform_fee_minor, earnings_minor, refunded_minor, refunded_fee_minor,
            gateway_fee_minor, platform_gateway_fee_minor)
    SELECT livemode, day, status, payment_method, currency, 0, payments, amount_minor, discount_minor,
           platform_fee_minor, earnings_minor, refunded_minor, refunded_fee_minor, gateway_fee_minor,
           platform_gateway_fee_minor FROM summed
    ON CONFLICT (livemode, day, status, payment_method, currency, shard) DO UPDATE SET
        payments = s.payments + EXCLUDED.payments,
        amount_minor = s.amount_minor + EXCLUDED.amount_minor,
        discount_minor = s.discount_minor + EXCLUDED.discount_minor,
        platform_fee_minor = s.platform_fee_minor + EXCLUDED.platform_fee_minor,
        earnings_minor = s.earnings_minor + EXCLUDED.earnings_minor,
        refunded_minor = s.refunded_minor + EXCLUDED.refunded_minor,
        refunded_fee_minor = s.refunded_fee_minor + EXCLUDED.refunded_fee_minor,
        gateway_fee_minor = s.gateway_fee_minor + EXCLUDED.gateway_fee_minor,
        platform_gateway_fee_minor = s.platform_gateway_fee_minor + EXCLUDED.platform_gateway_fee_minor;
    GET DIAGNOSTICS n = ROW_COUNT;
    folded := folded + n;
    DELETE FROM payment_stats_daily
     WHERE day < before_day AND payments = 0 AND amount_minor = 0 AND discount_minor = 0
       AND platform_fee_minor = 0 AND earnings_minor = 0 AND refunded_minor = 0 AND refunded_fee_minor = 0
       AND gateway_fee_minor = 0 AND platform_gateway_fee_minor = 0;

    WITH moved AS (
        DELETE FROM instructor_stats_monthly WHERE month < before_month AND shard <> 0 RETURNING *
    ), summed AS (
        SELECT instructor_id, livemode, month, item_kind, item_id, currency, sum(sales) AS sales,
               sum(gross_minor) AS gross_minor, sum(platform_fee_minor) AS platform_fee_minor,
               sum(earnings_minor) AS earnings_minor, sum(refunds) AS refunds, sum(refunded_minor) AS refunded_minor,
               sum(refunded_fee_minor) AS refunded_fee_minor,
               sum(instructor_gateway_fee_minor) AS instructor_gateway_fee_minor
          FROM moved GROUP BY instructor_id, livemode, month, item_kind, item_id, currency
    )
    INSERT INTO instructor_stats_monthly AS s (instructor_id, livemode, month, item_kind, item_id, currency, shard,
            sales, gross_minor, platform_fee_minor, earnings_minor, refunds, refunded_minor, refunded_fee_minor,
            instructor_gateway_fee_minor)
    SELECT instructor_id, livemode, month, item_kind, item_id, currency, 0, sales, gross_minor, platform_fee_minor,
           earnings_minor, refunds, refunded_minor, refunded_fee_minor, instructor_gateway_fee_minor FROM summed
    ON CONFLICT (instructor_id, livemode, month, item_kind, item_id, currency, shard) DO UPDATE SET
        sales = s.sales + EXCLUDED.sales,
        gross_minor = s.gross_minor + EXCLUDED.gross_minor,
        platform_fee_minor = s.platform_fee_minor + EXCLUDED.platform_fee_minor,
        earnings_minor = s.earnings_minor + EXCLUDED.earnings_minor,
        refunds = s.refunds + EXCLUDED.refunds,
        refunded_minor = s.refunded_minor + EXCLUDED.refunded_minor,
        refunded_fee_minor = s.refunded_fee_minor + EXCLUDED.refunded_fee_minor,
        instructor_gateway_fee_minor = s.instructor_gateway_fee_minor + EXCLUDED.instructor_gateway_fee_minor;
    GET DIAGNOSTICS n = ROW_COUNT;
    folded := folded + n;
    RETURN folded;
END $$ LANGUAGE plpgsql;

-- Existing data, per mode, in one row per key (shard 0: nothing writes
-- them concurrently while this runs).
INSERT INTO payment_stats_daily (livemode, day, status, payment_method, currency, shard, payments, amount_minor,
        discount_minor, platform_fee_minor, earnings_minor, refunded_minor, gateway_fee_minor,
        platform_gateway_fee_minor)
SELECT livemode, (created_at AT TIME ZONE 'UTC')::date, status, payment_method, currency, 0, count(*),
       sum(amount_minor), sum(discount_amount_minor), sum(platform_fee_minor), sum(instructor_earnings_minor),
       sum(refunded_amount_minor), sum(coalesce(gateway_fee_minor, 0)), sum(payment_gateway_fee_of(p, 'platform'))
FROM payments p GROUP BY 1, 2, 3, 4, 5;

INSERT INTO payment_stats_daily AS s (livemode, day, status, payment_method, currency, shard, refunded_fee_minor)
SELECT p.livemode, (p.created_at AT TIME ZONE 'UTC')::date, p.status, p.payment_method, p.currency, 0,
       sum(r.platform_fee_reversed_minor)
FROM refunds r JOIN payments p ON p.id = r.payment_id
WHERE r.status = 'processed'
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (livemode, day, status, payment_method, currency, shard) DO UPDATE SET
    refunded_fee_minor = s.refunded_fee_minor + EXCLUDED.refunded_fee_minor;

INSERT INTO instructor_stats_monthly (instructor_id, livemode, month, item_kind, item_id, currency, shard, sales,
        gross_minor, platform_fee_minor, earnings_minor, instructor_gateway_fee_minor)
SELECT instructor_id, livemode, date_trunc('month', completed_at AT TIME ZONE 'UTC')::date,
       CASE WHEN course_id IS NOT NULL THEN 'course' ELSE 'event' END, coalesce(course_id, event_id), currency, 0,
       count(*), sum(amount_minor), sum(platform_fee_minor), sum(instructor_earnings_minor),
       sum(payment_gateway_fee_of(p, 'instructor'))
FROM payments p WHERE payment_is_settled(p) GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO instructor_stats_monthly AS s (instructor_id, livemode, month, item_kind, item_id, currency, shard,
        refunds, refunded_minor, refunded_fee_minor)
SELECT p.instructor_id, p.livemode, date_trunc('month', p.completed_at AT TIME ZONE 'UTC')::date,
       CASE WHEN p.course_id IS NOT NULL THEN 'course' ELSE 'event' END, coalesce(p.course_id, p.event_id),
       p.currency, 0, count(*), sum(r.amount_minor), sum(r.platform_fee_reversed_minor)
FROM refunds r JOIN payments p ON p.id = r.payment_id
WHERE r.status = 'processed' AND p.completed_at IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT (instructor_id, livemode, month, item_kind, item_id, currency, shard) DO UPDATE SET
    refunds = s.refunds + EXCLUDED.refunds,
    refunded_minor = s.refunded_minor + EXCLUDED.refunded_minor,
    refunded_fee_minor = s.refunded_fee_minor + EXCLUDED.refunded_fee_minor;
