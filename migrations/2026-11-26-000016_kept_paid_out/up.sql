-- The amount paid out to each instructor, per currency, kept as payouts are
-- paid (and given back when a paid payout fails), so reading a balance
-- costs the same with ten payouts or ten thousand. A trigger keeps it in
-- the same transaction as the payout's change, whatever path makes it. A
-- row is touched only when a payout enters or leaves `paid`: one per
-- instructor is not a hot row.
CREATE TABLE instructor_paid_out (
    instructor_id bigint NOT NULL,
    currency      text   NOT NULL,
    paid_minor    bigint NOT NULL DEFAULT 0 CHECK (paid_minor >= 0),
    PRIMARY KEY (instructor_id, currency)
);

CREATE FUNCTION payouts_keep_paid_out() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = NEW.status AND OLD.amount_minor = NEW.amount_minor
            AND OLD.instructor_id = NEW.instructor_id AND OLD.currency = NEW.currency THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'paid' THEN
        UPDATE instructor_paid_out SET paid_minor = paid_minor - OLD.amount_minor
        WHERE instructor_id = OLD.instructor_id AND currency = OLD.currency;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'paid' THEN
        INSERT INTO instructor_paid_out AS k (instructor_id, currency, paid_minor)
        VALUES (NEW.instructor_id, NEW.currency, NEW.amount_minor)
        ON CONFLICT (instructor_id, currency) DO UPDATE SET paid_minor = k.paid_minor + EXCLUDED.paid_minor;
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER payouts_keep_paid_out AFTER INSERT OR UPDATE OR DELETE ON payouts
    FOR EACH ROW EXECUTE FUNCTION payouts_keep_paid_out();

-- Existing payouts.
INSERT INTO instructor_paid_out (instructor_id, currency, paid_minor)
SELECT instructor_id, currency, sum(amount_minor) FROM payouts WHERE status = 'paid' GROUP BY 1, 2;
